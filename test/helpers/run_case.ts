/**
 * One shared case (test/helpers/cases.ts) through the op on the current
 * backend, for the suites that run them all (fallback, wasm).
 */
import * as tf from '@tensorflow/tfjs';

import {batchNormInference} from '../../src';
import {BatchNormCase} from './cases';

/** The op's options for a case: the axis only when the case passes one (else the op's default). */
export function caseOptions(c: {epsilon: number, axisArg?: number}): {epsilon: number, axis?: number} {
  return c.axisArg === undefined ? {epsilon: c.epsilon} : {epsilon: c.epsilon, axis: c.axisArg};
}

/** The op's output for a case, after checking its shape and dtype; leaves no tensor behind. */
export function runCase(c: BatchNormCase): Float32Array {
  const x = tf.tensor(c.x, c.shape);
  const y = batchNormInference(x, c.gamma, c.beta, c.mean, c.variance, caseOptions(c));
  expect(y.shape).toEqual(c.shape);
  expect(y.dtype).toBe('float32');
  const actual = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return actual;
}
