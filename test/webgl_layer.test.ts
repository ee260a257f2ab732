/**
 * The BatchNormInference layer in models on the webgl backend, in headless
 * Chromium (the page loads tf.min.js and the plugin's bundle as a user would):
 * a conv2d -> BatchNormInference -> relu model, a channels-first model and a
 * rank-5 model predict what the float64 formula says; a model saved and
 * loaded back predicts identically; nothing leaks (numTensors and
 * numBytesInGPU). The layer's own arithmetic is isolated by computing the
 * reference from the conv2d output the same page produced on webgl.
 * Training on webgl: one training step against the float64 formula (batch
 * moments), and fit() over several epochs updates the statistics and leaks
 * nothing.
 */
import type {Page} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';
import {prng} from './helpers/cases';
import {moments64, trainingForward64} from './helpers/batch_moments';
import {compareWithReference, referenceBatchNorm} from './helpers/reference';

const HARNESS = '/test/browser/harness.html';

interface Stats {mean: number[]; variance: number[]; gamma: number[]; beta: number[]}

function stats(channels: number, seed: number): Stats {
  const r = prng(seed);
  const u = (lo: number, hi: number) => Array.from({length: channels}, () => Math.fround(lo + (hi - lo) * r()));
  return {mean: u(-1, 1), variance: u(0.1, 2), gamma: u(-2, 2), beta: u(-0.5, 0.5)};
}

function values(n: number, seed: number): number[] {
  const r = prng(seed);
  return Array.from({length: n}, () => Math.fround(4 * r() - 2));
}

/**
 * The layer's output against the float64 formula (then relu, which is exact)
 * with the webgl float32 tolerance: the input is what the page fed the layer.
 */
function expectLayerOutput(
    actual: number[], input: number[], shape: number[], axis: number, s: Stats, epsilon: number,
    relu: boolean) {
  const rank = shape.length;
  const d = {
    shape, axis: axis < 0 ? axis + rank : axis, epsilon, x: input,
    gamma: s.gamma, beta: s.beta, mean: s.mean, variance: s.variance,
  };
  const ref = referenceBatchNorm(d);
  const expected = relu ? ref.map((v) => Math.max(0, v)) : ref;
  expect(compareWithReference(actual, d, 'webgl-f32', expected)).toEqual([]);
}

// Globals of the page (tf.min.js and the plugin's bundle).
declare const tf: any;
declare const tfbni: any;

describeInBrowser('BatchNormInference layer in models on webgl (headless Chromium)', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await startBrowser();
    page = await session.open(HARNESS);
    const backend = await page.evaluate(async () => {
      await tf.setBackend('webgl');
      return tf.getBackend();
    });
    expect(backend).toBe('webgl');
  });

  afterAll(async () => {
    await session?.close();
  });

  it('conv2d -> BatchNormInference -> relu predicts the formula, saves and loads back, leaks nothing', async () => {
    const s = stats(3, 7);
    const input = values(2 * 5 * 5 * 2, 8);
    const kernel = values(3 * 3 * 2 * 3, 9).map((v) => v / 4);
    const out = await page.evaluate(async ({s, input, kernel}) => {
      const memory = () => {
        const m = tf.memory() as {numTensors: number, numBytesInGPU: number};
        return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
      };
      const before = memory();
      const conv = tf.layers.conv2d({
        inputShape: [5, 5, 2], filters: 3, kernelSize: 3, padding: 'same', useBias: false,
        kernelInitializer: 'zeros',
      });
      const bn = tfbni.batchNormInferenceLayer({
        TrainedMean: s.mean, TrainedVariance: s.variance, Scale: s.gamma, Offset: s.beta,
        Epsilon: 1e-3, Name: 'bn1',
      });
      const model = tf.sequential({layers: [conv, bn, tf.layers.reLU()]});
      const k = tf.tensor4d(kernel, [3, 3, 2, 3]);
      conv.setWeights([k]);
      k.dispose();
      const x = tf.tensor4d(input, [2, 5, 5, 2]);
      const convOnly = tf.model({inputs: model.inputs, outputs: conv.output as any});
      const convOut = convOnly.predict(x) as any;
      const y = model.predict(x) as any;
      const result = {convOut: Array.from(await convOut.data()) as number[], y: Array.from(await y.data()) as number[]};
      // Save (weights as weight data, the config as JSON) and load back.
      let saved: any;
      await model.save(tf.io.withSaveHandler(async (artifacts: any) => {
        saved = artifacts;
        return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
      }));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
      const y2 = loaded.predict(x) as any;
      const reloaded = Array.from(await y2.data());
      const classNames = loaded.layers.map((l: any) => l.getClassName());
      const weightNames = saved.weightSpecs.map((w: any) => w.name);
      tf.dispose([x, convOut, y, y2]);
      model.dispose();
      loaded.dispose();
      return {...result, reloaded, classNames, weightNames, before, after: memory()};
    }, {s, input, kernel});
    expectLayerOutput(out.y, out.convOut, [2, 5, 5, 3], -1, s, 1e-3, true);
    expect(out.reloaded).toEqual(out.y);
    expect(out.classNames).toEqual(['Conv2D', 'BatchNormInference', 'ReLU']);
    expect(out.weightNames).toEqual(expect.arrayContaining(
        ['bn1/gamma', 'bn1/beta', 'bn1/moving_mean', 'bn1/moving_variance']));
    expect(out.after).toEqual(out.before);
  });

  it('channels-first (axis 1) and rank-5 inputs predict the formula, leak nothing', async () => {
    const s1 = stats(3, 11);
    const s5 = stats(4, 12);
    const x1 = values(2 * 3 * 4 * 4, 13);
    const x5 = values(2 * 2 * 3 * 2 * 4, 14);
    const out = await page.evaluate(async ({s1, s5, x1, x5}) => {
      const memory = () => {
        const m = tf.memory() as {numTensors: number, numBytesInGPU: number};
        return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
      };
      const before = memory();
      const predict = async (inputShape: number[], axis: number, s: any, input: number[]) => {
        const model = tf.sequential({layers: [tfbni.batchNormInferenceLayer({
          inputShape, axis, TrainedMean: s.mean, TrainedVariance: s.variance, Scale: s.gamma,
          Offset: s.beta, Epsilon: 1e-5,
        })]});
        const x = tf.tensor(input, [2, ...inputShape]);
        const y = model.predict(x) as any;
        const v = Array.from(await y.data()) as number[];
        tf.dispose([x, y]);
        model.dispose();
        return v;
      };
      const nchw = await predict([3, 4, 4], 1, s1, x1);
      const rank5 = await predict([2, 3, 2, 4], -1, s5, x5);
      return {nchw, rank5, backend: tf.getBackend(), before, after: memory()};
    }, {s1, s5, x1, x5});
    expect(out.backend).toBe('webgl');
    expectLayerOutput(out.nchw, x1, [2, 3, 4, 4], 1, s1, 1e-5, false);
    expectLayerOutput(out.rank5, x5, [2, 2, 3, 2, 4], -1, s5, 1e-5, false);
    expect(out.after).toEqual(out.before);
  });

  it('training: one step against the float64 formula; fit() updates the statistics and leaks nothing', async () => {
    const s = stats(3, 21);
    const input = values(32 * 3, 22).map((v, i) => Math.fround(v * (1 + i % 3) + (i % 3) - 1));
    const nchw = values(2 * 3 * 4 * 5, 23).map((v) => Math.fround(3 * v + 2));
    const out = await page.evaluate(async ({s, input, nchw}) => {
      const memory = () => {
        const m = tf.memory() as {numTensors: number, numBytesInGPU: number};
        return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
      };
      const start = memory();
      // One step, decays 1: the statistics become the batch's own.
      const step = tfbni.batchNormInferenceLayer({
        TrainedMean: s.mean, TrainedVariance: s.variance, Scale: s.gamma, Offset: s.beta,
        Epsilon: 1e-3, MeanDecay: 1, VarianceDecay: 1,
      });
      const x = tf.tensor2d(input, [32, 3]);
      const y = step.apply(x, {training: true});
      const stepOut = {y: Array.from(await y.data()) as number[], mean: Array.from(step.TrainedMean) as number[],
                       variance: Array.from(step.TrainedVariance) as number[]};
      tf.dispose(y);
      step.dispose();
      // Channels first, rank 4: the moments reduce axes 0, 2 and 3.
      const step4 = tfbni.batchNormInferenceLayer({axis: 1, Epsilon: 1e-3, MeanDecay: 1, VarianceDecay: 1});
      const x4 = tf.tensor4d(nchw, [2, 3, 4, 5]);
      tf.dispose(step4.apply(x4, {training: true}));
      const nchwStats = {mean: Array.from(step4.TrainedMean) as number[], variance: Array.from(step4.TrainedVariance) as number[]};
      tf.dispose(x4);
      step4.dispose();
      // fit(): statistics move toward the data; no leaks once the optimizer exists.
      const bn = tfbni.batchNormInferenceLayer({inputShape: [3], Name: 'bn'});
      const model = tf.sequential({layers: [bn, tf.layers.dense({units: 1, kernelInitializer: 'ones'})]});
      const optimizer = tf.train.sgd(0.01);
      model.compile({optimizer, loss: 'meanSquaredError'});
      const target = tf.sum(x, 1, true);
      await model.fit(x, target, {epochs: 1, batchSize: 8, shuffle: false, verbose: 0});
      const before = memory();
      await model.fit(x, target, {epochs: 5, batchSize: 8, shuffle: false, verbose: 0});
      const after = memory();
      const fitted = {mean: Array.from(bn.TrainedMean) as number[], variance: Array.from(bn.TrainedVariance) as number[]};
      tf.dispose([x, target]);
      model.dispose();
      optimizer.dispose();  // its iteration counter
      return {stepOut, nchwStats, fitted, before, after, start, end: memory(), backend: tf.getBackend()};
    }, {s, input, nchw});
    expect(out.backend).toBe('webgl');
    // float32 moments on the GPU (sums of 32 values) then the op: 2^-16 of
    // |gamma| (1 + |xhat|) + |beta| covers them with room (cpu needs 2^-19).
    const ref = trainingForward64(input, [32, 3], 1, s.gamma, s.beta, 1e-3);
    out.stepOut.y.forEach((v, i) => {
      const c = i % 3;
      const scale = Math.abs(s.gamma[c]) * (1 + Math.abs(ref.xhat[i])) + Math.abs(s.beta[c]);
      expect(Math.abs(v - ref.y[i])).toBeLessThanOrEqual(2 ** -16 * scale);
    });
    const data = moments64(input, [32, 3], 1);
    out.stepOut.mean.forEach((m, c) => expect(Math.abs(m - data.mean[c])).toBeLessThanOrEqual(2 ** -16 * (1 + Math.abs(data.mean[c]))));
    out.stepOut.variance.forEach((v, c) => expect(Math.abs(v - data.variance[c])).toBeLessThanOrEqual(2 ** -16 * data.variance[c]));
    const data4 = moments64(nchw, [2, 3, 4, 5], 1);
    out.nchwStats.mean.forEach((m, c) => expect(Math.abs(m - data4.mean[c])).toBeLessThanOrEqual(2 ** -16 * (1 + Math.abs(data4.mean[c]))));
    out.nchwStats.variance.forEach((v, c) => expect(Math.abs(v - data4.variance[c])).toBeLessThanOrEqual(2 ** -16 * data4.variance[c]));
    // 24 steps of decay 0.1 over batches of 8: within 0.3 standard deviations of the data's mean.
    out.fitted.mean.forEach((m, c) => expect(Math.abs(m - data.mean[c])).toBeLessThan(0.3 * Math.sqrt(data.variance[c])));
    out.fitted.variance.forEach((v) => expect(v).not.toBe(1));
    expect(out.after).toEqual(out.before);
    expect(out.end).toEqual(out.start);
  });
});
