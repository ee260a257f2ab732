/**
 * BatchNormInference on the cpu backend.
 *
 * The statistics are folded once per call into a float64 scale and shift per
 * channel (kernels/shared/channel_params.ts); then one pass over x computes `x * scale + shift` in float64 and
 * rounds once to float32, so each element is within half an ulp of float32 of
 * the exact formula (plus float64 error, ~2^-52 of the terms). x is walked as
 * outer x channels x inner blocks, which covers every rank and axis without a
 * transpose or a copy.
 *
 * Two implementations of that pass, with the same float64 operations and the
 * same single rounding, so the same bits (NaN wherever the other gives NaN):
 * - WebAssembly SIMD (batch_norm_simd.ts, .wat: f64x2, x copied through the
 *   module's memory in 64 KiB chunks), the default wherever simdLayoutFor
 *   picks one of its two loops: x of at least MIN_SIMD_SIZE elements in any
 *   layout, except channels-last data with more channels than its table holds
 *   (over 16384, or 1024 if odd) or fewer rows than one table pattern, and
 *   channels-first data with over 16384 channels.
 *   Measured with node bench/cpu.js on a 2-core VM (3 runs each way, ratios
 *   within a run; the machine is noisy), tf.batchNorm / ours:
 *       shape               axis   JS loops    SIMD
 *       [1,224,224,64]       -1    2.8-4.0x    5.5-6.6x
 *       [1,64,224,224]        1    3.6-4.2x    5.5-8.7x
 *       [32,56,56,128]       -1    2.7-3.3x    3.7-6.1x
 *       [64,256]              1    3.6-3.8x    5.9-6.2x
 *       [1,7,7,1024]         -1    3.6-3.8x    6.1-7.1x
 *   The SIMD loop itself, both copies included, takes 0.6-0.9 ns per element
 *   against 3-7 for the JS loops; the rest is the output's allocation.
 * - The JS loops below: tiny x (the SIMD path's ~0.5 us fixed cost loses
 *   there), the layouts above, int32 x given to the kernel directly, the
 *   unfolded form (an infinite scale), no WebAssembly SIMD (Safari < 16.4, a
 *   CSP without 'wasm-unsafe-eval'), and the TFBNI_CPU_WASM flag set false.
 */
import {env, KernelConfig, KernelFunc, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../../src/kernel_names';
import {checkKernelInputs} from '../shared/check_inputs';
import {channelBlocks, foldChannelParams} from '../shared/channel_params';
import {batchNormSimd, simdLayoutFor} from './batch_norm_simd';

function values(backend: MathBackendCPU, t: TensorInfo): TypedArray {
  return backend.data.get(t.dataId).values as TypedArray;
}

/**
 * Channels-last (inner === 1), at least 8 channels: the channel index runs
 * fastest. Unrolled by eight, which V8 compiles to code as tight as a flat
 * `x * a + b` loop (measured: the plain loop is ~1.6x slower, by four ~1.15x).
 */
function channelsLast(
    x: TypedArray, out: Float32Array, scale: Float64Array, shift: Float64Array,
    outer: number, channels: number) {
  const unrolled = channels & ~7;
  for (let o = 0, base = 0; o < outer; o++, base += channels) {
    let c = 0;
    for (; c < unrolled; c += 8) {
      const i = base + c;
      out[i] = x[i] * scale[c] + shift[c];
      out[i + 1] = x[i + 1] * scale[c + 1] + shift[c + 1];
      out[i + 2] = x[i + 2] * scale[c + 2] + shift[c + 2];
      out[i + 3] = x[i + 3] * scale[c + 3] + shift[c + 3];
      out[i + 4] = x[i + 4] * scale[c + 4] + shift[c + 4];
      out[i + 5] = x[i + 5] * scale[c + 5] + shift[c + 5];
      out[i + 6] = x[i + 6] * scale[c + 6] + shift[c + 6];
      out[i + 7] = x[i + 7] * scale[c + 7] + shift[c + 7];
    }
    for (; c < channels; c++) {
      out[base + c] = x[base + c] * scale[c] + shift[c];
    }
  }
}

/**
 * Channels-last with few channels (RGB images, [N, 2] data): a row is too
 * short for a loop of its own, so walk a cache-sized block of rows once per
 * channel with the channel's scale and shift held in registers.
 */
function fewChannelsLast(
    x: TypedArray, out: Float32Array, scale: Float64Array, shift: Float64Array,
    outer: number, channels: number) {
  const rowsPerBlock = Math.max(1, Math.floor(BLOCK_ELEMENTS / channels));
  for (let o0 = 0; o0 < outer; o0 += rowsPerBlock) {
    const end = Math.min(outer, o0 + rowsPerBlock) * channels;
    for (let c = 0; c < channels; c++) {
      const s = scale[c];
      const t = shift[c];
      for (let i = o0 * channels + c; i < end; i += channels) {
        out[i] = x[i] * s + t;
      }
    }
  }
}

/**
 * The unfolded form, for the rare call where a scale is infinite (see
 * channel_params.ts): (x - mean) * scale + beta keeps IEEE semantics there.
 */
function unfolded(
    x: TypedArray, out: Float32Array, scale: Float64Array, mean: TypedArray,
    beta: TypedArray, outer: number, channels: number, inner: number) {
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      for (let end = i + inner; i < end; i++) {
        out[i] = (x[i] - mean[c]) * scale[c] + beta[c];
      }
    }
  }
}

/** Elements per block in fewChannelsLast: 64 KiB of input, well inside L2. */
const BLOCK_ELEMENTS = 16384;
/** Below this many channels, channels-last data takes the blocked loop. */
const FEW_CHANNELS = 8;

/** Channels before the spatial run (inner > 1): a long run per channel. */
function channelsFirst(
    x: TypedArray, out: Float32Array, scale: Float64Array, shift: Float64Array,
    outer: number, channels: number, inner: number) {
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scale[c];
      const t = shift[c];
      const end = i + inner;
      for (; i < end; i++) {
        out[i] = x[i] * s + t;
      }
    }
  }
}

/**
 * The tfjs flag choosing the path: true (default) runs the WebAssembly SIMD
 * module where it is faster, false always the JS loops (tf.env().set(
 * 'TFBNI_CPU_WASM', false), or ?tfjsflags=TFBNI_CPU_WASM:false in a page).
 * Tests run the shared cases both ways.
 */
export const CPU_WASM_FLAG = 'TFBNI_CPU_WASM';

/**
 * Registers CPU_WASM_FLAG unless some copy of this package already did (a
 * second registration would replace the first's evaluation function and, with
 * a ?tfjsflags= URL override, warn again).
 */
export function registerCpuWasmFlag(): void {
  const e = env();
  const registry = (e as unknown as {flagRegistry?: Record<string, unknown>}).flagRegistry;
  if (registry != null && registry[CPU_WASM_FLAG] != null) return;
  e.registerFlag(CPU_WASM_FLAG, () => true);
}
registerCpuWasmFlag();

/** Runs the SIMD path if it applies (see the top of this file). */
function useSimd(
    x: TypedArray, channels: number, inner: number, out: Float32Array, scale: Float64Array,
    shift: Float64Array): boolean {
  if (!(x instanceof Float32Array) || !env().getBool(CPU_WASM_FLAG)) return false;
  const layout = simdLayoutFor(channels, inner, x.length);
  return layout !== null && batchNormSimd(layout, x, out, scale, shift, channels, inner);
}

export function batchNormInference(args: {
  inputs: BatchNormInferenceInputs,
  backend: MathBackendCPU,
  attrs: BatchNormInferenceAttrs,
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance, axis} = checkKernelInputs(inputs, attrs, 'cpu');
  const {outer, channels, inner} = channelBlocks(x.shape, axis);

  const betaValues = values(backend, beta);
  const meanValues = values(backend, mean);
  const {scale, shift, foldable} = foldChannelParams(
      values(backend, gamma), betaValues, meanValues, values(backend, variance), attrs.epsilon);
  const xValues = values(backend, x);
  const out = new Float32Array(xValues.length);
  if (!foldable) {
    unfolded(xValues, out, scale, meanValues, betaValues, outer, channels, inner);
  } else if (useSimd(xValues, channels, inner, out, scale, shift)) {
    // done by the WebAssembly SIMD module
  } else if (inner === 1 && channels < FEW_CHANNELS) {
    fewChannelsLast(xValues, out, scale, shift, outer, channels);
  } else if (inner === 1) {
    channelsLast(xValues, out, scale, shift, outer, channels);
  } else {
    channelsFirst(xValues, out, scale, shift, outer, channels, inner);
  }
  return backend.makeTensorInfo(x.shape, 'float32', out);
}

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'cpu',
  kernelFunc: batchNormInference as unknown as KernelFunc,
};
