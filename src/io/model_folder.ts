/**
 * Reading a model's folder in Node (writing: model_folder_write.ts), for
 * `fileSystem(path)` (the public IO handler, in file_system.ts) and the CLI,
 * which both use these functions. Kept apart from file_system.ts so the
 * published declaration of `fileSystem` mentions no Node type.
 *
 * Loading reads only what the model's `model.json` declares, and only from
 * regular files inside the model's folder:
 * - a weight path must stay inside the folder (no `../`, no absolute path);
 * - symbolic links are resolved and the real path must still be inside the
 *   real path of the folder: a link to a shard beside it works, a link (or a
 *   linked subfolder) that leads outside is refused. Refusing every link
 *   would break layouts that deduplicate shards with links inside the folder
 *   and gain nothing: what must not happen is reading a file the model's
 *   author did not ship;
 * - FIFOs, devices, sockets and folders are refused from `stat`, before any
 *   open (a FIFO would block the open or the read forever); the open uses
 *   O_NONBLOCK and O_NOFOLLOW, and the opened descriptor is checked again,
 *   so a file swapped after the check cannot hang the reader either;
 * - a layers model's topology is checked (src/io/layers_topology.ts) so that
 *   tfjs-layers' deserializer cannot loop forever on it;
 * - each manifest group is read up to the bytes its weights declare (plus
 *   one, to tell a long shard): a shard that is longer or shorter is an
 *   error naming it, never a silent misalignment or an unbounded read.
 *
 * Node's `fs` is reached at call time (`process.getBuiltinModule`, or a
 * dynamic import on older Node), so the package's browser bundles, which
 * export this function too, import no Node module.
 */
import {io} from '@tensorflow/tfjs-core';
import type * as FsModule from 'fs';
import type * as PathModule from 'path';

import {checkLayersTopology, TopologyError} from './layers_topology';
import {escapeControls, quoteText} from './quote';

const WHO = 'fileSystem';
export const MODEL_JSON = 'model.json';
/** A model.json larger than this is refused (V8 strings stop near 512 MiB anyway). */
const MAX_MODEL_JSON_BYTES = 256 * 1024 * 1024;
/** Reads go in chunks of this size, so a cap far above the file's size allocates little. */
const READ_CHUNK = 4 * 1024 * 1024;

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2,
};
const QUANTIZED_DTYPES = ['uint8', 'uint16', 'float16'];

/**
 * A model file that cannot be used (missing, malformed, outside the folder,
 * not a regular file, of the wrong size). `message` starts with
 * "Error in fileSystem: "; `detail` is the rest, for the CLI's own prefix.
 */
export class ModelFileError extends Error {
  constructor(readonly detail: string) {
    super(`Error in ${WHO}: ${detail}`);
    this.name = 'ModelFileError';
  }
}

export function refuse(detail: string): never {
  throw new ModelFileError(detail);
}

export interface NodeModules {
  fs: typeof FsModule;
  path: typeof PathModule;
}

interface NodeProcess {
  versions?: {node?: string};
  getBuiltinModule?: (id: string) => unknown;
}

/** Node's fs and path, or a clear error outside Node. */
export async function nodeModules(): Promise<NodeModules> {
  const proc = (globalThis as {process?: NodeProcess}).process;
  if (proc?.versions?.node === undefined) {
    refuse('reads and writes files with Node.js, which this environment does not have; in a browser, ' +
           'load a model with tf.loadLayersModel(url) or tf.io.browserFiles(files).');
  }
  if (typeof proc.getBuiltinModule === 'function') {
    return {fs: proc.getBuiltinModule('fs') as typeof FsModule,
            path: proc.getBuiltinModule('path') as typeof PathModule};
  }
  // Node before 20.16: a dynamic import. The specifier is a variable so that
  // bundlers targeting browsers do not try to resolve it.
  const load = async (id: string) => {
    const m = await import(id);
    return (m.default ?? m) as unknown;
  };
  return {fs: await load('fs') as typeof FsModule, path: await load('path') as typeof PathModule};
}

/** What a stat says a path is, for "X is <kind>, not a regular file". */
export function kindOf(stat: FsModule.Stats): string {
  if (stat.isFile()) return 'a file';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

export function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' :
      code === 'ENOTDIR' ? 'a part of the path is not a folder' :
      code === 'ELOOP' ? 'too many levels of symbolic links' : escapeControls((e as Error).message);
}

/**
 * Opens `real` (a path already resolved and checked) for reading without
 * blocking and without following a link swapped in since; checks the
 * descriptor is a regular file. Returns the descriptor and the file's size.
 */
function openRegular(node: NodeModules, real: string, shown: string, what: string): [number, number] {
  const {fs} = node;
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) |
                     (fs.constants.O_NOFOLLOW ?? 0));
  } catch (e) {
    return refuse(`cannot read ${what} ${shown}: ${why(e)}`);
  }
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    refuse(`cannot read ${what} ${shown}: it is ${kindOf(stat)}, not a regular file`);
  }
  return [fd, stat.size];
}

/** Reads at most `cap` bytes from `fd` (then closes it). */
function readCapped(node: NodeModules, fd: number, cap: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    while (total < cap) {
      const want = Math.min(cap - total, READ_CHUNK);
      const chunk = Buffer.allocUnsafe(want);
      const n = node.fs.readSync(fd, chunk, 0, want, null);
      if (n === 0) break;
      chunks.push(n === want ? chunk : chunk.subarray(0, n));
      total += n;
    }
  } finally {
    node.fs.closeSync(fd);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/**
 * The real path of `file` (a weight path from `shownJson`, relative to the
 * model's folder), refused when it leaves the folder, through `..`, an
 * absolute path or a symbolic link, or when it is not a regular file.
 */
function weightFile(node: NodeModules, folder: string, realFolder: string, file: unknown,
                    shownFolder: string, shownJson: string): {real: string, shown: string} {
  const {fs, path} = node;
  if (typeof file !== 'string' || file === '') {
    refuse(`${shownJson} lists the weight path ${quoteText(file)}; expected a file name`);
  }
  const shown = escapeControls(path.join(shownFolder, file));
  const full = path.resolve(folder, file);
  if (path.isAbsolute(file) || !full.startsWith(folder + path.sep)) {
    refuse(`the weight path ${quoteText(file)} in ${shownJson} points outside the model's folder ` +
           `${escapeControls(shownFolder)}`);
  }
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch (e) {
    return refuse(`cannot read the weight file ${shown}: ${why(e)}`);
  }
  if (!real.startsWith(realFolder + path.sep)) {
    refuse(`the weight file ${shown} is a symbolic link (or in a linked folder) to ` +
           `${escapeControls(real)}, outside the model's folder; copy the file into the folder instead`);
  }
  let stat: FsModule.Stats;
  try {
    stat = fs.statSync(real);
  } catch (e) {
    return refuse(`cannot read the weight file ${shown}: ${why(e)}`);
  }
  if (!stat.isFile()) refuse(`cannot read the weight file ${shown}: it is ${kindOf(stat)}, not a regular file`);
  return {real, shown};
}

/** Bytes the manifest says a weight takes in the files; undefined for strings (variable length). */
function storedBytes(spec: unknown, shownJson: string): number|undefined {
  if (spec === null || typeof spec !== 'object') {
    refuse(`${shownJson} has a weightsManifest entry ${quoteText(spec)}; expected {name, shape, dtype}`);
  }
  const {name, shape, dtype, quantization} = spec as {name?: unknown, shape?: unknown, dtype?: unknown,
                                                      quantization?: {dtype?: unknown}};
  if (typeof name !== 'string') refuse(`${shownJson} has a weight whose name is ${quoteText(name)}; expected a string`);
  const who = `the weight ${quoteText(name)} in ${shownJson}`;
  if (!Array.isArray(shape)) {
    refuse(`${who} has ${shape === undefined ? 'no shape' : `the shape ${quoteText(shape)}`}; ` +
           `expected a list of sizes`);
  }
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    refuse(`${who} has the shape ${quoteText(shape)}; expected whole numbers >= 0`);
  }
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(size)) refuse(`${who} has the shape ${quoteText(shape)}, too large to read`);
  if (dtype === 'string') return undefined;
  if (quantization != null) {
    if (typeof quantization !== 'object' || !QUANTIZED_DTYPES.includes(quantization.dtype as string)) {
      refuse(`${who} has the quantization ${quoteText(quantization)}; expected a dtype of ` +
             `${QUANTIZED_DTYPES.join(', ')}`);
    }
    return size * BYTES_PER_ELEMENT[quantization.dtype as string];
  }
  const bytes = typeof dtype === 'string' ? BYTES_PER_ELEMENT[dtype] : undefined;
  if (bytes === undefined) {
    refuse(`${who} has the dtype ${quoteText(dtype)}; expected one of float32, int32, bool, complex64, string`);
  }
  return size * bytes;
}

/** Whether a model.json holds a GraphModel (tfjs-converter's format) rather than a layers model. */
export function isGraphModelJSON(json: {format?: unknown, modelTopology?: unknown}): boolean {
  const topology = json.modelTopology as {node?: unknown}|null|undefined;
  return json.format === 'graph-model' || Array.isArray(topology?.node);
}

/** A model read from disk: the artifacts, and the bytes of the files read. */
export interface ModelFiles {
  artifacts: io.ModelArtifacts;
  /** model.json's bytes plus every weight file's. */
  bytes: number;
  /** The model.json read (`target`, or `target/model.json` for a folder). */
  modelJsonPath: string;
}

/**
 * Reads `target` (a model.json, or a folder holding one) and every weight
 * file its manifest lists, checking each as the file comment says.
 */
export function readModelFiles(node: NodeModules, target: string): ModelFiles {
  const {fs, path} = node;
  let modelJsonPath = target;
  try {
    if (fs.statSync(target).isDirectory()) modelJsonPath = path.join(target, MODEL_JSON);
  } catch {
    // reported below, naming the file
  }
  const shownJson = escapeControls(modelJsonPath);
  let realJson: string;
  try {
    realJson = fs.realpathSync(modelJsonPath);
  } catch (e) {
    return refuse(`cannot read the model file ${shownJson}: ${why(e)}`);
  }
  // model.json itself is the caller's choice (it may be a link); it must be a regular file.
  const stat = fs.statSync(realJson);
  if (!stat.isFile()) refuse(`cannot read the model file ${shownJson}: it is ${kindOf(stat)}, not a regular file`);
  const [jsonFd, jsonSize] = openRegular(node, realJson, shownJson, 'the model file');
  if (jsonSize > MAX_MODEL_JSON_BYTES) {
    fs.closeSync(jsonFd);
    refuse(`the model file ${shownJson} holds ${jsonSize} bytes; a model.json over ` +
           `${MAX_MODEL_JSON_BYTES} bytes is not read`);
  }
  const text = readCapped(node, jsonFd, MAX_MODEL_JSON_BYTES).toString('utf8');
  let json: io.ModelJSON;
  try {
    json = JSON.parse(text) as io.ModelJSON;
  } catch (e) {
    return refuse(`${shownJson} is not valid JSON (${escapeControls((e as Error).message)})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json) || json.modelTopology == null) {
    refuse(`${shownJson} has no modelTopology: it is not a tfjs model.json`);
  }
  if (!isGraphModelJSON(json)) {
    try {
      checkLayersTopology(json.modelTopology, shownJson);
    } catch (e) {
      if (e instanceof TopologyError) refuse(e.message);
      throw e;
    }
  }
  const manifest = (json.weightsManifest ?? []) as unknown;
  if (!Array.isArray(manifest)) refuse(`${shownJson} has a weightsManifest that is not a list`);

  // Weight paths are relative to the folder of model.json as given (a link
  // to model.json does not move them); links inside are resolved against
  // that folder's real path.
  const shownFolder = path.dirname(modelJsonPath);
  const folder = path.resolve(shownFolder);
  let realFolder: string;
  try {
    realFolder = fs.realpathSync(folder);
  } catch (e) {
    return refuse(`cannot read the model's folder ${escapeControls(shownFolder)}: ${why(e)}`);
  }
  const specs: io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  let bytes = Buffer.byteLength(text);
  manifest.forEach((group: unknown, g: number) => {
    const {paths, weights} = (group ?? {}) as {paths?: unknown, weights?: unknown};
    if (!Array.isArray(paths) || !Array.isArray(weights)) {
      refuse(`${shownJson} has a weightsManifest group (${g + 1}) without a paths list and a weights list`);
    }
    const sizes = weights.map((w) => storedBytes(w, shownJson));
    specs.push(...(weights as io.WeightsManifestEntry[]));
    // Strings have no declared size: such a group is read as its files' sizes say.
    const declared = sizes.every((s) => s !== undefined) ?
        (sizes as number[]).reduce((a, b) => a + b, 0) : undefined;
    const files = paths.map((p) => weightFile(node, folder, realFolder, p, shownFolder, shownJson));
    let got = 0;
    for (const {real, shown} of files) {
      const [fd, size] = openRegular(node, real, shown, 'the weight file');
      const cap = declared === undefined ? size : declared - got + 1;
      const data = readCapped(node, fd, cap);
      got += data.byteLength;
      if (declared !== undefined && got > declared) {
        refuse(`the weight file ${shown} holds more bytes than the weightsManifest of ${shownJson} ` +
               `describes (${declared} bytes${files.length > 1 ? ` for the ${files.length} files of its group` : ''}): ` +
               `the weights do not match the model`);
      }
      buffers.push(data);
    }
    if (declared !== undefined && got !== declared) {
      refuse(`the weight file${files.length === 1 ? '' : 's'} ${files.map((f) => f.shown).join(', ')} of ` +
             `${shownJson} hold${files.length === 1 ? 's' : ''} ${got} bytes, but its weightsManifest ` +
             `describes ${declared} bytes: the weights do not match the model`);
    }
    bytes += got;
  });
  const all = buffers.length === 1 ? buffers[0] : Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData,
  };
  // Every other field tfjs reads from a model.json, passed on as written.
  const extra = json as unknown as Record<string, unknown>;
  for (const key of ['format', 'generatedBy', 'convertedBy', 'trainingConfig', 'userDefinedMetadata',
                     'signature', 'modelInitializer', 'initializerSignature']) {
    if (extra[key] !== undefined) (artifacts as unknown as Record<string, unknown>)[key] = extra[key];
  }
  return {artifacts, bytes, modelJsonPath};
}
