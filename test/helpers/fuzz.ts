/**
 * Seeded fuzz cases for every backend's suite: random rank (2..6), dims
 * (0..9; the channel axis 1..9), channel axis given positive or negative,
 * and values with NaN, infinities, -0, subnormals, huge values, exact
 * cancellations and exact ties between float32 neighbours, epsilon from
 * 5e-324 to 1e30. Every value but epsilon is a float32 (what the tensors
 * hold); epsilon is any double.
 *
 *     import {fuzzCases} from './helpers/fuzz';
 *     for (const c of fuzzCases(seed, count)) { ... c.shape, c.axis, c.x ... }
 *
 * Cases are plain data (number[] arrays). NaN, +-Infinity and -0 do not
 * survive JSON.stringify: encodeFuzzCase / decodeFuzzCase turn them into
 * strings and back (for files or pages without structured cloning).
 */
const {prng} = require('./stats.js') as {prng(seed: number): () => number};

export interface FuzzCase {
  /** `${seed}:${index}`, enough to regenerate it: fuzzCase(seed, index). */
  id: string;
  shape: number[];
  /** The channel axis as given to the op (negative half the time). */
  axis: number;
  epsilon: number;
  x: number[];
  gamma: number[];
  beta: number[];
  mean: number[];
  variance: number[];
}

/** Most elements per case (dims are shrunk to fit), so thousands run fast. */
export const MAX_FUZZ_ELEMENTS = 1024;

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1.4e-45, -1.4e-45, 1.1754942e-38, -5.9e-39,
                 3.4028235e38, -3.4028235e38, 1e30, -1e-30, 1, -1].map(Math.fround);
const EPSILONS = [5e-324, 1e-300, 1e-45, 1e-12, 1e-5, 1e-3, 0.1, 1, 3, 1e3, 1e30];

type Random = () => number;

function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)];
}

/** A float32 with a random sign and magnitude 10^(lo..hi). */
function logUniform(random: Random, lo: number, hi: number): number {
  const v = Math.fround(10 ** (lo + (hi - lo) * random()));
  return random() < 0.5 ? -v : v;
}

function shapeOf(random: Random): {shape: number[], axis: number, channelAxis: number} {
  const rank = 2 + Math.floor(random() * 5);
  const channelAxis = Math.floor(random() * rank);
  const shape = Array.from({length: rank}, (_, i) =>
      i === channelAxis ? 1 + Math.floor(random() * 9) : Math.floor(random() * 10));
  // shrink the other dims until the size fits
  while (shape.reduce((a, b) => a * b, 1) > MAX_FUZZ_ELEMENTS) {
    const i = Math.floor(random() * rank);
    if (i !== channelAxis) shape[i] = Math.floor(shape[i] / 2);
  }
  const axis = random() < 0.5 ? channelAxis : channelAxis - rank;
  return {shape, axis, channelAxis};
}

/** One case, its values of one flavour (`mode`). */
function makeCase(seed: number, index: number): FuzzCase {
  const random = prng((seed * 7919 + index * 104729) >>> 0);
  const {shape, axis, channelAxis} = shapeOf(random);
  const channels = shape[channelAxis];
  const size = shape.reduce((a, b) => a * b, 1);
  let inner = 1;
  for (let i = channelAxis + 1; i < shape.length; i++) inner *= shape[i];
  const mode = pick(random, ['plain', 'special', 'cancel', 'tie', 'extreme'] as const);
  const specialRate = mode === 'special' ? 0.3 : mode === 'plain' ? 0 : 0.02;
  const value = (lo: number, hi: number) =>
      random() < specialRate ? pick(random, SPECIAL) : logUniform(random, lo, hi);

  let epsilon = pick(random, EPSILONS);
  const gamma = Array.from({length: channels}, () => value(-3, 3));
  const mean = Array.from({length: channels}, () => value(-3, 3));
  const variance = Array.from({length: channels}, () => Math.abs(value(-4, 4)));
  const beta = Array.from({length: channels}, () => value(-3, 3));
  if (mode === 'extreme') {
    for (let c = 0; c < channels; c++) {
      gamma[c] = logUniform(random, -45, 38);
      variance[c] = Math.abs(logUniform(random, -45, 38));
      beta[c] = logUniform(random, -45, 38);
    }
    if (random() < 0.3) variance[0] = -Math.fround(epsilon);  // R = 0 when epsilon is a float32
    if (random() < 0.3) variance[0] = -1;  // R < 0
  }
  if (mode === 'tie') {
    // variance + epsilon a perfect square: exact results land on midpoints
    epsilon = pick(random, [1, 4, 0.25]);
    for (let c = 0; c < channels; c++) {
      variance[c] = pick(random, [0, 3, 12]);
      gamma[c] = pick(random, [1, -1, 2, 0.5, -0]);
      beta[c] = pick(random, [1, -1, 3, 1024, 2 ** -20, 0, -0]);
      mean[c] = pick(random, [0, 1, -0]);
    }
  }
  const x = new Array<number>(size);
  for (let i = 0; i < size; i++) {
    const c = Math.floor(i / inner) % channels;
    if (mode === 'tie') {
      // beta + k 2^-24 |beta| for small k: on or next to a midpoint
      const k = Math.floor(random() * 9) - 4;
      x[i] = Math.fround(mean[c] + k * 2 ** -26 * Math.max(1, Math.abs(beta[c])));
    } else if (mode === 'cancel' && random() < 0.7) {
      // x with gamma (x - mean) / sqrt(R) close to -beta (or x == mean)
      const target = mean[c] - beta[c] * Math.sqrt(variance[c] + epsilon) / gamma[c];
      x[i] = random() < 0.2 ? mean[c] : Math.fround(target * (1 + (random() - 0.5) * 2 ** -20));
    } else {
      x[i] = value(-6, 6);
    }
  }
  return {id: `${seed}:${index}`, shape, axis, epsilon, x, gamma, beta, mean, variance};
}

/** Case `index` of the sequence for `seed` (the same on every machine). */
export function fuzzCase(seed: number, index: number): FuzzCase {
  return makeCase(seed, index);
}

/** `count` cases for `seed`. */
export function fuzzCases(seed: number, count: number): FuzzCase[] {
  return Array.from({length: count}, (_, i) => makeCase(seed, i));
}

type Encoded = number|'NaN'|'Infinity'|'-Infinity'|'-0';
export type EncodedFuzzCase = Omit<FuzzCase, 'x'|'gamma'|'beta'|'mean'|'variance'> &
    Record<'x'|'gamma'|'beta'|'mean'|'variance', Encoded[]>;

const ARRAYS = ['x', 'gamma', 'beta', 'mean', 'variance'] as const;

function encode(v: number): Encoded {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return Object.is(v, -0) ? '-0' : v;
}

/** A JSON-safe copy (special values as strings). */
export function encodeFuzzCase(c: FuzzCase): EncodedFuzzCase {
  const out = {...c} as unknown as EncodedFuzzCase;
  for (const k of ARRAYS) out[k] = c[k].map(encode);
  return out;
}

export function decodeFuzzCase(c: EncodedFuzzCase): FuzzCase {
  const out = {...c} as unknown as FuzzCase;
  for (const k of ARRAYS) out[k] = c[k].map((v) => (typeof v === 'number' ? v : Number(v)));
  return out;
}
