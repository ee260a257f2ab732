/**
 * Leak checks: every op, kernel and layer test runs its body through
 * `expectNoLeaks`, which fails if tf.memory().numTensors (and, where the
 * backend reports it, numBytesInGPU) is not back where it started.
 */
import * as tf from '@tensorflow/tfjs';

interface GpuMemory {
  numBytesInGPU?: number;
}

export function memorySnapshot(): {numTensors: number, numBytesInGPU?: number} {
  const m = tf.memory() as tf.MemoryInfo & GpuMemory;
  return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
}

/** Runs `body` (sync or async) and asserts it left no tensor allocated. */
export async function expectNoLeaks<T>(body: () => T | Promise<T>): Promise<T> {
  const before = memorySnapshot();
  const result = await body();
  expect(memorySnapshot()).toEqual(before);
  return result;
}

/** Asserts that `body` throws `message` (string or RegExp) and leaks nothing. */
export function expectThrowsWithoutLeak(body: () => unknown, message: string|RegExp): void {
  const before = memorySnapshot();
  expect(body).toThrow(message);
  expect(memorySnapshot()).toEqual(before);
}
