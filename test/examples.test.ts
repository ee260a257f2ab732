/**
 * The runnable examples (examples/*.js): each is run with Node, as a user
 * would after `npm run build`, and its exit code and key output lines are
 * checked. Regenerating the converted model must give the committed files
 * byte for byte.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');
const COMMITTED_MODEL = path.join(EXAMPLES, 'data', 'converted_model');
const DIST = path.join(ROOT, 'dist', 'index.cjs');

interface Run {
  status: number|null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` from the repository root. */
function runNode(script: string, args: string[] = []): Run {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90000,
    env: {...process.env, NODE_OPTIONS: ''},
  });
  if (result.error) throw result.error;
  return {status: result.status, stdout: result.stdout, stderr: result.stderr};
}

function describeRun(name: string, run: Run): string {
  return `${name} exited with ${run.status}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** Runs an example and fails with its whole output unless it exits 0. */
function runExample(name: string, args: string[] = []): string {
  const run = runNode(path.join('examples', name), args);
  if (run.status !== 0) throw new Error(describeRun(name, run));
  return run.stdout;
}

/** Every "max |...| = X (tolerance Y)" line of an output: X <= Y for each. */
function checkedDiffs(stdout: string): Array<{line: string, diff: number, tolerance: number}> {
  const re = /max \|[^\n]*?\| = ([-+0-9.eE]+|NaN) \(tolerance ([-+0-9.eE]+)\)/g;
  return [...stdout.matchAll(re)].map((m) => ({line: m[0], diff: Number(m[1]), tolerance: Number(m[2])}));
}

function expectDiffsWithinTolerance(stdout: string, atLeast: number) {
  const diffs = checkedDiffs(stdout);
  expect(diffs.length).toBeGreaterThanOrEqual(atLeast);
  for (const d of diffs) {
    expect({line: d.line, ok: Number.isFinite(d.diff) && d.diff <= d.tolerance})
        .toEqual({line: d.line, ok: true});
  }
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-examples-test-'));
}

beforeAll(() => {
  if (!fs.existsSync(DIST)) {
    throw new Error(`${DIST} is missing: the examples require the built package ` +
                    `('tfjs-batchnorm-inference' resolves to dist/). Run 'npm run build' first ` +
                    `('npm test' builds it).`);
  }
});

describe('examples/op_directly.js', () => {
  let stdout: string;
  beforeAll(() => {
    stdout = runExample('op_directly.js');
  });

  it('runs the op on NCHW and NHWC tensors and tensor-likes, matching the formula', () => {
    expect(stdout).toContain('backend: cpu');
    expect(stdout).toMatch(/1\. NCHW input .*default axis 1/);
    expect(stdout).toContain('NCHW vs formula: max |diff|');
    expect(stdout).toMatch(/2\. NHWC input .*axis -1/);
    expect(stdout).toContain('NHWC vs tf.batchNorm: max |diff|');
    expect(stdout).toContain('tensor-likes vs formula: max |diff|');
    expect(stdout).toContain('int32 x and Int32Array variance are cast to float32: dtype float32');
  });

  it('checks gradients of all five inputs and fine-tunes gamma and beta', () => {
    for (const name of ['dx', 'dgamma', 'dbeta', 'dmean', 'dvariance']) {
      expect(stdout).toContain(`${name} vs finite differences: max |diff|`);
    }
    expect(stdout).toMatch(/step 200: loss \d/);
    expect(stdout).toContain('learned gamma vs true: max |diff|');
    expect(stdout).toContain('learned beta vs true: max |diff|');
  });

  it('prints every difference within its tolerance, and passes', () => {
    expectDiffsWithinTolerance(stdout, 10);
    expect(stdout).toContain('op_directly: all checks passed, no tensor leaked');
  });
});

describe('examples/sequential_model.js', () => {
  let stdout: string;
  beforeAll(() => {
    stdout = runExample('sequential_model.js');
  });

  it('builds the layer from the MATLAB statistics file', () => {
    const matlab = JSON.parse(
        fs.readFileSync(path.join(EXAMPLES, 'data', 'matlab_batchnorm.json'), 'utf8'));
    expect(stdout).toContain('MATLAB statistics from examples/data/matlab_batchnorm.json');
    expect(stdout).toMatch(/bn_conv1 \(BatchNormInference\) +\[\[null,3,3,4\]\] +\[null,3,3,4\] +16/);
    expect(stdout).toContain(`Layer '${matlab.Name}' (BatchNormInference): NumChannels ` +
                             `${matlab.NumChannels}, Epsilon ${matlab.Epsilon}, axis -1`);
    const trainedMean = (matlab.TrainedMean as number[][][]).flat(2).map((v) => v.toFixed(4));
    expect(stdout).toContain(`TrainedMean     [${trainedMean.join(', ')}]`);
  });

  it('predicts what the formula gives, and the same after save and load', () => {
    expect(stdout).toContain('Input x: shape [2,3,3,4], output y: shape [2,3,3,4]');
    expect(stdout).toContain('max |model output - formula| = ');
    expectDiffsWithinTolerance(stdout, 1);
    expect(stdout).toContain('Saved and reloaded (bn_conv1:BatchNormInference, relu:ReLU): ' +
                             'max |diff| = 0.00e+0');
    expect(stdout).toContain('sequential_model: all checks passed');
  });
});

describe('examples/make_converted_model.js', () => {
  let dir: string;
  let stdout: string;
  beforeAll(() => {
    dir = tempDir();
    stdout = runExample('make_converted_model.js', [dir]);
  });
  afterAll(() => {
    fs.rmSync(dir, {recursive: true, force: true});
  });

  it('builds conv2d + BatchNormalization blocks, channels last', () => {
    expect(stdout).toContain("Model 'tiny_convnet' (input [null,8,8,3], channels last)");
    expect(stdout.match(/^ {2}bn\d +BatchNormalization /gm)).toHaveLength(3);
    expect(stdout.match(/^ {2}conv\d +Conv2D /gm)).toHaveLength(3);
    expect(stdout).toContain('make_converted_model: done');
  });

  it('regenerates the committed files byte for byte (deterministic)', () => {
    const committed = fs.readdirSync(COMMITTED_MODEL).sort();
    expect(committed).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(fs.readdirSync(dir).sort()).toEqual(committed);
    for (const file of committed) {
      const fresh = fs.readFileSync(path.join(dir, file));
      const kept = fs.readFileSync(path.join(COMMITTED_MODEL, file));
      if (!fresh.equals(kept)) {
        throw new Error(`examples/data/converted_model/${file} differs from a fresh ` +
                        `'node examples/make_converted_model.js' output (${fresh.length} vs ` +
                        `${kept.length} bytes). If tfjs was upgraded (model.json records its ` +
                        `version), regenerate and commit the files.`);
      }
    }
  });

  it('keeps the committed model small, in the tfjs layers format', () => {
    const total = fs.readdirSync(COMMITTED_MODEL)
                      .reduce((n, f) => n + fs.statSync(path.join(COMMITTED_MODEL, f)).size, 0);
    expect(total).toBeLessThan(50 * 1024);
    const modelJSON = JSON.parse(fs.readFileSync(path.join(COMMITTED_MODEL, 'model.json'), 'utf8'));
    expect(modelJSON.format).toBe('layers-model');
    expect(modelJSON.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    const classes = modelJSON.modelTopology.config.layers.map((l: {class_name: string}) => l.class_name);
    expect(classes.filter((c: string) => c === 'BatchNormalization')).toHaveLength(3);
  });
});

describe('examples/load_converted_model.js', () => {
  let stdout: string;
  beforeAll(() => {
    stdout = runExample('load_converted_model.js');
  });

  it('prints the layers before and after replaceBatchNormalization', () => {
    const [before, after] = stdout.split('Layers after replaceBatchNormalization:');
    expect(before).toContain("Loaded 'tiny_convnet' from examples/data/converted_model/model.json");
    expect(before.match(/^ {2}bn\d +BatchNormalization +\[null/gm)).toHaveLength(3);
    expect(after).toBeDefined();
    expect(after.match(/^ {2}bn\d +BatchNormInference +\[null/gm)).toHaveLength(3);
    expect(after).not.toMatch(/ BatchNormalization +\[null/);
    expect(stdout).toContain('bn2      BatchNormInference     [null,4,4,16]     epsilon 0.00001, axis -1');
    expect(stdout).toContain('Replaced 3 of 3 BatchNormalization layers (0 left)');
  });

  it('gets the same predictions from both models (max |diff| <= 1e-5)', () => {
    expect(stdout).toContain('Predictions for input [3,8,8,3]:');
    const diffs = checkedDiffs(stdout);
    expect(diffs).toHaveLength(1);
    expect(diffs[0].tolerance).toBe(1e-5);
    expect(diffs[0].diff).toBeLessThanOrEqual(1e-5);
    expect(stdout).toContain('load_converted_model: all checks passed');
  });

  it('loads a model.json path or a directory given as argument', () => {
    const dir = tempDir();
    try {
      runExample('make_converted_model.js', [dir]);
      expect(runExample('load_converted_model.js', [path.join(dir, 'model.json')]))
          .toContain('Replaced 3 of 3 BatchNormalization layers');
      expect(runExample('load_converted_model.js', [dir]))
          .toContain('load_converted_model: all checks passed');
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('fails with a clear message and a non-zero exit code when the model is missing', () => {
    const missing = path.join(os.tmpdir(), 'tfbni-no-such-model');
    const run = runNode(path.join('examples', 'load_converted_model.js'), [missing]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`${missing} does not exist; make it with`);
    expect(run.stderr).toContain('load_converted_model FAILED');
  });
});

describe('examples/run-all.js', () => {
  it('runs every example in order with a header each, and leaves the committed model alone', () => {
    const before = fs.readdirSync(COMMITTED_MODEL).map(
        (f) => [f, fs.statSync(path.join(COMMITTED_MODEL, f)).mtimeMs] as const);
    const run = runNode(path.join('examples', 'run-all.js'));
    if (run.status !== 0) throw new Error(describeRun('run-all.js', run));
    const headers = [...run.stdout.matchAll(/^\[(\d)\/4\] node examples\/(\S+)/gm)].map((m) => m[2]);
    expect(headers).toEqual(['op_directly.js', 'sequential_model.js', 'make_converted_model.js',
                             'load_converted_model.js']);
    for (const name of ['op_directly', 'sequential_model', 'make_converted_model', 'load_converted_model']) {
      expect(run.stdout).toMatch(new RegExp(`^--- ${name}: OK in `, 'm'));
    }
    expect(run.stdout).toContain('run-all: 4/4 examples passed');
    const after = fs.readdirSync(COMMITTED_MODEL).map(
        (f) => [f, fs.statSync(path.join(COMMITTED_MODEL, f)).mtimeMs] as const);
    expect(after).toEqual(before);
  });

  it('exits non-zero for an unknown example name', () => {
    const run = runNode(path.join('examples', 'run-all.js'), ['no_such_example']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('unknown example(s) no_such_example');
  });

  it('uses the package by its name, as a user would', () => {
    for (const file of ['op_directly.js', 'sequential_model.js', 'load_converted_model.js']) {
      const source = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
      expect(source).toContain("require('tfjs-batchnorm-inference')");
      expect(source).toContain("require('@tensorflow/tfjs')");
      expect(source).not.toMatch(/require\(['"]\.\.?\/(src|dist)/);
    }
  });
});
