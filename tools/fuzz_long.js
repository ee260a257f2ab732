#!/usr/bin/env node
/*
 * npm run fuzz:long: bundles test/fuzz_long.ts with esbuild (a dev
 * dependency) into a temporary file and runs it: >= 1e5 seeded fuzz cases
 * through the SIMD core against the exact reference, printing how many
 * elements left the fast path. Not part of npm test (it takes minutes).
 *
 *   node tools/fuzz_long.js [--cases N] [--seed S]     (default 100000, 20261206)
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const esbuild = require('esbuild');

const args = process.argv.slice(2);
const valueOf = (flag, fallback) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : fallback);
const cases = valueOf('--cases', 100000);
const seed = valueOf('--seed', 20261206);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-fuzz-'));
const bundle = path.join(dir, 'fuzz_long.cjs');
try {
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, '..', 'test', 'fuzz_long.ts')], bundle: true,
    platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error',
  });
  const {runLongFuzz} = require(bundle);
  console.log(`fuzz:long: ${cases} cases, seed ${seed}, node ${process.version}`);
  process.exitCode = runLongFuzz(cases, seed, (line) => console.log(line));
} finally {
  fs.rmSync(dir, {recursive: true, force: true});
}
