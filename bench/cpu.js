#!/usr/bin/env node
/*
 * CPU benchmark: batchNormInference (this package) on its two paths (the
 * WebAssembly SIMD core, the JS loop via TFBNI_CPU_WASM=false) against
 * tf.batchNorm on the same backend and a plain copy of the same bytes, in one
 * run, on the shapes of bench/shapes.js.
 *
 *   npm run bench            (cpu, then webgl in headless Chromium)
 *   node bench/cpu.js [--json] [--reps N]
 *
 * Each timed call includes allocating the output tensor (and disposing it).
 * The contenders are sampled round-robin (one sample of each per repetition),
 * so a change in machine load hits all alike. Per contender: the median
 * (what a user sees) and the minimum (warm, least disturbed) over samples;
 * ratios are medians of per-repetition ratios, and ratios of the minimums.
 * For a channel axis other than the last, tf.batchNorm is wrong (it indexes
 * the statistics as mean[i % C], i.e. assumes channels-last), so it is timed on
 * the same element count in channels-last layout instead.
 * Last, the cost of the exact slow path: a tensor whose every element is a
 * tie between float32 neighbours (every element flagged).
 */
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const {batchNormInference} = require('..');
const {BENCH_SHAPES} = require('./shapes');
const {prng, median, minimum, medianRatio} = require('../test/helpers/stats');
const {benchInputs, benchMain, timeInterleaved} = require('./common');

const FLAG = 'TFBNI_CPU_WASM';
const DEFAULT_REPS = 21;
const MIN_MS = 150;  // each sample repeats the call until it has run MIN_MS / 4
const SAMPLE_MS = MIN_MS / 4;

/** The exact path's cost: ns per element when every element is a tie. */
function slowPathNs(reps) {
  const n = 4096;
  // y = x / 8 + 1 with x = 2^-21 (2k + 1): 1 + (2k + 1) 2^-24, all midpoints
  const x = tf.tensor2d(Float32Array.from({length: n}, (_, i) => 2 ** -21 * (2 * (i % 64) + 1)), [n, 1]);
  const [s] = timeInterleaved([
    () => batchNormInference(x, [1], [1], [0], [0], {epsilon: 64}).dispose(),
  ], Math.max(3, Math.floor(reps / 3)), SAMPLE_MS);
  x.dispose();
  return median(s) * 1e6 / n;
}

/**
 * Runs the cpu benchmark. Resolves to {backend, reps, node, tfjs, slowPathNs,
 * rows: [{shape, axis, elements, oursMs, oursMinMs, jsMs, jsMinMs, batchNormMs,
 * batchNormMinMs, copyMs, copyMinMs, oursNs, jsNs, batchNormNs, copyNs,
 * speedup, speedupMin (tf.batchNorm / ours), jsSpeedup, jsSpeedupMin,
 * vsCopy, vsCopyMin (ours / copy), batchNormLayout}]}.
 */
async function runCpuBench({reps = DEFAULT_REPS} = {}) {
  await tf.setBackend('cpu');
  const random = prng(1);
  const rows = [];
  for (const {shape, axis} of BENCH_SHAPES) {
    const {size, ax, lastShape, x, gamma, beta, mean, variance, xLast} = benchInputs(random, shape, axis);
    const src = tf.backend().readSync(x.dataId);
    const ours = (simd) => () => {
      tf.env().set(FLAG, simd);
      batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3, axis}).dispose();
    };
    const statValues = [gamma, beta, mean, variance].map((t) => t.dataSync().slice());
    // Four new statistics tensors per call: the per-statistics cache of
    // channel terms (kernels/shared/channel_terms_cache.ts) never hits.
    const oursNewStats = () => {
      tf.env().set(FLAG, true);
      const [g, b, m, v] = statValues.map((values) => tf.tensor1d(values));
      batchNormInference(x, g, b, m, v, {epsilon: 1e-3, axis}).dispose();
      tf.dispose([g, b, m, v]);
    };

    const [oursS, jsS, theirsS, copyS, newStatsS] = timeInterleaved([
      ours(true),
      ours(false),
      () => tf.batchNorm(xLast, mean, variance, beta, gamma, 1e-3).dispose(),
      () => {
        // A plain copy of the same bytes into a new tensor.
        const out = new Float32Array(size);
        out.set(src);
        tf.tensor(out, shape).dispose();
      },
      oursNewStats,
    ], reps, SAMPLE_MS);
    tf.env().set(FLAG, true);
    const ns = (ms) => ms * 1e6 / size;
    const [oursMs, jsMs, batchNormMs, copyMs] = [oursS, jsS, theirsS, copyS].map(median);
    const [oursMinMs, jsMinMs, batchNormMinMs, copyMinMs] = [oursS, jsS, theirsS, copyS].map(minimum);
    rows.push({
      shape, axis, elements: size,
      oursMs, oursMinMs, jsMs, jsMinMs, batchNormMs, batchNormMinMs, copyMs, copyMinMs,
      oursNs: ns(oursMs), jsNs: ns(jsMs), batchNormNs: ns(batchNormMs), copyNs: ns(copyMs),
      speedup: medianRatio(theirsS, oursS), speedupMin: batchNormMinMs / oursMinMs,
      jsSpeedup: medianRatio(theirsS, jsS), jsSpeedupMin: batchNormMinMs / jsMinMs,
      vsCopy: medianRatio(oursS, copyS), vsCopyMin: oursMinMs / copyMinMs,
      newStatsMs: median(newStatsS), newStatsMinMs: minimum(newStatsS),
      newStatsSpeedup: medianRatio(theirsS, newStatsS),
      batchNormLayout: ax === shape.length - 1 ? 'same' : `[${lastShape}] axis -1`,
    });
    tf.dispose([x, gamma, beta, mean, variance, xLast]);
  }
  return {backend: 'cpu', reps, node: process.version, tfjs: tf.version_core,
          slowPathNs: slowPathNs(reps), rows};
}

/** The table printed by `node bench/cpu.js`. */
function formatCpuTable(result) {
  const f = (v, d = 2) => v.toFixed(d);
  const lines = [
    `cpu backend, Node ${result.node}, tfjs-core ${result.tfjs}; ${result.reps} interleaved ` +
        'samples per contender, output allocation included; ms as median / minimum; ratios as ' +
        'median of per-sample ratios / ratio of minimums',
    '',
    '| shape | axis | ours (SIMD) ms | ours (JS loop) ms | tf.batchNorm ms | copy ms | ' +
        'tf.batchNorm / ours | tf.batchNorm / JS loop | ours / copy | ours, new stats ms | ' +
        'tf.batchNorm / ours, new stats |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    const ms = (a, b) => `${f(a, 3)} / ${f(b, 3)}`;
    const ratio = (a, b) => `${f(a)}x / ${f(b)}x`;
    lines.push(`| [${r.shape}] | ${r.axis} | ${ms(r.oursMs, r.oursMinMs)} | ${ms(r.jsMs, r.jsMinMs)} | ` +
               `${ms(r.batchNormMs, r.batchNormMinMs)}${r.batchNormLayout === 'same' ? '' : ' (a)'} | ` +
               `${ms(r.copyMs, r.copyMinMs)} | ${ratio(r.speedup, r.speedupMin)} | ` +
               `${ratio(r.jsSpeedup, r.jsSpeedupMin)} | ${ratio(r.vsCopy, r.vsCopyMin)} | ` +
               `${ms(r.newStatsMs, r.newStatsMinMs)} | ${f(r.newStatsSpeedup)}x |`);
  }
  lines.push('');
  if (result.rows.some((r) => r.batchNormLayout !== 'same')) {
    lines.push('(a) tf.batchNorm is wrong for a channel axis other than the last (it reads ' +
               'mean[i % C]); it is timed on the same element count in channels-last layout.');
  }
  lines.push('copy = a new Float32Array of the same size, .set() from x, wrapped in a tensor.');
  lines.push('ours, new stats = four new statistics tensors made (and disposed) for every call, ' +
             'so the per-statistics cache of channel terms never hits.');
  lines.push(`Exact slow path (every element a tie, [4096,1]): ${f(result.slowPathNs, 0)} ns per element.`);
  return lines.join('\n');
}

module.exports = {runCpuBench, formatCpuTable};

if (require.main === module) benchMain(runCpuBench, formatCpuTable, DEFAULT_REPS);
