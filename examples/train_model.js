#!/usr/bin/env node
/*
 * Trains a small model with a BatchNormInference layer in Node (cpu), as
 * MATLAB's batchNormalizationLayer trains: mini-batch statistics in fit(),
 * running TrainedMean / TrainedVariance. Then replaces the running estimates
 * by the population statistics of the training data, saves, loads, predicts.
 *
 *   npm run build && node examples/train_model.js
 */
'use strict';
const tf = require('@tensorflow/tfjs');
const tfbni = require('tfjs-batchnorm-inference');

const round = (values) => Array.from(values, (v) => Number(v.toFixed(3)));

async function main() {
  await tf.setBackend('cpu');
  // Synthetic data: 4 features with means 3, -1, 0.5, 2 and spreads 2, 0.5, 1, 3.
  const n = 512;
  const z = tf.randomNormal([n, 4], 0, 1, 'float32', 42);
  const x = z.mul([2, 0.5, 1, 3]).add([3, -1, 0.5, 2]);
  const y = z.matMul(tf.tensor2d([[1], [-2], [0.5], [1]]));

  const bn = tfbni.batchNormInferenceLayer({inputShape: [4], Name: 'bn', MeanDecay: 0.1, VarianceDecay: 0.1});
  const dense = tf.layers.dense({units: 1, kernelInitializer: tf.initializers.glorotUniform({seed: 1})});
  const model = tf.sequential({layers: [bn, dense]});
  model.compile({optimizer: tf.train.adam(0.02), loss: 'meanSquaredError'});

  console.log('before:     TrainedMean', round(bn.TrainedMean), 'TrainedVariance', round(bn.TrainedVariance));
  await model.fit(x, y, {
    epochs: 10, batchSize: 32, shuffle: false, verbose: 0,  // the samples are already in random order
    callbacks: {onEpochEnd: (epoch, logs) => console.log(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(4)}`)},
  });
  console.log('moving:     TrainedMean', round(bn.TrainedMean), 'TrainedVariance', round(bn.TrainedVariance));

  // MATLAB's 'population' statistics: one more pass over the training data.
  await tfbni.computePopulationStatistics(model, x, {batchSize: 128});
  console.log('population: TrainedMean', round(bn.TrainedMean), 'TrainedVariance', round(bn.TrainedVariance));

  // Save and load (in memory here; 'localstorage://', 'downloads://' or a
  // file handler work the same way), then predict with the loaded model.
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a)};
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const sample = x.slice([0, 0], [3, 4]);
  const a = model.predict(sample);
  const b = loaded.predict(sample);
  console.log('predictions (original, loaded):', round(a.dataSync()), round(b.dataSync()));
  console.log('loaded layer config:', JSON.stringify(loaded.getLayer('bn').getConfig()));
  if (tf.max(tf.abs(a.sub(b))).dataSync()[0] !== 0) throw new Error('loaded model predicts differently');
  tf.dispose([z, x, y, sample, a, b]);
  model.dispose();
  loaded.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
