/**
 * The exact reference every backend's results are compared with: per
 * element, the float32 nearest to
 *
 *     gamma * (x - mean) / sqrt(variance + epsilon) + beta
 *
 * (ties to even; an exact zero gets the sign IEEE arithmetic gives it) when
 * the inputs are finite and variance + epsilon > 0, decided with exact
 * integer arithmetic (kernels/shared/exact_round.ts, itself checked against
 * an independent fixed-point square root in test/cpu_exact.test.ts); else the
 * IEEE float64 evaluation of the formula, rounded to float32 (NaN, +-Infinity
 * and their zeros, which float64 gets exactly: see rounded_batch_norm.ts).
 * A float64 guess seeds the search; the exact comparisons alone decide.
 */
import {exactChannel, ExactChannel, exactTermsOf, float32Key, keyToFloat32, nearestKeyFrom} from '../../kernels/shared/exact_round';

import {BatchNormData} from './reference';

/** The exact nearest float32 for one element (inputs as doubles). */
export function exactNearest(
    x: number, gamma: number, beta: number, mean: number, variance: number, epsilon: number,
    channel?: ExactChannel): number {
  const ieee = gamma * (x - mean) / Math.sqrt(variance + epsilon) + beta;
  const finite = [x, gamma, beta, mean, variance, epsilon].every(Number.isFinite);
  // variance + epsilon in float64 is > 0 exactly when the exact sum is (a sum
  // of doubles rounds to zero only when it is zero)
  if (!finite || !(variance + epsilon > 0)) return Math.fround(ieee);
  const terms = exactTermsOf(x, channel ?? exactChannel(gamma, beta, mean, variance, epsilon));
  return keyToFloat32(nearestKeyFrom(terms, float32Key(Math.fround(ieee))));
}

/** The formula's inputs (reference.ts's BatchNormData); here the channel axis may be negative. */
export type ExactInputs = BatchNormData;

/** The exact reference for a whole tensor. */
export function exactBatchNorm(d: ExactInputs): Float32Array {
  const rank = d.shape.length;
  const axis = d.axis < 0 ? d.axis + rank : d.axis;
  const channels = d.shape[axis];
  let inner = 1;
  for (let i = axis + 1; i < rank; i++) inner *= d.shape[i];
  // each channel's exact inputs once, where they are finite
  const exact = Array.from({length: channels}, (_, c) => {
    const v = [d.gamma[c], d.beta[c], d.mean[c], d.variance[c], d.epsilon];
    return v.every(Number.isFinite) && d.variance[c] + d.epsilon > 0 ?
        exactChannel(d.gamma[c], d.beta[c], d.mean[c], d.variance[c], d.epsilon) : undefined;
  });
  const out = new Float32Array(d.x.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = exactNearest(d.x[i], d.gamma[c], d.beta[c], d.mean[c], d.variance[c], d.epsilon,
                          exact[c]);
  }
  return out;
}

/**
 * Where two float32 arrays differ in any bit (-0 and +0 differ), or null. A
 * NaN matches any NaN: which NaN (sign, payload) an operation returns is left
 * open by IEEE 754 and WebAssembly, and V8's JS tiers differ in it.
 */
export function firstBitDifference(actual: ArrayLike<number>, expected: ArrayLike<number>):
    string|null {
  if (actual.length !== expected.length) {
    return `length ${actual.length}, expected ${expected.length}`;
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) {
      return `element ${i}: ${Object.is(a, -0) ? '-0' : a}, expected ${Object.is(e, -0) ? '-0' : e}`;
    }
  }
  return null;
}

/**
 * Distance from `actual` to the float32 `expected` in float32 ulps (steps
 * between them in float32 order, -0 and +0 one apart); 0 for NaN vs NaN.
 */
export function ulpDistance(actual: number, expected: number): number {
  if (Number.isNaN(actual) || Number.isNaN(expected)) {
    return Number.isNaN(actual) && Number.isNaN(expected) ? 0 : Infinity;
  }
  return Math.abs(float32Key(actual) - float32Key(expected));
}
