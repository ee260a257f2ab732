/**
 * The webgpu kernel in real headless Chromium (WebGPU on Dawn + SwiftShader
 * Vulkan here: no GPU needed), loaded as a user loads it: tf.min.js, the
 * webgpu backend's tf-backend-webgpu.min.js, then dist/tfjs-batchnorm-inference.js
 * (test/browser/harness.html?backend=webgpu, driven through harness_webgpu.js).
 * The SAME case data as every backend (test/cases/batch_norm_inference.json)
 * is materialized in Node, sent to the page, and the results are compared here
 * with the float64 reference (test/helpers/reference.ts).
 *
 * Checks: the backend really is webgpu (the adapter is printed); every case,
 * with inputs on the CPU and already in GPU buffers; the float32
 * reproductions (no overflow in the folded form, none in x - mean for each
 * program variant, no cancellation); a dispatch larger than 65535
 * workgroups; the kernel's error messages through engine().runKernel; no leak
 * (tf.memory().numTensors and numBytesInGPU); the gradient and a layer model
 * against the cpu backend; a new epsilon, shape or rank compiles no new
 * pipeline.
 *
 * Tolerance: profile 'webgl-f32' (float32 storage and arithmetic; defined in
 * test/helpers/reference.ts): one ulp of the result plus 4 * 2^-24 of
 * |x*s| + |mean*s| + |beta| (s = gamma / sqrt(variance + epsilon)). The
 * shader evaluates (x - mean) * s + beta in float32 with s computed per
 * invocation from float32 gamma, variance and epsilon (a uniform). With
 * correctly rounded sqrt and division (SwiftShader, IEEE hardware) s carries
 * at most ~3 roundings (the sqrt halves its argument's), x - mean one (none
 * when x and mean are within a factor of two), the product one, the sum one
 * of the result: <= 5 * 2^-24 |(x - mean) * s| + 2^-24 |y|, and
 * |(x - mean) * s| <= |x*s| + |mean*s|. The allowance covers that unless all
 * roundings are maximal and aligned; the measured worst over the shared cases
 * is printed. WGSL permits 2.5 ulp for division and 2 ulp for inverseSqrt
 * (sqrt inherits it), so a GPU with those minimal guarantees could exceed the
 * allowance by a few 2^-24 of |(x - mean) * s|; the suite runs on SwiftShader.
 *
 * Run: `npm run build && npx jest test/webgpu.test.ts`. Needs Chromium
 * (/usr/bin/chromium or CHROME_PATH) with WebGPU (see WEBGPU_FLAGS in
 * test/helpers/browser.ts) and @tensorflow/tfjs-backend-webgpu installed;
 * without them the suite FAILS saying so. TFBNI_SKIP_BROWSER_TESTS=1 skips it
 * deliberately.
 */
import * as fs from 'fs';
import * as path from 'path';
import type {Page} from 'playwright-core';

import {WEBGPU_VEC4_FLAG} from '../kernels/flags';
import {BatchNormCase, loadCases, prng} from './helpers/cases';
import {gradientFailures} from './helpers/gpu_gradients';
import {checkTypedInputs, INT32_REPRO, TYPED_INPUT_CASES} from './helpers/int32_inputs';
import {BrowserSession, describeInBrowser, SKIP_ENV, startBrowser, WEBGPU_FLAGS} from './helpers/browser';
import {BatchNormData, compareWithReference, referenceBatchNorm, termMagnitude, tolerance, ulp32} from './helpers/reference';
import {checkLeaks, checkResults, expectNoFailures, formatMismatches, Memory, RunResult, toPage} from './helpers/run_case';

const HARNESS = '/test/browser/harness.html?backend=webgpu';

const PROFILE = 'webgl-f32';
const ROOT = path.resolve(__dirname, '..');

/** What to install or pass when the page has no working WebGPU backend. */
function webgpuMissingMessage(info: unknown): string {
  return `WebGPU is not available to tfjs in headless Chromium (page reported ` +
      `${JSON.stringify(info)}). The webgpu suite needs Chromium started with ` +
      `${WEBGPU_FLAGS.join(' ')} (test/helpers/browser.ts passes them; they need a Chromium ` +
      `with Dawn and SwiftShader's Vulkan, as Debian's chromium package has), a page served from ` +
      `http://127.0.0.1, and the package @tensorflow/tfjs-backend-webgpu installed ` +
      `(node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js). ` +
      `To skip the browser suites deliberately, set ${SKIP_ENV}=1.`;
}

const ALL_CASES = loadCases();

/** Gradient cases: every layout variant of the kernel, ranks 2 to 6. */
const GRAD_CASE_NAMES = [
  'rank 2 shape [3, 4] axis 0',
  'rank 3 shape [2, 3, 5] axis 1',
  'rank 4 shape [2, 3, 4, 5] axis -1',
  'rank 5 shape [2, 3, 2, 3, 4] axis 2',
  'rank 6 shape [2, 2, 3, 2, 2, 3] axis 3',
  'channels-last image [2,5,7,16] axis -1, epsilon 1e-5',
  'odd spatial sizes [1,3,7,9] axis 1',
];

/** The largest |error| / allowance over the finite elements (reported, not asserted). */
function worstRatio(actual: ArrayLike<number>, d: BatchNormData): number {
  const ref = referenceBatchNorm(d);
  const magnitude = termMagnitude(d);
  let worst = 0;
  ref.forEach((e, i) => {
    if (Number.isFinite(Math.fround(e)) && Number.isFinite(magnitude[i])) {
      worst = Math.max(worst, Math.abs(actual[i] - e) / tolerance(PROFILE, e, magnitude[i]));
    }
  });
  return worst;
}

describeInBrowser('BatchNormInference webgpu kernel in headless Chromium', () => {
  let session: BrowserSession;
  let page: Page;
  let start: Memory;

  beforeAll(async () => {
    const bundle = path.join(ROOT, 'dist', 'tfjs-batchnorm-inference.js');
    if (!fs.existsSync(bundle)) {
      throw new Error(`The browser bundle ${bundle} is missing: run 'npm run build' first.`);
    }
    session = await startBrowser({extraFlags: WEBGPU_FLAGS});
    page = await session.open(HARNESS);
    const info = await page.evaluate(() => (window as any).harness.init());
    if (info.backend !== 'webgpu' || !info.hasKernel) throw new Error(webgpuMissingMessage(info));
    process.stdout.write(`[webgpu] backend ${info.backend}, adapter ${JSON.stringify(info.adapter)}, ` +
                         `tfjs ${info.tfjs}, plugin ${info.plugin}\n`);
    start = await page.evaluate(() => (window as any).harness.memory());
  });

  afterAll(async () => {
    await session?.close();
  });

  const worst: Record<string, number> = {};
  afterAll(() => {
    process.stdout.write(`[webgpu] worst error over the shared cases, as a fraction of the ` +
                         `'${PROFILE}' allowance: ${JSON.stringify(worst)}\n`);
  });

  const RUNS = [
    {name: 'inputs with CPU values', placement: 'cpu', vec4: true},
    {name: 'inputs already in GPU buffers', placement: 'gpu', vec4: true},
    {name: `the scalar program only (${WEBGPU_VEC4_FLAG}=false)`, placement: 'cpu', vec4: false},
  ] as const;
  for (const {name, placement, vec4} of RUNS) {
    it(`matches the float64 reference on ${ALL_CASES.length} cases, ${name}, leaking nothing`,
       async () => {
         const out = await page.evaluate(
             ([cases, p, flags]) => (window as any).harness.run(cases, p, flags),
             [ALL_CASES.map((c) => toPage(c)), placement, {[WEBGPU_VEC4_FLAG]: vec4}] as const);
         expectNoFailures(`(${PROFILE}, ${name})`, [...checkResults(ALL_CASES, out.results, PROFILE),
                                                     ...checkLeaks(out.results)]);
         worst[name] = Math.max(...out.results.map(
             (r: RunResult, i: number) => worstRatio(r.values!, ALL_CASES[i])));
         expect(out.variants).toEqual(vec4 ? ['inner4', 'last4', 'scalar'] : ['scalar']);
         // Every rank (2 to 6) and axis of the cases shares the pipelines of
         // the three variants (the binding ranks are all 1), each compiled
         // at most twice (tfjs's key also notes whether params has x's shape).
         expect(out.pipelines.length).toBeLessThanOrEqual(6);
       });
  }

  it('does not overflow where the result does not: x = mean = 2e38 gives 0', async () => {
    const repro = {name: '2e38', shape: [1, 1], x: [2e38], gamma: [4], beta: [0], mean: [2e38],
                   variance: [1], epsilon: 1e-3};
    const out = await page.evaluate((cs) => (window as any).harness.run(cs, 'cpu'), [repro]);
    expect(out.results[0].values).toEqual([0]);
    expect(out.results[0].after).toEqual(out.results[0].before);
  });

  // Channels: the report's repro (true result ~6e37), its mirror, beta
  // cancelling an overflowing (x - mean) * s (true result ~1e38), and a
  // result that truly overflows (must be exactly +-Infinity). Each x row adds
  // infinities, NaN, zero and a subnormal, which must follow the formula.
  const OVERFLOW_STATS = {gamma: [0.1, 0.1, 1, 1], beta: [0, 0, -3e38, 0],
                          mean: [-3e38, 3e38, -1e38, -3e38], variance: [1, 1, 1, 1]};
  const OVERFLOW_X = [3e38, -3e38, Infinity, -Infinity, NaN, 0, 1e-45, -2e38];
  function overflowCase(variant: string): BatchNormCase {
    // last4 / scalar: [8, 4], channels last; inner4: [1, 4, 8], channel axis 1.
    const channelsLast = variant !== 'inner4';
    const shape = channelsLast ? [OVERFLOW_X.length, 4] : [1, 4, OVERFLOW_X.length];
    const x = new Float32Array(4 * OVERFLOW_X.length);
    OVERFLOW_X.forEach((v, i) => {
      for (let c = 0; c < 4; c++) x[channelsLast ? i * 4 + c : c * OVERFLOW_X.length + i] = v;
    });
    const f = (a: number[]) => new Float32Array(a);
    return {name: `overflow ${variant}`, shape, axis: 1, axisArg: 1, epsilon: 1e-3, x,
            gamma: f(OVERFLOW_STATS.gamma), beta: f(OVERFLOW_STATS.beta),
            mean: f(OVERFLOW_STATS.mean), variance: f(OVERFLOW_STATS.variance)};
  }
  for (const variant of ['scalar', 'last4', 'inner4']) {
    it(`#18: no overflow in x - mean: x = 3e38, mean = -3e38, gamma 0.1 (${variant} program)`,
       async () => {
         const c = overflowCase(variant);
         const out = await page.evaluate(
             ([cs, flags]) => (window as any).harness.run(cs, 'cpu', flags),
             [[toPage(c)], {[WEBGPU_VEC4_FLAG]: variant !== 'scalar'}] as const);
         expect(out.variants).toEqual([variant]);
         // The repro itself, in words: ~6e37, not Infinity.
         const repro = referenceBatchNorm(c)[0];
         expect(Math.abs(out.results[0].values[0] - repro)).toBeLessThanOrEqual(1e-6 * repro);
         expectNoFailures(`(${PROFILE}, overflow, ${variant})`,
                          [...checkResults([c], out.results, PROFILE), ...checkLeaks(out.results)]);
       });
  }

  it('keeps x - mean exact: x = 700.5, mean = 700, scale 100 gives 50', async () => {
    const repro = {name: '700.5', shape: [1, 1], x: [700.5], gamma: [1], beta: [0], mean: [700],
                   variance: [0], epsilon: 1e-4};
    const out = await page.evaluate((cs) => (window as any).harness.run(cs, 'cpu'), [repro]);
    // The folded x*s + (beta - mean*s) = 70050 - 70000 would be off by up to
    // an ulp of 70050 (~0.008); the centred form is within ulps of 50.
    expect(Math.abs(out.results[0].values[0] - 50)).toBeLessThanOrEqual(2 * ulp32(50));
  });

  it('#18: reads an int32 x as numbers, not stale memory: int32 [1..6] after a 777 fill', async () => {
    const [r] = await page.evaluate((cs) => (window as any).harness.typedInputs(cs), [INT32_REPRO]);
    expect(r.values).not.toContain(777);
    expectNoFailures('(int32 x)', checkTypedInputs([INT32_REPRO], [r], PROFILE));
  });

  it(`#18: reads int32- and bool-backed x and statistics (${TYPED_INPUT_CASES.length} cases, ` +
     'every program variant, CPU values and GPU buffers)', async () => {
    const results = await page.evaluate(
        (cs) => (window as any).harness.typedInputs(cs), TYPED_INPUT_CASES);
    expectNoFailures('(typed inputs)', checkTypedInputs(TYPED_INPUT_CASES, results, PROFILE));
  });

  it('#18: runs a layer model on an int32 image from tf.browser.fromPixels', async () => {
    const out = await page.evaluate(() => (window as any).harness.fromPixelsModel());
    expect(out.dtype).toBe('int32');
    const s = out.stats;
    const d: BatchNormData = {shape: out.shape, axis: 3, epsilon: 1e-3, x: out.rgb, gamma: s.Scale,
                              beta: s.Offset, mean: s.TrainedMean, variance: s.TrainedVariance};
    expect(formatMismatches(compareWithReference(out.values, d, PROFILE))).toBe('');
    expect(out.after).toEqual(out.before);
  });

  it('#18: a shader that fails to compile makes the next call throw, naming the shader', async () => {
    const out = await page.evaluate(() => (window as any).harness.brokenShader());
    expect(out.restored).toBe(true);
    expect(out.message).toMatch(
        /^Error in BatchNormInference \(webgpu\): the shader batchNormInferenceChannelTerms for inputs of dtypes bool, float32, float32, float32 failed to compile or validate: /);
    expect(out.afterSecond).toEqual(out.beforeSecond);
    expect(out.after).toEqual(out.before);
  });

  it('runs a dispatch of more than 65535 workgroups (x of 4.3M elements, axis 1)', async () => {
    const shape = [1, 3, 1433335];
    const stats = [[1.5, -2, 0.5], [0.25, -1, 3], [-0.5, 2, 1], [0.5, 2, 0.01]];
    const size = shape.reduce((a, b) => a * b, 1);
    const random = prng(5);
    const indices = [0, 1, 2, size - 1, size - 2, ...Array.from(
        {length: 2000}, () => Math.floor(random() * size))];
    const out = await page.evaluate(
        ([s, st, idx]) => (window as any).harness.large(s, 1, st, 1e-3, idx),
        [shape, stats, indices] as const);
    const x = new Float32Array(size);
    for (let i = 0; i < size; i++) x[i] = ((i * 7919) % 2001 - 1000) / 100;
    const d: BatchNormData = {shape, axis: 1, epsilon: 1e-3, x, gamma: stats[0], beta: stats[1],
                              mean: stats[2], variance: stats[3]};
    const ref = referenceBatchNorm(d);
    const magnitude = termMagnitude(d);
    const bad = indices.filter((i, k) =>
        !(Math.abs(out.values[k] - ref[i]) <= tolerance(PROFILE, ref[i], magnitude[i])));
    expect(bad.slice(0, 5).map((i) => [i, out.values[indices.indexOf(i)], ref[i]])).toEqual([]);
    expect(out.after).toEqual(out.before);
  });

  it('runs ONE dispatch per call while the statistics are unchanged; frees the cache with them',
     async () => {
       const c = ALL_CASES.find((k) => k.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
       const out = await page.evaluate(
           ([pc]) => (window as any).harness.dispatchCounts(pc, 3), [toPage(c)] as const);
       expect(out.restored).toBe(true);
       expect(out.counts).toEqual([2, 1, 1]);  // channel terms + main, then main only
       // x, the statistics and the cached params while they live ...
       expect(out.cached.numTensors).toBe(out.before.numTensors + 5);
       expect(out.cached.numBytesInGPU).toBe(
           out.before.numBytesInGPU + 4 * (c.x.length + 4 * 16) + 4 * 3 * 16);
       // ... and nothing once they are disposed.
       expect(out.after).toEqual(out.before);
     });

  it("passes tfjs's own kernel leak check (IS_TEST): nothing is cached under it", async () => {
    const base = ALL_CASES.find((c) => c.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
    const results: RunResult[] = [];
    for (const placement of ['cpu', 'gpu'] as const) {
      results.push(await page.evaluate(
          ([c, p]) => (window as any).harness.leakCheckedRun(c, p), [toPage(base), placement] as const));
    }
    expectNoFailures('(IS_TEST)', [...checkResults([base, base], results, PROFILE),
                                   ...checkLeaks(results)]);
  });

  it('checks its inputs when run directly (engine().runKernel), leaking nothing', async () => {
    const out = await page.evaluate(() => (window as any).harness.kernelErrors());
    const who = 'Error in BatchNormInference (webgpu):';
    expect(out.messages).toEqual({
      missingVariance: `${who} inputs x, gamma, beta, mean, variance are required, but variance is missing.`,
      epsilonZero: `${who} attr epsilon must be a finite number > 0, but got 0.`,
      axisTooLarge: `${who} attr axis must be an integer in [-3, 2] for x of rank 3, but got 3.`,
      gammaTooShort: `${who} gamma must be a rank-1 tensor of length 3 (x.shape[1]), but got shape [2].`,
      intX: `${who} x must have dtype float32, but got int32.`,
      rank1X: `${who} x must have rank >= 2 (a batch axis and a channel axis at least), but got ` +
              `rank 1 (shape [3]).`,
    });
    expect(out.after).toEqual(out.before);
  });

  it('computes the gradient on webgpu like the cpu backend', async () => {
    const cases = ALL_CASES.filter((c) => GRAD_CASE_NAMES.includes(c.name));
    expect(cases.length).toBe(GRAD_CASE_NAMES.length);
    expectNoFailures('(gradient, webgpu vs cpu)', await gradientFailures(page, cases, 'webgpu', 1e-5));
  });

  it('runs a layer model (channels-last and axis 1) that predicts what it predicts on cpu',
     async () => {
       const result = await page.evaluate(() => (window as any).harness.layerModel());
       expect(result.backendDuring).toBe('webgpu');
       expect(result.after).toEqual(result.before);
       // Weights unchanged since the first call: each layer runs one program, no channel terms.
       expect(result.ownPrograms).toEqual(['batchNormInference_last4', 'batchNormInference_inner4']);
       expect(result.webgpu.length).toBe(2 * 6 * 6 * 8);
       // conv2d sums in a different order on each backend; the layers scale
       // that difference by |gamma| / sqrt(variance + epsilon) <= ~6.
       const off = result.webgpu.map((v: number, i: number) =>
           Math.abs(v - result.cpu[i]) / Math.max(1, Math.abs(result.cpu[i])));
       expect(Math.max(...off)).toBeLessThanOrEqual(1e-4);
     });

  it('compiles no new pipeline for a new epsilon', async () => {
    const base = ALL_CASES.find((c) => c.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
    const epsilons = [1e-5, 1e-3, 0.5, 7];
    const runs = await page.evaluate(
        ([c, e]) => (window as any).harness.epsilonRuns(c, e), [toPage(base), epsilons] as const);
    expect(runs.map((r: {pipelines: number}) => r.pipelines))
        .toEqual(epsilons.map(() => runs[0].pipelines));
    const failures: string[] = [];
    runs.forEach((r: {epsilon: number, values: number[]}) => {
      const bad = compareWithReference(r.values, {...base, epsilon: r.epsilon}, PROFILE);
      if (bad.length > 0) failures.push(`epsilon ${r.epsilon}:\n${formatMismatches(bad)}`);
    });
    expectNoFailures('(epsilon)', failures);
  });

  it('leaves tf.memory() where it started', async () => {
    expect(await page.evaluate(() => (window as any).harness.memory())).toEqual(start);
  });
});
