/**
 * The WebAssembly SIMD path of the cpu kernel: loader and chunk driver for
 * the module compiled from batch_norm_simd.wat (bytes in
 * batch_norm_simd_wasm.ts, generated).
 *
 * The module computes f32(f64(x) * scale + shift) with f64x2 instructions:
 * the same float64 operations and single rounding as the kernel's JS loops,
 * so its output is bit-identical to theirs, infinities and -0 included, and
 * NaN exactly where they give NaN (which NaN, its sign and payload, IEEE 754
 * leaves open; V8's JS itself varies it between tiers). x
 * is processed in chunks of at most CHUNK elements: copied into the module's
 * memory (Float32Array.prototype.set, a memcpy), transformed in place there,
 * copied out into the output array the kernel allocated.
 *
 * Memory: one instance per process, created on first use, of a fixed 320 KiB
 * declared in the .wat and never grown (growing detaches the old
 * ArrayBuffer, and after any detach V8 adds checks to every typed-array access
 * in the process: measured, tf.batchNorm on the cpu backend ran 1.5-2x slower
 * for the rest of the process):
 *
 *     [0, 64 KiB)           the chunk, CHUNK float32
 *     [64 KiB, 320 KiB)     the current call's scale/shift table, float64
 *
 * Two loops, two table layouts (both written once per call):
 * - periodic: the channel pattern of one outer slab (channels * inner
 *   elements) repeated to a multiple of 16 elements (`periodOf`), per pair of
 *   positions 2 scales then 2 shifts. Chunks are a whole number of patterns,
 *   so each starts at position 0. Every step is SIMD, whatever the number of
 *   channels (odd, 1, 3, ...). Used for channels-last data and short runs.
 * - runs: one (scale, shift) entry per channel; the loop walks runs of
 *   `inner` elements, 4 per SIMD step with the channel's scale and shift
 *   splatted, the last (inner mod 4) one at a time. Chunks cut runs anywhere:
 *   the driver passes the channel and remaining length of the first run.
 *
 * The module (well under the 4 KB browsers compile synchronously on the main
 * thread) is compiled with `new WebAssembly.Module`. Where WebAssembly or its
 * SIMD is missing (Safari before 16.4), or compiling is refused (a
 * Content-Security-Policy without 'wasm-unsafe-eval'), `simdAvailable()` is
 * false and the kernel keeps its JS loops, silently.
 */
import {BATCH_NORM_SIMD_WASM} from './batch_norm_simd_wasm';

interface SimdExports {
  memory: WebAssembly.Memory;
  periodic(p: number, n: number, tab: number, period: number): void;
  runs(p: number, n: number, inner: number, len: number, c: number, channels: number,
       tab: number): void;
}

/** Elements per chunk: 64 KiB of float32, well inside L2. */
export const CHUNK = 16384;
/** Bytes for the table, after the chunk (the module has 5 pages in all). */
const TABLE_BYTES = 262144;
/** Longest pattern a periodic table holds (16 bytes per position). */
export const MAX_PERIOD = TABLE_BYTES / 16;
/** Most channels a runs table holds (16 bytes per channel). */
export const MAX_RUN_CHANNELS = TABLE_BYTES / 16;
/**
 * Runs at least this long take the runs loop even where a periodic table
 * would fit (measured: equal at 16, runs ahead beyond; periodic ahead below).
 */
export const RUNS_MIN_INNER = 16;
/**
 * Smaller x stays on the JS loops: the SIMD path has a fixed cost of ~0.5 us
 * (table, views, the call) that the JS loop only makes up from ~100 elements.
 */
export const MIN_SIMD_SIZE = 128;

const DATA = 0;
const TABLE = CHUNK * 4;
/** The memory the module declares, fixed. */
export const SIMD_MEMORY_BYTES = TABLE + TABLE_BYTES;

interface Instance {
  wasm: SimdExports;
  f32: Float32Array;
  f64: Float64Array;
}

/** undefined: not tried yet; null: unavailable in this process. */
let instance: Instance|null|undefined;

function instantiate(): Instance|null {
  try {
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(BATCH_NORM_SIMD_WASM)) {
      return null;
    }
    const module = new WebAssembly.Module(BATCH_NORM_SIMD_WASM);
    // (not named `exports`: in CommonJS output that name is the module's own)
    const wasm = new WebAssembly.Instance(module, {}).exports as unknown as SimdExports;
    const {buffer} = wasm.memory;
    if (buffer.byteLength !== SIMD_MEMORY_BYTES) return null;
    return {wasm, f32: new Float32Array(buffer), f64: new Float64Array(buffer)};
  } catch (e) {
    return null;
  }
}

function getInstance(): Instance|null {
  if (instance === undefined) instance = instantiate();
  return instance;
}

/** Whether the SIMD module runs here (compiles it on the first call). */
export function simdAvailable(): boolean {
  return getInstance() !== null;
}

/** Bytes of the module's memory (0 before first use or if unavailable). */
export function simdMemoryBytes(): number {
  return instance ? instance.wasm.memory.buffer.byteLength : 0;
}

/**
 * The channel pattern of one outer slab (channels * inner elements) repeated
 * to a multiple of 16 elements, the periodic loop's step.
 */
export function periodOf(channels: number, inner: number): number {
  const slab = channels * inner;
  let repeat = 1;
  while ((slab * repeat) % 16 !== 0 && repeat < 16) repeat *= 2;
  return slab * repeat;
}

export type SimdLayout = 'periodic'|'runs';

/**
 * The SIMD loop the kernel uses for x of `size` elements laid out as outer x
 * channels x inner, or null where it keeps the JS loops. Measured (node
 * bench/cpu.js and per-loop timings, 2-core VM) the SIMD loops are 4-9x
 * faster than the JS loops, copies included, in every layout but tiny x:
 * - size < MIN_SIMD_SIZE: JS;
 * - inner >= RUNS_MIN_INNER (channels-first images): runs;
 * - the pattern fits MAX_PERIOD and x holds at least one pattern (so the
 *   table never costs more than the data): periodic (channels-last data,
 *   short runs);
 * - other inner > 1 with at most MAX_RUN_CHANNELS channels: runs (short
 *   runs, mostly one element at a time, still ~2x the JS loop);
 * - the rest, JS: channels-last data whose pattern is longer than MAX_PERIOD
 *   (more than 16384 channels; 1024 if odd) or than x (fewer rows than one
 *   pattern), and inner > 1 with more than MAX_RUN_CHANNELS channels.
 */
export function simdLayoutFor(channels: number, inner: number, size: number): SimdLayout|null {
  if (size < MIN_SIMD_SIZE) return null;
  const runsFit = inner > 1 && channels <= MAX_RUN_CHANNELS;
  if (runsFit && inner >= RUNS_MIN_INNER) return 'runs';
  const period = periodOf(channels, inner);
  if (period <= MAX_PERIOD && period <= size) return 'periodic';
  return runsFit ? 'runs' : null;
}

function periodic(
    inst: Instance, x: Float32Array, out: Float32Array, scale: Float64Array,
    shift: Float64Array, channels: number, inner: number) {
  const period = periodOf(channels, inner);
  const {f64} = inst;
  // Position j of the pattern has channel floor((j mod slab) / inner); per
  // pair of positions, 2 scales then 2 shifts.
  for (let j = 0, c = 0, k = 0, at = TABLE / 8; j < period; j += 2, at += 4) {
    for (let lane = 0; lane < 2; lane++) {
      f64[at + lane] = scale[c];
      f64[at + 2 + lane] = shift[c];
      if (++k === inner) {
        k = 0;
        if (++c === channels) c = 0;
      }
    }
  }
  const {f32, wasm} = inst;
  // Whole patterns per chunk (the module rounds n up to 16; the padding stays
  // inside the chunk area since chunk is a multiple of 16).
  const chunk = Math.floor(CHUNK / period) * period;
  const size = x.length;
  for (let start = 0; start < size; start += chunk) {
    const n = Math.min(chunk, size - start);
    f32.set(x.subarray(start, start + n), DATA / 4);
    wasm.periodic(DATA, n, TABLE, period);
    out.set(f32.subarray(DATA / 4, DATA / 4 + n), start);
  }
}

function runs(
    inst: Instance, x: Float32Array, out: Float32Array, scale: Float64Array,
    shift: Float64Array, channels: number, inner: number) {
  const {f64} = inst;
  for (let c = 0, at = TABLE / 8; c < channels; c++, at += 2) {
    f64[at] = scale[c];
    f64[at + 1] = shift[c];
  }
  const {f32, wasm} = inst;
  const size = x.length;
  for (let start = 0; start < size; start += CHUNK) {
    const n = Math.min(CHUNK, size - start);
    const run = Math.floor(start / inner);
    f32.set(x.subarray(start, start + n), DATA / 4);
    wasm.runs(DATA, n, inner, inner - (start - run * inner), run % channels, channels, TABLE);
    out.set(f32.subarray(DATA / 4, DATA / 4 + n), start);
  }
}

/**
 * out[i] = f32(x[i] * scale[c] + shift[c]) for x laid out as outer x channels
 * x inner (c the channel of element i), with the given loop; any layout works
 * with either loop while its table fits (periodOf(...) <= MAX_PERIOD,
 * channels <= MAX_RUN_CHANNELS).
 * Returns false, leaving `out` untouched, when the module is unavailable.
 */
export function batchNormSimd(
    layout: SimdLayout, x: Float32Array, out: Float32Array, scale: Float64Array,
    shift: Float64Array, channels: number, inner: number): boolean {
  const inst = getInstance();
  if (inst === null) return false;
  if (x.length === 0) return true;
  if (layout === 'periodic') {
    if (periodOf(channels, inner) > MAX_PERIOD) {
      throw new Error(`periodic SIMD loop: a pattern of ${channels} x ${inner} does not fit`);
    }
    periodic(inst, x, out, scale, shift, channels, inner);
  } else {
    if (channels > MAX_RUN_CHANNELS) {
      throw new Error(`runs SIMD loop: ${channels} channels do not fit`);
    }
    runs(inst, x, out, scale, shift, channels, inner);
  }
  return true;
}
