/**
 * The per-channel `params` tensor of the webgl kernel, made once per set of
 * statistics and cached (kernels/shared/params_cache.ts): a call whose four
 * statistics (dataIds), epsilon, packing and texture format are unchanged
 * runs no fold at all, only the main program.
 *
 * Made either
 *  - on the CPU, in float64, when all four statistics have their values on
 *    the CPU (weights only this kernel reads): rounded once to float32 and
 *    uploaded with the first main program;
 *  - or on the GPU (channel_terms_gpu.ts) when they live in textures, in
 *    float32 with epsilon float32-rounded.
 * Rows: s, t (or the marker), mean/2, beta/2; see batch_norm_inference_gpu.ts.
 *
 * A channel is safe to fold when its scale s is representable in the texture
 * format and its shift t = beta - mean*s has |t| <= formatLimits().shiftLimit:
 *  - float32 textures: 2^100. Then x*s cannot overflow when the result y is
 *    representable (|x*s| <= |y| + |t| stays below the largest float32 plus
 *    half an ulp, 2^103), and the float32 rounding of x*s and t stays inside
 *    the tolerance relative to the terms.
 *  - half-float textures: 65000 (t is stored as a half float, largest 65504).
 *    The arithmetic is float32, so x*s cannot overflow for half-float x.
 * An unsafe channel's t is stored as `marker`, a finite value above every
 * safe |t| after rounding to the format (2^127, resp. 65504).
 */
import {env, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {foldChannelParams} from '../shared/channel_params';
import {cachePerBackend} from '../shared/params_cache';

import {ChannelTermsPackedProgram, ChannelTermsProgram, channelTermsUniforms} from './channel_terms_gpu';

const HALF_FLOAT_MAX = 65504;

/** Whether the backend stores tensors in half-float textures (flags read per call). */
export function halfFloatTextures(): boolean {
  return !env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
}

/** The largest safe |shift|, the largest |scale| and the marker, by texture format (see above). */
export function formatLimits(halfFloat: boolean):
    {shiftLimit: number, scaleLimit: number, marker: number} {
  return halfFloat ? {shiftLimit: 65000, scaleLimit: HALF_FLOAT_MAX, marker: HALF_FLOAT_MAX} :
                     {shiftLimit: 2 ** 100, scaleLimit: Infinity, marker: 2 ** 127};
}

export interface Params {
  /** [4, C]. */
  params: TensorInfo;
  /** The t value flagging an unsafe channel (a uniform of the main program). */
  marker: number;
  /** Not cached: the caller disposes `params` after the call. */
  transient?: boolean;
}

/**
 * tfjs's kernel leak check (flag IS_TEST, which tfjs's own test setups set)
 * counts the backend's data ids around every kernel call, so params kept in
 * the cache would read as a leak: under it nothing is cached and the caller
 * disposes the params after the call.
 */
function cachingAllowed(): boolean {
  return !env().getBool('IS_TEST');
}

/**
 * Folds in float64 and rounds once to float32: rows s, t (or the marker where
 * the channel is unsafe), mean/2, beta/2.
 */
export function foldOnCpu(
    gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>,
    variance: ArrayLike<number>, epsilon: number, halfFloat: boolean): Float32Array {
  const channels = gamma.length;
  const {scale, shift} = foldChannelParams(gamma, beta, mean, variance, epsilon);
  const {shiftLimit, scaleLimit, marker} = formatLimits(halfFloat);
  const values = new Float32Array(4 * channels);
  for (let c = 0; c < channels; c++) {
    const safe = Math.abs(Math.fround(scale[c])) <= scaleLimit && Math.abs(shift[c]) <= shiftLimit;
    values[c] = scale[c];
    values[channels + c] = safe ? shift[c] : marker;
    values[2 * channels + c] = mean[c] / 2;
    values[3 * channels + c] = beta[c] / 2;
  }
  return values;
}

const paramsCache = cachePerBackend<MathBackendWebGL, Params>(
    (backend, p) => backend.disposeIntermediateTensorInfo(p.params));

/**
 * The params for these statistics: from the cache, or made (on the CPU when
 * `cpuStatistics` holds their values, else on the GPU) and cached (unless
 * cachingAllowed() is false: then they come back `transient`, for the
 * caller to dispose).
 */
export function channelParams(
    backend: MathBackendWebGL, statistics: TensorInfo[],
    cpuStatistics: Array<ArrayLike<number>>|null, epsilon: number, packed: boolean): Params {
  const [gamma, beta, mean, variance] = statistics;
  const halfFloat = halfFloatTextures();
  const cache = paramsCache(backend);
  const key = {
    gamma: gamma.dataId, beta: beta.dataId, mean: mean.dataId, variance: variance.dataId,
    epsilon, variant: `${packed ? 'packed' : 'unpacked'}|${halfFloat ? 'f16' : 'f32'}`,
  };
  const cached = cache.get(key);
  if (cached != null) return cached;
  const keep = (p: Params) => (cachingAllowed() ? cache.set(key, p) : {...p, transient: true});
  const channels = gamma.shape[0];
  if (cpuStatistics != null) {
    const [g, b, m, v] = cpuStatistics;
    const values = foldOnCpu(g, b, m, v, epsilon, halfFloat);
    const params = backend.makeTensorInfo([4, channels], 'float32', values);
    return keep({params, marker: formatLimits(halfFloat).marker});
  }
  const fold = packed ? new ChannelTermsPackedProgram(channels) : new ChannelTermsProgram(channels);
  // Keep a packed result packed even if WEBGL_LAZILY_UNPACK is off: the main
  // program reads it packed.
  const {shiftLimit, marker} = formatLimits(halfFloat);
  const params = backend.runWebGLProgram(
      fold, statistics, 'float32', channelTermsUniforms(epsilon, shiftLimit, marker), packed);
  return keep({params, marker});
}
