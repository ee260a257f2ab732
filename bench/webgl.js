/*
 * WebGL benchmark: tfbni.batchNormInference against tf.batchNorm and against
 * an identity-like op of the same size (tf.add(x, 0)), on the webgl backend of
 * headless Chromium (software WebGL, SwiftShader, on a machine without a GPU).
 *
 *   npm run build && node bench/webgl.js [--json] [--reps N] [--stats tensors,arrays,gpu]
 *
 * Shapes: bench/shapes.js (the one list); median/minimum: tools/stats.js. Both
 * are UMD files, loaded into the bench page as plain scripts.
 *
 * Statistics, for both ops (--stats picks; default tensors,arrays):
 *   tensors  tensors created once with their values on the CPU (a layer's
 *            loaded weights): tf.batchNorm uploads them on its first call and
 *            keeps them GPU-resident; ours folds them once, caches the params
 *            (one GPU pass per call);
 *   arrays   plain Float32Arrays passed on every call (new tensors per call:
 *            both ops upload, ours also folds, every call);
 *   gpu      tensors living in textures (produced by a GPU op, as after
 *            training): ours folds them on the GPU once (a second, tiny
 *            program on the first call only).
 *
 * How it measures (the GPU runs asynchronously, and gl.finish() does not wait
 * on SwiftShader): a chain of N >= 20 dependent ops (each op's output is the
 * next op's input) is enqueued and then read back once with `await data()`;
 * the readback of a tensor of that size is timed on its own and subtracted,
 * and the rest divided by N is the time per op. Each contender is warmed up
 * (shader compilation, texture allocation, the params cache) and then sampled
 * round-robin; times are medians (user-visible) and minimums (warm) over the
 * repetitions (twice as many for small tensors), and the ratios are medians of
 * the per-repetition ratios (robust to load that changes during the run).
 *
 * This file is also loadable in a page (after tf.min.js, the plugin,
 * bench/shapes.js and tools/stats.js): it then defines window.tfbniWebglBench.
 */
'use strict';

const STATISTICS = ['tensors', 'arrays', 'gpu'];

/**
 * The in-page measurement, run as window.tfbniWebglBench: uses the page's
 * globals `tf` (webgl backend active), `tfbni`, TFBNI_BENCH_SHAPES and
 * tfbniStats.
 *
 * options: {rows = TFBNI_BENCH_SHAPES, statistics = ['tensors', 'arrays'],
 *           repeats = 7, minChain = 20, epsilon = 1e-3, onProgress?}
 * Resolves to {renderer, webglVersion, pack, repeats, rows: [{statistics,
 * shape, axis, size, chain, readbackMs, ours, batchNorm, identity (ms per op,
 * medians), oursMin, batchNormMin, identityMin, batchNormOverOurs,
 * oursOverIdentity (medians of per-repetition ratios), batchNormShape}]}.
 */
async function tfbniWebglBench(options) {
  const opts = options || {};
  const rows = opts.rows || globalThis.TFBNI_BENCH_SHAPES;
  const statistics = opts.statistics || ['tensors', 'arrays'];
  const repeats = opts.repeats || 7;
  const minChain = Math.max(20, opts.minChain || 20);
  const epsilon = opts.epsilon || 1e-3;
  const progress = opts.onProgress || (() => {});
  const {median, minimum, medianRatio} = globalThis.tfbniStats;
  if (tf.getBackend() !== 'webgl') throw new Error(`backend is ${tf.getBackend()}, not webgl`);
  const now = () => performance.now();

  /** Waits until t's program has run, without downloading t. */
  async function settle(t) {
    const probe = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]));
    await probe.data();
    probe.dispose();
  }

  /** Median time of `await y.data()` for a freshly computed, settled y. */
  async function readbackMs(x, times) {
    const samples = [];
    for (let i = 0; i < times; i++) {
      const y = tf.add(x, 0);
      await settle(y);
      const start = now();
      await y.data();
      samples.push(now() - start);
      y.dispose();
    }
    return median(samples);
  }

  /** Wall time of n dependent ops on x followed by one readback. */
  async function chainMs(op, x, n) {
    await settle(x);
    const start = now();
    let y = x;
    for (let i = 0; i < n; i++) {
      const next = op(y);
      if (y !== x) y.dispose();
      y = next;
    }
    await y.data();
    const ms = now() - start;
    y.dispose();
    return ms;
  }

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
      const rank = shape.length;
      const ax = axis < 0 ? axis + rank : axis;
      const channels = shape[ax];
      const size = shape.reduce((a, b) => a * b, 1);
      // tf.batchNorm normalizes along the last axis only: for other axes it is
      // timed on the same elements in channels-last layout.
      const lastShape = [...shape.slice(0, ax), ...shape.slice(ax + 1), channels];
      // Long enough chains for small tensors, >= minChain for large ones; small
      // tensors (cheap to time, noisier) also get twice the repetitions.
      const chain = Math.min(400, Math.max(minChain, Math.ceil(8e6 / size)));
      const reps = size <= 1e5 ? 2 * repeats : repeats;
      // x on the GPU already (the output of a GPU op).
      const [x, xLast] = tf.tidy(() => [
        tf.add(tf.randomNormal(shape, 0, 1, 'float32', 1), 0),
        tf.add(tf.randomNormal(lastShape, 0, 1, 'float32', 1), 0),
      ]);
      const stats = makeStatistics(kind, channels);
      const [gamma, beta, mean, variance] = stats.values;
      const contenders = {
        ours: {op: (t) => tfbni.batchNormInference(t, gamma, beta, mean, variance, {epsilon, axis}), x},
        batchNorm: {op: (t) => tf.batchNorm(t, mean, variance, beta, gamma, epsilon), x: xLast},
        identity: {op: (t) => tf.add(t, 0), x},
      };
      progress(`${kind} [${shape}] axis ${axis}: warm-up`);
      for (const c of Object.values(contenders)) await chainMs(c.op, c.x, 2);
      const readback = await readbackMs(x, 5);
      const readbackLast = await readbackMs(xLast, 5);
      const perOp = {ours: [], batchNorm: [], identity: []};
      for (let r = 0; r < reps; r++) {
        progress(`${kind} [${shape}] axis ${axis}: repetition ${r + 1}/${reps}`);
        for (const [name, c] of Object.entries(contenders)) {
          const ms = await chainMs(c.op, c.x, chain);
          perOp[name].push((ms - (c.x === x ? readback : readbackLast)) / chain);
        }
      }
      tf.dispose([x, xLast, ...stats.dispose]);
      result.rows.push({
        statistics: kind, shape, axis, size, chain, repeats: reps, readbackMs: readback,
        batchNormShape: ax === rank - 1 ? shape : lastShape,
        ours: median(perOp.ours), batchNorm: median(perOp.batchNorm),
        identity: median(perOp.identity),
        oursMin: minimum(perOp.ours), batchNormMin: minimum(perOp.batchNorm),
        identityMin: minimum(perOp.identity),
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
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  lines.push(fmt(header));
  lines.push('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const b of body) lines.push(fmt(b));
  lines.push('');
  lines.push('(a) tf.batchNorm normalizes along the last axis only (its cpu kernel indexes the ' +
             'statistics as mean[i % C], so it is wrong for a non-last channel axis); for axis-1 ' +
             'rows it is timed on the same number of elements in channels-last layout.');
  lines.push('statistics: tensors = created once with CPU values (params folded once on the CPU ' +
             'and cached); arrays = Float32Arrays on every call; gpu = tensors living in textures ' +
             '(params folded once on the GPU and cached). ours = tfbni.batchNormInference; identity = tf.add(x, 0); ' +
             'ns/el = nanoseconds per element.');
  return lines.join('\n');
}

// Headless Chromium flags: the same as test/helpers/browser.ts.
const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
];

/**
 * Node side: serves the package root, launches the system's Chromium, loads
 * tf.min.js and the plugin bundle into a page and runs tfbniWebglBench there.
 */
async function runWebglBench(options) {
  const fs = require('fs');
  const path = require('path');
  const {chromium} = require('playwright-core');
  const {startServer} = require('../tools/static_server.js');
  const {BENCH_SHAPES} = require('./shapes.js');
  const opts = Object.assign(
      {repeats: 7, onProgress: null, flags: {}, statistics: ['tensors', 'arrays']}, options);
  const root = path.resolve(__dirname, '..');
  const bundle = path.join(root, 'dist', 'tfjs-batchnorm-inference.min.js');
  if (!fs.existsSync(bundle)) {
    throw new Error(`${bundle} is missing: run 'npm run build' first.`);
  }
  const executablePath = process.env.CHROME_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new Error(`No Chromium at ${executablePath}: install Debian's chromium ` +
                    `(apt-get install chromium) or set CHROME_PATH.`);
  }
  const server = await startServer();
  let browser;
  try {
    browser = await chromium.launch({executablePath, args: CHROMIUM_FLAGS, headless: true});
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    if (opts.onProgress) {
      await page.exposeFunction('tfbniBenchProgress', (m) => opts.onProgress(m));
    }
    // Any http page of the server's origin will do as a blank page to load scripts into.
    await page.goto(`${server.url}/bench/webgl.js`);
    await page.setContent('<!doctype html><title>tfjs-batchnorm-inference webgl bench</title>');
    for (const src of ['/node_modules/@tensorflow/tfjs/dist/tf.min.js',
                       '/dist/tfjs-batchnorm-inference.min.js', '/bench/shapes.js',
                       '/tools/stats.js', '/bench/webgl.js']) {
      await page.addScriptTag({url: server.url + src});
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return await page.evaluate(async ({flags, repeats, rows, statistics, progress}) => {
      for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
      if (!(await tf.setBackend('webgl'))) throw new Error('the webgl backend did not initialize');
      const onProgress = progress ? (m) => window.tfbniBenchProgress(m) : undefined;
      return window.tfbniWebglBench({repeats, rows, statistics, onProgress});
    }, {flags: opts.flags, repeats: opts.repeats, rows: opts.rows || BENCH_SHAPES,
        statistics: opts.statistics, progress: opts.onProgress != null});
  } finally {
    if (browser) await browser.close();
    await server.close();
  }
}

if (typeof window !== 'undefined') {
  window.tfbniWebglBench = tfbniWebglBench;
}
if (typeof module !== 'undefined' && module.exports) {
  module.exports = {STATISTICS, tfbniWebglBench, runWebglBench, formatTable};
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const repsAt = args.indexOf('--reps');
  const repeats = repsAt >= 0 ? Number(args[repsAt + 1]) : 7;
  const statsAt = args.indexOf('--stats');
  const statistics = statsAt >= 0 ? args[statsAt + 1].split(',') : undefined;
  const {BENCH_SHAPES} = require('./shapes.js');
  const shapesAt = args.indexOf('--shapes');
  const rows = shapesAt >= 0 ?
      args[shapesAt + 1].split(';').map((s) => BENCH_SHAPES.find((r) => r.shape.join('x') === s)) :
      undefined;
  const started = Date.now();
  runWebglBench({
    repeats, statistics, rows,
    onProgress: (m) => process.stderr.write(`  ${m}\n`),
  }).then((result) => {
    result.seconds = (Date.now() - started) / 1000;
    if (json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      process.stdout.write(formatTable(result) + '\n');
      process.stdout.write(`(${result.seconds.toFixed(0)} s)\n`);
    }
  }, (e) => {
    process.stderr.write(`bench/webgl.js: ${e.stack || e}\n`);
    process.exit(1);
  });
}
