/**
 * The BatchNormInference layer in training mode on the cpu backend:
 * mini-batch normalization and the running-statistics update against a
 * float64 reference (ranks 2-5, every channel axis), against tfjs-layers'
 * BatchNormalization (decays = 1 - momentum), gradients against float64
 * finite differences, learn-rate and L2 factors, a model that learns with
 * fit(), frozen layers, and leaks across fit().
 *
 * Tolerances. Training mode computes the batch moments with tf.moments in
 * float32 (the cpu backend sums in float64 and rounds the mean, then rounds
 * each squared deviation), so mean and variance carry a few float32 ulps;
 * the op then rounds once. An output element is therefore within a few ulps
 * of |gamma| * (1 + |xhat|) + |beta| of the float64 value: we allow 2^-19
 * (32 ulps) of that plus half an ulp of the result. Running statistics:
 * 2^-19 relative. Gradients: float32 arithmetic with the batch-norm
 * cancellations (dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy*xhat)))
 * against central differences in float64 (h = 1e-6, truncation ~1e-12): we
 * allow 1e-4 of the largest gradient component.
 */
import * as tf from '@tensorflow/tfjs';

import {BatchNormInferenceLayer, batchNormInferenceLayer, replaceBatchNormalization} from '../src';
import {moments64, trainingForward64} from './helpers/batch_moments';
import {memorySnapshot} from './helpers/leaks';
import {closeMismatches, errorOf, randomTensor, values} from './helpers/layer_reference';
import {ulp32} from './helpers/reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function perChannel(channels: number, seed: number, lo: number, hi: number): number[] {
  return Array.from(values(channels, seed, lo, hi));
}

/** Output mismatches against the float64 training formula (see the tolerance above). */
function trainingMismatches(
    y: tf.Tensor, x: tf.Tensor, axis: number, gamma: number[], beta: number[], epsilon: number) {
  const a = axis < 0 ? axis + x.rank : axis;
  const ref = trainingForward64(x.dataSync(), x.shape, a, gamma, beta, epsilon);
  const out = y.dataSync();
  const channels = x.shape[a];
  let inner = 1;
  for (let d = a + 1; d < x.rank; d++) inner *= x.shape[d];
  const bad: Array<{index: number, actual: number, expected: number}> = [];
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const scale = Math.abs(gamma[c]) * (1 + Math.abs(ref.xhat[i])) + Math.abs(beta[c]);
    if (!(Math.abs(out[i] - ref.y[i]) <= 2 ** -19 * scale + ulp32(ref.y[i]) / 2)) {
      bad.push({index: i, actual: out[i], expected: ref.y[i]});
    }
  }
  return {bad: bad.slice(0, 5), ref};
}

function expectRelativelyClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(expected[i])));
  }
}

describe('training mode against the float64 formula', () => {
  const cases: Array<{shape: number[], axis: number}> = [];
  for (const shape of [[6, 3], [3, 4, 3], [2, 3, 4, 3], [2, 3, 2, 3, 2]]) {
    for (let axis = 1; axis < shape.length; axis++) cases.push({shape, axis});
  }
  cases.push({shape: [2, 3, 4, 5], axis: -1}, {shape: [2, 5, 3], axis: -2});
  for (const {shape, axis} of cases) {
    it(`rank ${shape.length}, shape [${shape}], axis ${axis}: output and updated statistics`, () => {
      const channels = shape[axis < 0 ? axis + shape.length : axis];
      const stats = {
        mean: perChannel(channels, 1, -1, 1), variance: perChannel(channels, 2, 0.5, 2),
        gamma: perChannel(channels, 3, 0.5, 2), beta: perChannel(channels, 4, -1, 1),
      };
      const layer = batchNormInferenceLayer({
        axis, TrainedMean: stats.mean, TrainedVariance: stats.variance, Scale: stats.gamma,
        Offset: stats.beta, Epsilon: 1e-3, MeanDecay: 0.3, VarianceDecay: 0.7,
      });
      const x = randomTensor(shape, shape.length * 10 + channels, -2, 5);
      const before = tf.memory().numTensors;
      const y = layer.apply(x, {training: true}) as tf.Tensor;
      expect(tf.memory().numTensors).toBe(before + 5);  // 4 weights (built now) + output
      const {bad, ref} = trainingMismatches(y, x, axis, stats.gamma, stats.beta, 1e-3);
      expect(bad).toEqual([]);
      const expectedMean = stats.mean.map((m, c) => 0.3 * ref.mean[c] + 0.7 * Math.fround(m));
      const expectedVariance = stats.variance.map((v, c) => 0.7 * ref.variance[c] + 0.3 * Math.fround(v));
      expectRelativelyClose(layer.TrainedMean, expectedMean, 2 ** -19);
      expectRelativelyClose(layer.TrainedVariance, expectedVariance, 2 ** -19);
      tf.dispose([x, y]);
      layer.dispose();
      expect(tf.memory().numTensors).toBe(before - 1);
    });
  }

  it('int32 input trains like its float32 values', () => {
    const layer = batchNormInferenceLayer({MeanDecay: 1, VarianceDecay: 1});
    const x = tf.tensor2d([[1, 2], [3, 6], [5, 7]], [3, 2], 'int32');
    tf.dispose(layer.apply(x, {training: true}) as tf.Tensor);
    const m = moments64([1, 2, 3, 6, 5, 7], [3, 2], 1);
    expectRelativelyClose(layer.TrainedMean, m.mean, 2 ** -20);
    expectRelativelyClose(layer.TrainedVariance, m.variance, 2 ** -20);
    x.dispose();
    layer.dispose();
  });
});

describe("against tfjs-layers' BatchNormalization in training (decay = 1 - momentum)", () => {
  for (const shape of [[6, 4], [2, 3, 3, 4]]) {
    it(`shape [${shape}], axis -1, three steps: outputs, moving mean and moving variance`, () => {
      const momentum = 0.8;
      const keras = tf.layers.batchNormalization({momentum, epsilon: 1e-3});
      const ours = batchNormInferenceLayer({
        Epsilon: 1e-3, MeanDecay: 1 - momentum, VarianceDecay: 1 - momentum,
      });
      const init = [
        tf.tensor1d(perChannel(4, 5, 0.5, 2)), tf.tensor1d(perChannel(4, 6, -1, 1)),
        tf.tensor1d(perChannel(4, 7, -1, 1)), tf.tensor1d(perChannel(4, 8, 0.5, 2)),
      ];
      for (let step = 0; step < 3; step++) {
        const x = randomTensor(shape, 100 + step, -3, 4);
        if (step === 0) {
          tf.dispose([keras.apply(x) as tf.Tensor, ours.apply(x) as tf.Tensor]);
          keras.setWeights(init);
          ours.setWeights(init);
        }
        const a = ours.apply(x, {training: true}) as tf.Tensor;
        const b = keras.apply(x, {training: true}) as tf.Tensor;
        expect(closeMismatches(a, b, 1e-5)).toEqual([]);
        tf.dispose([x, a, b]);
        // Both use the variance divided by N in the moving update.
        const [, , kMean, kVariance] = keras.getWeights().map((w) => w.dataSync());
        expectRelativelyClose(ours.TrainedMean, kMean, 1e-6);
        expectRelativelyClose(ours.TrainedVariance, kVariance, 1e-6);
      }
      tf.dispose(init);
      keras.dispose();
      ours.dispose();
    });
  }

  it('a converted Keras model trains as the original: statistics, weights and predictions', async () => {
    const build = () => tf.sequential({
      layers: [
        tf.layers.dense({inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotUniform({seed: 1})}),
        tf.layers.batchNormalization({name: 'bn', momentum: 0.9}),
        tf.layers.dense({units: 2, kernelInitializer: tf.initializers.glorotUniform({seed: 2})}),
      ],
    });
    const keras = build();
    const copy = replaceBatchNormalization(keras).model;
    const bn = copy.getLayer('bn') as BatchNormInferenceLayer;
    expect(bn.training.meanDecay).toBeCloseTo(0.1, 12);
    for (const m of [keras, copy]) m.compile({optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError'});
    const x = randomTensor([24, 3], 30, -2, 3);
    const y = randomTensor([24, 2], 31);
    await keras.fit(x, y, {epochs: 3, batchSize: 8, shuffle: false, verbose: 0});
    await copy.fit(x, y, {epochs: 3, batchSize: 8, shuffle: false, verbose: 0});
    const [, , kMean, kVariance] = keras.getLayer('bn').getWeights().map((w) => w.dataSync());
    expect(bn.TrainedMean).not.toEqual(new Float32Array(4));
    expectRelativelyClose(bn.TrainedMean, kMean, 1e-5);
    expectRelativelyClose(bn.TrainedVariance, kVariance, 1e-5);
    const a = copy.predict(x) as tf.Tensor;
    const b = keras.predict(x) as tf.Tensor;
    expect(closeMismatches(a, b, 1e-4)).toEqual([]);
    tf.dispose([x, y, a, b]);
    keras.dispose();
    copy.dispose();
  });
});

describe('Keras momentum', () => {
  it('a momentum outside [0, 1] is refused by replaceBatchNormalization', () => {
    const keras = tf.sequential({
      layers: [tf.layers.batchNormalization({inputShape: [2], name: 'bn', momentum: 1.5})],
    });
    const before = tf.memory().numTensors;
    expect(errorOf(() => replaceBatchNormalization(keras))).toBe(
        `Error in replaceBatchNormalization: layer 'bn' (BatchNormalization) has momentum 1.5; ` +
        `expected a number in [0, 1].`);
    expect(tf.memory().numTensors).toBe(before);
    keras.dispose();
  });
});

describe('gradients against float64 finite differences', () => {
  const cases = [
    {shape: [5, 3], axis: -1, factors: {}},
    {shape: [2, 3, 2, 2], axis: 1, factors: {ScaleLearnRateFactor: 0.5, OffsetLearnRateFactor: 2}},
    {shape: [2, 2, 3], axis: -1, factors: {ScaleLearnRateFactor: 0}},
  ];
  for (const {shape, axis, factors} of cases) {
    it(`shape [${shape}], axis ${axis}, ${JSON.stringify(factors)}: d/dx, d/dScale, d/dOffset`, () => {
      const a = axis < 0 ? axis + shape.length : axis;
      const channels = shape[a];
      const gamma = perChannel(channels, 40, 0.5, 2);
      const beta = perChannel(channels, 41, -1, 1);
      const layer = batchNormInferenceLayer({Scale: gamma, Offset: beta, axis, L2Regularization: 0, ...factors});
      const x0 = randomTensor(shape, 42, -2, 3);
      const w = randomTensor(shape, 43);
      tf.dispose(layer.apply(x0) as tf.Tensor);  // build
      const x = tf.variable(x0);
      const [gVar, bVar] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const {grads} = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(x, {training: true}) as tf.Tensor, w)) as tf.Scalar,
          [x, gVar, bVar]);
      const xs = Array.from(x0.dataSync());
      const ws = w.dataSync();
      const loss = (xv: number[], g: number[], b: number[]) =>
          trainingForward64(xv, shape, a, g, b, 1e-5).y.reduce((s, v, i) => s + v * ws[i], 0);
      const fd = (vec: number[], i: number, f: (v: number[]) => number) => {
        const h = 1e-6;
        const up = vec.slice();
        const down = vec.slice();
        up[i] += h;
        down[i] -= h;
        return (f(up) - f(down)) / (2 * h);
      };
      const gammaF = gamma.map(Math.fround);
      const betaF = beta.map(Math.fround);
      const expected = {
        x: xs.map((_, i) => fd(xs, i, (v) => loss(v, gammaF, betaF))),
        gamma: gammaF.map((_, i) => fd(gammaF, i, (v) => loss(xs, v, betaF)) *
                         ((factors as {ScaleLearnRateFactor?: number}).ScaleLearnRateFactor ?? 1)),
        beta: betaF.map((_, i) => fd(betaF, i, (v) => loss(xs, gammaF, v)) *
                        ((factors as {OffsetLearnRateFactor?: number}).OffsetLearnRateFactor ?? 1)),
      };
      const actual = {x: grads[x.name], gamma: grads[gVar.name], beta: grads[bVar.name]};
      for (const key of ['x', 'gamma', 'beta'] as const) {
        const e = expected[key];
        const got = actual[key].dataSync();
        const allowed = 1e-4 * Math.max(1, ...e.map(Math.abs));
        e.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(allowed));
      }
      tf.dispose([x0, w, x, ...Object.values(grads)]);
      layer.dispose();
    });
  }
});

describe('learn-rate factors, L2 penalty, frozen layers', () => {
  it("MATLAB's L2 penalty: L2Regularization * factor / 2 * sum(w^2), gradient through the learn-rate factor", () => {
    const layer = batchNormInferenceLayer({
      Scale: [1, 2, 3], Offset: [0.5, -1, 2], L2Regularization: 0.01, ScaleL2Factor: 2,
      OffsetL2Factor: 0, ScaleLearnRateFactor: 0.5,
    });
    const x = tf.zeros([1, 3]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    expect(layer.losses.length).toBe(1);  // Offset's coefficient is 0: no penalty
    const [penalty] = layer.calculateLosses();
    expect(penalty.dataSync()[0]).toBeCloseTo(0.01 * 2 / 2 * (1 + 4 + 9), 6);
    const gVar = layer.trainableWeights[0].read() as tf.Variable;
    const {value, grads} = tf.variableGrads(() => layer.calculateLosses()[0], [gVar]);
    expectRelativelyClose(grads[gVar.name].dataSync(), [1, 2, 3].map((g) => 0.5 * 0.02 * g), 1e-6);
    tf.dispose([x, penalty, value, ...Object.values(grads)]);
    layer.dispose();
    const defaults = batchNormInferenceLayer({Scale: [2]});
    tf.dispose(defaults.apply(tf.zeros([1, 1])) as tf.Tensor);
    const losses = defaults.calculateLosses();
    expect(losses.map((l) => l.dataSync()[0])).toEqual([Math.fround(1e-4 / 2 * 4), 0]);
    tf.dispose(losses);
    defaults.dispose();
  });

  it('fit(): ScaleLearnRateFactor 0 keeps Scale; Offset and the statistics train', async () => {
    const bn = batchNormInferenceLayer({inputShape: [3], ScaleLearnRateFactor: 0, Scale: [1, 2, 3]});
    const model = tf.sequential({layers: [bn]});
    model.compile({optimizer: tf.train.adam(0.05), loss: 'meanSquaredError'});
    const x = randomTensor([16, 3], 50, 1, 4);
    const y = randomTensor([16, 3], 51);
    await model.fit(x, y, {epochs: 2, batchSize: 8, verbose: 0});
    expect(bn.Scale).toEqual(Float32Array.from([1, 2, 3]));
    expect(bn.Offset).not.toEqual(new Float32Array(3));
    expect(bn.TrainedMean).not.toEqual(new Float32Array(3));
    tf.dispose([x, y]);
    model.dispose();
  });

  it('freezeStatistics set on a converted model: fit() tunes Scale/Offset, keeps the statistics', async () => {
    const keras = tf.sequential({
      layers: [tf.layers.dense({inputShape: [3], units: 2}), tf.layers.batchNormalization({name: 'bn'})],
    });
    keras.getLayer('bn').setWeights([tf.ones([2]), tf.zeros([2]), tf.tensor1d([1, -1]), tf.tensor1d([2, 3])]);
    const copy = replaceBatchNormalization(keras).model;
    const bn = copy.getLayer('bn') as BatchNormInferenceLayer;
    bn.freezeStatistics = true;
    expect(bn.getConfig().freezeStatistics).toBe(true);
    copy.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const x = randomTensor([8, 3], 54);
    const y = randomTensor([8, 2], 55);
    await copy.fit(x, y, {epochs: 2, batchSize: 4, verbose: 0});
    expect(bn.TrainedMean).toEqual(Float32Array.from([1, -1]));
    expect(bn.TrainedVariance).toEqual(Float32Array.from([2, 3]));
    expect(bn.Scale).not.toEqual(Float32Array.from([1, 1]));
    tf.dispose([x, y]);
    copy.dispose();
    keras.dispose();
  });

  it('trainable: false runs the inference path in fit() and changes nothing (as Keras)', async () => {
    const bn = batchNormInferenceLayer({TrainedMean: [1, 2], TrainedVariance: [4, 9], trainable: false});
    const dense = tf.layers.dense({inputShape: [3], units: 2});
    const model = tf.sequential({layers: [dense, bn]});
    model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const x = randomTensor([8, 3], 52);
    const y = randomTensor([8, 2], 53);
    await model.fit(x, y, {epochs: 2, batchSize: 4, verbose: 0});
    expect(bn.TrainedMean).toEqual(Float32Array.from([1, 2]));
    expect(bn.TrainedVariance).toEqual(Float32Array.from([4, 9]));
    expect(bn.Scale).toEqual(Float32Array.from([1, 1]));
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('a small model learns with fit()', () => {
  it('loss falls and the statistics move to the data', async () => {
    const mean = [3, -1, 0.5, 2];
    const std = [2, 0.5, 1, 3];
    const n = 256;
    const raw = randomTensor([n, 4], 60, -Math.sqrt(3), Math.sqrt(3));  // mean 0, variance 1
    const x = tf.add(tf.mul(raw, tf.tensor1d(std)), tf.tensor1d(mean));
    const target = tf.sum(tf.mul(raw, tf.tensor1d([1, -2, 0.5, 1])), 1, true);
    const bn = batchNormInferenceLayer({inputShape: [4], Name: 'bn'});
    const model = tf.sequential({
      layers: [bn, tf.layers.dense({units: 1, kernelInitializer: tf.initializers.glorotUniform({seed: 61})})],
    });
    model.compile({optimizer: tf.train.adam(0.02), loss: 'meanSquaredError'});
    const history = await model.fit(x, target, {epochs: 20, batchSize: 32, shuffle: false, verbose: 0});
    const loss = history.history.loss as number[];
    // Training losses keep batch norm's mini-batch noise (32-sample statistics);
    // evaluate() normalizes with the learned statistics and shows the fit.
    expect(loss[loss.length - 1]).toBeLessThan(0.25 * loss[0]);
    const evaluated = model.evaluate(x, target, {batchSize: n}) as tf.Scalar;
    expect(evaluated.dataSync()[0]).toBeLessThan(0.1 * loss[0]);
    evaluated.dispose();
    const data = moments64(x.dataSync(), [n, 4], 1);
    // The running estimate averages ~1/MeanDecay = 10 recent batches of 32.
    bn.TrainedMean.forEach((m, c) => expect(Math.abs(m - data.mean[c])).toBeLessThan(0.3 * std[c]));
    bn.TrainedVariance.forEach((v, c) => expect(Math.abs(v - data.variance[c])).toBeLessThan(0.3 * data.variance[c]));
    tf.dispose([raw, x, target]);
    model.dispose();
  });
});

describe('no leaks in training', () => {
  it('fit() over several epochs, trainOnBatch and apply(training) leave tf.memory() unchanged', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({inputShape: [3], units: 4}),
        batchNormInferenceLayer({ScaleLearnRateFactor: 0.5, OffsetL2Factor: 2}),
        tf.layers.dense({units: 1}),
      ],
    });
    model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});
    const x = randomTensor([32, 3], 70);
    const y = randomTensor([32, 1], 71);
    await model.fit(x, y, {epochs: 1, batchSize: 8, verbose: 0});  // creates the optimizer's state
    const before = memorySnapshot();
    await model.fit(x, y, {epochs: 4, batchSize: 8, verbose: 0});
    tf.dispose(await model.trainOnBatch(x, y));
    const bn = model.layers[1];
    for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(() => bn.apply(tf.ones([2, 4]), {training: true}) as tf.Tensor));
    expect(memorySnapshot()).toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });
});
