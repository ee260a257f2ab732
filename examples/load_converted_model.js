#!/usr/bin/env node
/*
 * A Keras model converted to the tfjs layers format (model.json + weights),
 * with every BatchNormalization layer replaced by a BatchNormInference layer
 * (cpu backend, Node):
 *
 *   npm run build && node examples/load_converted_model.js [dir]
 *
 * dir defaults to examples/data/converted_model/ (a small convnet written by
 * tools/make_converted_model.js). In a browser the model loads over HTTP with
 * tf.loadLayersModel('https://.../model.json'); in Node without tfjs-node,
 * the package's fileSystem(path) reads the files (model.json and every shard).
 */
'use strict';
const path = require('path');
const tf = require('@tensorflow/tfjs');
const {fileSystem, replaceBatchNormalization} = require('tfjs-batchnorm-inference');

async function main() {
  await tf.setBackend('cpu');
  const dir = process.argv[2] || path.join(__dirname, 'data', 'converted_model');
  const keras = await tf.loadLayersModel(fileSystem(dir));   // a folder, or its model.json

  const {model} = replaceBatchNormalization(keras);   // `keras` itself is left unchanged
  const count = (m, name) => m.layers.filter((l) => l.getClassName() === name).length;
  console.log(`layers: ${model.layers.map((l) => `${l.name}:${l.getClassName()}`).join(' ')}`);

  const x = tf.randomNormal([3, ...keras.inputs[0].shape.slice(1)], 0, 1, 'float32', 7);
  const diff = tf.max(tf.abs(tf.sub(keras.predict(x), model.predict(x)))).dataSync()[0];
  console.log(`replaced ${count(model, 'BatchNormInference')} of ${count(keras, 'BatchNormalization')} ` +
              `BatchNormalization layers; max |original - converted| = ${diff.toExponential(1)}`);
  if (!(diff <= 1e-5)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
