/**
 * BatchNormInference on the webgpu backend (tfjs-backend-webgpu 4.x; tested
 * with 4.22).
 *
 * Two programs: the channel terms program (channel_terms_webgpu.ts) turns the
 * four statistics into one `terms` buffer [mean; scale; beta], and the main
 * program (batch_norm_inference_webgpu.ts, which explains the formula, the
 * precision choice and the variants) normalizes x with it. `terms` is cached
 * per backend, keyed by the statistics' dataIds and epsilon
 * (kernels/shared/params_cache.ts, which also states the IS_TEST policy), and
 * released when one of the statistics is: a layer's call, whose weights do
 * not change, is ONE dispatch; a call with new statistics is two.
 *
 * x is handed to the main program flattened to rank 1 (a view of the same
 * buffer, nothing is copied) and the output, computed as [size], is returned
 * with x's shape, as tfjs's own Reshape kernel aliases buffers. So the
 * program needs none of tfjs's coordinate arithmetic (which stops at rank 6),
 * the channel axis can be any axis without a transpose, and the compiled
 * pipeline does not depend on the rank.
 *
 * Only types are imported from tfjs-backend-webgpu: the browser bundle maps
 * @tensorflow/* imports to the page's global `tf`, and in Node importing this
 * package must not load the webgpu backend.
 */
import {env, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {WEBGPU_VEC4_FLAG} from '../flags';
import {channelBlocks} from '../shared/channel_axis';
import {BatchNormInferenceKernelArgs, batchNormInferenceKernelConfig, checkKernelInputs} from '../shared/check_inputs';
import {cachedChannelTerms, cachePerBackend, CachedTerms} from '../shared/params_cache';

import {BatchNormInferenceProgram, BatchNormInferenceVariant} from './batch_norm_inference_webgpu';
import {runChecked} from './checked_dispatch';
import {ChannelTermsProgram} from './channel_terms_webgpu';

/** The variant for a layout, and the `inner` / `channels` uniforms in its units. */
export function chooseVariant(inner: number, channels: number, vec4 = true):
    {variant: BatchNormInferenceVariant, inner: number, channels: number} {
  if (vec4 && inner === 1 && channels % 4 === 0) {
    return {variant: 'last4', inner: 1, channels: channels / 4};
  }
  if (vec4 && inner % 4 === 0) return {variant: 'inner4', inner: inner / 4, channels};
  return {variant: 'scalar', inner, channels};
}

function flat(t: TensorInfo): TensorInfo {
  return {dataId: t.dataId, shape: [util.sizeFromShape(t.shape)], dtype: t.dtype};
}

/** The cached terms of each backend, released with the statistics. */
const termsCache = cachePerBackend<WebGPUBackend, TensorInfo>(
    (backend, terms) => backend.disposeData(terms.dataId));

/** [mean; scale; beta] for these statistics and epsilon: cached, or computed now. */
function channelTerms(
    backend: WebGPUBackend, statistics: TensorInfo[], channels: number,
    epsilon: number): CachedTerms<TensorInfo> {
  return cachedChannelTerms(termsCache(backend), statistics, epsilon, 'webgpu [mean; scale; beta]',
                            () => runChecked(backend, new ChannelTermsProgram(channels), statistics, [
                              {type: 'int32', data: [channels]},
                              {type: 'float32', data: [epsilon]},
                            ]));
}

export function batchNormInference(args: BatchNormInferenceKernelArgs<WebGPUBackend>): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance, axis, epsilon, channels} =
      checkKernelInputs(inputs, attrs, 'webgpu');
  const size = util.sizeFromShape(x.shape);
  if (size === 0) return backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0));

  const terms = channelTerms(backend, [gamma, beta, mean, variance], channels, epsilon);
  const layout = chooseVariant(
      channelBlocks(x.shape, axis).inner, channels, env().getBool(WEBGPU_VEC4_FLAG));
  try {
    const out = runChecked(
        backend, new BatchNormInferenceProgram(size, layout.variant), [flat(x), terms.value], [
          {type: 'int32', data: [layout.inner]},
          {type: 'int32', data: [layout.channels]},
        ]);
    return {dataId: out.dataId, shape: x.shape.slice(), dtype: 'float32'};
  } finally {
    if (terms.transient) backend.disposeData(terms.value.dataId);
  }
}

export const batchNormInferenceConfig: KernelConfig =
    batchNormInferenceKernelConfig('webgpu', batchNormInference);
