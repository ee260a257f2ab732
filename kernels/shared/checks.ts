/**
 * The checks the op and every kernel share (through
 * kernels/shared/check_inputs.ts), written once so both reject a bad input
 * with the same words: epsilon, axis (normalized here and only here), rank
 * and dtype of x, length of the per-channel inputs. Every checker takes
 * tfjs's argument order, (value, argName, functionName, ...), as
 * `convertToTensor(x, 'x', 'opName')` does (axisIndex, in
 * channel_axis.ts, is the one place a negative axis is turned around). They look only at shapes,
 * dtypes and numbers, so they work on tensors and on kernels' TensorInfos.
 */
import {axisIndex} from './channel_axis';
import {describeValue} from './describe_value';
import {fail} from './fail';

/**
 * Checks epsilon (required, finite, > 0) and returns it. `name` is how the
 * message names it (`epsilon`, `attr epsilon`, `Epsilon`, ...).
 */
export function checkedEpsilon(epsilon: unknown, name: string, who: string): number {
  if (epsilon === undefined) {
    fail(who, `${name} is required (BatchNormInference-1 has no default), but got undefined.`);
  }
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    fail(who, `${name} must be a finite number > 0, but got ${describeValue(epsilon)}.`);
  }
  return epsilon;
}

/** Checks that `axis` is an integer in [-rank, rank-1]; returns it in 0..rank-1. */
export function checkedAxis(axis: unknown, name: string, who: string, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(who, `${name} must be an integer in [${-rank}, ${rank - 1}] for x of rank ${rank}, ` +
         `but got ${describeValue(axis)}.`);
  }
  return axisIndex(axis, rank);
}

/** Checks a dtype against the allowed ones (`x must have dtype float32 or int32, ...`). */
export function checkDtypeOf(dtype: string, name: string, who: string, allowed: readonly string[]):
    void {
  if (!allowed.includes(dtype)) {
    fail(who, `${name} must have dtype ${allowed.join(' or ')}, but got ${dtype}.`);
  }
}

/**
 * Checks that x has rank >= 2 and at least one channel. `got` describes x
 * when its rank is too small (default: `rank R (shape [...])`).
 */
export function checkXShape(shape: readonly number[], who: string, axis: number|undefined,
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
 * axis of x (channels last) first, then any other non-batch axis. `dim(k)`
 * names axis k in the message (the op's `x.shape[k]`; the layer's own words).
 * Shared by the op's and the layer's channel-mismatch messages.
 */
export function axisHint(size: number, xShape: ReadonlyArray<number|null>, axis: number,
                         dim = (k: number) => `x.shape[${k}]`): string {
  const rank = xShape.length;
  const candidates = [rank - 1, ...Array.from({length: rank - 2}, (_, i) => i + 1)];
  const match = candidates.find((k) => k !== axis && xShape[k] === size);
  if (match === undefined) return '';
  return match === rank - 1 ?
      `; ${size} is ${dim(match)}, the last axis: for channels-last (NHWC) data pass axis: -1` :
      `; ${size} is ${dim(match)}: if that is the channel axis, pass axis: ${match}`;
}

/**
 * Checks that a per-channel input (gamma, beta, mean, variance) is rank 1
 * with x.shape[axis] elements. When it is not, the message says which fix
 * fits: a reshape (right size, wrong rank) or another axis (its length
 * matches another axis of x, typically the last).
 */
export function checkChannelShape(
    shape: readonly number[], name: string, who: string, xShape: readonly number[], axis: number,
    axisNote = ''): void {
  const channels = xShape[axis];
  if (shape.length === 1 && shape[0] === channels) return;
  const size = shape.reduce((a, b) => a * b, 1);
  const hint = size === channels ? ` (reshape it to [${channels}])` :
                                   (shape.length === 1 ? axisHint(size, xShape, axis) : '');
  fail(who, `${name} must be a rank-1 tensor of length ${channels} (x.shape[${axis}]${axisNote}), ` +
       `but got shape [${shape}]${hint}.`);
}
