/**
 * The BatchNormInference layer on the cpu backend: predictions against the
 * float64 formula, MATLAB-style arguments, weights, serialization, training,
 * every error message, tensor leaks and registration.
 *
 * Tolerances: outputs are compared with the float64 formula through
 * formulaMismatches (helpers/layer_reference.ts), i.e. half an ulp of float32
 * plus 2^-50 of the terms: the cpu kernel computes in float64 and rounds once.
 * Save/load round trips must give bit-identical predictions (same weights,
 * same kernel).
 */
import * as tf from '@tensorflow/tfjs';

import {BatchNormInferenceLayer, batchNormInferenceLayer, registerBatchNormInference} from '../src';
import {registerBatchNormInferenceLayer} from '../src/layers/batch_norm_inference/batch_norm_inference_layer';
import {fileSystemIO, makeTempDir, readModelJSON, removeDir} from './helpers/fs_io';
import {errorOf, formulaMismatches, randomTensor, statisticsOf} from './helpers/layer_reference';

const C = 3;
const MEAN = [0.5, -1, 2];
const VARIANCE = [4, 0.25, 1e-3];
const SCALE = [1.5, -0.5, 2];
const OFFSET = [0.1, 0.2, -0.3];
const f32 = (a: number[]) => Float32Array.from(a);

function statsLayer(extra: Record<string, unknown> = {}): BatchNormInferenceLayer {
  return batchNormInferenceLayer({
    TrainedMean: MEAN, TrainedVariance: VARIANCE, Scale: SCALE, Offset: OFFSET, Epsilon: 1e-3,
    ...extra,
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('predictions match the float64 formula', () => {
  it('sequential conv2d -> BatchNormInference -> relu', () => {
    const before = tf.memory().numTensors;
    const conv = tf.layers.conv2d({
      inputShape: [5, 5, 2], filters: C, kernelSize: 3, padding: 'same', name: 'conv',
      kernelInitializer: tf.initializers.glorotUniform({seed: 1}),
    });
    const bn = statsLayer({Name: 'bn'});
    const model = tf.sequential({layers: [conv, bn, tf.layers.reLU()]});
    const convOnly = tf.model({inputs: model.inputs, outputs: conv.output as tf.SymbolicTensor});
    const x = randomTensor([2, 5, 5, 2], 7, -3, 3);
    const y = model.predict(x) as tf.Tensor;
    const convOut = convOnly.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 5, 5, C]);
    expect(formulaMismatches(y, convOut, -1, statisticsOf(bn), (v) => Math.max(0, v))).toEqual([]);
    tf.dispose([x, y, convOut]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a functional model with two branches', () => {
    const input = tf.input({shape: [4, C]});
    const bn = statsLayer({name: 'bn_branch'});
    const normalized = bn.apply(input) as tf.SymbolicTensor;
    const dense = tf.layers.dense({units: C, kernelInitializer: 'ones', name: 'dense'})
                      .apply(input) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([normalized, dense]) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: [sum, normalized]});
    const x = randomTensor([3, 4, C], 11, -5, 5);
    const [s, n] = model.predict(x) as tf.Tensor[];
    expect(formulaMismatches(n, x, -1, statisticsOf(bn))).toEqual([]);
    // The sum adds the dense branch (sum of x over the last axis, bias 0).
    const expectedSum = tf.add(n, tf.sum(x, -1, true));
    expect(tf.max(tf.abs(tf.sub(s, expectedSum))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, s, n, expectedSum]);
    model.dispose();
  });

  const cases: Array<{name: string, shape: number[], axis: number}> = [
    {name: 'rank 2 (Dense output), axis -1', shape: [4, C], axis: -1},
    {name: 'rank 2, axis 1', shape: [4, C], axis: 1},
    {name: 'rank 3 (sequence), axis -1', shape: [2, 5, C], axis: -1},
    {name: 'rank 3, channels first (axis 1)', shape: [2, C, 5], axis: 1},
    {name: 'rank 4 NCHW, axis 1', shape: [2, C, 4, 5], axis: 1},
    {name: 'rank 4 NHWC, axis 3', shape: [2, 4, 5, C], axis: 3},
    {name: 'rank 4, middle axis -2', shape: [2, 4, C, 5], axis: -2},
    {name: 'rank 5 NDHWC, axis -1', shape: [2, 3, 2, 4, C], axis: -1},
    {name: 'rank 5 NCDHW, axis 1', shape: [2, C, 3, 2, 4], axis: 1},
    {name: 'rank 6, axis 2', shape: [1, 2, C, 2, 2, 3], axis: 2},
  ];
  for (const {name, shape, axis} of cases) {
    it(name, () => {
      const layer = statsLayer({axis});
      const x = randomTensor(shape, shape.length * 31 + axis, -10, 10);
      const before = tf.memory().numTensors;
      const y = layer.apply(x) as tf.Tensor;  // builds: + 4 weights, + 1 output
      expect(tf.memory().numTensors).toBe(before + 5);
      expect(y.shape).toEqual(shape);
      expect(formulaMismatches(y, x, axis, statisticsOf(layer))).toEqual([]);
      tf.dispose([x, y]);
      layer.dispose();
      expect(tf.memory().numTensors).toBe(before - 1);
    });
  }

  it('channels-first inside a model: conv2d(channelsFirst) -> BatchNormInference(axis 1)', () => {
    const input = tf.input({shape: [2, 6, 6]});
    const conv = tf.layers.conv2d({
      filters: C, kernelSize: 3, dataFormat: 'channelsFirst', name: 'conv',
      kernelInitializer: tf.initializers.glorotUniform({seed: 3}),
    });
    const convOut = conv.apply(input) as tf.SymbolicTensor;
    const bn = statsLayer({axis: 1});
    const model = tf.model({inputs: input, outputs: [bn.apply(convOut) as tf.SymbolicTensor, convOut]});
    const x = randomTensor([2, 2, 6, 6], 5, -2, 2);
    const [y, c] = model.predict(x) as tf.Tensor[];
    expect(y.shape).toEqual([2, C, 4, 4]);
    expect(formulaMismatches(y, c, 1, statisticsOf(bn))).toEqual([]);
    tf.dispose([x, y, c]);
    model.dispose();
  });

  it('int32 input is normalized like its float32 values', () => {
    const layer = statsLayer();
    const x = tf.tensor2d([[1, 2, 3], [-4, 5, 6]], [2, 3], 'int32');
    const y = layer.apply(x) as tf.Tensor;
    expect(y.dtype).toBe('float32');
    const xf = tf.cast(x, 'float32');
    expect(formulaMismatches(y, xf, -1, statisticsOf(layer))).toEqual([]);
    tf.dispose([x, y, xf]);
    layer.dispose();
  });
});

describe('MATLAB-style arguments', () => {
  it('defaults: mean zeros, variance ones, Scale ones, Offset zeros, Epsilon 1e-5', () => {
    const layer = batchNormInferenceLayer();
    expect(layer.Epsilon).toBe(1e-5);
    expect(layer.axis).toBe(-1);
    expect(layer.NumChannels).toBeUndefined();
    expect(layer.TrainedMean).toEqual(new Float32Array(0));  // MATLAB's [] until C is known
    const x = randomTensor([2, 4], 1);
    const y = layer.apply(x) as tf.Tensor;
    expect(layer.NumChannels).toBe(4);
    expect(layer.TrainedMean).toEqual(new Float32Array(4));
    expect(layer.TrainedVariance).toEqual(new Float32Array(4).fill(1));
    expect(layer.Scale).toEqual(new Float32Array(4).fill(1));
    expect(layer.Offset).toEqual(new Float32Array(4));
    expect(formulaMismatches(y, x, -1, statisticsOf(layer))).toEqual([]);
    tf.dispose([x, y]);
    layer.dispose();
  });

  const shapes: Array<[string, unknown]> = [
    ['C (plain array)', [0.5, -1, 2]],
    ['1x1xC (MATLAB image layers)', [[[0.5, -1, 2]]]],
    ['1xC', [[0.5, -1, 2]]],
    ['Cx1 (MATLAB feature/sequence layers)', [[0.5], [-1], [2]]],
    ['Float32Array', f32([0.5, -1, 2])],
    ['Float64Array', Float64Array.from([0.5, -1, 2])],
    ['[Float64Array] (1xC of typed rows)', [Float64Array.from([0.5, -1, 2])]],
  ];
  for (const [name, value] of shapes) {
    it(`TrainedMean as ${name}`, () => {
      const layer = batchNormInferenceLayer({TrainedMean: value as number[]});
      expect(layer.NumChannels).toBe(3);
      expect(layer.TrainedMean).toEqual(f32([0.5, -1, 2]));
      expect(layer.TrainedVariance).toEqual(f32([1, 1, 1]));
    });
  }

  it('tensors in MATLAB shapes (1x1xC, Cx1, C; int32 too) are copied, not kept or disposed', () => {
    const tensors = [
      tf.tensor3d([0.5, -1, 2], [1, 1, 3]), tf.tensor2d([4, 0.25, 1e-3], [3, 1]),
      tf.tensor1d([1, 2, 3], 'int32'), tf.tensor2d([[0.1, 0.2, -0.3]]),
    ];
    const before = tf.memory().numTensors;
    const layer = batchNormInferenceLayer(
        {TrainedMean: tensors[0], TrainedVariance: tensors[1], Scale: tensors[2], Offset: tensors[3]});
    expect(tf.memory().numTensors).toBe(before);  // values are read, no tensor is made
    tf.dispose(tensors);
    expect(layer.TrainedMean).toEqual(f32(MEAN));
    expect(layer.TrainedVariance).toEqual(f32(VARIANCE));
    expect(layer.Scale).toEqual(f32([1, 2, 3]));
    expect(layer.Offset).toEqual(f32(OFFSET));
  });

  it('a number is one channel; a LayerVariable is read as its tensor', () => {
    const one = batchNormInferenceLayer({TrainedMean: 2, TrainedVariance: [[[3]]]});
    expect(one.NumChannels).toBe(1);
    expect(one.TrainedMean).toEqual(f32([2]));
    const source = statsLayer();
    const x = tf.zeros([1, C]);
    tf.dispose(source.apply(x) as tf.Tensor);
    const copy = batchNormInferenceLayer({TrainedMean: source.weights[2], TrainedVariance: source.weights[3]});
    expect(copy.TrainedMean).toEqual(f32(MEAN));
    expect(copy.TrainedVariance).toEqual(f32(VARIANCE));
    x.dispose();
    source.dispose();
  });

  it('camelCase names are equivalent and may be mixed with MATLAB names across properties', () => {
    const matlab = statsLayer({NumChannels: 3, Name: 'same'});
    const camel = batchNormInferenceLayer({
      trainedMean: MEAN, trainedVariance: VARIANCE, scale: SCALE, offset: OFFSET, epsilon: 1e-3,
      numChannels: 3, name: 'same',
    });
    const mixed = batchNormInferenceLayer(
        {TrainedMean: MEAN, trainedVariance: VARIANCE, Scale: SCALE, offset: OFFSET, Epsilon: 1e-3});
    for (const layer of [camel, mixed]) {
      expect(layer.TrainedMean).toEqual(matlab.TrainedMean);
      expect(layer.TrainedVariance).toEqual(matlab.TrainedVariance);
      expect(layer.Scale).toEqual(matlab.Scale);
      expect(layer.Offset).toEqual(matlab.Offset);
      expect(layer.Epsilon).toBe(matlab.Epsilon);
      expect(layer.NumChannels).toBe(3);
    }
    expect(camel.Name).toBe('same');
    expect(matlab.name).toBe('same');
  });

  it("MATLAB's defaults 'auto' (NumChannels) and '' (Name), and null, mean 'not given'", () => {
    const layer = batchNormInferenceLayer(
        {NumChannels: 'auto', Name: '', TrainedMean: null, trainedMean: [1, 2], Epsilon: null});
    expect(layer.NumChannels).toBe(2);
    expect(layer.name).toMatch(/^batch_norm_inference_/);  // tfjs's generated name
    expect(layer.Epsilon).toBe(1e-5);
  });

  it('as the first layer of a Sequential model (inputShape)', () => {
    const model = tf.sequential({layers: [statsLayer({inputShape: [2, C], name: 'first'})]});
    expect(model.getLayer('first').getConfig().batchInputShape).toEqual([null, 2, C]);
    const x = randomTensor([2, 2, C], 21);
    const y = model.predict(x) as tf.Tensor;
    expect(formulaMismatches(y, x, -1, statisticsOf(model.getLayer('first') as BatchNormInferenceLayer))).toEqual([]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('axis as a one-element list (older Keras converters)', () => {
    const layer = batchNormInferenceLayer({axis: [1], TrainedMean: MEAN});
    expect(layer.axis).toBe(1);
    expect(layer.getConfig().axis).toBe(1);
  });

  it('builds from statistics exported from MATLAB as JSON', () => {
    // In MATLAB, for a trained layer `bn` of a 2-D image network:
    //   s = struct('Name', bn.Name, 'TrainedMean', bn.TrainedMean, ...
    //              'TrainedVariance', bn.TrainedVariance, 'Scale', bn.Scale, ...
    //              'Offset', bn.Offset, 'Epsilon', bn.Epsilon);
    //   fid = fopen('bn1.json', 'w'); fprintf(fid, '%s', jsonencode(s)); fclose(fid);
    // jsonencode writes the 1x1xC arrays as [[[...]]]:
    const exported = `{"Name":"bn1","TrainedMean":[[[0.5,-1,2]]],"TrainedVariance":[[[4,0.25,0.001]]],
        "Scale":[[[1.5,-0.5,2]]],"Offset":[[[0.1,0.2,-0.3]]],"Epsilon":1e-05}`;
    const layer = batchNormInferenceLayer(JSON.parse(exported));
    expect(layer.name).toBe('bn1');
    expect(layer.TrainedMean).toEqual(f32(MEAN));
    expect(layer.Scale).toEqual(f32(SCALE));
    expect(layer.Epsilon).toBe(1e-5);
    // MATLAB images are H x W x C: the same layout as tfjs's NHWC (axis -1).
    const model = tf.sequential({layers: [tf.layers.inputLayer({inputShape: [2, 2, C]}), layer]});
    const x = randomTensor([1, 2, 2, C], 3);
    const y = model.predict(x) as tf.Tensor;
    expect(formulaMismatches(y, x, -1, statisticsOf(layer))).toEqual([]);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('weights', () => {
  it('are gamma, beta, moving_mean, moving_variance: statistics frozen, gamma/beta trainable', () => {
    const layer = statsLayer({name: 'bn'});
    const x = tf.zeros([1, C]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.weights.map((w) => w.originalName))
        .toEqual(['bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']);
    expect(layer.trainableWeights.map((w) => w.originalName)).toEqual(['bn/gamma', 'bn/beta']);
    expect(layer.nonTrainableWeights.map((w) => w.originalName))
        .toEqual(['bn/moving_mean', 'bn/moving_variance']);
    const [g, b, m, v] = layer.getWeights().map((t) => t.dataSync());
    expect([g, b, m, v]).toEqual([f32(SCALE), f32(OFFSET), f32(MEAN), f32(VARIANCE)]);
    x.dispose();
    layer.dispose();
  });

  it('trainable: false freezes gamma and beta too', () => {
    const layer = statsLayer({trainable: false});
    const x = tf.zeros([1, C]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.trainableWeights).toEqual([]);
    expect(layer.weights.length).toBe(4);
    x.dispose();
    layer.dispose();
  });

  it("accept tfjs-layers BatchNormalization's getWeights() through setWeights()", () => {
    const keras = tf.layers.batchNormalization({epsilon: 1e-3});
    const x = randomTensor([4, C], 2, -5, 5);
    tf.dispose(keras.apply(x) as tf.Tensor);
    keras.setWeights([tf.tensor1d(SCALE), tf.tensor1d(OFFSET), tf.tensor1d(MEAN), tf.tensor1d(VARIANCE)]);
    const layer = batchNormInferenceLayer({Epsilon: 1e-3});
    tf.dispose(layer.apply(x) as tf.Tensor);
    layer.setWeights(keras.getWeights());
    expect(layer.TrainedMean).toEqual(f32(MEAN));
    expect(layer.TrainedVariance).toEqual(f32(VARIANCE));
    const ours = layer.apply(x) as tf.Tensor;
    const theirs = keras.apply(x) as tf.Tensor;  // rank 2, axis -1: tfjs computes this right
    expect(tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, ours, theirs]);
    layer.dispose();
    keras.dispose();
  });

  it('getters read the current weights synchronously', () => {
    const layer = statsLayer();
    const x = tf.zeros([1, C]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    const newMean = tf.tensor1d([9, 8, 7]);
    const w = layer.getWeights();
    layer.setWeights([w[0], w[1], newMean, w[3]]);
    expect(layer.TrainedMean).toEqual(f32([9, 8, 7]));
    // A copy: changing it does not change the layer.
    layer.TrainedMean[0] = 100;
    expect(layer.TrainedMean[0]).toBe(9);
    tf.dispose([x, newMean]);
    layer.dispose();
  });
});

describe('training', () => {
  it('with freezeStatistics, fit() changes gamma and beta and leaves the statistics unchanged', async () => {
    const bn = statsLayer({name: 'bn', freezeStatistics: true});
    const model = tf.sequential({layers: [tf.layers.inputLayer({inputShape: [C]}), bn]});
    model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const x = randomTensor([16, C], 4, -1, 1);
    const y = randomTensor([16, C], 5, -1, 1);
    const before = tf.memory().numTensors;
    await model.fit(x, y, {epochs: 3, batchSize: 8, verbose: 0});
    expect(bn.TrainedMean).toEqual(f32(MEAN));
    expect(bn.TrainedVariance).toEqual(f32(VARIANCE));
    expect(bn.Scale).not.toEqual(f32(SCALE));
    expect(bn.Offset).not.toEqual(f32(OFFSET));
    // fit() keeps optimizer state (SGD: iterations); allow those, nothing per step.
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(2);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('with trainable: false, fit() changes nothing', async () => {
    const bn = statsLayer({trainable: false});
    const dense = tf.layers.dense({units: C, inputShape: [C]});
    const model = tf.sequential({layers: [dense, bn]});
    model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const x = randomTensor([8, C], 6);
    const y = randomTensor([8, C], 7);
    await model.fit(x, y, {epochs: 2, verbose: 0});
    expect(bn.Scale).toEqual(f32(SCALE));
    expect(bn.Offset).toEqual(f32(OFFSET));
    tf.dispose([x, y]);
    model.dispose();
  });

  for (const extra of [{freezeStatistics: true}, {trainable: false}]) {
    it(`uses the trained statistics in training mode with ${JSON.stringify(extra)}`, () => {
      const layer = statsLayer(extra);
      const x = randomTensor([4, C], 8, -5, 5);
      const y = layer.apply(x, {training: true}) as tf.Tensor;
      expect(formulaMismatches(y, x, -1, statisticsOf(layer))).toEqual([]);
      expect(layer.TrainedMean).toEqual(f32(MEAN));
      expect(layer.TrainedVariance).toEqual(f32(VARIANCE));
      tf.dispose([x, y]);
      layer.dispose();
    });
  }
});

describe('serialization', () => {
  it('getConfig holds scalars only; fromConfig rebuilds the layer', () => {
    const layer = statsLayer({name: 'bn', axis: 1});
    const config = layer.getConfig();
    expect(config).toEqual({
      epsilon: 1e-3, axis: 1, numChannels: 3, name: 'bn', trainable: true,
      meanDecay: 0.1, varianceDecay: 0.1, scaleInitializer: 'ones', offsetInitializer: 'zeros',
      scaleLearnRateFactor: 1, offsetLearnRateFactor: 1, scaleL2Factor: 1, offsetL2Factor: 1,
      l2Regularization: 1e-4, freezeStatistics: false,
    });
    // The deserializer adds customObjects to configs: it must be accepted.
    const copy = BatchNormInferenceLayer.fromConfig(
        BatchNormInferenceLayer, {...config, customObjects: {}}) as BatchNormInferenceLayer;
    expect(copy.getConfig()).toEqual(config);
    expect(copy.TrainedMean).toEqual(f32([0, 0, 0]));  // statistics travel as weights
    expect(batchNormInferenceLayer().getConfig()).not.toHaveProperty('numChannels');
  });

  it('model.save() -> tf.loadLayersModel() gives the same layer and identical predictions', async () => {
    const dir = makeTempDir();
    try {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({inputShape: [4, 4, 2], filters: C, kernelSize: 3, padding: 'same',
                            kernelInitializer: tf.initializers.glorotUniform({seed: 9})}),
          statsLayer({Name: 'bn_nhwc', trainable: false}),
          tf.layers.permute({dims: [3, 1, 2]}),  // to NCHW
          statsLayer({Name: 'bn_nchw', axis: 1, Epsilon: 1e-5}),
        ],
      });
      await model.save(fileSystemIO(dir));

      const json = readModelJSON(dir);
      const text = JSON.stringify(json.modelTopology);
      expect(text).toContain('"class_name":"BatchNormInference"');
      expect(text).toContain('"num_channels":3');
      expect(text).not.toMatch(/trained_mean|TrainedMean|moving_mean/);  // no arrays in config
      const names = json.weightsManifest[0].weights.map((w) => w.name);
      expect(names).toEqual(expect.arrayContaining([
        'bn_nhwc/gamma', 'bn_nhwc/beta', 'bn_nhwc/moving_mean', 'bn_nhwc/moving_variance',
        'bn_nchw/gamma', 'bn_nchw/beta', 'bn_nchw/moving_mean', 'bn_nchw/moving_variance',
      ]));

      const loaded = await tf.loadLayersModel(fileSystemIO(dir));
      for (const name of ['bn_nhwc', 'bn_nchw']) {
        const a = model.getLayer(name) as BatchNormInferenceLayer;
        const b = loaded.getLayer(name) as BatchNormInferenceLayer;
        expect(b).toBeInstanceOf(BatchNormInferenceLayer);
        expect(b.getConfig()).toEqual(a.getConfig());
        expect(statisticsOf(b)).toEqual(statisticsOf(a));
        expect(b.trainable).toBe(a.trainable);
      }
      const x = randomTensor([2, 4, 4, 2], 10, -3, 3);
      const y1 = model.predict(x) as tf.Tensor;
      const y2 = loaded.predict(x) as tf.Tensor;
      expect(y2.dataSync()).toEqual(y1.dataSync());
      tf.dispose([x, y1, y2]);
      model.dispose();
      loaded.dispose();
    } finally {
      removeDir(dir);
    }
  });
});

describe('error messages', () => {
  const E = 'Error in BatchNormInference layer';
  const valid = 'Valid arguments: TrainedMean (or trainedMean), TrainedVariance (or trainedVariance), ' +
      'Epsilon (or epsilon), Scale (or scale), Offset (or offset), NumChannels (or numChannels), ' +
      'Name (or name), MeanDecay (or meanDecay), VarianceDecay (or varianceDecay), ' +
      'ScaleInitializer (or scaleInitializer), OffsetInitializer (or offsetInitializer), ' +
      'ScaleLearnRateFactor (or scaleLearnRateFactor), OffsetLearnRateFactor (or ' +
      'offsetLearnRateFactor), ScaleL2Factor (or scaleL2Factor), OffsetL2Factor (or ' +
      'offsetL2Factor), L2Regularization (or l2Regularization), axis, freezeStatistics, trainable, ' +
      'inputShape, batchInputShape, batchSize, dtype, inputDType, weights.';
  const make = (args: any) => () => batchNormInferenceLayer(args);

  const constructorCases: Array<[string, unknown, string]> = [
    ['arguments not an object', 5,
     `${E}: the arguments must be an object of name-value pairs such as {TrainedMean, ` +
         `TrainedVariance, Epsilon}, but got 5.`],
    ['a typo is not ignored', {TrainedMeen: [1]},
     `${E}: unknown argument 'TrainedMeen' (did you mean 'TrainedMean'?). ${valid}`],
    ['snake_case key, with the name in the message', {trained_variance: [1], Name: 'bn3'},
     `${E} 'bn3': unknown argument 'trained_variance' (did you mean 'TrainedVariance'?). ${valid}`],
    ['several unknown keys', {foo: 1, epsilom: 1},
     `${E}: unknown arguments 'foo', 'epsilom' (did you mean 'Epsilon'?). ${valid}`],
    ['both spellings', {TrainedMean: [1], trainedMean: [1], name: 'bn'},
     `${E} 'bn': TrainedMean and trainedMean are two spellings of the same property; pass only one.`],
    ['Name not a string', {Name: 3},
     `${E}: Name must be a string, but got 3.`],
    ['Epsilon 0', {Epsilon: 0}, `${E}: Epsilon must be a finite number > 0, but got 0.`],
    ['Epsilon negative', {epsilon: -1e-5},
     `${E}: Epsilon must be a finite number > 0, but got -0.00001.`],
    ['Epsilon NaN', {Epsilon: NaN}, `${E}: Epsilon must be a finite number > 0, but got NaN.`],
    ['Epsilon Infinity', {Epsilon: Infinity},
     `${E}: Epsilon must be a finite number > 0, but got Infinity.`],
    ['Epsilon a string', {Epsilon: '1e-5'},
     `${E}: Epsilon must be a finite number > 0, but got the string "1e-5".`],
    ['axis not an integer', {axis: 1.5},
     `${E}: axis must be an integer, or a one-element list of an integer as older Keras ` +
         `converters write it, but got 1.5.`],
    ['axis a longer list', {axis: [1, 2]},
     `${E}: axis must be an integer, or a one-element list of an integer as older Keras ` +
         `converters write it, but got [1,2].`],
    ['NumChannels 0', {NumChannels: 0},
     `${E}: NumChannels must be a positive integer (or 'auto'), but got 0.`],
    ['NumChannels fractional', {numChannels: 2.5},
     `${E}: NumChannels must be a positive integer (or 'auto'), but got 2.5.`],
    ['a value of the wrong type', {TrainedMean: 'abc'},
     `${E}: TrainedMean must be a number, a (nested) array of numbers, a typed array or a ` +
         `tf.Tensor with one value per channel, but got the string "abc".`],
    ['a value that is an object', {Scale: {a: 1}},
     `${E}: Scale must be a number, a (nested) array of numbers, a typed array or a ` +
         `tf.Tensor with one value per channel, but got an object of type Object.`],
    ['a non-number element', {Offset: [[1, '2', 3]]},
     `${E}: Offset must contain only numbers, but Offset[0][1] is the string "2".`],
    ['a ragged nested array', {TrainedMean: [[1, 2], [3]]},
     `${E}: TrainedMean must be a rectangular (non-ragged) array, but TrainedMean[1] is of ` +
         `length 1 where the first element at that depth has length 2 (shape 2x2).`],
    ['a matrix, not a vector', {TrainedMean: [[1, 2, 3], [4, 5, 6]]},
     `${E}: TrainedMean must hold one value per channel, in a shape such as C, 1xC, Cx1 or ` +
         `1x1xC (at most one dimension other than 1), but got shape 2x3.`],
    ['an empty value (MATLAB [])', {TrainedVariance: []},
     `${E}: TrainedVariance is empty (shape 0), which MATLAB shows as [] for a layer that was ` +
         `never trained; pass the trained values, or leave TrainedVariance out for the default (ones).`],
    ['a NaN statistic', {TrainedMean: [0, NaN]},
     `${E}: TrainedMean must be finite, but element 1 is NaN.`],
    ['a value overflowing float32', {Scale: [1, 1e39]},
     `${E}: Scale must be finite, but element 1 is 1e+39, which overflows float32.`],
    ['a negative variance', {TrainedVariance: [1, -0.5]},
     `${E}: TrainedVariance must be >= 0, but element 1 is -0.5.`],
    ['statistics of different lengths', {TrainedMean: [1, 2, 3], TrainedVariance: [1, 2]},
     `${E}: TrainedVariance has 2 values but TrainedMean has 3: TrainedMean, TrainedVariance, ` +
         `Scale and Offset need one value per channel each.`],
    ['a statistic against NumChannels', {NumChannels: 4, Offset: [1, 2, 3]},
     `${E}: Offset has 3 values but NumChannels is 4.`],
  ];
  for (const [name, args, message] of constructorCases) {
    it(name, () => {
      const before = tf.memory().numTensors;
      expect(errorOf(make(args))).toBe(message);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a bool tensor', () => {
    const t = tf.tensor1d([true, false], 'bool');
    expect(errorOf(make({TrainedMean: t})))
        .toBe(`${E}: TrainedMean must be a float32 or int32 tensor, but got dtype bool (shape [2]).`);
    t.dispose();
  });

  it('input rank < 2', () => {
    const layer = batchNormInferenceLayer({name: 'bn'});
    const x = tf.ones([3]);
    const before = tf.memory().numTensors;
    expect(errorOf(() => layer.apply(x))).toBe(
        `${E} 'bn': the input must have rank >= 2 (a batch axis and a channel axis), but got ` +
        `input shape [3] (rank 1).`);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('axis out of range', () => {
    const layer = batchNormInferenceLayer({name: 'bn', axis: 4});
    expect(errorOf(() => layer.apply(tf.input({shape: [5, 5, 3]})))).toBe(
        `${E} 'bn': axis 4 is out of range for input shape [null,5,5,3] (rank 4); use an ` +
        `integer in [-4, 3].`);
  });

  it('axis on the batch dimension', () => {
    const layer = batchNormInferenceLayer({name: 'bn', axis: -3});
    expect(errorOf(() => layer.apply(tf.input({shape: [5, 3]})))).toBe(
        `${E} 'bn': axis -3 is the batch axis of input shape [null,5,3]; the channel axis must ` +
        `be one of 1..2 (or -1..-2).`);
  });

  it('unknown number of channels', () => {
    const layer = batchNormInferenceLayer({name: 'bn'});
    expect(errorOf(() => layer.apply(tf.input({shape: [4, null]})))).toBe(
        `${E} 'bn': the number of channels (axis -1 of input shape [null,4,null]) is unknown; ` +
        `BatchNormInference needs a fixed number of channels.`);
  });

  it('statistics that do not match the input channels (names the property and the input shape)', () => {
    const layer = batchNormInferenceLayer({name: 'bn', TrainedMean: [1, 2, 3]});
    expect(errorOf(() => layer.apply(tf.input({shape: [8, 8, 4]})))).toBe(
        `${E} 'bn': TrainedMean has 3 values but the input has 4 channels (axis -1 of input ` +
        `shape [null,8,8,4]).`);
    const scaleOnly = batchNormInferenceLayer({name: 'bn2', Scale: [1, 2], axis: 1});
    const x = tf.ones([2, 3, 5]);
    const before = tf.memory().numTensors;
    expect(errorOf(() => scaleOnly.apply(x))).toBe(
        `${E} 'bn2': Scale has 2 values but the input has 3 channels (axis 1 of input shape [2,3,5]).`);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('#18: a channel mismatch suggests the axis where the channels are, as the op does', () => {
    const nchw = batchNormInferenceLayer({name: 'bn', TrainedMean: [1, 2, 3]});
    const x = tf.ones([2, 3, 5, 5]);
    const before = tf.memory().numTensors;
    expect(errorOf(() => nchw.apply(x))).toBe(
        `${E} 'bn': TrainedMean has 3 values but the input has 5 channels (axis -1 of input ` +
        `shape [2,3,5,5]); 3 is axis 1 of the input: if that is the channel axis, pass axis: 1.`);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    const nhwc = batchNormInferenceLayer({name: 'bn2', NumChannels: 4, axis: 1});
    expect(errorOf(() => nhwc.apply(tf.input({shape: [3, 8, 4]})))).toBe(
        `${E} 'bn2': NumChannels is 4 but the input has 3 channels (axis 1 of input shape ` +
        `[null,3,8,4]); 4 is axis 3 of the input, the last axis: for channels-last (NHWC) data pass axis: -1.`);
  });

  it('NumChannels that does not match the input', () => {
    const layer = batchNormInferenceLayer({name: 'bn', NumChannels: 3});
    expect(errorOf(() => layer.apply(tf.input({shape: [4]})))).toBe(
        `${E} 'bn': NumChannels is 3 but the input has 4 channels (axis -1 of input shape [null,4]).`);
  });

  it('an input with other channels than the layer was built for', () => {
    const layer = statsLayer({name: 'bn'});
    const a = tf.ones([1, 3]);
    const b = tf.ones([1, 2, 4]);
    tf.dispose(layer.apply(a) as tf.Tensor);
    const before = tf.memory().numTensors;
    expect(errorOf(() => layer.apply(b))).toBe(
        `${E} 'bn': the layer was built for 3 channels, but the input has 4 channels (axis -1 ` +
        `of input shape [1,2,4]).`);
    expect(tf.memory().numTensors).toBe(before);
    expect(errorOf(() => layer.apply(tf.input({shape: [5]})))).toBe(
        `${E} 'bn': the layer was built for 3 channels, but the input has 5 channels (axis -1 ` +
        `of input shape [null,5]).`);
    tf.dispose([a, b]);
    layer.dispose();
  });

  it('more than one input', () => {
    const layer = batchNormInferenceLayer({name: 'bn'});
    expect(errorOf(() => layer.apply([tf.input({shape: [3]}), tf.input({shape: [3]})]))).toBe(
        `${E} 'bn': expects exactly one input, but got 2 (shapes [null,3], [null,3]).`);
    const built = statsLayer({name: 'bn2'});
    const x = tf.ones([1, 3]);
    tf.dispose(built.apply(x) as tf.Tensor);
    expect(errorOf(() => built.call([x, x], {}))).toBe(
        `${E} 'bn2': expects exactly one input tensor, but got 2.`);
    x.dispose();
    built.dispose();
  });
});

describe('registration', () => {
  it('the layer class is registered for deserialization', () => {
    const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormInference'];
    expect(entry[0]).toBe(BatchNormInferenceLayer);
  });

  it('registering again is a no-op and prints nothing', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      registerBatchNormInference();
      registerBatchNormInference();
      registerBatchNormInferenceLayer();
      expect(warn).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
      const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormInference'];
      expect(entry[0]).toBe(BatchNormInferenceLayer);
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });

  it('importing the layer module does not register the layer class (src/register.ts does)', () => {
    // Fresh module copies (tfjs-core's class map is per module instance; its
    // kernel registry is global, so kernels are not checked here).
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      jest.isolateModules(() => {
        const core = require('@tensorflow/tfjs-core') as typeof tf;
        const layer = require('../src/layers/batch_norm_inference/batch_norm_inference_layer') as
            typeof import('../src/layers/batch_norm_inference/batch_norm_inference_layer');
        const map = core.serialization.SerializationMap.getMap().classNameMap;
        expect(map['BatchNormInference']).toBeUndefined();
        layer.registerBatchNormInferenceLayer();
        expect(map['BatchNormInference'][0]).toBe(layer.BatchNormInferenceLayer);
      });
    } finally {
      warn.mockRestore();
    }
  });
});

describe('no tensor leaks', () => {
  it('predict, dispose and errors leave tf.memory() as they found it', () => {
    const start = tf.memory().numTensors;
    const layer = statsLayer();
    const model = tf.sequential({layers: [tf.layers.inputLayer({inputShape: [2, C]}), layer]});
    const afterBuild = tf.memory().numTensors;
    expect(afterBuild).toBe(start + 4);  // the four weights
    const x = randomTensor([5, 2, C], 12);
    for (let i = 0; i < 3; i++) tf.dispose(model.predict(x) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(afterBuild + 1);  // only x
    const bad = tf.ones([1, 2, 4]);
    expect(() => model.predict(bad)).toThrow();
    expect(tf.memory().numTensors).toBe(afterBuild + 2);  // x and bad
    tf.dispose([x, bad]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
