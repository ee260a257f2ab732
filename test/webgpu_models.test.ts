/**
 * The model tools on the real webgpu backend (headless Chromium, WebGPU on
 * SwiftShader, page served from http://127.0.0.1): a model built on webgpu
 * whose weights live in GPU buffers is folded and converted with
 * foldBatchNormalizationAsync / replaceBatchNormalizationAsync, predicts what
 * the original predicts, and leaves tf.memory() (tensors and GPU bytes) where
 * it was; the synchronous tools refuse with a pointer to the async ones
 * before reading anything (a synchronous read of GPU data returns wrong
 * values on this device and breaks it); a BatchNormInference layer takes
 * GPU-resident weights through setWeights.
 *
 * Tolerance: as test/fold.test.ts, 1e-4 of max|y| (float32 sums of products in
 * another order); replace computes the same formula, so the same bound holds.
 */
import type {Page} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser, WEBGPU_FLAGS} from './helpers/browser';

/** The harness page with the webgpu backend loaded; the models come from the bench's builders. */
const PAGE = '/test/browser/harness.html?backend=webgpu';
const SCRIPTS = ['/bench/model_builders.js'];

interface PageResult {
  backend: string;
  syncErrors: string[];
  report: {folded: unknown[], fusedActivations: unknown[], left: unknown[]};
  outputs: Record<'stock'|'fold'|'foldStock'|'replace'|'layer', number[]>;
  layerExpected: number[];
  before: {numTensors: number, numBytesInGPU: number};
  after: {numTensors: number, numBytesInGPU: number};
  deviceAlive: number;
}

/** Runs in the page: everything on webgpu, weights made by GPU programs. */
async function runInPage(): Promise<PageResult> {
  const w = window as any;
  const tf = w.tf;
  const tfbni = w.tfbni;
  const B = w.tfbniModels;
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialize');
  const memory = () => {
    const m = tf.memory();
    return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
  };
  const before = memory();
  const model = B.randomizeWeights(tf, B.mobileNetV2(tf, {size: 32, classes: 10}), 3);
  // Put every weight in a GPU buffer (the output of a GPU program), as
  // training or a GPU initializer leaves them.
  const onGpu = model.getWeights().map((t: any) => tf.add(t, 0));
  model.setWeights(onGpu);
  tf.dispose(onGpu);
  const syncErrors = [];
  for (const tool of ['foldBatchNormalization', 'replaceBatchNormalization']) {
    try {
      tfbni[tool](model);
      syncErrors.push('no error');
    } catch (e) {
      syncErrors.push((e as Error).message);
    }
  }
  const folded = await tfbni.foldBatchNormalizationAsync(model);
  const foldStock = await tfbni.foldBatchNormalizationAsync(model, {stockLayersOnly: true});
  const replaced = (await tfbni.replaceBatchNormalizationAsync(model)).model;
  const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 11);
  const read = async (m: any) => {
    const y = m.predict(x);
    const v = Array.from(await y.data()) as number[];
    y.dispose();
    return v;
  };
  const outputs: any = {
    stock: await read(model), fold: await read(folded.model), foldStock: await read(foldStock.model),
    replace: await read(replaced),
  };
  // A BatchNormInference layer given GPU-resident statistics through setWeights.
  const layer = tfbni.batchNormInferenceLayer({Epsilon: 1e-3});
  const xl = tf.randomUniform([1, 4, 4, 6], -1, 1, 'float32', 12);
  layer.apply(xl).dispose();
  const stats = tf.tidy(() => [1.5, -0.25, 0.125, 2].map((v) => tf.add(tf.zeros([6]), v)));
  layer.setWeights(stats);
  const yl = layer.apply(xl);
  outputs.layer = Array.from(await yl.data());
  const expected = tf.tidy(() => tf.add(tf.mul(tf.sub(xl, 0.125), 1.5 / Math.sqrt(2 + 1e-3)), -0.25));
  const layerExpected = Array.from(await expected.data()) as number[];
  tf.dispose([...stats, yl, xl, x, expected]);
  layer.dispose();
  const report = folded.report;
  for (const m of [model, folded.model, foldStock.model, replaced]) m.dispose();
  const after = memory();
  const alive = tf.add(tf.scalar(2), 1);
  const deviceAlive = (await alive.data())[0];
  alive.dispose();
  return {backend: tf.getBackend(), syncErrors, report, outputs, layerExpected, before, after, deviceAlive};
}

/** max |a - b| over max |b|. */
function relativeDifference(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  let worst = 0;
  b.forEach((v, i) => {
    scale = Math.max(scale, Math.abs(v));
    worst = Math.max(worst, Math.abs(a[i] - v));
  });
  expect(scale).toBeGreaterThan(0);
  return worst / scale;
}

describeInBrowser('the model tools on the webgpu backend in headless Chromium', () => {
  let session: BrowserSession;
  let page: Page;
  let result: PageResult;

  beforeAll(async () => {
    session = await startBrowser({extraFlags: WEBGPU_FLAGS});
    page = await session.open(PAGE);
    for (const src of SCRIPTS) await page.addScriptTag({url: session.baseUrl + src});
    result = await page.evaluate(runInPage);
  });

  afterAll(async () => {
    await session?.close();
  });

  it('runs on webgpu, and the device still works afterwards', () => {
    expect(result.backend).toBe('webgpu');
    expect(result.deviceAlive).toBe(3);
  });

  it('the synchronous tools refuse before reading anything, naming the async ones', () => {
    expect(result.syncErrors).toEqual(['foldBatchNormalization', 'replaceBatchNormalization'].map((tool) =>
      `Error in ${tool}: reads the model's weights, which the webgpu backend cannot do synchronously ` +
      `(its synchronous read is slow and on some devices wrong); use \`await ${tool}Async(model)\` on webgpu.`));
  });

  it('foldBatchNormalizationAsync folds every batch norm and predicts what the model predicts', () => {
    expect(result.report.folded.length).toBe(52);
    expect(result.report.fusedActivations.length).toBe(35);
    expect(result.report.left).toEqual([]);
    expect(relativeDifference(result.outputs.fold, result.outputs.stock)).toBeLessThanOrEqual(1e-4);
    expect(relativeDifference(result.outputs.foldStock, result.outputs.stock)).toBeLessThanOrEqual(1e-4);
  });

  it('replaceBatchNormalizationAsync predicts what the model predicts', () => {
    expect(relativeDifference(result.outputs.replace, result.outputs.stock)).toBeLessThanOrEqual(1e-4);
  });

  it('a BatchNormInference layer takes GPU-resident statistics through setWeights', () => {
    expect(relativeDifference(result.outputs.layer, result.layerExpected)).toBeLessThanOrEqual(1e-6);
  });

  it('leaves tf.memory() (tensors and GPU bytes) where it was', () => {
    expect(result.after).toEqual(result.before);
  });
});
