#!/usr/bin/env node
/*
 * Makes the small "converted Keras" model that examples/load_converted_model.js
 * and the browser demo load:
 * a channels-last convnet of conv2d + BatchNormalization + ReLU blocks, saved
 * in the tfjs layers format (model.json + one weights file), i.e. what
 * `tensorflowjs_converter --input_format keras` writes for a Keras model.
 *
 *   node tools/make_converted_model.js [outputDir]
 *
 * outputDir defaults to examples/data/converted_model/ (committed to the
 * repository). The output is deterministic - weights and non-trivial moving
 * statistics come from test/helpers/stats.js's seeded generator - so running this again writes
 * byte-identical files (with the same tfjs version: model.json records it).
 *
 * Only @tensorflow/tfjs is used (no tfjs-node): the model is saved with
 * tf.io.withSaveHandler and the files are written with fs.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const {prng} = require('../test/helpers/stats.js');

const DEFAULT_DIR = path.join(__dirname, '..', 'examples', 'data', 'converted_model');
const WEIGHTS_FILE = 'group1-shard1of1.bin';   // the converter's name for one shard
const INPUT_SHAPE = [8, 8, 3];                   // H, W, C (channels last)

/** Three conv2d -> BatchNormalization -> ReLU blocks, pooling, a dense head. */
function buildModel() {
  const input = tf.input({shape: INPUT_SHAPE, name: 'image'});
  const blocks = [
    {filters: 8, strides: 1, epsilon: 1e-3},     // Keras's default epsilon
    {filters: 16, strides: 2, epsilon: 1e-5},    // as models converted from PyTorch
    {filters: 16, strides: 1, epsilon: 1.001e-5},  // as keras.applications' ResNets
  ];
  let x = input;
  blocks.forEach(({filters, strides, epsilon}, i) => {
    const n = i + 1;
    x = tf.layers.conv2d({
      name: `conv${n}`, filters, kernelSize: 3, strides, padding: 'same', useBias: false,
      kernelInitializer: 'zeros',  // every weight is set below
    }).apply(x);
    x = tf.layers.batchNormalization({name: `bn${n}`, axis: -1, epsilon, momentum: 0.99}).apply(x);
    x = tf.layers.reLU({name: `relu${n}`}).apply(x);
  });
  x = tf.layers.globalAveragePooling2d({name: 'pool'}).apply(x);
  const logits = tf.layers.dense({name: 'logits', units: 4, kernelInitializer: 'zeros'}).apply(x);
  return tf.model({name: 'tiny_convnet', inputs: input, outputs: logits});
}

/** Deterministic weights: scaled conv/dense kernels and non-trivial BN statistics. */
function setDeterministicWeights(model) {
  const next = prng(20240521);
  const uniform = (lo, hi) => lo + (hi - lo) * next();
  const values = model.weights.map((w) => {
    const shape = w.shape;
    const size = shape.reduce((a, b) => a * b, 1);
    const kind = w.originalName.split('/').pop();
    let lo;
    let hi;
    if (kind === 'kernel') {
      // Glorot-uniform range, so activations stay of order 1.
      const fanOut = shape[shape.length - 1];
      const fanIn = size / fanOut;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      [lo, hi] = [-limit, limit];
    } else {
      [lo, hi] = {
        gamma: [0.5, 1.5],
        beta: [-0.3, 0.3],
        moving_mean: [-0.5, 0.5],
        moving_variance: [0.05, 2],
        bias: [-0.1, 0.1],
      }[kind];
    }
    return tf.tensor(Float32Array.from({length: size}, () => uniform(lo, hi)), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Saves `model` as dir/model.json + dir/WEIGHTS_FILE; returns the file paths. */
async function saveToDirectory(model, dir) {
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJSON = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs}],
  };
  fs.mkdirSync(dir, {recursive: true});
  const jsonPath = path.join(dir, 'model.json');
  const binPath = path.join(dir, WEIGHTS_FILE);
  fs.writeFileSync(jsonPath, JSON.stringify(modelJSON));  // compact, as the converter writes it
  fs.writeFileSync(binPath, weights);
  return [jsonPath, binPath];
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

async function main() {
  const dir = path.resolve(process.argv[2] || DEFAULT_DIR);
  await tf.setBackend('cpu');
  const model = buildModel();
  setDeterministicWeights(model);

  console.log(`Model '${model.name}' (input [null,${INPUT_SHAPE}], channels last):`);
  for (const layer of model.layers) {
    const params = layer.countParams();
    console.log(`  ${layer.name.padEnd(8)} ${layer.getClassName().padEnd(22)} ` +
                `output ${JSON.stringify(layer.outputShape)}${params ? `, ${params} params` : ''}`);
  }
  const bn = model.getLayer('bn2');
  const [, , movingMean, movingVariance] = bn.getWeights();
  const first = (t) => Array.from(t.dataSync().slice(0, 4), (v) => v.toFixed(4)).join(', ');
  console.log(`bn2 moving_mean[0:4]     = [${first(movingMean)}]`);
  console.log(`bn2 moving_variance[0:4] = [${first(movingVariance)}]`);

  const files = await saveToDirectory(model, dir);
  let total = 0;
  const shown = path.relative(process.cwd(), dir);
  console.log(`\nSaved to ${shown.startsWith('..') ? dir : shown || '.'}:`);
  for (const file of files) {
    const size = fs.statSync(file).size;
    total += size;
    console.log(`  ${path.basename(file).padEnd(20)} ${String(size).padStart(6)} bytes  sha256 ${sha256(file)}`);
  }
  if (total > 50 * 1024) throw new Error(`the model files take ${total} bytes (> 50 KB)`);
  model.dispose();
  console.log('\nmake_converted_model: done');
}

main().catch((e) => {
  console.error(`make_converted_model FAILED: ${e.stack || e}`);
  process.exit(1);
});
