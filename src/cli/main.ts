/**
 * The command line tool:
 *
 *     npx tfjs-batchnorm-inference fold <model.json> <out-dir> [--stock-layers-only]
 *
 * reads a tfjs layers model (model.json and its weight shards), folds its
 * batch norms (foldBatchNormalization), writes the folded model to out-dir
 * and prints what was done. Exits 1 with a one-line message for files it
 * cannot use, 2 for a wrong command line.
 */
import '@tensorflow/tfjs-backend-cpu';

import {io, setBackend} from '@tensorflow/tfjs-core';
import {loadLayersModel} from '@tensorflow/tfjs-layers';

import {foldBatchNormalization, formatFoldReport} from '../index';
import {foldGraphModelFile, isGraphModelFile} from './graph_fold';
import {CliError, readModel, writeModel} from './model_files';

const TOOL = 'tfjs-batchnorm-inference';
const USAGE = `usage: ${TOOL} fold <model.json> <out-dir> [--stock-layers-only]

Folds the batch norms of a tfjs layers model into the layers before them and
writes the result to <out-dir> (a new directory).
  --stock-layers-only  emit only tfjs-layers classes: the result loads with
                       plain tfjs, without importing ${TOOL}`;

class UsageError extends Error {}

function parse(argv: string[]): {input: string, output: string, stockLayersOnly: boolean}|'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const [command, ...rest] = argv;
  if (command !== 'fold') {
    throw new UsageError(command === undefined ? 'missing command' : `unknown command '${command}'`);
  }
  const flags = rest.filter((a) => a.startsWith('--'));
  const unknown = flags.filter((f) => f !== '--stock-layers-only');
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown[0]}`);
  const positional = rest.filter((a) => !a.startsWith('--'));
  if (positional.length !== 2) {
    throw new UsageError(`fold takes <model.json> <out-dir>, but got ${positional.length} argument(s)`);
  }
  return {input: positional[0], output: positional[1], stockLayersOnly: flags.length > 0};
}

/**
 * tfjs's cpu backend (4.22) prints a "use tfjs-node" banner through
 * console.warn on its first tensor in Node; a command line tool's output
 * should not carry it. Only that message is dropped.
 */
async function quietly<T>(body: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!args.some((a) => typeof a === 'string' && a.includes('tfjs-node'))) warn(...args);
  };
  try {
    return await body();
  } finally {
    console.warn = warn;
  }
}

/** Runs the tool; returns the exit code. Output goes through `log` / `error`. */
export async function main(argv: string[], log = console.log, error = console.error): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    error(`${TOOL}: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    log(USAGE);
    return 0;
  }
  try {
    if (isGraphModelFile(args.input)) {  // a GraphModel: src/cli/graph_fold.ts
      log(foldGraphModelFile(args.input, args.output));
      return 0;
    }
    await setBackend('cpu');
    const {artifacts, bytes} = readModel(args.input);
    let model;
    try {
      model = await quietly(() => loadLayersModel(io.fromMemory(artifacts)));
    } catch (e) {
      throw new CliError(`cannot load ${args.input} as a layers model: ${(e as Error).message.split('\n')[0]}`);
    }
    const {model: folded, report} = foldBatchNormalization(model, {stockLayersOnly: args.stockLayersOnly});
    let written = 0;
    await folded.save(io.withSaveHandler(async (out) => {
      written = writeModel(args.output, {...out, format: artifacts.format ?? 'layers-model'});
      return {modelArtifactsInfo: io.getModelArtifactsInfoForJSON(out)};
    }));
    model.dispose();
    folded.dispose();
    log(`${TOOL} fold: ${args.input} -> ${args.output}` +
        `${args.stockLayersOnly ? ' (stock layers only)' : ''}\n${formatFoldReport(report)}\n` +
        `bytes: ${bytes} -> ${written}`);
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      error(`${TOOL}: ${e.message}`);
      return 1;
    }
    error(`${TOOL}: ${(e as Error).message.split('\n')[0]}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
