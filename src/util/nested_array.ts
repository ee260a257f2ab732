/**
 * The one walker over (nested) arrays of numbers, shared by the op, the layer
 * and the model tools: it reads the shape from the first element of each
 * level, bounds the element count before walking, checks every level is
 * rectangular and every leaf a JS number, and names the path of the first bad
 * element (`x[0][1]`).
 */
import {describeValue} from '../../kernels/shared/describe_value';
import {fail} from '../../kernels/shared/fail';

/**
 * The most elements a value may have: tensor sizes are int32 in tfjs, and a
 * larger request would make the engine allocate (and V8 abort) before any
 * message could be shown.
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** An Array or a typed array (not a DataView). */
export function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/** A BigInt64Array or BigUint64Array (their elements are bigints, not numbers). */
export function isBigIntArray(value: unknown): boolean {
  return (typeof BigInt64Array !== 'undefined' && value instanceof BigInt64Array) ||
      (typeof BigUint64Array !== 'undefined' && value instanceof BigUint64Array);
}

/** Throws if a shape has more than MAX_ELEMENTS elements. */
export function checkElementCount(who: string, name: string, shape: ReadonlyArray<number>): void {
  let count = 1;
  for (const d of shape) count *= d;
  if (count > MAX_ELEMENTS) {
    fail(who, `${name} has shape [${shape}] (${count} elements), more than the ${MAX_ELEMENTS} ` +
         `elements a tensor can hold.`);
  }
}

function describeLeaf(node: ArrayLike<unknown>, i: number): string {
  if (Array.isArray(node) && !(i in node)) return 'an empty slot (a sparse array)';
  const leaf = node[i];
  return isArrayLike(leaf) ? `${describeValue(leaf)}, one level deeper than its neighbours` :
                             describeValue(leaf);
}

/**
 * The shape and the numbers, in order, of a rectangular (nested) array whose
 * leaves are numbers (NaN and +-Infinity included). Throws
 * `Error in <who>: <name> ...` naming the path of a bad element.
 */
export function flattenNested(value: ArrayLike<unknown>, who: string, name: string):
    {shape: number[], values: number[]} {
  const shape: number[] = [];
  for (let level: unknown = value; isArrayLike(level); level = level[0]) {
    if (isBigIntArray(level)) {
      fail(who, `${name} must contain only numbers, but holds a ${level.constructor.name} ` +
           `(64-bit integers); convert it first, e.g. Float32Array.from(values, Number).`);
    }
    shape.push(level.length);
    if (level.length === 0) break;
  }
  checkElementCount(who, name, shape);
  const values: number[] = [];
  const walk = (node: unknown, depth: number, path: string) => {
    if (!isArrayLike(node) || node.length !== shape[depth]) {
      fail(who, `${name} must be a rectangular (non-ragged) array, but ${name}${path} is ` +
           `${isArrayLike(node) ? `of length ${node.length}` : describeValue(node)} where the first ` +
           `element at that depth has length ${shape[depth]} (shape ${shape.join('x')}).`);
    }
    const leaves = depth === shape.length - 1;
    for (let i = 0; i < node.length; i++) {
      if (!leaves) {
        walk(node[i], depth + 1, `${path}[${i}]`);
      } else if (typeof node[i] === 'number') {
        values.push(node[i] as number);
      } else {
        fail(who, `${name} must contain only numbers, but ${name}${path}[${i}] is ` +
             `${describeLeaf(node, i)}.`);
      }
    }
  };
  walk(value, 0, '');
  return {shape, values};
}
