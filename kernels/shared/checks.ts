/**
 * The checks the op and every kernel share (through
 * kernels/shared/check_inputs.ts), written once so both reject a bad input
 * with the same words: epsilon, axis (normalized here and only here), rank
 * and dtype of x, length of the per-channel inputs. They look only at shapes,
 * dtypes and numbers, so they work on tensors and on kernels' TensorInfos.
 */
import {describeValue} from './describe_value';
import {fail} from './fail';

/** The one place a negative axis is turned into 0..rank-1 (no checks). */
export function axisIndex(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Checks epsilon (required, finite, > 0) and returns it. `name` is how the
 * message names it (`epsilon`, `attr epsilon`, ...).
 */
export function checkEpsilon(who: string, epsilon: unknown, name = 'epsilon'): number {
  if (epsilon === undefined) {
    fail(who, `${name} is required (BatchNormInference-1 has no default), but got undefined.`);
  }
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    fail(who, `${name} must be a finite number > 0, but got ${describeValue(epsilon)}.`);
  }
  return epsilon;
}

/** Checks that `axis` is an integer in [-rank, rank-1]; returns it in 0..rank-1. */
export function normalizeAxis(who: string, axis: unknown, rank: number, name = 'axis'): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(who, `${name} must be an integer in [${-rank}, ${rank - 1}] for x of rank ${rank}, ` +
         `but got ${describeValue(axis)}.`);
  }
  return axisIndex(axis, rank);
}

/** Checks a dtype against the allowed ones (`x must have dtype float32 or int32, ...`). */
export function checkDtype(who: string, name: string, dtype: string, allowed: readonly string[]):
    void {
  if (!allowed.includes(dtype)) {
    fail(who, `${name} must have dtype ${allowed.join(' or ')}, but got ${dtype}.`);
  }
}

/**
 * Checks that x has rank >= 2 and at least one channel. `got` describes x
 * when its rank is too small (default: `rank R (shape [...])`).
 */
export function checkX(who: string, shape: readonly number[], axis: number|undefined,
                       got = `rank ${shape.length} (shape [${shape}])`): void {
  if (shape.length < 2) {
    fail(who, `x must have rank >= 2 (a batch axis and a channel axis at least), but got ${got}.`);
  }
  if (axis !== undefined && shape[axis] < 1) {
    fail(who, `x.shape[${axis}] (the channel axis) must be at least 1, but got shape [${shape}].`);
  }
}

/**
 * Where a per-channel input of `size` elements would fit instead: the last
 * axis of x (channels last) first, then any other non-batch axis.
 */
function axisHint(size: number, xShape: readonly number[], axis: number): string {
  const rank = xShape.length;
  const candidates = [rank - 1, ...Array.from({length: rank - 2}, (_, i) => i + 1)];
  const match = candidates.find((k) => k !== axis && xShape[k] === size);
  if (match === undefined) return '';
  return match === rank - 1 ?
      `; ${size} is x.shape[${match}], the last axis: for channels-last (NHWC) data pass axis: -1` :
      `; ${size} is x.shape[${match}]: if that is the channel axis, pass axis: ${match}`;
}

/**
 * Checks that a per-channel input (gamma, beta, mean, variance) is rank 1
 * with x.shape[axis] elements. When it is not, the message says which fix
 * fits: a reshape (right size, wrong rank) or another axis (its length
 * matches another axis of x, typically the last).
 */
export function checkChannelInput(
    who: string, name: string, shape: readonly number[], xShape: readonly number[], axis: number,
    axisNote = ''): void {
  const channels = xShape[axis];
  if (shape.length === 1 && shape[0] === channels) return;
  const size = shape.reduce((a, b) => a * b, 1);
  const hint = size === channels ? ` (reshape it to [${channels}])` :
                                   (shape.length === 1 ? axisHint(size, xShape, axis) : '');
  fail(who, `${name} must be a rank-1 tensor of length ${channels} (x.shape[${axis}]${axisNote}), ` +
       `but got shape [${shape}]${hint}.`);
}
