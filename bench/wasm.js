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
 * The peer, in the same rounds: onnxruntime-web's BatchNormalization
 * (wasm execution provider, one thread; bench/onnxruntime_web.js) on the
 * same values, its pre-allocated call (a lower bound: it does not fill its
 * output in 1.30.0) and its allocating call. Its ratios to ours are ratios
 * of minimums (the least disturbed samples of each).
 */
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-wasm');
const {batchNormInference} = require('..');
const {BENCH_SHAPES} = require('./shapes');
const {prng, median, minimum, medianRatio} = require('../test/helpers/stats');
const {benchInputs, benchMain} = require('./common');
const {loadOrt, ortCalls, ortShape} = require('./onnxruntime_web');

const DEFAULT_REPS = 21;
const MIN_MS = 40;  // each sample repeats the call until it has run this long

/** Calls fn, awaiting it when it returns a promise (onnxruntime-web's run). */
async function call(fn) {
  const r = fn();
  if (r != null && typeof r.then === 'function') await r;
}

/** How many calls of `fn` make one sample of at least `sampleMs` (after warm-up). */
async function calibrate(fn, sampleMs) {
  for (let i = 0; i < 3; i++) await call(fn);
  for (let calls = 1; ; calls *= 2) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await call(fn);
    if (performance.now() - t0 >= sampleMs || calls >= 1 << 16) return calls;
  }
}

/**
 * Samples (ms per call) of each function, round-robin (one sample of each per
 * repetition); as bench/common.js timeInterleaved, for functions that may
 * return a promise (a synchronous one is never awaited).
 */
async function timeInterleaved(fns, reps, sampleMs) {
  const calls = [];
  for (const fn of fns) calls.push(await calibrate(fn, sampleMs));
  const samples = fns.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < fns.length; k++) {
      const fn = fns[k];
      const t0 = performance.now();
      for (let i = 0; i < calls[k]; i++) await call(fn);
      samples[k].push((performance.now() - t0) / calls[k]);
    }
  }
  return samples;
}

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
 * ort: {version} or {reason} when not installed, rows: [{shape, axis,
 * elements, batchNormLayout, ours, batchNorm, copy, oursNewStats, bareKernel,
 * overheadUs (ours - bare kernel, minimums), ortShape, ortPreallocated,
 * ortAllocating, ortPreallocatedFills}]} where each timing
 * is {medianMs, minMs, medianNs, minNs} (the ORT ones null without it), plus
 * speedup (tf.batchNorm / ours), vsCopy (ours / copy) and newStatsSpeedup
 * (tf.batchNorm / ours with new statistics), medians of per-repetition
 * ratios, and speedupMin, ortPreallocatedVsOurs, ortAllocatingVsOurs: ratios
 * of minimums (theirs / ours: above 1, ours is faster).
 */
async function runWasmBench({reps = DEFAULT_REPS, shapes = BENCH_SHAPES} = {}) {
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  const random = prng(2024);
  const {ort, version: ortVersion, reason: ortReason} = loadOrt();
  const rows = [];
  for (const {shape, axis} of shapes) {
    const {size, ax, lastShape, x, gamma, beta, mean, variance, xLast} = benchInputs(random, shape, axis);

    const statValues = [gamma, beta, mean, variance].map((t) => t.dataSync());
    const kernel = tf.getKernel('BatchNormInference', 'wasm');
    const backend = tf.backend();
    const oShape = ortShape(shape, axis);
    const peer = ort && oShape ? await ortCalls(ort, {
      shape: oShape, x: x.dataSync(), gamma: statValues[0], beta: statValues[1],
      mean: statValues[2], variance: statValues[3], epsilon: 1e-3,
    }) : null;
    const samples = await timeInterleaved([
      () => batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3, axis}).dispose(),
      () => tf.batchNorm(xLast, mean, variance, beta, gamma, 1e-3).dispose(),
      () => heapCopy(x).dispose(),
      () => {
        const s = statValues.map((v) => tf.tensor1d(v));
        batchNormInference(x, s[0], s[1], s[2], s[3], {epsilon: 1e-3, axis}).dispose();
        tf.dispose(s);
      },
      // the registered kernel called directly: what the op and the engine add
      // on top of it (checks, conversion, bookkeeping) is ours - bare
      () => backend.disposeData(kernel.kernelFunc({inputs: {x, gamma, beta, mean, variance}, backend,
                                                   attrs: {epsilon: 1e-3, axis}}).dataId),
      ...(peer ? [peer.preallocated, peer.allocating] : []),
    ], reps, MIN_MS);
    if (peer) await peer.release();
    const [ours, batchNorm, copy, oursNewStats, bareKernel, ortPreallocated = null, ortAllocating = null] =
        samples.map((s) => {
          const medianMs = median(s);
          const minMs = minimum(s);
          return {medianMs, minMs, medianNs: medianMs * 1e6 / size, minNs: minMs * 1e6 / size};
        });
    rows.push({
      shape, axis, elements: size, ours, batchNorm, copy, oursNewStats,
      speedup: medianRatio(samples[1], samples[0]), speedupMin: batchNorm.minMs / ours.minMs,
      vsCopy: medianRatio(samples[0], samples[2]), newStatsSpeedup: medianRatio(samples[1], samples[3]),
      batchNormLayout: ax === shape.length - 1 ? 'same' : `[${lastShape}] axis -1`,
      bareKernel, overheadUs: (ours.minMs - bareKernel.minMs) * 1e3,
      ortShape: oShape, ortPreallocated, ortAllocating,
      ortPreallocatedFills: peer ? peer.preallocatedFills : null,
      ortPreallocatedVsOurs: peer ? ortPreallocated.minMs / ours.minMs : null,
      ortAllocatingVsOurs: peer ? ortAllocating.minMs / ours.minMs : null,
    });
    tf.dispose([x, gamma, beta, mean, variance, xLast]);
  }
  return {
    backend: 'wasm', reps, node: process.version, tfjs: tf.version_core,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    ort: ort ? {version: ortVersion} : {reason: ortReason}, rows,
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
  lines.push(...formatOrtTable(result));
  return lines.join('\n');
}

/** The onnxruntime-web table: the peer beside ours, from the same rounds. */
function formatOrtTable(result) {
  const f = (v, d = 2) => v.toFixed(d);
  if (!result.ort || !result.ort.version) {
    return ['', `onnxruntime-web: not measured (${result.ort ? result.ort.reason : 'no result'}).`];
  }
  const ns = (t) => `${f(t.medianNs)} / ${f(t.minNs)}`;
  const lines = [
    '',
    `onnxruntime-web ${result.ort.version}, wasm execution provider, numThreads 1, one-node ` +
        'BatchNormalization model; ns per element, median / minimum; ratios of minimums ' +
        '(theirs / ours: above 1, ours is faster)',
    '',
    '| shape (ORT shape) | ours ns/el | ORT pre-allocated (b) ns/el | ORT allocating ns/el | ' +
        'ORT pre-allocated / ours | ORT allocating / ours | tf.batchNorm / ours | ' +
        'bare kernel ns/el (c) | op - bare kernel, us (c) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    if (!r.ortPreallocated) {
      lines.push(`| [${r.shape}] axis ${r.axis} | ${ns(r.ours)} | n/a | n/a | n/a | n/a | ` +
                 `${f(r.speedupMin)}x | ${ns(r.bareKernel)} | ${f(r.overheadUs, 1)} |`);
      continue;
    }
    lines.push(`| [${r.shape}] ([${r.ortShape}]) | ${ns(r.ours)} | ${ns(r.ortPreallocated)} | ` +
               `${ns(r.ortAllocating)} | ${f(r.ortPreallocatedVsOurs)}x | ${f(r.ortAllocatingVsOurs)}x | ` +
               `${f(r.speedupMin)}x | ${ns(r.bareKernel)} | ${f(r.overheadUs, 1)} |`);
  }
  const filled = result.rows.filter((r) => r.ortPreallocatedFills !== null);
  const unfilled = filled.filter((r) => !r.ortPreallocatedFills).length;
  lines.push('');
  lines.push(`(b) session.run(feeds, {Y: preallocated}): in onnxruntime-web 1.30.0 the given output ` +
             'is not filled (microsoft/onnxruntime#25786), so this is a LOWER BOUND on a real call; ' +
             `in this run it was left unfilled on ${unfilled} of ${filled.length} shapes.`);
  lines.push('ORT gets the same values as ours, read in its channels-first layout; both its calls ' +
             'include copying x into its heap. Its allocating call was checked against the formula ' +
             'in float64 (relative error 1e-5) before timing.');
  lines.push('(c) bare kernel = the registered wasm kernel function called directly (its own input ' +
             'checks included); op - bare kernel = difference of minimums: the op\'s checks and ' +
             'conversions and the engine\'s bookkeeping per call.');
  return lines;
}

module.exports = {runWasmBench, formatWasmTable};

if (require.main === module) benchMain(runWasmBench, formatWasmTable, DEFAULT_REPS);
