/**
 * The runnable examples (examples/*.js): each is run with Node, as a user
 * would after `npm run build`; its exit code and one meaningful line are
 * checked. Regenerating the committed converted model
 * (tools/make_converted_model.js) must give the same bytes.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');
const COMMITTED_MODEL = path.join(EXAMPLES, 'data', 'converted_model');

/** Runs `node <script> ...args` from the repository root; fails with its output unless it exits 0. */
function run(script: string, args: string[] = []): string {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 90000, env: {...process.env, NODE_OPTIONS: ''},
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${script} exited with ${result.status}\n--- stdout ---\n${result.stdout}\n` +
                    `--- stderr ---\n${result.stderr}`);
  }
  return result.stdout;
}

const example = (name: string) => run(path.join('examples', name));

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    throw new Error("dist/ is missing: the examples require the built package. Run 'npm run build' " +
                    "first ('npm test' builds it).");
  }
});

it('op_directly.js: the channels-last call gives the formula\'s values', () => {
  // x = 1..8 as [1,2,2,2], channels last; gamma [1,2], beta [0,1], mean [4,5],
  // variance [4,4], epsilon 1e-5: y = gamma * (x - mean) / sqrt(4 + 1e-5) + beta.
  const x = [1, 2, 3, 4, 5, 6, 7, 8];
  const y = x.map((v, i) => {
    const c = i % 2;
    return Math.round(([1, 2][c] * (v - [4, 5][c]) / Math.sqrt(4 + 1e-5) + [0, 1][c]) * 1e4) / 1e4;
  });
  expect(example('op_directly.js')).toContain(`channels last (axis -1): [${y}]`);
});

it('sequential_model.js: the model with the layer predicts the same after save and load', () => {
  expect(example('sequential_model.js'))
      .toContain('reloaded model (BatchNormInference, ReLU) predicts the same: true');
});

it('load_converted_model.js: every BatchNormalization replaced, same predictions', () => {
  const out = example('load_converted_model.js');
  const m = /replaced 3 of 3 BatchNormalization layers; max \|original - converted\| = (\S+)/.exec(out);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeLessThanOrEqual(1e-5);
});

it('every example is short and uses the package by its name', () => {
  for (const file of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.js') && f !== 'run-all.js')) {
    const source = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
    expect({file, short: source.split('\n').length <= 70}).toEqual({file, short: true});
    expect(source).toContain("require('tfjs-batchnorm-inference')");
    expect(source).not.toMatch(/require\(['"]\.\.?\/(src|dist)/);
  }
});

it('run-all.js runs every example, reports each, and shows tfjs\'s banner at most once', () => {
  const names = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.js') && f !== 'run-all.js');
  const result = spawnSync(process.execPath, [path.join('examples', 'run-all.js')], {
    cwd: ROOT, encoding: 'utf8', timeout: 300000, env: {...process.env, NODE_OPTIONS: ''},
  });
  const out = result.stdout;
  expect({status: result.status, stderr: result.stderr}).toEqual({status: 0, stderr: expect.any(String)});
  // tfjs's Node banner: at most once for the whole run.
  expect(result.stderr.split('looks like you are running TensorFlow.js in Node.js').length - 1).toBeLessThanOrEqual(1);
  expect(out).toContain(`run-all: ${names.length}/${names.length} examples passed`);
  for (const name of names) expect(out).toMatch(new RegExp(`^--- ${name.slice(0, -3)}: OK in `, 'm'));
});

it('tools/make_converted_model.js regenerates the committed model byte for byte', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-converted-'));
  try {
    run(path.join('tools', 'make_converted_model.js'), [dir]);
    for (const file of fs.readdirSync(COMMITTED_MODEL)) {
      const same = fs.readFileSync(path.join(dir, file)).equals(fs.readFileSync(path.join(COMMITTED_MODEL, file)));
      // If tfjs was upgraded (model.json records its version): regenerate and commit.
      expect({file, same}).toEqual({file, same: true});
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
