/**
 * Loader and driver of the SIMD core (batch_norm_core.wat, bytes generated in
 * batch_norm_core_wasm.ts), shared by the cpu kernel and the wasm backend's
 * kernel. The core works on a memory it imports, so each caller brings its
 * own: the cpu kernel a small fixed WebAssembly.Memory it streams x through,
 * the wasm kernel the backend's heap (tensors in place, no copy).
 *
 * API
 *
 *     const core = instantiateBatchNormCore(memory);  // null: no SIMD here
 *     const terms = channelTerms(gamma, beta, mean, variance, epsilon);
 *     const layout = coreLayoutFor(channels, inner, size, maxTableBytes);
 *     writeTable(memory, tablePtr, layout, terms);  // tableBytes(layout) bytes, 8-aligned
 *     // any split of [0, size) into blocks (periodic: block starts at
 *     // multiples of layout.period), each:
 *     if (runCore(core, layout, xPtr, yPtr, start, n, tablePtr)) {
 *       recheckRange(x, out, start, start + n, terms, channels, inner);
 *     }
 *
 * runCore computes elements [start, start + n) of x laid out as outer x
 * channels x inner (element i has channel floor(i / inner) mod channels), x's
 * element `start` at byte xPtr, the output's at yPtr (not overlapping x: a
 * group that fails the certificate is computed again from x). It returns
 * true when some element was flagged: the block's float32 outputs are then
 * correct except the flagged ones, which recheckRange
 * (kernels/shared/rounded_batch_norm.ts) finds and rounds exactly, reading x.
 * Small blocks keep a re-check cheap.
 *
 * Or all of it at once, for x, y and the table already in the memory (the
 * wasm backend):
 *
 *     writeTable(memory, tablePtr, layout, terms);  // unless it is there already
 *     runBlocks(core, layout, terms, xPtr, yPtr, size, tablePtr);
 *
 * Where WebAssembly or its SIMD is missing (Safari before 16.4) or compiling
 * is refused (a Content-Security-Policy without 'wasm-unsafe-eval'),
 * instantiateBatchNormCore returns null and the kernels use their JS loop.
 * The module (under the 4 KB browsers compile synchronously) is compiled with
 * `new WebAssembly.Module`, once per variant (plain or shared memory).
 */
import {ChannelTerms, recheckRange} from '../rounded_batch_norm';
import {BATCH_NORM_CORE_WASM, BATCH_NORM_CORE_WASM_SHARED} from './batch_norm_core_wasm';

interface CoreExports {
  periodic(x: number, y: number, n: number, tab: number, period: number): number;
  runs(x: number, y: number, n: number, inner: number, len: number, c: number, channels: number,
       tab: number): number;
}

/** The core instantiated on one memory. */
export interface BatchNormCore {
  readonly memory: WebAssembly.Memory;
  readonly exports: CoreExports;
}

/**
 * periodic: the channel pattern of one outer slab (channels * inner elements)
 * repeated to `period` elements, a multiple of 16, tabled per position
 * (ENTRY_BYTES each): 16 elements per SIMD step whatever the number of
 * channels. runs: one table entry per channel (ENTRY_BYTES); runs of `inner`
 * elements, 4 per SIMD step. See coreLayoutFor.
 */
export type CoreLayout =
    {kind: 'periodic', period: number, channels: number, inner: number}|
    {kind: 'runs', channels: number, inner: number};
// (channels and inner ride along in both: recheckRange needs them)

/**
 * Bytes per table entry: m, s, b as float64, then the certificate's words
 * (batch_norm_core.wat): a periodic pair of positions holds 2 m, 2 s, 2 b
 * and four i32, a runs channel m, s, b and two i32.
 */
export const ENTRY_BYTES = 32;
/** The certificate's low-word threshold (the band around a float32 boundary). */
const LOW_WORD_THRESHOLD = 0x80004001 | 0;
const words = new DataView(new ArrayBuffer(8));

/**
 * The certificate's high-word threshold for a channel with shift b:
 * 0x100000 + hi(L) rounded up, L = max(|b| 2^-9, 2^-126), so that a v passing
 * it has |v| >= L (rounded_batch_norm.ts, "The SIMD certificate"); capped so
 * that infinite and NaN v still fail. A non-finite b fails every element.
 */
export function certificateWord(b: number): number {
  if (!Number.isFinite(b)) return 0x7fffffff;
  words.setFloat64(0, Math.max(Math.abs(b) * 2 ** -9, 2 ** -126));
  return 0x100000 + Math.min(words.getUint32(0) + 1, 0x7fefffff);
}

/**
 * Runs at least this long take the runs loop even where a periodic table
 * would fit: a long run needs no table walk.
 */
export const RUNS_MIN_INNER = 16;

/** undefined: not tried; null: refused here. */
const modules: {plain?: WebAssembly.Module|null, shared?: WebAssembly.Module|null} = {};

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

function compile(shared: boolean): WebAssembly.Module|null {
  const bytes = shared ? BATCH_NORM_CORE_WASM_SHARED : BATCH_NORM_CORE_WASM;
  try {
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Module(bytes);
  } catch (e) {
    return null;
  }
}

/**
 * The core on `memory` (plain or shared), or null where WebAssembly SIMD (or,
 * for a shared memory, threads) is unavailable or refused.
 */
export function instantiateBatchNormCore(memory: WebAssembly.Memory): BatchNormCore|null {
  const shared = isShared(memory);
  const key = shared ? 'shared' : 'plain';
  if (modules[key] === undefined) modules[key] = compile(shared);
  const module = modules[key];
  if (module == null) return null;
  try {
    const instance = new WebAssembly.Instance(module, {env: {memory}});
    return {memory, exports: instance.exports as unknown as CoreExports};
  } catch (e) {
    return null;
  }
}

/** The channel pattern of one slab repeated to a multiple of 16 elements. */
export function periodOf(channels: number, inner: number): number {
  const slab = channels * inner;
  let repeat = 1;
  while ((slab * repeat) % 16 !== 0 && repeat < 16) repeat *= 2;
  return slab * repeat;
}

/** Bytes of the table `layout` needs. */
export function tableBytes(layout: CoreLayout): number {
  return ENTRY_BYTES * (layout.kind === 'periodic' ? layout.period : layout.channels);
}

/**
 * The layout for x of `size` elements as outer x channels x inner, or null
 * when no table fits in `maxTableBytes`:
 * - long runs (inner >= RUNS_MIN_INNER, channels-first images): runs;
 * - a pattern that fits and that x holds at least once (so the table never
 *   costs more than the data): periodic (channels-last data, short runs);
 * - else runs while one entry per channel fits.
 */
export function coreLayoutFor(
    channels: number, inner: number, size: number, maxTableBytes: number): CoreLayout|null {
  const runs: CoreLayout = {kind: 'runs', channels, inner};
  const runsFit = tableBytes(runs) <= maxTableBytes;
  if (runsFit && inner >= RUNS_MIN_INNER) return runs;
  const period = periodOf(channels, inner);
  const periodic: CoreLayout = {kind: 'periodic', period, channels, inner};
  if (tableBytes(periodic) <= maxTableBytes && period <= size) return periodic;
  return runsFit ? runs : null;
}

/** Each ChannelTerms' table images, by layout: built once per statistics and layout. */
const images = new WeakMap<ChannelTerms, Map<string, Uint8Array>>();

function layoutKey(layout: CoreLayout): string {
  return layout.kind === 'runs' ? `runs ${layout.channels}` :
                                  `periodic ${layout.period} ${layout.channels} ${layout.inner}`;
}

/**
 * The bytes of the layout's table of `terms` (tableBytes(layout) of them),
 * built on first use and kept with the terms (channel_terms_cache.ts keeps
 * the terms per statistics tensors), so a call with the same statistics
 * copies the table instead of building it.
 */
export function tableImage(layout: CoreLayout, terms: ChannelTerms): Uint8Array {
  let byLayout = images.get(terms);
  if (byLayout === undefined) images.set(terms, byLayout = new Map());
  const key = layoutKey(layout);
  let image = byLayout.get(key);
  if (image === undefined) byLayout.set(key, image = buildTable(layout, terms));
  return image;
}

/** Writes the layout's table of `terms` at byte tablePtr (8-aligned) of memory. */
export function writeTable(
    memory: WebAssembly.Memory, tablePtr: number, layout: CoreLayout, terms: ChannelTerms): void {
  const image = tableImage(layout, terms);
  new Uint8Array(memory.buffer, tablePtr, image.length).set(image);
}

function buildTable(layout: CoreLayout, terms: ChannelTerms): Uint8Array {
  const {m, s, b} = terms;
  const bytes = new ArrayBuffer(tableBytes(layout));
  const f64 = new Float64Array(bytes);
  const i32 = new Int32Array(bytes);
  if (layout.kind === 'runs') {
    for (let c = 0, at = 0; c < layout.channels; c++, at += 4) {
      f64[at] = m[c];
      f64[at + 1] = s[c];
      f64[at + 2] = b[c];
      i32[2 * at + 6] = LOW_WORD_THRESHOLD;
      i32[2 * at + 7] = certificateWord(b[c]);
    }
    return new Uint8Array(bytes);
  }
  // position j of the pattern has channel floor((j mod slab) / inner); per
  // pair of positions: 2 m, 2 s, 2 b, then 4 words
  const {period, channels, inner} = layout;
  for (let j = 0, c = 0, k = 0, at = 0; j < period; j += 2, at += 8) {
    for (let lane = 0; lane < 2; lane++) {
      f64[at + lane] = m[c];
      f64[at + 2 + lane] = s[c];
      f64[at + 4 + lane] = b[c];
      i32[2 * at + 12 + 2 * lane] = LOW_WORD_THRESHOLD;
      i32[2 * at + 13 + 2 * lane] = certificateWord(b[c]);
      if (++k === inner) {
        k = 0;
        if (++c === channels) c = 0;
      }
    }
  }
  return new Uint8Array(bytes);
}

/**
 * Computes elements [start, start + n) (see the top of this file); true when
 * some element was flagged. periodic: start must be a multiple of the period.
 */
export function runCore(
    core: BatchNormCore, layout: CoreLayout, xPtr: number, yPtr: number, start: number, n: number,
    tablePtr: number): boolean {
  if (n <= 0) return false;
  if (layout.kind === 'periodic') {
    if (start % layout.period !== 0) {
      throw new Error(`periodic SIMD core: block start ${start} is not a multiple of the ` +
                      `period ${layout.period}`);
    }
    return core.exports.periodic(xPtr, yPtr, n, tablePtr, layout.period) !== 0;
  }
  const {channels, inner} = layout;
  const run = Math.floor(start / inner);
  return core.exports.runs(xPtr, yPtr, n, inner, inner - (start - run * inner), run % channels,
                           channels, tablePtr) !== 0;
}

/** Elements per block in runBlocks: a flagged block is re-checked in JS. */
export const BLOCK = 16384;

/**
 * The whole tensor for x, y and the layout's table of `terms` already in the
 * core's memory (x's element 0 at byte xPtr, y's at yPtr, not overlapping:
 * the re-check reads x; the table at tablePtr, written by writeTable): runs
 * the core in blocks and rounds the flagged elements exactly. y is then
 * final.
 */
export function runBlocks(
    core: BatchNormCore, layout: CoreLayout, terms: ChannelTerms, xPtr: number, yPtr: number,
    size: number, tablePtr: number): void {
  if (Math.abs(yPtr - xPtr) < 4 * size) {
    throw new Error('runBlocks: x and y overlap (the re-check of a flagged block reads x)');
  }
  const block = layout.kind === 'periodic' ?
      Math.max(1, Math.floor(BLOCK / layout.period)) * layout.period : BLOCK;
  for (let start = 0; start < size; start += block) {
    const n = Math.min(block, size - start);
    if (runCore(core, layout, xPtr + 4 * start, yPtr + 4 * start, start, n, tablePtr)) {
      // views made after the call: the memory may have grown since the caller's
      const {buffer} = core.memory;
      recheckRange(new Float32Array(buffer, xPtr, size), new Float32Array(buffer, yPtr, size), start,
                   start + n, terms, layout.channels, layout.inner);
    }
  }
}
