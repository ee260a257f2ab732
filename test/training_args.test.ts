/**
 * The layer's training properties (MeanDecay, VarianceDecay, initializers,
 * learn-rate and L2 factors, L2Regularization, freezeStatistics): defaults,
 * both spellings, serialization through getConfig and model.save/load, and
 * every error; the validation rules of issue #9 (own properties only, one
 * finite / non-negative policy for the constructor, setWeights and loaded
 * weights, `weights` with statistic properties, disposed tensors).
 */
import * as tf from '@tensorflow/tfjs';

import {BatchNormInferenceLayer, batchNormInferenceLayer} from '../src';
import {expectThrowsWithoutLeak} from './helpers/leaks';
import {errorOf} from './helpers/layer_reference';

const E = 'Error in BatchNormInference layer';
const f32 = (a: number[]) => Float32Array.from(a);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function built(args: any, channels = 3): BatchNormInferenceLayer {
  const layer = batchNormInferenceLayer(args);
  tf.dispose(tf.tidy(() => layer.apply(tf.zeros([1, channels])) as tf.Tensor));
  return layer;
}

describe('training properties', () => {
  it("defaults are MATLAB's", () => {
    expect(batchNormInferenceLayer().training).toEqual({
      meanDecay: 0.1, varianceDecay: 0.1, scaleInitializer: 'ones', offsetInitializer: 'zeros',
      scaleLearnRateFactor: 1, offsetLearnRateFactor: 1, scaleL2Factor: 1, offsetL2Factor: 1,
      l2Regularization: 1e-4,
    });
    expect(batchNormInferenceLayer().freezeStatistics).toBe(false);
  });

  it('PascalCase and camelCase spellings are equivalent', () => {
    const pascal = batchNormInferenceLayer({
      MeanDecay: 0.2, VarianceDecay: 0.3, ScaleInitializer: 'zeros', OffsetInitializer: 'ones',
      ScaleLearnRateFactor: 2, OffsetLearnRateFactor: 0, ScaleL2Factor: 3, OffsetL2Factor: 4,
      L2Regularization: 0.5,
    });
    const camel = batchNormInferenceLayer({
      meanDecay: 0.2, varianceDecay: 0.3, scaleInitializer: 'zeros', offsetInitializer: 'ones',
      scaleLearnRateFactor: 2, offsetLearnRateFactor: 0, scaleL2Factor: 3, offsetL2Factor: 4,
      l2Regularization: 0.5,
    });
    expect(camel.training).toEqual(pascal.training);
    expect(pascal.training.meanDecay).toBe(0.2);
    expect(pascal.training.offsetLearnRateFactor).toBe(0);
  });

  it("initializers: 'ones', 'zeros', 'narrow-normal', a tfjs initializer, a function; given values win", () => {
    const a = built({ScaleInitializer: 'zeros', OffsetInitializer: 'ones'});
    expect(a.Scale).toEqual(f32([0, 0, 0]));
    expect(a.Offset).toEqual(f32([1, 1, 1]));
    const b = built({ScaleInitializer: 'narrow-normal', OffsetInitializer: tf.initializers.constant({value: 0.5})}, 64);
    const s = Array.from(b.Scale);
    const mean = s.reduce((p, v) => p + v, 0) / s.length;
    const sd = Math.sqrt(s.reduce((p, v) => p + (v - mean) ** 2, 0) / s.length);
    expect(sd).toBeGreaterThan(0.005);  // N(0, 0.01^2) over 64 draws
    expect(sd).toBeLessThan(0.02);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(b.Offset).toEqual(new Float32Array(64).fill(0.5));
    const c = built({ScaleInitializer: (shape: number[]) => Array.from({length: shape[0]}, (_, i) => i + 1)});
    expect(c.Scale).toEqual(f32([1, 2, 3]));
    const d = built({Scale: [7, 8, 9], ScaleInitializer: 'zeros'});
    expect(d.Scale).toEqual(f32([7, 8, 9]));
    [a, b, c, d].forEach((l) => l.dispose());
  });

  it('every property is serialized by getConfig and survives model.save / loadLayersModel', async () => {
    const args = {
      Name: 'bn', inputShape: [3], MeanDecay: 0.25, VarianceDecay: 0.5,
      ScaleInitializer: 'narrow-normal' as const, OffsetInitializer: tf.initializers.constant({value: 0.5}),
      ScaleLearnRateFactor: 0.5, OffsetLearnRateFactor: 2, ScaleL2Factor: 3, OffsetL2Factor: 0,
      L2Regularization: 1e-3, freezeStatistics: true,
    };
    const model = tf.sequential({layers: [batchNormInferenceLayer(args)]});
    const config = model.layers[0].getConfig();
    expect(config).toMatchObject({
      meanDecay: 0.25, varianceDecay: 0.5, scaleInitializer: 'narrow-normal',
      offsetInitializer: {className: 'Constant', config: {value: 0.5}},
      scaleLearnRateFactor: 0.5, offsetLearnRateFactor: 2, scaleL2Factor: 3, offsetL2Factor: 0,
      l2Regularization: 1e-3, freezeStatistics: true,
    });
    let saved: tf.io.ModelArtifacts|undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const layer = loaded.layers[0] as BatchNormInferenceLayer;
    expect(layer.getConfig()).toEqual(config);
    expect(layer.freezeStatistics).toBe(true);
    expect(layer.Offset).toEqual(f32([0.5, 0.5, 0.5]));
    const copy = BatchNormInferenceLayer.fromConfig(BatchNormInferenceLayer, {...config, customObjects: {}}) as
        BatchNormInferenceLayer;
    expect(copy.getConfig()).toEqual(config);
    model.dispose();
    loaded.dispose();
  });

  it('a function initializer is left out of getConfig (the weights file carries its values)', () => {
    const layer = batchNormInferenceLayer({ScaleInitializer: () => [1, 2]});
    expect(layer.getConfig()).not.toHaveProperty('scaleInitializer');
    expect(layer.getConfig().offsetInitializer).toBe('zeros');
  });
});

describe('errors', () => {
  const make = (args: any) => () => batchNormInferenceLayer(args);
  const cases: Array<[string, unknown, string]> = [
    ['MeanDecay above 1', {MeanDecay: 1.5}, `${E}: MeanDecay must be a number in [0, 1], but got 1.5.`],
    ['MeanDecay negative', {meanDecay: -0.1}, `${E}: MeanDecay must be a number in [0, 1], but got -0.1.`],
    ['VarianceDecay NaN', {VarianceDecay: NaN}, `${E}: VarianceDecay must be a number in [0, 1], but got NaN.`],
    ['VarianceDecay a string', {Name: 'bn', VarianceDecay: '0.1'},
     `${E} 'bn': VarianceDecay must be a number in [0, 1], but got the string "0.1".`],
    ['ScaleLearnRateFactor negative', {ScaleLearnRateFactor: -1},
     `${E}: ScaleLearnRateFactor must be a number in [0, Infinity), but got -1.`],
    ['OffsetLearnRateFactor Infinity', {offsetLearnRateFactor: Infinity},
     `${E}: OffsetLearnRateFactor must be a number in [0, Infinity), but got Infinity.`],
    ['ScaleL2Factor negative', {ScaleL2Factor: -2},
     `${E}: ScaleL2Factor must be a number in [0, Infinity), but got -2.`],
    ['OffsetL2Factor a string', {OffsetL2Factor: 'none'},
     `${E}: OffsetL2Factor must be a number in [0, Infinity), but got the string "none".`],
    ['L2Regularization NaN', {L2Regularization: NaN},
     `${E}: L2Regularization must be a number in [0, Infinity), but got NaN.`],
    ['ScaleInitializer unknown name', {ScaleInitializer: 'he'},
     `${E}: ScaleInitializer must be 'ones', 'zeros', 'narrow-normal', a tf.initializers ` +
         `initializer or a function (shape) => values, but got the string "he".`],
    ['OffsetInitializer a number', {OffsetInitializer: 0},
     `${E}: OffsetInitializer must be 'ones', 'zeros', 'narrow-normal', a tf.initializers ` +
         `initializer or a function (shape) => values, but got 0.`],
    ['an unregistered initializer class', {ScaleInitializer: {className: 'Nope', config: {}}},
     `${E}: ScaleInitializer names the initializer class 'Nope', which is not registered with tfjs.`],
    ['freezeStatistics not a boolean', {freezeStatistics: 'yes'},
     `${E}: freezeStatistics must be true or false, but got the string "yes".`],
    ['both spellings of a training property', {MeanDecay: 0.1, meanDecay: 0.2},
     `${E}: MeanDecay and meanDecay are two spellings of the same property; pass only one.`],
    ['a typo in a training property', {MeanDecy: 0.1},
     `${E}: unknown argument 'MeanDecy' (did you mean 'MeanDecay'?).`],
    ['weights with statistic properties', {Name: 'bn', weights: [], TrainedMean: [1], Offset: [2]},
     `${E} 'bn': weights and TrainedMean, Offset both give the layer's weights; pass either ` +
         `weights (gamma, beta, moving_mean, moving_variance) or the MATLAB properties.`],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      if (name.startsWith('a typo')) {
        expect(errorOf(make(args)).startsWith(message)).toBe(true);
      } else {
        expectThrowsWithoutLeak(make(args), message);
        expect(errorOf(make(args))).toBe(message);
      }
    });
  }

  it('an initializer function returning the wrong count names the property (at build)', () => {
    const layer = batchNormInferenceLayer({Name: 'bn', OffsetInitializer: () => [1, 2]});
    const x = tf.zeros([1, 3]);
    expectThrowsWithoutLeak(() => layer.apply(x),
        `${E} 'bn': OffsetInitializer must return 3 finite numbers (one per channel of input shape ` +
        `[1,3]), but returned 2 values.`);
    const other = batchNormInferenceLayer({Name: 'bn2', ScaleInitializer: () => 'ones'});
    expectThrowsWithoutLeak(() => other.apply(x),
        `${E} 'bn2': ScaleInitializer must return a tensor or an array of 3 numbers (one per channel of ` +
        `input shape [1,3]), but returned the string "ones".`);
    x.dispose();
  });

  it('a disposed tensor or a disposed layer\'s weight as a property', () => {
    const t = tf.tensor1d([1, 2, 3]);
    t.dispose();
    expectThrowsWithoutLeak(make({Name: 'bn', TrainedMean: t}),
        `${E} 'bn': TrainedMean is a disposed tf.Tensor (shape [3]); pass it before disposing it, or pass a copy.`);
    const source = built({Name: 'src'});
    const variance = source.weights[3];
    source.dispose();
    expect(errorOf(make({TrainedVariance: variance})))
        .toMatch(/^Error in BatchNormInference layer: TrainedVariance is the weight 'src\/moving_variance' of a disposed layer \(/);
  });
});

describe('validation (issue #9)', () => {
  it('only own properties are read: a polluted Object.prototype changes nothing', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.TrainedMean = [7, 7, 7];
    proto.Epsilon = -1;
    proto.MeanDecay = 5;
    try {
      const layer = batchNormInferenceLayer({});
      expect(layer.TrainedMean).toEqual(new Float32Array(0));
      expect(layer.Epsilon).toBe(1e-5);
      expect(layer.training.meanDecay).toBe(0.1);
    } finally {
      delete proto.TrainedMean;
      delete proto.Epsilon;
      delete proto.MeanDecay;
    }
  });

  it('setWeights rejects NaN and negative variance, as the constructor does, and changes nothing', () => {
    const layer = built({Name: 'bn', TrainedVariance: [1, 2, 3]});
    const ok = tf.tensor1d([1, 1, 1]);
    const negative = tf.tensor1d([1, -0.5, 1]);
    const nan = tf.tensor1d([0, NaN, 0]);
    expectThrowsWithoutLeak(() => layer.setWeights([ok, ok, ok, negative]),
        `${E} 'bn': TrainedVariance (weight moving_variance) must be >= 0, but element 1 is -0.5.`);
    expectThrowsWithoutLeak(() => layer.setWeights([ok, ok, nan, ok]),
        `${E} 'bn': TrainedMean (weight moving_mean) must be finite, but element 1 is NaN.`);
    expect(layer.Scale).toEqual(f32([1, 1, 1]));
    expect(layer.TrainedVariance).toEqual(f32([1, 2, 3]));
    expect(errorOf(() => batchNormInferenceLayer({TrainedVariance: [1, -0.5]})))
        .toBe(`${E}: TrainedVariance must be >= 0, but element 1 is -0.5.`);
    tf.dispose([ok, negative, nan]);
    layer.dispose();
  });

  it('the weights argument is checked the same way (at build)', () => {
    const w = [tf.ones([2]), tf.zeros([2]), tf.zeros([2]), tf.tensor1d([1, NaN])];
    const layer = batchNormInferenceLayer({Name: 'bn', weights: w});
    const x = tf.zeros([1, 2]);
    expect(errorOf(() => layer.apply(x)))
        .toBe(`${E} 'bn': TrainedVariance (weight moving_variance) must be finite, but element 1 is NaN.`);
    tf.dispose([x, ...w]);
  });

  it('#18: a weights file with a negative variance loads as saved (load takes what save wrote), predicting NaN there', async () => {
    const model = tf.sequential({layers: [batchNormInferenceLayer({Name: 'bn', inputShape: [2]})]});
    let saved: tf.io.ModelArtifacts|undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    }));
    model.dispose();
    const specs = saved!.weightSpecs!;
    const data = new Float32Array((saved!.weightData as ArrayBuffer).slice(0));
    const index = specs.findIndex((s) => s.name === 'bn/moving_variance');
    data[index * 2 + 1] = -3;  // four weights of 2 float32 values each, in spec order
    const before = tf.memory().numTensors;
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({...saved!, weightData: data.buffer}));
    const layer = loaded.layers[0] as BatchNormInferenceLayer;
    expect(Array.from(layer.TrainedVariance)).toEqual([1, -3]);
    const y = tf.tidy(() => Array.from((loaded.predict(tf.ones([1, 2])) as tf.Tensor).dataSync()));
    expect(Number.isNaN(y[1])).toBe(true);
    expect(Number.isFinite(y[0])).toBe(true);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

});
