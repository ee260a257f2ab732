/**
 * The CLI's GraphModel branch: `fold <model.json> <out-dir>` on a graph model
 * (format 'graph-model', or a modelTopology with a `node` array). The files
 * are read and written by the same checked functions as the layers branch
 * (model_files.ts over src/io/model_folder.ts: regular files inside the
 * model's folder only, the manifest's bytes only, an atomic write), and the
 * written folder must load back with tfjs-converter's own loader before the
 * output takes its place.
 */
import {loadGraphModel} from '@tensorflow/tfjs-converter';

import {foldGraphModelArtifacts} from '../convert/graph/fold_graph_model';
import {formatGraphFoldReport} from '../convert/graph/graph_fold_report';
import {fileSystem} from '../io/file_system';
import {escapeControls} from '../io/quote';
import {CliError, writeModel} from './model_files';
import type {ModelFiles} from '../io/model_folder';

const TOOL = 'tfjs-batchnorm-inference';

/** Folds the graph model read as `files` into `output`; returns the lines the CLI prints. */
export async function foldGraphModelFiles(files: ModelFiles, input: string, output: string): Promise<string> {
  const shown = escapeControls(files.modelJsonPath);
  let folded;
  try {
    folded = foldGraphModelArtifacts(files.artifacts);
  } catch (e) {
    throw new CliError(`cannot fold ${shown}: ${(e as Error).message.split('\n')[0]}`);
  }
  const written = await writeModel(output, {...folded.artifacts, format: files.artifacts.format ?? 'graph-model'},
                                   async (dir) => {
                                     try {
                                       (await loadGraphModel(fileSystem(dir))).dispose();
                                     } catch (e) {
                                       throw new CliError(
                                           `the folded model of ${shown} does not load back ` +
                                           `(${(e as Error).message.split('\n')[0]}); nothing was written. ` +
                                           'This is a bug in tfjs-batchnorm-inference: please report it');
                                     }
                                   });
  return `${TOOL} fold: ${input} -> ${output} (graph model)\n` +
      `${escapeControls(formatGraphFoldReport(folded.report), true)}\nbytes: ${files.bytes} -> ${written}`;
}
