/**
 * The gradient of BatchNormInference with respect to all five inputs, checked
 * against central finite differences of the float64 formula.
 */
import * as tf from '@tensorflow/tfjs';

import {batchNormInference} from '../src';
import {materialize} from './helpers/cases';
import {expectNoLeaks} from './helpers/leaks';
import {BatchNormData, referenceBatchNorm} from './helpers/reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type InputName = 'x'|'gamma'|'beta'|'mean'|'variance';
const NAMES: InputName[] = ['x', 'gamma', 'beta', 'mean', 'variance'];

/** L = sum(w * y) in float64, the scalar whose gradient is checked. */
function loss(d: BatchNormData, w: ArrayLike<number>): number {
  const y = referenceBatchNorm(d);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}

/**
 * dL/d(input) by central differences in float64: h = 1e-6 * max(1, |v|)
 * gives truncation error ~h^2 and cancellation error ~1e-16/h, both far below
 * the float32 gradient's own error.
 */
function finiteDifferences(d: BatchNormData, w: ArrayLike<number>, name: InputName): Float64Array {
  const values = Float64Array.from(d[name]);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const h = 1e-6 * Math.max(1, Math.abs(values[i]));
    const plus = Float64Array.from(values);
    plus[i] += h;
    const minus = Float64Array.from(values);
    minus[i] -= h;
    out[i] = (loss({...d, [name]: plus}, w) - loss({...d, [name]: minus}, w)) / (2 * h);
  }
  return out;
}

const CASES = [
  {name: 'rank 2 [4,3] axis 1', xShape: [4, 3], axis: 1, epsilon: 1e-3, seed: 11},
  {name: 'NCHW [2,3,2,2] axis 1', xShape: [2, 3, 2, 2], axis: 1, epsilon: 1e-3, seed: 12},
  {name: 'NHWC [2,2,2,3] axis -1', xShape: [2, 2, 2, 3], axis: -1, epsilon: 1e-5, seed: 13},
  {name: 'rank 5 [2,2,3,2,1] axis 2', xShape: [2, 2, 3, 2, 1], axis: 2, epsilon: 0.01, seed: 14},
];

describe('BatchNormInference gradient vs finite differences (cpu)', () => {
  for (const spec of CASES) {
    it(spec.name, async () => {
      const c = materialize(spec);
      const w = materialize({...spec, seed: spec.seed + 100}).x;  // fixed weights for L
      const inputs = [c.x, c.gamma, c.beta, c.mean, c.variance];
      const tensors = inputs.map((v, i) => tf.tensor(v, i === 0 ? c.shape : [v.length]));
      const wt = tf.tensor(w, c.shape);
      const grads = await expectNoLeaks(() => {
        const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) =>
            tf.sum(tf.mul(wt, batchNormInference(x, g, b, m, v, {epsilon: c.epsilon, axis: spec.axis})));
        const gs = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)(tensors);
        const values = gs.map((g) => g.dataSync());
        gs.forEach((g, i) => expect(g.shape).toEqual(tensors[i].shape));
        tf.dispose(gs);
        return values;
      });
      tf.dispose([...tensors, wt]);
      for (let k = 0; k < NAMES.length; k++) {
        const fd = finiteDifferences(c, w, NAMES[k]);
        // float32 gradient ops (rsqrt, products, sums of up to 8 terms) carry
        // ~1e-6 relative error; 1e-4 * (1 + |fd|) leaves a wide margin while
        // still catching any wrong term (those are O(1) off).
        for (let i = 0; i < fd.length; i++) {
          const allowed = 1e-4 * (1 + Math.abs(fd[i]));
          if (!(Math.abs(grads[k][i] - fd[i]) <= allowed)) {
            throw new Error(`d/d${NAMES[k]}[${i}]: got ${grads[k][i]}, finite differences ${fd[i]}`);
          }
        }
      }
    });
  }

  it('trains gamma and beta with frozen statistics (fine-tuning through the op)', async () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const target = tf.tensor2d([[0, 1], [0, 1], [0, 1], [0, 1]]);
    const mean = tf.tensor1d([4, 5]);
    const variance = tf.tensor1d([5, 5]);
    const gamma = tf.variable(tf.ones([2]));
    const beta = tf.variable(tf.zeros([2]));
    const optimizer = tf.train.sgd(0.1);
    const lossOf = () => tf.losses.meanSquaredError(
        target, batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3})) as tf.Scalar;
    const before = tf.tidy(() => lossOf().dataSync()[0]);
    await expectNoLeaks(() => {
      for (let step = 0; step < 50; step++) tf.dispose(optimizer.minimize(lossOf, true, [gamma, beta]) as tf.Scalar);
    });
    const after = tf.tidy(() => lossOf().dataSync()[0]);
    expect(after).toBeLessThan(before / 10);
    expect(Array.from(mean.dataSync())).toEqual([4, 5]);
    expect(Array.from(variance.dataSync())).toEqual([5, 5]);
    tf.dispose([x, target, mean, variance, gamma, beta]);
    optimizer.dispose();
  });

  it('gives a saliency map through frozen statistics (gradient wrt x only)', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    await expectNoLeaks(() => {
      const dx = tf.grad((input: tf.Tensor) => tf.sum(batchNormInference(
          input, [2, -1], [0, 0], [0, 0], [3, 0.5], {epsilon: 1, axis: 1}))) (x);
      // dy = 1 everywhere, so dx = gamma / sqrt(variance + epsilon) per channel.
      const expected = [1, 1, 1, 1, -1 / Math.sqrt(1.5), -1 / Math.sqrt(1.5),
                        -1 / Math.sqrt(1.5), -1 / Math.sqrt(1.5)];
      const got = dx.dataSync();
      expected.forEach((e, i) => expect(Math.abs(got[i] - e)).toBeLessThanOrEqual(2 ** -23));
      dx.dispose();
    });
    x.dispose();
  });
});
