/**
 * The CLI's file IO, through the same functions as the public
 * `fileSystem(path)` handler (src/io/model_folder.ts): reads a model.json
 * (or a folder holding one) and its shards, and writes the result into a
 * hidden folder that takes the output's place only when complete and only
 * after the written model loads back (checkLoadsBack).
 */
import {engine, io, Tensor, tensor, tidy} from '@tensorflow/tfjs-core';
import {LayersModel, loadLayersModel} from '@tensorflow/tfjs-layers';

import {fileSystem} from '../io/file_system';
import {isGraphModelJSON, ModelFileError, ModelFiles, nodeModules, readModelFiles} from '../io/model_folder';
import {writeModelFiles} from '../io/model_folder_write';
import {escapeControls} from '../io/quote';

/** Errors the CLI prints as one line (no stack): bad files, not bugs. */
export class CliError extends Error {}

async function asCliError<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof ModelFileError) throw new CliError(e.detail);
    throw e;
  }
}

/** model.json (or `input/model.json`) and its weights; CliError for anything a user can fix. */
export function readModel(input: string): Promise<ModelFiles> {
  return asCliError(async () => readModelFiles(await nodeModules(), input));
}

/** Whether model.json holds a GraphModel (tfjs-converter's format) rather than a layers model. */
export function isGraphModel(artifacts: io.ModelArtifacts): boolean {
  return isGraphModelJSON(artifacts);
}

/**
 * Writes `artifacts` into `outDir` (which must not exist, or be empty),
 * after `verify` accepted the complete temporary folder. Returns the bytes written.
 */
export function writeModel(outDir: string, artifacts: io.ModelArtifacts,
                           verify?: (dir: string) => Promise<void>): Promise<number> {
  return asCliError(async () => writeModelFiles(await nodeModules(), outDir, artifacts, {replace: false, verify}));
}

/** Deterministic values for an input of `shape` (whole numbers for int32 inputs). */
function probe(shape: number[], dtype: string): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({length: size}, (_, i) => (dtype === 'int32' ? i % 3 : Math.sin(i * 0.37 + 0.1)));
  return tensor(values, shape, dtype === 'int32' ? 'int32' : 'float32');
}

/** Outputs of `model` for the probe inputs, or an Error. */
function outputs(model: LayersModel, shapes: number[][], dtypes: string[]): Float32Array[]|Error {
  try {
    return tidy(() => {
      const xs = shapes.map((s, i) => probe(s, dtypes[i]));
      const y = model.predict(xs.length === 1 ? xs[0] : xs);
      return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
    });
  } catch (e) {
    return e as Error;
  }
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && a[i] !== b[i]) return false;
  return true;
}

/**
 * Loads the model written in `dir` with the stock tfjs-layers loader (through
 * fileSystem) and checks it is `expected`: the same weights, bit for bit,
 * and - where the inputs have fixed sizes - the same outputs for one probe
 * batch. Anything the written file lost (a config field tfjs-layers'
 * getConfig drops, a weight) shows here, before the output is reported.
 */
export async function checkLoadsBack(dir: string, expected: LayersModel, outDir: string): Promise<void> {
  const problem = (what: string) => new CliError(
      `the model written for ${escapeControls(outDir)} ${what}; nothing was written. This is a bug in ` +
      `tfjs-batchnorm-inference: please report it with the model`);
  let loaded: LayersModel;
  const variables = new Set(Object.keys(engine().registeredVariables));
  try {
    loaded = await loadLayersModel(fileSystem(dir));
  } catch (e) {
    // A load that fails half way leaves the variables of the layers it built.
    for (const [name, v] of Object.entries(engine().registeredVariables)) if (!variables.has(name)) v.dispose();
    throw problem(`does not load back (${escapeControls((e as Error).message.split('\n')[0])})`);
  }
  try {
    const want = expected.getWeights();
    const got = loaded.getWeights();
    if (got.length !== want.length) throw problem(`loads back with ${got.length} weights instead of ${want.length}`);
    want.forEach((w, i) => {
      if (!sameValues(w.dataSync(), got[i].dataSync()) || w.shape.join() !== got[i].shape.join()) {
        throw problem(`loads back with different values for the weight ${i + 1}`);
      }
    });
    const batch = expected.inputs.map((x) => x.shape.map((d, i) => (i === 0 && d === null ? 1 : d)));
    if (batch.every((s) => s.every((d) => d !== null))) {
      const shapes = batch as number[][];
      const dtypes = expected.inputs.map((x) => x.dtype);
      const want = outputs(expected, shapes, dtypes);
      if (!(want instanceof Error)) {
        const got = outputs(loaded, shapes, dtypes);
        if (got instanceof Error) throw problem(`loads back but does not run (${escapeControls(got.message)})`);
        if (got.length !== want.length || !got.every((g, i) => sameValues(g, want[i]))) {
          throw problem('loads back but computes different outputs');
        }
      }
    }
  } finally {
    loaded.dispose();
  }
}
