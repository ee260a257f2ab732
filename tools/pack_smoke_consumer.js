/*
 * The consumer side of tools/pack_smoke.js: copied into a temporary project
 * where the packed tarball is installed beside one tfjs 4.x version, and run
 * there with Node. Uses the package only by its name, as a user would, on the
 * cpu backend: the op, the layer in a model, save/load through an in-memory
 * IO handler, replaceBatchNormalization, the ESM entry and the browser bundle
 * path. Prints one line "pack smoke OK: tfjs <version>" or exits non-zero.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const tfbni = require('tfjs-batchnorm-inference');

function check(condition, message) {
  if (!condition) throw new Error(`pack smoke: ${message}`);
}

/** Every @tensorflow/<name> package directory in the consumer's node_modules tree. */
function findPackages(name, dir = path.join(__dirname, 'node_modules'), found = []) {
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir)) {
    const sub = path.join(dir, entry);
    if (entry === '@tensorflow' && fs.existsSync(path.join(sub, name))) found.push(path.join(sub, name));
    if (entry.startsWith('@')) {
      for (const scoped of fs.readdirSync(sub)) findPackages(name, path.join(sub, scoped, 'node_modules'), found);
    } else if (entry !== '.bin') {
      findPackages(name, path.join(sub, 'node_modules'), found);
    }
  }
  return found;
}

/** One tfjs-core in the whole tree: a second copy would have its own kernel registry. */
function checkOneTfjs() {
  const copies = findPackages('tfjs-core');
  check(copies.length === 1,
        `npm installed ${copies.length} copies of @tensorflow/tfjs-core (${copies.join(', ')}): ` +
        'the peer range does not accept the installed tfjs');
}

async function main() {
  checkOneTfjs();
  await tf.setBackend('cpu');

  // The op, channels last: y = gamma * (x - mean) / sqrt(variance + epsilon) + beta.
  const y = tfbni.batchNormInference([[1, 2], [3, 4]], [2, 1], [0, 1], [1, 2], [3, 0], {epsilon: 1, axis: -1});
  const got = Array.from(y.dataSync());
  // channel 0: 2 * (x - 1) / sqrt(3 + 1) + 0; channel 1: 1 * (x - 2) / sqrt(0 + 1) + 1.
  const want = [0, 1, 2, 3];
  check(got.every((v, i) => Math.abs(v - want[i]) < 1e-6), `op gave [${got}], expected [${want}]`);
  y.dispose();

  // The layer in a model, saved and loaded back (the class is registered).
  const model = tf.sequential({layers: [tfbni.batchNormInferenceLayer(
      {TrainedMean: [1, 2], TrainedVariance: [3, 0], Epsilon: 1, Scale: [2, 1], Offset: [0, 1],
       inputShape: [2]})]});
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const before = Array.from(model.predict(x).dataSync());
  check(before.every((v, i) => Math.abs(v - want[i]) < 1e-6), `layer gave [${before}]`);
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  check(loaded.layers[0].getClassName() === 'BatchNormInference', 'loaded layer class');
  const after = Array.from(loaded.predict(x).dataSync());
  check(after.every((v, i) => v === before[i]), `loaded model gave [${after}], saved [${before}]`);

  // A Keras BatchNormalization model converted.
  const keras = tf.sequential({layers: [tf.layers.batchNormalization({inputShape: [2], epsilon: 1})]});
  keras.layers[0].setWeights([tf.tensor1d([2, 1]), tf.tensor1d([0, 1]), tf.tensor1d([1, 2]),
                              tf.tensor1d([3, 0])]);
  const converted = tfbni.replaceBatchNormalization(keras).model;
  check(converted.layers[0].getClassName() === 'BatchNormInference', 'converted layer class');
  const convertedOut = Array.from(converted.predict(x).dataSync());
  check(convertedOut.every((v, i) => Math.abs(v - want[i]) < 1e-6), `converted gave [${convertedOut}]`);

  // The other entry points.
  const esm = await import('tfjs-batchnorm-inference');
  check(typeof esm.batchNormInference === 'function', 'ESM entry exports batchNormInference');
  check(fs.existsSync(require.resolve('tfjs-batchnorm-inference/dist/tfjs-batchnorm-inference.min.js')),
        'browser bundle path');

  console.log(`pack smoke OK: tfjs ${tf.version.tfjs}, tfjs-batchnorm-inference ${tfbni.version}`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
