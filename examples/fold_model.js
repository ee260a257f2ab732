#!/usr/bin/env node
/*
 * Folds the batch norms of a small MobileNet-style model into the
 * convolutions before them (foldBatchNormalization), prints the report and
 * the largest difference between the two models' predictions.
 *
 *   npm run build && node examples/fold_model.js
 *
 * Exits non-zero if the predictions differ by more than 1e-4 of their size.
 */
'use strict';
const tf = require('@tensorflow/tfjs');
const {foldBatchNormalization, formatFoldReport} = require('tfjs-batchnorm-inference');

/** Conv -> BatchNormalization -> ReLU6 (maxValue 6), as MobileNetV2 has them. */
function block(x, name, conv, relu6 = true) {
  x = tf.layers.batchNormalization({name: `${name}_bn`}).apply(conv.apply(x));
  return relu6 ? tf.layers.reLU({name: `${name}_relu6`, maxValue: 6}).apply(x) : x;
}

function buildModel() {
  const input = tf.input({shape: [16, 16, 8]});
  let y = block(input, 'expand', tf.layers.conv2d({name: 'expand', filters: 32, kernelSize: 1, useBias: false}));
  y = block(y, 'dw', tf.layers.depthwiseConv2d({name: 'dw', kernelSize: 3, padding: 'same', useBias: false}));
  y = block(y, 'project', tf.layers.conv2d({name: 'project', filters: 8, kernelSize: 1, useBias: false}), false);
  const output = tf.layers.add({name: 'add'}).apply([input, y]);  // the residual: its BN cannot fold
  const out = tf.layers.batchNormalization({name: 'out_bn'}).apply(output);
  return tf.model({inputs: input, outputs: out});
}

/** Trained-looking statistics: variances in [0.1, 2], means and betas around 0. */
function setWeights(model) {
  const values = model.weights.map((w, i) => {
    const kind = w.originalName.split('/').pop();
    const [lo, hi] = {moving_variance: [0.1, 2], gamma: [0.5, 1.5]}[kind] || [-0.5, 0.5];
    return tf.randomUniform(w.shape, lo, hi, 'float32', i);
  });
  model.setWeights(values);
  tf.dispose(values);
}

async function main() {
  await tf.setBackend('cpu');
  const model = buildModel();
  setWeights(model);
  const {model: folded, report} = foldBatchNormalization(model);
  console.log(formatFoldReport(report));

  const x = tf.randomUniform([1, 16, 16, 8], -1, 1, 'float32', 42);
  const [a, b] = [model.predict(x), folded.predict(x)];
  const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  const size = tf.max(tf.abs(a)).dataSync()[0];
  console.log(`largest difference: ${diff.toExponential(2)} (max |y| ${size.toFixed(3)})`);
  if (!(diff <= 1e-4 * size)) throw new Error('the folded model predicts differently');
  console.log('fold_model: done');
}

main().catch((e) => {
  console.error(`fold_model FAILED: ${e.stack || e}`);
  process.exit(1);
});
