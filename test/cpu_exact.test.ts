/**
 * The exact slow path (kernels/shared/exact_round.ts) and the float64 error
 * bound (kernels/shared/rounded_batch_norm.ts) checked independently:
 * - the nearest float32 from exact midpoint comparisons (D^2 against B^2 R)
 *   equals the one from a different exact method, a BigInt fixed-point
 *   square root with 2^-1100 resolution and an exactness flag, on fuzzed
 *   elements, constructed ties, overflow thresholds and subnormal results;
 * - the float64 interval [y64 - err, y64 + err] contains the exact value, on
 *   inputs built to cancel and on fuzzed elements.
 */
import {compareExact, exactTerms, float32Key, keyToFloat32, MAX_KEY, MIN_KEY, nearestKeyBetween, toDyadic} from '../kernels/shared/exact_round';
import {ERROR_FACTOR} from '../kernels/shared/rounded_batch_norm';
import {exactNearest} from './helpers/exact';
import {fuzzCases} from './helpers/fuzz';

const {prng} = require('./helpers/stats.js') as {prng(seed: number): () => number};

type Element = [x: number, gamma: number, beta: number, mean: number, variance: number, epsilon: number];

const B = (n: number) => BigInt(n);

/** floor(sqrt(n)) for n >= 0 (Newton's method on BigInt). */
function isqrt(n: bigint): bigint {
  if (n < B(2)) return n;
  let x = B(1) << B(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> B(1);
    if (y >= x) return x;
    x = y;
  }
}

const P = 1100;

/**
 * floor(v * 2^P) and whether v * 2^P is that integer exactly, for
 * v = gamma (x - mean) / sqrt(variance + epsilon) + beta (finite inputs,
 * variance + epsilon > 0), from a fixed-point square root.
 */
function fixedPoint([x, gamma, beta, mean, variance, epsilon]: Element): {floor: bigint, exact: boolean} {
  // everything in units of 2^-1075 (every double is an integer there)
  const u = (v: number) => {
    const d = toDyadic(v);
    return d.m << B(d.e + 1075);
  };
  const d = u(gamma) * (u(x) - u(mean));  // units 2^-2150
  const r = u(variance) + u(epsilon);  // units 2^-1075
  // v * 2^P = d 2^-2150 2^P / sqrt(r 2^-1075) + beta 2^P
  //         = sign(d) sqrt(d^2 2^(2P - 4300 + 1075) / r) + beta 2^P; 2P - 3225 must be >= 0
  const shift = 2 * P - 4300 + 1075 + 1076;  // one more 2^1076 inside, taken out below as 2^538
  const num = d * d << B(shift);
  const quotient = num / r;
  const root = isqrt(quotient);
  const exactRoot = quotient * r === num && root * root === quotient;
  // sqrt(num / r) = root (+ a fraction unless exactRoot), and it carries 2^538 too much
  const scaled = root;  // units 2^-(P + 538)
  const betaFixed = u(beta) << B(P + 538 - 1075);
  // t = sign(d) * sqrt(...) in units 2^-(P + 538): [lo, lo + 1) or exactly lo
  const tLo = d >= B(0) ? scaled : (exactRoot ? -scaled : -scaled - B(1));
  const total = tLo + betaFixed;  // v in units 2^-(P+538), floor (or exact)
  const exactTotal = exactRoot && (total & ((B(1) << B(538)) - B(1))) === B(0);
  return {floor: total >> B(538), exact: exactTotal};
}

/** The nearest float32 from the fixed-point value (sign of an exact 0 as IEEE gives it). */
function nearestByFixedPoint(e: Element): number {
  const {floor, exact} = fixedPoint(e);
  const [x, gamma, beta, mean] = e;
  if (floor === B(0) && exact) return gamma * (x - mean) === 0 ? Math.fround(gamma * (x - mean) + beta) : 0;
  // the fixed-point value is in (floor, floor + 1) unless exact
  const above = (mid: bigint) => floor > mid || (floor === mid && !exact);  // v > mid
  const onMid = (mid: bigint) => floor === mid && exact;
  const valueOf = (k: number): bigint => {  // a float32 in units 2^-P (k a key, finite)
    const v = toDyadic(keyToFloat32(k));
    return v.m << B(v.e + P);
  };
  const midOf = (k: number): bigint => {  // boundary between keys k and k + 1
    if (k === -1) return B(0);
    const inf = (kk: number) => kk === MAX_KEY ? B(1) << B(128 + P) : kk === MIN_KEY ? -(B(1) << B(128 + P)) : valueOf(kk);
    return (inf(k) + inf(k + 1)) >> B(1);
  };
  // start from the fixed-point value itself (a guess: the exact comparisons below decide)
  let k = float32Key(Math.fround(Number(floor >> B(P - 200)) / 2 ** 200));
  const up = (kk: number) => {  // rounds to kk + 1 or above
    const mid = midOf(kk);
    if (onMid(mid)) return kk === -1 ? true : (kk >= 0 ? (kk + 1) % 2 === 0 : kk % 2 === 0);
    return above(mid);
  };
  while (k > MIN_KEY && !up(k - 1)) k--;
  while (k < MAX_KEY && up(k)) k++;
  return keyToFloat32(k);
}

function finiteElements(): Element[] {
  const out: Element[] = [];
  for (const c of fuzzCases(4242, 300)) {
    const rank = c.shape.length;
    const axis = c.axis < 0 ? c.axis + rank : c.axis;
    let inner = 1;
    for (let i = axis + 1; i < rank; i++) inner *= c.shape[i];
    for (let i = 0; i < c.x.length; i += 7) {
      const ch = Math.floor(i / inner) % c.shape[axis];
      const e: Element = [c.x[i], c.gamma[ch], c.beta[ch], c.mean[ch], c.variance[ch], c.epsilon];
      if (e.every(Number.isFinite) && e[4] + e[5] > 0) out.push(e);
    }
  }
  return out;
}

function constructedElements(): Element[] {
  const max = 3.4028234663852886e38;
  const random = prng(7);
  const out: Element[] = [
    [2 ** -21, 1, 1, 0, 0, 64], [3 * 2 ** -21, 1, 1, 0, 0, 64], [-(2 ** -21), 1, -1, 0, 0, 64],
    [2 ** 103, 1, max, 0, 0, 1], [2 ** 102, 1, max, 0, 0, 1], [-(2 ** 103), 1, -max, 0, 0, 1],
    [Math.fround(1e8), 1, Math.fround(1e-9), Math.fround(1e8), 0, 1],
    [0, -1, -0, 0, 1, 1e-3], [3, -1, 3, 0, 0, 1], [1.401298464324817e-45, 1, 0, 0, 0, 4],  // 2^-150: a tie to 0
    [3 * 1.401298464324817e-45, 1, 0, 0, 0, 4],  // 1.5 * 2^-149: a tie to 2^-148
    [1, 1e-30, 0, 0, 1e30, 5e-324], [1e38, 1e38, -1e38, 0, 1e-45, 5e-324],
    // the float64 formula cancels to 0 here (x - mean rounds to -MAX); exact: 1256.35
    [-1256.347900390625, -1, -max, max, 1, 5e-324],
  ];
  // subnormal results and ties in every binade
  for (let i = 0; i < 300; i++) {
    const e = Math.floor(random() * 250) - 150;
    const q = Math.floor(random() * 2 ** 24) + 0.5 * Math.floor(random() * 3);  // on or near a midpoint
    out.push([Math.fround(q * 2 ** (e - 23)), 1, 0, 0, 0, 1]);
    out.push([Math.fround(random() * 4 - 2), Math.fround(random()), Math.fround(q * 2 ** (e - 23)), 0, 3, 1]);
  }
  return out;
}

describe('the exact slow path against a fixed-point square root', () => {
  it('constructed ties, thresholds, zeros and subnormal results', () => {
    for (const e of constructedElements()) {
      const expected = nearestByFixedPoint(e);
      const t = exactTerms(e[0], e[1], e[2], e[3], e[4], e[5]);
      expect([e, keyToFloat32(nearestKeyBetween(t, MIN_KEY, MAX_KEY))]).toEqual([e, expected]);
      expect([e, exactNearest(...e)]).toEqual([e, expected]);
    }
  });

  it('fuzzed finite elements', () => {
    const elements = finiteElements();
    expect(elements.length).toBeGreaterThan(1000);
    for (const e of elements) {
      const expected = nearestByFixedPoint(e);
      expect([e, exactNearest(...e)]).toEqual([e, expected]);
    }
  });
});

describe('the float64 error bound: [y64 - err, y64 + err] contains the exact value', () => {
  function encloses([x, gamma, beta, mean, variance, epsilon]: Element): boolean {
    const s = gamma / Math.sqrt(variance + epsilon);
    const p = (x - mean) * s;
    const y = p + beta;
    const err = (Math.abs(p) + Math.abs(y)) * ERROR_FACTOR;
    const t = exactTerms(x, gamma, beta, mean, variance, epsilon);
    return compareExact(t, toDyadic(y - err)) >= 0 && compareExact(t, toDyadic(y + err)) <= 0;
  }

  it('on inputs built to cancel (beta close to -gamma (x - mean) / sqrt(R))', () => {
    const random = prng(11);
    for (let i = 0; i < 3000; i++) {
      const gamma = Math.fround((random() - 0.5) * 10 ** (random() * 8 - 4));
      const mean = Math.fround((random() - 0.5) * 10 ** (random() * 8 - 4));
      const x = Math.fround(mean + (random() - 0.5) * 10 ** (random() * 8 - 4));
      const variance = Math.fround(10 ** (random() * 8 - 4));
      const epsilon = 10 ** (random() * 10 - 8);
      const beta = Math.fround(-gamma * (x - mean) / Math.sqrt(variance + epsilon));
      expect([[x, gamma, beta, mean, variance, epsilon], encloses([x, gamma, beta, mean, variance, epsilon])])
          .toEqual([[x, gamma, beta, mean, variance, epsilon], true]);
    }
  });

  it('on fuzzed and constructed elements', () => {
    for (const e of [...finiteElements(), ...constructedElements()]) {
      expect([e, encloses(e)]).toEqual([e, true]);
    }
  });
});
