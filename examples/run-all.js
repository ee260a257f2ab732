#!/usr/bin/env node
/*
 * Runs every example in order, each in its own Node process, with a header
 * per example; exits non-zero if any fails.
 *
 *   npm run examples                         (builds first)
 *   node examples/run-all.js [name ...]      (e.g. op_directly sequential_model)
 *
 * make_converted_model.js writes into a temporary directory here, so running
 * the examples never rewrites the committed examples/data/converted_model/;
 * load_converted_model.js loads the committed files.
 */
'use strict';
const {spawnSync} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function main() {
  const TMP = '<temp dir>';   // replaced by a fresh temporary directory
  const examples = [
    {name: 'op_directly', args: []},
    {name: 'sequential_model', args: []},
    {name: 'make_converted_model', args: [TMP]},
    {name: 'load_converted_model', args: []},
  ];
  const wanted = process.argv.slice(2).map((n) => n.replace(/\.js$/, ''));
  const unknown = wanted.filter((n) => !examples.some((e) => e.name === n));
  if (unknown.length > 0) {
    console.error(`run-all: unknown example(s) ${unknown.join(', ')}; ` +
                  `the examples are ${examples.map((e) => e.name).join(', ')}.`);
    return 2;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    console.error("run-all: dist/index.cjs is missing: run 'npm run build' first " +
                  "('npm run examples' builds and runs the examples).");
    return 2;
  }
  const selected = wanted.length > 0 ? examples.filter((e) => wanted.includes(e.name)) : examples;
  const failed = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-examples-'));
  try {
    selected.forEach(({name, args}, i) => {
      const script = path.join('examples', `${name}.js`);
      console.log(`\n${'='.repeat(78)}\n[${i + 1}/${selected.length}] node ${[script, ...args].join(' ')}` +
                  `\n${'='.repeat(78)}`);
      const started = Date.now();
      const realArgs = args.map((a) => (a === TMP ? tmp : a));
      const result = spawnSync(process.execPath, [script, ...realArgs], {cwd: ROOT, stdio: 'inherit'});
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ok = result.status === 0;
      if (!ok) failed.push(name);
      const how = result.error ? result.error.message :
          result.signal ? `signal ${result.signal}` : `exit code ${result.status}`;
      console.log(`--- ${name}: ${ok ? 'OK' : `FAILED (${how})`} in ${seconds} s`);
    });
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
  const passed = selected.length - failed.length;
  console.log(`\nrun-all: ${passed}/${selected.length} examples passed` +
              (failed.length ? `; failed: ${failed.join(', ')}` : ''));
  return failed.length ? 1 : 0;
}

process.exitCode = main();
