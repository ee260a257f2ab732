/**
 * The CLI's file IO: reads a tfjs layers model (model.json and every weight
 * shard it lists) into ModelArtifacts, and writes one back as model.json and
 * weight shards the stock tfjs loader reads, into a temporary directory next
 * to the destination that is renamed into place only when complete.
 */
import {io} from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';

/** Errors the CLI prints as one line (no stack): bad files, not bugs. */
export class CliError extends Error {}

/** The converter's shard size. */
const SHARD_BYTES = 4 * 1024 * 1024;

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8,
};

function read(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' :
        code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CliError(`cannot read ${what} ${file}: ${why}`);
  }
}

/** Bytes the manifest says a weight takes in the files. */
function storedBytes(spec: io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytes = BYTES_PER_ELEMENT[dtype];
  if (bytes === undefined) throw new CliError(`weight '${spec.name}' has dtype '${dtype}', which this tool does not read`);
  return size * bytes;
}

/** model.json and its weights; throws CliError for anything a user can fix. */
export function readModel(modelJsonPath: string): {artifacts: io.ModelArtifacts, bytes: number} {
  const text = read(modelJsonPath, 'the model file').toString('utf8');
  let json: io.ModelJSON;
  try {
    json = JSON.parse(text) as io.ModelJSON;
  } catch (e) {
    throw new CliError(`${modelJsonPath} is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || json.modelTopology == null) {
    throw new CliError(`${modelJsonPath} has no modelTopology: it is not a tfjs model.json`);
  }
  const topology = json.modelTopology as {node?: unknown, class_name?: unknown, model_config?: unknown};
  if (json.format === 'graph-model' || Array.isArray(topology.node)) {
    throw new CliError(`${modelJsonPath} is a GraphModel, which has no layers to fold; convert the ` +
                       `Keras model with tensorflowjs_converter --output_format tfjs_layers_model`);
  }
  const manifest = json.weightsManifest ?? [];
  const dir = path.dirname(path.resolve(modelJsonPath));
  const buffers: ArrayBuffer[] = [];
  let expected = 0;
  let got = 0;
  const specs: io.WeightsManifestEntry[] = [];
  for (const group of manifest) {
    for (const spec of group.weights) expected += storedBytes(spec);
    specs.push(...group.weights);
    for (const file of group.paths) {
      const full = path.resolve(dir, file);
      if (!full.startsWith(dir + path.sep)) {
        throw new CliError(`the weight path ${JSON.stringify(file)} in ${modelJsonPath} points outside ${dir}`);
      }
      const data = read(full, 'the weight file');
      got += data.byteLength;
      buffers.push(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    }
  }
  if (got !== expected) {
    throw new CliError(`the weight files of ${modelJsonPath} hold ${got} bytes, but its weightsManifest ` +
                       `describes ${expected} bytes: the weights do not match the model`);
  }
  const artifacts: io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: specs,
    weightData: io.CompositeArrayBuffer.join(buffers),
  };
  return {artifacts, bytes: Buffer.byteLength(text) + got};
}

/**
 * Writes `artifacts` into `outDir` (which must not exist, or be empty):
 * model.json and group1-shardNofM.bin files. Returns the bytes written.
 */
export function writeModel(outDir: string, artifacts: io.ModelArtifacts): number {
  const target = path.resolve(outDir);
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new CliError(`the output directory ${outDir} exists and is not empty; choose a new directory`);
  }
  const parent = path.dirname(target);
  if (!fs.existsSync(parent)) throw new CliError(`the parent directory ${parent} does not exist`);
  const temp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
  try {
    const data = Buffer.from(io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
    const count = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
    const paths = Array.from({length: count}, (_, i) => `group1-shard${i + 1}of${count}.bin`);
    paths.forEach((p, i) => fs.writeFileSync(path.join(temp, p),
                                              data.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES)));
    const modelJSON: io.ModelJSON = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      modelTopology: artifacts.modelTopology as object,
      weightsManifest: [{paths, weights: artifacts.weightSpecs ?? []}],
    };
    const text = JSON.stringify(modelJSON);
    fs.writeFileSync(path.join(temp, 'model.json'), text);
    // mkdtemp makes the directory private (0700); give it the usual mode.
    fs.chmodSync(temp, 0o777 & ~process.umask());
    if (fs.existsSync(target)) fs.rmdirSync(target);  // empty: checked above
    fs.renameSync(temp, target);
    return Buffer.byteLength(text) + data.byteLength;
  } catch (e) {
    fs.rmSync(temp, {recursive: true, force: true});
    throw e;
  }
}
