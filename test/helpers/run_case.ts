/**
 * The shared cases (test/helpers/cases.ts) through the op: on the current
 * backend in Node, for the suites that run them all there (fallback, wasm),
 * and in a page, for the browser suites (webgl, webgpu): the plain form a
 * case travels in, what comes back, and the check of it against the float64
 * reference.
 */
import * as tf from '@tensorflow/tfjs';

import {batchNormInference} from '../../src';
import {BatchNormCase, prng} from './cases';
import {BatchNormData, compareWithReference, Mismatch, referenceBatchNorm, termMagnitude, tolerance, ToleranceProfile} from './reference';

/** The op's options for a case: the axis only when the case passes one (else the op's default). */
export function caseOptions(c: {epsilon: number, axisArg?: number}): {epsilon: number, axis?: number} {
  return c.axisArg === undefined ? {epsilon: c.epsilon} : {epsilon: c.epsilon, axis: c.axisArg};
}

/** The op's output for a case, after checking its shape and dtype; leaves no tensor behind. */
export function runCase(c: BatchNormCase): Float32Array {
  const x = tf.tensor(c.x, c.shape);
  const y = batchNormInference(x, c.gamma, c.beta, c.mean, c.variance, caseOptions(c));
  expect(y.shape).toEqual(c.shape);
  expect(y.dtype).toBe('float32');
  const actual = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return actual;
}

/** A case as a page receives it: plain arrays (w: the weights of a gradient check). */
export interface PageCase {
  name: string; shape: number[]; axisArg?: number; epsilon: number;
  x: number[]; gamma: number[]; beta: number[]; mean: number[]; variance: number[];
  w?: number[];
}

/** The page form of a case; `withWeights` adds seeded weights w in [-1, 1) for the gradient. */
export function toPage(c: BatchNormCase, withWeights = false): PageCase {
  const out: PageCase = {
    name: c.name, shape: c.shape, epsilon: c.epsilon,
    x: Array.from(c.x), gamma: Array.from(c.gamma), beta: Array.from(c.beta),
    mean: Array.from(c.mean), variance: Array.from(c.variance),
  };
  if (c.axisArg !== undefined) out.axisArg = c.axisArg;
  if (withWeights) {
    const random = prng(c.x.length + 17);
    out.w = Array.from({length: c.x.length}, () => 2 * random() - 1);
  }
  return out;
}

export interface Memory {numTensors: number; numBytesInGPU: number}

/**
 * One case's run in a page (test/browser/harness_shared.js's runCases): the
 * output or the error, tf.memory() around it, and (webgl) whether the
 * kernel left the statistics where they were.
 */
export interface RunResult {
  name: string; values?: number[]; dtype?: string; shape?: number[]; error?: string;
  statsStayed?: boolean; before: Memory; after: Memory;
}

export function formatMismatches(bad: Mismatch[]): string {
  return bad.map((m) => m.index < 0 ?
      `    length ${m.actual}, expected ${m.expected}` :
      `    [${m.index}] got ${m.actual}, expected ${m.expected} ` +
      `(allowed +-${m.allowed.toPrecision(3)}, off by ` +
      `${Math.abs(m.actual - m.expected).toPrecision(3)})`).join('\n');
}

/**
 * Pass/fail is compareWithReference's; this only picks what to print: the
 * `count` elements furthest outside their tolerance (special values that
 * differ first), where compareWithReference lists the first ten.
 */
export function worstMismatches(
    actual: ArrayLike<number>, d: BatchNormData, profile: ToleranceProfile,
    expected: ArrayLike<number> = referenceBatchNorm(d), count = 6): Mismatch[] {
  if (actual.length !== expected.length) return compareWithReference(actual, d, profile, expected);
  const magnitude = termMagnitude(d);
  const scored: Array<Mismatch&{score: number}> = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(Math.fround(e)) || !Number.isFinite(magnitude[i])) {
      const want = Number.isNaN(e) ? NaN : Math.fround(e);
      if (!(a === want || (Number.isNaN(a) && Number.isNaN(want)))) {
        scored.push({index: i, actual: a, expected: want, allowed: 0, score: Infinity});
      }
      continue;
    }
    const allowed = tolerance(profile, e, magnitude[i]);
    const off = Math.abs(a - e);
    if (!(off <= allowed)) {
      const score = Number.isNaN(off) ? Infinity : off / allowed;
      scored.push({index: i, actual: a, expected: e, allowed, score});
    }
  }
  return scored.sort((p, q) => q.score - p.score).slice(0, count)
      .map(({index, actual: a, expected: e, allowed}) => ({index, actual: a, expected: e, allowed}));
}

/**
 * Checks a page's results case by case (dtype and shape, values against the
 * float64 reference and the hand-computed ones, statistics left in place);
 * returns readable failures. Leaks: checkLeaks.
 */
export function checkResults(
    cases: BatchNormCase[], results: RunResult[], profile: ToleranceProfile): string[] {
  const failures: string[] = [];
  results.forEach((r, i) => {
    const c = cases[i];
    if (r.error) {
      failures.push(`${c.name}: threw ${r.error}`);
      return;
    }
    if (r.dtype !== 'float32' || JSON.stringify(r.shape) !== JSON.stringify(c.shape)) {
      failures.push(`${c.name}: got dtype ${r.dtype} shape [${r.shape}], ` +
                    `expected float32 [${c.shape}]`);
    }
    if (compareWithReference(r.values!, c, profile).length > 0) {
      failures.push(`${c.name}: worst mismatches against the float64 reference ` +
                    `(profile ${profile}):\n` +
                    formatMismatches(worstMismatches(r.values!, c, profile)));
    }
    if (c.expected && compareWithReference(r.values!, c, profile, c.expected).length > 0) {
      failures.push(`${c.name}: worst mismatches against the hand-computed values:\n` +
                    formatMismatches(worstMismatches(r.values!, c, profile, c.expected)));
    }
    if (r.statsStayed === false) {
      failures.push(`${c.name}: the kernel moved the statistics between CPU and GPU`);
    }
  });
  return failures;
}

/** The cases after which tf.memory() (tensors, GPU bytes) was not where it was before. */
export function checkLeaks(results: RunResult[]): string[] {
  return results.filter((r) => r.before.numTensors !== r.after.numTensors ||
                               r.before.numBytesInGPU !== r.after.numBytesInGPU)
      .map((r) => `${r.name}: tf.memory() before ${JSON.stringify(r.before)}, after ` +
                  `${JSON.stringify(r.after)}`);
}

/** Throws one error listing every failure (none: passes). */
export function expectNoFailures(what: string, failures: string[]): void {
  if (failures.length > 0) {
    throw new Error(`${failures.length} failure(s) ${what}:\n${failures.join('\n')}`);
  }
}
