/**
 * The cpu kernel's WebAssembly SIMD path: the shared core
 * (kernels/shared/simd/batch_norm_core.ts) on a small memory of this
 * module's own, x streamed through it in chunks: copied in
 * (Float32Array.prototype.set, a memcpy), computed into a second chunk (the
 * core reads x again for a group that fails its certificate, so not in
 * place), copied out into the output the kernel allocated; a chunk whose
 * call flags an element is re-checked from x (rounded_batch_norm.ts
 * recheckRange).
 *
 * Memory: one per process, created on first use, of a fixed MEMORY_PAGES and
 * never grown (growing detaches the old ArrayBuffer, and after any detach V8
 * adds checks to every typed-array access in the process):
 *
 *     [0, 64 KiB)            x's chunk, CHUNK float32
 *     [64 KiB, 128 KiB)      y's chunk
 *     [128 KiB, 640 KiB)     the current call's table (ENTRY_BYTES per entry)
 */
import {ChannelTerms, recheckRange} from '../shared/rounded_batch_norm';
import {BatchNormCore, CoreLayout, coreLayoutFor, ENTRY_BYTES, instantiateBatchNormCore, runCore, tableImage} from '../shared/simd/batch_norm_core';

/** Elements per chunk: 64 KiB of float32, well inside L2. */
export const CHUNK = 16384;
const X_CHUNK = 0;
const Y_CHUNK = CHUNK * 4;
const TABLE = CHUNK * 8;
/** Table bytes: 16384 entries. */
export const MAX_TABLE_BYTES = 16384 * ENTRY_BYTES;
/** The fixed memory: the two chunks and the table, in 64 KiB pages. */
export const MEMORY_PAGES = (TABLE + MAX_TABLE_BYTES) / 65536;
/**
 * Smaller x stays on the JS loop: the SIMD path's fixed cost per call (the
 * table, the call) is not made up below this.
 */
export const MIN_SIMD_SIZE = 128;

/** undefined: not tried yet; null: unavailable in this process. */
let core: BatchNormCore|null|undefined;
/** The table image in the memory now (a call with the same one skips the copy). */
let tableInMemory: Uint8Array|null = null;

function getCore(): BatchNormCore|null {
  if (core === undefined) {
    let memory: WebAssembly.Memory|null = null;
    try {
      memory = new WebAssembly.Memory({initial: MEMORY_PAGES, maximum: MEMORY_PAGES});
    } catch (e) {
      // no WebAssembly: the JS loop
    }
    core = memory && instantiateBatchNormCore(memory);
  }
  return core;
}

/** Whether the SIMD core runs here (instantiates it on the first call). */
export function simdAvailable(): boolean {
  return getCore() !== null;
}

/** Bytes of the core's memory (0 before first use or if unavailable). */
export function simdMemoryBytes(): number {
  return core ? core.memory.buffer.byteLength : 0;
}

/** The layout the cpu kernel uses, or null where it keeps the JS loop. */
export function simdLayoutFor(channels: number, inner: number, size: number): CoreLayout|null {
  return size < MIN_SIMD_SIZE ? null : coreLayoutFor(channels, inner, size, MAX_TABLE_BYTES);
}

/**
 * out = the rounded formula for x laid out as outer x channels x inner, with
 * the given layout (any layout whose table fits MAX_TABLE_BYTES). Returns
 * false, leaving `out` untouched, when the core is unavailable.
 */
export function batchNormSimd(
    layout: CoreLayout, x: Float32Array, out: Float32Array, terms: ChannelTerms): boolean {
  const c = getCore();
  if (c === null) return false;
  const image = tableImage(layout, terms);
  if (image !== tableInMemory) {
    new Uint8Array(c.memory.buffer, TABLE, image.length).set(image);
    tableInMemory = image;
  }
  const xChunk = new Float32Array(c.memory.buffer, X_CHUNK, CHUNK);
  const yChunk = new Float32Array(c.memory.buffer, Y_CHUNK, CHUNK);
  // periodic: whole patterns per chunk, so each starts at position 0
  const chunk = layout.kind === 'periodic' ? Math.floor(CHUNK / layout.period) * layout.period :
                                             CHUNK;
  const size = x.length;
  for (let start = 0; start < size; start += chunk) {
    const n = Math.min(chunk, size - start);
    xChunk.set(x.subarray(start, start + n));
    const flagged = runCore(c, layout, X_CHUNK, Y_CHUNK, start, n, TABLE);
    out.set(n === CHUNK ? yChunk : yChunk.subarray(0, n), start);
    if (flagged) recheckRange(x, out, start, start + n, terms, layout.channels, layout.inner);
  }
  return true;
}
