#!/usr/bin/env node
/*
 * CPU benchmark: batchNormInference (this package) against tf.batchNorm on the
 * same backend and against a plain copy of the same bytes, in one run.
 *
 *   npm run bench            (cpu, then webgl in headless Chromium)
 *   node bench/cpu.js [--json] [--reps N]
 *
 * Each timed call includes allocating the output tensor (and disposing it).
 * Medians over repeated runs after warm-up; the three contenders are sampled
 * round-robin and ratios are medians of per-repetition ratios. For axis-1 shapes tf.batchNorm is
 * wrong (it indexes the statistics as mean[i % C], i.e. assumes channels-last),
 * so it is timed on the same element count in channels-last layout instead.
 */
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const {batchNormInference} = require('..');

// The same shapes as the webgl benchmark (one list for both tables).
const SHAPES = require('./webgl').BENCH_ROWS;

const DEFAULT_REPS = 21;
const MIN_MS = 150;  // each sample repeats the call until it has run this long

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** How many calls make one sample of at least MIN_MS / 4 (after warm-up). */
function calibrate(fn) {
  for (let i = 0; i < 3; i++) fn();  // warm-up (JIT, allocation paths)
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    if (performance.now() - t0 >= MIN_MS / 4 || calls >= 1 << 16) return calls;
    calls *= 2;
  }
}

/**
 * Times the functions round-robin, one sample of each per repetition, so a
 * change in machine load hits all of them alike. Returns per-function median
 * ms per call and, for ratios, the per-repetition samples.
 */
function timeInterleaved(fns, reps) {
  const calls = fns.map(calibrate);
  const samples = fns.map(() => []);
  for (let r = 0; r < reps; r++) {
    fns.forEach((fn, k) => {
      const t0 = performance.now();
      for (let i = 0; i < calls[k]; i++) fn();
      samples[k].push((performance.now() - t0) / calls[k]);
    });
  }
  return samples;
}

/** Median over repetitions of a[r] / b[r] (ratios taken within one repetition). */
function medianRatio(a, b) {
  return median(a.map((v, r) => v / b[r]));
}

function rand(n, lo, hi) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * Math.random();
  return a;
}

/**
 * Runs the cpu benchmark. Resolves to {backend, reps, node, tfjs, rows: [{shape,
 * axis, elements, oursMs, batchNormMs, copyMs, oursNs, batchNormNs, copyNs,
 * speedup (tf.batchNorm / ours), vsCopy (ours / copy), batchNormLayout}]}.
 */
async function runCpuBench({reps = DEFAULT_REPS} = {}) {
  await tf.setBackend('cpu');
  const rows = [];
  for (const {shape, axis} of SHAPES) {
    const size = shape.reduce((a, b) => a * b, 1);
    const ax = axis < 0 ? axis + shape.length : axis;
    const C = shape[ax];
    const x = tf.tensor(rand(size, -3, 3), shape);
    const gamma = tf.tensor1d(rand(C, 0.5, 2));
    const beta = tf.tensor1d(rand(C, -1, 1));
    const mean = tf.tensor1d(rand(C, -1, 1));
    const variance = tf.tensor1d(rand(C, 0.1, 2));
    // tf.batchNorm broadcasts its 1-D statistics over the last axis: give it
    // the channels-last layout of the same size.
    const lastShape = [...shape.slice(0, ax), ...shape.slice(ax + 1), C];
    const xLast = ax === shape.length - 1 ? x : tf.tensor(rand(size, -3, 3), lastShape);
    const src = tf.backend().readSync(x.dataId);

    const [oursS, theirsS, copyS] = timeInterleaved([
      () => batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3, axis}).dispose(),
      () => tf.batchNorm(xLast, mean, variance, beta, gamma, 1e-3).dispose(),
      () => {
        // A plain copy of the same bytes into a new tensor.
        const out = new Float32Array(size);
        out.set(src);
        tf.tensor(out, shape).dispose();
      },
    ], reps);
    const [ours, theirs, copy] = [oursS, theirsS, copyS].map(median);
    rows.push({
      shape, axis, elements: size,
      oursMs: ours, batchNormMs: theirs, copyMs: copy,
      oursNs: ours * 1e6 / size, batchNormNs: theirs * 1e6 / size, copyNs: copy * 1e6 / size,
      speedup: medianRatio(theirsS, oursS), vsCopy: medianRatio(oursS, copyS),
      batchNormLayout: ax === shape.length - 1 ? 'same' : `[${lastShape}] axis -1`,
    });
    tf.dispose([x, gamma, beta, mean, variance, xLast]);
  }
  return {backend: 'cpu', reps, node: process.version, tfjs: tf.version_core, rows};
}

/** The table printed by `node bench/cpu.js`. */
function formatCpuTable(result) {
  const f = (v, d = 2) => v.toFixed(d);
  const lines = [
    `cpu backend, Node ${result.node}, tfjs-core ${result.tfjs}; medians of ${result.reps} ` +
        `samples, output allocation included; ratios are medians of per-repetition ratios`,
    '',
    '| shape | axis | ours ms | tf.batchNorm ms | copy ms | ours ns/el | ' +
        'tf.batchNorm ns/el | copy ns/el | tf.batchNorm / ours | ours / copy |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    lines.push(`| [${r.shape}] | ${r.axis} | ${f(r.oursMs, 3)} | ${f(r.batchNormMs, 3)}` +
               `${r.batchNormLayout === 'same' ? '' : ' (a)'} | ${f(r.copyMs, 3)} | ${f(r.oursNs)} | ` +
               `${f(r.batchNormNs)} | ${f(r.copyNs)} | ${f(r.speedup)}x | ${f(r.vsCopy)}x |`);
  }
  lines.push('');
  if (result.rows.some((r) => r.batchNormLayout !== 'same')) {
    lines.push('(a) tf.batchNorm is wrong for a channel axis other than the last (it reads ' +
               'mean[i % C]); it is timed on the same element count in channels-last layout.');
  }
  lines.push('copy = a new Float32Array of the same size, .set() from x, wrapped in a tensor.');
  return lines.join('\n');
}

module.exports = {runCpuBench, formatCpuTable};

if (require.main === module) {
  const args = process.argv.slice(2);
  const repsAt = args.indexOf('--reps');
  runCpuBench({reps: repsAt >= 0 ? Number(args[repsAt + 1]) : DEFAULT_REPS}).then((result) => {
    console.log(args.includes('--json') ? JSON.stringify(result, null, 2) : formatCpuTable(result));
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
