/**
 * The per-element arithmetic every CPU-side kernel (cpu, wasm) shares: float64
 * evaluation of the centred form with a proven error bound, and an exact
 * rounding for the rare element the bound cannot decide. The result is the
 * float32 nearest to the exact formula
 *
 *     y = gamma * (x - mean) / sqrt(variance + epsilon) + beta
 *
 * (ties to even, signed zeros included) whenever the inputs are finite and
 * variance + epsilon > 0; otherwise the IEEE evaluation of the formula
 * (NaN, infinities, the sign of zero).
 *
 * Per channel, once: m = mean, s = gamma / sqrt(variance + epsilon), b = beta
 * in float64. Per element:
 *
 *     p = (x - m) * s,   y64 = p + b,   err = (|p| + |y64|) * K,  K = 2^-50
 *
 * and out = f32(y64), which is the answer unless f32(y64 - err) and
 * f32(y64 + err) differ (bit patterns): then the exact value lies in an
 * interval holding a float32 rounding boundary and exact_round.ts decides.
 * The SIMD core (kernels/shared/simd/batch_norm_core.wat) runs these same IEEE
 * operations in the same order, so the two are bit-identical.
 *
 * Why K = 2^-50 bounds the error (u = 2^-53, round to nearest; each op's
 * result is r(1 + e) or r / (1 + e) with |e| <= u when it is normal, and
 * exact when an addition's result is subnormal). With finite inputs and
 * R = variance + epsilon > 0 nothing overflows and no product or quotient is
 * subnormal: |gamma|, |x - mean| >= 2^-149 when non-zero, R <= 2^1024 so
 * |s| >= 2^-149 / 2^512 and |p| >= 2^-810 when non-zero; |p| <= 2^129 * 2^665.
 * - x - m, fl(R), sqrt, the division, the product: five rounded ops, so
 *   p = p_exact * (1+e1)(1+e4)(1+e5) / ((1+e2)^(1/2) (1+e3)), and
 *   |p - p_exact| <= 4.6u |p_exact| <= 4.7u |p|.
 * - y64 = fl(p + b): |y64 - (p + b)| <= u |y64|.
 *   So |y64 - y| <= 4.7u |p| + u |y64|.
 * - err itself is rounded twice (the sum; the product by 2^-50 is exact, its
 *   result being normal when p != 0; when p = 0, y64 = b exactly and nothing
 *   needs covering): err >= 8u (1 - u) (|p| + |y64|).
 * - The endpoints fl(y64 -+ err) move inward by at most u (|y64| + err).
 *   The interval still contains y when err (1 - u) >= 4.7u |p| + 2u |y64|,
 *   which 8u (1 - u)^2 (|p| + |y64|) satisfies.
 * Rounding to float32 is monotone, so when both endpoints round to the same
 * float32 (same bits: -0 and +0 differ), so does every point between them,
 * y included. test/cpu_exact.test.ts checks the enclosure on inputs built
 * to cancel.
 *
 * The SIMD certificate. The SIMD core (batch_norm_core.wat) computes the same
 * y64 and stores f32(y64) without forming err, when two cheaper tests pass:
 *   (a) |y64| >= L = max(|b| 2^-9, 2^-126) (y64 finite);
 *   (b) the low 29 bits of y64's float64 encoding, low29, are not in
 *       [2^28 - 2^13, 2^28 + 2^13].
 * Any element of a group failing either is computed again with err above.
 * Why passing both proves f32(y64) = f32(y): from y64 = fl(p + b),
 * |p| <= (1 + u) |y64| + |b| <= (1 + u + 2^9) |y64| <= 514 |y64| by (a), so
 * |y64 - y| <= 4.7u |p| + u |y64| <= 2417u |y64|. With 2^E <= |y64| < 2^(E+1)
 * and U = 2^(E-52) (y64's float64 spacing), u |y64| < U, so |y64 - y| < 2^12 U.
 * Since |y64| >= 2^-126 is in float32's normal range, the float32 rounding
 * boundaries (midpoints of neighbours, MAX + ulp/2 included) in y64's binade
 * are the points where low29 = 2^28, every 2^29 U; the nearest across the
 * binade's lower edge is at least 2^27 U below it. So a boundary is at least
 * |low29 - 2^28| / 2 > 2^12 U away from y64 by (b): no boundary lies between
 * y64 and y, and y is not on one; f32 is monotone, so f32(y) = f32(y64).
 * (|y64| >= 2^128 gives Infinity both ways.) The core evaluates (a) on the
 * high 32 bits of |y64| against those of L rounded up, so it is conservative.
 */
import {exactTerms, float32Key, keyToFloat32, nearestKeyBetween} from './exact_round';
import {channelScales} from './channel_scale';

/** The error factor K above. */
export const ERROR_FACTOR = 2 ** -50;

type Numbers = ArrayLike<number>;

/** The per-channel values of one call (float64). */
export interface ChannelTerms {
  /** mean[c] */
  m: Float64Array;
  /** gamma[c] / sqrt(variance[c] + epsilon) */
  s: Float64Array;
  /** beta[c] */
  b: Float64Array;
  /** The inputs as given, for the exact path. */
  gamma: Numbers;
  variance: Numbers;
  epsilon: number;
}

export function channelTerms(
    gamma: Numbers, beta: Numbers, mean: Numbers, variance: Numbers,
    epsilon: number): ChannelTerms {
  const channels = gamma.length;
  const m = new Float64Array(channels);
  const s = channelScales(gamma, variance, epsilon);
  const b = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    m[c] = mean[c];
    b[c] = beta[c];
  }
  return {m, s, b, gamma, variance, epsilon};
}

/**
 * The output for a flagged element of channel c: exact where the formula's
 * value is a real number, else f32(y64) (IEEE semantics, as the formula).
 */
function flaggedElement(xi: number, t: ChannelTerms, c: number): number {
  const p = (xi - t.m[c]) * t.s[c];
  const y = p + t.b[c];
  const gamma = t.gamma[c];
  const variance = t.variance[c];
  if (!Number.isFinite(y) || !Number.isFinite(variance) || !Number.isFinite(gamma) ||
      !(variance + t.epsilon > 0)) {
    return Math.fround(y);
  }
  const err = (Math.abs(p) + Math.abs(y)) * ERROR_FACTOR;
  const terms = exactTerms(xi, gamma, t.b[c], t.m[c], variance, t.epsilon);
  return keyToFloat32(nearestKeyBetween(
      terms, float32Key(Math.fround(y - err)), float32Key(Math.fround(y + err))));
}

/**
 * out[i] for x laid out as outer x channels x inner: the plain JS loop (the
 * fallback without WebAssembly SIMD, and the reference the SIMD core is
 * bit-identical to).
 */
export function roundedBatchNorm(
    x: Float32Array, out: Float32Array, t: ChannelTerms, outer: number, channels: number,
    inner: number): void {
  const {m: mean, s: scale, b: beta} = t;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const m = mean[c];
      const s = scale[c];
      const b = beta[c];
      for (const end = i + inner; i < end; i++) {
        const p = (x[i] - m) * s;
        const y = p + b;
        const err = (Math.abs(p) + Math.abs(y)) * ERROR_FACTOR;
        const lo = Math.fround(y - err);
        const hi = Math.fround(y + err);
        // lo === hi misses -0 vs +0 and catches NaN: flagged either way
        out[i] = lo === hi && (lo !== 0 || 1 / lo === 1 / hi) ? Math.fround(y) :
                                                                flaggedElement(x[i], t, c);
      }
    }
  }
}

/**
 * Re-checks elements [start, end) after a SIMD call over them returned
 * "flagged": recomputes each with the same float64 operations and replaces
 * the flagged ones by their exact rounding. x and out are indexed alike;
 * element i has channel floor(i / inner) mod channels. x must hold the inputs
 * (not overwritten by an in-place call).
 */
export function recheckRange(
    x: Float32Array, out: Float32Array, start: number, end: number, t: ChannelTerms,
    channels: number, inner: number): void {
  const {m: mean, s: scale, b: beta} = t;
  for (let i = start; i < end; i++) {
    const c = Math.floor(i / inner) % channels;
    const p = (x[i] - mean[c]) * scale[c];
    const y = p + beta[c];
    const err = (Math.abs(p) + Math.abs(y)) * ERROR_FACTOR;
    const lo = Math.fround(y - err);
    const hi = Math.fround(y + err);
    if (!(lo === hi && (lo !== 0 || 1 / lo === 1 / hi))) out[i] = flaggedElement(x[i], t, c);
  }
}
