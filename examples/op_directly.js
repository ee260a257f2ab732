#!/usr/bin/env node
/*
 * The batchNormInference op, called directly (cpu backend, Node):
 *
 *   npm run build && node examples/op_directly.js
 *
 * y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, per channel.
 */
'use strict';
const tf = require('@tensorflow/tfjs');
const {batchNormInference} = require('tfjs-batchnorm-inference');

const round = (t) => Array.from(t.dataSync(), (v) => Math.round(v * 1e4) / 1e4);

async function main() {
  await tf.setBackend('cpu');
  // Per-channel statistics for 2 channels (argument order: x, gamma, beta, mean, variance).
  const gamma = tf.tensor1d([1, 2]);
  const beta = tf.tensor1d([0, 1]);
  const mean = tf.tensor1d([4, 5]);
  const variance = tf.tensor1d([4, 4]);
  const epsilon = 1e-5;

  // 1. Channels last (NHWC, tfjs's layout): pass axis -1.
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
  const y = batchNormInference(x, gamma, beta, mean, variance, {epsilon, axis: -1});
  console.log(`channels last (axis -1): [${round(y)}]`);

  // 2. Channels first (NCHW, OpenVINO's layout): axis 1 (the default; here dims 1 and 3 agree,
  //    so the op refuses to guess and the axis is given).
  const xNCHW = tf.transpose(x, [0, 3, 1, 2]);
  const yNCHW = batchNormInference(xNCHW, gamma, beta, mean, variance, {epsilon, axis: 1});
  const same = tf.transpose(yNCHW, [0, 2, 3, 1]).equal(y).all().dataSync()[0] === 1;
  console.log(`channels first (axis 1) gives the same values: ${same}`);

  // 3. Any argument may be a nested array or typed array; a number is the epsilon.
  const z = batchNormInference([[1, 2], [3, 4]], new Float32Array([1, 2]), [0, 1],
                               new Float64Array([4, 5]), [4, 4], epsilon);
  console.log(`tensor-likes: [${round(z)}]`);

  // 4. The op has a gradient for all five inputs.
  const loss = (xs, g, b) => batchNormInference(xs, g, b, mean, variance, {epsilon, axis: -1}).sum();
  const [dx, dgamma, dbeta] = tf.grads(loss)([x, gamma, beta]);
  console.log(`gradients: dx [${round(dx)}], dgamma [${round(dgamma)}], dbeta [${round(dbeta)}]`);

  if (!same) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
