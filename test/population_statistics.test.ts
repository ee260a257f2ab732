/**
 * computePopulationStatistics on the cpu backend: every BatchNormInference
 * layer's TrainedMean / TrainedVariance equal the mean and variance (divided
 * by N) of its input over the whole data set, computed directly in float64
 * over the concatenated data (test/helpers/batch_moments.ts), with each layer
 * measured behind the new statistics of the layers before it; data given as
 * a tensor, a tf.data.Dataset, an array and async iterables, in more than one
 * batch; nested models and wrappers; progress; every error; no leaks.
 *
 * Tolerance: the layer's input values are the same float32 numbers whichever
 * batch they are computed in (row-independent cpu kernels), and both sides
 * sum in float64; the results differ by float64 rounding only (~1e-15
 * relative), so the float32 weights must be the float32 nearest to the
 * reference (half an ulp, plus 2^-40 relative for the float64 side).
 */
import * as tf from '@tensorflow/tfjs';

import {BatchNormInferenceLayer, batchNormInferenceLayer, computePopulationStatistics} from '../src';
import {moments64} from './helpers/batch_moments';
import {memorySnapshot} from './helpers/leaks';
import {randomTensor} from './helpers/layer_reference';
import {ulp32} from './helpers/reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The float64 moments of what `layer` receives when `model` predicts `x` (all at once). */
function directMoments(model: tf.LayersModel, layer: BatchNormInferenceLayer, x: tf.Tensor|tf.Tensor[]) {
  const probe = tf.model({inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor});
  const input = probe.predict(x, {batchSize: 100000}) as tf.Tensor;
  const axis = layer.axis < 0 ? layer.axis + input.rank : layer.axis;
  const m = moments64(input.dataSync(), input.shape, axis);
  input.dispose();
  return m;
}

function expectNearestFloat32(actual: Float32Array, expected: Float64Array) {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(Math.abs(actual[i] - e)).toBeLessThanOrEqual(ulp32(e) / 2 + 2 ** -40 * Math.abs(e));
  });
}

function twoLayerModel() {
  return tf.sequential({
    layers: [
      tf.layers.dense({inputShape: [4], units: 3, kernelInitializer: tf.initializers.glorotUniform({seed: 1}),
                       biasInitializer: tf.initializers.constant({value: 2})}),
      batchNormInferenceLayer({Name: 'bn1', Scale: [1.5, -1, 2], Offset: [0.5, 0, -1]}),
      tf.layers.dense({units: 5, kernelInitializer: tf.initializers.glorotUniform({seed: 2})}),
      batchNormInferenceLayer({Name: 'bn2'}),
    ],
  });
}

describe('population statistics equal a direct float64 computation over all the data', () => {
  it('two layers in sequence, tensor data in uneven batches; the second sees the first\'s new statistics', async () => {
    const model = twoLayerModel();
    const x = randomTensor([100, 4], 1, -3, 5);
    const progress: Array<[string, number, number]> = [];
    const before = memorySnapshot();
    const results = await computePopulationStatistics(model, x, {
      batchSize: 16, onProgress: (p) => {
        progress.push([p.layer, p.batch, p.count]);
      },
    });
    expect(memorySnapshot()).toEqual(before);
    const [bn1, bn2] = ['bn1', 'bn2'].map((n) => model.getLayer(n) as BatchNormInferenceLayer);
    const m1 = directMoments(model, bn1, x);
    const m2 = directMoments(model, bn2, x);  // behind bn1's new statistics
    expectNearestFloat32(bn1.TrainedMean, m1.mean);
    expectNearestFloat32(bn1.TrainedVariance, m1.variance);
    expectNearestFloat32(bn2.TrainedMean, m2.mean);
    expectNearestFloat32(bn2.TrainedVariance, m2.variance);
    expect(bn1.Scale).toEqual(Float32Array.from([1.5, -1, 2]));  // untouched
    expect(results.map((r) => [r.layer, r.count])).toEqual([['bn1', 100], ['bn2', 100]]);
    results[0].variance.forEach((v, c) => expect(Math.abs(v - m1.variance[c])).toBeLessThan(1e-12 * m1.variance[c]));
    expect(progress.length).toBe(14);  // 7 batches (6 of 16, 1 of 4) per layer
    expect(progress[6]).toEqual(['bn1', 7, 100]);
    expect(progress[7]).toEqual(['bn2', 1, 16]);
    x.dispose();
    model.dispose();
  });

  it('data far from zero (mean 1e4, spread 1): merged batch moments stay exact', async () => {
    const model = tf.sequential({layers: [batchNormInferenceLayer({inputShape: [2], Name: 'bn'})]});
    const raw = randomTensor([300, 2], 2, -1, 1);
    const x = tf.add(raw, 1e4);
    await computePopulationStatistics(model, x, {batchSize: 32});
    const bn = model.layers[0] as BatchNormInferenceLayer;
    const m = moments64(x.dataSync(), [300, 2], 1);
    expectNearestFloat32(bn.TrainedMean, m.mean);
    expectNearestFloat32(bn.TrainedVariance, m.variance);
    tf.dispose([raw, x]);
    model.dispose();
  });

  it('a nested model with a channels-first layer, data as a tf.data.Dataset of {xs, ys}', async () => {
    const inner = tf.sequential({
      name: 'inner',
      layers: [
        tf.layers.conv2d({inputShape: [2, 5, 5], filters: 3, kernelSize: 3, dataFormat: 'channelsFirst',
                          kernelInitializer: tf.initializers.glorotUniform({seed: 3})}),
        batchNormInferenceLayer({Name: 'bn_nchw', axis: 1}),
      ],
    });
    const input = tf.input({shape: [2, 5, 5]});
    const model = tf.model({inputs: input, outputs: inner.apply(input) as tf.SymbolicTensor});
    const batches = [0, 1, 2].map((i) => randomTensor([4, 2, 5, 5], 10 + i, -2, 2));
    const dataset = tf.data.array(batches.map((xs) => ({xs, ys: tf.zeros([4])})));
    const before = memorySnapshot();
    await computePopulationStatistics(model, dataset);
    expect(memorySnapshot()).toEqual(before);  // dataset elements are disposed after use
    const bn = inner.getLayer('bn_nchw') as BatchNormInferenceLayer;
    const all = tf.concat(batches);
    const direct = directMoments(inner, bn, all);
    expectNearestFloat32(bn.TrainedMean, direct.mean);
    expectNearestFloat32(bn.TrainedVariance, direct.variance);
    tf.dispose([...batches, all]);
    model.dispose();
  });

  it('an array of batches, an async generator (one layer), a TimeDistributed wrapper', async () => {
    const bn = batchNormInferenceLayer({Name: 'bn_td'});
    const model = tf.sequential({layers: [tf.layers.timeDistributed({inputShape: [3, 2], layer: bn})]});
    const batches = [randomTensor([5, 3, 2], 20, 0, 4), randomTensor([7, 3, 2], 21, -4, 0)];
    const all = tf.concat(batches);
    const expected = moments64(all.dataSync(), [12 * 3, 2], 1);  // every time step of every sample
    await computePopulationStatistics(model, batches);
    expectNearestFloat32(bn.TrainedMean, expected.mean);
    expectNearestFloat32(bn.TrainedVariance, expected.variance);
    tf.tidy(() => bn.setWeights(bn.getWeights().map((w, i) => (i === 2 ? tf.zerosLike(w) : w))));
    async function* generate() {
      for (const b of batches) yield b;
    }
    await computePopulationStatistics(model, generate());
    expectNearestFloat32(bn.TrainedMean, expected.mean);
    expect(batches.every((b) => !b.isDisposed)).toBe(true);  // the caller's tensors
    tf.dispose([...batches, all]);
    model.dispose();
  });
});

describe('models with several inputs', () => {
  it('an array of one tensor per input, and batches keyed by input name', async () => {
    const a = tf.input({shape: [3], name: 'a'});
    const b = tf.input({shape: [3], name: 'b'});
    const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const bn = batchNormInferenceLayer({Name: 'bn_sum'});
    const model = tf.model({inputs: [a, b], outputs: bn.apply(sum) as tf.SymbolicTensor});
    const xa = randomTensor([40, 3], 80, -1, 3);
    const xb = randomTensor([40, 3], 81, 0, 2);
    const total = tf.add(xa, xb);
    const expected = moments64(total.dataSync(), [40, 3], 1);
    await computePopulationStatistics(model, [xa, xb], {batchSize: 16});
    expectNearestFloat32(bn.TrainedMean, expected.mean);
    expectNearestFloat32(bn.TrainedVariance, expected.variance);
    tf.tidy(() => bn.setWeights(bn.getWeights().map((w, i) => (i === 2 ? tf.zerosLike(w) : w))));
    await computePopulationStatistics(model, [{a: xa, b: xb}]);
    expectNearestFloat32(bn.TrainedMean, expected.mean);
    tf.dispose([xa, xb, total]);
    model.dispose();
  });
});

describe('#18: all layers or none', () => {
  /** Batches re-readable once per layer; throws at the first batch of pass `failAt` (1-based). */
  function failingData(batches: tf.Tensor[], failAt: number, error: Error) {
    let pass = 0;
    return {
      async *[Symbol.asyncIterator]() {
        pass++;
        for (const b of batches) {
          if (pass === failAt) throw error;
          yield b;
        }
      },
    };
  }

  it('data that throws during the second layer\'s pass leaves both layers as they were, and no tensor', async () => {
    const model = twoLayerModel();
    const x = randomTensor([8, 4], 3);
    tf.dispose(model.predict(x) as tf.Tensor);  // builds the layers
    const layers = [1, 3].map((i) => model.layers[i] as BatchNormInferenceLayer);
    for (const [i, layer] of layers.entries()) {
      layer.setWeights(tf.tidy(() => [tf.ones([layer.NumChannels!]), tf.zeros([layer.NumChannels!]),
                                      tf.fill([layer.NumChannels!], 0.25 + i), tf.fill([layer.NumChannels!], 2 + i)]));
    }
    const before = layers.map((l) => [l.TrainedMean, l.TrainedVariance]);
    const batches = [x.slice([0, 0], [4, 4]), x.slice([4, 0], [4, 4])];
    const memory = memorySnapshot();
    await expect(computePopulationStatistics(model, failingData(batches, 2, new Error('disk gone'))))
        .rejects.toThrow('disk gone');
    expect(layers.map((l) => [l.TrainedMean, l.TrainedVariance])).toEqual(before);
    expect(memorySnapshot()).toEqual(memory);
    // The same data without the failure updates both.
    await computePopulationStatistics(model, failingData(batches, 0, new Error('unused')));
    expect(layers.map((l) => l.TrainedMean)).not.toEqual(before.map((b) => b[0]));
    tf.dispose([x, ...batches]);
    model.dispose();
  });

  it('a layer refusing its statistics (NaN in the data) leaves every layer as it was', async () => {
    const model = twoLayerModel();
    const x = tf.tensor2d([[1, 2, 3, 4], [5, NaN, 7, 8]]);
    tf.dispose(model.predict(x) as tf.Tensor);
    const layers = [1, 3].map((i) => model.layers[i] as BatchNormInferenceLayer);
    const before = layers.map((l) => [l.TrainedMean, l.TrainedVariance]);
    const memory = memorySnapshot();
    await expect(computePopulationStatistics(model, x)).rejects.toThrow(
        `Error in BatchNormInference layer 'bn1': TrainedMean (weight moving_mean) must be finite, but element 0 is NaN.`);
    expect(layers.map((l) => [l.TrainedMean, l.TrainedVariance])).toEqual(before);
    expect(memorySnapshot()).toEqual(memory);
    x.dispose();
    model.dispose();
  });
});

describe('errors', () => {
  const W = 'Error in computePopulationStatistics';
  async function expectRejects(promise: () => Promise<unknown>, message: string) {
    const before = memorySnapshot();
    let error: Error|undefined;
    try {
      await promise();
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toBe(message);
    expect(memorySnapshot()).toEqual(before);
  }

  it('bad arguments', async () => {
    const model = twoLayerModel();
    const x = tf.ones([4, 4]);
    const call = (...args: any[]) => () => (computePopulationStatistics as any)(...args);
    await expectRejects(call({}, x),
        `${W}: model must be a tf.LayersModel (tf.model(), tf.sequential() or tf.loadLayersModel()), ` +
        `but got an object of type Object.`);
    await expectRejects(call(model, 5),
        `${W}: data must be a tf.Tensor (with options.batchSize), an array of tensors or batches, a ` +
        `tf.data.Dataset, or an iterable or async iterable of batches, but got 5.`);
    await expectRejects(call(model, x, {batchsize: 8}),
        `${W}: unknown option 'batchsize'; the options are 'batchSize' and 'onProgress'.`);
    await expectRejects(call(model, x, {batchSize: 0}),
        `${W}: options.batchSize must be a positive integer, but got 0.`);
    await expectRejects(call(model, x, {onProgress: 'log'}),
        `${W}: options.onProgress must be a function, but got the string "log".`);
    await expectRejects(call(model, x, 3),
        `${W}: options must be an object {batchSize?, onProgress?}, but got 3.`);
    await expectRejects(call(model, [[1, 2, 3, 4]]),
        `${W}: batch 0 must be a tf.Tensor, an array of tensors (one per model input), an object ` +
        `keyed by the model's input names (${model.inputs[0].sourceLayer.name}) or an {xs, ys} ` +
        `element, but got an array of length 4.`);
    async function* once() {
      yield x;
    }
    await expectRejects(call(model, once()),
        `${W}: data is a one-shot iterator, but the model has 2 BatchNormInference layers and the ` +
        `data is read once per layer; pass a tf.data.Dataset, an array of batches, or a re-iterable object.`);
    await expectRejects(call(model, []),
        `${W}: the data gave no values for layer 'bn1' (no batches, or empty ones).`);
    x.dispose();
    model.dispose();
  });

  it('a model without the layer, inputs of different batch sizes', async () => {
    const plain = tf.sequential({layers: [tf.layers.dense({inputShape: [2], units: 1})]});
    const x = tf.ones([3, 2]);
    await expectRejects(() => computePopulationStatistics(plain, x),
        `${W}: model '${plain.name}' has no BatchNormInference layer.`);
    const a = tf.input({shape: [2]});
    const b = tf.input({shape: [2]});
    const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const two = tf.model({inputs: [a, b], outputs: batchNormInferenceLayer().apply(sum) as tf.SymbolicTensor});
    const y = tf.ones([4, 2]);
    await expectRejects(() => computePopulationStatistics(two, [x, y]),
        `${W}: the input tensors must have the same batch size (first dimension), but got shapes [3,2], [4,2].`);
    tf.dispose([x, y]);
    plain.dispose();
    two.dispose();
  });
});
