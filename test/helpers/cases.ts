/**
 * Materializes the shared case data (test/cases/batch_norm_inference.json)
 * into float32 inputs. Every backend's suite runs these same cases.
 */
import caseFile from '../cases/batch_norm_inference.json';

import {BatchNormData} from './reference';

type Value = number|'NaN'|'Infinity'|'-Infinity';

export interface CaseSpec {
  name: string;
  xShape: number[];
  /** Channel axis as given to the op; absent means the op's default (1). */
  axis?: number;
  epsilon: number;
  seed?: number;
  ranges?: Partial<Record<'x'|'gamma'|'beta'|'mean'|'variance', [number, number]>>;
  x?: Value[];
  gamma?: Value[];
  beta?: Value[];
  mean?: Value[];
  variance?: Value[];
  expected?: number[];
}

export interface BatchNormCase extends BatchNormData {
  name: string;
  /** The axis argument as the op is called with (may be negative or absent). */
  axisArg?: number;
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  expected?: number[];
}

export const DEFAULT_RANGES = {
  x: [-10, 10],
  gamma: [-2, 2],
  beta: [-3, 3],
  mean: [-5, 5],
  variance: [0.01, 4],
} as const;

/**
 * mulberry32 from test/helpers/stats.js, the one seeded generator of the repo (bench,
 * demo and tests), so cases are data, not arrays.
 */
export const prng: (seed: number) => () => number = require('./stats.js').prng;

function parse(v: Value): number {
  return typeof v === 'number' ? v : Number(v);
}

export function materialize(spec: CaseSpec): BatchNormCase {
  const rank = spec.xShape.length;
  const axisArg = spec.axis;
  const axis = axisArg === undefined ? 1 : (axisArg < 0 ? axisArg + rank : axisArg);
  const channels = spec.xShape[axis];
  const size = spec.xShape.reduce((a, b) => a * b, 1);
  const random = prng(spec.seed ?? 0);
  const make = (name: keyof typeof DEFAULT_RANGES, n: number): Float32Array => {
    const given = spec[name];
    if (given) {
      if (given.length !== n) {
        throw new Error(`case '${spec.name}': ${name} has ${given.length} values, expected ${n}`);
      }
      return Float32Array.from(given.map(parse));
    }
    const [lo, hi] = spec.ranges?.[name] ?? DEFAULT_RANGES[name];
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * random();
    return out;
  };
  return {
    name: spec.name,
    shape: spec.xShape,
    axis,
    axisArg,
    epsilon: spec.epsilon,
    x: make('x', size),
    gamma: make('gamma', channels),
    beta: make('beta', channels),
    mean: make('mean', channels),
    variance: make('variance', channels),
    expected: spec.expected,
  };
}

export const caseSpecs: CaseSpec[] = (caseFile as {cases: CaseSpec[]}).cases;

export function loadCases(filter: (spec: CaseSpec) => boolean = () => true): BatchNormCase[] {
  return caseSpecs.filter(filter).map(materialize);
}

/** True when every input and reference value is inside half-float range. */
export function fitsHalfFloat(c: BatchNormCase): boolean {
  const arrays = [c.x, c.gamma, c.beta, c.mean, c.variance];
  return arrays.every((a) => a.every((v) => Number.isFinite(v) && Math.abs(v) < 6e4)) &&
      c.shape.reduce((a, b) => a * b, 1) > 0;
}
