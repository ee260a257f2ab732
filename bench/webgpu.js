/*
 * WebGPU benchmark: tfbni.batchNormInference against tf.batchNorm and against
 * an identity-like op of the same size (tf.add(x, 0)), on the webgpu backend
 * of headless Chromium (WebGPU on SwiftShader's Vulkan on a machine without a
 * GPU: relative timings only).
 *
 *   npm run build && node bench/webgpu.js [--json] [--reps N]
 *
 * How it measures (the GPU runs asynchronously): a chain of N >= 20
 * dependent ops (each op's output is the next op's input) is enqueued and
 * read back once with `await data()`; the readback of a tensor of that size
 * is timed on its own and subtracted, and the rest divided by N is the time
 * per op, output allocation included. Contenders are warmed up (pipeline
 * compilation, buffer pools) and then sampled round-robin, the order rotating
 * every repetition. Per contender the
 * table gives the median over repetitions (what a user sees) and the minimum
 * (warm); ratios are medians of per-repetition ratios (tools/stats.js), robust
 * to load that changes during the run. Shapes: bench/shapes.js.
 *
 * In a page (after tf.min.js, tf-backend-webgpu.min.js, the plugin,
 * tools/stats.js and bench/shapes.js) this file defines
 * window.tfbniWebgpuBench, the in-page measurement used below.
 */
'use strict';

/**
 * The in-page measurement: uses the page's globals `tf` (webgpu backend
 * active), `tfbni`, `tfbniStats` and TFBNI_BENCH_SHAPES.
 * options: {rows = TFBNI_BENCH_SHAPES, repeats = 7, minChain = 20,
 *           epsilon = 1e-3, onProgress?: (message) => void}
 */
async function tfbniWebgpuBench(options) {
  const opts = options || {};
  const rows = opts.rows || globalThis.TFBNI_BENCH_SHAPES;
  const repeats = opts.repeats || 7;
  const minChain = Math.max(20, opts.minChain || 20);
  const epsilon = opts.epsilon || 1e-3;
  const progress = opts.onProgress || (() => {});
  const {median, minimum, medianRatio} = globalThis.tfbniStats;
  if (tf.getBackend() !== 'webgpu') throw new Error(`backend is ${tf.getBackend()}, not webgpu`);
  const now = () => performance.now();

  /** Waits until t's producers have run, without downloading t. */
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

  /** Wall time of n dependent ops on x followed by one readback (tfjs flags set meanwhile). */
  async function chainMs(op, x, n, flags) {
    const saved = Object.fromEntries(Object.keys(flags || {}).map((k) => [k, tf.env().get(k)]));
    for (const [k, v] of Object.entries(flags || {})) tf.env().set(k, v);
    try {
      return await chainMsNow(op, x, n);
    } finally {
      for (const [k, v] of Object.entries(saved)) tf.env().set(k, v);
    }
  }

  async function chainMsNow(op, x, n) {
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

  const result = {adapter: tf.backend().adapterInfo || null, tfjs: tf.version.tfjs, repeats,
                  rows: []};
  for (const {shape, axis} of rows) {
    const rank = shape.length;
    const ax = axis < 0 ? axis + rank : axis;
    const channels = shape[ax];
    const size = shape.reduce((a, b) => a * b, 1);
    // tf.batchNorm normalizes along the last axis only: for other axes it is
    // timed on the same elements in channels-last layout.
    const lastShape = [...shape.slice(0, ax), ...shape.slice(ax + 1), channels];
    const chain = Math.min(400, Math.max(minChain, Math.ceil(8e6 / size)));
    const reps = size <= 1e5 ? 2 * repeats : repeats;
    const [x, xLast] = tf.tidy(() => [
      tf.add(tf.randomNormal(shape, 0, 1, 'float32', 1), 0),
      tf.add(tf.randomNormal(lastShape, 0, 1, 'float32', 1), 0),
    ]);
    const gamma = tf.randomUniform([channels], 0.5, 1.5, 'float32', 2);
    const beta = tf.randomUniform([channels], -0.5, 0.5, 'float32', 3);
    const mean = tf.randomUniform([channels], -0.2, 0.2, 'float32', 4);
    const variance = tf.randomUniform([channels], 0.5, 1.5, 'float32', 5);
    // 'oursFold' changes epsilon on every call, so the cached params never
    // match: the fold program runs before the main one each time (what a call
    // with new statistics costs; 'ours' is the cached, one-dispatch case).
    let calls = 0;
    const contenders = {
      ours: {op: (t) => tfbni.batchNormInference(t, gamma, beta, mean, variance, {epsilon, axis}), x},
      oursFold: {op: (t) => tfbni.batchNormInference(
          t, gamma, beta, mean, variance, {epsilon: epsilon * (1 + 1e-6 * (++calls % 1000)), axis}), x},
      // The scalar program (one element per invocation) where the kernel
      // would pick a vec4 variant: what the TFBNI_WEBGPU_VEC4 path gains.
      oursScalar: {op: (t) => tfbni.batchNormInference(t, gamma, beta, mean, variance, {epsilon, axis}),
                   x, flags: {TFBNI_WEBGPU_VEC4: false}},
      batchNorm: {op: (t) => tf.batchNorm(t, mean, variance, beta, gamma, epsilon), x: xLast},
      identity: {op: (t) => tf.add(t, 0), x},
    };
    progress(`[${shape}] axis ${axis}: warm-up`);
    for (const c of Object.values(contenders)) await chainMs(c.op, c.x, 2, c.flags);
    const readback = await readbackMs(x, 5);
    const readbackLast = await readbackMs(xLast, 5);
    const perOp = {ours: [], oursFold: [], oursScalar: [], batchNorm: [], identity: []};
    const names = Object.keys(contenders);
    for (let r = 0; r < reps; r++) {
      progress(`[${shape}] axis ${axis}: repetition ${r + 1}/${reps}`);
      // The order rotates every repetition: whichever runs first after the
      // previous repetition (buffer pool refills, the other layout's x) pays
      // more, and rotating spreads that over all contenders.
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length];
        const c = contenders[name];
        const ms = await chainMs(c.op, c.x, chain, c.flags);
        perOp[name].push((ms - (c.x === x ? readback : readbackLast)) / chain);
      }
    }
    tf.dispose([x, xLast, gamma, beta, mean, variance]);
    const row = {shape, axis, size, chain, repeats: reps, readbackMs: readback,
                 batchNormShape: ax === rank - 1 ? shape : lastShape, samples: perOp,
                 batchNormOverOurs: medianRatio(perOp.batchNorm, perOp.ours),
                 foldOverOurs: medianRatio(perOp.oursFold, perOp.ours),
                 scalarOverOurs: medianRatio(perOp.oursScalar, perOp.ours),
                 oursOverIdentity: medianRatio(perOp.ours, perOp.identity)};
    for (const name of Object.keys(perOp)) {
      row[name] = median(perOp[name]);
      row[`${name}Min`] = minimum(perOp[name]);
    }
    result.rows.push(row);
  }
  return result;
}

/** The table printed by `node bench/webgpu.js` (and bench/run.js). */
function formatWebgpuTable(result) {
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
  const header = ['shape', 'axis', 'N', 'ours ms/op (min)', 'ns/el', 'ours, fold each call',
                  'ours, scalar program', 'tf.batchNorm ms/op (min)', 'tf.add(x,0) ms/op (min)',
                  'batchNorm/ours', 'fold/ours', 'scalar/ours', 'ours/identity'];
  const ms = (r, name) => `${r[name].toFixed(3)} (${r[`${name}Min`].toFixed(3)})`;
  const body = result.rows.map((r) => {
    const note = r.batchNormShape.join() === r.shape.join() ? '' : ' (a)';
    return [`[${r.shape.join(',')}]`, String(r.axis), String(r.chain), ms(r, 'ours'),
            (r.ours * 1e6 / r.size).toFixed(2), ms(r, 'oursFold'), ms(r, 'oursScalar'),
            ms(r, 'batchNorm') + note, ms(r, 'identity'), r.batchNormOverOurs.toFixed(2) + 'x',
            r.foldOverOurs.toFixed(2) + 'x', r.scalarOverOurs.toFixed(2) + 'x',
            r.oursOverIdentity.toFixed(2) + 'x'];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  lines.push(fmt(header));
  lines.push('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const b of body) lines.push(fmt(b));
  lines.push('');
  lines.push('(a) tf.batchNorm normalizes along the last axis only; for non-last axes it is ' +
             'timed on the same number of elements in channels-last layout.');
  lines.push('ours = tfbni.batchNormInference with unchanged statistics (cached params: one ' +
             'dispatch per call); ours, fold each call = a new epsilon every call (fold + main ' +
             'program); ours, scalar program = TFBNI_WEBGPU_VEC4 false (one element per ' +
             'invocation instead of four); identity = tf.add(x, 0); ns/el = nanoseconds per ' +
             'element (median).');
  return lines.join('\n');
}

// Headless Chromium flags: test/helpers/browser.ts's CHROMIUM_FLAGS plus its WEBGPU_FLAGS.
const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
];

/**
 * Node side: serves the package root, launches the system's Chromium with
 * WebGPU, opens test/browser/harness_webgpu.html (tf.min.js, the webgpu
 * backend, the plugin) and runs tfbniWebgpuBench there.
 * options: {repeats = 7, rows = BENCH_SHAPES, onProgress?: (message) => void}
 */
async function runWebgpuBench(options) {
  const fs = require('fs');
  const path = require('path');
  const {chromium} = require('playwright-core');
  const {startServer} = require('../tools/static_server.js');
  const {BENCH_SHAPES} = require('./shapes.js');
  const opts = Object.assign({repeats: 7, onProgress: null}, options);
  const bundle = path.join(__dirname, '..', 'dist', 'tfjs-batchnorm-inference.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run 'npm run build' first.`);
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
    // WebGPU needs a page served over http://127.0.0.1 (a secure context).
    await page.goto(`${server.url}/test/browser/harness_webgpu.html`);
    for (const src of ['/bench/shapes.js', '/bench/webgpu.js']) {
      await page.addScriptTag({url: server.url + src});
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return await page.evaluate(async ({repeats, rows, progress}) => {
      if (!(await tf.setBackend('webgpu'))) {
        throw new Error('the webgpu backend did not initialize (is WebGPU available? see ' +
                        'WEBGPU_FLAGS in test/helpers/browser.ts)');
      }
      const onProgress = progress ? (m) => window.tfbniBenchProgress(m) : undefined;
      return window.tfbniWebgpuBench({repeats, rows, onProgress});
    }, {repeats: opts.repeats, rows: opts.rows || BENCH_SHAPES, progress: opts.onProgress != null});
  } finally {
    if (browser) await browser.close();
    await server.close();
  }
}

if (typeof window !== 'undefined') {
  window.tfbniWebgpuBench = tfbniWebgpuBench;
}
if (typeof module !== 'undefined' && module.exports) {
  module.exports = {tfbniWebgpuBench, runWebgpuBench, formatWebgpuTable};
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  const args = process.argv.slice(2);
  const repsAt = args.indexOf('--reps');
  const started = Date.now();
  runWebgpuBench({
    repeats: repsAt >= 0 ? Number(args[repsAt + 1]) : 7,
    onProgress: (m) => process.stderr.write(`  ${m}\n`),
  }).then((result) => {
    result.seconds = (Date.now() - started) / 1000;
    if (args.includes('--json')) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      process.stdout.write(formatWebgpuTable(result) + '\n');
      process.stdout.write(`(${result.seconds.toFixed(0)} s)\n`);
    }
  }, (e) => {
    process.stderr.write(`bench/webgpu.js: ${e.stack || e}\n`);
    process.exit(1);
  });
}
