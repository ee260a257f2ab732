/**
 * The package as npm publishes it: what the tarball holds, that its types
 * resolve for require and import (@arethetypeswrong/cli), that the dist
 * bundles are reachable through "exports", the peer dependencies, and the
 * install test (tools/pack_smoke.js): the tarball added with a second
 * `npm install` to projects that already have @tensorflow/tfjs 4.0.0, 4.10.0
 * and 4.22.0 (and in one command beside 4.22.0), one tfjs-core in each tree,
 * used by its name on the cpu backend. Needs dist/ (npm test builds it) and,
 * for the first run, the npm registry (later runs use .tmp/npm-cache).
 */
import {execFileSync, spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

beforeAll(() => {
  if (!fs.existsSync(path.join(DIST, 'index.cjs'))) {
    throw new Error("dist/ is missing: run 'npm run build' first ('npm test' builds it).");
  }
});

/** Runs a Node snippet from the repository root (the package resolves itself by name). */
function nodeEval(code: string, type: 'commonjs'|'module' = 'commonjs'): string {
  const result = spawnSync(process.execPath, ['--input-type', type, '-e', code],
                           {cwd: ROOT, encoding: 'utf8', env: {...process.env, NODE_OPTIONS: ''}});
  if (result.status !== 0) throw new Error(`node -e failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout.trim();
}

describe('the packed files', () => {
  let files: string[];
  beforeAll(() => {
    const out = execFileSync(NPM, ['pack', '--dry-run', '--json', '--silent'], {cwd: ROOT, encoding: 'utf8'});
    files = (JSON.parse(out)[0].files as Array<{path: string}>).map((f) => f.path).sort();
  });

  it('holds the entry points, declarations, bundles, example data, README, LICENSE and CHANGELOG', () => {
    for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.cjs',
                        'examples/data/matlab_batchnorm.json', 'examples/data/converted_model/model.json',
                        'examples/data/converted_model/group1-shard1of1.bin',
                        'dist/index.mjs', 'dist/index.d.cts', 'dist/index.d.mts',
                        'dist/types/src/index.d.ts', 'dist/tfjs-batchnorm-inference.js',
                        'dist/tfjs-batchnorm-inference.min.js']) {
      expect(files).toContain(file);
    }
  });

  it('ships no source maps, sources, tests, tools, example scripts or kernel declarations', () => {
    // Of dist/types/kernels/ only kernel_names.d.ts is reachable from dist/index.d.*ts; the
    // backends' folders import the types of the wasm and webgpu backends, not dependencies.
    expect(files.filter((f) => /\.map$|^(src|kernels|test|tools|bench)\/|^dist\/types\/kernels\/.*\//.test(f) ||
                               (f.startsWith('examples/') && !f.startsWith('examples/data/')))).toEqual([]);
  });

  it('ships the command line tool with a shebang when there is one', () => {
    expect(PKG.bin).toEqual({'tfjs-batchnorm-inference': 'dist/cli.cjs'});
    if (fs.existsSync(path.join(ROOT, 'src', 'cli', 'main.ts'))) {
      expect(files).toContain('dist/cli.cjs');
      expect(fs.readFileSync(path.join(DIST, 'cli.cjs'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    }
  });
});

describe('the build', () => {
  it('writes source maps without sourcesContent', () => {
    const maps = fs.readdirSync(DIST).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThanOrEqual(4);
    for (const map of maps) {
      expect({map, sourcesContent: JSON.parse(fs.readFileSync(path.join(DIST, map), 'utf8')).sourcesContent})
          .toEqual({map, sourcesContent: undefined});
    }
  });

  it('takes every @tensorflow/* package from the page\'s global tf in the browser bundles', () => {
    const {BROWSER_GLOBALS} = require('../tools/build.js') as {BROWSER_GLOBALS: string[]};
    expect(BROWSER_GLOBALS).toEqual(expect.arrayContaining(
        ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu',
         '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu']));
    for (const bundle of ['tfjs-batchnorm-inference.js', 'tfjs-batchnorm-inference.min.js']) {
      const text = fs.readFileSync(path.join(DIST, bundle), 'utf8');
      expect(text).not.toMatch(/require\(["']@tensorflow/);
      expect(text).toContain('load TensorFlow.js (tf.min.js)');
    }
  });
});

describe('resolution', () => {
  it('reaches the browser bundles through exports', () => {
    expect(nodeEval("console.log(require.resolve('tfjs-batchnorm-inference/dist/tfjs-batchnorm-inference.min.js'))"))
        .toBe(path.join(DIST, 'tfjs-batchnorm-inference.min.js'));
  });

  it('loads dist/index.cjs for require and dist/index.mjs for import', () => {
    expect(nodeEval("console.log(require.resolve('tfjs-batchnorm-inference'))")).toBe(path.join(DIST, 'index.cjs'));
    expect(nodeEval("console.log(import.meta.resolve('tfjs-batchnorm-inference'))", 'module'))
        .toBe(`file://${path.join(DIST, 'index.mjs')}`);
    expect(nodeEval("import {batchNormInference} from 'tfjs-batchnorm-inference'; " +
                    'console.log(typeof batchNormInference)', 'module')).toBe('function');
  });

  it('has types that resolve for require and import (arethetypeswrong finds no problem)', () => {
    const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'attw'), ['--pack', '.', '--format', 'json'],
                             {cwd: ROOT, encoding: 'utf8'});
    const report = JSON.parse(result.stdout);
    // attw's JSON: problems grouped by kind at the top level, and listed in analysis.
    expect(report.problems).toEqual({});
    expect(report.analysis.problems).toEqual([]);
    expect(Object.keys(report.analysis.entrypoints)).toContain('.');
    expect(result.status).toBe(0);
  });
});

describe('the peer dependencies', () => {
  it('are what the code needs at run time, all part of @tensorflow/tfjs, with one ^4 range', () => {
    // core and layers: the op, the layer, the model tools; backend-cpu: the CLI imports it;
    // converter: GraphModels. Not wasm/webgpu/webgl: the code imports only their types, and an
    // optional peer makes npm resolve the newest backend, which pins the newest tfjs-core.
    expect(Object.keys(PKG.peerDependencies).sort()).toEqual(
        ['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-core',
         '@tensorflow/tfjs-layers']);
    expect(PKG.peerDependenciesMeta).toBeUndefined();
    const ranges = new Set(Object.values(PKG.peerDependencies as Record<string, string>));
    expect([...ranges]).toEqual(['^4.0.0']);
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'install.md'), 'utf8')).toContain('`^4.0.0`');
  });

  it('hold: the tarball added to projects with tfjs 4.0.0, 4.10.0, 4.22.0 (and in one command)', async () => {
    const {DEFAULT_VERSIONS, SINGLE_COMMAND_VERSION} = require('../tools/pack_smoke.js') as
        {DEFAULT_VERSIONS: string[], SINGLE_COMMAND_VERSION: string};
    expect(DEFAULT_VERSIONS).toEqual(['4.0.0', '4.10.0', '4.22.0']);
    const result = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'pack_smoke.js')],
                             {cwd: ROOT, encoding: 'utf8', timeout: 580000});
    if (result.status !== 0) throw new Error(`pack smoke failed:\n${result.stdout}\n${result.stderr}`);
    for (const version of DEFAULT_VERSIONS) {
      expect(result.stdout).toContain(
          `npm install @tensorflow/tfjs@${version}; npm install <tarball>: pack smoke OK: tfjs ${version}, ` +
          `tfjs-batchnorm-inference ${PKG.version}; npm ls: one tfjs-core ${version} at node_modules/@tensorflow/tfjs-core`);
    }
    expect(result.stdout).toContain(
        `npm install <tarball> @tensorflow/tfjs@${SINGLE_COMMAND_VERSION}: pack smoke OK: tfjs ${SINGLE_COMMAND_VERSION}`);
    expect(result.stdout).toContain('pack smoke: 4/4 installs passed');
  }, 600000);
});
