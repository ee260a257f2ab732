/*
 * WebGPU benchmark: tfbni.batchNormInference against tf.batchNorm and against
 * an identity-like op of the same size (tf.add(x, 0)), on the webgpu backend
 * of headless Chromium (WebGPU on SwiftShader's Vulkan on a machine without a
 * GPU: relative timings only).
 *
 *   npm run build && node bench/webgpu.js [--json] [--reps N]
 *
 * How it measures (bench/gpu_timing.js): chains of N >= 20 dependent ops, read
 * back once, the readback timed alone and subtracted; contenders warmed up
 * (pipeline compilation, buffer pools) and then sampled round-robin, the
 * order rotating every repetition. Per contender the table gives the median
 * over repetitions (what a user sees) and the minimum (warm); ratios are
 * medians of per-repetition ratios (test/helpers/stats.js), robust to load that
 * changes during the run. Shapes: bench/shapes.js.
 *
 * In a page (after tf.min.js, tf-backend-webgpu.min.js, the plugin,
 * test/helpers/stats.js, bench/shapes.js and bench/gpu_timing.js) this file defines
 * window.tfbniWebgpuBench, the in-page measurement used below.
 */
'use strict';

/**
 * The in-page measurement: uses the page's globals `tf` (webgpu backend
 * active), `tfbni`, `tfbniStats`, `tfbniGpuTiming` and TFBNI_BENCH_SHAPES.
 * options: {rows = TFBNI_BENCH_SHAPES, repeats = 7, minChain = 20,
 *           epsilon = 1e-3, onProgress?: (message) => void}
 */
async function tfbniWebgpuBench(options) {
  const {benchOptions, shapePlan, timeContenders, mediansAndMinimums} = globalThis.tfbniGpuTiming;
  const {rows, repeats, minChain, epsilon, progress} = benchOptions(options, 'webgpu');
  const {medianRatio} = globalThis.tfbniStats;

  const result = {adapter: tf.backend().adapterInfo || null, tfjs: tf.version.tfjs, repeats,
                  rows: []};
  for (const {shape, axis} of rows) {
    const {channels, size, chain, reps, x, xLast, batchNormShape} =
        shapePlan(shape, axis, repeats, minChain);
    const gamma = tf.randomUniform([channels], 0.5, 1.5, 'float32', 2);
    const beta = tf.randomUniform([channels], -0.5, 0.5, 'float32', 3);
    const mean = tf.randomUniform([channels], -0.2, 0.2, 'float32', 4);
    const variance = tf.randomUniform([channels], 0.5, 1.5, 'float32', 5);
    // 'oursTerms' changes epsilon on every call, so the cached terms never
    // match: the channel terms program runs before the main one each time (what a call
    // with new statistics costs; 'ours' is the cached, one-dispatch case).
    let calls = 0;
    const contenders = {
      ours: {op: (t) => tfbni.batchNormInference(t, gamma, beta, mean, variance, {epsilon, axis}), x},
      oursTerms: {op: (t) => tfbni.batchNormInference(
          t, gamma, beta, mean, variance, {epsilon: epsilon * (1 + 1e-6 * (++calls % 1000)), axis}), x},
      // The scalar program (one element per invocation) where the kernel
      // would pick a vec4 variant: what the TFBNI_WEBGPU_VEC4 path gains.
      oursScalar: {op: (t) => tfbni.batchNormInference(t, gamma, beta, mean, variance, {epsilon, axis}),
                   x, flags: {TFBNI_WEBGPU_VEC4: false}},
      batchNorm: {op: (t) => tf.batchNorm(t, mean, variance, beta, gamma, epsilon), x: xLast},
      identity: {op: (t) => tf.add(t, 0), x},
    };
    // The order rotates every repetition (see timeContenders).
    const {perOp, readbackMs} = await timeContenders(
        contenders, {reps, chain, rotate: true, label: `[${shape}] axis ${axis}`, progress});
    tf.dispose([x, xLast, gamma, beta, mean, variance]);
    result.rows.push({shape, axis, size, chain, repeats: reps, readbackMs: readbackMs.get(x),
                      batchNormShape, samples: perOp,
                      batchNormOverOurs: medianRatio(perOp.batchNorm, perOp.ours),
                      termsOverOurs: medianRatio(perOp.oursTerms, perOp.ours),
                      scalarOverOurs: medianRatio(perOp.oursScalar, perOp.ours),
                      oursOverIdentity: medianRatio(perOp.ours, perOp.identity),
                      ...mediansAndMinimums(perOp)});
  }
  return result;
}

/** The table printed by `node bench/webgpu.js` (and bench/run.js). */
function formatWebgpuTable(result) {
  const {markdownTable} = typeof require === 'function' ? require('./gpu_timing.js') : globalThis.tfbniGpuTiming;
  const a = result.adapter || {};
  const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unknown';
  const software = /swiftshader/i.test(adapter);
  const lines = [];
  lines.push(`WebGPU adapter: ${adapter}, tfjs ${result.tfjs}` +
             (software ? ' - software (SwiftShader): relative timings meaningful, absolute GPU numbers not' : ''));
  lines.push(`Per op: chains of N dependent ops, one readback (timed alone and subtracted); ` +
             `median (min) of ${result.repeats} repetitions (${2 * result.repeats} for tensors of ` +
             `<= 1e5 elements) after warm-up; ratios are medians of per-repetition ratios.`);
  lines.push('');
  const header = ['shape', 'axis', 'N', 'ours ms/op (min)', 'ns/el', 'ours, terms each call',
                  'ours, scalar program', 'tf.batchNorm ms/op (min)', 'tf.add(x,0) ms/op (min)',
                  'batchNorm/ours', 'terms/ours', 'scalar/ours', 'ours/identity'];
  const ms = (r, name) => `${r[name].toFixed(3)} (${r[`${name}Min`].toFixed(3)})`;
  const body = result.rows.map((r) => {
    const note = r.batchNormShape.join() === r.shape.join() ? '' : ' (a)';
    return [`[${r.shape.join(',')}]`, String(r.axis), String(r.chain), ms(r, 'ours'),
            (r.ours * 1e6 / r.size).toFixed(2), ms(r, 'oursTerms'), ms(r, 'oursScalar'),
            ms(r, 'batchNorm') + note, ms(r, 'identity'), r.batchNormOverOurs.toFixed(2) + 'x',
            r.termsOverOurs.toFixed(2) + 'x', r.scalarOverOurs.toFixed(2) + 'x',
            r.oursOverIdentity.toFixed(2) + 'x'];
  });
  lines.push(...markdownTable(header, body));
  lines.push('');
  lines.push('(a) tf.batchNorm normalizes along the last axis only; for non-last axes it is ' +
             'timed on the same number of elements in channels-last layout.');
  lines.push('ours = tfbni.batchNormInference with unchanged statistics (cached terms: one ' +
             'dispatch per call); ours, terms each call = a new epsilon every call (channel terms + main ' +
             'program); ours, scalar program = TFBNI_WEBGPU_VEC4 false (one element per ' +
             'invocation instead of four); identity = tf.add(x, 0); ns/el = nanoseconds per ' +
             'element (median).');
  return lines.join('\n');
}

/**
 * Node side: serves the package root, launches the system's Chromium with
 * WebGPU (tools/chromium.js's WEBGPU_FLAGS), opens
 * test/browser/harness.html?backend=webgpu (tf.min.js, the webgpu backend,
 * the plugin, test/helpers/stats.js), adds bench/shapes.js, bench/gpu_timing.js and
 * this file, and runs tfbniWebgpuBench there.
 * options: {repeats = 7, rows = BENCH_SHAPES, onProgress?: (message) => void}
 */
async function runWebgpuBench(options) {
  const {runInBenchPage} = require('./gpu_timing.js');
  const {WEBGPU_FLAGS} = require('../tools/chromium.js');
  const {BENCH_SHAPES} = require('./shapes.js');
  const opts = Object.assign({repeats: 7, onProgress: null}, options);
  // WebGPU needs a page served over http://127.0.0.1 (a secure context).
  return runInBenchPage({
    pathname: '/test/browser/harness.html?backend=webgpu', bundle: 'tfjs-batchnorm-inference.js',
    scripts: ['/bench/shapes.js', '/bench/gpu_timing.js', '/bench/webgpu.js'],
    extraFlags: WEBGPU_FLAGS, onProgress: opts.onProgress,
  }, async ({repeats, rows, progress}) => {
    if (!(await tf.setBackend('webgpu'))) {
      throw new Error('the webgpu backend did not initialize (is WebGPU available? see ' +
                      'WEBGPU_FLAGS in test/helpers/browser.ts)');
    }
    const onProgress = progress ? (m) => window.tfbniBenchProgress(m) : undefined;
    return window.tfbniWebgpuBench({repeats, rows, onProgress});
  }, {repeats: opts.repeats, rows: opts.rows || BENCH_SHAPES});
}

if (typeof window !== 'undefined') {
  window.tfbniWebgpuBench = tfbniWebgpuBench;
}
if (typeof module !== 'undefined' && module.exports) {
  module.exports = {tfbniWebgpuBench, runWebgpuBench, formatWebgpuTable};
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  require('./gpu_timing.js').benchMain('webgpu', runWebgpuBench, formatWebgpuTable);
}
