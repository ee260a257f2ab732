#!/usr/bin/env node
/*
 * Loads a converted Keras model (tfjs layers format: model.json + weight
 * files) from disk, replaces every BatchNormalization layer with a
 * BatchNormInference layer (replaceBatchNormalization), and checks that both
 * models predict the same (cpu backend, Node).
 *
 *   npm run build && node examples/load_converted_model.js [modelDir | model.json]
 *
 * The default is examples/data/converted_model/ (made by
 * make_converted_model.js). In a browser, tf.loadLayersModel('.../model.json')
 * loads the same files over HTTP; in Node, @tensorflow/tfjs has no file://
 * handler without tfjs-node, so the small IOHandler below reads them.
 * Exits non-zero if the models differ by more than 1e-5.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const {replaceBatchNormalization} = require('tfjs-batchnorm-inference');

const TOLERANCE = 1e-5;

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/**
 * An IOHandler that reads model.json and its weight shards from disk. Weight
 * paths are relative to model.json, as the converter writes them.
 */
function fileIOHandler(modelJsonPath) {
  return {
    async load() {
      const modelJSON = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
      const dir = path.dirname(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (weightsManifest) => {
        const specs = [];
        const buffers = [];
        for (const group of weightsManifest) {
          specs.push(...group.weights);
          for (const file of group.paths) {
            const b = fs.readFileSync(path.join(dir, file));
            buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

function describeLayers(model) {
  for (const layer of model.layers) {
    const config = layer.getConfig();
    const extra = 'epsilon' in config ? `  epsilon ${config.epsilon}, axis ${config.axis}` : '';
    const line = `  ${layer.name.padEnd(8)} ${layer.getClassName().padEnd(22)} ` +
        `${JSON.stringify(layer.outputShape).padEnd(16)}${extra}`;
    console.log(line.trimEnd());
  }
}

const classCount = (model, className) =>
  model.layers.filter((l) => l.getClassName() === className).length;

async function main() {
  let modelJsonPath = path.resolve(process.argv[2] || path.join(__dirname, 'data', 'converted_model'));
  if (fs.existsSync(modelJsonPath) && fs.statSync(modelJsonPath).isDirectory()) {
    modelJsonPath = path.join(modelJsonPath, 'model.json');
  }
  if (!fs.existsSync(modelJsonPath)) {
    throw new Error(`${modelJsonPath} does not exist; make it with ` +
                    `'node examples/make_converted_model.js [dir]'.`);
  }
  await tf.setBackend('cpu');

  // 1. Load the Keras model as it was converted.
  const keras = await tf.loadLayersModel(fileIOHandler(modelJsonPath));
  console.log(`Loaded '${keras.name}' from ${path.relative(process.cwd(), modelJsonPath)}`);
  console.log('Layers before:');
  describeLayers(keras);

  // 2. Replace its BatchNormalization layers: same names, epsilon, axis and
  // weights. The original model is not changed.
  const model = replaceBatchNormalization(keras);
  console.log('Layers after replaceBatchNormalization:');
  describeLayers(model);

  const before = classCount(keras, 'BatchNormalization');
  const after = classCount(model, 'BatchNormInference');
  console.log(`Replaced ${after} of ${before} BatchNormalization layers ` +
              `(${classCount(model, 'BatchNormalization')} left)`);
  check(before > 0, 'the model has no BatchNormalization layer');
  check(after === before && classCount(model, 'BatchNormalization') === 0,
        'not every BatchNormalization layer was replaced');
  check(classCount(keras, 'BatchNormalization') === before, 'the original model was changed');
  for (const layer of keras.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const replaced = model.getLayer(layer.name);
    check(replaced.epsilon === layer.getConfig().epsilon, `${layer.name}: epsilon`);
    const [a, b] = [layer.getWeights(), replaced.getWeights()];
    for (let i = 0; i < 4; i++) {
      check(tf.util.arraysEqual(a[i].dataSync(), b[i].dataSync()), `${layer.name}: weight ${i}`);
    }
  }

  // 3. Both predict on the same fixed input.
  const inputShape = keras.inputs[0].shape.slice(1);
  const batch = 3;
  const size = batch * inputShape.reduce((p, d) => p * d, 1);
  const x = tf.tensor(Float32Array.from({length: size}, (_, i) => Math.cos(i * 0.37) * 1.5),
                      [batch, ...inputShape]);
  const yKeras = keras.predict(x);
  const yConverted = model.predict(x);
  console.log(`\nPredictions for input [${x.shape}]:`);
  const rows = (t) => t.arraySync().map((r) => `[${r.map((v) => v.toFixed(5)).join(', ')}]`);
  const [rk, rc] = [rows(yKeras), rows(yConverted)];
  for (let i = 0; i < batch; i++) {
    console.log(`  sample ${i}: BatchNormalization ${rk[i]}`);
    console.log(`            BatchNormInference ${rc[i]}`);
  }
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(yKeras, yConverted))).dataSync()[0]);
  console.log(`max |BatchNormalization model - BatchNormInference model| = ` +
              `${diff.toExponential(2)} (tolerance ${TOLERANCE.toExponential(0)})`);
  check(diff <= TOLERANCE, `the models differ by ${diff} > ${TOLERANCE}`);

  tf.dispose([x, yKeras, yConverted]);
  keras.dispose();
  model.dispose();
  console.log('\nload_converted_model: all checks passed');
}

main().catch((e) => {
  console.error(`load_converted_model FAILED: ${e.stack || e}`);
  process.exit(1);
});
