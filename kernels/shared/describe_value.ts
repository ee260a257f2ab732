/**
 * How error messages show a value that was got: plainly for numbers (-0 as
 * "-0") and null/undefined, quoted for strings, by kind and size for arrays,
 * typed arrays, tensors, promises and other objects. Shared by the op, the
 * layer, the model tools and the kernel checker so every message reads the
 * same way.
 */
import {Tensor} from '@tensorflow/tfjs-core';

export function isPromiseLike(value: unknown): boolean {
  return value != null && (typeof value === 'object' || typeof value === 'function') &&
      typeof (value as {then?: unknown}).then === 'function';
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (value instanceof Tensor) return `a ${value.dtype} tensor of shape [${value.shape}]`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  }
  if (isPromiseLike(value)) return 'a Promise';
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an object of type ${name}` : 'an object';
  }
  return `the ${typeof value} ${String(value)}`;
}

/**
 * What follows "but got <value>" in a message: `: did you forget \`await\`?`
 * for a promise, else the closing period.
 */
export function gotEnd(value: unknown): string {
  return isPromiseLike(value) ? ': did you forget `await`?' : '.';
}
