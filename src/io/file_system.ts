/**
 * `fileSystem(path)`: a tfjs IO handler that loads and saves models on the
 * local disk in Node, without tfjs-node (whose `file://` handler needs a
 * native library). The checks and the file formats are in model_folder.ts.
 */
import {io} from '@tensorflow/tfjs-core';

import {nodeModules, readModelFiles} from './model_folder';
import {writeModelFiles} from './model_folder_write';
import {quoteText} from './quote';

/**
 * A tfjs IO handler for a folder on the local disk, in Node, without
 * tfjs-node: loads a LayersModel or GraphModel `model.json` (or the folder
 * holding it) with all its weight shards, and saves `model.json` and
 * `group1-shard1of1.bin` (4 MiB shards) into a folder.
 *
 * - load reads only regular files inside the model's folder (a weight path
 *   with `../`, an absolute path, a link leading outside, a FIFO or a
 *   device is an error naming the file) and only the bytes the manifest
 *   declares (a short or long shard is an error naming it).
 * - save writes into a new hidden folder renamed into place when complete;
 *   it creates the folder, fills an empty one, or replaces a model saved
 *   there before - never a folder holding other files.
 *
 * ```js
 * const tf = require('@tensorflow/tfjs');
 * const {fileSystem} = require('tfjs-batchnorm-inference');
 *
 * const model = tf.sequential({layers: [tf.layers.dense({inputShape: [2], units: 1})]});
 * await model.save(fileSystem('my-model'));
 * const loaded = await tf.loadLayersModel(fileSystem('my-model/model.json'));
 * loaded.predict(tf.ones([1, 2])).print();
 * ```
 *
 * @param path A `model.json` or a folder holding one (load); the folder to
 *     write (save).
 */
export function fileSystem(path: string): io.IOHandler {
  if (typeof path !== 'string' || path === '') {
    throw new Error(`Error in fileSystem: path must be a model.json or a folder, but got ${quoteText(path)}.`);
  }
  return {
    async load(): Promise<io.ModelArtifacts> {
      return readModelFiles(await nodeModules(), path).artifacts;
    },
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      await writeModelFiles(await nodeModules(), path, artifacts, {replace: true});
      return {modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts)};
    },
  };
}
