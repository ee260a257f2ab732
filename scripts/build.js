#!/usr/bin/env node
/*
 * Builds dist/:
 *   dist/index.cjs                         CommonJS, tfjs packages external
 *   dist/index.mjs                         ES module, tfjs packages external
 *   dist/types/                            type declarations (tsc)
 *   dist/tfjs-batchnorm-inference(.min).js browser bundle for a <script> tag
 *                                          loaded after tfjs's own bundle; reads
 *                                          the global `tf`, exposes `tfbni`.
 */
'use strict';
const path = require('path');
const fs = require('fs');
const {execFileSync} = require('child_process');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const entry = path.join(root, 'src', 'index.ts');
const tfjsPackages = [
  '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl',
];

// In the browser bundle every tfjs package is the page's global `tf` (the
// union bundle re-exports core, layers and both backends).
const tfGlobalPlugin = {
  name: 'tf-global',
  setup(build) {
    const filter = new RegExp(
        '^(' + tfjsPackages.map((p) => p.replace(/[/.-]/g, '\\$&')).join('|') + ')$');
    build.onResolve({filter}, (args) => ({path: args.path, namespace: 'tf-global'}));
    build.onLoad({filter: /.*/, namespace: 'tf-global'}, () => ({
      contents: 'if (typeof tf === "undefined") { throw new Error(' +
          '"tfjs-batchnorm-inference: load TensorFlow.js (tf.min.js) before this bundle"); }\n' +
          'module.exports = tf;',
      loader: 'js',
    }));
  },
};

async function main() {
  fs.rmSync(dist, {recursive: true, force: true});
  const common = {entryPoints: [entry], bundle: true, target: 'es2019', logLevel: 'warning'};
  await esbuild.build({
    ...common, platform: 'node', format: 'cjs', external: tfjsPackages,
    outfile: path.join(dist, 'index.cjs'), sourcemap: true,
  });
  await esbuild.build({
    ...common, platform: 'neutral', format: 'esm', external: tfjsPackages,
    mainFields: ['module', 'main'], outfile: path.join(dist, 'index.mjs'), sourcemap: true,
  });
  for (const minify of [false, true]) {
    await esbuild.build({
      ...common, platform: 'browser', format: 'iife', globalName: 'tfbni',
      plugins: [tfGlobalPlugin], minify, sourcemap: true,
      outfile: path.join(dist, `tfjs-batchnorm-inference${minify ? '.min' : ''}.js`),
    });
  }
  execFileSync(process.execPath, [
    require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'),
  ], {stdio: 'inherit'});
  console.log('built', fs.readdirSync(dist).join(', '));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
