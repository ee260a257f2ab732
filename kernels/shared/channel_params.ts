/**
 * Splits a shape around the channel axis into outer x channels x inner, the
 * block layout every kernel iterates (no transpose needed for any axis).
 */
export function channelBlocks(shape: number[], axis: number):
    {outer: number, channels: number, inner: number} {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return {outer, channels: shape[axis], inner};
}
