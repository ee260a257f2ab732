/**
 * `tfjs-batchnorm-inference fold <model.json> <out-dir>` on a GraphModel
 * (src/cli/graph_fold.ts): the folded model is written, prints the fold
 * report, keeps the signature, and loads in stock tfjs in another process
 * predicting like the original; user errors are one line, exit code 1, and
 * leave nothing behind. The tool is bundled from src/cli/main.ts as in
 * test/cli.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {bundleSync} from './helpers/bundle';
import {makeTempDir, removeDir} from './helpers/fs_io';

const {createGraph} = require('./fixtures/graph/graph_builder.js');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'test', 'artifacts', 'graph_cli.cjs');
const LOAD_STOCK = path.join(__dirname, 'fixtures', 'load_stock.js');
const TOOL = 'tfjs-batchnorm-inference';

let tmp: string;
let original: tf.io.ModelArtifacts;

/** A Keras-3-style graph model (quantized weights, two shards) written as tensorflowjs_converter would. */
function writeModel(dir: string, artifacts: tf.io.ModelArtifacts) {
  fs.mkdirSync(dir);
  const data = Buffer.from(artifacts.weightData as ArrayBuffer);
  fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), data.subarray(0, 100));
  fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), data.subarray(100));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
    format: 'graph-model', generatedBy: '2.19.0', convertedBy: 'TensorFlow.js Converter v4.22.0',
    signature: artifacts.signature, userDefinedMetadata: {note: 'kept'}, modelTopology: artifacts.modelTopology,
    weightsManifest: [{paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: artifacts.weightSpecs}],
  }));
}

beforeAll(async () => {
  bundleSync({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')], bundle: true, platform: 'node', format: 'cjs',
    target: 'es2019', packages: 'external', outfile: CLI, logLevel: 'warning',
  });
  tmp = makeTempDir('tfbni-graph-cli-');
  await tf.setBackend('cpu');
  const g = createGraph(21);
  let y = g.input('x', [-1, 8, 8, 3]);
  y = g.conv2d('stem', y, [3, 3, 3, 8], {strides: 2});
  y = g.binary('Mul', 'stem_bn/mul', y, g.perChannel('stem_bn/scale', 8, [0.5, 1.5]));
  y = g.binary('AddV2', 'stem_bn/add', y, g.perChannel('stem_bn/shift', 8, [-0.5, 0.5]));
  y = g.unary('Relu6', 'stem_relu', y);
  y = g.depthwise('dw', y, [3, 3, 8, 1]);
  y = g.binary('Mul', 'dw_bn/mul', y, g.perChannel('dw_bn/scale', 8, [0.5, 1.5]));
  y = g.binary('AddV2', 'dw_bn/add', y, g.perChannel('dw_bn/shift', 8, [-0.5, 0.5]));
  y = g.unary('Relu6', 'dw_relu', y);
  original = g.artifacts([y], {quantize: {'stem/filter': 'uint8', 'dw/filter': 'float16'}});
  writeModel(path.join(tmp, 'model'), original);
});
afterAll(() => removeDir(tmp));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {encoding: 'utf8'});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

describe('fold on a GraphModel', () => {
  it('writes the folded model, prints the report; stock tfjs loads it and predicts like the original', async () => {
    const input = path.join(tmp, 'model', 'model.json');
    const out = path.join(tmp, 'folded');
    const r = run('fold', input, out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -2)).toEqual([
      `${TOOL} fold: ${input} -> ${out} (graph model)`,
      'graph nodes: 15 -> 7',
      'batch norms folded: 2',
      '  stem_bn/mul + stem_bn/add -> stem (now stem_relu: _FusedConv2D)',
      '  dw_bn/mul + dw_bn/add -> dw (now dw_relu: FusedDepthwiseConv2dNative)',
      'activations fused: 2',
      '  stem_relu (Relu6) -> stem_relu',
      '  dw_relu (Relu6) -> dw_relu',
      'batch norms left: 0',
    ]);
    expect(lines[lines.length - 2]).toMatch(/^weight bytes: \d+ -> \d+$/);
    expect(lines[lines.length - 1]).toMatch(/^bytes: \d+ -> \d+$/);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(json.signature).toEqual(original.signature);
    expect(json.userDefinedMetadata).toEqual({note: 'kept'});
    expect(json.format).toBe('graph-model');
    expect(fs.readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);

    const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 4);
    fs.writeFileSync(path.join(tmp, 'input.json'), JSON.stringify({shape: x.shape, data: Array.from(x.dataSync())}));
    const stock = spawnSync(process.execPath, [LOAD_STOCK, out, path.join(tmp, 'input.json')], {encoding: 'utf8'});
    expect(stock.stderr).toBe('');
    const got = JSON.parse(stock.stdout) as {shape: number[], data: number[]};
    const model = await tf.loadGraphModel(tf.io.fromMemory(original));
    const y = model.predict(x) as tf.Tensor;
    const expected = y.dataSync();
    tf.dispose([x, y]);
    model.dispose();
    expect(got.shape).toEqual([2, 4, 4, 8]);
    const peak = Math.max(...Array.from(expected, Math.abs));
    got.data.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-5 * peak));
  });

  it('refuses a non-empty output directory and weights that do not match, in one line, writing nothing', () => {
    const input = path.join(tmp, 'model', 'model.json');
    const busy = path.join(tmp, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'x'), '');
    let r = run('fold', input, busy);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '',
      `${TOOL}: the output directory ${busy} exists and is not empty; choose a new directory\n`]);

    const short = path.join(tmp, 'short');
    fs.cpSync(path.join(tmp, 'model'), short, {recursive: true});
    fs.writeFileSync(path.join(short, 'group1-shard2of2.bin'), Buffer.alloc(3));
    const before = fs.readdirSync(tmp).sort();
    r = run('fold', path.join(short, 'model.json'), path.join(tmp, 'never'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${TOOL}: the weight files .*group1-shard1of2\\.bin, .*group1-shard2of2\\.bin ` +
                                        'of .*model\\.json hold 103 bytes, but its weightsManifest describes 488 bytes: ' +
                                        'the weights do not match the model\\n$'));
    expect(fs.readdirSync(tmp).sort()).toEqual(before);
  });
});
