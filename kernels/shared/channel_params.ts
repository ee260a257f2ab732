/**
 * Per-channel folding shared by the kernels: the four statistics become one
 * scale and one shift, computed once per call in float64, so the per-element
 * work is a multiply-add with no sqrt, division or modulo:
 *
 *     scale[c] = gamma[c] / sqrt(variance[c] + epsilon)
 *     shift[c] = beta[c] - mean[c] * scale[c]
 *     y        = x * scale[c] + shift[c]
 *
 * The folded form equals the formula under IEEE arithmetic (NaN and infinities
 * included) except where a scale is infinite (gamma infinite, or variance ==
 * -epsilon): there x * scale + shift is Inf - Inf = NaN where the formula gives
 * an infinity. `foldable` is false in that case and kernels take their
 * unfolded path, (x - mean) * scale + beta.
 */
export interface ChannelParams {
  scale: Float64Array;
  shift: Float64Array;
  /** Every scale is finite or NaN, so x * scale + shift is exact in IEEE terms. */
  foldable: boolean;
}

type Numbers = ArrayLike<number>;

export function foldChannelParams(
    gamma: Numbers, beta: Numbers, mean: Numbers, variance: Numbers,
    epsilon: number): ChannelParams {
  const channels = gamma.length;
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  let foldable = true;
  for (let c = 0; c < channels; c++) {
    const s = gamma[c] / Math.sqrt(variance[c] + epsilon);
    scale[c] = s;
    shift[c] = beta[c] - mean[c] * s;
    if (s === Infinity || s === -Infinity) foldable = false;
  }
  return {scale, shift, foldable};
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
