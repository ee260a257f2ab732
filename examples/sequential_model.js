#!/usr/bin/env node
/*
 * A tf.sequential model with the BatchNormInference layer built from the
 * statistics of a trained MATLAB batchNormalizationLayer (cpu backend, Node).
 *
 *   npm run build && node examples/sequential_model.js
 *
 * examples/data/matlab_batchnorm.json holds the layer's properties as MATLAB's
 * jsonencode writes them (per-channel values as 1x1xC arrays), e.g.:
 *
 *   bn = net.Layers(3);                      % a trained batchNormalizationLayer
 *   s = struct('Name', bn.Name, 'NumChannels', bn.NumChannels, ...
 *              'Epsilon', bn.Epsilon, 'TrainedMean', bn.TrainedMean, ...
 *              'TrainedVariance', bn.TrainedVariance, ...
 *              'Scale', bn.Scale, 'Offset', bn.Offset);
 *   fid = fopen('matlab_batchnorm.json', 'w');
 *   fprintf(fid, '%s', jsonencode(s, 'PrettyPrint', true)); fclose(fid);
 *
 * The model (BatchNormInference -> ReLU) predicts on a fixed input; its
 * output is checked against relu(Scale * (x - TrainedMean) /
 * sqrt(TrainedVariance + Epsilon) + Offset) in float64. The model is then
 * saved and loaded back (the layer class is registered for serialization)
 * and must predict the same. Exits non-zero if a check fails.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const {batchNormInferenceLayer} = require('tfjs-batchnorm-inference');

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

function maxAbsDiff(a, b) {
  check(a.length === b.length, `length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const fmt = (values) => `[${Array.from(values, (v) => v.toFixed(4)).join(', ')}]`;

async function main() {
  await tf.setBackend('cpu');

  // 1. The MATLAB statistics, passed as they are: the layer takes MATLAB's
  // property names and shapes (C, 1xC, Cx1 or 1x1xC).
  const file = path.join(__dirname, 'data', 'matlab_batchnorm.json');
  const matlab = JSON.parse(fs.readFileSync(file, 'utf8'));
  console.log(`MATLAB statistics from ${path.relative(process.cwd(), file)}:`);
  for (const [key, value] of Object.entries(matlab)) {
    console.log(`  ${key.padEnd(15)} ${JSON.stringify(value)}`);
  }

  const [H, W, C] = [3, 3, matlab.NumChannels];
  const bn = batchNormInferenceLayer({...matlab, inputShape: [H, W, C]});  // axis -1 (NHWC)
  const model = tf.sequential({
    name: 'matlab_bn',
    layers: [bn, tf.layers.reLU({name: 'relu'})],
  });
  console.log('\nModel:');
  model.summary(100, [0.34, 0.6, 0.86, 1], (line) => console.log(`  ${line}`));

  // The layer exposes the values under MATLAB's names too.
  console.log(`\nLayer '${bn.Name}' (${bn.getClassName()}): NumChannels ${bn.NumChannels}, ` +
              `Epsilon ${bn.Epsilon}, axis ${bn.axis}`);
  console.log(`  TrainedMean     ${fmt(bn.TrainedMean)}`);
  console.log(`  TrainedVariance ${fmt(bn.TrainedVariance)}`);
  console.log(`  Scale           ${fmt(bn.Scale)}`);
  console.log(`  Offset          ${fmt(bn.Offset)}`);
  const flat = (a) => a.flat(Infinity);
  check(maxAbsDiff(bn.TrainedMean, flat(matlab.TrainedMean)) < 1e-6, 'TrainedMean');
  check(maxAbsDiff(bn.TrainedVariance, flat(matlab.TrainedVariance)) < 1e-6, 'TrainedVariance');

  // 2. Predict on a fixed input of shape [2, H, W, C].
  const n = 2 * H * W * C;
  const xValues = Float32Array.from({length: n}, (_, i) => ((i * 7) % 23 - 11) * 0.3);
  const x = tf.tensor4d(xValues, [2, H, W, C]);
  const y = model.predict(x);
  const yValues = y.dataSync();
  console.log(`\nInput x: shape [${x.shape}], output y: shape [${y.shape}]`);
  console.log(`  x[0, 0, 0, :] = ${fmt(xValues.slice(0, C))}`);
  console.log(`  y[0, 0, 0, :] = ${fmt(yValues.slice(0, C))}`);
  console.log(`  x[1, 2, 2, :] = ${fmt(xValues.slice(n - C))}`);
  console.log(`  y[1, 2, 2, :] = ${fmt(yValues.slice(n - C))}`);

  // 3. The formula in float64, channel = index % C (channels last).
  const [mean, variance, scale, offset] =
      [matlab.TrainedMean, matlab.TrainedVariance, matlab.Scale, matlab.Offset].map(flat);
  const expected = Array.from(xValues, (v, i) => {
    const c = i % C;
    const z = scale[c] * (v - mean[c]) / Math.sqrt(variance[c] + matlab.Epsilon) + offset[c];
    return Math.max(z, 0);
  });
  const diff = maxAbsDiff(yValues, expected);
  console.log(`\nmax |model output - formula| = ${diff.toExponential(2)} (tolerance 1e-5)`);
  check(diff <= 1e-5, `model output differs from the formula by ${diff}`);

  // 4. Save and load back (in memory here; model.save('downloads://...') or
  // any IOHandler works the same): the layer's class is registered.
  let saved;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
  const layerClasses = reloaded.layers.map((l) => `${l.name}:${l.getClassName()}`).join(', ');
  const y2 = reloaded.predict(x);
  const reloadDiff = maxAbsDiff(yValues, y2.dataSync());
  console.log(`Saved and reloaded (${layerClasses}): max |diff| = ${reloadDiff.toExponential(2)}`);
  check(reloadDiff === 0, `reloaded model differs by ${reloadDiff}`);

  tf.dispose([x, y, y2]);
  model.dispose();
  reloaded.dispose();
  console.log('\nsequential_model: all checks passed');
}

main().catch((e) => {
  console.error(`sequential_model FAILED: ${e.stack || e}`);
  process.exit(1);
});
