/**
 * The command line tool end to end: `tfjs-batchnorm-inference fold` on the
 * committed example model (examples/data/converted_model), the
 * --stock-layers-only output loaded by stock tfjs in another process (the
 * default output, with this package's classes, loaded with the package),
 * and every error path (one line, exit
 * code, no output directory left behind).
 *
 * The tool is bundled from src/cli/main.ts here (as the package build does
 * for dist/cli.cjs) into test/artifacts/, so the suite does not depend on a
 * previous build.
 */
import * as tf from '@tensorflow/tfjs';
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import '../src';  // registers the fused layer classes, to load the default output

import {bundleSync} from './helpers/bundle';
import {fileSystemIO, makeTempDir, removeDir} from './helpers/fs_io';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'test', 'artifacts', 'cli.cjs');
const EXAMPLE = path.join(ROOT, 'examples', 'data', 'converted_model');
const LOAD_STOCK = path.join(__dirname, 'fixtures', 'load_stock.js');
const TOOL = 'tfjs-batchnorm-inference';

let tmp: string;

beforeAll(async () => {
  bundleSync({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')], bundle: true, platform: 'node', format: 'cjs',
    target: 'es2019', packages: 'external', outfile: CLI, logLevel: 'warning',
  });
  tmp = makeTempDir('tfbni-cli-');
  await tf.setBackend('cpu');
});
afterAll(() => removeDir(tmp));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {encoding: 'utf8'});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/** Copies the example model into a new directory under tmp. */
function exampleCopy(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(EXAMPLE, dir, {recursive: true});
  return dir;
}

/** Asserts a one-line error, exit code 1, and nothing written at `out` or beside it. */
function expectFailure(args: string[], message: string|RegExp, out: string) {
  const before = fs.readdirSync(path.dirname(out));
  const r = run(...args);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(message);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(path.dirname(out))).toEqual(before);
}

describe('fold: the example model', () => {
  const input = {shape: [2, 8, 8, 3], data: Array.from({length: 2 * 8 * 8 * 3}, (_, i) => Math.cos(i * 0.61))};
  let expected: Float32Array;

  beforeAll(async () => {
    fs.writeFileSync(path.join(tmp, 'input.json'), JSON.stringify(input));
    const original = await tf.loadLayersModel(fileSystemIO(EXAMPLE));
    const y = original.predict(tf.tensor(input.data, input.shape)) as tf.Tensor;
    expected = y.dataSync() as Float32Array;
    tf.dispose(y);
    original.dispose();
  });

  it.each([[[]], [['--stock-layers-only']]])('%j: writes a model tfjs loads, prints the summary', async (flags) => {
    const out = path.join(tmp, `out${flags.length}`);
    const r = run('fold', path.join(EXAMPLE, 'model.json'), out, ...flags);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${TOOL} fold: ${path.join(EXAMPLE, 'model.json')} -> ${out}` +
                          `${flags.length ? ' (stock layers only)' : ''}`);
    const cls = flags.length ? 'Conv2D' : 'FusedConv2D';
    expect(lines.slice(1, 6)).toEqual([
      `layers: 11 -> ${flags.length ? 8 : 5}`, 'batch norms folded: 3', `  bn1 -> conv1 (${cls})`,
      `  bn2 -> conv2 (${cls})`, `  bn3 -> conv3 (${cls})`,
    ]);
    // stockLayersOnly fuses only 'linear' into tfjs-layers classes: their fused
    // relu turns NaN into 0 on wasm, and a saved file cannot choose per backend.
    expect(lines).toContain(`activations fused: ${flags.length ? 0 : 3}`);
    if (flags.length) {
      expect(lines).toContain('activations kept as layers: 3');
      expect(lines).toContain("  relu1: tfjs's fused relu turns NaN into 0 on wasm (stockLayersOnly)");
    }
    expect(lines).toContain('batch norms left: 0');
    const written = fs.readdirSync(out).sort();
    expect(written).toEqual(['group1-shard1of1.bin', 'model.json']);
    const bytes = written.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
    const before = fs.readdirSync(EXAMPLE).reduce((n, f) => n + fs.statSync(path.join(EXAMPLE, f)).size, 0);
    expect(lines[lines.length - 1]).toBe(`bytes: ${before} -> ${bytes}`);
    const load = spawnSync(process.execPath, [LOAD_STOCK, out, path.join(tmp, 'input.json')], {encoding: 'utf8'});
    const max = Math.max(...Array.from(expected, Math.abs));
    let y: {shape: number[], data: number[]};
    if (flags.length === 0) {
      // This package's classes: stock tfjs alone cannot load it; with the package imported it loads.
      expect(load.status).toBe(1);
      expect(load.stderr).toMatch(/Unknown layer: FusedConv2D/);
      const loaded = await tf.loadLayersModel(fileSystemIO(out));
      const t = loaded.predict(tf.tensor(input.data, input.shape)) as tf.Tensor;
      y = {shape: t.shape, data: Array.from(t.dataSync())};
      tf.dispose(t);
      loaded.dispose();
    } else {
      expect(load.stderr).toBe('');
      y = JSON.parse(load.stdout);
    }
    expect(y.shape).toEqual([2, 4]);
    y.data.forEach((v: number, i: number) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1e-4 * max));
  });

  it('reads the model.json of a folder given instead of the file', () => {
    const out = path.join(tmp, 'from_folder');
    const r = run('fold', EXAMPLE, out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`${TOOL} fold: ${EXAMPLE} -> ${out}`);
    expect(r.stdout).toContain('batch norms folded: 3');
    expect(fs.readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
  });

  it('reads every shard of a model split in several weight files', () => {
    const dir = exampleCopy('sharded');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const data = fs.readFileSync(path.join(dir, 'group1-shard1of1.bin'));
    fs.rmSync(path.join(dir, 'group1-shard1of1.bin'));
    const cut = 4000;
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), data.subarray(0, cut));
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), data.subarray(cut));
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const r = run('fold', path.join(dir, 'model.json'), path.join(tmp, 'sharded_out'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('batch norms folded: 3');
  });
});

describe('fold: errors', () => {
  it('a missing model file', () => {
    const missing = path.join(tmp, 'nope', 'model.json');
    expectFailure(['fold', missing, path.join(tmp, 'e1')],
                  `${TOOL}: cannot read the model file ${missing}: no such file`, path.join(tmp, 'e1'));
  });

  it('a folder without model.json', () => {
    const dir = path.join(tmp, 'empty_folder');
    fs.mkdirSync(dir);
    expectFailure(['fold', dir, path.join(tmp, 'e2')],
                  `${TOOL}: cannot read the model file ${path.join(dir, 'model.json')}: no such file`,
                  path.join(tmp, 'e2'));
  });

  it('bad JSON', () => {
    const dir = exampleCopy('badjson');
    fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
    expectFailure(['fold', path.join(dir, 'model.json'), path.join(tmp, 'e3')],
                  new RegExp(`^${TOOL}: .*model\\.json is not valid JSON \\(`), path.join(tmp, 'e3'));
  });

  it('a GraphModel with --stock-layers-only (graph models fold to plain tfjs anyway)', () => {
    const dir = path.join(tmp, 'graph');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(
        {format: 'graph-model', modelTopology: {node: [], versions: {}}, weightsManifest: []}));
    expectFailure(['fold', path.join(dir, 'model.json'), path.join(tmp, 'e4'), '--stock-layers-only'],
                  `${TOOL}: --stock-layers-only applies to layers models; ${path.join(dir, 'model.json')} is a ` +
                      'GraphModel, whose folded form is always plain tfjs',
                  path.join(tmp, 'e4'));
  });

  it('a weight file shorter than the manifest says', () => {
    const dir = exampleCopy('short');
    const bin = path.join(dir, 'group1-shard1of1.bin');
    const size = fs.statSync(bin).size;
    fs.truncateSync(bin, size - 4);
    expectFailure(['fold', path.join(dir, 'model.json'), path.join(tmp, 'e5')],
                  `${TOOL}: the weight file ${bin} of ${path.join(dir, 'model.json')} holds ${size - 4} bytes, ` +
                      `but its weightsManifest describes ${size} bytes: the weights do not match the model`,
                  path.join(tmp, 'e5'));
  });

  it('a missing weight file', () => {
    const dir = exampleCopy('noshard');
    fs.rmSync(path.join(dir, 'group1-shard1of1.bin'));
    expectFailure(['fold', path.join(dir, 'model.json'), path.join(tmp, 'e6')],
                  `${TOOL}: cannot read the weight file ${path.join(dir, 'group1-shard1of1.bin')}: no such file`,
                  path.join(tmp, 'e6'));
  });

  it('weights named differently from the layers of the topology', () => {
    const dir = exampleCopy('renamed');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[0].name = 'someone_else/kernel';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    expectFailure(['fold', path.join(dir, 'model.json'), path.join(tmp, 'e7')],
                  new RegExp(`^${TOOL}: cannot load ${path.join(dir, 'model.json')} as a layers model: `),
                  path.join(tmp, 'e7'));
  });

  it('an output directory that exists and is not empty is left alone', () => {
    const out = path.join(tmp, 'full');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'mine');
    const r = run('fold', path.join(EXAMPLE, 'model.json'), out);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd()).toBe(`${TOOL}: the output directory ${out} exists and is not empty; choose a new directory`);
    expect(fs.readdirSync(out)).toEqual(['keep.txt']);
  });

  it('command line errors: usage, exit 2', () => {
    for (const [args, message] of [
      [[], 'missing command'],
      [['convert'], `unknown command 'convert'`],
      [['fold', 'a.json'], 'fold takes <model.json> <out-dir>, but got 1 argument(s)'],
      [['fold', 'a.json', 'out', '--fast'], 'unknown option --fast'],
    ] as Array<[string[], string]>) {
      const r = run(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`${TOOL}: ${message}`);
      expect(r.stderr).toContain(`usage: ${TOOL} fold <model.json> <out-dir> [--stock-layers-only]`);
    }
    for (const args of [['--help'], ['help'], ['-h'], ['fold', '--help']]) {
      const help = run(...args);
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout).toMatch(new RegExp(`^usage: ${TOOL} fold <model.json> <out-dir> \\[--stock-layers-only\\]\n` +
                                             ` +${TOOL} help \\| --help \\| --version\n`));
    }
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const args of [['--version'], ['-v']]) {
      const r = run(...args);
      expect(r).toEqual({code: 0, stdout: `${pkg.version}\n`, stderr: ''});
    }
  });
});
