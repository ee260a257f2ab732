/**
 * Per-channel folding for the webgl kernel's folded form (the cpu and wasm
 * kernels use the centred form of rounded_batch_norm.ts): the four statistics
 * become one scale and one shift, computed in float64, so the per-element
 * work is a multiply-add with no sqrt, division or modulo:
 *
 *     scale[c] = gamma[c] / sqrt(variance[c] + epsilon)
 *     shift[c] = beta[c] - mean[c] * scale[c]
 *     y        = x * scale[c] + shift[c]
 *
 * The folded form equals the formula under IEEE arithmetic (NaN and infinities
 * included) except where a scale is infinite (gamma infinite, or variance ==
 * -epsilon): there x * scale + shift is Inf - Inf = NaN where the formula gives
 * an infinity. The webgl kernel marks such a channel unsafe and computes it in
 * its centred form, (x - mean) * scale + beta.
 */
import {channelScales} from '../shared/channel_scale';

export interface ChannelParams {
  scale: Float64Array;
  shift: Float64Array;
}

type Numbers = ArrayLike<number>;

export function foldChannelParams(
    gamma: Numbers, beta: Numbers, mean: Numbers, variance: Numbers,
    epsilon: number): ChannelParams {
  const channels = gamma.length;
  const scale = channelScales(gamma, variance, epsilon);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) shift[c] = beta[c] - mean[c] * scale[c];
  return {scale, shift};
}
