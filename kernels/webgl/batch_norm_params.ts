/**
 * The per-channel `params` tensor of the webgl kernel, made once per set of
 * statistics and cached (kernels/shared/params_cache.ts): a call whose four
 * statistics (dataIds), epsilon, packing and texture format are unchanged
 * runs no fold at all, only the main program.
 *
 * Made either
 *  - on the CPU, in float64, when all four statistics have their values on
 *    the CPU (weights only this kernel reads): rounded once to float32 and
 *    uploaded with the first main program. The CPU sees the values, so it
 *    chooses the form: 'folded' when every channel is safe, else 'guarded';
 *  - or on the GPU (fold_params_gpu.ts) when they live in textures: always
 *    'guarded', with epsilon float32-rounded.
 *
 * A channel is safe to fold when its scale s and shift t = beta - mean*s are
 * representable in the texture format and |t| <= shiftLimit():
 *  - float32 textures: 2^100. Then x*s cannot overflow when the result y is
 *    representable (|x*s| <= |y| + |t| stays below the largest float32 plus
 *    half an ulp, 2^103), and the float32 rounding of x*s and t stays inside
 *    the tolerance relative to the terms.
 *  - half-float textures: 65504, the largest half float (t is stored in one).
 *    The arithmetic is float32, so x*s cannot overflow for half-float x.
 */
import {env, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {foldChannelParams} from '../shared/channel_params';
import {cachePerBackend} from '../shared/params_cache';

import {Form} from './batch_norm_inference_gpu';
import {FoldParamsPackedProgram, FoldParamsProgram, foldUniforms} from './fold_params_gpu';

const HALF_FLOAT_MAX = 65504;
const FLOAT32_SHIFT_LIMIT = 2 ** 100;

/** Whether the backend stores tensors in half-float textures (flags read per call). */
export function halfFloatTextures(): boolean {
  return !env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
}

/** The largest |shift| the folded form keeps, by texture format (see above). */
export function shiftLimit(halfFloat: boolean): number {
  return halfFloat ? HALF_FLOAT_MAX : FLOAT32_SHIFT_LIMIT;
}

export interface Params {
  /** [2, C] ('folded') or [4, C] ('guarded'). */
  params: TensorInfo;
  form: Form;
}

/**
 * Folds in float64 and rounds once to float32: rows (s, t) when every channel
 * is safe ('folded'), else rows (s, t or +Inf where unsafe, mean/2, beta/2).
 */
export function foldOnCpu(
    gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>,
    variance: ArrayLike<number>, epsilon: number, halfFloat: boolean):
    {values: Float32Array, form: Form} {
  const channels = gamma.length;
  const {scale, shift} = foldChannelParams(gamma, beta, mean, variance, epsilon);
  const limit = shiftLimit(halfFloat);
  const scaleLimit = halfFloat ? HALF_FLOAT_MAX : Infinity;
  const safe = (c: number) =>
      Math.abs(Math.fround(scale[c])) <= scaleLimit && Math.abs(shift[c]) <= limit;
  let allSafe = true;
  for (let c = 0; c < channels && allSafe; c++) allSafe = safe(c);
  const values = new Float32Array((allSafe ? 2 : 4) * channels);
  values.set(scale, 0);
  if (allSafe) {
    values.set(shift, channels);
    return {values, form: 'folded'};
  }
  for (let c = 0; c < channels; c++) {
    values[channels + c] = safe(c) ? shift[c] : Infinity;
    values[2 * channels + c] = mean[c] / 2;
    values[3 * channels + c] = beta[c] / 2;
  }
  return {values, form: 'guarded'};
}

const paramsCache = cachePerBackend<MathBackendWebGL, Params>(
    (backend, p) => backend.disposeIntermediateTensorInfo(p.params));

/**
 * The params for these statistics: from the cache, or made (on the CPU when
 * `cpuStatistics` holds their values, else on the GPU) and cached.
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
  const channels = gamma.shape[0];
  if (cpuStatistics != null) {
    const [g, b, m, v] = cpuStatistics;
    const {values, form} = foldOnCpu(g, b, m, v, epsilon, halfFloat);
    const params = backend.makeTensorInfo([values.length / channels, channels], 'float32', values);
    return cache.set(key, {params, form});
  }
  const fold = packed ? new FoldParamsPackedProgram(channels) : new FoldParamsProgram(channels);
  // Keep a packed result packed even if WEBGL_LAZILY_UNPACK is off: the main
  // program reads it packed.
  const params = backend.runWebGLProgram(
      fold, statistics, 'float32', foldUniforms(epsilon, shiftLimit(halfFloat)), packed);
  return cache.set(key, {params, form: 'guarded'});
}
