/**
 * Makes a model saved with fileSystemIO look like what tensorflowjs_converter
 * and older Keras exporters write, to test loading and conversion of such
 * files without Python:
 *
 * - `quantizeToUint8(dir)`: affine uint8 quantization of every float32
 *   weight, as `tensorflowjs_converter --quantize_uint8` does
 *   (manifest entry `quantization: {dtype: 'uint8', min, scale}`, with min
 *   nudged so that 0 is exactly representable).
 * - `setListAxis(dir, layerName)`: writes a layer's `axis` as a one-element
 *   list (`"axis": [3]`), as older Keras versions did.
 */
import * as fs from 'fs';
import * as path from 'path';

import {readModelJSON, readWeights, WEIGHTS_BIN, writeModelJSON} from './fs_io';

/**
 * The converter's uint8 range for [min, max]: the range is widened to
 * contain 0 and min is moved onto the grid so 0 dequantizes to exactly 0.
 */
export function uint8Range(min: number, max: number): {min: number, scale: number} {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.round(-lo / scale);
  return {min: -zeroPoint * scale, scale};
}

/**
 * Rewrites `dir`'s weights as uint8. Returns, by weight name, the float32
 * values tfjs will dequantize them to (`Math.fround(q * scale + min)`).
 */
export function quantizeToUint8(dir: string): Map<string, Float32Array> {
  const modelJSON = readModelJSON(dir);
  const [specs, data] = readWeights(dir, modelJSON.weightsManifest);
  const out: number[] = [];
  const expected = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization != null) {
      throw new Error(`quantizeToUint8 handles unquantized float32 weights, not ${spec.name}.`);
    }
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(data, offset, size);
    offset += 4 * size;
    const {min, scale} = uint8Range(Math.min(...values), Math.max(...values));
    const dequantized = new Float32Array(size);
    values.forEach((v, i) => {
      const q = Math.min(255, Math.max(0, Math.round((v - min) / scale)));
      out.push(q);
      dequantized[i] = q * scale + min;
    });
    spec.quantization = {dtype: 'uint8', min, scale};
    expected.set(spec.name, dequantized);
  }
  modelJSON.weightsManifest = [{paths: [WEIGHTS_BIN], weights: specs}];
  fs.writeFileSync(path.join(dir, WEIGHTS_BIN), Buffer.from(Uint8Array.from(out)));
  writeModelJSON(dir, modelJSON);
  return expected;
}

/** Every object in a JSON tree (depth first). */
function* objects(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) {
    for (const item of node) yield* objects(item);
  } else if (node !== null && typeof node === 'object') {
    yield node as Record<string, unknown>;
    for (const value of Object.values(node)) yield* objects(value);
  }
}

/** Writes layer `layerName`'s axis in model.json as `[axis]`. */
export function setListAxis(dir: string, layerName: string): void {
  const modelJSON = readModelJSON(dir);
  let found = 0;
  for (const node of objects(modelJSON.modelTopology)) {
    const config = node.config as Record<string, unknown> | undefined;
    if (typeof node.class_name === 'string' && config?.name === layerName) {
      config.axis = [config.axis];
      found++;
    }
  }
  if (found !== 1) throw new Error(`setListAxis: found ${found} layers named ${layerName}.`);
  writeModelJSON(dir, modelJSON);
}
