/**
 * A file-system IOHandler for Node: `model.save(fileSystemIO(dir))` writes
 * `model.json` and `weights.bin` into `dir`, and
 * `tf.loadLayersModel(fileSystemIO(dir))` reads them back - the files
 * `tensorflowjs_converter` produces, so converted models (several weight
 * shards, quantized weights) load too.
 *
 * It exists because @tensorflow/tfjs (unlike tfjs-node and its native
 * addon) has no `file://` handler in Node. It stays in test/helpers rather
 * than src: the package also ships a browser bundle, which must not import
 * `fs`.
 *
 * ```ts
 * const dir = makeTempDir();
 * await model.save(fileSystemIO(dir));
 * const loaded = await tf.loadLayersModel(fileSystemIO(dir));
 * removeDir(dir);
 * ```
 */
import {io} from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** A new empty directory under the system's temp dir. */
export function makeTempDir(prefix = 'tfbni-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a directory made by makeTempDir (and its files). */
export function removeDir(dir: string): void {
  fs.rmSync(dir, {recursive: true, force: true});
}

/** `dir/file`, refusing names that would leave `dir` (`../x`, `/etc/x`). */
function inside(dir: string, file: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, file);
  if (!full.startsWith(root + path.sep)) {
    throw new Error(`fileSystemIO: the weight path ${JSON.stringify(file)} in ${MODEL_JSON} ` +
                    `points outside ${root}.`);
  }
  return full;
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

export function readModelJSON(dir: string): io.ModelJSON {
  return JSON.parse(fs.readFileSync(path.join(dir, MODEL_JSON), 'utf8')) as io.ModelJSON;
}

export function writeModelJSON(dir: string, modelJSON: io.ModelJSON): void {
  fs.writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify(modelJSON));
}

/** All weight files of a manifest, concatenated in manifest order. */
export function readWeights(dir: string, manifest: io.WeightsManifestConfig):
    [io.WeightsManifestEntry[], ArrayBuffer] {
  const specs: io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const file of group.paths) buffers.push(toArrayBuffer(fs.readFileSync(inside(dir, file))));
  }
  return [specs, io.CompositeArrayBuffer.join(buffers)];
}

/**
 * An IOHandler saving to and loading from `dir` (which must exist for save).
 * Saving writes one `weights.bin`; loading follows the manifest's paths.
 */
export function fileSystemIO(dir: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystemIO saves JSON model topologies (LayersModel) only.');
      }
      const weightData = artifacts.weightData == null ?
          new ArrayBuffer(0) : io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJSON: io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? []}],
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata != null) {
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      }
      fs.writeFileSync(path.join(dir, WEIGHTS_BIN), Buffer.from(weightData));
      writeModelJSON(dir, modelJSON);
      return {modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts)};
    },

    async load(): Promise<io.ModelArtifacts> {
      return io.getModelArtifactsForJSON(
          readModelJSON(dir), async (manifest) => readWeights(dir, manifest));
    },
  };
}

/** Rewrites dir/model.json through `edit` (a hostile or malformed model for a test). */
export function editJSON(dir: string, edit: (json: any) => void): void {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
}
