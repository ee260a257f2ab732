/*
 * Timing pieces the Node benches (bench/cpu.js, bench/wasm.js) share: the
 * interleaved sampler and the seeded uniform inputs. Medians, minimums and
 * ratios come from tools/stats.js.
 */
'use strict';

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

/** n values uniform in [lo, hi) from `random` (a tools/stats.js prng). */
function uniform(random, n, lo, hi) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
  return a;
}

module.exports = {calibrate, timeInterleaved, uniform};
