/**
 * The CLI's GraphModel branch: `fold <model.json> <out-dir>` on a graph
 * model (format 'graph-model', or a modelTopology with a `node` array) reads
 * model.json and its weight files, folds with foldGraphModelArtifacts and
 * writes model.json (signature and metadata kept) and one weights file into a
 * temporary directory next to <out-dir>, renamed into place when complete.
 * Self-contained: main.ts calls it in one place.
 */
import {io} from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';

import {foldGraphModelArtifacts} from '../convert/graph/fold_graph_model';
import {formatGraphFoldReport} from '../convert/graph/graph_fold_report';
import {CliError} from './model_files';

const TOOL = 'tfjs-batchnorm-inference';
const WEIGHTS = 'group1-shard1of1.bin';

/** Whether the file is a GraphModel's model.json (false when it cannot be read: the layers path says why). */
export function isGraphModelFile(modelJsonPath: string): boolean {
  try {
    const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8')) as io.ModelJSON;
    const topology = json?.modelTopology as {node?: unknown}|undefined;
    return json?.format === 'graph-model' || Array.isArray(topology?.node);
  } catch {
    return false;
  }
}

function readGraphModel(modelJsonPath: string): {json: io.ModelJSON, artifacts: io.ModelArtifacts, bytes: number} {
  const text = fs.readFileSync(modelJsonPath, 'utf8');
  const json = JSON.parse(text) as io.ModelJSON;
  const dir = path.dirname(path.resolve(modelJsonPath));
  const buffers: Buffer[] = [];
  const weightSpecs: io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const file of group.paths) {
      const full = path.resolve(dir, file);
      if (!full.startsWith(dir + path.sep)) {
        throw new CliError(`the weight path ${JSON.stringify(file)} in ${modelJsonPath} points outside ${dir}`);
      }
      if (!fs.existsSync(full)) throw new CliError(`cannot read the weight file ${full}: no such file`);
      buffers.push(fs.readFileSync(full));
    }
  }
  const data = Buffer.concat(buffers);
  const artifacts: io.ModelArtifacts = {
    modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
    convertedBy: json.convertedBy, signature: json.signature, userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer, weightSpecs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
  };
  return {json, artifacts, bytes: Buffer.byteLength(text) + data.byteLength};
}

function writeGraphModel(outDir: string, json: io.ModelJSON, artifacts: io.ModelArtifacts): number {
  const target = path.resolve(outDir);
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new CliError(`the output directory ${outDir} exists and is not empty; choose a new directory`);
  }
  const parent = path.dirname(target);
  if (!fs.existsSync(parent)) throw new CliError(`the parent directory ${parent} does not exist`);
  const temp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
  try {
    const data = Buffer.from(io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
    fs.writeFileSync(path.join(temp, WEIGHTS), data);
    const text = JSON.stringify({
      ...json, modelTopology: artifacts.modelTopology,
      weightsManifest: [{paths: [WEIGHTS], weights: artifacts.weightSpecs ?? []}],
    });
    fs.writeFileSync(path.join(temp, 'model.json'), text);
    fs.chmodSync(temp, 0o777 & ~process.umask());  // mkdtemp makes it 0700
    if (fs.existsSync(target)) fs.rmdirSync(target);  // empty: checked above
    fs.renameSync(temp, target);
    return Buffer.byteLength(text) + data.byteLength;
  } catch (e) {
    fs.rmSync(temp, {recursive: true, force: true});
    throw e;
  }
}

/** Folds the graph model at `input` into `output`; returns the lines the CLI prints. */
export function foldGraphModelFile(input: string, output: string): string {
  const {json, artifacts, bytes} = readGraphModel(input);
  const {artifacts: folded, report} = foldGraphModelArtifacts(artifacts);
  const written = writeGraphModel(output, json, folded);
  return `${TOOL} fold: ${input} -> ${output} (graph model)\n${formatGraphFoldReport(report)}\n` +
      `bytes: ${bytes} -> ${written}`;
}
