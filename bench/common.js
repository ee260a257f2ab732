/*
 * Timing pieces the Node benches (bench/cpu.js, bench/wasm.js) share: the
 * interleaved sampler, the seeded uniform inputs of each shape and the
 * command line. Medians, minimums and ratios come from test/helpers/stats.js.
 */
'use strict';
const tf = require('@tensorflow/tfjs-core');

/** How many calls of `fn` make one sample of at least `sampleMs` (after warm-up). */
function calibrate(fn, sampleMs) {
  for (let i = 0; i < 3; i++) fn();  // warm-up (JIT, allocation paths)
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    if (performance.now() - t0 >= sampleMs || calls >= 1 << 16) return calls;
    calls *= 2;
  }
}

/**
 * Samples (ms per call) of each function, taken round-robin (one sample of
 * each per repetition), so a change in machine load hits all alike.
 */
function timeInterleaved(fns, reps, sampleMs) {
  const calls = fns.map((fn) => calibrate(fn, sampleMs));
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

/** n values uniform in [lo, hi) from `random` (a test/helpers/stats.js prng). */
function uniform(random, n, lo, hi) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
  return a;
}

/**
 * One shape's inputs, drawn from `random` in this order: x, gamma, beta,
 * mean, variance and (for a channel axis other than the last) xLast.
 * tf.batchNorm broadcasts its 1-D statistics over the last axis, so it gets
 * xLast: the channels-last layout of the same size (x itself when the axis
 * is the last). Tensors on the current backend; the caller disposes them.
 */
function benchInputs(random, shape, axis) {
  const size = shape.reduce((a, b) => a * b, 1);
  const ax = axis < 0 ? axis + shape.length : axis;
  const C = shape[ax];
  const x = tf.tensor(uniform(random, size, -3, 3), shape);
  const gamma = tf.tensor1d(uniform(random, C, 0.5, 2));
  const beta = tf.tensor1d(uniform(random, C, -1, 1));
  const mean = tf.tensor1d(uniform(random, C, -1, 1));
  const variance = tf.tensor1d(uniform(random, C, 0.1, 2));
  const lastShape = [...shape.slice(0, ax), ...shape.slice(ax + 1), C];
  const xLast = ax === shape.length - 1 ? x : tf.tensor(uniform(random, size, -3, 3), lastShape);
  return {size, ax, lastShape, x, gamma, beta, mean, variance, xLast};
}

/**
 * The command line of a bench script, `node bench/<name>.js [--json] [--reps N]`:
 * runs `run({reps})` and prints its result as JSON or as `format` writes it.
 */
function benchMain(run, format, defaultReps) {
  const args = process.argv.slice(2);
  const repsAt = args.indexOf('--reps');
  run({reps: repsAt >= 0 ? Number(args[repsAt + 1]) : defaultReps}).then((result) => {
    console.log(args.includes('--json') ? JSON.stringify(result, null, 2) : format(result));
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = {benchInputs, benchMain, calibrate, timeInterleaved, uniform};
