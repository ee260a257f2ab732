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
 *   to x, y and a per-call table allocated in the heap (runInBlocks: block
 *   by block, a block the core flags re-checked in JS and its flagged
 *   elements rounded exactly);
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
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../kernel_names';
import {channelBlocks} from '../shared/channel_params';
import {checkKernelInputs} from '../shared/check_inputs';
import {roundedBatchNorm} from '../shared/rounded_batch_norm';
import {BatchNormCore, coreLayoutFor, instantiateBatchNormCore, runInBlocks, tableBytes} from '../shared/simd/batch_norm_core';
import {cachedTerms} from '../shared/channel_terms_cache';
import {wasmHeap} from './wasm_heap';

/**
 * Largest per-call table: a periodic table of up to 10922 positions, or a
 * runs table of as many channels (beyond that, the JS loop).
 */
export const MAX_TABLE_BYTES = 262144;

/** The core per heap memory (null: it cannot run on that memory). */
const cores = new WeakMap<WebAssembly.Memory, BatchNormCore|null>();

function coreFor(memory: WebAssembly.Memory): BatchNormCore|null {
  let core = cores.get(memory);
  if (core === undefined) {
    core = instantiateBatchNormCore(memory);
    cores.set(memory, core);
  }
  return core;
}

export function batchNormInference(args: {
  inputs: BatchNormInferenceInputs,
  backend: BackendWasm,
  attrs: BatchNormInferenceAttrs,
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance, axis, epsilon, channels} =
      checkKernelInputs(inputs, attrs, 'wasm');
  const {outer, inner} = channelBlocks(x.shape, axis);
  const size = outer * channels * inner;
  const out = backend.makeOutput(x.shape, 'float32');
  if (size === 0) return out;

  const heap = wasmHeap(backend);
  const core = heap.memory != null ? coreFor(heap.memory) : null;
  const layout = core != null ? coreLayoutFor(channels, inner, size, MAX_TABLE_BYTES) : null;
  // Allocate everything before making views: allocating may grow the heap,
  // which replaces its buffer.
  const table = layout != null ? heap.malloc(tableBytes(layout)) : 0;
  try {
    const view = (t: TensorInfo, n: number) =>
        new Float32Array(heap.buffer(), heap.offsetOf(t), n);
    const terms = cachedTerms(
        {gamma, beta, mean, variance, epsilon, read: (t) => view(t, channels)});
    // (a failed allocation returns 0: then the JS loop, never a write at 0)
    if (core == null || layout == null || table === 0) {
      roundedBatchNorm(view(x, size), view(out, size), terms, outer, channels, inner);
      return out;
    }
    runInBlocks(core, layout, terms, heap.offsetOf(x), heap.offsetOf(out), size, table);
    return out;
  } finally {
    if (table !== 0) heap.free(table);
  }
}

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'wasm',
  kernelFunc: batchNormInference as unknown as KernelFunc,
};
