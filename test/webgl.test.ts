/**
 * The webgl kernel in real headless Chromium (WebGL on SwiftShader here),
 * loaded as a user loads it: tf.min.js, then dist/tfjs-batchnorm-inference.min.js
 * (test/browser/harness.html, driven through test/browser/harness_webgl.js). The
 * SAME case data as the cpu suite (test/cases/batch_norm_inference.json) is
 * materialized here in Node, sent to the page, and the results are compared
 * here with the float64 reference (test/helpers/reference.ts).
 *
 * Configurations (a fresh page each, flags set before the webgl backend
 * initializes): WebGL2 packed, WebGL2 unpacked, WebGL1 (packed, and unpacked
 * for a subset of the cases), half-float textures (only the cases that fit
 * half floats, tolerance 'webgl-f16'), a 64-texel maximum texture size
 * (tensors laid out "squarified"), and shape uniforms.
 * Each checks:
 *   - the backend really is webgl, with the flags asked for (the GL renderer
 *     is printed);
 *   - every case against the reference, with the statistics on the CPU (the
 *     channel terms are made on the CPU, x is uploaded by the backend) and with
 *     everything already in textures (the terms are made on the GPU; x already has
 *     the output's layout), and that every program variant really ran;
 *   - no leak: tf.memory().numTensors and numBytesInGPU back to where they
 *     were after every case;
 *   - x produced by other ops (reshape, slice, transpose), and the rank limit;
 *   - the gradient through the op on webgl against the cpu backend;
 *   - a new epsilon compiles no new shader program (nor, with shape uniforms,
 *     a new shape of the same rank).
 * A failure names the case and prints its worst mismatches.
 *
 * Run: `npm run build && npx jest test/webgl.test.ts` (npm test builds first);
 * one configuration: add -t 'WebGL1'. Needs Chromium (/usr/bin/chromium or
 * CHROME_PATH); TFBNI_SKIP_BROWSER_TESTS=1 skips it deliberately (see
 * test/helpers/browser.ts).
 */
import type {Page} from 'playwright-core';

import {BatchNormCase, CaseSpec, fitsHalfFloat, loadCases, materialize} from './helpers/cases';
import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';
import {fuzzCases} from './helpers/fuzz';
import {gradientFailures} from './helpers/gpu_gradients';
import {checkTypedInputs, TYPED_INPUT_CASES} from './helpers/int32_inputs';
import {BatchNormData, channelOf, compareWithReference, Mismatch, referenceBatchNorm, roundToHalf, termMagnitude, tolerance, ToleranceProfile, webglOutOfDomain} from './helpers/reference';
import {checkLeaks, checkResults, expectNoFailures, formatMismatches, Memory, RunResult, toPage, worstMismatches} from './helpers/run_case';

const HARNESS = '/test/browser/harness.html';

interface Config {
  name: string;
  flags: Record<string, number|boolean>;
  profile: ToleranceProfile;
  /** Which cases run (all the shared ones by default). */
  cases: BatchNormCase[];
  /** Relative tolerance of the gradient comparison with the cpu backend (0: not checked). */
  gradTolerance: number;
  /** Run the seeded fuzz (test/helpers/fuzz.ts) in this configuration. */
  fuzz?: boolean;
  expect: {webglVersion: number, pack: boolean};
}

const ALL_CASES = loadCases();
const numel = (c: BatchNormCase) => c.shape.reduce((a, b) => a * b, 1);

/**
 * Tensors whose natural texture does not fit a 64x64 texture limit, so tfjs
 * lays them out "squarified": every channel layout ('last', 'rows', 'outer'),
 * a rank-5 tensor, and a [2, C] parameter texture wider than the limit. Sized
 * to fit 64x64 packed texels.
 */
const LARGER_THAN_MAX_TEXTURE: CaseSpec[] = ([
  [[2, 40, 30, 6], -1, ''],
  [[1, 6, 50, 40], 1, ''],
  [[100, 150], 0, ''],
  [[3, 700], -1, ' (params wider than the limit)'],
  [[4, 5, 6, 7, 8], 2, ''],
] as Array<[number[], number, string]>).map(([xShape, axis, note], i) => ({
  name: `over max texture: [${xShape}] axis ${axis}${note}`, xShape, axis, epsilon: 1e-3, seed: 101 + i,
}));
const MAX_TEXTURE_SIZE = 64;
/** What fits into 64x64 texels of 4 values, with room for odd shapes. */
const fitsSmallTextures = (c: BatchNormCase) => numel(c) <= 2 * MAX_TEXTURE_SIZE ** 2;

/**
 * Gradient vs the cpu backend, relative to the largest |gradient| (at least
 * 1): both sides compute in float32 but sum in different orders. Measured on
 * SwiftShader: 2.3e-7 on float32 textures, 5.9e-3 on half floats (the sums'
 * partial results are stored with 11-bit significands).
 */
const F32_GRAD_TOLERANCE = 1e-5;
const F16_GRAD_TOLERANCE = 2e-2;

const CONFIGS: Config[] = [
  {
    name: 'WebGL2, packed (WEBGL_PACK=true, the default)',
    flags: {WEBGL_VERSION: 2, WEBGL_PACK: true},
    profile: 'webgl-f32', cases: ALL_CASES, gradTolerance: F32_GRAD_TOLERANCE,
    fuzz: true,
    expect: {webglVersion: 2, pack: true},
  },
  {
    name: 'WebGL2, unpacked (WEBGL_PACK=false)',
    flags: {WEBGL_VERSION: 2, WEBGL_PACK: false},
    profile: 'webgl-f32', cases: ALL_CASES, gradTolerance: F32_GRAD_TOLERANCE,
    fuzz: true,
    expect: {webglVersion: 2, pack: false},
  },
  {
    name: 'WebGL1 (WEBGL_VERSION=1), packed',
    flags: {WEBGL_VERSION: 1},
    profile: 'webgl-f32', cases: ALL_CASES, gradTolerance: F32_GRAD_TOLERANCE,
    expect: {webglVersion: 1, pack: true},
  },
  {
    name: 'half-float textures (WEBGL_FORCE_F16_TEXTURES=true)',
    flags: {WEBGL_VERSION: 2, WEBGL_FORCE_F16_TEXTURES: true},
    profile: 'webgl-f16', cases: ALL_CASES.filter(fitsHalfFloat), gradTolerance: F16_GRAD_TOLERANCE,
    fuzz: true,
    expect: {webglVersion: 2, pack: true},
  },
  {
    name: `tensors larger than the maximum texture size (WEBGL_MAX_TEXTURE_SIZE=${MAX_TEXTURE_SIZE})`,
    flags: {WEBGL_VERSION: 2, WEBGL_MAX_TEXTURE_SIZE: MAX_TEXTURE_SIZE},
    profile: 'webgl-f32',
    cases: [...LARGER_THAN_MAX_TEXTURE.map(materialize), ...ALL_CASES.filter(fitsSmallTextures)],
    gradTolerance: F32_GRAD_TOLERANCE,
    expect: {webglVersion: 2, pack: true},
  },
  {
    // tfjs's shape uniforms (off by default; rank <= 4 only) must work with
    // the plugin's programs, and then new shapes must not compile new
    // programs. Ranks 2-4 only (5 and 6 have no shape uniforms); the gradient
    // is covered by the other configurations.
    name: 'WebGL2, packed, shape uniforms (WEBGL_USE_SHAPES_UNIFORMS=true)',
    flags: {WEBGL_VERSION: 2, WEBGL_USE_SHAPES_UNIFORMS: true},
    profile: 'webgl-f32',
    cases: ALL_CASES.filter((c) => c.shape.length <= 4 && numel(c) < 1e5),
    gradTolerance: 0,
    expect: {webglVersion: 2, pack: true},
  },
];

/** Cases for the gradient check: every channel layout, ranks 2 to 6. */
const GRAD_CASE_NAMES = [
  'rank 2 shape [3, 4] axis 0',
  'rank 3 shape [2, 3, 5] axis 1',
  'rank 4 shape [2, 3, 4, 5] axis 1',
  'rank 4 shape [2, 3, 4, 5] axis -1',
  'rank 5 shape [2, 3, 2, 3, 4] axis 2',
  'rank 6 shape [2, 2, 3, 2, 2, 3] axis 3',
  'odd spatial sizes [1,3,7,9] axis 1',
  'dense activations [8,257] axis 1 (odd channel count)',
];

/**
 * Issue #9 F: results the folded form x*s + (beta - mean*s) got wrong because
 * a term overflows the texture format while the inputs and the result fit
 * (or the result is exactly an overflow). Each must come out finite (or the
 * exact infinity) and within the format's tolerance, with the statistics on
 * the CPU and in textures alike.
 */
const OVERFLOW_CASES: Record<'f32'|'f16', CaseSpec[]> = {
  f32: [
    {name: 'x = mean = 2e38, gamma 4: exact 0 (x*s and mean*s overflow float32)',
      xShape: [1, 1], epsilon: 1e-3, x: [2e38], gamma: [4], beta: [0], mean: [2e38], variance: [1]},
    {name: 'x = 1e38, mean = 0.5e38, gamma 10: exact +Inf (beta - mean*s overflows)',
      xShape: [1, 1], epsilon: 1e-3, x: [1e38], gamma: [10], beta: [0], mean: [0.5e38], variance: [1]},
    {name: 'x = 3e38, mean = -3e38, gamma 0.1: x - mean overflows, the result does not',
      xShape: [1, 1], epsilon: 1e-3, x: [3e38], gamma: [0.1], beta: [0], mean: [-3e38], variance: [1]},
    {name: 'mixed channels: one overflowing, one ordinary, one with an infinite scale',
      xShape: [2, 3], axis: 1, epsilon: 0.5, x: [2e38, 1.5, 4, -2e38, -0.5, 2],
      gamma: [4, 2, 1], beta: [0, 0.5, 1], mean: [2e38, 1, 2], variance: [1, 0.5, -0.5]},
  ],
  f16: [
    {name: 'x = 700.5, mean = 700, variance 0, epsilon 1e-4: exact 50 (beta - mean*s = -70000 overflows half floats)',
      xShape: [1, 1], epsilon: 1e-4, x: [700.5], gamma: [1], beta: [0], mean: [700], variance: [0]},
    {name: 'x = 60000, mean = -60000, gamma 0.25: x - mean is beyond 65504, the result is not',
      xShape: [1, 1], epsilon: 1e-3, x: [60000], gamma: [0.25], beta: [100], mean: [-60000], variance: [1]},
  ],
};

/**
 * The seeded fuzz: FUZZ_CASES cases (test/helpers/fuzz.ts: ranks 2-6, any
 * axis, NaN, infinities, -0, subnormals, huge values, cancellations, epsilon
 * from 5e-324 to 1e30) per configuration and placement of the statistics.
 * TFBNI_WEBGL_FUZZ=<count> runs a longer one and prints the figures (cases,
 * elements checked, elements outside the domain by reason, worst error in
 * tolerance units). On half floats the inputs are first rounded to half
 * floats. Elements outside the kernel's domain (webglOutOfDomain: subnormals,
 * an unrepresentable scale, a float32-rounded epsilon on the GPU) are skipped.
 */
const FUZZ_SEED = 9;
/**
 * Time allowed for one configuration's pass over the shared cases (or the
 * fuzz): SwiftShader on a loaded 2-core machine compiles a program per shape.
 */
const CASES_TIMEOUT_MS = 600000;
const FUZZ_CASES = Number(process.env.TFBNI_WEBGL_FUZZ ?? 150);

describeInBrowser('BatchNormInference webgl kernel in headless Chromium', () => {
  let session: BrowserSession;

  beforeAll(async () => {
    session = await startBrowser();
  });

  afterAll(async () => {
    await session?.close();
  });

  for (const config of CONFIGS) {
    describe(config.name, () => {
      let page: Page;
      let start: Memory;
      const runs: Record<'cpu'|'gpu', RunResult[]> = {cpu: [], gpu: []};
      const pageCases = config.cases.map((c) => toPage(c));

      beforeAll(async () => {
        page = await session.open(HARNESS);
        const info = await page.evaluate(
            (flags) => (window as any).harness.init(flags), config.flags);
        // One line per configuration: which GL actually ran the kernel.
        process.stdout.write(
            `[webgl] ${config.name}: backend ${info.backend}, WebGL ${info.webglVersion} ` +
            `(${info.glVersion}), renderer "${info.renderer}", WEBGL_PACK ${info.pack}, ` +
            `f16 textures forced ${info.forceF16}, texture precision ${info.textureBits} bits, ` +
            `max texture ${info.maxTextureSize}, shape uniforms ${info.shapeUniforms}\n`);
        start = await page.evaluate(() => (window as any).harness.memory());
      });

      afterAll(async () => {
        await page?.close();
      });

      it('runs on the webgl backend with the requested flags', async () => {
        const info = await page.evaluate(() => (window as any).harness.info());
        expect(info.backend).toBe('webgl');
        expect(info.webglVersion).toBe(config.expect.webglVersion);
        expect(info.pack).toBe(config.expect.pack);
        expect(info.glVersion).toMatch(config.expect.webglVersion === 2 ? /WebGL 2/ : /WebGL 1/);
        const f16 = config.flags.WEBGL_FORCE_F16_TEXTURES === true;
        expect(info.renderFloat32).toBe(!f16);
        expect(info.textureBits).toBe(f16 ? 16 : 32);
      });

      const count = `${config.cases.length} cases`;

      it(`matches the float64 reference on ${count}, statistics on the CPU`, async () => {
        runs.cpu = await page.evaluate(
            ([cases, placement]) => (window as any).harness.run(cases, placement),
            [pageCases, 'cpu'] as const);
        expectNoFailures(
            `(${config.profile})`, checkResults(config.cases, runs.cpu, config.profile));
      }, CASES_TIMEOUT_MS);

      it(`matches the float64 reference on ${count}, everything in textures (GPU channel terms)`, async () => {
        runs.gpu = await page.evaluate(
            ([cases, placement]) => (window as any).harness.run(cases, placement),
            [pageCases, 'gpu'] as const);
        expectNoFailures(
            `(${config.profile})`, checkResults(config.cases, runs.gpu, config.profile));
        // Both packed variants (x read at its own texel, x read through
        // tfjs's sampler) or the unpacked one, and the GPU channel terms program, really ran.
        const variants = await page.evaluate(() => (window as any).harness.variants());
        expect(variants).toEqual({
          packedSameLayout: config.expect.pack,
          packedGeneral: config.expect.pack,
          unpacked: !config.expect.pack,
          gpuTerms: true,
        });
      }, CASES_TIMEOUT_MS);

      it('leaks no tensor and no GPU memory', async () => {
        expect(runs.cpu.length + runs.gpu.length).toBe(2 * config.cases.length);
        expectNoFailures('(leaks)', [...checkLeaks(runs.cpu), ...checkLeaks(runs.gpu)]);
        expect(await page.evaluate(() => (window as any).harness.memory())).toEqual(start);
      });

      it('takes x from other ops (reshape, slice, transpose) and rejects rank 7', async () => {
        const out = await page.evaluate(() => (window as any).harness.derived());
        const failures: string[] = [];
        for (const r of out.results) {
          const rank = r.shape.length;
          const d: BatchNormData = {
            shape: r.shape, axis: r.axis < 0 ? r.axis + rank : r.axis, epsilon: 1e-3, x: r.x,
            gamma: r.params[0], beta: r.params[1], mean: r.params[2], variance: r.params[3],
          };
          if (compareWithReference(r.values, d, config.profile).length > 0) {
            failures.push(
                `${r.name}:\n${formatMismatches(worstMismatches(r.values, d, config.profile))}`);
          }
        }
        expectNoFailures('(x from other ops)', failures);
        expect(out.rank7Error).toMatch(/BatchNormInference \(webgl\): x must have rank 2 to 6/);
        expect(out.after).toEqual(out.before);
      });

      if (config.expect.webglVersion === 1) {
        it('is right unpacked on WebGL1 too (WEBGL_PACK=false set at runtime)', async () => {
          // WEBGL_PACK is read per call, so this page can run the unpacked
          // programs as well: one case per rank and channel layout, and the
          // special values.
          const cases = config.cases.filter((c) =>
              /axis (0|1|-1|3)$/.test(c.name) || /NaN|Infinity|variance|overflow/.test(c.name));
          const failures: string[] = [];
          for (const placement of ['cpu', 'gpu'] as const) {
            const results = await page.evaluate(async ([cs, p]) => {
              const h = (window as any).harness;
              (window as any).tf.env().set('WEBGL_PACK', false);
              try {
                return {results: await h.run(cs, p), variants: h.variants()};
              } finally {
                (window as any).tf.env().set('WEBGL_PACK', true);
              }
            }, [cases.map((c) => toPage(c)), placement] as const);
            failures.push(...checkResults(cases, results.results, config.profile),
                          ...checkLeaks(results.results));
            expect(results.variants.unpacked).toBe(true);
          }
          expectNoFailures('(WebGL1, unpacked)', failures);
        });
      }

      if (config.gradTolerance > 0) {
        it('computes the gradient on webgl like the cpu backend', async () => {
          const cases = config.cases.filter((c) => GRAD_CASE_NAMES.includes(c.name));
          expect(cases.length).toBeGreaterThanOrEqual(4);
          expectNoFailures('(gradient, webgl vs cpu)',
                           await gradientFailures(page, cases, 'webgl', config.gradTolerance));
          expect(await page.evaluate(() => (window as any).harness.memory())).toEqual(start);
        });
      }

      const format = config.profile === 'webgl-f16' ? 'f16' : 'f32';
      for (const spec of OVERFLOW_CASES[format]) {
        it(`no avoidable overflow (#9 F): ${spec.name}`, async () => {
          const c = materialize(spec);
          const failures: string[] = [];
          for (const placement of ['cpu', 'gpu'] as const) {
            const [r] = await page.evaluate(
                ([cs, p]) => (window as any).harness.run(cs, p), [[toPage(c)], placement] as const);
            const expected = referenceBatchNorm(c);
            r.values?.forEach((v: number, i: number) => {
              if (Number.isFinite(Math.fround(expected[i])) && !Number.isFinite(v)) {
                failures.push(`statistics on ${placement}: [${i}] got ${v}, expected ${expected[i]}`);
              }
            });
            failures.push(...checkResults([c], [r], config.profile)
                              .map((f) => `statistics on ${placement}: ${f}`),
                          ...checkLeaks([r]));
          }
          expectNoFailures(`(${config.profile})`, failures);
        });
      }

      it(`#18: reads int32- and bool-backed x and statistics (${TYPED_INPUT_CASES.length} cases)`, async () => {
        const results = await page.evaluate(
            (cs) => (window as any).harness.typedInputs(cs), TYPED_INPUT_CASES);
        expectNoFailures('(typed inputs)', checkTypedInputs(TYPED_INPUT_CASES, results, config.profile));
      });

      it('#18: no cancellation loss: x = 300, mean = 299, variance 1e-6, gamma 2, epsilon 1e-4', async () => {
        // Half floats: the multiply-add x*s + (beta - mean*s) stored
        // beta - mean*s = -59500 as a half float (ulp 32) and gave 212. Every
        // channel now takes the centred form, whose error is relative to the
        // result: x, mean and gamma are exact in half floats; the scale is
        // rounded once into the texture and its variance input once (the
        // statistics on the GPU), the result once more, each within the unit
        // roundoff 2^-11, so 3 * 2^-11 of the result. Float32 textures keep the
        // multiply-add form and its tolerance ('webgl-f32': 4 * 2^-24 of the
        // terms |x*s| + |mean*s| + |beta|, plus an ulp of the result).
        const c = materialize({name: 'cancellation', xShape: [1, 1], epsilon: 1e-4, x: [300],
                               gamma: [2], beta: [0], mean: [299], variance: [1e-6]});
        const expected = referenceBatchNorm(c)[0];
        const allowed = format === 'f16' ? 3 * 2 ** -11 * Math.abs(expected) :
                                           tolerance(config.profile, expected, termMagnitude(c)[0]);
        const failures: string[] = [];
        for (const placement of ['cpu', 'gpu'] as const) {
          const [r] = await page.evaluate(
              ([cs, p]) => (window as any).harness.run(cs, p), [[toPage(c)], placement] as const);
          if (!(Math.abs(r.values?.[0] - expected) <= allowed)) {
            failures.push(`statistics on ${placement}: got ${r.values ?? r.error}, expected ` +
                          `${expected} +- ${allowed.toPrecision(3)}`);
          }
          failures.push(...checkLeaks([r]));
        }
        expectNoFailures(`(cancellation, ${format})`, failures);
      });

      if (config.fuzz) {
        it(`matches the float64 reference on ${FUZZ_CASES} seeded fuzz cases (seed ${FUZZ_SEED})`, async () => {
          const f16 = config.profile === 'webgl-f16';
          const cases = fuzzCases(FUZZ_SEED, FUZZ_CASES).map((f) => {
            const round = (a: number[]) => (f16 ? a.map(roundToHalf) : a);
            return {
              name: `fuzz ${f.id}`, shape: f.shape, axisArg: f.axis, epsilon: f.epsilon,
              x: round(f.x), gamma: round(f.gamma), beta: round(f.beta), mean: round(f.mean),
              variance: round(f.variance),
            };
          });
          const failures: string[] = [];
          const figures: string[] = [];
          for (const placement of ['cpu', 'gpu'] as const) {
            const results: RunResult[] = await page.evaluate(
                ([cs, p]) => (window as any).harness.run(cs, p), [cases, placement] as const);
            let checked = 0;
            let worst = 0;
            const skipped: Record<string, number> = {};
            results.forEach((r, k) => {
              const pc = cases[k];
              const rank = pc.shape.length;
              const d: BatchNormData = {...pc, axis: pc.axisArg < 0 ? pc.axisArg + rank : pc.axisArg};
              if (r.error) {
                failures.push(`${pc.name} (${placement}): threw ${r.error}`);
                return;
              }
              const expected = referenceBatchNorm(d);
              const magnitude = termMagnitude(d);
              const channel = channelOf(d.shape, d.axis);
              const bad: Mismatch[] = [];
              expected.forEach((e, i) => {
                const why = webglOutOfDomain(d, i, f16 ? 'f16' : 'f32', placement === 'gpu');
                if (why != null) {
                  skipped[why] = (skipped[why] ?? 0) + 1;
                  return;
                }
                checked++;
                const one = compareWithReference([r.values![i]], {
                  ...d, shape: [1, 1], axis: 1, x: [d.x[i]],
                  ...Object.fromEntries(['gamma', 'beta', 'mean', 'variance'].map(
                      (n) => [n, [(d as any)[n][channel(i)]]])),
                }, config.profile, [e]);
                if (one.length > 0) {
                  bad.push({...one[0], index: i});
                } else if (Number.isFinite(Math.fround(e)) && Number.isFinite(magnitude[i])) {
                  worst = Math.max(worst, Math.abs(r.values![i] - e) /
                                              tolerance(config.profile, e, magnitude[i]));
                }
              });
              if (bad.length > 0) {
                failures.push(`${pc.name} shape [${pc.shape}] axis ${pc.axisArg} epsilon ` +
                              `${pc.epsilon} (statistics on ${placement}):\n` +
                              formatMismatches(bad.slice(0, 4)));
              }
            });
            failures.push(...checkLeaks(results));
            figures.push(`[webgl fuzz] ${config.name}, statistics on ${placement}: ${cases.length} ` +
                         `cases, ${checked} elements checked, worst ${worst.toFixed(3)} x tolerance ` +
                         `(${config.profile}); outside the domain: ${JSON.stringify(skipped)}`);
          }
          process.stdout.write(figures.join('\n') + '\n');
          expectNoFailures(`(fuzz, ${config.profile})`, failures.slice(0, 20));
        }, CASES_TIMEOUT_MS);
      }

      it('runs ONE program per call while the statistics are unchanged (params cache, #9 E)', async () => {
        const base = config.cases.find(
            (c) => c.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
        const other = materialize({
          name: 'other statistics', xShape: base.shape, axis: -1, epsilon: base.epsilon, seed: 77,
        });
        const before = await page.evaluate(() => (window as any).harness.memory());
        const failures: string[] = [];
        for (const placement of ['cpu', 'gpu'] as const) {
          const out = await page.evaluate(
              ([c, c2, p]) => (window as any).harness.cacheRuns(c, c2, p),
              [toPage(base), toPage(other), placement] as const);
          const runs: Array<{name: string, programs: string[], values: number[]}> = out.runs;
          const own = (r: {programs: string[]}) => r.programs.filter((t) => t !== '-');
          const terms = (r: {programs: string[]}) => own(r).filter((t) => t.startsWith('terms')).length;
          const where = `statistics on ${placement}`;
          // Which statistics each call used, for the reference.
          const stats = [base, base, other, base, base, {...base, gamma: other.gamma}, {...base, gamma: other.gamma}];
          runs.forEach((r, i) => {
            const d = {...base, gamma: stats[i].gamma, beta: stats[i].beta, mean: stats[i].mean,
                       variance: stats[i].variance};
            if (compareWithReference(r.values, d, config.profile).length > 0) {
              failures.push(`${where}, ${r.name}:\n` +
                            formatMismatches(worstMismatches(r.values, d, config.profile)));
            }
            if (own(r).filter((t) => !t.startsWith('terms')).length !== 1) {
              failures.push(`${where}, ${r.name}: ran [${r.programs}], expected one main program`);
            }
          });
          // Unchanged statistics: the main program and nothing else.
          for (const i of [1, 3, 6]) {
            if (runs[i].programs.length !== 1) {
              failures.push(`${where}, ${runs[i].name}: ran [${runs[i].programs}], expected ONE program`);
            }
          }
          // New statistics (new dataIds): terms made again, on the GPU when they live there.
          const expectedTerms = placement === 'gpu' ? [1, 0, 1, 0, 1, 1, 0] : [0, 0, 0, 0, 0, 0, 0];
          const gotTerms = runs.map(terms);
          if (JSON.stringify(gotTerms) !== JSON.stringify(expectedTerms)) {
            failures.push(`${where}: GPU channel terms programs per call ${gotTerms}, expected ${expectedTerms}`);
          }
          expect(runs[1].values).toEqual(runs[0].values);
          // The cached params live as long as the statistics, then go.
          expect(out.alive.numBytesInGPU).toBeGreaterThan(before.numBytesInGPU);
          expect(out.after).toEqual(before);
        }
        expectNoFailures('(params cache)', failures);
      });

      it("passes tfjs's own kernel leak check (IS_TEST): nothing is cached under it", async () => {
        const base = config.cases.find(
            (c) => c.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
        const results: RunResult[] = [];
        for (const placement of ['cpu', 'gpu'] as const) {
          results.push(await page.evaluate(
              ([c, p]) => (window as any).harness.leakCheckedRun(c, p), [toPage(base), placement] as const));
        }
        expectNoFailures('(IS_TEST)', [...checkResults([base, base], results, config.profile),
                                       ...checkLeaks(results)]);
      });

      it('uses new weights after setWeights on a layer, and releases everything with the model', async () => {
        const base = config.cases.find(
            (c) => c.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
        const other = materialize({
          name: 'new weights', xShape: base.shape, axis: -1, epsilon: base.epsilon, seed: 78,
        });
        const before = await page.evaluate(() => (window as any).harness.memory());
        const out = await page.evaluate(
            ([c, c2]) => (window as any).harness.layerRuns(c, c2), [toPage(base), toPage(other)] as const);
        expect(out.names.length).toBe(4);
        const failures: string[] = [];
        const withNew = {...base, gamma: other.gamma, beta: other.beta, mean: other.mean, variance: other.variance};
        for (const [name, values, d] of [['before setWeights', out.first, base],
                                         ['after setWeights', out.second, withNew]] as const) {
          if (compareWithReference(values, d, config.profile).length > 0) {
            failures.push(`${name}:\n${formatMismatches(worstMismatches(values, d, config.profile))}`);
          }
        }
        expectNoFailures('(layer weights)', failures);
        expect(out.after).toEqual(before);
      });

      it('compiles no new shader program for a new epsilon', async () => {
        const base = config.cases.find(
            (c) => c.name === 'channels-last image [2,5,7,16] axis -1, epsilon 1e-5')!;
        const epsilons = [1e-5, 1e-3, 0.5, 7];
        const failures: string[] = [];
        for (const placement of ['cpu', 'gpu'] as const) {
          const runsByEpsilon = await page.evaluate(
              ([c, p, e]) => (window as any).harness.epsilonRuns(c, p, e),
              [toPage(base), placement, epsilons] as const);
          const counts = runsByEpsilon.map((r: {programs: number}) => r.programs);
          if (new Set(counts).size !== 1) {
            failures.push(
                `statistics on ${placement}: program count per epsilon ${epsilons} was ${counts}`);
          }
          runsByEpsilon.forEach((r: {epsilon: number, values: number[]}) => {
            const d = {...base, epsilon: r.epsilon};
            if (compareWithReference(r.values, d, config.profile).length > 0) {
              failures.push(`statistics on ${placement}, epsilon ${r.epsilon}:\n` +
                            formatMismatches(worstMismatches(r.values, d, config.profile)));
            }
          });
        }
        expectNoFailures('(epsilon)', failures);
      });

      if (config.flags.WEBGL_USE_SHAPES_UNIFORMS) {
        it('compiles no new program of the plugin for new shapes of the same rank', async () => {
          const specs: CaseSpec[] =
              [[2, 6, 8, 4], [3, 10, 6, 6], [1, 4, 14, 10], [5, 2, 2, 4]].map((xShape, i) => ({
                name: `shape uniforms [${xShape}] axis -1`, xShape, axis: -1, epsilon: 1e-3,
                seed: 200 + i,
              }));
          const cases = specs.map(materialize);
          const failures: string[] = [];
          for (const placement of ['cpu', 'gpu'] as const) {
            const shapeRuns = await page.evaluate(
                ([cs, p]) => (window as any).harness.shapeRuns(cs, p),
                [cases.map((c) => toPage(c)), placement] as const);
            const counts = shapeRuns.map((r: {own: number}) => r.own);
            if (new Set(counts).size !== 1) {
              failures.push(
                  `statistics on ${placement}: plugin program count per shape was ${counts}`);
            }
            shapeRuns.forEach((r: {values: number[]}, i: number) => {
              if (compareWithReference(r.values, cases[i], config.profile).length > 0) {
                failures.push(`${cases[i].name}:\n` +
                              formatMismatches(worstMismatches(r.values, cases[i], config.profile)));
              }
            });
          }
          expectNoFailures('(shape uniforms)', failures);
        });
      }
    });
  }
});
