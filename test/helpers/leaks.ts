/**
 * The test idioms for "nothing left behind": every op, kernel and layer test
 * runs its body through `expectNoLeaks`, which fails if tf.memory().numTensors
 * (and, where the backend reports it, numBytesInGPU) is not back where it
 * started; every error message is checked with `expectThrowsWithoutLeak`;
 * registration and import checks use `expectPrintsNothing`.
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

/**
 * Asserts that `body` throws `message` and leaks nothing. A string must
 * appear in the error's message (write the whole message to check it all);
 * a RegExp must match it.
 */
export function expectThrowsWithoutLeak(body: () => unknown, message: string|RegExp): void {
  const before = memorySnapshot();
  expect(body).toThrow(message);
  expect(memorySnapshot()).toEqual(before);
}

/** The message of what `fn` throws (fails the test if it does not throw). */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, but none was thrown');
}

/**
 * Runs `body` (sync or async) with console.log/info/warn/error spied on and
 * asserts none was called (tfjs's own "Hi, looks like you are running
 * TensorFlow.js in Node.js" notice included, so warm the backend up first).
 */
export async function expectPrintsNothing<T>(body: () => T | Promise<T>): Promise<T> {
  const methods = ['log', 'info', 'warn', 'error'] as const;
  const spies = methods.map((m) => jest.spyOn(console, m).mockImplementation(() => undefined));
  try {
    const result = await body();
    for (const [i, spy] of spies.entries()) {
      expect({[methods[i]]: spy.mock.calls}).toEqual({[methods[i]]: []});
    }
    return result;
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
}
