/**
 * Writing a model's folder in Node, for `fileSystem(path).save` and the CLI:
 * everything goes into a hidden temporary folder beside the target, which
 * takes the target's place only when complete (and, for the CLI, only after
 * `verify` accepted it). A folder of a previous save is replaced whole; a
 * folder holding anything else is refused. Temporary folders of runs that
 * were killed are removed by the next run.
 */
import {io} from '@tensorflow/tfjs-core';
import type * as FsModule from 'fs';

import {kindOf, MODEL_JSON, ModelFileError, NodeModules, refuse, why} from './model_folder';
import {escapeControls} from './quote';

/** The converter's shard size (tensorflowjs_converter --weight_shard_size_bytes default). */
const SHARD_BYTES = 4 * 1024 * 1024;

/** Whether a pid names a running process (one we may not signal counts as running). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the hidden `.<name>.tmp-<pid>-*` folders that a killed run
 * (SIGKILL, power loss) left beside `target`; only those of processes that
 * are gone, and only folders.
 */
function removeStaleTemps(node: NodeModules, parent: string, base: string): void {
  const {fs, path} = node;
  const prefix = `.${base}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    const full = path.join(parent, name);
    try {
      if (fs.lstatSync(full).isDirectory()) fs.rmSync(full, {recursive: true, force: true});
    } catch {
      // another run's cleanup, or not ours to remove: leave it
    }
  }
}

/** The files of a model written by a previous save (model.json and its weight paths), or undefined. */
function previousModelFiles(node: NodeModules, dir: string): Set<string>|undefined {
  try {
    const json = JSON.parse(node.fs.readFileSync(node.path.join(dir, MODEL_JSON), 'utf8')) as io.ModelJSON;
    const paths = (json.weightsManifest ?? []).flatMap((g) => g.paths);
    if (!paths.every((p) => typeof p === 'string' && node.path.basename(p) === p)) return undefined;
    return new Set([MODEL_JSON, ...paths]);
  } catch {
    return undefined;
  }
}

export interface WriteOptions {
  /**
   * Whether an existing folder holding a model (model.json and the files
   * its manifest lists, nothing else) may be replaced. Never replaced: a
   * folder holding anything else.
   */
  replace: boolean;
  /** Called with the complete temporary folder before it takes the target's place; may throw. */
  verify?: (dir: string) => Promise<void>;
}

/**
 * Writes `artifacts` as `target/model.json` and `group1-shardNofM.bin`
 * files (the converter's names and 4 MiB shards). The files go into a
 * hidden temporary folder beside `target`, which is renamed into place only
 * when complete (and verified): a failed or interrupted write leaves no
 * partial model at `target`. Returns the bytes written.
 */
export async function writeModelFiles(node: NodeModules, target: string, artifacts: io.ModelArtifacts,
                                      options: WriteOptions): Promise<number> {
  const {fs, path} = node;
  const shown = escapeControls(target);
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    refuse(`saves models whose topology is JSON (layers and graph models); got a binary topology for ${shown}`);
  }
  const full = path.resolve(target);
  const parent = path.dirname(full);
  let previous: Set<string>|undefined;
  let existing: FsModule.Stats|undefined;
  try {
    existing = fs.lstatSync(full);
  } catch {
    existing = undefined;
  }
  if (existing !== undefined) {
    if (existing.isSymbolicLink()) {
      refuse(`the output path ${shown} is a symbolic link; give the path of a new folder ` +
             `(or the real path of the folder it links to)`);
    }
    if (!existing.isDirectory()) refuse(`the output path ${shown} exists and is ${kindOf(existing)}, not a folder`);
    const entries = fs.readdirSync(full);
    if (entries.length > 0) {
      previous = options.replace ? previousModelFiles(node, full) : undefined;
      if (previous === undefined || !entries.every((e) => previous!.has(e))) {
        refuse(options.replace ?
            `the output folder ${shown} holds files other than a saved model (${
                escapeControls(entries.filter((e) => !previous?.has(e)).slice(0, 3).join(', '))}); ` +
                `choose a new folder` :
            `the output directory ${shown} exists and is not empty; choose a new directory`);
      }
    }
  }
  let temp: string;
  try {
    if (existing === undefined) fs.mkdirSync(parent, {recursive: true});
    removeStaleTemps(node, parent, path.basename(full));
    temp = fs.mkdtempSync(path.join(parent, `.${path.basename(full)}.tmp-${process.pid}-`));
  } catch (e) {
    return refuse(`cannot write the model to ${shown}: ${why(e)}`);
  }
  try {
    const parts = artifacts.weightData == null ? [] :
        Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData];
    const data = Buffer.concat(parts.map((b) => Buffer.from(b)));
    const count = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
    const paths = Array.from({length: count}, (_, i) => `group1-shard${i + 1}of${count}.bin`);
    paths.forEach((p, i) => fs.writeFileSync(path.join(temp, p),
                                              data.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES)));
    const modelJSON: Record<string, unknown> = {
      modelTopology: artifacts.modelTopology ?? {},
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{paths, weights: artifacts.weightSpecs ?? []}],
    };
    const extra = artifacts as unknown as Record<string, unknown>;
    for (const key of ['trainingConfig', 'userDefinedMetadata', 'signature', 'modelInitializer',
                       'initializerSignature']) {
      if (extra[key] != null) modelJSON[key] = extra[key];
    }
    const text = JSON.stringify(modelJSON);
    fs.writeFileSync(path.join(temp, MODEL_JSON), text);
    // mkdtemp makes the folder private (0700); give it the usual mode.
    fs.chmodSync(temp, 0o777 & ~process.umask());
    if (options.verify !== undefined) await options.verify(temp);
    if (previous !== undefined) {
      // Swap whole folders, so a reader never sees old and new files mixed.
      const old = fs.mkdtempSync(path.join(parent, `.${path.basename(full)}.old-${process.pid}-`));
      fs.rmdirSync(old);
      fs.renameSync(full, old);
      try {
        fs.renameSync(temp, full);
      } catch (e) {
        fs.renameSync(old, full);
        throw e;
      }
      fs.rmSync(old, {recursive: true, force: true});
    } else {
      if (existing !== undefined) fs.rmdirSync(full);  // empty: checked above
      fs.renameSync(temp, full);
    }
    return Buffer.byteLength(text) + data.byteLength;
  } catch (e) {
    fs.rmSync(temp, {recursive: true, force: true});
    if (e instanceof ModelFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) refuse(`cannot write the model to ${shown}: ${why(e)}`);
    throw e;
  }
}
