/**
 * Exactness of the cpu kernel: on seeded fuzz cases (test/helpers/fuzz.ts),
 * every element of every path (the JS loop, the SIMD core in each layout whose
 * table fits, the op with TFBNI_CPU_WASM on and off) equals the exact nearest
 * float32 (test/helpers/exact.ts) bit for bit: -0 and +0 distinguished, NaN
 * where the formula gives NaN; and the op leaks nothing. Named reproductions
 * of bugs the float64-only kernel had come first.
 *
 *     TFBNI_FUZZ_CASES=100000 npx jest test/fuzz_cpu.test.ts   (a long run)
 *     npm run fuzz:long   (1e5 cases through the SIMD core alone, counting the
 *                          elements off its fast path: test/fuzz_long.ts)
 */
import * as tf from '@tensorflow/tfjs';

import {CPU_WASM_FLAG} from '../kernels/flags';
import {batchNormSimd, MAX_TABLE_BYTES} from '../kernels/cpu/batch_norm_simd';
import {channelBlocks} from '../kernels/shared/channel_axis';
import {channelTerms, ERROR_FACTOR, roundedBatchNorm} from '../kernels/shared/rounded_batch_norm';
import {CoreLayout, ENTRY_BYTES, periodOf} from '../kernels/shared/simd/batch_norm_core';
import {batchNormInference} from '../src';
import {Float32Inputs, runCpuOp} from './helpers/cpu_op';
import {exactBatchNorm, ExactInputs, firstBitDifference, ulpDistance} from './helpers/exact';
import {fuzzCase} from './helpers/fuzz';
import {expectNoLeaks} from './helpers/leaks';

const CASES = Number(process.env.TFBNI_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.TFBNI_FUZZ_SEED ?? 20261201);
const BATCH = 250;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => tf.env().set(CPU_WASM_FLAG, true));

function float32Inputs(d: ExactInputs): Float32Inputs {
  return {
    ...d, x: Float32Array.from(d.x), gamma: Float32Array.from(d.gamma),
    beta: Float32Array.from(d.beta), mean: Float32Array.from(d.mean),
    variance: Float32Array.from(d.variance),
  };
}

/** Each path's output, by name. */
function allPaths(d: Float32Inputs): Array<[string, Float32Array]> {
  const rank = d.shape.length;
  const {outer, channels, inner} = channelBlocks(d.shape, d.axis < 0 ? d.axis + rank : d.axis);
  const terms = channelTerms(d.gamma, d.beta, d.mean, d.variance, d.epsilon);
  const js = new Float32Array(d.x.length);
  roundedBatchNorm(d.x, js, terms, outer, channels, inner);
  const paths: Array<[string, Float32Array]> = [['JS loop', js]];
  const layouts: CoreLayout[] = [{kind: 'runs', channels, inner}];
  const period = periodOf(channels, inner);
  if (ENTRY_BYTES * period <= MAX_TABLE_BYTES) layouts.push({kind: 'periodic', period, channels, inner});
  for (const layout of layouts) {
    const out = new Float32Array(d.x.length);
    expect(batchNormSimd(layout, d.x, out, terms)).toBe(true);
    paths.push([`SIMD ${layout.kind}`, out]);
  }
  paths.push(['op, TFBNI_CPU_WASM on', runCpuOp(d, true)], ['op, TFBNI_CPU_WASM off', runCpuOp(d, false)]);
  return paths;
}

/** Checks every path against the exact reference; returns the largest distance in ulps (0). */
function expectExact(d: Float32Inputs, label: string): {exact: Float32Array, maxUlp: number} {
  const exact = exactBatchNorm(d);
  let maxUlp = 0;
  for (const [path, out] of allPaths(d)) {
    const difference = firstBitDifference(out, exact);
    if (difference !== null) throw new Error(`${label}, ${path}: ${difference}`);
    for (let i = 0; i < exact.length; i++) maxUlp = Math.max(maxUlp, ulpDistance(out[i], exact[i]));
  }
  return {exact, maxUlp};
}

/** A one-element case through every path; returns the exact value. */
function single(x: number, gamma: number, beta: number, mean: number, variance: number,
                epsilon: number): number {
  const d = float32Inputs({shape: [1, 1], axis: 1, epsilon, x: [x], gamma: [gamma], beta: [beta],
                           mean: [mean], variance: [variance]});
  let exact = NaN;
  for (const [path, out] of allPaths(d)) {
    if (path === 'JS loop') exact = out[0];
    expect([path, out[0]]).toEqual([path, exact]);
    expect([path, Object.is(out[0], -0)]).toEqual([path, Object.is(exact, -0)]);
  }
  return exact;
}

describe('named reproductions (bugs of the float64 folded form x * scale + shift)', () => {
  it('beta survives cancellation: x = mean = 1e8, beta 1e-9, epsilon 1 gives f32(1e-9), not 0',
     async () => {
       await expectNoLeaks(() => {
         expect(single(1e8, 1, 1e-9, 1e8, 0, 1)).toBe(Math.fround(1e-9));
         const x = tf.tensor2d([[1e8]]);
         const y = batchNormInference(x, [1], [1e-9], [1e8], [0], {epsilon: 1});
         expect(y.dataSync()[0]).toBe(Math.fround(1e-9));
         tf.dispose([x, y]);
       });
     });

  it('the sign of zero: gamma -1, x = mean = 0, beta -0 gives -0 (the formula: -1 * 0 + -0)', () => {
    expect(Object.is(single(0, -1, -0, 0, 1, 1e-3), -0)).toBe(true);
    // and an exact zero from opposite terms is +0
    expect(Object.is(single(3, -1, 3, 0, 0, 1), 0)).toBe(true);
  });

  it('a tie between float32 neighbours goes to the even one', () => {
    // 2^-21 / sqrt(64) + 1 = 1 + 2^-24, halfway between 1 and 1 + 2^-23
    expect(single(2 ** -21, 1, 1, 0, 0, 64)).toBe(1);
    // 3 * 2^-21 / 8 + 1 = 1 + 3 * 2^-24, halfway between 1 + 2^-23 and 1 + 2^-22
    expect(single(3 * 2 ** -21, 1, 1, 0, 0, 64)).toBe(1 + 2 ** -22);
  });

  it('overflow at MAX + ulp/2: exactly there gives Infinity, just below gives MAX', () => {
    const max = 3.4028234663852886e38;
    // beta = MAX, gamma (x - mean) / sqrt(R) = 2^103 = ulp(MAX) / 2
    expect(single(2 ** 103, 1, max, 0, 0, 1)).toBe(Infinity);
    expect(single(2 ** 102, 1, max, 0, 0, 1)).toBe(max);
    expect(single(-(2 ** 103), 1, -max, 0, 0, 1)).toBe(-Infinity);
  });

  it('x - mean rounding to -MAX in float64 (fuzz seed 7, case 20742): the exact 1256.35, ' +
     'where the float64 formula gives 0', () => {
    const max = 3.4028234663852886e38;
    expect(-1 * (-1256.347900390625 - max) / Math.sqrt(1 + 5e-324) - max).toBe(0);
    expect(single(-1256.347900390625, -1, -max, max, 1, 5e-324)).toBe(1256.347900390625);
  });

  it('NaN and infinities as the IEEE formula gives them', () => {
    expect(single(Infinity, 1, 0, 0, 1, 1e-3)).toBe(Infinity);
    expect(single(Infinity, -1, 0, 0, 1, 1e-3)).toBe(-Infinity);
    expect(single(1, 1, 0, 1, Infinity, 1e-3)).toBe(0);  // 0 / Inf + 0
    expect(single(Infinity, 0, 1, 0, 1, 1e-3)).toBeNaN();  // 0 * Inf
    expect(single(2, 1, 0, 1, -1, 1)).toBe(Infinity);  // variance + epsilon = 0
    expect(single(1, 1, 0, 1, -1, 1)).toBeNaN();  // 0 / 0
    expect(single(1, 1, 0, 0, -2, 1)).toBeNaN();  // sqrt(-1)
  });
});

describe(`fuzz: ${CASES} seeded cases (seed ${SEED}), every path equals the exact nearest float32`,
         () => {
  const stats = {cases: 0, elements: 0, flagged: 0, maxUlp: 0};
  afterAll(() => {
    // figures for a long run's record (TFBNI_FUZZ_CASES=N)
    if (CASES > 2000) console.log(`fuzz_cpu seed ${SEED}: ${JSON.stringify(stats)}`);
  });

  for (let first = 0; first < CASES; first += BATCH) {
    const count = Math.min(BATCH, CASES - first);
    it(`cases ${first}..${first + count - 1}`, async () => {
      await expectNoLeaks(() => {
        for (let index = first; index < first + count; index++) {
          const c = fuzzCase(SEED, index);
          const d = float32Inputs(c);
          const label = `case ${c.id} shape [${c.shape}] axis ${c.axis} epsilon ${c.epsilon}`;
          const {exact, maxUlp} = expectExact(d, label);
          stats.cases++;
          stats.elements += exact.length;
          stats.flagged += countFlagged(d);
          stats.maxUlp = Math.max(stats.maxUlp, maxUlp);
        }
      });
    });
  }
});

/** How many elements the float64 bound could not decide (took the exact path). */
function countFlagged(d: Float32Inputs): number {
  const rank = d.shape.length;
  const {channels, inner} = channelBlocks(d.shape, d.axis < 0 ? d.axis + rank : d.axis);
  const t = channelTerms(d.gamma, d.beta, d.mean, d.variance, d.epsilon);
  let flagged = 0;
  for (let i = 0; i < d.x.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const p = (d.x[i] - t.m[c]) * t.s[c];
    const y = p + t.b[c];
    const err = (Math.abs(p) + Math.abs(y)) * ERROR_FACTOR;
    if (Number.isFinite(y) && !Object.is(Math.fround(y - err), Math.fround(y + err))) flagged++;
  }
  return flagged;
}
