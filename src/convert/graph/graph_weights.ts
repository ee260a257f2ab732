/**
 * The weights of a GraphModel's artifacts, one entry per weight spec: the
 * stored bytes of each (so an untouched weight is written back byte for
 * byte, quantization included) and its values as numbers (dequantized: uint8
 * and uint16 as q * scale + min, float16 widened), read on demand.
 */
import {io} from '@tensorflow/tfjs-core';

import {fail} from '../../../kernels/shared/fail';

export interface StoredWeight {
  spec: io.WeightsManifestEntry;
  /** The bytes the manifest gives this weight, as stored (possibly quantized). */
  bytes: Uint8Array;
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8,
};

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes `spec` takes starting at `offset` (strings are length-prefixed, so they are read). */
function storedBytes(who: string, spec: io.WeightsManifestEntry, data: Uint8Array, offset: number): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  if (dtype === 'string') {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = offset;
    for (let i = 0; i < elementCount(spec.shape); i++) {
      if (at + 4 > data.byteLength) break;
      at += 4 + view.getUint32(at, true);
    }
    return at - offset;
  }
  const size = BYTES_PER_ELEMENT[dtype];
  if (size === undefined) {
    fail(who, `weight '${spec.name}' is stored as '${dtype}', which this tool does not read.`);
  }
  return elementCount(spec.shape) * size;
}

/** Splits weightData (one ArrayBuffer or several) into one entry per spec, by name. */
export function splitWeights(who: string, artifacts: io.ModelArtifacts): Map<string, StoredWeight> {
  const specs = artifacts.weightSpecs ?? [];
  const data = new Uint8Array(io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
  const weights = new Map<string, StoredWeight>();
  let offset = 0;
  for (const spec of specs) {
    const n = storedBytes(who, spec, data, offset);
    if (offset + n > data.byteLength) {
      fail(who, `the weight data holds ${data.byteLength} bytes, but weightSpecs need more: weight ` +
           `'${spec.name}' (${spec.quantization?.dtype ?? spec.dtype} [${spec.shape}]) ends at byte ` +
           `${offset + n}. The weights do not match the model.`);
    }
    weights.set(spec.name, {spec, bytes: data.subarray(offset, offset + n)});
    offset += n;
  }
  if (offset !== data.byteLength) {
    fail(who, `the weight data holds ${data.byteLength} bytes, but weightSpecs describe ${offset} bytes. ` +
         `The weights do not match the model.`);
  }
  return weights;
}

function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * The values of a float32 weight, dequantized as tfjs does, each rounded to
 * float32 (the value the model computes with); null when the weight is not
 * float32 (int32, bool, string, complex).
 */
export function readFloatWeight(weight: StoredWeight): Float32Array|null {
  const {spec, bytes} = weight;
  if (spec.dtype !== 'float32') return null;
  const n = elementCount(spec.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  const q = spec.quantization;
  if (q == null) {
    // Weight files are little-endian, as tfjs reads them (on little-endian platforms).
    new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * n));
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = float16ToNumber(view.getUint16(2 * i, true));
  } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    for (let i = 0; i < n; i++) {
      const v = q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(2 * i, true);
      out[i] = v * scale + min;
    }
  } else {
    return null;
  }
  return out;
}

/**
 * New weight data: the kept weights' stored bytes in their order, then the
 * added float32 weights.
 */
export function assembleWeights(kept: StoredWeight[], added: Array<{name: string, shape: number[], values: Float32Array}>):
    {weightSpecs: io.WeightsManifestEntry[], weightData: ArrayBuffer} {
  const total = kept.reduce((s, w) => s + w.bytes.byteLength, 0) +
      added.reduce((s, w) => s + 4 * w.values.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  const weightSpecs: io.WeightsManifestEntry[] = [];
  for (const w of kept) {
    out.set(w.bytes, offset);
    offset += w.bytes.byteLength;
    weightSpecs.push(w.spec);
  }
  for (const w of added) {
    out.set(new Uint8Array(w.values.buffer, w.values.byteOffset, 4 * w.values.length), offset);
    offset += 4 * w.values.length;
    weightSpecs.push({name: w.name, shape: w.shape, dtype: 'float32'});
  }
  return {weightSpecs, weightData: out.buffer};
}

/** A [rows, cols] matrix (row-major) transposed to [cols, rows]. */
export function transposeMatrix(values: Float32Array, rows: number, cols: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  }
  return out;
}
