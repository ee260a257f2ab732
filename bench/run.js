#!/usr/bin/env node
/*
 * npm run bench: the cpu benchmark in Node, then the webgl benchmark in
 * headless Chromium (SwiftShader here). Pass --cpu or --webgl to run one;
 * other arguments (--json, --reps N) go to both.
 */
'use strict';
const {spawnSync} = require('child_process');
const path = require('path');

const args = process.argv.slice(2);
const only = ['--cpu', '--webgl'].filter((a) => args.includes(a));
const rest = args.filter((a) => !only.includes(a));
const suites = only.length ? only.map((a) => a.slice(2)) : ['cpu', 'webgl'];

let failed = false;
for (const suite of suites) {
  console.log(`\n## ${suite}\n`);
  const r = spawnSync(process.execPath, [path.join(__dirname, `${suite}.js`), ...rest],
                      {stdio: 'inherit'});
  if (r.status !== 0) {
    console.error(`bench/${suite}.js failed (exit ${r.status})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
