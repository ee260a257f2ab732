/*
 * The peer the wasm bench measures against: onnxruntime-web (a dev
 * dependency, pinned) running a one-node BatchNormalization model
 * (bench/onnx_batch_norm_model.js) on its wasm execution provider with one
 * thread, on the same values as ours.
 *
 * Two calls per shape, both timed:
 * - "pre-allocated": session.run(feeds, {Y: tensor}) with an output tensor
 *   made once. In onnxruntime-web 1.30.0 this does not fill the given tensor
 *   (microsoft/onnxruntime#25786): the run computes Y in its heap and skips
 *   the copy out, so its time is a LOWER BOUND on any real call. The bench
 *   checks whether the tensor was filled and says so in its table.
 * - "allocating": session.run(feeds), which returns a new Y (what its users
 *   call).
 * Both include copying X into its heap (the feed is a JS Float32Array).
 *
 * ONNX's channel axis is 1: our channels-last shape [N,H,W,C] is given to it
 * as [N,C,H,W] (the same values in the same order, read as NCHW).
 */
'use strict';

const {batchNormModel} = require('./onnx_batch_norm_model');

const ORT_VERSION = '1.30.0';

/** onnxruntime-web, or null with the reason when it is not installed. */
function loadOrt() {
  try {
    const ort = require('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    return {ort, version: ort.env.versions.web};
  } catch (e) {
    return {ort: null, reason: `onnxruntime-web is not installed (npm install: it is a dev ` +
                               `dependency, ${ORT_VERSION}): ${e.message.split('\n')[0]}`};
  }
}

/** Our shape with the channel axis moved to 1 (ONNX's layout), or null if axis is 0. */
function ortShape(shape, axis) {
  const ax = axis < 0 ? axis + shape.length : axis;
  if (ax === 0 || shape.length < 2) return null;
  return [shape[0], shape[ax], ...shape.slice(1, ax), ...shape.slice(ax + 1)];
}

/**
 * The two onnxruntime-web calls on x (a Float32Array, read as NCHW of
 * `shape`) with these statistics. Resolves to {preallocated, allocating}
 * (async functions), after checking the allocating call against a float64
 * evaluation of the formula (relative error 1e-5: ORT is not exactly
 * rounded) and recording in `preallocatedFills` whether the pre-allocated
 * call wrote its output.
 */
async function ortCalls(ort, {shape, x, gamma, beta, mean, variance, epsilon}) {
  const model = batchNormModel({shape, gamma, beta, mean, variance, epsilon});
  const session = await ort.InferenceSession.create(model, {executionProviders: ['wasm'],
                                                            graphOptimizationLevel: 'all'});
  const X = new ort.Tensor('float32', x, shape);
  const Y = new ort.Tensor('float32', new Float32Array(x.length).fill(NaN), shape);

  const {Y: y} = await session.run({X});
  const channels = shape[1];
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  for (let i = 0; i < x.length; i += 97) {
    const c = Math.floor(i / inner) % channels;
    const want = gamma[c] * (x[i] - mean[c]) / Math.sqrt(variance[c] + epsilon) + beta[c];
    if (!(Math.abs(y.data[i] - want) <= 1e-5 * Math.max(1, Math.abs(want)))) {
      throw new Error(`onnxruntime-web BatchNormalization on [${shape}]: element ${i} is ` +
                      `${y.data[i]}, expected ${want}`);
    }
  }
  await session.run({X}, {Y});
  const preallocatedFills = !Y.data.some(Number.isNaN);
  return {
    preallocated: () => session.run({X}, {Y}),
    allocating: () => session.run({X}),
    preallocatedFills,
    release: () => session.release(),
  };
}

module.exports = {ORT_VERSION, loadOrt, ortShape, ortCalls};
