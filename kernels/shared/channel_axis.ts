/**
 * How a shape splits around its channel axis: the facts the op, the
 * gradient, the kernels, the layer and the model tools share, written once.
 * Plain functions of numbers: no checks (kernels/shared/checks.ts checks).
 */

/** The one place a negative axis is turned into 0..rank-1 (no checks). */
export function axisIndex(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Splits a shape around the channel axis into outer x channels x inner, the
 * block layout every kernel iterates (no transpose needed for any axis).
 */
export function channelBlocks(shape: readonly number[], axis: number):
    {outer: number, channels: number, inner: number} {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return {outer, channels: shape[axis], inner};
}

/** Every axis of a rank-`rank` tensor but `axis` (0..rank-1): what per-channel sums reduce. */
export function reductionAxes(rank: number, axis: number): number[] {
  return Array.from({length: rank}, (_, i) => i).filter((i) => i !== axis);
}

/**
 * [C, 1, ..., 1] (one 1 per axis after `axis`, 0..rank-1): the shape a
 * per-channel vector is reshaped to so that it broadcasts against x along
 * `axis`, for every rank and axis, without a transpose.
 */
export function channelBroadcastShape(channels: number, rank: number, axis: number): number[] {
  return [channels, ...new Array<number>(rank - axis - 1).fill(1)];
}
