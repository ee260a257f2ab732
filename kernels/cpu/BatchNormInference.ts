/**
 * BatchNormInference on the cpu backend.
 *
 * Each element is the float32 nearest to the exact formula (ties to even,
 * signed zeros included) wherever that is a real number, and the IEEE
 * evaluation of the formula elsewhere (NaN, infinities): float64 arithmetic
 * with a proven error bound, and exact integer rounding for the rare element
 * the bound cannot decide (kernels/shared/rounded_batch_norm.ts). x is walked
 * as outer x channels x inner blocks, which covers every rank and axis without
 * a transpose or a copy.
 *
 * Two implementations of the same IEEE operations, bit-identical:
 * - the WebAssembly SIMD core (batch_norm_simd.ts), wherever it loads and x
 *   has at least MIN_SIMD_SIZE elements and its table fits (every layout but
 *   more than 16384 channels);
 * - the plain JS loop: tiny x, those layouts, no WebAssembly SIMD (Safari
 *   before 16.4, a CSP without 'wasm-unsafe-eval'), and the TFBNI_CPU_WASM
 *   flag set false.
 */
import {env, KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../kernel_names';
import {channelBlocks} from '../shared/channel_params';
import {checkKernelInputs} from '../shared/check_inputs';
import {cachedTerms} from '../shared/channel_terms_cache';
import {roundedBatchNorm} from '../shared/rounded_batch_norm';
import {batchNormSimd, simdLayoutFor} from './batch_norm_simd';

/**
 * The tfjs flag choosing the path: true (default) runs the WebAssembly SIMD
 * core where it applies, false always the JS loop (tf.env().set(
 * 'TFBNI_CPU_WASM', false) once the flag is registered, or
 * ?tfjsflags=TFBNI_CPU_WASM:false in a page). Registered when the cpu backend
 * sets up this kernel or on the first call, not on import; call
 * registerCpuWasmFlag() to set it earlier.
 */
export const CPU_WASM_FLAG = 'TFBNI_CPU_WASM';

function flagRegistered(): boolean {
  // tfjs-core 4.22 keeps registered flags in Environment.flagRegistry (not in
  // its public typings).
  const registry = (env() as unknown as {flagRegistry?: Record<string, unknown>}).flagRegistry;
  return registry != null && registry[CPU_WASM_FLAG] != null;
}

/**
 * Registers CPU_WASM_FLAG (default true) unless registered already, by this
 * or another copy of the package: a second registration would replace the
 * first's evaluation function and, with a ?tfjsflags= URL override, warn
 * again.
 */
export function registerCpuWasmFlag(): void {
  if (!flagRegistered()) env().registerFlag(CPU_WASM_FLAG, () => true);
}

function values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  // checkKernelInputs has checked every dtype is float32
  return backend.data.get(t.dataId).values as Float32Array;
}

export function batchNormInference(args: {
  inputs: BatchNormInferenceInputs,
  backend: MathBackendCPU,
  attrs: BatchNormInferenceAttrs,
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const checked = checkKernelInputs(inputs, attrs, 'cpu');
  const {x} = checked;
  const {outer, channels, inner} = channelBlocks(x.shape, checked.axis);
  // A model calls with the same statistics tensors every time: their channel
  // terms are computed once (named "ours, new stats" in bench/cpu.js).
  const terms = cachedTerms({...checked, read: (t) => values(backend, t)});
  const xValues = values(backend, x);
  const out = new Float32Array(xValues.length);
  registerCpuWasmFlag();
  const layout = env().getBool(CPU_WASM_FLAG) ? simdLayoutFor(channels, inner, xValues.length) : null;
  if (layout === null || !batchNormSimd(layout, xValues, out, terms)) {
    roundedBatchNorm(xValues, out, terms, outer, channels, inner);
  }
  return backend.makeTensorInfo(x.shape, 'float32', out);
}

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'cpu',
  kernelFunc: batchNormInference as unknown as KernelFunc,
  // registers the flag when the cpu backend is set, so that it can be set
  // before the first call
  setupFunc: registerCpuWasmFlag,
};
