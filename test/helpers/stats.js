/*
 * Small numeric helpers shared by the benchmarks (Node and bench pages), the
 * demo page and the test helpers: one seeded generator, one median. Loaded
 * with require() in Node and as a plain <script> in pages (sets
 * globalThis.tfbniStats).
 */
(function (root) {
  'use strict';

  /** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
  function prng(seed) {
    let a = seed >>> 0;
    return function next() {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function median(xs) {
    if (xs.length === 0) return NaN;
    const s = Array.from(xs).sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  }

  function minimum(xs) {
    return xs.length === 0 ? NaN : Math.min.apply(null, Array.from(xs));
  }

  /** Median over repetitions of the per-repetition ratio a[i] / b[i]. */
  function medianRatio(a, b) {
    return median(a.map(function (v, i) { return v / b[i]; }));
  }

  const api = {prng: prng, median: median, minimum: minimum, medianRatio: medianRatio};
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.tfbniStats = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
