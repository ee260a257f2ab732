/**
 * The float64 reference and the tolerances every backend's suite checks
 * against. Inputs are the float32 values the kernel sees; the reference is the
 * specification's formula evaluated in float64:
 *
 *     ref = gamma * (x - mean) / sqrt(variance + epsilon) + beta
 */
export interface BatchNormData {
  shape: number[];
  /** Non-negative channel axis. */
  axis: number;
  epsilon: number;
  x: ArrayLike<number>;
  gamma: ArrayLike<number>;
  beta: ArrayLike<number>;
  mean: ArrayLike<number>;
  variance: ArrayLike<number>;
}

/** Index of the channel of each flat element, for any rank and axis. */
export function channelOf(shape: number[], axis: number): (i: number) => number {
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const channels = shape[axis];
  return (i) => Math.floor(i / inner) % channels;
}

export function referenceBatchNorm(d: BatchNormData): Float64Array {
  const n = d.x.length;
  const out = new Float64Array(n);
  const channel = channelOf(d.shape, d.axis);
  for (let i = 0; i < n; i++) {
    const c = channel(i);
    out[i] = d.gamma[c] * (d.x[i] - d.mean[c]) / Math.sqrt(d.variance[c] + d.epsilon) + d.beta[c];
  }
  return out;
}

/**
 * The size of the magnitudes that enter each element's arithmetic:
 * |x*s| + |mean*s| + |beta| with s = gamma / sqrt(variance + epsilon). An
 * implementation that folds the statistics into x*s + (beta - mean*s) makes
 * rounding errors relative to this, not to the (possibly cancelled) result.
 */
export function termMagnitude(d: BatchNormData): Float64Array {
  const n = d.x.length;
  const out = new Float64Array(n);
  const channel = channelOf(d.shape, d.axis);
  for (let i = 0; i < n; i++) {
    const c = channel(i);
    const s = Math.abs(d.gamma[c] / Math.sqrt(d.variance[c] + d.epsilon));
    out[i] = Math.abs(d.x[i]) * s + Math.abs(d.mean[c]) * s + Math.abs(d.beta[c]);
  }
  return out;
}

/** The spacing of float32 numbers at |v| (2^-149 for subnormals). */
export function ulp32(v: number): number {
  const a = Math.abs(v);
  if (!(a > 0) || a < 2 ** -126) return 2 ** -149;
  if (!Number.isFinite(a)) return Infinity;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/**
 * How far an element may be from the float64 reference.
 *
 * - `cpu`: the kernel computes in float64 and rounds once to float32, so the
 *   result is the float32 nearest to the exact value: half an ulp of float32,
 *   plus float64 rounding of the terms (a few 2^-53 of termMagnitude; 2^-50
 *   leaves room for four such roundings).
 * - `webgl-f32`: float32 arithmetic on the GPU on float32 textures. Parameters
 *   are folded in float64 and rounded to float32 (1/2 ulp each), then x*s + t
 *   in float32 (two roundings, or one with fma): at most ~2 ulps of the terms,
 *   plus one for the stored result. We allow 4 * 2^-24 of termMagnitude
 *   (= 2 ulps of the largest term) plus one ulp of the result.
 *   When the statistics live in textures the webgl kernel folds on the GPU in
 *   float32 (s = gamma / sqrt(variance + eps), t = beta - mean * s): with
 *   correctly rounded sqrt and division (SwiftShader, IEEE GPUs) s carries
 *   ~1.5 ulp and t ~2 ulps of |mean*s|, still inside this allowance. Measured
 *   on SwiftShader over all shared cases, the worst error is 0.42x the
 *   allowance with a CPU fold and 0.54x with a GPU fold (WebGL1, WebGL2,
 *   packed and unpacked alike). GLSL ES only requires 2.5 ulp for division
 *   (and sqrt via inversesqrt, 2 ulp), so a GPU fold on such hardware may
 *   exceed it by about one ulp of |mean*s|; the suite runs on SwiftShader.
 * - `webgl-f16`: half-float textures store x, the parameters and the result
 *   with 11-bit significands (unit roundoff 2^-11). x, s and t each carry up
 *   to 2^-11 relative error and the result is rounded once more: 4 * 2^-11 of
 *   termMagnitude covers them. Half floats also flush magnitudes below 2^-24
 *   to zero and overflow above 65504; cases run on f16 keep inside that range.
 *   Measured on SwiftShader: worst error 0.46x (CPU fold) and 0.63x (GPU
 *   fold) of this allowance.
 */
export type ToleranceProfile = 'cpu'|'webgl-f32'|'webgl-f16';

export function tolerance(profile: ToleranceProfile, ref: number, magnitude: number): number {
  switch (profile) {
    case 'cpu':
      return ulp32(ref) / 2 + 2 ** -50 * magnitude;
    case 'webgl-f32':
      return ulp32(ref) + 4 * 2 ** -24 * magnitude;
    case 'webgl-f16':
      return 4 * 2 ** -11 * magnitude + 2 ** -24;
    default:
      throw new Error(`unknown tolerance profile ${profile}`);
  }
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  allowed: number;
}

/**
 * Compares a backend's output with the reference. Special values must match
 * exactly (NaN where the reference is NaN, the same infinity where it
 * overflows float32). Returns the worst mismatches (empty when all pass).
 */
export function compareWithReference(
    actual: ArrayLike<number>, d: BatchNormData, profile: ToleranceProfile,
    expected: ArrayLike<number> = referenceBatchNorm(d)): Mismatch[] {
  if (actual.length !== expected.length) {
    return [{index: -1, actual: actual.length, expected: expected.length, allowed: 0}];
  }
  const magnitude = termMagnitude(d);
  const bad: Mismatch[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    const e32 = Math.fround(e);
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) bad.push({index: i, actual: a, expected: e, allowed: 0});
      continue;
    }
    if (!Number.isFinite(e32) || !Number.isFinite(magnitude[i])) {
      // Overflow (or infinite inputs): the float32 result is exactly this.
      if (a !== e32) bad.push({index: i, actual: a, expected: e32, allowed: 0});
      continue;
    }
    const allowed = tolerance(profile, e, magnitude[i]);
    if (!(Math.abs(a - e) <= allowed)) bad.push({index: i, actual: a, expected: e, allowed});
  }
  return bad.slice(0, 10);
}

/** Half-float limits: the largest finite value and the smallest normal one. */
export const HALF_MAX = 65504;
export const HALF_MIN_NORMAL = 2 ** -14;

/** The half float nearest to v (ties to even; beyond the range: +-Infinity). */
export function roundToHalf(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  const ulp = a < HALF_MIN_NORMAL ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
  const q = a / ulp;
  const f = Math.floor(q);
  const n = q - f > 0.5 || (q - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  const r = n * ulp;
  return Math.sign(v) * (r > HALF_MAX ? Infinity : r);
}

/**
 * Why element `i` lies outside the domain where the webgl kernel promises
 * its tolerance, or null when inside. The domain (README, webgl section,
 * limitation G): the inputs, the per-channel scale s = gamma /
 * sqrt(variance + epsilon) and the result are representable in the texture
 * format as normal numbers, or zero (GPUs flush subnormals); when the
 * statistics live in textures (`gpuFold`), epsilon is rounded to float32 and
 * a subnormal one acts as 0, so channels whose variance + epsilon that
 * changes are outside; an infinite beta must not meet a term
 * gamma * (x - mean) / sqrt(variance + epsilon) beyond the format (float32
 * arithmetic then gives NaN); on half floats, also no infinite inputs
 * (tfjs's half-float upload turns them into NaN).
 */
export function webglOutOfDomain(
    d: BatchNormData, i: number, format: 'f32'|'f16', gpuFold: boolean): string|null {
  const c = channelOf(d.shape, d.axis)(i);
  const inputs = [d.x[i], d.gamma[c], d.beta[c], d.mean[c], d.variance[c]];
  const minNormal = format === 'f16' ? 2 * HALF_MIN_NORMAL : 2 ** -124;
  const max = format === 'f16' ? HALF_MAX : 3.4028234663852886e38;
  const tiny = (v: number) => v !== 0 && Math.abs(v) < minNormal;
  if (inputs.some(tiny)) return 'subnormal input';
  if (format === 'f16' && !inputs.every(Number.isFinite)) return 'non-finite input on half floats';
  if (inputs.some((v) => Math.abs(v) > max && Number.isFinite(v))) return 'input beyond the format';
  const v = d.variance[c];
  if (gpuFold) {
    const e32 = Math.fround(d.epsilon) < 2 ** -126 ? 0 : Math.fround(d.epsilon);
    const exact = v + d.epsilon;
    if (Math.abs(v + e32 - exact) > 2 ** -23 * Math.abs(exact)) return 'float32-rounded epsilon';
  }
  const s = d.gamma[c] / Math.sqrt(v + d.epsilon);
  if (Number.isFinite(s) && (tiny(s) || Math.abs(s) > max)) return 'scale not representable';
  const ref = d.gamma[c] * (d.x[i] - d.mean[c]) / Math.sqrt(v + d.epsilon) + d.beta[c];
  // An infinite beta meeting a finite term that overflows the format: float32
  // arithmetic gives NaN (Inf - Inf) where float64 gives the infinity.
  if (!Number.isFinite(d.beta[c]) && Math.abs((d.x[i] - d.mean[c]) * s) > max / 2) {
    return 'infinite beta with an overflowing term';
  }
  if (tiny(ref)) return 'subnormal result';
  if (format === 'f16' && Number.isFinite(ref) && Math.abs(ref) > max) return 'result beyond half floats';
  return null;
}
