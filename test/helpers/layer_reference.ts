/**
 * Checks layer and model outputs against the float64 formula of
 * test/helpers/reference.ts, for any rank and axis (negative included), and
 * compares two models' predictions.
 */
import * as tf from '@tensorflow/tfjs';

import {axisIndex} from '../../kernels/shared/checks';
import {prng} from './cases';
import {BatchNormData, compareWithReference, Mismatch, referenceBatchNorm} from './reference';

export interface Statistics {
  gamma: ArrayLike<number>;
  beta: ArrayLike<number>;
  mean: ArrayLike<number>;
  variance: ArrayLike<number>;
  epsilon: number;
}

/** What a BatchNormInference layer holds, read through its MATLAB getters. */
export function statisticsOf(layer: {
  Scale: Float32Array, Offset: Float32Array, TrainedMean: Float32Array,
  TrainedVariance: Float32Array, Epsilon: number,
}): Statistics {
  return {
    gamma: layer.Scale,
    beta: layer.Offset,
    mean: layer.TrainedMean,
    variance: layer.TrainedVariance,
    epsilon: layer.Epsilon,
  };
}

/** The reference's input record for x (float32 values as the kernel sees them). */
export function batchNormData(x: tf.Tensor, axis: number, s: Statistics): BatchNormData {
  return {
    shape: x.shape,
    axis: axisIndex(axis, x.rank),
    epsilon: s.epsilon,
    x: x.dataSync(),
    gamma: s.gamma,
    beta: s.beta,
    mean: s.mean,
    variance: s.variance,
  };
}

/**
 * Mismatches of `actual` against `post(formula(x))`, where `post` is an
 * elementwise 1-Lipschitz function applied after the normalization (e.g.
 * relu), so the BatchNormInference tolerance still bounds the difference.
 *
 * Compared by reference.ts's compareWithReference (special values must match
 * exactly). Tolerance ('cpu' profile of reference.ts): the cpu kernel folds the
 * statistics in float64 and rounds once to float32, so each element is within
 * half an ulp of float32 of the exact value (plus float64 rounding, ~2^-50 of
 * the terms).
 */
export function formulaMismatches(
    actual: tf.Tensor, x: tf.Tensor, axis: number, s: Statistics,
    post: (v: number) => number = (v) => v): Mismatch[] {
  const d = batchNormData(x, axis, s);
  return compareWithReference(actual.dataSync(), d, 'cpu', referenceBatchNorm(d).map(post));
}

/**
 * Elements of `actual` farther from `expected` than
 * `absolute * max(1, |expected|)`: an absolute bound near zero that grows
 * with the magnitude (float32 spacing does).
 */
export function closeMismatches(
    actual: tf.Tensor, expected: tf.Tensor, absolute: number): Mismatch[] {
  const a = actual.dataSync();
  const e = expected.dataSync();
  if (a.length !== e.length || actual.shape.join() !== expected.shape.join()) {
    return [{index: -1, actual: a.length, expected: e.length, allowed: 0}];
  }
  const bad: Mismatch[] = [];
  for (let i = 0; i < a.length; i++) {
    const allowed = absolute * Math.max(1, Math.abs(e[i]));
    if (!(Math.abs(a[i] - e[i]) <= allowed)) bad.push({index: i, actual: a[i], expected: e[i], allowed});
  }
  return bad.slice(0, 10);
}

/** Deterministic values in [lo, hi), from the one seeded generator (cases.ts's prng). */
export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const random = prng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * random();
  return out;
}

/** A float32 tensor of deterministic values. */
export function randomTensor(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape, 'float32');
}

/** One idiom for error messages: kept in leaks.ts, re-exported for the suites importing it here. */
export {errorOf} from './leaks';
