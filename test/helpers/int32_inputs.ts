/**
 * Inputs whose data is int32 (or bool) although the op sees float32, for the
 * GPU suites (#18 item 2): an int32 x or statistic (the op casts it), a
 * tf.cast(int32 -> float32) x (tfjs's cast shares the int32 data instead of
 * converting it), a bool-backed x, each with the values on the CPU and
 * already on the GPU, in shapes that reach every program variant. The page
 * half is test/browser/harness_shared.js's `typedInputRuns`; before each
 * case it fills and frees a buffer of x's size with 777, so a result read
 * from recycled memory shows as 777. The shared case data
 * (test/cases/batch_norm_inference.json) has no dtype field, so these live
 * here, beside it.
 *
 * The values are small integers, exact in float32 and half floats, so the
 * float64 reference of the converted values is exact and the tolerance is
 * the suite's own profile.
 */
import {BatchNormData, compareWithReference, ToleranceProfile} from './reference';
import {formatMismatches} from './run_case';

/** How one input is made: a float32 tensor, an int32 tensor, tf.cast(int32 | bool -> float32). */
export type InputKind = 'float32'|'int32'|'int32-cast'|'bool-cast';

/** A case: the reference's data (small integers) and how each input is made. */
export interface TypedInputCase extends BatchNormData {
  name: string;
  kinds: Partial<Record<'x'|'gamma'|'beta'|'mean'|'variance', InputKind>>;
  /** Put every input on the GPU (the backend's upload) before the op. */
  gpu: boolean;
}

const ints = (n: number, f: (i: number) => number) => Array.from({length: n}, (_, i) => f(i));

/** The #18 reproduction: int32 x [[1,2,3],[4,5,6]], axis 1. */
export const INT32_REPRO: TypedInputCase = {
  name: 'int32 x [2,3] (#18: gave the 777 of a recycled buffer on webgpu)',
  shape: [2, 3], axis: 1, epsilon: 1e-3, x: [1, 2, 3, 4, 5, 6],
  gamma: [1, 2, 3], beta: [0, -1, 2], mean: [1, 1, 1], variance: [4, 9, 16],
  kinds: {x: 'int32'}, gpu: false,
};

/** Shapes reaching webgpu's 'scalar', 'last4' and 'inner4' programs and webgl's layouts. */
const SHAPES: Array<[number[], number]> = [[[2, 3], 1], [[1, 2, 2, 4], 3], [[1, 3, 2, 2], 1]];

function casesFor(kinds: TypedInputCase['kinds'], label: string): TypedInputCase[] {
  const out: TypedInputCase[] = [];
  for (const [shape, axis] of SHAPES) {
    const size = shape.reduce((a, b) => a * b, 1);
    const c = shape[axis];
    for (const gpu of [false, true]) {
      out.push({
        name: `${label}, [${shape}] axis ${axis}, inputs ${gpu ? 'on the GPU' : 'with CPU values'}`,
        shape, axis, epsilon: 1e-3,
        x: ints(size, (i) => kinds.x === 'bool-cast' ? i % 2 : (i * 7) % 23 - 11),
        gamma: ints(c, (i) => i - 2 || 3), beta: ints(c, (i) => 5 - 3 * i),
        mean: ints(c, (i) => 2 * i - 3), variance: ints(c, (i) => i * i + 1),
        kinds, gpu,
      });
    }
  }
  return out;
}

export const TYPED_INPUT_CASES: TypedInputCase[] = [
  INT32_REPRO,
  ...casesFor({x: 'int32'}, 'int32 x'),
  ...casesFor({x: 'int32-cast'}, 'tf.cast(int32 x, float32)'),
  ...casesFor({x: 'bool-cast'}, 'tf.cast(bool x, float32)'),
  ...casesFor({variance: 'int32'}, 'int32 variance'),
  ...casesFor({gamma: 'int32-cast', beta: 'int32', mean: 'int32-cast', variance: 'int32'},
              'every statistic int32-backed'),
  ...casesFor({x: 'int32', gamma: 'int32', beta: 'int32', mean: 'int32', variance: 'int32'},
              'all five int32'),
];

export interface TypedInputResult {
  name: string; values?: number[]; error?: string;
  before: {numTensors: number}; after: {numTensors: number};
}

/** Failures (values against the float64 reference, errors, leaks), one line per case. */
export function checkTypedInputs(
    cases: TypedInputCase[], results: TypedInputResult[], profile: ToleranceProfile): string[] {
  const failures: string[] = [];
  results.forEach((r, i) => {
    const c = cases[i];
    if (r.error != null) {
      failures.push(`${c.name}: threw ${r.error}`);
      return;
    }
    const bad = compareWithReference(r.values!, c, profile);
    if (bad.length > 0) failures.push(`${c.name}: got [${r.values}]\n${formatMismatches(bad)}`);
    if (r.after.numTensors !== r.before.numTensors) {
      failures.push(`${c.name}: ${r.after.numTensors - r.before.numTensors} tensors left behind`);
    }
  });
  return failures;
}
