/**
 * The per-channel `terms` tensor of the webgl kernel, [4, C], made once per
 * set of statistics and cached (kernels/shared/params_cache.ts): a call whose
 * four statistics (dataIds), epsilon, packing and texture format are
 * unchanged runs only the main program (batch_norm_inference_gpu.ts).
 *
 * Made either
 *  - on the CPU, in float64, when all four statistics have their values on
 *    the CPU (weights only this kernel reads): rounded once to float32 and
 *    uploaded with the first main program;
 *  - or on the GPU (channel_terms_gpu.ts) when they live in textures, in
 *    float32 with epsilon float32-rounded.
 * Rows: s = gamma / sqrt(variance + epsilon), t = beta - mean*s (or the
 * marker), mean/2, beta/2; see batch_norm_inference_gpu.ts for the forms.
 *
 * A channel takes the multiply-add form x*s + t when its scale s is representable
 * in the texture format and |t| <= formatLimits().shiftLimit, else the
 * centred form:
 *  - float32 textures: 2^100. Then x*s cannot overflow when the result y is
 *    representable (|x*s| <= |y| + |t| stays below the largest float32 plus
 *    half an ulp, 2^103), and the float32 rounding of x*s and t stays inside
 *    the tolerance relative to the terms (4 * 2^-24 of |x*s| + |mean*s| + |beta|).
 *  - half-float textures: none; every channel is centred. A shift t is
 *    stored with an 11-bit significand, so x*s + t loses up to ulp(t)/2 to
 *    cancellation when x ~ mean (x = 300, mean = 299, s = 200: t = -59800,
 *    ulp 32, gave 212 for 200); the centred form's error is relative to the
 *    result. (On float32 textures the centred form for every channel cost a
 *    second terms fetch per texel, measured slower in bench/webgl.js, so the
 *    multiply-add form stays there.)
 * A centred channel's t is stored as `marker`, a finite value above every
 * multiply-add |t| after rounding to the format (2^127, resp. 65504).
 */
import {env, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {channelScales} from '../shared/channel_scale';
import {cachedChannelTerms, cachePerBackend} from '../shared/params_cache';

import {ChannelTermsPackedProgram, ChannelTermsProgram, channelTermsUniforms} from './channel_terms_gpu';

const HALF_FLOAT_MAX = 65504;

/** The largest multiply-add |shift|, the largest |scale| and the marker, by texture format (see above). */
function formatLimits(halfFloat: boolean):
    {shiftLimit: number, scaleLimit: number, marker: number} {
  return halfFloat ? {shiftLimit: -1, scaleLimit: HALF_FLOAT_MAX, marker: HALF_FLOAT_MAX} :
                     {shiftLimit: 2 ** 100, scaleLimit: Infinity, marker: 2 ** 127};
}

/** The terms, and the t value flagging a centred channel (a uniform of the main program). */
export interface Terms {
  /** [4, C]. */
  terms: TensorInfo;
  marker: number;
}

/**
 * Computes in float64 and rounds once to float32: rows s, t (or the marker
 * where the channel is centred), mean/2, beta/2.
 */
function termsOnCpu(
    gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>,
    variance: ArrayLike<number>, epsilon: number, halfFloat: boolean): Float32Array {
  const channels = gamma.length;
  const {shiftLimit, scaleLimit, marker} = formatLimits(halfFloat);
  const values = new Float32Array(4 * channels);
  const scales = channelScales(gamma, variance, epsilon);
  for (let c = 0; c < channels; c++) {
    const s = scales[c];
    const t = beta[c] - mean[c] * s;
    const multiplyAdd = Math.abs(Math.fround(s)) <= scaleLimit && Math.abs(t) <= shiftLimit;
    values[c] = s;
    values[channels + c] = multiplyAdd ? t : marker;
    values[2 * channels + c] = mean[c] / 2;
    values[3 * channels + c] = beta[c] / 2;
  }
  return values;
}

const termsCache = cachePerBackend<MathBackendWebGL, Terms>(
    (backend, t) => backend.disposeIntermediateTensorInfo(t.terms));

/**
 * The terms for these statistics: from the cache, or made (on the CPU when
 * `cpuStatistics` holds their values, else on the GPU); `transient` ones
 * (see cachedChannelTerms) are the caller's to dispose after the call.
 */
export function channelTerms(
    backend: MathBackendWebGL, statistics: TensorInfo[],
    cpuStatistics: Array<ArrayLike<number>>|null, epsilon: number,
    packed: boolean): {value: Terms, transient: boolean} {
  const halfFloat = !env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  const variant = `webgl [s; t; mean/2; beta/2] ${packed ? 'packed' : 'unpacked'}|${halfFloat ? 'f16' : 'f32'}`;
  const {shiftLimit, marker} = formatLimits(halfFloat);
  return cachedChannelTerms(termsCache(backend), statistics, epsilon, variant, () => {
    const channels = statistics[0].shape[0];
    if (cpuStatistics != null) {
      const [g, b, m, v] = cpuStatistics;
      const values = termsOnCpu(g, b, m, v, epsilon, halfFloat);
      return {terms: backend.makeTensorInfo([4, channels], 'float32', values), marker};
    }
    const program = packed ? new ChannelTermsPackedProgram(channels) : new ChannelTermsProgram(channels);
    // Keep a packed result packed even if WEBGL_LAZILY_UNPACK is off: the main
    // program reads it packed.
    const terms = backend.runWebGLProgram(
        program, statistics, 'float32', channelTermsUniforms(epsilon, shiftLimit, marker), packed);
    return {terms, marker};
  });
}
