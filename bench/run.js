#!/usr/bin/env node
/*
 * npm run bench: every benchmark there is, in one process: per op on cpu and
 * wasm (Node), on webgl and webgpu (headless Chromium), and whole models.
 * Each runs when its module exists in bench/ (a missing one is reported and
 * skipped, unless asked for by its flag).
 *
 *   node bench/run.js [--cpu] [--wasm] [--webgl] [--webgpu] [--models]
 *                     [--models-on cpu,wasm,webgl,webgpu] [--reps N] [--json FILE] [--chart FILE]
 *
 * No flag: all of them. --models-on picks the backends of the models bench
 * (default all four); --reps overrides each bench's repetitions; --json writes
 * the raw results, --chart an SVG bar chart (ns per element) of the per-op
 * benches. Needs dist/ (npm run bench builds).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const {renderChart} = require('./chart');

/** The benches: module in bench/, its run and format functions, how --reps is passed. */
const BENCHES = [
  {name: 'cpu', file: 'cpu.js', run: 'runCpuBench', format: 'formatCpuTable', reps: 'reps'},
  {name: 'wasm', file: 'wasm.js', run: 'runWasmBench', format: 'formatWasmTable', reps: 'reps'},
  {name: 'webgl', file: 'webgl.js', run: 'runWebglBench', format: 'formatTable', reps: 'repeats', browser: true},
  {name: 'webgpu', file: 'webgpu.js', run: 'runWebgpuBench', format: 'formatWebgpuTable', reps: 'repeats',
   browser: true},
  {name: 'models', file: 'models.js', run: 'runModelsBench', format: 'formatModelsTable', reps: 'reps'},
];

function parseArgs(argv) {
  const valueOf = (flag) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const picked = BENCHES.filter((b) => argv.includes(`--${b.name}`)).map((b) => b.name);
  const known = new Set([...BENCHES.map((b) => `--${b.name}`), '--models-on', '--reps', '--json', '--chart']);
  const unknown = argv.filter((a, i) => a.startsWith('--') && !known.has(a) &&
                                        !['--models-on', '--reps', '--json', '--chart'].includes(argv[i - 1]));
  if (unknown.length) throw new Error(`unknown option ${unknown[0]}; options: ${[...known].join(' ')}`);
  return {
    picked,
    reps: valueOf('--reps') ? Number(valueOf('--reps')) : undefined,
    modelsOn: (valueOf('--models-on') || 'cpu,wasm,webgl,webgpu').split(','),
    json: valueOf('--json'),
    chart: valueOf('--chart'),
  };
}

const progress = (m) => process.stderr.write(`  ${m}\n`);

async function runOne(bench, args) {
  const mod = require(path.join(__dirname, bench.file));
  const options = args.reps ? {[bench.reps]: args.reps} : {};
  if (bench.browser) options.onProgress = progress;
  if (bench.name !== 'models') return {[bench.name]: await mod[bench.run](options)};
  const out = {};
  for (const backend of args.modelsOn) {
    console.log(`\n### models on ${backend}\n`);
    out[backend] = await mod[bench.run]({...options, backend, onProgress: progress});
    console.log(mod[bench.format](out[backend]));
  }
  return {models: out};
}

/** Chart panels (ns per element) for the per-op benches whose results are known here. */
function chartPanels(results) {
  const label = (r) => `[${r.shape}] axis ${r.axis}`;
  const panels = [];
  if (results.cpu) {
    panels.push({title: `cpu backend (Node ${results.cpu.node})`, baselineLabel: 'copy (cpu)',
                 rows: results.cpu.rows.map((r) => ({label: label(r), ours: r.oursNs, batchNorm: r.batchNormNs,
                                                     baseline: r.copyNs}))});
  }
  if (results.wasm) {
    panels.push({title: `wasm backend (Node ${results.wasm.node})`, baselineLabel: 'copy (wasm)',
                 rows: results.wasm.rows.map((r) => ({label: label(r), ours: r.ours.medianNs,
                                                      batchNorm: r.batchNorm.medianNs, baseline: r.copy.medianNs}))});
  }
  for (const name of ['webgl', 'webgpu']) {
    const res = results[name];
    if (!res || !res.rows.every((r) => [r.ours, r.batchNorm, r.identity, r.size].every(Number.isFinite))) continue;
    const ns = (r, ms) => ms * 1e6 / r.size;
    const renderer = String(res.renderer || res.adapter || '');
    panels.push({
      title: `${name} backend (${/swiftshader/i.test(renderer) ? 'SwiftShader: software, relative timings only' :
                                 renderer.slice(0, 70)})`,
      baselineLabel: `tf.add(x, 0) (${name})`,
      rows: res.rows.map((r) => ({label: label(r), ours: ns(r, r.ours), batchNorm: ns(r, r.batchNorm),
                                  baseline: ns(r, r.identity)})),
    });
  }
  return panels;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const wanted = args.picked.length ? args.picked : BENCHES.map((b) => b.name);
  const results = {};
  for (const bench of BENCHES.filter((b) => wanted.includes(b.name))) {
    if (!fs.existsSync(path.join(__dirname, bench.file))) {
      if (args.picked.includes(bench.name)) throw new Error(`bench/${bench.file} does not exist`);
      console.log(`\n## ${bench.name}: skipped (no bench/${bench.file})`);
      continue;
    }
    console.log(`\n## ${bench.name}\n`);
    const started = Date.now();
    Object.assign(results, await runOne(bench, args));
    if (bench.name !== 'models') {
      console.log(require(path.join(__dirname, bench.file))[bench.format](results[bench.name]));
    }
    console.log(`(${bench.name}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (args.json) fs.mkdirSync(path.dirname(path.resolve(args.json)), {recursive: true});
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
  if (args.chart) {
    fs.writeFileSync(args.chart, renderChart(chartPanels(results)));
    console.log(`\nchart written to ${args.chart}`);
  }
}

module.exports = {BENCHES, parseArgs, chartPanels};

if (require.main === module) {
  main().catch((e) => {
    console.error(`bench/run.js: ${/^(unknown option|bench\/)/.test(e.message) ? e.message : e.stack}`);
    process.exit(1);
  });
}
