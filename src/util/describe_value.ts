/**
 * How error messages show a value that was got: plainly for numbers and
 * null/undefined, quoted for strings, by kind and size for arrays, tensors
 * and other objects. Shared by the op, the layer and the Keras conversion so
 * every message reads the same way.
 */
import {Tensor} from '@tensorflow/tfjs-core';

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value instanceof Tensor) return `a ${value.dtype} tensor of shape [${value.shape}]`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an object of type ${name}` : 'an object';
  }
  return `the ${typeof value} ${String(value)}`;
}
