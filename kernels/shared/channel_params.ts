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
export interface ChannelParams {
  scale: Float64Array;
  shift: Float64Array;
}

type Numbers = ArrayLike<number>;

export function foldChannelParams(
    gamma: Numbers, beta: Numbers, mean: Numbers, variance: Numbers,
    epsilon: number): ChannelParams {
  const channels = gamma.length;
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = gamma[c] / Math.sqrt(variance[c] + epsilon);
    scale[c] = s;
    shift[c] = beta[c] - mean[c] * s;
  }
  return {scale, shift};
}

/**
 * Splits a shape around the channel axis into outer x channels x inner, the
 * block layout every kernel iterates (no transpose needed for any axis).
 */
export function channelBlocks(shape: number[], axis: number):
    {outer: number, channels: number, inner: number} {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return {outer, channels: shape[axis], inner};
}
