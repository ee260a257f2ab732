/*
 * The one list of tensor shapes every per-op benchmark (cpu, wasm, webgl,
 * webgpu) measures. Loaded by Node (require) and by the bench pages (a plain
 * <script>, which sets globalThis.TFBNI_BENCH_SHAPES).
 *
 * Large activations (where memory bandwidth decides), a channels-first one,
 * and dispatch-bound small ones (where per-call overhead decides).
 */
(function (root) {
  'use strict';
  const BENCH_SHAPES = [
    {shape: [1, 224, 224, 64], axis: -1},
    {shape: [1, 64, 224, 224], axis: 1},
    {shape: [32, 56, 56, 128], axis: -1},
    {shape: [1, 32, 32, 48], axis: -1},
    {shape: [64, 256], axis: 1},
    {shape: [1, 7, 7, 1024], axis: -1},
  ];
  if (typeof module === 'object' && module.exports) module.exports = {BENCH_SHAPES};
  else root.TFBNI_BENCH_SHAPES = BENCH_SHAPES;
})(typeof globalThis !== 'undefined' ? globalThis : this);
