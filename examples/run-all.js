#!/usr/bin/env node
/*
 * Runs every example (examples/*.js), each in its own Node process, with a
 * header each; exits non-zero if any fails. tfjs prints its Node banner
 * ("Hi, looks like you are running TensorFlow.js in Node.js ...") once per
 * process; it is shown for the first example only.
 *
 *   npm run examples                         (builds first)
 *   node examples/run-all.js [name ...]      (e.g. op_directly sequential_model)
 */
'use strict';
const {spawnSync} = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
// The basics first, then any other example (fold_model, train_model, ...) by name.
const FIRST = ['op_directly', 'sequential_model', 'load_converted_model'];
/** tfjs-backend-cpu's first-use banner, as it writes it to stderr (console.warn). */
const BANNER = /\n?=+\nHi, looks like you are running TensorFlow\.js in Node\.js[^\n]*\n=+\n?/g;

function allExamples() {
  const names = fs.readdirSync(__dirname).filter((f) => f.endsWith('.js') && f !== 'run-all.js')
                    .map((f) => f.slice(0, -3));
  const rank = (n) => (FIRST.includes(n) ? FIRST.indexOf(n) : FIRST.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function main() {
  const examples = allExamples();
  const wanted = process.argv.slice(2).map((n) => path.basename(n).replace(/\.js$/, ''));
  const unknown = wanted.filter((n) => !examples.includes(n));
  if (unknown.length > 0) {
    console.error(`run-all: unknown example(s) ${unknown.join(', ')}; the examples are ${examples.join(', ')}.`);
    return 2;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    console.error("run-all: dist/index.cjs is missing: run 'npm run build' first " +
                  "('npm run examples' builds and runs the examples).");
    return 2;
  }
  const selected = wanted.length > 0 ? wanted : examples;
  const failed = [];
  let bannerShown = false;
  selected.forEach((name, i) => {
    const script = path.join('examples', `${name}.js`);
    console.log(`\n${'='.repeat(78)}\n[${i + 1}/${selected.length}] node ${script}\n${'='.repeat(78)}`);
    const started = Date.now();
    const result = spawnSync(process.execPath, [script], {cwd: ROOT, stdio: ['inherit', 'inherit', 'pipe']});
    let stderr = result.stderr ? result.stderr.toString() : '';
    if (bannerShown) stderr = stderr.replace(BANNER, '');
    bannerShown = bannerShown || BANNER.test(stderr);
    BANNER.lastIndex = 0;
    process.stderr.write(stderr);
    const how = result.error ? result.error.message :
        result.signal ? `signal ${result.signal}` : `exit code ${result.status}`;
    if (result.status !== 0) failed.push(name);
    console.log(`--- ${name}: ${result.status === 0 ? 'OK' : `FAILED (${how})`} in ` +
                `${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  console.log(`\nrun-all: ${selected.length - failed.length}/${selected.length} examples passed` +
              (failed.length ? `; failed: ${failed.join(', ')}` : ''));
  return failed.length ? 1 : 0;
}

process.exitCode = main();
