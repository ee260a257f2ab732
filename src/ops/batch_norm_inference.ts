/**
 * The `batchNormInference` op: OpenVINO's BatchNormInference-1 for tfjs.
 */
import {engine, getBackend, getKernel, op, Rank, Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {BatchNormInference, BATCH_NORM_INFERENCE_INPUT_NAMES, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../../kernels/kernel_names';
import {toFloatTensor} from '../util/args';
import {checkChannelInput, checkEpsilon, checkX, normalizeAxis} from '../../kernels/shared/checks';
import {describeValue} from '../../kernels/shared/describe_value';
import {fail} from '../../kernels/shared/fail';
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

function readOptions(options: unknown): {epsilon: unknown, axis: unknown, axisGiven: boolean} {
  if (typeof options === 'number') return {epsilon: options, axis: DEFAULT_AXIS, axisGiven: false};
  if (options == null || typeof options !== 'object' || Array.isArray(options)) {
    fail(OP, `options must be an object {epsilon, axis?} or the epsilon number, but got ` +
         `${describeValue(options)}${Array.isArray(options) ? ` (write {epsilon: ...})` : ''}; ` +
         `epsilon is required (BatchNormInference-1 has no default).`);
  }
  const record = options as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length > 0) {
    fail(OP, `unknown option${unknown.length > 1 ? 's' : ''} ` +
         `${unknown.map((k) => `'${k}'`).join(', ')}; the options are 'epsilon' (required) and 'axis'.`);
  }
  const axisGiven = record.axis !== undefined;
  return {epsilon: record.epsilon, axis: axisGiven ? record.axis : DEFAULT_AXIS, axisGiven};
}

/** How a rank < 2 x is described: typed arrays are always 1-D, say so. */
function describeLowRank(value: unknown, t: Tensor): string {
  if (ArrayBuffer.isView(value)) {
    return `${describeValue(value)} (rank 1: a typed array is 1-D); wrap it, [x], or give ` +
        `it a shape, tf.tensor(x, [batch, channels])`;
  }
  return `rank ${t.rank} (shape [${t.shape}])`;
}

function batchNormInference_<R extends Rank>(
    x: Tensor<R>|TensorLike, gamma: Tensor|TensorLike, beta: Tensor|TensorLike,
    mean: Tensor|TensorLike, variance: Tensor|TensorLike,
    options: BatchNormInferenceOptions|number): Tensor<R> {
  const {epsilon: givenEpsilon, axis: givenAxis, axisGiven} = readOptions(options);
  const epsilon = checkEpsilon(OP, givenEpsilon);

  const $x = toFloatTensor(x, OP, 'x');
  if ($x.rank < 2) checkX(OP, $x.shape, undefined, describeLowRank(x, $x));
  const axis = normalizeAxis(OP, givenAxis, $x.rank);
  checkX(OP, $x.shape, axis);

  const axisNote = axisGiven ? '' : `, with the default axis ${DEFAULT_AXIS}`;
  const params = [gamma, beta, mean, variance].map((value, i) => {
    const name = BATCH_NORM_INFERENCE_INPUT_NAMES[i + 1];
    const p = toFloatTensor(value, OP, name);
    checkChannelInput(OP, name, p.shape, $x.shape, axis, axisNote);
    return p;
  });

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
