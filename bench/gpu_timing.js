/*
 * How the GPU benches (bench/webgl.js, bench/webgpu.js) time an op, in the
 * page, and the page they run in, from Node.
 *
 * The GPU runs asynchronously (and gl.finish() does not wait on SwiftShader):
 * a chain of N dependent ops (each op's output is the next op's input) is
 * enqueued and read back once with `await data()`; the readback of a tensor
 * of that size is timed on its own and subtracted, and the rest divided by N
 * is the time per op, output allocation included. Each contender is warmed
 * up (shader or pipeline compilation, texture or buffer pools, the params
 * cache) and then sampled round-robin.
 *
 * In a page (after tf.min.js and test/helpers/stats.js) a plain <script> that sets
 * globalThis.tfbniGpuTiming and uses the page's `tf` and `tfbniStats`. In
 * Node (require) it also offers runInBenchPage, which opens the page.
 */
(function (root) {
  'use strict';

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
    return root.tfbniStats.median(samples);
  }

  /** Wall time of n dependent ops on x followed by one readback, with the tfjs flags `flags` set meanwhile. */
  async function chainMs(op, x, n, flags) {
    const saved = Object.fromEntries(Object.keys(flags || {}).map((k) => [k, tf.env().get(k)]));
    for (const [k, v] of Object.entries(flags || {})) tf.env().set(k, v);
    try {
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
    } finally {
      for (const [k, v] of Object.entries(saved)) tf.env().set(k, v);
    }
  }

  /**
   * The options every GPU bench takes, defaults applied: {rows =
   * TFBNI_BENCH_SHAPES, repeats = 7, minChain = 20 (at least), epsilon = 1e-3,
   * progress (onProgress, or nothing)}. Checks that `backend` is the page's.
   */
  function benchOptions(options, backend) {
    const opts = options || {};
    if (tf.getBackend() !== backend) throw new Error(`backend is ${tf.getBackend()}, not ${backend}`);
    return {
      rows: opts.rows || root.TFBNI_BENCH_SHAPES,
      repeats: opts.repeats || 7,
      minChain: Math.max(20, opts.minChain || 20),
      epsilon: opts.epsilon || 1e-3,
      progress: opts.onProgress || (() => {}),
    };
  }

  /**
   * What one row of BENCH_SHAPES is timed on: its channel axis `ax`, size and
   * channel count; the channels-last shape tf.batchNorm is timed on (it
   * normalizes along the last axis only, so for another axis it gets the same
   * elements in channels-last layout); the chain length (long enough for small
   * tensors, >= minChain for large ones) and the repetitions (twice as many
   * for small tensors: cheap to time, noisier). x and xLast are on the GPU
   * already (the output of a GPU op); the caller disposes them.
   */
  function shapePlan(shape, axis, repeats, minChain) {
    const rank = shape.length;
    const ax = axis < 0 ? axis + rank : axis;
    const channels = shape[ax];
    const size = shape.reduce((a, b) => a * b, 1);
    const lastShape = [...shape.slice(0, ax), ...shape.slice(ax + 1), channels];
    const chain = Math.min(400, Math.max(minChain, Math.ceil(8e6 / size)));
    const reps = size <= 1e5 ? 2 * repeats : repeats;
    const [x, xLast] = tf.tidy(() => [
      tf.add(tf.randomNormal(shape, 0, 1, 'float32', 1), 0),
      tf.add(tf.randomNormal(lastShape, 0, 1, 'float32', 1), 0),
    ]);
    return {ax, channels, size, chain, reps, x, xLast,
            batchNormShape: ax === rank - 1 ? shape : lastShape};
  }

  /**
   * Times `contenders` ({name: {op, x, flags?}}): a warm-up chain of 2 each,
   * the readback of each contender's x (5 samples), then `reps` repetitions
   * of a chain of `chain` ops of each contender. With `rotate` the order
   * rotates every repetition: whichever runs first after the previous
   * repetition (pool refills, the other layout's x) pays more, and rotating
   * spreads that over all contenders. Progress messages start with `label`.
   * Resolves to {perOp: {name: [ms per op, one per repetition]}, readbackMs:
   * Map x -> ms}.
   */
  async function timeContenders(contenders, {reps, chain, rotate = false, label, progress}) {
    progress(`${label}: warm-up`);
    for (const c of Object.values(contenders)) await chainMs(c.op, c.x, 2, c.flags);
    const readback = new Map();
    for (const c of Object.values(contenders)) {
      if (!readback.has(c.x)) readback.set(c.x, await readbackMs(c.x, 5));
    }
    const names = Object.keys(contenders);
    const perOp = Object.fromEntries(names.map((name) => [name, []]));
    for (let r = 0; r < reps; r++) {
      progress(`${label}: repetition ${r + 1}/${reps}`);
      for (let k = 0; k < names.length; k++) {
        const name = names[rotate ? (k + r) % names.length : k];
        const c = contenders[name];
        const ms = await chainMs(c.op, c.x, chain, c.flags);
        perOp[name].push((ms - readback.get(c.x)) / chain);
      }
    }
    return {perOp, readbackMs: readback};
  }

  /** Per contender, the median (`name`) and the minimum (`nameMin`) of its ms per op. */
  function mediansAndMinimums(perOp) {
    const {median, minimum} = root.tfbniStats;
    const out = {};
    for (const [name, samples] of Object.entries(perOp)) {
      out[name] = median(samples);
      out[`${name}Min`] = minimum(samples);
    }
    return out;
  }

  /** A Markdown table, columns padded to their widest cell: an array of lines. */
  function markdownTable(header, body) {
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const fmt = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
    return [fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(fmt)];
  }

  /**
   * Node side: serves the package root, launches Chromium (tools/chromium.js,
   * with `extraFlags`), opens `pathname`, adds `scripts`, then resolves to
   * page.evaluate(pageFunction, {...arg, progress}); in the page,
   * window.tfbniBenchProgress(message) reaches `onProgress` when `progress`
   * is true. `bundle`, the plugin bundle the page loads, must have been
   * built.
   * options: {pathname, scripts, bundle, extraFlags?, onProgress?}
   */
  async function runInBenchPage(options, pageFunction, arg) {
    const fs = require('fs');
    const path = require('path');
    const {startSession} = require('../tools/chromium.js');
    const bundle = path.join(__dirname, '..', 'dist', options.bundle);
    if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run 'npm run build' first.`);
    const session = await startSession({extraFlags: options.extraFlags || []});
    try {
      const page = await session.open(options.pathname);
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      if (options.onProgress) {
        await page.exposeFunction('tfbniBenchProgress', (m) => options.onProgress(m));
      }
      for (const src of options.scripts) await page.addScriptTag({url: session.baseUrl + src});
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      return await page.evaluate(pageFunction, {...arg, progress: options.onProgress != null});
    } finally {
      await session.close();
    }
  }

  /**
   * The command line of a GPU bench file, `node bench/<name>.js [--json]
   * [--reps N] ...`: resolves run({repeats, onProgress, ...extraOptions(args)})
   * and prints the result as JSON (--json) or as format(result) and the
   * seconds it took; on an error, prints it and exits 1.
   */
  function benchMain(name, run, format, extraOptions = () => ({})) {
    const args = process.argv.slice(2);
    const repsAt = args.indexOf('--reps');
    const started = Date.now();
    run({
      repeats: repsAt >= 0 ? Number(args[repsAt + 1]) : 7,
      onProgress: (m) => process.stderr.write(`  ${m}\n`),
      ...extraOptions(args),
    }).then((result) => {
      result.seconds = (Date.now() - started) / 1000;
      if (args.includes('--json')) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      } else {
        process.stdout.write(format(result) + '\n');
        process.stdout.write(`(${result.seconds.toFixed(0)} s)\n`);
      }
    }, (e) => {
      process.stderr.write(`bench/${name}.js: ${e.stack || e}\n`);
      process.exit(1);
    });
  }

  const api = {benchOptions, settle, readbackMs, chainMs, shapePlan, timeContenders, mediansAndMinimums,
               markdownTable, runInBenchPage, benchMain};
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.tfbniGpuTiming = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
