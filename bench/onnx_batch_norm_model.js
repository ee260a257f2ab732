#!/usr/bin/env node
/*
 * A one-node ONNX model, BatchNormalization (opset 15, inference), written as
 * protobuf bytes by hand, so the wasm bench can time onnxruntime-web on the
 * same data as ours without any model file or protobuf package:
 *
 *     graph: X (float32, NCHW, fixed shape) -> BatchNormalization -> Y
 *            scale, B, input_mean, input_var: initializers (float32, [C])
 *            epsilon: attribute
 *
 *   node bench/onnx_batch_norm_model.js OUT.onnx [N,C,...]   (writes a file of
 *                                                  random statistics, to inspect)
 *
 * Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto,
 * TensorShapeProto, OperatorSetIdProto).
 */
'use strict';

const ONNX_FLOAT = 1;  // TensorProto.DataType.FLOAT, also AttributeProto.AttributeType.FLOAT
const IR_VERSION = 8;
const OPSET = 15;

/** Protobuf varint of a non-negative integer (below 2^53). */
function varint(n) {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const key = (field, wireType) => varint(field * 8 + wireType);
/** A varint field (wire type 0). */
const intField = (field, n) => [...key(field, 0), ...varint(n)];
/** A length-delimited field (wire type 2): bytes, a string or a message. */
function bytesField(field, bytes) {
  return [...key(field, 2), ...varint(bytes.length), ...bytes];
}
const stringField = (field, s) => bytesField(field, [...Buffer.from(s, 'utf8')]);
/** A float field (wire type 5, fixed32 little-endian). */
function floatField(field, v) {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...key(field, 5), ...b];
}

/** TensorProto: a float32 initializer with raw little-endian data. */
function tensorProto(name, values) {
  const raw = Buffer.from(Float32Array.from(values).buffer);
  return [...intField(1, values.length), ...intField(2, ONNX_FLOAT), ...stringField(8, name),
          ...bytesField(9, [...raw])];
}

/** ValueInfoProto: a float32 tensor of a fixed shape. */
function valueInfo(name, shape) {
  const dims = shape.flatMap((d) => bytesField(1, intField(1, d)));  // Dimension.dim_value
  const tensorType = [...intField(1, ONNX_FLOAT), ...bytesField(2, dims)];  // elem_type, shape
  return [...stringField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

/**
 * The model's bytes: Y = BatchNormalization(X, scale, B, mean, var) with the
 * given float32 statistics (length shape[1]) and epsilon, X of `shape` (channel
 * axis 1, ONNX's only one).
 */
function batchNormModel({shape, gamma, beta, mean, variance, epsilon}) {
  const channels = shape[1];
  for (const [name, v] of Object.entries({gamma, beta, mean, variance})) {
    if (v.length !== channels) {
      throw new Error(`batchNormModel: ${name} has ${v.length} values, expected shape[1] = ${channels}`);
    }
  }
  const inputs = ['X', 'scale', 'B', 'input_mean', 'input_var'];
  const node = [
    ...inputs.flatMap((n) => stringField(1, n)), ...stringField(2, 'Y'), ...stringField(3, 'bn'),
    ...stringField(4, 'BatchNormalization'),
    // AttributeProto: name, f, type
    ...bytesField(5, [...stringField(1, 'epsilon'), ...floatField(2, epsilon), ...intField(20, ONNX_FLOAT)]),
  ];
  const graph = [
    ...bytesField(1, node), ...stringField(2, 'batch_norm'),
    ...bytesField(5, tensorProto('scale', gamma)), ...bytesField(5, tensorProto('B', beta)),
    ...bytesField(5, tensorProto('input_mean', mean)), ...bytesField(5, tensorProto('input_var', variance)),
    ...bytesField(11, valueInfo('X', shape)), ...bytesField(12, valueInfo('Y', shape)),
  ];
  const model = [
    ...intField(1, IR_VERSION), ...stringField(2, 'tfjs-batchnorm-inference bench'),
    ...bytesField(7, graph),
    ...bytesField(8, [...stringField(1, ''), ...intField(2, OPSET)]),  // OperatorSetIdProto
  ];
  return Uint8Array.from(model);
}

module.exports = {batchNormModel};

if (require.main === module) {
  const [file, dims = '1,64,8,8'] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/onnx_batch_norm_model.js OUT.onnx [N,C,...]');
    process.exit(1);
  }
  const shape = dims.split(',').map(Number);
  const c = shape[1];
  const stat = (lo, hi) => Array.from({length: c}, () => lo + (hi - lo) * Math.random());
  const bytes = batchNormModel({shape, gamma: stat(0.5, 2), beta: stat(-1, 1), mean: stat(-1, 1),
                                variance: stat(0.1, 2), epsilon: 1e-3});
  require('fs').writeFileSync(file, bytes);
  console.log(`wrote ${file} (${bytes.length} bytes), X and Y of shape [${shape}]`);
}
