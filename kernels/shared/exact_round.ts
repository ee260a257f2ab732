/// <reference lib="es2020.bigint" />
/**
 * The exact slow path: the float32 nearest to
 *
 *     v = gamma * (x - mean) / sqrt(variance + epsilon) + beta
 *
 * (ties to even) decided with integer arithmetic, for finite inputs with
 * variance + epsilon > 0. The kernels round in float64 and come here only for
 * the rare element whose float64 error interval straddles a float32 rounding
 * boundary (kernels/shared/rounded_batch_norm.ts); the test reference
 * (test/helpers/exact.ts) uses it for every element.
 *
 * Every finite double is an exact dyadic rational m * 2^e (m an integer), and
 * sums, differences and products of dyadics are exact dyadics. With
 * D = gamma * (x - mean), R = variance + epsilon (exact, > 0) and
 * B = beta - M for a boundary M,
 *
 *     sign(v - M) = sign(D / sqrt(R) + B) = sign(D + B * sqrt(R))
 *
 * which is sign(D) or sign(B) when they agree (or one is 0), and otherwise
 * decided by comparing D^2 with B^2 * R: no square root, no rounding.
 *
 * float32 values are ordered by an integer key (see float32Key): -0 and +0 are
 * neighbours with the boundary 0 between them, and the boundary to +-Infinity
 * is +-(MAX + ulp/2), where IEEE round-to-nearest overflows.
 */

/** An exact dyadic rational m * 2^e. */
export interface Dyadic {
  m: bigint;
  e: number;
}

/** Inputs of one element, exact. */
export interface ExactTerms {
  /** gamma * (x - mean) */
  d: Dyadic;
  /** variance + epsilon (> 0) */
  r: Dyadic;
  /** beta */
  b: Dyadic;
  /** The sign IEEE arithmetic gives an exactly zero result (true: -0). */
  negativeZero: boolean;
}

const ZERO = BigInt(0);
const view = new DataView(new ArrayBuffer(8));

/** A finite double as a dyadic (odd m, or m = 0). */
export function toDyadic(v: number): Dyadic {
  if (v === 0) return {m: ZERO, e: 0};
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const exponent = (hi >>> 20) & 0x7ff;
  // the 53-bit integer significand, exact as a double
  let m = (hi & 0xfffff) * 0x100000000 + view.getUint32(4);
  let e = exponent === 0 ? -1074 : exponent - 1075;
  if (exponent !== 0) m += 2 ** 52;
  while (m % 2 === 0) {
    m /= 2;
    e++;
  }
  return {m: BigInt(hi >>> 31 ? -m : m), e};
}

function add(a: Dyadic, b: Dyadic): Dyadic {
  if (a.m === ZERO) return b;
  if (b.m === ZERO) return a;
  const e = Math.min(a.e, b.e);
  return {m: (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e};
}

function neg(a: Dyadic): Dyadic {
  return {m: -a.m, e: a.e};
}

function mul(a: Dyadic, b: Dyadic): Dyadic {
  return {m: a.m * b.m, e: a.e + b.e};
}

/** Compares two non-negative dyadics: -1, 0, 1. */
function compareMagnitudes(a: Dyadic, b: Dyadic): number {
  const e = Math.min(a.e, b.e);
  const am = a.m << BigInt(a.e - e);
  const bm = b.m << BigInt(b.e - e);
  return am > bm ? 1 : am < bm ? -1 : 0;
}

/** The exact per-channel inputs (for many elements of one channel). */
export interface ExactChannel {
  gamma: number;
  beta: number;
  mean: number;
  /** gamma, mean, beta and variance + epsilon, exact */
  g: Dyadic;
  m: Dyadic;
  b: Dyadic;
  r: Dyadic;
}

/**
 * A channel's exact inputs. Requires every argument finite and
 * variance + epsilon > 0 (callers check: rounded_batch_norm.ts, exact.ts).
 */
export function exactChannel(
    gamma: number, beta: number, mean: number, variance: number, epsilon: number): ExactChannel {
  return {
    gamma, beta, mean, g: toDyadic(gamma), m: neg(toDyadic(mean)), b: toDyadic(beta),
    r: add(toDyadic(variance), toDyadic(epsilon)),
  };
}

/** The exact terms of element x (finite) of a channel. */
export function exactTermsOf(x: number, ch: ExactChannel): ExactTerms {
  // An exactly zero result: D = 0 and beta = 0; then every IEEE step is exact
  // and the sign of zero is that of gamma * (x - mean) + beta (the division
  // by a positive square root keeps it).
  const negativeZero = Object.is(ch.gamma * (x - ch.mean) + ch.beta, -0);
  return {d: mul(ch.g, add(toDyadic(x), ch.m)), r: ch.r, b: ch.b, negativeZero};
}

/** The exact terms of one element (same requirements as exactChannel). */
export function exactTerms(
    x: number, gamma: number, beta: number, mean: number, variance: number,
    epsilon: number): ExactTerms {
  return exactTermsOf(x, exactChannel(gamma, beta, mean, variance, epsilon));
}

function sign(n: bigint): number {
  return n > ZERO ? 1 : n < ZERO ? -1 : 0;
}

/** sign(v - m) for a boundary m, exactly. */
export function compareExact(t: ExactTerms, m: Dyadic): number {
  const bm = add(t.b, neg(m));
  const sd = sign(t.d.m);
  const sb = sign(bm.m);
  if (sd === 0) return sb;
  if (sb === 0 || sb === sd) return sd;
  // D + B sqrt(R) with D, B of opposite signs: the larger magnitude wins.
  const c = compareMagnitudes(mul(t.d, t.d), mul(mul(bm, bm), t.r));
  return c > 0 ? sd : c < 0 ? sb : 0;
}

/** Key of -Infinity and +Infinity: keys run over [MIN_KEY, MAX_KEY]. */
export const MIN_KEY = -0x7f800001;
export const MAX_KEY = 0x7f800000;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * A monotone integer key of a float32 (non-NaN): +0 is 0, +x its bit
 * pattern, -0 is -1, -x is -(its magnitude bits) - 1.
 */
export function float32Key(v: number): number {
  f32[0] = v;
  const bits = u32[0];
  const magnitude = bits & 0x7fffffff;
  return bits >>> 31 ? -magnitude - 1 : magnitude;
}

/** The float32 with key k. */
export function keyToFloat32(k: number): number {
  u32[0] = k >= 0 ? k : ((-k - 1) | 0x80000000) >>> 0;
  return f32[0];
}

/** The value of the non-negative float32 with magnitude bits `m`. */
function magnitudeValue(m: number): Dyadic {
  // m = 0x7f800000 (Infinity) gives 2^128: the binade after the largest
  const e = m >>> 23;
  const f = m & 0x7fffff;
  return e === 0 ? {m: BigInt(f), e: -149} : {m: BigInt(f + 0x800000), e: e - 150};
}

/**
 * Whether v rounds to key k + 1 or above (rather than to k or below): v is
 * above the boundary between the float32s with keys k and k + 1, or on it and
 * the tie goes up (to the even one; to +0 at zero unless IEEE gives -0).
 */
export function roundsAbove(t: ExactTerms, k: number): boolean {
  if (k === -1) {
    const s = compareExact(t, {m: ZERO, e: 0});
    return s > 0 || (s === 0 && !(t.d.m === ZERO && t.negativeZero));
  }
  const [lo, hi] = k >= 0 ? [k, k + 1] : [-k - 1, -k - 2];
  const sum = add(magnitudeValue(lo), magnitudeValue(hi));
  const mid = {m: k >= 0 ? sum.m : -sum.m, e: sum.e - 1};
  const s = compareExact(t, mid);
  if (s !== 0) return s > 0;
  // a tie: the even magnitude wins
  return k >= 0 ? ((k + 1) & 1) === 0 : (k & 1) === 0;
}

/**
 * The key of the float32 nearest to v, knowing it lies in [loKey, hiKey]
 * (binary search over the boundaries between them).
 */
export function nearestKeyBetween(t: ExactTerms, loKey: number, hiKey: number): number {
  let lo = loKey;
  let hi = hiKey;
  while (lo < hi) {
    const k = Math.floor((lo + hi) / 2);
    if (roundsAbove(t, k)) lo = k + 1;
    else hi = k;
  }
  return lo;
}

/**
 * The key of the float32 nearest to v starting from any guess (walks to it;
 * a guess from float64 arithmetic is at most a step or two away).
 */
export function nearestKeyFrom(t: ExactTerms, guess: number): number {
  let k = Math.min(Math.max(guess, MIN_KEY), MAX_KEY);
  while (k > MIN_KEY && !roundsAbove(t, k - 1)) k--;
  while (k < MAX_KEY && roundsAbove(t, k)) k++;
  return k;
}
