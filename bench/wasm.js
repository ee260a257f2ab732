#!/usr/bin/env node
/*
 * wasm benchmark (Node, @tensorflow/tfjs-backend-wasm): batchNormInference
 * (this package) against tf.batchNorm on the same backend and against a
 * plain copy of x into a new tensor in the same heap, in one run. A fourth
 * column, "ours, new stats", makes four new statistics tensors for every
 * call (and disposes them): the kernel's per-statistics cache
 * (kernels/shared/channel_terms_cache.ts) misses every time, as for a user who
 * never reuses them; "ours" reuses them, as a model does.
 *
 *   node bench/wasm.js [--json] [--reps N]     (needs dist/: npm run build)
 *
 * Each timed call allocates its output tensor and disposes it (what a user
 * sees). The three contenders are sampled round-robin; per contender we
 * report the median over samples (user-visible) and the minimum (warm), and
 * ratios are medians of per-repetition ratios (test/helpers/stats.js). For axis-1
 * shapes tf.batchNorm is wrong (it reads mean[i % C], i.e. assumes channels
 * last), so it is timed on the same element count in channels-last layout.
 *
 * Reference figure, not measured here: onnxruntime-web's wasm
 * BatchNormalization took 0.47 ns per element on [1,224,224,64] on this kind
 * of machine (2-core VM).
 */
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-wasm');
const {batchNormInference} = require('..');
const {BENCH_SHAPES} = require('./shapes');
const {prng, median, minimum, medianRatio} = require('../test/helpers/stats');
const {benchInputs, benchMain, timeInterleaved} = require('./common');

const DEFAULT_REPS = 21;
const MIN_MS = 40;  // each sample repeats the call until it has run this long
const ORT_WEB_NS = 0.47;  // onnxruntime-web wasm BatchNormalization, [1,224,224,64]

/**
 * The baseline: x copied into a new tensor of the wasm backend, byte for
 * byte inside the heap (the least any kernel that writes a new y can do).
 * Uses tfjs-backend-wasm 4.22 internals (its emscripten module's HEAPU8).
 */
function heapCopy(x) {
  const backend = tf.backend();
  const out = backend.makeOutput(x.shape, 'float32');
  const from = backend.getMemoryOffset(x.dataId);
  backend.wasm.HEAPU8.copyWithin(backend.getMemoryOffset(out.dataId), from, from + x.size * 4);
  return tf.engine().makeTensorFromTensorInfo(out);
}

/**
 * Runs the wasm benchmark. Resolves to {backend, reps, node, tfjs, simd,
 * rows: [{shape, axis, elements, batchNormLayout, ours, batchNorm, copy,
 * oursNewStats}]} where each of those four is {medianMs, minMs, medianNs,
 * minNs}, plus speedup (tf.batchNorm / ours), vsCopy (ours / copy) and
 * newStatsSpeedup (tf.batchNorm / ours with new statistics), medians of
 * per-repetition ratios.
 */
async function runWasmBench({reps = DEFAULT_REPS, shapes = BENCH_SHAPES} = {}) {
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  const random = prng(2024);
  const rows = [];
  for (const {shape, axis} of shapes) {
    const {size, ax, lastShape, x, gamma, beta, mean, variance, xLast} = benchInputs(random, shape, axis);

    const statValues = [gamma, beta, mean, variance].map((t) => t.dataSync());
    const samples = timeInterleaved([
      () => batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3, axis}).dispose(),
      () => tf.batchNorm(xLast, mean, variance, beta, gamma, 1e-3).dispose(),
      () => heapCopy(x).dispose(),
      () => {
        const s = statValues.map((v) => tf.tensor1d(v));
        batchNormInference(x, s[0], s[1], s[2], s[3], {epsilon: 1e-3, axis}).dispose();
        tf.dispose(s);
      },
    ], reps, MIN_MS);
    const [ours, batchNorm, copy, oursNewStats] = samples.map((s) => {
      const medianMs = median(s);
      const minMs = minimum(s);
      return {medianMs, minMs, medianNs: medianMs * 1e6 / size, minNs: minMs * 1e6 / size};
    });
    rows.push({
      shape, axis, elements: size, ours, batchNorm, copy, oursNewStats,
      speedup: medianRatio(samples[1], samples[0]), vsCopy: medianRatio(samples[0], samples[2]),
      newStatsSpeedup: medianRatio(samples[1], samples[3]),
      batchNormLayout: ax === shape.length - 1 ? 'same' : `[${lastShape}] axis -1`,
    });
    tf.dispose([x, gamma, beta, mean, variance, xLast]);
  }
  return {
    backend: 'wasm', reps, node: process.version, tfjs: tf.version_core,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), rows,
  };
}

/** The table printed by `node bench/wasm.js`. */
function formatWasmTable(result) {
  const f = (v, d = 2) => v.toFixed(d);
  const lines = [
    `wasm backend (tfjs-backend-wasm, SIMD ${result.simd ? 'on' : 'off'}), Node ${result.node}, ` +
        `tfjs-core ${result.tfjs}; ${result.reps} samples each, round-robin; ns per element, ` +
        `median (output allocation included) / minimum (warm); ratios are medians of ` +
        `per-repetition ratios`,
    '',
    '| shape | axis | ours ns/el | tf.batchNorm ns/el | copy ns/el | tf.batchNorm / ours | ' +
        'ours / copy | ours, new stats ns/el | tf.batchNorm / ours, new stats |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const ns = (t) => `${f(t.medianNs)} / ${f(t.minNs)}`;
  for (const r of result.rows) {
    lines.push(`| [${r.shape}] | ${r.axis} | ${ns(r.ours)} | ${ns(r.batchNorm)}` +
               `${r.batchNormLayout === 'same' ? '' : ' (a)'} | ${ns(r.copy)} | ` +
               `${f(r.speedup)}x | ${f(r.vsCopy)}x | ${ns(r.oursNewStats)} | ` +
               `${f(r.newStatsSpeedup)}x |`);
  }
  lines.push('');
  if (result.rows.some((r) => r.batchNormLayout !== 'same')) {
    lines.push('(a) tf.batchNorm is wrong for a channel axis other than the last (it reads ' +
               'mean[i % C]); it is timed on the same element count in channels-last layout.');
  }
  lines.push('copy = x copied byte for byte into a new tensor in the wasm heap.');
  lines.push('ours, new stats = four new statistics tensors made (and disposed) for every ' +
             'call, so the per-statistics cache of channel terms never hits.');
  lines.push(`Reference (not measured here): onnxruntime-web's wasm BatchNormalization, ` +
             `${ORT_WEB_NS} ns/element on [1,224,224,64] on a comparable 2-core VM.`);
  return lines.join('\n');
}

module.exports = {runWasmBench, formatWasmTable, ORT_WEB_NS};

if (require.main === module) benchMain(runWasmBench, formatWasmTable, DEFAULT_REPS);
