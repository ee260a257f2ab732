/**
 * The one walker over (nested) arrays of numbers, shared by the op, the layer
 * and the model tools: it reads the shape from the first element of each
 * level, checks every level is rectangular and every leaf a JS number, and
 * names the path of the first bad element (`x[0][1]`).
 */
import {describeValue} from './describe_value';
import {fail} from './fail';

/** An Array or a typed array (not a DataView). */
export function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
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
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: number[] = [];
  const walk = (node: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        fail(who, `${name} must contain only numbers, but ${name}${path} is ${describeValue(node)}.`);
      }
      values.push(node);
      return;
    }
    if (!isArrayLike(node) || node.length !== shape[depth]) {
      fail(who, `${name} must be a rectangular (non-ragged) array, but ${name}${path} is ` +
           `${isArrayLike(node) ? `of length ${node.length}` : describeValue(node)} where the first ` +
           `element at that depth has length ${shape[depth]} (shape ${shape.join('x')}).`);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, '');
  return {shape, values};
}
