/**
 * The `batchNormInference` op: OpenVINO's BatchNormInference-1 for tfjs.
 */
import {cast, DataType, engine, getBackend, getKernel, op, Rank, Tensor, tensor, TensorLike} from '@tensorflow/tfjs-core';

import {describeValue} from '../util/describe_value';
import {BatchNormInference, BATCH_NORM_INFERENCE_INPUT_NAMES, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../kernel_names';
import {batchNormInferenceFallback} from './batch_norm_inference_fallback';

const OP = 'batchNormInference';

/** Options of {@link batchNormInference}. */
export interface BatchNormInferenceOptions {
  /**
   * Added to the variance before the square root. Required, as in the
   * OpenVINO specification: a finite number > 0.
   */
  epsilon: number;
  /**
   * The channel axis of `x`. Default 1 ("the second dimension represents the
   * channel axis"). Negative values count from the end: -1 for tfjs's
   * channels-last (NHWC) tensors.
   */
  axis?: number;
}

/** The axis used when none is given: the spec's "second dimension". */
export const DEFAULT_AXIS = 1;

const OPTION_KEYS = ['epsilon', 'axis'];

function fail(message: string): never {
  throw new Error(`Error in ${OP}: ${message}`);
}


function isTfTypedArray(value: unknown): boolean {
  return value instanceof Float32Array || value instanceof Int32Array ||
      value instanceof Uint8Array;
}

/**
 * Nested arrays must be rectangular: tfjs infers the shape from the first
 * element of each level and would read past the end of a short row.
 */
function checkRectangular(value: unknown[], name: string) {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
  }
  const walk = (v: unknown, depth: number, path: string) => {
    const isArray = Array.isArray(v);
    if (depth === shape.length) {
      if (isArray) {
        fail(`${name} must be a rectangular nested array of shape [${shape}], but ` +
             `${name}${path} is an array where a number was expected.`);
      }
      return;
    }
    if (!isArray || (v as unknown[]).length !== shape[depth]) {
      fail(`${name} must be a rectangular nested array of shape [${shape}], but ` +
           `${name}${path} has ${isArray ? `length ${(v as unknown[]).length}` : 'no length'}.`);
    }
    (v as unknown[]).forEach((item, i) => walk(item, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, '');
}

/**
 * Turns a Tensor or TensorLike into a float32 Tensor (int32 is cast; other
 * dtypes are rejected). Tensors it makes are owned by the op's scope, so a
 * later failure leaves nothing allocated.
 */
function toFloatTensor(value: Tensor|TensorLike, name: string): Tensor {
  if (value == null) {
    fail(`${name} is required, but got ${value}.`);
  }
  let t: Tensor;
  if (value instanceof Tensor) {
    t = value;
  } else if (typeof value === 'string' || typeof value === 'boolean') {
    fail(`${name} must be a Tensor, a number, a (nested) array of numbers or a ` +
         `typed array, but got ${describeValue(value)}.`);
  } else if (ArrayBuffer.isView(value) && !isTfTypedArray(value)) {
    // Float64Array (MATLAB, numpy exports), Int16Array, ...: tfjs's tensor()
    // takes only Float32Array, Int32Array and Uint8Array.
    if (value instanceof DataView) {
      fail(`${name} must be a Tensor, a number, a (nested) array of numbers or a ` +
           `typed array, but got a DataView.`);
    }
    t = tensor(Float32Array.from(value as unknown as ArrayLike<number>));
  } else {
    if (Array.isArray(value)) checkRectangular(value, name);
    try {
      t = tensor(value);
    } catch (e) {
      fail(`${name} must be a Tensor, a number, a (nested) array of numbers or a ` +
           `typed array, but got ${describeValue(value)} (${(e as Error).message}).`);
    }
  }
  const dtype: DataType = t.dtype;
  if (dtype === 'float32') return t;
  if (dtype === 'int32') return cast(t, 'float32');
  return fail(`${name} must have dtype float32 or int32, but got ${dtype}.`);
}

function readOptions(options: BatchNormInferenceOptions|number): {epsilon: number, axis: number} {
  if (typeof options === 'number') return {epsilon: options, axis: DEFAULT_AXIS};
  if (options == null || typeof options !== 'object') {
    fail(`options must be an object {epsilon, axis?} or the epsilon number, but got ` +
         `${describeValue(options)}; epsilon is required (BatchNormInference-1 has no default).`);
  }
  const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length > 0) {
    fail(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
         `the options are 'epsilon' (required) and 'axis'.`);
  }
  const {epsilon, axis = DEFAULT_AXIS} = options;
  if (epsilon === undefined) {
    fail('epsilon is required (BatchNormInference-1 has no default), but got undefined.');
  }
  return {epsilon, axis};
}

function checkEpsilon(epsilon: unknown) {
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    fail(`epsilon must be a finite number > 0, but got ${describeValue(epsilon)}.`);
  }
}

/** Returns `axis` in 0..rank-1, or throws naming the op and what was got. */
export function normalizeChannelAxis(axis: unknown, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(`axis must be an integer in [${-rank}, ${rank - 1}] for x of rank ${rank}, ` +
         `but got ${describeValue(axis)}.`);
  }
  return axis < 0 ? axis + rank : axis;
}

function batchNormInference_<R extends Rank>(
    x: Tensor<R>|TensorLike, gamma: Tensor|TensorLike, beta: Tensor|TensorLike,
    mean: Tensor|TensorLike, variance: Tensor|TensorLike,
    options: BatchNormInferenceOptions|number): Tensor<R> {
  const {epsilon, axis: givenAxis} = readOptions(options);
  checkEpsilon(epsilon);

  const $x = toFloatTensor(x, 'x');
  if ($x.rank < 2) {
    fail(`x must have rank >= 2 (a batch axis and a channel axis at least), but got ` +
         `rank ${$x.rank} (shape [${$x.shape}]).`);
  }
  const axis = normalizeChannelAxis(givenAxis, $x.rank);
  const channels = $x.shape[axis];
  if (channels < 1) {
    fail(`x.shape[${axis}] (the channel axis) must be at least 1, but got shape [${$x.shape}].`);
  }

  const params: Tensor[] = [];
  const given = [gamma, beta, mean, variance];
  for (let i = 0; i < given.length; i++) {
    const name = BATCH_NORM_INFERENCE_INPUT_NAMES[i + 1];
    const p = toFloatTensor(given[i], name);
    if (p.rank !== 1 || p.shape[0] !== channels) {
      fail(`${name} must be a rank-1 tensor of length ${channels} (x.shape[${axis}]), but ` +
           `got shape [${p.shape}]${p.size === channels && p.rank > 1 ? ` (reshape it to [${channels}])` : ''}.`);
    }
    params.push(p);
  }

  if (getKernel(BatchNormInference, getBackend()) == null) {
    // A backend without our kernel (tfjs-node, react-native, custom): tfjs ops.
    return batchNormInferenceFallback($x as Tensor<R>, params[0], params[1], params[2], params[3],
                                      epsilon, axis);
  }
  const inputs: BatchNormInferenceInputs =
      {x: $x, gamma: params[0], beta: params[1], mean: params[2], variance: params[3]};
  const attrs: BatchNormInferenceAttrs = {epsilon, axis};
  // tslint:disable-next-line: no-unnecessary-type-assertion
  return engine().runKernel(BatchNormInference, inputs as {}, attrs as {}) as Tensor<R>;
}

/**
 * Normalizes `x` with fixed (trained) statistics, per channel, as OpenVINO's
 * BatchNormInference-1:
 *
 *     y = gamma * (x - mean) / sqrt(variance + epsilon) + beta
 *
 * Arguments are in the specification's order (input, gamma, beta, mean,
 * variance), which is not tf.batchNorm's (x, mean, variance, offset, scale).
 *
 * ```js
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);  // NCHW
 * tfbni.batchNormInference(x, [1, 2], [0, 1], [2.5, 6.5], [1.25, 1.25],
 *                          {epsilon: 1e-3}).print();
 * ```
 *
 * @param x Input of rank >= 2, float32 (int32 is cast to float32).
 * @param gamma Scale, rank 1 with `x.shape[axis]` elements.
 * @param beta Offset, rank 1 with `x.shape[axis]` elements.
 * @param mean Trained mean, rank 1 with `x.shape[axis]` elements.
 * @param variance Trained variance, rank 1 with `x.shape[axis]` elements. A
 *     negative variance is not rejected: where variance + epsilon < 0 the
 *     result is NaN.
 * @param options `{epsilon, axis = 1}`, or just the epsilon number.
 * @returns A float32 tensor of x's shape.
 */
export const batchNormInference = op({batchNormInference_});
