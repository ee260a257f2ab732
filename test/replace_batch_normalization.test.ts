/**
 * replaceBatchNormalization on models built with tfjs-layers'
 * BatchNormalization, and on files shaped like converted Keras models.
 *
 * Tolerances:
 * - Channels-last models: the copy's predictions must equal the original's
 *   within 1e-5 * max(1, |y|) (closeMismatches). tfjs's BatchNormalization
 *   computes in float32 with a few roundings (~1e-7 relative) and ours rounds
 *   once from float64, so the bound leaves a 100x margin while still catching
 *   any wrong statistic, epsilon or axis.
 * - Channels-first and rank-5 models: tfjs's own BatchNormalization cannot be
 *   the reference (on cpu it reads the statistics as mean[i % C] for a
 *   reshaped [1, C, 1, 1] broadcast, a known upstream bug, and it does not
 *   support rank 5), so the copy is compared with the float64 formula within
 *   half an ulp of float32 (formulaMismatches).
 */
import * as tf from '@tensorflow/tfjs';

import {BatchNormInferenceLayer, replaceBatchNormalization} from '../src';
import {quantizeToUint8, setListAxis} from './helpers/converted_files';
import {fileSystemIO, makeTempDir, removeDir} from './helpers/fs_io';
import {expectThrowsWithoutLeak} from './helpers/leaks';
import {closeMismatches, formulaMismatches, randomTensor, statisticsOf, values} from './helpers/layer_reference';

const TOLERANCE = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Gives every BatchNormalization of a model non-trivial statistics. */
function setStatistics(model: tf.LayersModel|tf.layers.Layer, seed = 1): void {
  const layers = 'layers' in model ? (model as tf.LayersModel).layers : [model];
  for (const layer of layers) {
    if ('layers' in layer) {
      setStatistics(layer as tf.LayersModel, seed + 100);
    } else if ((layer as tf.layers.Layer & {layer?: tf.layers.Layer}).layer != null) {
      setStatistics((layer as tf.layers.Layer & {layer: tf.layers.Layer}).layer, seed + 200);
    } else if (layer.getClassName() === 'BatchNormalization') {
      const fresh = layer.weights.map((w, i) => {
        const short = w.originalName.split('/').pop();
        const n = w.shape[0] as number;
        const [lo, hi] = short === 'moving_variance' ? [0.05, 3] :
            short === 'gamma' ? [0.5, 2] : [-1.5, 1.5];
        return tf.tensor1d(values(n, seed + 17 * i, lo, hi));
      });
      layer.setWeights(fresh);
      tf.dispose(fresh);
    }
    seed += 1;
  }
}

function bnLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  for (const layer of model.layers) {
    if ('layers' in layer) out.push(...bnLayers(layer as tf.LayersModel));
    const inner = (layer as tf.layers.Layer & {layer?: tf.layers.Layer}).layer;
    const leaf = inner ?? layer;
    if (['BatchNormalization', 'BatchNormInference'].includes(leaf.getClassName())) out.push(leaf);
  }
  return out;
}

/** Checks the copy's predictions against the original's (channels last). */
function expectSamePredictions(original: tf.LayersModel, copy: tf.LayersModel, x: tf.Tensor) {
  const a = original.predict(x) as tf.Tensor;
  const b = copy.predict(x) as tf.Tensor;
  expect(closeMismatches(b, a, TOLERANCE)).toEqual([]);
  tf.dispose([a, b]);
}

/** Every BatchNormalization became a BatchNormInference with the same name, epsilon, axis. */
function expectReplaced(original: tf.LayersModel, copy: tf.LayersModel) {
  const before = bnLayers(original);
  const after = bnLayers(copy);
  expect(before.length).toBeGreaterThan(0);
  expect(before.every((l) => l.getClassName() === 'BatchNormalization')).toBe(true);
  expect(after.map((l) => l.getClassName())).toEqual(before.map(() => 'BatchNormInference'));
  expect(after.map((l) => l.name)).toEqual(before.map((l) => l.name));
  before.forEach((bn, i) => {
    const ours = after[i] as BatchNormInferenceLayer;
    const config = bn.getConfig();
    const axis = Array.isArray(config.axis) ? config.axis[0] : config.axis;
    expect(ours).toBeInstanceOf(BatchNormInferenceLayer);
    expect(ours.Epsilon).toBe(config.epsilon);
    expect(ours.axis).toBe(axis);
    expect(ours.trainable).toBe(bn.trainable);
    const byName = new Map(bn.weights.map((w) => [w.originalName.split('/').pop(), w.read().dataSync()]));
    const c = ours.NumChannels as number;
    expect(ours.Scale).toEqual(byName.get('gamma') ?? new Float32Array(c).fill(1));
    expect(ours.Offset).toEqual(byName.get('beta') ?? new Float32Array(c));
    expect(ours.TrainedMean).toEqual(byName.get('moving_mean'));
    expect(ours.TrainedVariance).toEqual(byName.get('moving_variance'));
  });
}

describe('replaceBatchNormalization', () => {
  it('sequential conv2d -> BatchNormalization -> relu', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({inputShape: [6, 6, 3], filters: 4, kernelSize: 3, name: 'conv',
                          kernelInitializer: tf.initializers.glorotUniform({seed: 1})}),
        tf.layers.batchNormalization({name: 'bn'}),
        tf.layers.reLU(),
      ],
    });
    setStatistics(model);
    const start = tf.memory().numTensors;
    const {model: copy, report} = replaceBatchNormalization(model);
    expect(report).toEqual({replaced: [{name: 'bn', axis: -1, epsilon: 1e-3}]});
    expect(copy).toBeInstanceOf(tf.Sequential);
    expect(copy.layers.map((l) => l.getClassName())).toEqual(['Conv2D', 'BatchNormInference', 'ReLU']);
    expectReplaced(model, copy);
    const x = randomTensor([2, 6, 6, 3], 3, -2, 2);
    expectSamePredictions(model, copy, x);
    x.dispose();
    copy.dispose();
    expect(tf.memory().numTensors).toBe(start);  // the copy held only its own weights
    model.dispose();
  });

  it('nested models: a Sequential and a functional model inside a functional model, and TimeDistributed', () => {
    const inner = tf.sequential({
      name: 'inner_seq',
      layers: [
        tf.layers.dense({inputShape: [5], units: 4, name: 'inner_dense',
                         kernelInitializer: tf.initializers.glorotUniform({seed: 2})}),
        tf.layers.batchNormalization({name: 'inner_bn', momentum: 0.9}),
      ],
    });
    const fIn = tf.input({shape: [4]});
    const innerFunctional = tf.model({
      name: 'inner_functional',
      inputs: fIn,
      outputs: tf.layers.batchNormalization({name: 'deep_bn', epsilon: 1e-5})
                   .apply(tf.layers.dense({units: 4, name: 'deep_dense'}).apply(fIn)) as tf.SymbolicTensor,
    });
    const input = tf.input({shape: [3, 5]});
    const flat = tf.layers.flatten().apply(
        tf.layers.timeDistributed({layer: tf.layers.batchNormalization({name: 'td_bn'}), name: 'td'})
            .apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const picked = tf.layers.dense({units: 5, name: 'pick'}).apply(flat) as tf.SymbolicTensor;
    const out = tf.layers.batchNormalization({name: 'top_bn'})
                    .apply(innerFunctional.apply(inner.apply(picked) as tf.SymbolicTensor) as tf.SymbolicTensor);
    const model = tf.model({inputs: input, outputs: out as tf.SymbolicTensor});
    setStatistics(model);

    const {model: copy, report} = replaceBatchNormalization(model);
    expectReplaced(model, copy);
    expect(bnLayers(copy).map((l) => l.name)).toEqual(['td_bn', 'inner_bn', 'deep_bn', 'top_bn']);
    // The report lists every replaced layer, nested ones included (config order).
    expect(report.replaced.map((r) => r.name).sort()).toEqual(['deep_bn', 'inner_bn', 'td_bn', 'top_bn']);
    expect(report.replaced.find((r) => r.name === 'deep_bn')).toEqual({name: 'deep_bn', axis: -1, epsilon: 1e-5});
    expect(copy.getLayer('inner_seq')).toBeInstanceOf(tf.Sequential);
    const x = randomTensor([4, 3, 5], 4, -2, 2);
    expectSamePredictions(model, copy, x);
    // The input model is unchanged.
    expect(bnLayers(model).every((l) => l.getClassName() === 'BatchNormalization')).toBe(true);
    x.dispose();
    copy.dispose();
    model.dispose();
  });

  it('other wrappers keep their weights: Bidirectional(LSTM) next to TimeDistributed(BatchNormalization)', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.timeDistributed({layer: tf.layers.batchNormalization({name: 'td_bn'}), inputShape: [4, 3]}),
        tf.layers.bidirectional({layer: tf.layers.lstm({units: 2, returnSequences: true}) as tf.RNN, name: 'bidi'}),
        tf.layers.timeDistributed({layer: tf.layers.dense({units: 2, name: 'td_dense'})}),
      ],
    });
    setStatistics(model);
    const copy = replaceBatchNormalization(model).model;
    expectReplaced(model, copy);
    const bidi = copy.getLayer('bidi').getWeights();
    model.getLayer('bidi').getWeights().forEach((w, i) => expect(bidi[i].dataSync()).toEqual(w.dataSync()));
    const x = randomTensor([2, 4, 3], 20, -2, 2);
    expectSamePredictions(model, copy, x);
    x.dispose();
    copy.dispose();
    model.dispose();
  });

  it('Dense + BatchNormalization on rank 2; momentum, center: false, scale: false', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({inputShape: [6], units: 5, kernelInitializer: tf.initializers.glorotUniform({seed: 3})}),
        tf.layers.batchNormalization({name: 'no_center', center: false, momentum: 0.5}),
        tf.layers.dense({units: 4, kernelInitializer: tf.initializers.glorotUniform({seed: 4})}),
        tf.layers.batchNormalization({name: 'no_scale', scale: false, epsilon: 0.01}),
        tf.layers.batchNormalization({name: 'neither', scale: false, center: false}),
      ],
    });
    setStatistics(model);
    const copy = replaceBatchNormalization(model).model;
    expectReplaced(model, copy);  // checks gamma = ones, beta = zeros where absent
    const noCenter = copy.getLayer('no_center') as BatchNormInferenceLayer;
    expect(noCenter.Offset).toEqual(new Float32Array(5));
    expect((copy.getLayer('no_scale') as BatchNormInferenceLayer).Scale).toEqual(new Float32Array(4).fill(1));
    expect(noCenter.getConfig()).toMatchObject({
      epsilon: 1e-3, axis: -1, numChannels: 5, name: 'no_center', trainable: true,
      meanDecay: 0.5, varianceDecay: 0.5, l2Regularization: 0,  // momentum 0.5; Keras adds no L2
    });
    const x = randomTensor([7, 6], 5, -3, 3);
    expectSamePredictions(model, copy, x);
    x.dispose();
    copy.dispose();
    model.dispose();
  });

  it('keeps trainable: false, on layers and on nested models', async () => {
    const frozenBase = tf.sequential({
      name: 'base',
      layers: [
        tf.layers.dense({inputShape: [4], units: 3, name: 'base_dense'}),
        tf.layers.batchNormalization({name: 'base_bn'}),
      ],
    });
    frozenBase.trainable = false;
    const input = tf.input({shape: [4]});
    const out = tf.layers.batchNormalization({name: 'frozen_bn', trainable: false}).apply(
        tf.layers.dense({units: 3, name: 'head'}).apply(frozenBase.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor);
    const model = tf.model({inputs: input, outputs: out as tf.SymbolicTensor});
    setStatistics(model);
    const copy = replaceBatchNormalization(model).model;
    expect(copy.getLayer('frozen_bn').trainable).toBe(false);
    expect(copy.getLayer('base').trainable).toBe(false);
    const names = (m: tf.LayersModel) => m.trainableWeights.map((w) => w.originalName).sort();
    expect(names(copy)).toEqual(names(model));
    expect(names(copy)).toEqual(['head/bias', 'head/kernel']);

    // Fine-tuning the copy trains the head only and leaves the original alone.
    const x = randomTensor([8, 4], 6);
    const y = randomTensor([8, 3], 7);
    const before = model.predict(x) as tf.Tensor;
    copy.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    await copy.fit(x, y, {epochs: 2, verbose: 0});
    const after = model.predict(x) as tf.Tensor;
    expect(after.dataSync()).toEqual(before.dataSync());
    expect(copy.getLayer('frozen_bn').getWeights()[0].dataSync())
        .toEqual(model.getLayer('frozen_bn').getWeights()[0].dataSync());
    tf.dispose([x, y, before, after]);
    copy.dispose();
    model.dispose();
  });

  it('fit() on a copy with freezeStatistics tunes gamma and beta and keeps the statistics', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({inputShape: [3], units: 4}), tf.layers.batchNormalization({name: 'bn'})],
    });
    setStatistics(model);
    const copy = replaceBatchNormalization(model).model;
    const bn = copy.getLayer('bn') as BatchNormInferenceLayer;
    const [mean, variance, scale] = [bn.TrainedMean, bn.TrainedVariance, bn.Scale];
    bn.freezeStatistics = true;  // by default fit() updates them, as Keras (test/training.test.ts)
    copy.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const x = randomTensor([8, 3], 8);
    const y = randomTensor([8, 4], 9);
    await copy.fit(x, y, {epochs: 2, verbose: 0});
    expect(bn.TrainedMean).toEqual(mean);
    expect(bn.TrainedVariance).toEqual(variance);
    expect(bn.Scale).not.toEqual(scale);
    tf.dispose([x, y]);
    copy.dispose();
    model.dispose();
  });

  it('zero and subnormal moving variances', () => {
    const model = tf.sequential({layers: [tf.layers.batchNormalization({inputShape: [2, 4], name: 'bn'})]});
    const subnormal = 1e-40;  // below float32's smallest normal, 2^-126
    model.getLayer('bn').setWeights([
      tf.tensor1d([1, 2, -1, 0.5]), tf.tensor1d([0, 1, 0, -1]), tf.tensor1d([0.5, -0.5, 1, 0]),
      tf.tensor1d([0, subnormal, 0, 2]),
    ]);
    const copy = replaceBatchNormalization(model).model;
    const bn = copy.getLayer('bn') as BatchNormInferenceLayer;
    expect(bn.TrainedVariance[1]).toBe(Math.fround(subnormal));
    expect(bn.TrainedVariance[1]).toBeGreaterThan(0);
    const x = randomTensor([3, 2, 4], 10, -2, 2);
    expectSamePredictions(model, copy, x);
    const y = copy.predict(x) as tf.Tensor;
    expect(formulaMismatches(y, x, -1, statisticsOf(bn))).toEqual([]);
    tf.dispose([x, y]);
    copy.dispose();
    model.dispose();
  });

  it('channels first: conv2d(channelsFirst) -> BatchNormalization(axis 1) matches the formula', () => {
    const input = tf.input({shape: [2, 5, 5]});
    const conv = tf.layers.conv2d({filters: 3, kernelSize: 3, dataFormat: 'channelsFirst', name: 'conv',
                                   kernelInitializer: tf.initializers.glorotUniform({seed: 5})});
    const convOut = conv.apply(input) as tf.SymbolicTensor;
    const out = tf.layers.batchNormalization({axis: 1, name: 'bn'}).apply(convOut) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: out});
    setStatistics(model);
    const copy = replaceBatchNormalization(model).model;
    expectReplaced(model, copy);
    const probe = tf.model({inputs: copy.inputs, outputs: [copy.outputs[0], copy.getLayer('conv').output as tf.SymbolicTensor]});
    const x = randomTensor([2, 2, 5, 5], 11, -2, 2);
    const [y, c] = probe.predict(x) as tf.Tensor[];
    expect(formulaMismatches(y, c, 1, statisticsOf(copy.getLayer('bn') as BatchNormInferenceLayer))).toEqual([]);
    tf.dispose([x, y, c]);
    copy.dispose();
    model.dispose();
  });

  it('rank 5: conv3d -> BatchNormalization (which tfjs-layers cannot run) matches the formula', () => {
    const input = tf.input({shape: [3, 4, 4, 2]});
    const conv = tf.layers.conv3d({filters: 3, kernelSize: 2, name: 'conv',
                                   kernelInitializer: tf.initializers.glorotUniform({seed: 6})});
    const convOut = conv.apply(input) as tf.SymbolicTensor;
    const out = tf.layers.batchNormalization({name: 'bn'}).apply(convOut) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: out});
    setStatistics(model);
    const copy = replaceBatchNormalization(model).model;
    expectReplaced(model, copy);
    const probe = tf.model({inputs: copy.inputs, outputs: [copy.outputs[0], copy.getLayer('conv').output as tf.SymbolicTensor]});
    const x = randomTensor([2, 3, 4, 4, 2], 12, -2, 2);
    const [y, c] = probe.predict(x) as tf.Tensor[];
    expect(y.shape).toEqual([2, 2, 3, 3, 3]);
    expect(formulaMismatches(y, c, -1, statisticsOf(copy.getLayer('bn') as BatchNormInferenceLayer))).toEqual([]);
    tf.dispose([x, y, c]);
    copy.dispose();
    model.dispose();
  });

  it('a model without BatchNormalization comes back as an equivalent copy', () => {
    const model = tf.sequential({layers: [tf.layers.dense({inputShape: [3], units: 2})]});
    const copy = replaceBatchNormalization(model).model;
    expect(copy).not.toBe(model);
    const x = randomTensor([2, 3], 13);
    expectSamePredictions(model, copy, x);
    x.dispose();
    copy.dispose();
    model.dispose();
  });

  it('the copy survives disposing the original, and saves and loads', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({inputShape: [3], units: 4, name: 'd'}), tf.layers.batchNormalization({name: 'bn'})],
    });
    setStatistics(model);
    const x = randomTensor([5, 3], 14);
    const expected = model.predict(x) as tf.Tensor;
    const copy = replaceBatchNormalization(model).model;
    model.dispose();
    const y = copy.predict(x) as tf.Tensor;
    expect(closeMismatches(y, expected, TOLERANCE)).toEqual([]);
    const dir = makeTempDir();
    try {
      await copy.save(fileSystemIO(dir));
      const loaded = await tf.loadLayersModel(fileSystemIO(dir));
      expect(loaded.getLayer('bn')).toBeInstanceOf(BatchNormInferenceLayer);
      const z = loaded.predict(x) as tf.Tensor;
      expect(z.dataSync()).toEqual(y.dataSync());
      z.dispose();
      loaded.dispose();
    } finally {
      removeDir(dir);
    }
    tf.dispose([x, expected, y]);
    copy.dispose();
  });
});

describe('converted model files', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    removeDir(dir);
  });

  function convModel(): tf.LayersModel {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({inputShape: [5, 5, 2], filters: 3, kernelSize: 3, padding: 'same', name: 'conv',
                          kernelInitializer: tf.initializers.glorotUniform({seed: 7})}),
        tf.layers.batchNormalization({name: 'bn', axis: 3}),
        tf.layers.flatten(),
        tf.layers.dense({units: 4, name: 'dense', kernelInitializer: tf.initializers.glorotUniform({seed: 8})}),
        tf.layers.batchNormalization({name: 'bn_dense', trainable: false}),
      ],
    });
    setStatistics(model);
    // A zero variance: quantization must keep it exactly zero.
    const bn = model.getLayer('bn');
    const w = bn.getWeights();
    const zeroVar = tf.tensor1d([0, 1.5, 0.25]);
    bn.setWeights([w[0], w[1], w[2], zeroVar]);
    zeroVar.dispose();
    return model;
  }

  it('axis written as a one-element list ("axis": [3])', async () => {
    const model = convModel();
    await model.save(fileSystemIO(dir));
    setListAxis(dir, 'bn');
    const loaded = await tf.loadLayersModel(fileSystemIO(dir));
    expect(loaded.getLayer('bn').getConfig().axis).toEqual([3]);
    const copy = replaceBatchNormalization(loaded).model;
    expectReplaced(loaded, copy);
    expect((copy.getLayer('bn') as BatchNormInferenceLayer).axis).toBe(3);
    const x = randomTensor([2, 5, 5, 2], 15, -2, 2);
    expectSamePredictions(loaded, copy, x);
    x.dispose();
    model.dispose();
    loaded.dispose();
    copy.dispose();
  });

  it('weights quantized to uint8 arrive dequantized and convert like any others', async () => {
    const model = convModel();
    await model.save(fileSystemIO(dir));
    const dequantized = quantizeToUint8(dir);
    const loaded = await tf.loadLayersModel(fileSystemIO(dir));
    // tfjs dequantized every weight to float32 q * scale + min ...
    for (const w of loaded.weights) {
      expect(w.dtype).toBe('float32');
      expect(w.read().dataSync()).toEqual(dequantized.get(w.originalName));
    }
    // ... which is not what was saved (the quantization did happen) ...
    const original = model.getLayer('bn').getWeights()[2].dataSync();
    expect(loaded.getLayer('bn').getWeights()[2].dataSync()).not.toEqual(original);
    expect((loaded.getLayer('bn').getWeights()[3].dataSync())[0]).toBe(0);  // zero stays zero
    // ... and the conversion keeps exactly those values.
    const copy = replaceBatchNormalization(loaded).model;
    expectReplaced(loaded, copy);
    expect(copy.getLayer('bn_dense').trainable).toBe(false);
    const x = randomTensor([2, 5, 5, 2], 16, -2, 2);
    expectSamePredictions(loaded, copy, x);
    x.dispose();
    model.dispose();
    loaded.dispose();
    copy.dispose();
  });
});

describe('error messages', () => {
  const E = 'Error in replaceBatchNormalization';
  const loose = replaceBatchNormalization as (model: unknown) => unknown;

  it('not a LayersModel', () => {
    expectThrowsWithoutLeak(() => loose(42),
        `${E}: model must be a tf.LayersModel (from tf.model(), tf.sequential() or ` +
        `tf.loadLayersModel()), but got 42.`);
    const graphModelLike = {executeAsync: () => undefined, execute: () => undefined};
    expectThrowsWithoutLeak(() => loose(graphModelLike),
        `${E}: model must be a tf.LayersModel (from tf.model(), tf.sequential() or ` +
        `tf.loadLayersModel()), but got an object of type Object (a GraphModel has no layers to ` +
        `replace: convert the Keras model with tensorflowjs_converter --output_format ` +
        `tfjs_layers_model).`);
  });

  it('a Promise of a model: did you forget await?', async () => {
    const model = tf.sequential({layers: [tf.layers.batchNormalization({inputShape: [3], name: 'bn'})]});
    const pending = Promise.resolve(model);
    expectThrowsWithoutLeak(() => loose(pending),
        `${E}: model must be a tf.LayersModel (from tf.model(), tf.sequential() or ` +
        `tf.loadLayersModel()), but got a Promise: did you forget \`await\`?`);
    (await pending).dispose();
  });

  for (const [what, epsilon, got] of [['0', 0, '0'], ['-0', -0, '-0'], ['NaN', NaN, 'NaN']] as const) {
    it(`a BatchNormalization with epsilon ${what}`, () => {
      const model = tf.sequential({
        layers: [tf.layers.batchNormalization({inputShape: [3], epsilon, name: 'bn'})],
      });
      expectThrowsWithoutLeak(() => replaceBatchNormalization(model),
          `${E}: the epsilon of layer 'bn' (BatchNormalization) must be a finite number > 0, ` +
          `but got ${got}.`);
      model.dispose();
    });
  }

  it('a BatchNormalization over several axes', () => {
    const model = tf.sequential({layers: [tf.layers.batchNormalization({inputShape: [3], name: 'bn'})]});
    const getConfig = model.getConfig.bind(model);
    model.getConfig = () => {
      const config = getConfig();
      config.layers[0].config.axis = [1, 2];
      return config;
    };
    expectThrowsWithoutLeak(() => replaceBatchNormalization(model),
        `${E}: layer 'bn' (BatchNormalization) normalizes over the axes [1,2]; ` +
        `BatchNormInference has one channel axis.`);
    model.dispose();
  });

  it('a model class that is not registered for serialization', () => {
    class Unregistered extends tf.LayersModel {
      static override className = 'UnregisteredModel';
    }
    const input = tf.input({shape: [2]});
    const model = new Unregistered({inputs: input, outputs: tf.layers.dense({units: 1}).apply(input) as tf.SymbolicTensor});
    expectThrowsWithoutLeak(() => replaceBatchNormalization(model),
        `${E}: the model's class 'UnregisteredModel' is not registered with ` +
        `tf.serialization.registerClass(), so it cannot be rebuilt from its config.`);
    model.dispose();
  });

  it('a BatchNormalization without moving statistics', () => {
    const model = tf.sequential({layers: [tf.layers.batchNormalization({inputShape: [3], name: 'bn'})]});
    const weights = model.getLayer('bn').weights;
    (weights[2] as {originalName: string}).originalName = 'bn/renamed';
    // The half-made copy is disposed: nothing leaks.
    expectThrowsWithoutLeak(() => replaceBatchNormalization(model),
        `${E}: BatchNormalization layer 'bn' has no moving_mean and moving_variance weights ` +
        `(it has 'bn/gamma', 'bn/beta', 'bn/renamed', 'bn/moving_variance').`);
    model.dispose();
  });
});
