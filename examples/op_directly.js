#!/usr/bin/env node
/*
 * Calling the batchNormInference op directly (cpu backend, Node):
 *
 *   1. an NCHW tensor (the default channel axis 1, as in OpenVINO),
 *   2. an NHWC tensor (axis -1, tfjs's layout) - same result as tf.batchNorm,
 *   3. tensor-like inputs: nested arrays, typed arrays, a bare epsilon,
 *   4. gradients through the op with tf.grads, checked by finite differences,
 *   5. a tiny fine-tuning of gamma and beta with an optimizer.
 *
 *   npm run build && node examples/op_directly.js
 *
 * Every result is checked against the formula
 *   y = gamma * (x - mean) / sqrt(variance + epsilon) + beta
 * computed in float64; the script exits non-zero if one is off.
 */
'use strict';
const tf = require('@tensorflow/tfjs');
const {batchNormInference} = require('tfjs-batchnorm-inference');

// ---------------------------------------------------------------------------
// Helpers: the formula in float64, and checks that throw.

/** The formula in float64 for x (flat, row-major) of `shape`, channels on `axis`. */
function reference(x, shape, axis, gamma, beta, mean, variance, epsilon) {
  const ax = axis < 0 ? axis + shape.length : axis;
  const channels = shape[ax];
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    y[i] = gamma[c] * (x[i] - mean[c]) / Math.sqrt(variance[c] + epsilon) + beta[c];
  }
  return y;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Prints and checks max |actual - expected| <= tol. */
function expectClose(label, actual, expected, tol) {
  const diff = maxAbsDiff(actual, expected);
  console.log(`  ${label}: max |diff| = ${diff.toExponential(2)} (tolerance ${tol.toExponential(0)})`);
  check(diff <= tol, `${label}: max |diff| ${diff} > ${tol}`);
}

const fmt = (values) => `[${Array.from(values, (v) => v.toFixed(4)).join(', ')}]`;

/** Deterministic test values: no Math.random. */
function ramp(n, scale = 0.5, offset = -3) {
  return Float32Array.from({length: n}, (_, i) => ((i * 7) % 13 + offset) * scale);
}

// Per-channel statistics shared by the sections (3 channels).
const gamma = [1.5, 0.5, -2];
const beta = [0.1, -0.2, 1];
const mean = [0.25, -1, 2];
const variance = [4, 0.5, 0.25];
const epsilon = 1e-3;

async function main() {
  await tf.setBackend('cpu');
  console.log(`tfjs ${tf.version.tfjs}, backend: ${tf.getBackend()}`);
  console.log(`gamma ${fmt(gamma)}, beta ${fmt(beta)}, mean ${fmt(mean)}, variance ${fmt(variance)}, ` +
              `epsilon ${epsilon}`);

  // 1. NCHW: channels on axis 1, the default (OpenVINO's layout).
  console.log('\n1. NCHW input [N=2, C=3, H=2, W=2], default axis 1');
  {
    const shape = [2, 3, 2, 2];
    const xValues = ramp(24);
    const x = tf.tensor4d(xValues, shape);
    const y = batchNormInference(x, gamma, beta, mean, variance, {epsilon});  // axis: 1
    check(y.shape.join() === shape.join(), `output shape [${y.shape}]`);
    const yValues = y.dataSync();
    console.log(`  y[0, :, 0, 0] = ${fmt([yValues[0], yValues[4], yValues[8]])}`);
    expectClose('NCHW vs formula', yValues,
                reference(xValues, shape, 1, gamma, beta, mean, variance, epsilon), 1e-5);
    tf.dispose([x, y]);
  }

  // 2. NHWC: channels last, axis -1. tf.batchNorm does the same (with its
  // arguments in another order: x, mean, variance, offset, scale, epsilon).
  console.log('\n2. NHWC input [N=2, H=2, W=2, C=3], axis -1');
  {
    const shape = [2, 2, 2, 3];
    const xValues = ramp(24);
    const x = tf.tensor4d(xValues, shape);
    const y = batchNormInference(x, gamma, beta, mean, variance, {epsilon, axis: -1});
    const yValues = y.dataSync();
    console.log(`  y[0, 0, 0, :] = ${fmt(yValues.slice(0, 3))}`);
    expectClose('NHWC vs formula', yValues,
                reference(xValues, shape, -1, gamma, beta, mean, variance, epsilon), 1e-5);
    const tfBatchNorm = tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
    expectClose('NHWC vs tf.batchNorm', yValues, tfBatchNorm.dataSync(), 1e-5);
    tf.dispose([x, y, tfBatchNorm]);
  }

  // 3. Tensor-likes: any input may be a nested array or a typed array
  // (Float32Array, Int32Array, Float64Array, ...), and the options may be
  // just the epsilon number.
  console.log('\n3. Tensor-like inputs: nested arrays, typed arrays, epsilon as a number');
  {
    const x = [[1, 2, 3], [4, 5, 6]];                 // [N=2, C=3], nested array
    const y = batchNormInference(
        x,
        new Float32Array(gamma),                      // Float32Array
        beta,                                         // plain array
        new Float64Array(mean),                       // Float64Array (MATLAB/numpy exports)
        new Float32Array(variance),
        epsilon);                                     // bare epsilon: axis 1
    const yValues = y.dataSync();
    console.log(`  y = ${JSON.stringify(y.arraySync().map((row) => row.map((v) => +v.toFixed(4))))}`);
    expectClose('tensor-likes vs formula', yValues,
                reference([1, 2, 3, 4, 5, 6], [2, 3], 1, gamma, beta, mean, variance, epsilon),
                1e-5);
    const xInt = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const intX = batchNormInference(xInt, gamma, beta, mean, new Int32Array([4, 1, 2]),
                                    {epsilon, axis: 1});
    console.log(`  int32 x and Int32Array variance are cast to float32: dtype ${intX.dtype}`);
    check(intX.dtype === 'float32', `dtype ${intX.dtype}`);
    tf.dispose([y, xInt, intX]);
  }

  // 4. Gradients: the op has a gradient for all five inputs. Loss =
  // sum(w * y) with fixed weights w; the gradients are compared with central
  // finite differences of the float64 formula.
  console.log('\n4. Gradients with tf.grads (loss = sum(w * y)), vs finite differences');
  {
    const shape = [2, 3, 2];                          // [N, C, L], axis 1
    const xValues = ramp(12, 0.25, -6);
    const w = ramp(12, 0.1, -5);
    const loss = (x, g, b, m, v) =>
        tf.sum(tf.mul(batchNormInference(x, g, b, m, v, {epsilon, axis: 1}), tf.tensor(w, shape)));
    const inputs = [tf.tensor(xValues, shape), tf.tensor1d(gamma), tf.tensor1d(beta),
                    tf.tensor1d(mean), tf.tensor1d(variance)];
    const grads = tf.grads(loss)(inputs);
    const names = ['dx', 'dgamma', 'dbeta', 'dmean', 'dvariance'];
    const values = [xValues, gamma, beta, mean, variance].map((v) => Float64Array.from(v));
    const lossRef = (vals) => {
      const y = reference(vals[0], shape, 1, vals[1], vals[2], vals[3], vals[4], epsilon);
      return y.reduce((s, yi, i) => s + yi * w[i], 0);
    };
    for (let k = 0; k < 5; k++) {
      const numeric = values[k].map((_, j) => {
        const h = 1e-4 * Math.max(1, Math.abs(values[k][j]));
        const plus = values.map((v) => v.slice());
        const minus = values.map((v) => v.slice());
        plus[k][j] += h;
        minus[k][j] -= h;
        return (lossRef(plus) - lossRef(minus)) / (2 * h);
      });
      const analytic = grads[k].dataSync();
      if (k > 0) console.log(`  ${names[k]} = ${fmt(analytic)}`);
      // Relative to the largest gradient entry: float32 gradients.
      const scale = Math.max(1, ...numeric.map(Math.abs));
      expectClose(`${names[k]} vs finite differences`, analytic, numeric, 1e-3 * scale);
    }
    tf.dispose([...inputs, ...grads]);
  }

  // 5. Fine-tuning: gamma and beta as variables, the statistics fixed; fit
  // the outputs of a "true" gamma/beta with plain gradient descent.
  console.log('\n5. Fine-tuning gamma and beta with tf.train.sgd (mean and variance stay fixed)');
  {
    const shape = [4, 3, 3];                          // [N, C, L]
    const x = tf.tensor(ramp(36, 0.3, -6), shape);
    const [m, v] = [[0, 0.5, -0.5], [1, 2, 0.5]];     // trained statistics, kept fixed
    const trueGamma = [0.8, -1.2, 2];
    const trueBeta = [0.5, 0, -0.75];
    const target = batchNormInference(x, trueGamma, trueBeta, m, v, {epsilon});
    // Start from gamma = 1, beta = 0 (tidy frees the initial values' tensors).
    const g = tf.tidy(() => tf.variable(tf.ones([3]), true, 'gamma'));
    const b = tf.tidy(() => tf.variable(tf.zeros([3]), true, 'beta'));
    const optimizer = tf.train.sgd(0.5);
    const mse = () => tf.losses.meanSquaredError(
        target, batchNormInference(x, g, b, m, v, {epsilon}));
    const initial = tf.tidy(() => mse().dataSync()[0]);
    let last = initial;
    for (let step = 1; step <= 200; step++) {
      const cost = optimizer.minimize(mse, true, [g, b]);
      last = cost.dataSync()[0];
      cost.dispose();
      if (step === 1 || step % 50 === 0) console.log(`  step ${String(step).padStart(3)}: loss ${last.toExponential(3)}`);
    }
    console.log(`  learned gamma ${fmt(g.dataSync())} (true ${fmt(trueGamma)})`);
    console.log(`  learned beta  ${fmt(b.dataSync())} (true ${fmt(trueBeta)})`);
    check(last < initial * 1e-6, `loss went from ${initial} to ${last} only`);
    expectClose('learned gamma vs true', g.dataSync(), trueGamma, 1e-3);
    expectClose('learned beta vs true', b.dataSync(), trueBeta, 1e-3);
    tf.dispose([x, target, g, b]);
    optimizer.dispose();
  }

  const left = tf.memory().numTensors;
  check(left === 0, `${left} tensors were not disposed`);
  console.log('\nop_directly: all checks passed, no tensor leaked');
}

main().catch((e) => {
  console.error(`op_directly FAILED: ${e.stack || e}`);
  process.exit(1);
});
