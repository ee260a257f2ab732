/**
 * BatchNormInference on the wasm backend (@tensorflow/tfjs-backend-wasm).
 *
 * x is read from, and y written into, the backend's own heap: nothing is
 * copied out of WebAssembly memory. Each element is the float32 nearest to
 * the exact formula (kernels/shared/rounded_batch_norm.ts: the centred form
 * (x - mean) * s + beta in float64 with an error bound, and an exact rounding
 * for the rare element the bound cannot decide).
 *
 * Two implementations of that arithmetic, bit-identical:
 * - the SIMD core (kernels/shared/simd/), instantiated once per heap on the
 *   backend's own WebAssembly.Memory (the shared-memory variant when the
 *   threaded backend's heap is a SharedArrayBuffer) and called with pointers
 *   to x, y and the table (runBlocks: block by block, a block the core flags
 *   re-checked in JS and its flagged elements rounded exactly). The table
 *   lives in one allocation per heap kept between calls (at most
 *   MAX_TABLE_BYTES, never freed), rewritten only when the statistics or
 *   layout change: a model's repeated call copies nothing;
 * - the JS loop over Float32Array views of the heap, where the core cannot
 *   run: no WebAssembly SIMD (the backend's own non-SIMD build, Safari before
 *   16.4), a Content-Security-Policy refusing to compile, a backend version
 *   that does not expose its memory, or no layout whose table fits.
 *
 * The per-channel terms are computed once per statistics tensors and
 * epsilon (kernels/shared/channel_terms_cache.ts). Named in bench/wasm.js ("ours, new
 * stats" misses the cache every call); the win is the per-call work on small
 * x with many channels ([1,7,7,1024]).
 *
 * The backend object is the kernel's `backend` argument; only types are
 * imported from @tensorflow/tfjs-backend-wasm, so the package never loads it
 * (an optional peer dependency), and in the browser bundle the page's own
 * tf-backend-wasm script is the one used.
 */
import {KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {channelBlocks} from '../shared/channel_axis';
import {BatchNormInferenceKernelArgs, batchNormInferenceKernelConfig, checkKernelInputs} from '../shared/check_inputs';
import {ChannelTerms, roundedBatchNorm} from '../shared/rounded_batch_norm';
import {BatchNormCore, coreLayoutFor, CoreLayout, instantiateBatchNormCore, runBlocks, tableImage} from '../shared/simd/batch_norm_core';
import {cachedTerms} from '../shared/channel_terms_cache';
import {WasmHeap, wasmHeap} from './wasm_heap';

/**
 * Largest per-call table: a periodic table of up to 8192 positions, or a
 * runs table of as many channels (beyond that, the JS loop).
 */
export const MAX_TABLE_BYTES = 262144;

/** The core per heap memory (null: it cannot run on that memory). */
const cores = new WeakMap<WebAssembly.Memory, BatchNormCore|null>();

/** The heap's table allocation (kept between calls) and the table image in it. */
interface TableSlot {
  pointer: number;
  bytes: number;
  image: Uint8Array|null;
}

const tableSlots = new WeakMap<WebAssembly.Memory, TableSlot>();

/**
 * The byte offset of the layout's table of `terms` in the heap, written
 * unless it is there already; 0 when the allocation failed.
 */
function placeTable(heap: WasmHeap, memory: WebAssembly.Memory, layout: CoreLayout,
                    terms: ChannelTerms): number {
  const image = tableImage(layout, terms);
  let slot = tableSlots.get(memory);
  if (slot === undefined || slot.bytes < image.length) {
    if (slot !== undefined) heap.free(slot.pointer);
    tableSlots.delete(memory);
    const bytes = Math.max(image.length, 4096);
    const pointer = heap.malloc(bytes);
    if (pointer === 0) return 0;
    slot = {pointer, bytes, image: null};
    tableSlots.set(memory, slot);
  }
  if (slot.image !== image) {
    new Uint8Array(heap.buffer(), slot.pointer, image.length).set(image);
    slot.image = image;
  }
  return slot.pointer;
}

function coreFor(memory: WebAssembly.Memory): BatchNormCore|null {
  let core = cores.get(memory);
  if (core === undefined) {
    core = instantiateBatchNormCore(memory);
    cores.set(memory, core);
  }
  return core;
}

export function batchNormInference(args: BatchNormInferenceKernelArgs<BackendWasm>): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance, axis, epsilon, channels} =
      checkKernelInputs(inputs, attrs, 'wasm');
  const {outer, inner} = channelBlocks(x.shape, axis);
  const size = outer * channels * inner;
  const out = backend.makeOutput(x.shape, 'float32');
  if (size === 0) return out;

  const heap = wasmHeap(backend);
  const memory = heap.memory;
  const core = memory != null ? coreFor(memory) : null;
  const layout = core != null ? coreLayoutFor(channels, inner, size, MAX_TABLE_BYTES) : null;
  const view = (t: TensorInfo, n: number) => new Float32Array(heap.buffer(), heap.offsetOf(t), n);
  const terms = cachedTerms({gamma, beta, mean, variance, epsilon, read: (t) => view(t, channels)});
  // (placing the table may allocate, which may grow the heap and replace its
  // buffer: views are made after it; a failed allocation gives the JS loop,
  // never a write at 0)
  const table = memory != null && core != null && layout != null ?
      placeTable(heap, memory, layout, terms) : 0;
  if (core == null || layout == null || table === 0) {
    roundedBatchNorm(view(x, size), view(out, size), terms, outer, channels, inner);
    return out;
  }
  runBlocks(core, layout, terms, heap.offsetOf(x), heap.offsetOf(out), size, table);
  return out;
}

export const batchNormInferenceConfig: KernelConfig =
    batchNormInferenceKernelConfig('wasm', batchNormInference);
