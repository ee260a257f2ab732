/**
 * The long fuzz run (`npm run fuzz:long`; not a jest suite: tools/fuzz_long.js
 * bundles and runs this file): seeded cases (test/helpers/fuzz.ts) through
 * the SIMD core in every layout whose table fits (kernels/cpu/batch_norm_simd.ts,
 * the path both the cpu and the wasm kernel take), each element compared bit
 * for bit with the exact reference (test/helpers/exact.ts). Counts the
 * elements that left the fast path: those failing the core's certificate
 * (their group is computed again with the error interval) and those the
 * interval flags (rounded exactly, kernels/shared/exact_round.ts).
 *
 *     node tools/fuzz_long.js [--cases N] [--seed S]
 */
import {batchNormSimd, MAX_TABLE_BYTES} from '../kernels/cpu/batch_norm_simd';
import {channelBlocks} from '../kernels/shared/channel_axis';
import {channelTerms, ERROR_FACTOR} from '../kernels/shared/rounded_batch_norm';
import {certificateWord, CoreLayout, ENTRY_BYTES, periodOf} from '../kernels/shared/simd/batch_norm_core';
import {exactBatchNorm, firstBitDifference} from './helpers/exact';
import {fuzzCase} from './helpers/fuzz';

const words = new DataView(new ArrayBuffer(8));

/** Whether y64 of shift b passes the core's certificate (batch_norm_core.wat), in JS. */
function passesCertificate(y: number, b: number): boolean {
  words.setFloat64(0, y);
  const hi = words.getUint32(0) & 0x7fffffff;
  const low29 = words.getUint32(4) & 0x1fffffff;
  return hi < 0x7ff00000 && hi + 0x100000 >= certificateWord(b) &&
      Math.abs(low29 - 2 ** 28) > 2 ** 13;
}

export function runLongFuzz(cases: number, seed: number, log: (line: string) => void): number {
  const stats = {seed, cases: 0, elements: 0, layoutsRun: 0, certificateFailures: 0, exactPath: 0};
  const started = Date.now();
  for (let index = 0; index < cases; index++) {
    const c = fuzzCase(seed, index);
    const d = {
      shape: c.shape, axis: c.axis, epsilon: c.epsilon, x: Float32Array.from(c.x),
      gamma: Float32Array.from(c.gamma), beta: Float32Array.from(c.beta),
      mean: Float32Array.from(c.mean), variance: Float32Array.from(c.variance),
    };
    const rank = d.shape.length;
    const {channels, inner} = channelBlocks(d.shape, d.axis < 0 ? d.axis + rank : d.axis);
    const terms = channelTerms(d.gamma, d.beta, d.mean, d.variance, d.epsilon);
    const exact = exactBatchNorm(d);
    const layouts: CoreLayout[] = [{kind: 'runs', channels, inner}];
    const period = periodOf(channels, inner);
    if (ENTRY_BYTES * period <= MAX_TABLE_BYTES) layouts.push({kind: 'periodic', period, channels, inner});
    for (const layout of layouts) {
      const out = new Float32Array(d.x.length);
      if (!batchNormSimd(layout, d.x, out, terms)) throw new Error('the SIMD core does not run here');
      const difference = firstBitDifference(out, exact);
      if (difference !== null) {
        log(`MISMATCH case ${c.id} shape [${c.shape}] axis ${c.axis} epsilon ${c.epsilon}, ` +
            `SIMD ${layout.kind}: ${difference}`);
        return 1;
      }
      stats.layoutsRun++;
    }
    for (let i = 0; i < d.x.length; i++) {
      const ch = Math.floor(i / inner) % channels;
      const p = (d.x[i] - terms.m[ch]) * terms.s[ch];
      const y = p + terms.b[ch];
      if (!passesCertificate(y, terms.b[ch])) stats.certificateFailures++;
      const err = (Math.abs(p) + Math.abs(y)) * ERROR_FACTOR;
      if (!Object.is(Math.fround(y - err), Math.fround(y + err))) stats.exactPath++;
    }
    stats.cases++;
    stats.elements += d.x.length;
    if ((index + 1) % 10000 === 0) {
      log(`${index + 1} cases, ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(stats)}`);
    }
  }
  log(`fuzz:long done, every element bit for bit equal to the exact reference: ${JSON.stringify(stats)}`);
  return 0;
}
