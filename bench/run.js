#!/usr/bin/env node
/*
 * npm run bench: the cpu benchmark in Node, then the webgl benchmark in
 * headless Chromium (SwiftShader on a machine without a GPU).
 *
 *   node bench/run.js [--cpu] [--webgl] [--reps N] [--json FILE] [--chart FILE]
 *
 * --cpu / --webgl run one of them; --json writes the raw results, --chart an
 * SVG bar chart (ns per element) of both. Needs dist/ (npm run bench builds).
 */
'use strict';
const fs = require('fs');
const {renderChart} = require('./chart');

const args = process.argv.slice(2);
const valueOf = (flag) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const wantCpu = args.includes('--cpu') || !args.includes('--webgl');
const wantWebgl = args.includes('--webgl') || !args.includes('--cpu');
const reps = valueOf('--reps') ? Number(valueOf('--reps')) : undefined;

async function main() {
  const results = {};
  if (wantCpu) {
    const {runCpuBench, formatCpuTable} = require('./cpu');
    console.log('\n## cpu\n');
    results.cpu = await runCpuBench(reps ? {reps} : {});
    console.log(formatCpuTable(results.cpu));
  }
  if (wantWebgl) {
    const {runWebglBench, formatTable} = require('./webgl');
    console.log('\n## webgl\n');
    const started = Date.now();
    results.webgl = await runWebglBench({
      ...(reps ? {repeats: reps} : {}),
      onProgress: (m) => process.stderr.write(`  ${m}\n`),
    });
    console.log(formatTable(results.webgl));
    console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (valueOf('--json')) fs.writeFileSync(valueOf('--json'), JSON.stringify(results, null, 2) + '\n');
  if (valueOf('--chart')) {
    const label = (r) => `[${r.shape}] axis ${r.axis}`;
    const panels = [];
    if (results.cpu) {
      panels.push({
        title: `cpu backend (Node ${results.cpu.node})`, baselineLabel: 'copy (cpu)',
        rows: results.cpu.rows.map((r) => ({
          label: label(r), ours: r.oursNs, batchNorm: r.batchNormNs, baseline: r.copyNs,
        })),
      });
    }
    if (results.webgl) {
      const ns = (r, ms) => ms * 1e6 / r.size;
      panels.push({
        title: `webgl backend (${/swiftshader/i.test(results.webgl.renderer) ?
            'SwiftShader: software GL, relative timings only' : results.webgl.renderer.slice(0, 70)})`,
        baselineLabel: 'tf.add(x, 0) (webgl)',
        rows: results.webgl.rows.map((r) => ({
          label: label(r), ours: ns(r, r.ours), batchNorm: ns(r, r.batchNorm),
          baseline: ns(r, r.identity),
        })),
      });
    }
    fs.writeFileSync(valueOf('--chart'), renderChart(panels));
    console.log(`\nchart written to ${valueOf('--chart')}`);
  }
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
