/**
 * docs/typescript.md as a contract: a project with @tensorflow/tfjs 4.22.0
 * and the packed tarball (and NOT the wasm or webgpu backends, which are not
 * dependencies) type-checks the page's TypeScript file under each of the
 * page's three tsconfig files (CommonJS, nodenext, bundler), with this
 * repository's TypeScript. And every declaration file the package ships
 * compiles with --strict and WITHOUT skipLibCheck: the errors that remain
 * are all in tfjs's own .d.ts files, none in this package's. (@types/node is
 * there: @tensorflow/tfjs's dependencies install it.)
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {codeBlocks} from './helpers/markdown';

const ROOT = path.resolve(__dirname, '..');
const CONSUMER = path.join(ROOT, '.tmp', 'ts-consumer');
const TSC = require.resolve('typescript/bin/tsc');
const packSmoke = require('../tools/pack_smoke.js');

const BLOCKS = codeBlocks(ROOT, 'docs/typescript.md');
const CONFIGS = BLOCKS.filter((b) => b.lang === 'json');
const SOURCES = BLOCKS.filter((b) => b.lang === 'ts');

function tsc(cwd: string, args: string[]): {status: number|null, out: string} {
  const r = spawnSync(process.execPath, [TSC, ...args], {cwd, encoding: 'utf8', timeout: 240000});
  return {status: r.status, out: `${r.stdout}${r.stderr}`};
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    throw new Error("dist/ is missing: run 'npm run build' first ('npm test' builds it).");
  }
  const tarball = await packSmoke.pack(path.join(ROOT, '.tmp', 'ts-pack'));
  packSmoke.makeConsumer(CONSUMER);
  await packSmoke.npmInstall(CONSUMER, ['@tensorflow/tfjs@4.22.0']);
  await packSmoke.npmInstall(CONSUMER, [tarball]);
}, 300000);

it('the page has the three configs (commonjs, nodenext, bundler) and one file', () => {
  expect(CONFIGS.map((b) => JSON.parse(b.code).compilerOptions.module)).toEqual(['commonjs', 'nodenext', 'esnext']);
  expect(CONFIGS.map((b) => JSON.parse(b.code).compilerOptions.skipLibCheck)).toEqual([true, true, true]);
  expect(SOURCES.length).toBe(1);
});

it('the consumer has no wasm or webgpu backend installed', () => {
  for (const name of ['tfjs-backend-wasm', 'tfjs-backend-webgpu']) {
    expect(fs.existsSync(path.join(CONSUMER, 'node_modules', '@tensorflow', name))).toBe(false);
  }
});

it.each(['commonjs', 'nodenext', 'bundler'].map((name, i) => [name, i] as const))(
    'the page\'s file type-checks with the %s tsconfig', (name, i) => {
      const dir = path.join(CONSUMER, name);
      fs.mkdirSync(dir, {recursive: true});
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), CONFIGS[i].code);
      fs.writeFileSync(path.join(dir, 'index.ts'), SOURCES[0].code);
      if (name === 'nodenext') fs.writeFileSync(path.join(dir, 'index.mts'), SOURCES[0].code);  // the import condition
      const {status, out} = tsc(dir, ['-p', '.']);
      expect({name, out}).toEqual({name, out: ''});
      expect(status).toBe(0);
    }, 240000);

it('every shipped .d.ts compiles with --strict and without skipLibCheck (errors only in tfjs\'s own)', () => {
  const dir = path.join(CONSUMER, 'all-declarations');
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {target: 'ES2019', module: 'nodenext', moduleResolution: 'nodenext', strict: true,
                      skipLibCheck: false, noEmit: true},
    include: ['../node_modules/tfjs-batchnorm-inference/dist/**/*.d.ts',
              '../node_modules/tfjs-batchnorm-inference/dist/**/*.d.cts',
              '../node_modules/tfjs-batchnorm-inference/dist/**/*.d.mts'],
  }));
  const {out} = tsc(dir, ['-p', '.', '--pretty', 'false']);
  const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
  const ours = errors.filter((l) => l.includes('node_modules/tfjs-batchnorm-inference/'));
  expect(ours).toEqual([]);
  expect(errors.every((l) => l.includes('node_modules/@tensorflow/'))).toBe(true);
  // What docs/typescript.md says skipLibCheck is for (the count is TypeScript's and tfjs's).
  console.log(`without skipLibCheck: ${errors.length} errors, all in @tensorflow/*'s declarations`);
}, 240000);
