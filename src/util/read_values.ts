/**
 * How the model tools and the layer's weight checks read tensor values.
 *
 * They read synchronously (`dataSync`), except inside `withPrefetchedValues`,
 * which the async model tools use: it reads the tensors they will need with
 * `await data()` first, then runs the synchronous tool, during which
 * `readValues` answers from those values. That is what the webgpu backend
 * needs: its synchronous read of GPU data is slow and, on some devices
 * (SwiftShader's WebGPU in headless Chromium), returns wrong values and
 * breaks the device.
 */
import {getBackend, Tensor, TypedArray} from '@tensorflow/tfjs-core';

import {fail} from '../../kernels/shared/fail';

/** Values read ahead, by dataId (a variable assigned from a tensor shares its dataId). */
let prefetched: Map<object, TypedArray>|null = null;

/** Backends whose synchronous read of device data is not to be relied on. */
const NO_SYNC_READ = new Set(['webgpu']);

/** Whether values can be read now without a synchronous device read on a backend that lacks one. */
export function canReadValues(t: Tensor): boolean {
  return prefetched?.has(t.dataId) === true || !NO_SYNC_READ.has(getBackend());
}

/** The tensor's values: prefetched ones when there are, else dataSync(). */
export function readValues(t: Tensor): TypedArray {
  return prefetched?.get(t.dataId) ?? t.dataSync() as TypedArray;
}

/**
 * For the synchronous model tools: on a backend without a dependable
 * synchronous read, fail with a pointer to the async variant.
 */
export function requireSyncReads(who: string): void {
  if (prefetched === null && NO_SYNC_READ.has(getBackend())) {
    fail(who, `reads the model's weights, which the ${getBackend()} backend cannot do synchronously ` +
         `(its synchronous read is slow and on some devices wrong); use ` +
         `\`await ${who}Async(model)\` on ${getBackend()}.`);
  }
}

/**
 * Reads `tensors` with `await data()`, then runs `run` (synchronous) with
 * those values served to `readValues`.
 */
export async function withPrefetchedValues<T>(tensors: Tensor[], run: () => T): Promise<T> {
  const values = await Promise.all(tensors.map((t) => t.data()));
  // run() is synchronous, so nothing else runs while these values are served.
  prefetched = new Map(tensors.map((t, i) => [t.dataId, values[i] as TypedArray]));
  try {
    return run();
  } finally {
    prefetched = null;
  }
}
