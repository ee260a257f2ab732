#!/usr/bin/env node
/*
 * A tf.sequential model with the BatchNormInference layer, built from the
 * statistics of a trained MATLAB batchNormalizationLayer, then saved and
 * loaded back (cpu backend, Node):
 *
 *   npm run build && node examples/sequential_model.js
 *
 * examples/data/matlab_batchnorm.json is what MATLAB's jsonencode writes for
 * the layer's properties (per-channel values as 1x1xC arrays); see the README.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
// Importing the package registers the layer class: tf.loadLayersModel needs it.
const {batchNormInferenceLayer} = require('tfjs-batchnorm-inference');

async function main() {
  await tf.setBackend('cpu');
  const matlab = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'matlab_batchnorm.json'), 'utf8'));

  // MATLAB's property names and shapes are taken as they are; axis -1 (HxWxC) by default.
  const model = tf.sequential({layers: [
    batchNormInferenceLayer({...matlab, inputShape: [3, 3, matlab.NumChannels]}),
    tf.layers.reLU(),
  ]});
  model.summary();

  const x = tf.randomNormal([2, 3, 3, matlab.NumChannels], 0, 1, 'float32', 42);
  const y = model.predict(x);
  console.log(`y[0, 0, 0, :] = [${Array.from(y.dataSync().slice(0, 4), (v) => v.toFixed(4))}]`);

  // Save and load back. In the browser: model.save('indexeddb://bn') or
  // 'downloads://bn'; in Node with @tensorflow/tfjs-node: 'file://./bn'.
  // Here, in memory:
  let saved;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
  const same = tf.equal(reloaded.predict(x), y).all().dataSync()[0] === 1;
  const classes = reloaded.layers.map((l) => l.getClassName()).join(', ');
  console.log(`reloaded model (${classes}) predicts the same: ${same}`);
  if (!same) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
