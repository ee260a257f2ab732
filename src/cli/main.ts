/**
 * The command line tool:
 *
 *     npx tfjs-batchnorm-inference fold <model.json|folder> <out-dir> [--stock-layers-only]
 *     npx tfjs-batchnorm-inference help | --help | --version
 *
 * reads a tfjs layers model (model.json and its weight shards, through the
 * checks of fileSystem: only regular files inside the model's folder, only
 * the bytes the manifest declares, a topology tfjs can load), folds its batch
 * norms (foldBatchNormalization), writes the folded model to out-dir once
 * it loads back, and prints what was done. Exits 1 with a one-line message
 * for files it cannot use, 2 for a wrong command line. Text from the model
 * file (layer names, ...) is printed with control characters escaped.
 */
import '@tensorflow/tfjs-backend-cpu';

import {io, setBackend} from '@tensorflow/tfjs-core';
import {loadLayersModel} from '@tensorflow/tfjs-layers';

import {foldBatchNormalization, formatFoldReport, version} from '../index';
import type {FoldReport} from '../index';
import {escapeControls} from '../io/quote';
import {checkLoadsBack, CliError, isGraphModel, readModel, writeModel} from './model_files';

const TOOL = 'tfjs-batchnorm-inference';
const USAGE = `usage: ${TOOL} fold <model.json> <out-dir> [--stock-layers-only]
       ${TOOL} help | --help | --version

Folds the batch norms of a tfjs layers model into the layers before them and
writes the result to <out-dir> (a new directory). <model.json> may also be
the folder holding model.json.
  --stock-layers-only  emit only tfjs-layers classes: the result loads with
                       plain tfjs, without importing ${TOOL}`;

class UsageError extends Error {}

type Args = {input: string, output: string, stockLayersOnly: boolean};

function parse(argv: string[]): Args|'help'|'version' {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') return 'help';
  if (argv.includes('--version') || argv.includes('-v')) return 'version';
  const [command, ...rest] = argv;
  if (command !== 'fold') {
    throw new UsageError(command === undefined ? 'missing command' :
                         `unknown command '${escapeControls(command)}'`);
  }
  const flags = rest.filter((a) => a.startsWith('--'));
  const unknown = flags.filter((f) => f !== '--stock-layers-only');
  if (unknown.length > 0) throw new UsageError(`unknown option ${escapeControls(unknown[0])}`);
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

/** The report with every name from the model file escaped (it is printed). */
function escapedReport(report: FoldReport): FoldReport {
  return JSON.parse(JSON.stringify(report), (_, v) => (typeof v === 'string' ? escapeControls(v) : v));
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
  if (args === 'version') {
    log(version);
    return 0;
  }
  try {
    log(escapeControls(await fold(args), true));
    return 0;
  } catch (e) {
    // One line: a message quoting file content must not move the cursor or add lines.
    const message = e instanceof CliError ? e.message : (e as Error).message.split('\n')[0];
    error(`${TOOL}: ${escapeControls(message)}`);
    return 1;
  }
}

/** Reads, checks, folds, writes and verifies; returns the summary to print. */
async function fold(args: Args): Promise<string> {
  await setBackend('cpu');
  const {artifacts, bytes, modelJsonPath} = await readModel(args.input);
  const shown = escapeControls(modelJsonPath);
  if (isGraphModel(artifacts)) {
    // GraphModel folding hooks in here (src/cli/graph_fold.ts); until then, exit 1.
    throw new CliError(`${shown} is a GraphModel, which has no layers to fold; convert the ` +
                       `Keras model with tensorflowjs_converter --output_format tfjs_layers_model`);
  }
  let model;
  try {
    model = await quietly(() => loadLayersModel(io.fromMemory(artifacts)));
  } catch (e) {
    throw new CliError(`cannot load ${shown} as a layers model: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    let folded, report;
    try {
      ({model: folded, report} = foldBatchNormalization(model, {stockLayersOnly: args.stockLayersOnly}));
    } catch (e) {
      throw new CliError(`cannot fold ${shown}: ${(e as Error).message.split('\n')[0]}`);
    }
    try {
      let written = 0;
      await folded.save(io.withSaveHandler(async (out) => {
        written = await writeModel(args.output, {...out, format: artifacts.format ?? 'layers-model'},
                                   (dir) => quietly(() => checkLoadsBack(dir, folded, args.output)));
        return {modelArtifactsInfo: io.getModelArtifactsInfoForJSON(out)};
      }));
      return `${TOOL} fold: ${args.input} -> ${args.output}` +
          `${args.stockLayersOnly ? ' (stock layers only)' : ''}\n${formatFoldReport(escapedReport(report))}\n` +
          `bytes: ${bytes} -> ${written}`;
    } finally {
      folded.dispose();
    }
  } finally {
    model.dispose();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
