/**
 * BatchNormInference on the webgpu backend (tfjs-backend-webgpu 4.x; tested
 * with 4.22): one compute dispatch per call, see batch_norm_inference_webgpu.ts
 * for the formula, the precision choice and the variants.
 *
 * x is handed to the program flattened to rank 1 (a view of the same buffer,
 * nothing is copied) and the output, computed as [size], is returned with x's
 * shape, as tfjs's own Reshape kernel aliases buffers. So the program needs
 * no coordinate arithmetic of tfjs's (which stops at rank 6), the channel
 * axis can be any axis without a transpose, and the compiled pipeline does
 * not depend on the rank.
 *
 * Only types are imported from tfjs-backend-webgpu: the browser bundle maps
 * @tensorflow/* imports to the page's global `tf`, and in Node importing this
 * package must not load the webgpu backend.
 */
import {KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../../src/kernel_names';
import {channelBlocks} from '../shared/channel_params';
import {checkKernelInputs} from '../shared/check_inputs';

import {BatchNormInferenceProgram, BatchNormInferenceVariant} from './batch_norm_inference_webgpu';

/** The variant for a layout, and the `inner` / `channels` uniforms in its units. */
export function chooseVariant(inner: number, channels: number):
    {variant: BatchNormInferenceVariant, inner: number, channels: number} {
  if (inner === 1 && channels % 4 === 0) return {variant: 'last4', inner: 1, channels: channels / 4};
  if (inner % 4 === 0) return {variant: 'inner4', inner: inner / 4, channels};
  return {variant: 'scalar', inner, channels};
}

function flat(t: TensorInfo): TensorInfo {
  return {dataId: t.dataId, shape: [util.sizeFromShape(t.shape)], dtype: t.dtype};
}

export function batchNormInference(args: {
  inputs: BatchNormInferenceInputs,
  backend: WebGPUBackend,
  attrs: BatchNormInferenceAttrs,
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance, axis, epsilon} =
      checkKernelInputs(inputs, attrs, 'webgpu');
  const size = util.sizeFromShape(x.shape);
  if (size === 0) return backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0));

  const blocks = channelBlocks(x.shape, axis);
  const {variant, inner, channels} = chooseVariant(blocks.inner, blocks.channels);
  const program = new BatchNormInferenceProgram(size, variant);
  const out = backend.runWebGPUProgram(
      program, [flat(x), gamma, beta, mean, variance], 'float32', [
        {type: 'int32', data: [inner]},
        {type: 'int32', data: [channels]},
        {type: 'float32', data: [epsilon]},
      ]);
  return {dataId: out.dataId, shape: x.shape.slice(), dtype: 'float32'};
}

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'webgpu',
  kernelFunc: batchNormInference as unknown as KernelFunc,
};
