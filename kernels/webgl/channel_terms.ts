/**
 * The per-channel `terms` tensor of the webgl kernel, [3, C] with rows mean,
 * scale = gamma / sqrt(variance + epsilon) and beta (the webgpu kernel's row
 * order), made once per set of statistics and cached
 * (kernels/shared/params_cache.ts): a call whose four statistics (dataIds),
 * epsilon, packing and texture format are unchanged runs only the main
 * program (batch_norm_inference_gpu.ts).
 *
 * Made either
 *  - on the CPU, when all four statistics have their values on the CPU
 *    (weights only this kernel reads): the scale in float64, rounded once to
 *    float32, uploaded with the first main program;
 *  - or on the GPU (channel_terms_gpu.ts) when they live in textures, in
 *    float32 with epsilon float32-rounded.
 * Either way the texture format rounds each term once more (to an 11-bit
 * significand on half-float textures).
 */
import {env, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {cachedChannelTerms, cachePerBackend, CachedTerms} from '../shared/params_cache';

import {ChannelTermsPackedProgram, ChannelTermsProgram, channelTermsUniforms} from './channel_terms_gpu';

/** Rows mean, scale (float64, rounded once to float32), beta. */
function termsOnCpu(
    gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>,
    variance: ArrayLike<number>, epsilon: number): Float32Array {
  const channels = gamma.length;
  const values = new Float32Array(3 * channels);
  for (let c = 0; c < channels; c++) {
    values[c] = mean[c];
    values[channels + c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
    values[2 * channels + c] = beta[c];
  }
  return values;
}

const termsCache = cachePerBackend<MathBackendWebGL, TensorInfo>(
    (backend, terms) => backend.disposeIntermediateTensorInfo(terms));

/**
 * The terms for these statistics: from the cache, or made (on the CPU when
 * `cpuStatistics` holds their values, else on the GPU); `transient` ones
 * (see cachedChannelTerms) are the caller's to dispose after the call.
 */
export function channelTerms(
    backend: MathBackendWebGL, statistics: TensorInfo[],
    cpuStatistics: Array<ArrayLike<number>>|null, epsilon: number,
    packed: boolean): CachedTerms<TensorInfo> {
  const halfFloat = !env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  const variant = `webgl [mean; scale; beta] ${packed ? 'packed' : 'unpacked'}|${halfFloat ? 'f16' : 'f32'}`;
  return cachedChannelTerms(termsCache(backend), statistics, epsilon, variant, () => {
    const channels = statistics[0].shape[0];
    if (cpuStatistics != null) {
      const [g, b, m, v] = cpuStatistics;
      return backend.makeTensorInfo([3, channels], 'float32', termsOnCpu(g, b, m, v, epsilon));
    }
    const program = packed ? new ChannelTermsPackedProgram(channels) : new ChannelTermsProgram(channels);
    // Keep a packed result packed even if WEBGL_LAZILY_UNPACK is off: the main
    // program reads it packed.
    return backend.runWebGLProgram(
        program, statistics, 'float32', channelTermsUniforms(epsilon), packed);
  });
}
