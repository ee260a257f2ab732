/**
 * BatchNormInference on the cpu backend.
 *
 * The statistics are folded once per call into a float64 scale and shift per
 * channel; then one pass over x computes `x * scale + shift` in float64 and
 * rounds once to float32, so each element is within half an ulp of float32 of
 * the exact formula (plus float64 error, ~2^-52 of the terms). x is walked as
 * outer x channels x inner blocks, which covers every rank and axis without a
 * transpose or a copy.
 */
import {KernelConfig, KernelFunc, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs, requireInputs} from '../../src/kernel_names';
import {channelBlocks, foldChannelParams} from '../channel_params';

function values(backend: MathBackendCPU, t: TensorInfo): TypedArray {
  return backend.data.get(t.dataId).values as TypedArray;
}

/** Channels-last (inner === 1): the channel index runs fastest. */
function channelsLast(
    x: TypedArray, out: Float32Array, scale: Float64Array, shift: Float64Array,
    outer: number, channels: number) {
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++, i++) {
      out[i] = x[i] * scale[c] + shift[c];
    }
  }
}

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

export function batchNormInference(args: {
  inputs: BatchNormInferenceInputs,
  backend: MathBackendCPU,
  attrs: BatchNormInferenceAttrs,
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance} = requireInputs(inputs, 'cpu');
  const rank = x.shape.length;
  const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
  const {outer, channels, inner} = channelBlocks(x.shape, axis);

  const {scale, shift} = foldChannelParams(
      values(backend, gamma), values(backend, beta), values(backend, mean),
      values(backend, variance), attrs.epsilon);
  const xValues = values(backend, x);
  const out = new Float32Array(xValues.length);
  if (inner === 1) {
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
