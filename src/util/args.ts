/**
 * The one module that turns user arguments into tensors or numbers and checks
 * them on the way: tensors (disposed, from another tfjs engine), numbers,
 * nested arrays (through nested_array.ts) and typed arrays (BigInt ones
 * rejected). Used by the op, the layer and the model tools; every error is
 * `Error in <who>: <name> ...`.
 */
import {cast, engine, Tensor, tensor} from '@tensorflow/tfjs-core';

import {checkDtype} from '../../kernels/shared/checks';
import {describeValue, gotEnd} from '../../kernels/shared/describe_value';
import {fail} from '../../kernels/shared/fail';
import {checkElementCount, flattenNested, isArrayLike, isBigIntArray} from './nested_array';

/** What the converters accept, as the messages say it. */
const ACCEPTED = 'a Tensor, a number, a (nested) array of numbers or a typed array';

/**
 * Whether the current engine tracks this tensor's data. A tensor made by a
 * second copy of tfjs-core with its own engine passes `instanceof Tensor`
 * (tfjs-core's Symbol.hasInstance is a duck-type check) but its dataId is
 * unknown here. `engine().state.tensorInfo` is in tfjs-core's typings but not
 * documented; tested with tfjs 4.22.
 */
function knownToEngine(t: Tensor): boolean {
  return engine().state.tensorInfo.has(t.dataId);
}

function looksLikeTensor(value: unknown): value is {shape: unknown, dtype: unknown} {
  return value != null && typeof value === 'object' && 'dataId' in value && 'shape' in value &&
      'dtype' in value;
}

/** Throws unless `t` is a live tensor of the current engine. */
export function checkTensor(who: string, name: string, t: Tensor): void {
  if (t.isDisposed) {
    fail(who, `${name} is a disposed tensor (shape [${t.shape}], dtype ${t.dtype}); keep it ` +
         `until the call returns (not disposed, nor made inside an ended tf.tidy).`);
  }
  if (!knownToEngine(t)) {
    fail(who, `${name} is a tensor from another TensorFlow.js engine (a second copy of ` +
         `@tensorflow/tfjs-core): its data is unknown to this one. Load one copy of tfjs ` +
         `(npm dedupe), or copy the values: tf.tensor(await ${name}.data(), ${name}.shape).`);
  }
}

/**
 * The shape and values of a number, a (nested) array or a typed array
 * (1-D), checked: numbers only, rectangular, bounded size, no BigInt arrays.
 * Tensors are not read here (see toFloatTensor).
 */
export function readNumbers(value: unknown, who: string, name: string):
    {shape: number[], values: ArrayLike<number>} {
  if (typeof value === 'number') return {shape: [], values: [value]};
  if (isBigIntArray(value)) {
    fail(who, `${name} is a ${(value as object).constructor.name} (64-bit integers), which tfjs ` +
         `does not take; convert it first, e.g. Float32Array.from(${name}, Number).`);
  }
  if (ArrayBuffer.isView(value) && isArrayLike(value)) {
    checkElementCount(who, name, [value.length]);
    return {shape: [value.length], values: value as unknown as ArrayLike<number>};
  }
  if (Array.isArray(value)) return flattenNested(value, who, name);
  if (looksLikeTensor(value)) {
    fail(who, `${name} looks like a tensor (it has dataId, shape and dtype) but is not a ` +
         `tf.Tensor of this TensorFlow.js (a TensorInfo, or a tensor of another tfjs version); ` +
         `pass a tf.Tensor, or its values as an array.`);
  }
  return fail(who, `${name} must be ${ACCEPTED}, but got ${describeValue(value)}${gotEnd(value)}`);
}

/**
 * Turns an argument into a float32 Tensor: a float32 tensor is returned as
 * is, an int32 one is cast, other dtypes are rejected; numbers, arrays and
 * typed arrays become a float32 tensor of their shape. Call it inside an op
 * (or tidy): tensors it makes belong to that scope, so a later failure leaves
 * nothing allocated.
 */
export function toFloatTensor(value: unknown, who: string, name: string): Tensor {
  if (value === null || value === undefined) fail(who, `${name} is required, but got ${value}.`);
  if (value instanceof Tensor) {
    checkTensor(who, name, value);
    checkDtype(who, name, value.dtype, ['float32', 'int32']);
    return value.dtype === 'float32' ? value : cast(value, 'float32');
  }
  const {shape, values} = readNumbers(value, who, name);
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return tensor(data, shape, 'float32');
}
