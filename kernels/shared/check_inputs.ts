/**
 * The one input checker every backend's BatchNormInference kernel calls first.
 * The op already checks its arguments; kernels check again because they can be
 * run directly with `engine().runKernel(BatchNormInference, inputs, attrs)`.
 */
import {TensorInfo} from '@tensorflow/tfjs-core';

import {BATCH_NORM_INFERENCE_INPUT_NAMES, BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../../src/kernel_names';
import {describeValue} from '../../src/util/describe_value';
import {fail} from '../../src/util/fail';

/** What a kernel works with once its inputs are checked. */
export interface CheckedKernelInputs {
  x: TensorInfo;
  gamma: TensorInfo;
  beta: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  /** The channel axis, normalized to 0..rank-1. */
  axis: number;
  epsilon: number;
  /** x.shape[axis]. */
  channels: number;
}

/**
 * Checks presence, dtypes, ranks, lengths, axis and epsilon; throws
 * `Error in BatchNormInference (<backend>): ...` naming the input.
 */
export function checkKernelInputs(
    inputs: BatchNormInferenceInputs, attrs: BatchNormInferenceAttrs,
    backendName: string): CheckedKernelInputs {
  const who = `${BatchNormInference} (${backendName})`;
  const missing = BATCH_NORM_INFERENCE_INPUT_NAMES.filter((name) => inputs[name] == null);
  if (missing.length > 0) {
    fail(who, `inputs ${BATCH_NORM_INFERENCE_INPUT_NAMES.join(', ')} are required, but ` +
         `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.`);
  }
  for (const name of BATCH_NORM_INFERENCE_INPUT_NAMES) {
    const dtype = inputs[name]!.dtype;
    if (dtype !== 'float32') fail(who, `${name} must have dtype float32, but got ${dtype}.`);
  }
  const x = inputs.x!;
  const rank = x.shape.length;
  if (rank < 2) {
    fail(who, `x must have rank >= 2 (a batch axis and a channel axis at least), but got ` +
         `rank ${rank} (shape [${x.shape}]).`);
  }
  const {epsilon, axis: givenAxis} = attrs ?? ({} as BatchNormInferenceAttrs);
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    fail(who, `attr epsilon must be a finite number > 0, but got ${describeValue(epsilon)}.`);
  }
  if (typeof givenAxis !== 'number' || !Number.isInteger(givenAxis) || givenAxis < -rank ||
      givenAxis >= rank) {
    fail(who, `attr axis must be an integer in [${-rank}, ${rank - 1}] for x of rank ${rank}, ` +
         `but got ${describeValue(givenAxis)}.`);
  }
  const axis = givenAxis < 0 ? givenAxis + rank : givenAxis;
  const channels = x.shape[axis];
  if (channels < 1) {
    fail(who, `x.shape[${axis}] (the channel axis) must be at least 1, but got shape [${x.shape}].`);
  }
  for (const name of BATCH_NORM_INFERENCE_INPUT_NAMES.slice(1)) {
    const shape = inputs[name]!.shape;
    if (shape.length !== 1 || shape[0] !== channels) {
      fail(who, `${name} must be a rank-1 tensor of length ${channels} (x.shape[${axis}]), but ` +
           `got shape [${shape}].`);
    }
  }
  return {
    x, gamma: inputs.gamma!, beta: inputs.beta!, mean: inputs.mean!, variance: inputs.variance!,
    axis, epsilon, channels,
  };
}
