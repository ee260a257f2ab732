/**
 * The package's switches (kernels/flags.ts): each is a tfjs env flag,
 * registered by importing the package (src/register.ts, the one registration
 * place), read with env().getBool, registered once and silently however many
 * times registration runs, by this copy of the package or another.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {CPU_WASM_FLAG, FLAGS, registerFlags, WEBGPU_VEC4_FLAG} from '../kernels/flags';
import {registerBatchNormInference} from '../src';
import {bundleSync} from './helpers/bundle';

const ROOT = path.join(__dirname, '..');

afterEach(() => {
  for (const [name, value] of Object.entries(FLAGS)) tf.env().set(name, value);
});

describe('the flags', () => {
  it('are the ones in the table of docs/CONTRIBUTING.md, with their defaults', () => {
    expect(FLAGS[CPU_WASM_FLAG]).toBe(true);
    expect(FLAGS[WEBGPU_VEC4_FLAG]).toBe(true);
    const text = fs.readFileSync(path.join(ROOT, 'docs', 'CONTRIBUTING.md'), 'utf8');
    const table: Record<string, boolean> = {};
    const row = /^\| `(TFBNI_\w+)` \| `(true|false)` \|/gm;
    for (let m = row.exec(text); m !== null; m = row.exec(text)) table[m[1]] = m[2] === 'true';
    expect(table).toEqual(FLAGS);
  });

  it('are registered by importing the package, before any backend is set, and can be set then', () => {
    // A fresh Node process: bundle src/index.ts (tfjs external) and import it.
    const bundle = bundleSync({
      entryPoints: [path.join(ROOT, 'src', 'index.ts')], bundle: true, platform: 'node',
      format: 'cjs', packages: 'external', write: false, logLevel: 'silent',
    }).outputFiles[0].text;
    const file = path.join(ROOT, 'test', 'artifacts', 'flag_probe_bundle.cjs');
    fs.mkdirSync(path.dirname(file), {recursive: true});
    fs.writeFileSync(file, bundle);
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      require('@tensorflow/tfjs-backend-cpu');
      const pkg = require(${JSON.stringify(file)});
      const afterImport = {...tf.env().getFlags()};
      tf.env().set('TFBNI_CPU_WASM', false);
      tf.setBackend('cpu').then(() => {
        const y = pkg.batchNormInference(tf.ones([1, 2]), [1, 1], [0, 0], [0, 0], [1, 1], {epsilon: 1e-3});
        console.log(JSON.stringify({
          cpu: afterImport.TFBNI_CPU_WASM, webgpu: afterImport.TFBNI_WEBGPU_VEC4,
          value: tf.env().getBool('TFBNI_CPU_WASM'), y: Array.from(y.dataSync())}));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], {cwd: ROOT, encoding: 'utf8'});
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toMatchObject({cpu: true, webgpu: true, value: false});
    expect(result.y[0]).toBeCloseTo(1 / Math.sqrt(1 + 1e-3), 6);
  });

  it('registering again, or a second copy of the package, prints nothing and keeps the values set', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      tf.env().set(CPU_WASM_FLAG, false);
      tf.env().set(WEBGPU_VEC4_FLAG, false);
      registerFlags();
      registerBatchNormInference();
      // the built CommonJS file: a second copy sharing this tfjs-core
      // (`npm test` builds dist/ first)
      require('../dist/index.cjs');
      expect(tf.env().getBool(CPU_WASM_FLAG)).toBe(false);
      expect(tf.env().getBool(WEBGPU_VEC4_FLAG)).toBe(false);
      expect(warn).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });

});
