/**
 * fileSystem(path), the package's IO handler for Node: save and reload (a
 * model with the BatchNormInference layer), a graph model in three shards
 * and two manifest groups, a shard without an extension, links inside the
 * folder, replacing a saved model, and every error message (each naming the
 * file, leaving no tensor allocated and nothing half written).
 *
 * Fixtures are written by the tests into a temp folder; the FIFO is made
 * with mkfifo (coreutils).
 */
import * as tf from '@tensorflow/tfjs';
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {batchNormInferenceLayer, fileSystem} from '../src';
import {escapeControls} from '../src/io/quote';
import {editJSON, makeTempDir, removeDir} from './helpers/fs_io';
import {expectNoLeaks, memorySnapshot} from './helpers/leaks';

const E = 'Error in fileSystem';
let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => tf.zeros([1]).dataSync());  // tfjs's one-time Node notice, before any leak check
  tmp = makeTempDir('tfbni-fs-');
});
afterAll(() => removeDir(tmp));

/** A small model: dense -> BatchNormInference (channels last), with set statistics. */
function bnModel(): tf.LayersModel {
  const model = tf.sequential({layers: [
    tf.layers.dense({inputShape: [3], units: 4, name: 'dense',
                     kernelInitializer: tf.initializers.glorotUniform({seed: 5})}),
    batchNormInferenceLayer({name: 'bn', epsilon: 1e-3}),
  ]});
  tf.tidy(() => model.getLayer('bn').setWeights([
    tf.tensor1d([1, 2, 0.5, -1]), tf.tensor1d([0, 0.1, -0.2, 0.3]),
    tf.tensor1d([0.5, -0.5, 1, 0]), tf.tensor1d([1, 4, 0.25, 2]),
  ]));
  return model;
}

function predictValues(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

/** The message of the rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a rejection');
}

/** A folder with the saved bnModel (model.json + group1-shard1of1.bin). */
async function savedModel(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  const model = bnModel();
  await model.save(fileSystem(dir));
  model.dispose();
  return dir;
}

/** Asserts loading `target` rejects with exactly `message` (or a match of it) and leaks nothing. */
async function expectLoadError(target: string, message: string|RegExp): Promise<void> {
  await expectNoLeaks(async () => {
    const got = await rejection(tf.loadLayersModel(fileSystem(target)));
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });
}

describe('fileSystem: save and load', () => {
  it('saves and reloads a model with the BatchNormInference layer: same predictions, nothing leaked', async () => {
    const dir = path.join(tmp, 'bn');
    const model = bnModel();
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 4]]);
    const want = predictValues(model, x);
    const before = memorySnapshot();
    const result = await model.save(fileSystem(dir));
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(4 * (12 + 4 + 16));
    expect(fs.readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(fs.readdirSync(tmp).filter((n) => n.includes('.tmp-'))).toEqual([]);
    // From the folder and from its model.json.
    for (const target of [dir, path.join(dir, 'model.json')]) {
      const loaded = await tf.loadLayersModel(fileSystem(target));
      expect(loaded.layers.map((l) => l.getClassName())).toEqual(['Dense', 'BatchNormInference']);
      expect(predictValues(loaded, x)).toEqual(want);
      loaded.dispose();
    }
    expect(memorySnapshot()).toEqual(before);
    model.dispose();
    x.dispose();
  });

  it('saving again replaces the saved model (the old files go); a folder holding other files is refused', async () => {
    const dir = await savedModel('again');
    const small = tf.sequential({layers: [tf.layers.dense({inputShape: [2], units: 1, name: 'only'})]});
    await small.save(fileSystem(dir));
    const loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(loaded.layers.map((l) => l.name)).toEqual(['only']);
    loaded.dispose();
    expect(fs.readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('.again.'))).toEqual([]);

    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(await rejection(small.save(fileSystem(dir)))).toBe(
        `${E}: the output folder ${dir} holds files other than a saved model (notes.txt); choose a new folder`);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    small.dispose();
  });

  it('creates missing parent folders; shards of 4 MiB in the converter\'s names', async () => {
    const dir = path.join(tmp, 'deep', 'er', 'big');
    const model = tf.sequential({layers: [tf.layers.dense({inputShape: [1100], units: 1000, name: 'wide'})]});
    await model.save(fileSystem(dir));
    expect(fs.readdirSync(dir).sort()).toEqual(
        ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
    expect(fs.statSync(path.join(dir, 'group1-shard1of2.bin')).size).toBe(4 * 1024 * 1024);
    const loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(tf.tidy(() => tf.sub(loaded.getWeights()[0], model.getWeights()[0]).abs().max().dataSync()[0])).toBe(0);
    loaded.dispose();
    model.dispose();
  });

  it('loads a model whose shard has no extension, and a shard linked to another file inside the folder', async () => {
    const dir = await savedModel('noext');
    fs.renameSync(path.join(dir, 'group1-shard1of1.bin'), path.join(dir, 'weights'));
    editJSON(dir, (json) => { json.weightsManifest[0].paths = ['weights']; });
    const x = tf.tensor2d([[1, 2, 3]]);
    const model = bnModel();
    const want = predictValues(model, x);
    let loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(predictValues(loaded, x)).toEqual(want);
    loaded.dispose();
    // Links that stay inside the folder are followed (see src/io/model_folder.ts for why).
    fs.mkdirSync(path.join(dir, 'store'));
    fs.renameSync(path.join(dir, 'weights'), path.join(dir, 'store', 'blob'));
    fs.symlinkSync(path.join('store', 'blob'), path.join(dir, 'weights'));
    loaded = await tf.loadLayersModel(fileSystem(dir));
    expect(predictValues(loaded, x)).toEqual(want);
    loaded.dispose();
    model.dispose();
    x.dispose();
  });

  it('loads a graph model in three shards and two manifest groups', async () => {
    // y = x @ w + b, as tensorflowjs_converter writes a GraphModel.
    const dir = path.join(tmp, 'graph');
    fs.mkdirSync(dir);
    const w = new Float32Array([1, 2, 3, 4, 5, 6]);  // [3, 2]
    const b = new Float32Array([0.5, -1]);
    const wBytes = Buffer.from(w.buffer);
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), wBytes.subarray(0, 10));
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), wBytes.subarray(10));
    fs.writeFileSync(path.join(dir, 'group2-shard1of1'), Buffer.from(b.buffer));
    const dtype = {type: 'DT_FLOAT'};
    const modelJSON = {
      format: 'graph-model', generatedBy: 'hand', convertedBy: 'file_system.test.ts',
      modelTopology: {
        node: [
          {name: 'x', op: 'Placeholder', attr: {dtype, shape: {shape: {dim: [{size: '-1'}, {size: '3'}]}}}},
          {name: 'w', op: 'Const', attr: {dtype, value: {tensor: {dtype: 'DT_FLOAT',
                                                                  tensorShape: {dim: [{size: '3'}, {size: '2'}]}}}}},
          {name: 'b', op: 'Const', attr: {dtype, value: {tensor: {dtype: 'DT_FLOAT',
                                                                  tensorShape: {dim: [{size: '2'}]}}}}},
          {name: 'MatMul', op: 'MatMul', input: ['x', 'w'],
           attr: {T: dtype, transpose_a: {b: false}, transpose_b: {b: false}}},
          {name: 'y', op: 'AddV2', input: ['MatMul', 'b'], attr: {T: dtype}},
        ],
        library: {}, versions: {producer: 1},
      },
      weightsManifest: [
        {paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [{name: 'w', shape: [3, 2], dtype: 'float32'}]},
        {paths: ['group2-shard1of1'], weights: [{name: 'b', shape: [2], dtype: 'float32'}]},
      ],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJSON));
    const before = memorySnapshot();
    const graph = await tf.loadGraphModel(fileSystem(path.join(dir, 'model.json')));
    const y = tf.tidy(() => (graph.predict(tf.tensor2d([[1, 0, -1], [2, 1, 0.5]])) as tf.Tensor).dataSync());
    // [1,0,-1]@w = [1-5, 2-6] = [-4,-4]; [2,1,.5]@w = [2+3+2.5, 4+4+3] = [7.5, 11]; plus b.
    expect(Array.from(y)).toEqual([-3.5, -5, 8, 10]);
    graph.dispose();
    expect(memorySnapshot()).toEqual(before);
  });
});

describe('fileSystem: string weights (no declared size)', () => {
  it('a graph model group holding a string weight is read as its file\'s size says', async () => {
    const dir = path.join(tmp, 'strings');
    fs.mkdirSync(dir);
    // tfjs's string encoding: per element a 4-byte little-endian length, then the bytes.
    const parts = ['ab', 'xyz'].map((t) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(t.length);
      return Buffer.concat([len, Buffer.from(t)]);
    });
    fs.writeFileSync(path.join(dir, 'w'), Buffer.concat(parts));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      format: 'graph-model', modelTopology: {node: []},
      weightsManifest: [{paths: ['w'], weights: [{name: 'keys', shape: [2], dtype: 'string'}]}],
    }));
    const artifacts = await fileSystem(dir).load!();
    expect(artifacts.weightSpecs).toEqual([{name: 'keys', shape: [2], dtype: 'string'}]);
    expect(Buffer.from(artifacts.weightData as ArrayBuffer)).toEqual(Buffer.concat(parts));
    expect(artifacts.format).toBe('graph-model');
  });
});

describe('fileSystem: reaching Node\'s fs', () => {
  it('without process.getBuiltinModule (Node < 20.16) it imports fs; outside Node it says what to use', async () => {
    const dir = await savedModel('old_node');
    const proc = process as unknown as {getBuiltinModule?: unknown};
    const saved = proc.getBuiltinModule;
    proc.getBuiltinModule = undefined;
    try {
      const artifacts = await fileSystem(dir).load!();
      expect((artifacts.weightSpecs ?? []).map((w) => w.name)).toEqual(
          ['dense/kernel', 'dense/bias', 'bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']);
    } finally {
      proc.getBuiltinModule = saved;
    }
    // No process at all (a browser): load() rejects before touching anything.
    const global = globalThis as {process?: unknown};
    const real = global.process;
    let pending: Promise<unknown>;
    global.process = undefined;
    try {
      pending = fileSystem(dir).load!();
    } finally {
      global.process = real;
    }
    expect(await rejection(pending)).toBe(
        `${E}: reads and writes files with Node.js, which this environment does not have; in a browser, ` +
        'load a model with tf.loadLayersModel(url) or tf.io.browserFiles(files).');
  });
});

describe('escapeControls (every message quoting file text)', () => {
  it('escapes C0, DEL, C1, line separators and bidi marks; keeps newlines only when asked', () => {
    expect(escapeControls('a\u001b[2Jb\u0007\u007f\u009b\u2028\u202e\u2066\tc\nd')).toBe(
        'a\\x1b[2Jb\\x07\\x7f\\x9b\\u2028\\u202e\\u2066\\x09c\\x0ad');
    expect(escapeControls('line 1\nline\u001b 2', true)).toBe('line 1\nline\\x1b 2');
    expect(escapeControls('plain ascii, ünïcödé ✓')).toBe('plain ascii, ünïcödé ✓');
  });
});

describe('fileSystem: errors name the file', () => {
  it('a missing model.json, a folder without one, bad JSON, no modelTopology', async () => {
    const missing = path.join(tmp, 'nowhere', 'model.json');
    await expectLoadError(missing, `${E}: cannot read the model file ${missing}: no such file`);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await expectLoadError(empty, `${E}: cannot read the model file ${path.join(empty, 'model.json')}: no such file`);
    fs.writeFileSync(path.join(empty, 'model.json'), '{"modelTopology": ');
    await expectLoadError(empty, new RegExp(`^${E}: ${path.join(empty, 'model.json')} is not valid JSON \\(.+\\)$`));
    fs.writeFileSync(path.join(empty, 'model.json'), '{"weightsManifest": []}');
    await expectLoadError(empty, `${E}: ${path.join(empty, 'model.json')} has no modelTopology: it is not a tfjs model.json`);
  });

  it('a missing, short or long shard', async () => {
    const dir = await savedModel('sizes');
    const json = path.join(dir, 'model.json');
    const bin = path.join(dir, 'group1-shard1of1.bin');
    const size = fs.statSync(bin).size;
    fs.appendFileSync(bin, Buffer.alloc(4));
    await expectLoadError(dir, `${E}: the weight file ${bin} holds more bytes than the weightsManifest of ${json} ` +
                               `describes (${size} bytes): the weights do not match the model`);
    fs.truncateSync(bin, size - 4);
    await expectLoadError(dir, `${E}: the weight file ${bin} of ${json} holds ${size - 4} bytes, but its ` +
                               `weightsManifest describes ${size} bytes: the weights do not match the model`);
    fs.rmSync(bin);
    await expectLoadError(dir, `${E}: cannot read the weight file ${bin}: no such file`);
  });

  it('a weight path that leaves the folder: ../, absolute, a link, a linked subfolder', async () => {
    const dir = await savedModel('escape');
    const json = path.join(dir, 'model.json');
    const bin = path.join(dir, 'group1-shard1of1.bin');
    const outside = path.join(tmp, 'secret.bin');
    fs.writeFileSync(outside, Buffer.alloc(fs.statSync(bin).size, 7));  // the size the manifest wants
    for (const p of ['../secret.bin', outside]) {
      editJSON(dir, (j) => { j.weightsManifest[0].paths = [p]; });
      await expectLoadError(dir, `${E}: the weight path '${p}' in ${json} points outside the model's folder ${dir}`);
    }
    editJSON(dir, (j) => { j.weightsManifest[0].paths = ['linked.bin']; });
    fs.symlinkSync(outside, path.join(dir, 'linked.bin'));
    await expectLoadError(dir, `${E}: the weight file ${path.join(dir, 'linked.bin')} is a symbolic link (or in a ` +
                               `linked folder) to ${outside}, outside the model's folder; copy the file into the folder instead`);
    fs.mkdirSync(path.join(tmp, 'elsewhere'));
    fs.copyFileSync(outside, path.join(tmp, 'elsewhere', 'w.bin'));
    fs.symlinkSync(path.join(tmp, 'elsewhere'), path.join(dir, 'sub'));
    editJSON(dir, (j) => { j.weightsManifest[0].paths = ['sub/w.bin']; });
    await expectLoadError(dir, `${E}: the weight file ${path.join(dir, 'sub', 'w.bin')} is a symbolic link (or in a ` +
                               `linked folder) to ${path.join(tmp, 'elsewhere', 'w.bin')}, outside the model's folder; ` +
                               'copy the file into the folder instead');
  });

  it('a FIFO shard (refused without blocking), a device as model.json', async () => {
    const dir = await savedModel('fifo');
    const bin = path.join(dir, 'group1-shard1of1.bin');
    fs.rmSync(bin);
    execFileSync('mkfifo', [bin]);
    await expectLoadError(dir, `${E}: cannot read the weight file ${bin}: it is a FIFO (named pipe), not a regular file`);
    await expectLoadError('/dev/null', `${E}: cannot read the model file /dev/null: it is a character device, not a regular file`);
  });

  it('weight entries: no shape, a bad shape, an unknown dtype, a bad path entry', async () => {
    const dir = await savedModel('entries');
    const json = path.join(dir, 'model.json');
    const cases: Array<[(w: any, g: any) => void, string]> = [
      [(w) => { delete w.shape; }, `the weight 'dense/kernel' in ${json} has no shape; expected a list of sizes`],
      [(w) => { w.shape = [3, -4]; }, `the weight 'dense/kernel' in ${json} has the shape [3,-4]; expected whole numbers >= 0`],
      [(w) => { w.dtype = 'float64'; }, `the weight 'dense/kernel' in ${json} has the dtype 'float64'; ` +
                                         'expected one of float32, int32, bool, complex64, string'],
      [(w) => { w.name = 7; }, `${json} has a weight whose name is 7; expected a string`],
      [(_, g) => { g.paths = [null]; }, `${json} lists the weight path null; expected a file name`],
    ];
    const original = fs.readFileSync(json, 'utf8');
    for (const [edit, message] of cases) {
      fs.writeFileSync(json, original);
      editJSON(dir, (j) => edit(j.weightsManifest[0].weights[0], j.weightsManifest[0]));
      await expectLoadError(dir, `${E}: ${message}`);
    }
  });

  it('a layers topology tfjs-layers would loop on (a cycle) is refused by load() itself', async () => {
    // load() only, not tf.loadLayersModel: were the check gone, this resolves (and fails) instead of hanging.
    const dir = await savedModel('cycle');
    editJSON(dir, (j) => {
      const [, dense, bn] = [null, ...j.modelTopology.config.layers];
      j.modelTopology = {class_name: 'Model', config: {name: 'loop', input_layers: [['dense', 0, 0]],
                                                       output_layers: [['bn', 0, 0]], layers: [
        {...dense, name: 'dense', inbound_nodes: [[['bn', 0, 0, {}]]]},
        {...bn, name: 'bn', inbound_nodes: [[['dense', 0, 0, {}]]]},
      ]}};
    });
    expect(await rejection(fileSystem(dir).load!())).toBe(
        `${E}: ${path.join(dir, 'model.json')}: the layers of model 'loop' call each other in a cycle: ` +
        `'dense' -> 'bn' -> 'dense'; a model's layers must form a graph without cycles`);
  });

  it('control characters from the file are escaped in messages', async () => {
    const dir = await savedModel('escapes');
    editJSON(dir, (j) => { j.weightsManifest[0].weights[0] = {name: '\u001b[2J\u0007fake OK\n', dtype: 'float32'}; });
    await expectLoadError(dir, `${E}: the weight '\\x1b[2J\\x07fake OK\\x0a' in ${path.join(dir, 'model.json')} ` +
                               'has no shape; expected a list of sizes');
  });

  it('save: an output path that is a link or a file; a bad path argument', async () => {
    const model = bnModel();
    const real = path.join(tmp, 'real_out');
    fs.mkdirSync(real);
    const link = path.join(tmp, 'link_out');
    fs.symlinkSync(real, link);
    expect(await rejection(model.save(fileSystem(link)))).toBe(
        `${E}: the output path ${link} is a symbolic link; give the path of a new folder ` +
        '(or the real path of the folder it links to)');
    const file = path.join(tmp, 'a_file');
    fs.writeFileSync(file, 'x');
    expect(await rejection(model.save(fileSystem(file)))).toBe(
        `${E}: the output path ${file} exists and is a file, not a folder`);
    expect(fs.readdirSync(real)).toEqual([]);
    // A parent that cannot be made (a file in the way).
    expect(await rejection(model.save(fileSystem(path.join(file, 'sub', 'out'))))).toBe(
        `${E}: cannot write the model to ${path.join(file, 'sub', 'out')}: a part of the path is not a folder`);
    expect(() => fileSystem('' as string)).toThrow(`${E}: path must be a model.json or a folder, but got ''.`);
    expect(() => fileSystem(3 as unknown as string)).toThrow(`${E}: path must be a model.json or a folder, but got 3.`);
    model.dispose();
  });
});
