/**
 * BatchNormInference on the wasm backend (@tensorflow/tfjs-backend-wasm).
 *
 * x is read from, and y written into, the backend's own heap: no copy of the
 * tensor leaves WebAssembly memory. The per-channel scale s = gamma /
 * sqrt(variance + epsilon) is computed once per call in float64, then every
 * element is computed in the centred form
 *
 *     y = f32((x - mean[c]) * s[c] + beta[c])      (float64 arithmetic)
 *
 * which keeps IEEE semantics where s is infinite (no Inf - Inf from a folded
 * shift). x is walked as outer x channels x inner blocks, so every rank and
 * axis works without a transpose.
 *
 * The backend object comes from the kernel's `backend` argument; this file
 * imports only types from @tensorflow/tfjs-backend-wasm, so the package
 * never loads it (it is an optional peer dependency).
 */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../../src/kernel_names';
import {channelBlocks, foldChannelParams} from '../shared/channel_params';
import {checkKernelInputs} from '../shared/check_inputs';
import {WasmHeap, wasmHeap} from './wasm_heap';

/** A float32 view of `length` elements of the heap at byte `offset`. */
function f32(heap: WasmHeap, offset: number, length: number): Float32Array {
  return new Float32Array(heap.buffer(), offset, length);
}

/**
 * The centred form in a JS loop over Float32Array views of the heap: one
 * run of `inner` elements per (outer, channel) with the channel's
 * parameters held in locals.
 */
function centredLoop(
    x: Float32Array, y: Float32Array, scale: Float64Array, mean: Float32Array,
    beta: Float32Array, outer: number, channels: number, inner: number) {
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scale[c];
      const m = mean[c];
      const b = beta[c];
      for (const end = i + inner; i < end; i++) y[i] = (x[i] - m) * s + b;
    }
  }
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
  // Allocate first: allocating may grow the memory, which invalidates views.
  const out = backend.makeOutput(x.shape, 'float32');
  if (size === 0) return out;

  const heap = wasmHeap(backend);
  const view = (t: TensorInfo, n: number) => f32(heap, heap.offsetOf(t), n);
  const meanValues = view(mean, channels);
  const betaValues = view(beta, channels);
  const {scale} = foldChannelParams(
      view(gamma, channels), betaValues, meanValues, view(variance, channels), epsilon);
  centredLoop(view(x, size), view(out, size), scale, meanValues, betaValues, outer, channels,
              inner);
  return out;
}

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'wasm',
  kernelFunc: batchNormInference as unknown as KernelFunc,
};
