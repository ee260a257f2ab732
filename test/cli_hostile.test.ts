/**
 * The CLI on hostile input (#18): files outside the model's folder reached
 * through links, /dev/zero, a FIFO, short and long shards, malformed weight
 * entries, topologies that made tfjs-layers' deserializer spin forever,
 * terminal escapes in names, an output path that is a link, temp folders of
 * killed runs, and a model whose written form would not load back.
 *
 * Every run is a child process with a timeout (RUN_TIMEOUT_MS): a hang
 * fails the test (killed, `signal` set) instead of hanging jest. The tool
 * is bundled from src/cli/main.ts into test/artifacts/ with the options of
 * the package build (dist/cli.cjs), as test/cli.test.ts does, so the suite
 * tests the current source without a previous `npm run build`.
 */
import * as tf from '@tensorflow/tfjs';
import {execFileSync, spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {batchNormInferenceLayer, fileSystem} from '../src';
import {checkLoadsBack} from '../src/cli/model_files';
import {bundleSync} from './helpers/bundle';
import {editJSON, makeTempDir, removeDir} from './helpers/fs_io';
import {memorySnapshot} from './helpers/leaks';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'test', 'artifacts', 'cli_hostile.cjs');
const EXAMPLE = path.join(ROOT, 'examples', 'data', 'converted_model');
const TOOL = 'tfjs-batchnorm-inference';
/** Far above a normal run (~1-2 s); a run still going then is a hang. */
const RUN_TIMEOUT_MS = 30_000;
/** Anything a terminal would act on: C0 (newline aside), DEL, C1. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

let tmp: string;

beforeAll(async () => {
  bundleSync({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')], bundle: true, platform: 'node', format: 'cjs',
    target: 'es2019', packages: 'external', outfile: CLI, logLevel: 'warning',
  });
  tmp = makeTempDir('tfbni-hostile-');
  await tf.setBackend('cpu');
  tf.tidy(() => tf.zeros([1]).dataSync());
});
afterAll(() => removeDir(tmp));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {encoding: 'utf8', timeout: RUN_TIMEOUT_MS,
                                                          killSignal: 'SIGKILL'});
  return {code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr};
}

/** Copies the example model into tmp/name. */
function exampleCopy(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(EXAMPLE, dir, {recursive: true});
  return dir;
}

/** Runs `fold input out`; expects exit 1 within the timeout, one line `message`, nothing at or beside `out`. */
function expectRefused(input: string, out: string, message: string|RegExp): void {
  const before = fs.readdirSync(path.dirname(out)).sort();
  const r = run('fold', input, out);
  expect(r.signal).toBeNull();  // not killed by the timeout
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  const line = r.stderr.replace(/\n$/, '');
  expect(line.split('\n')).toHaveLength(1);
  expect(line).not.toMatch(RAW_CONTROL);
  if (typeof message === 'string') expect(line).toBe(`${TOOL}: ${message}`);
  else expect(line).toMatch(message);
  expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(before);
}

describe('CLI: weight files', () => {
  const shard = 'group1-shard1of1.bin';

  it('a shard that is a link to a file outside the folder (of the size the manifest wants)', () => {
    const dir = exampleCopy('link_out');
    const secret = path.join(tmp, 'secret.bin');
    fs.writeFileSync(secret, Buffer.alloc(fs.statSync(path.join(dir, shard)).size, 0x41));
    fs.rmSync(path.join(dir, shard));
    fs.symlinkSync(secret, path.join(dir, shard));
    expectRefused(dir, path.join(tmp, 'o_link'),
                  `the weight file ${path.join(dir, shard)} is a symbolic link (or in a linked folder) to ${secret}, ` +
                  `outside the model's folder; copy the file into the folder instead`);
  });

  it('a shard in a linked subfolder that leads outside', () => {
    const dir = exampleCopy('subfolder');
    const away = path.join(tmp, 'away');
    fs.mkdirSync(away);
    fs.renameSync(path.join(dir, shard), path.join(away, shard));
    fs.symlinkSync(away, path.join(dir, 'weights'));
    editJSON(dir, (j) => { j.weightsManifest[0].paths = [`weights/${shard}`]; });
    expectRefused(dir, path.join(tmp, 'o_sub'),
                  `the weight file ${path.join(dir, 'weights', shard)} is a symbolic link (or in a linked folder) ` +
                  `to ${path.join(away, shard)}, outside the model's folder; copy the file into the folder instead`);
  });

  it('a shard linked to /dev/zero, and /dev/zero as the model file: refused, not read', () => {
    const dir = exampleCopy('zero');
    fs.rmSync(path.join(dir, shard));
    fs.symlinkSync('/dev/zero', path.join(dir, shard));
    expectRefused(dir, path.join(tmp, 'o_zero'),
                  `the weight file ${path.join(dir, shard)} is a symbolic link (or in a linked folder) to /dev/zero, ` +
                  `outside the model's folder; copy the file into the folder instead`);
    expectRefused('/dev/zero', path.join(tmp, 'o_zero2'),
                  'cannot read the model file /dev/zero: it is a character device, not a regular file');
  });

  it('a FIFO shard: refused at once (no open, no read that would block)', () => {
    const dir = exampleCopy('fifo');
    fs.rmSync(path.join(dir, shard));
    execFileSync('mkfifo', [path.join(dir, shard)]);
    expectRefused(dir, path.join(tmp, 'o_fifo'),
                  `cannot read the weight file ${path.join(dir, shard)}: it is a FIFO (named pipe), not a regular file`);
  });

  it('a long shard and a short shard', () => {
    const dir = exampleCopy('long');
    const bin = path.join(dir, shard);
    const size = fs.statSync(bin).size;
    const json = path.join(dir, 'model.json');
    fs.appendFileSync(bin, Buffer.alloc(8));
    expectRefused(dir, path.join(tmp, 'o_long'),
                  `the weight file ${bin} holds more bytes than the weightsManifest of ${json} describes ` +
                  `(${size} bytes): the weights do not match the model`);
    fs.truncateSync(bin, size - 8);
    expectRefused(dir, path.join(tmp, 'o_short'),
                  `the weight file ${bin} of ${json} holds ${size - 8} bytes, but its weightsManifest describes ` +
                  `${size} bytes: the weights do not match the model`);
  });

  it('a weight entry without shape', () => {
    const dir = exampleCopy('noshape');
    let name = '';
    editJSON(dir, (j) => {
      name = j.weightsManifest[0].weights[0].name;
      delete j.weightsManifest[0].weights[0].shape;
    });
    expectRefused(dir, path.join(tmp, 'o_noshape'),
                  `the weight '${name}' in ${path.join(dir, 'model.json')} has no shape; expected a list of sizes`);
  });
});

describe('CLI: topologies tfjs-layers would loop on', () => {
  const input = {class_name: 'InputLayer', name: 'in', inbound_nodes: [],
                 config: {name: 'in', batch_input_shape: [null, 3], dtype: 'float32', sparse: false}};
  const dense = (name: string, inbound: unknown[]) => (
      {class_name: 'Dense', name, inbound_nodes: inbound, config: {name, units: 2, activation: 'linear', use_bias: true}});
  function modelDir(name: string, layers: unknown[], outputs: unknown[] = [['d2', 0, 0]]): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model',
      modelTopology: {class_name: 'Model', keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js',
                      config: {name: 'hostile', layers, input_layers: [['in', 0, 0]], output_layers: outputs}},
      weightsManifest: [],
    }));
    return path.join(dir, 'model.json');
  }

  it('a cycle', () => {
    const file = modelDir('cycle', [input, dense('d1', [[['d2', 0, 0, {}]]]), dense('d2', [[['d1', 0, 0, {}]]])]);
    expectRefused(file, path.join(tmp, 'o_cycle'),
                  `${file}: the layers of model 'hostile' call each other in a cycle: 'd1' -> 'd2' -> 'd1'; ` +
                  `a model's layers must form a graph without cycles`);
  });

  it('a dangling inbound node', () => {
    const file = modelDir('dangling', [input, dense('d1', [[['in', 0, 0, {}]]]), dense('d2', [[['ghost', 0, 0, {}]]])]);
    expectRefused(file, path.join(tmp, 'o_dangling'),
                  `${file}: the layer 'd2' of model 'hostile' (call 1) takes an input from layer 'ghost', ` +
                  `which is not a layer of model 'hostile'`);
  });

  it('an out-of-range node index', () => {
    const file = modelDir('range', [input, dense('d1', [[['in', 0, 0, {}]]]), dense('d2', [[['d1', 3, 0, {}]]])]);
    expectRefused(file, path.join(tmp, 'o_range'),
                  `${file}: the layer 'd2' of model 'hostile' (call 1) takes an input from node 3 of layer 'd1', ` +
                  `which has 1 node(s)`);
    const file2 = modelDir('range_out', [input, dense('d1', [[['in', 0, 0, {}]]]), dense('d2', [[['d1', 0, 0, {}]]])],
                           [['d2', 1, 0]]);
    expectRefused(file2, path.join(tmp, 'o_range2'),
                  `${file2}: the output layers of model 'hostile' takes an input from node 1 of layer 'd2', ` +
                  `which has 1 node(s)`);
  });

  it('duplicate layer names', () => {
    const file = modelDir('dupes', [input, dense('d1', [[['in', 0, 0, {}]]]), dense('d1', [[['in', 0, 0, {}]]]),
                                    dense('d2', [[['d1', 0, 0, {}]]])]);
    expectRefused(file, path.join(tmp, 'o_dupes'),
                  `${file}: model 'hostile' has two layers named 'd1'; layer names must be unique`);
  });

  it('a valid model with a layer shared at two depths and a nested model still folds', async () => {
    const shared = tf.layers.dense({units: 3, name: 'shared'});
    const inner = tf.sequential({name: 'inner', layers: [
      tf.layers.dense({inputShape: [3], units: 3, name: 'inner_dense'}),
      tf.layers.batchNormalization({name: 'inner_bn'}),
    ]});
    const x = tf.input({shape: [3]});
    const a = shared.apply(x) as tf.SymbolicTensor;
    const b = inner.apply(a) as tf.SymbolicTensor;
    const y = shared.apply(b) as tf.SymbolicTensor;  // shared(inner(shared(x)))
    const model = tf.model({inputs: x, outputs: y});
    const dir = path.join(tmp, 'valid_shared');
    await model.save(fileSystem(dir));
    model.dispose();
    const r = run('fold', dir, path.join(tmp, 'o_valid'));
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('batch norms folded: 1');
  });
});

describe('CLI: names from the file are escaped', () => {
  it('a layer named with terminal escapes (tfjs refuses the name; its message quotes it): escaped', () => {
    // tfjs-layers checks names it makes tensors from, so such a name never loads; the error quoting it is escaped.
    const dir = path.join(tmp, 'evil_relu');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      modelTopology: {class_name: 'Sequential', config: {name: 'seq', layers: [
        {class_name: 'ReLU', config: {name: '\u001b[2J\u001b]0;pwned\u0007relu\u009b', batch_input_shape: [null, 2]}},
      ]}},
      weightsManifest: [],
    }));
    expectRefused(dir, path.join(tmp, 'o_evil_relu'), new RegExp(
        `^${TOOL}: cannot load ${path.join(dir, 'model.json')} as a layers model: .*` +
        `'\\\\x1b\\[2J\\\\x1b\\]0;pwned\\\\x07relu\\\\x9b_input'`));
  });

  it('layer and class names in error messages', () => {
    const dir = path.join(tmp, 'evil_errors');
    fs.mkdirSync(dir);
    const write = (layers: unknown[]) => fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      modelTopology: {class_name: 'Sequential', config: {name: 'seq', layers}}, weightsManifest: [],
    }));
    const file = path.join(dir, 'model.json');
    const name = 'x\u001b[31mOK\nfake line';
    write([{class_name: 'Dense', config: {name, units: 1, batch_input_shape: [null, 2]}},
           {class_name: 'Dense', config: {name, units: 1}}]);
    expectRefused(dir, path.join(tmp, 'o_evil1'),
                  `${file}: model 'seq' has two layers named 'x\\x1b[31mOK\\x0afake line'; layer names must be unique`);
    write([{class_name: '\u001b]0;title\u0007Evil', config: {name: 'e', batch_input_shape: [null, 2]}}]);
    expectRefused(dir, path.join(tmp, 'o_evil2'),
                  new RegExp(`^${TOOL}: cannot load ${file} as a layers model: .*\\\\x1b\\]0;title\\\\x07Evil`));
  });
});

describe('CLI: the output', () => {
  it('an output path that is a link to a folder: a clear refusal, the folder untouched', () => {
    const real = path.join(tmp, 'real_dir');
    fs.mkdirSync(real);
    const link = path.join(tmp, 'out_link');
    fs.symlinkSync(real, link);
    expectRefused(path.join(EXAMPLE, 'model.json'), link,
                  `the output path ${link} is a symbolic link; give the path of a new folder ` +
                  '(or the real path of the folder it links to)');
    expect(fs.readdirSync(real)).toEqual([]);
  });

  it('removes the temp folders of killed runs (processes that are gone), not those of running ones', () => {
    const parent = path.join(tmp, 'killed');
    fs.mkdirSync(parent);
    const gone = spawnSync(process.execPath, ['-e', ''], {timeout: RUN_TIMEOUT_MS}).pid;
    const stale = path.join(parent, `.out.tmp-${gone}-aB3dEf`);
    const live = path.join(parent, `.out.tmp-${process.pid}-gH5iJk`);
    for (const d of [stale, live]) {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'group1-shard1of1.bin'), 'partial');
    }
    const r = run('fold', EXAMPLE, path.join(parent, 'out'));
    expect(r.code).toBe(0);
    expect(fs.readdirSync(parent).sort()).toEqual([path.basename(live), 'out'].sort());
  });

  it('SeparableConv2D with depthMultiplier 2: the output loads and computes as the input, or nothing is written', async () => {
    const model = tf.sequential({layers: [
      tf.layers.separableConv2d({inputShape: [6, 6, 3], filters: 4, kernelSize: 3, depthMultiplier: 2, name: 'sep'}),
      tf.layers.batchNormalization({name: 'bn'}),
    ]});
    tf.tidy(() => model.getLayer('bn').setWeights(
        [tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([0, 1, 0, -1]), tf.tensor1d([0.5, 0, -0.5, 1]), tf.tensor1d([1, 2, 3, 4])]));
    const dir = path.join(tmp, 'separable');
    await model.save(fileSystem(dir));
    // tfjs-layers' getConfig drops depthMultiplier (4.22); the Keras converter writes it: put it back.
    editJSON(dir, (j) => { j.modelTopology.config.layers[0].config.depth_multiplier = 2; });
    const out = path.join(tmp, 'o_separable');
    const r = run('fold', dir, out);
    expect(r.signal).toBeNull();
    if (r.code === 0) {
      const loaded = await tf.loadLayersModel(fileSystem(out));
      const x = tf.randomUniform([2, 6, 6, 3], -1, 1, 'float32', 3);
      const diff = tf.tidy(() => tf.sub(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor).abs().max()
          .dataSync()[0]);
      const scale = tf.tidy(() => (model.predict(x) as tf.Tensor).abs().max().dataSync()[0]);
      expect(diff).toBeLessThanOrEqual(1e-5 * scale);
      loaded.dispose();
      x.dispose();
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd()).toMatch(new RegExp(
          `^${TOOL}: the model written for ${out} does not load back \\(.*\\); nothing was written`));
      expect(fs.existsSync(out)).toBe(false);
    }
    model.dispose();
  });
});

describe('checkLoadsBack (the CLI\'s check of what it wrote)', () => {
  const M = (dir: string, what: string) => `the model written for ${dir} ${what}; nothing was written. This is a bug ` +
      'in tfjs-batchnorm-inference: please report it with the model';

  it('passes its own save; catches changed weights, a changed config, a file that does not load', async () => {
    const model = tf.sequential({layers: [
      tf.layers.dense({inputShape: [3], units: 2, name: 'd', kernelInitializer: tf.initializers.glorotUniform({seed: 1})}),
      batchNormInferenceLayer({name: 'bn'}),
    ]});
    const dir = path.join(tmp, 'check');
    await model.save(fileSystem(dir));
    const before = memorySnapshot();
    await checkLoadsBack(dir, model, 'out');
    expect(memorySnapshot()).toEqual(before);

    const json = path.join(dir, 'model.json');
    const original = fs.readFileSync(json, 'utf8');
    const edit = (f: (j: any) => void) => {
      const j = JSON.parse(original);
      f(j);
      fs.writeFileSync(json, JSON.stringify(j));
    };
    edit((j) => { j.modelTopology.config.layers[0].config.activation = 'relu'; });
    await expect(checkLoadsBack(dir, model, 'out')).rejects.toThrow(M('out', 'loads back but computes different outputs'));
    edit((j) => { j.modelTopology.config.layers[1].class_name = 'Nope'; });
    await expect(checkLoadsBack(dir, model, 'out')).rejects.toThrow(
        new RegExp(`^the model written for out does not load back \\(.*Nope.*\\); nothing was written`));
    fs.writeFileSync(json, original);
    const [kernel] = model.getLayer('d').getWeights();
    const changed = tf.add(kernel, 1);
    model.getLayer('d').setWeights([changed, model.getLayer('d').getWeights()[1]]);
    changed.dispose();
    await expect(checkLoadsBack(dir, model, 'out')).rejects.toThrow(M('out', 'loads back with different values for the weight 1'));
    expect(memorySnapshot()).toEqual(before);
    model.dispose();
  });
});
