/*
 * WebGL benchmark: tfbni.batchNormInference against tf.batchNorm and against
 * an identity-like op of the same size (tf.add(x, 0)), on the webgl backend of
 * headless Chromium (software WebGL, SwiftShader, on a machine without a GPU).
 *
 *   npm run build && node bench/webgl.js [--json] [--reps N] [--stats tensors,arrays,gpu]
 *
 * Shapes: bench/shapes.js (the one list); median/minimum: test/helpers/stats.js; the
 * timing itself: bench/gpu_timing.js. All are UMD files, loaded into the bench
 * page as plain scripts.
 *
 * Statistics, for both ops (--stats picks; default tensors,arrays):
 *   tensors  tensors created once with their values on the CPU (a layer's
 *            loaded weights): tf.batchNorm uploads them on its first call and
 *            keeps them GPU-resident; ours computes its channel terms once, caches them
 *            (one GPU pass per call);
 *   arrays   plain Float32Arrays passed on every call (new tensors per call:
 *            both ops upload, ours also computes its terms, every call);
 *   gpu      tensors living in textures (produced by a GPU op, as after
 *            training): ours computes its terms on the GPU once (a second, tiny
 *            program on the first call only).
 *
 * How it measures (bench/gpu_timing.js): chains of N >= 20 dependent ops, read
 * back once, the readback timed alone and subtracted; each contender warmed up
 * (shader compilation, texture allocation, the params cache) and then sampled
 * round-robin. Times are medians (user-visible) and minimums (warm) over the
 * repetitions (twice as many for small tensors), and the ratios are medians of
 * the per-repetition ratios (robust to load that changes during the run).
 *
 * This file is also loadable in a page (after tf.min.js, the plugin,
 * bench/shapes.js, test/helpers/stats.js and bench/gpu_timing.js): it then defines
 * window.tfbniWebglBench.
 */
'use strict';

const STATISTICS = ['tensors', 'arrays', 'gpu'];

/**
 * The in-page measurement, run as window.tfbniWebglBench: uses the page's
 * globals `tf` (webgl backend active), `tfbni`, TFBNI_BENCH_SHAPES,
 * tfbniStats and tfbniGpuTiming.
 *
 * options: {rows = TFBNI_BENCH_SHAPES, statistics = ['tensors', 'arrays'],
 *           repeats = 7, minChain = 20, epsilon = 1e-3, onProgress?}
 * Resolves to {renderer, webglVersion, pack, repeats, rows: [{statistics,
 * shape, axis, size, chain, readbackMs, ours, batchNorm, identity (ms per op,
 * medians), oursMin, batchNormMin, identityMin, batchNormOverOurs,
 * oursOverIdentity (medians of per-repetition ratios), batchNormShape}]}.
 */
async function tfbniWebglBench(options) {
  const {benchOptions, shapePlan, timeContenders, mediansAndMinimums} = globalThis.tfbniGpuTiming;
  const {rows, repeats, minChain, epsilon, progress} = benchOptions(options, 'webgl');
  const statistics = (options && options.statistics) || ['tensors', 'arrays'];
  const {medianRatio} = globalThis.tfbniStats;

  /** The four statistics as `kind` asks (see the file comment). */
  function makeStatistics(kind, channels) {
    const ranges = [[0.5, 1.5], [-0.5, 0.5], [-0.2, 0.2], [0.5, 1.5]];
    const made = ranges.map(([lo, hi], i) => tf.randomUniform([channels], lo, hi, 'float32', 2 + i));
    if (kind === 'tensors') return {values: made, dispose: made};
    if (kind === 'gpu') {
      const onGpu = made.map((t) => tf.add(t, 0));
      tf.dispose(made);
      return {values: onGpu, dispose: onGpu};
    }
    const arrays = made.map((t) => t.dataSync().slice());
    tf.dispose(made);
    return {values: arrays, dispose: []};
  }

  const gl = tf.backend().gpgpu.gl;
  const debugInfo = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = gl.getParameter(debugInfo ? debugInfo.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
  const result = {renderer, webglVersion: tf.env().getNumber('WEBGL_VERSION'),
                  pack: tf.env().getBool('WEBGL_PACK'), repeats, rows: []};

  for (const kind of statistics) {
    for (const {shape, axis} of rows) {
      const {channels, size, chain, reps, x, xLast, batchNormShape} =
          shapePlan(shape, axis, repeats, minChain);
      const stats = makeStatistics(kind, channels);
      const [gamma, beta, mean, variance] = stats.values;
      const contenders = {
        ours: {op: (t) => tfbni.batchNormInference(t, gamma, beta, mean, variance, {epsilon, axis}), x},
        batchNorm: {op: (t) => tf.batchNorm(t, mean, variance, beta, gamma, epsilon), x: xLast},
        identity: {op: (t) => tf.add(t, 0), x},
      };
      const {perOp, readbackMs} = await timeContenders(
          contenders, {reps, chain, label: `${kind} [${shape}] axis ${axis}`, progress});
      tf.dispose([x, xLast, ...stats.dispose]);
      result.rows.push({
        statistics: kind, shape, axis, size, chain, repeats: reps, readbackMs: readbackMs.get(x),
        batchNormShape, ...mediansAndMinimums(perOp),
        batchNormOverOurs: medianRatio(perOp.batchNorm, perOp.ours),
        oursOverIdentity: medianRatio(perOp.ours, perOp.identity),
        samples: perOp,
      });
    }
  }
  return result;
}

/** The table printed by `node bench/webgl.js`. */
function formatTable(result) {
  const {markdownTable} = typeof require === 'function' ? require('./gpu_timing.js') : globalThis.tfbniGpuTiming;
  const software = /swiftshader|llvmpipe|software/i.test(result.renderer);
  const lines = [];
  lines.push(`WebGL ${result.webglVersion} renderer: ${result.renderer}` +
             (software ? ' - software rendering: relative timings meaningful, absolute GPU numbers not' : ''));
  lines.push(`Per op: chains of N dependent ops, one readback (timed alone and subtracted); ` +
             `median (and minimum) of ${result.repeats} repetitions (${2 * result.repeats} for ` +
             `tensors of <= 1e5 elements) after warm-up; ratios are medians of per-repetition ratios.`);
  lines.push('');
  const header = ['statistics', 'shape', 'axis', 'N', 'ours ms/op (min)', 'ns/el',
                  'tf.batchNorm ms/op (min)', 'ns/el', 'tf.add(x,0) ms/op (min)', 'ns/el',
                  'batchNorm/ours', 'ours/identity'];
  const body = result.rows.map((r) => {
    const ns = (ms) => (ms * 1e6 / r.size).toFixed(2);
    const ms = (median, min) => `${median.toFixed(3)} (${min.toFixed(3)})`;
    const note = r.batchNormShape.join() === r.shape.join() ? '' : ' (a)';
    return [r.statistics || 'tensors', `[${r.shape.join(',')}]`, String(r.axis), String(r.chain),
            ms(r.ours, r.oursMin), ns(r.ours), ms(r.batchNorm, r.batchNormMin) + note, ns(r.batchNorm),
            ms(r.identity, r.identityMin), ns(r.identity),
            r.batchNormOverOurs.toFixed(2) + 'x', r.oursOverIdentity.toFixed(2) + 'x'];
  });
  lines.push(...markdownTable(header, body));
  lines.push('');
  lines.push('(a) tf.batchNorm normalizes along the last axis only (its cpu kernel indexes the ' +
             'statistics as mean[i % C], so it is wrong for a non-last channel axis); for axis-1 ' +
             'rows it is timed on the same number of elements in channels-last layout.');
  lines.push('statistics: tensors = created once with CPU values (channel terms computed once on the CPU ' +
             'and cached); arrays = Float32Arrays on every call; gpu = tensors living in textures ' +
             '(channel terms computed once on the GPU and cached). ours = tfbni.batchNormInference; identity = tf.add(x, 0); ' +
             'ns/el = nanoseconds per element.');
  return lines.join('\n');
}

/**
 * Node side: serves the package root, launches the system's Chromium, opens
 * test/browser/harness.html (tf.min.js, the plugin's min bundle,
 * test/helpers/stats.js), adds bench/shapes.js, bench/gpu_timing.js and this file,
 * and runs tfbniWebglBench there.
 * options: {repeats = 7, rows = BENCH_SHAPES, statistics = ['tensors', 'arrays'],
 *           flags = {} (tfjs flags set before the webgl backend starts), onProgress?}
 */
async function runWebglBench(options) {
  const {runInBenchPage} = require('./gpu_timing.js');
  const {BENCH_SHAPES} = require('./shapes.js');
  const opts = Object.assign(
      {repeats: 7, onProgress: null, flags: {}, statistics: ['tensors', 'arrays']}, options);
  return runInBenchPage({
    pathname: '/test/browser/harness.html', bundle: 'tfjs-batchnorm-inference.min.js',
    scripts: ['/bench/shapes.js', '/bench/gpu_timing.js', '/bench/webgl.js'],
    onProgress: opts.onProgress,
  }, async ({flags, repeats, rows, statistics, progress}) => {
    for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
    if (!(await tf.setBackend('webgl'))) throw new Error('the webgl backend did not initialize');
    const onProgress = progress ? (m) => window.tfbniBenchProgress(m) : undefined;
    return window.tfbniWebglBench({repeats, rows, statistics, onProgress});
  }, {flags: opts.flags, repeats: opts.repeats, rows: opts.rows || BENCH_SHAPES,
      statistics: opts.statistics});
}

if (typeof window !== 'undefined') {
  window.tfbniWebglBench = tfbniWebglBench;
}
if (typeof module !== 'undefined' && module.exports) {
  module.exports = {STATISTICS, tfbniWebglBench, runWebglBench, formatTable};
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  const {BENCH_SHAPES} = require('./shapes.js');
  require('./gpu_timing.js').benchMain('webgl', runWebglBench, formatTable, (args) => {
    const statsAt = args.indexOf('--stats');
    const shapesAt = args.indexOf('--shapes');
    return {
      statistics: statsAt >= 0 ? args[statsAt + 1].split(',') : undefined,
      rows: shapesAt >= 0 ?
          args[shapesAt + 1].split(';').map((s) => BENCH_SHAPES.find((r) => r.shape.join('x') === s)) :
          undefined,
    };
  });
}
