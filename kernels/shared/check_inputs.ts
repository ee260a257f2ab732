/**
 * The one input checker every backend's BatchNormInference kernel calls first.
 * The op already checks its arguments; kernels check again because they can be
 * run directly with `engine().runKernel(BatchNormInference, inputs, attrs)`.
 * The messages are built by the op's own checks (src/util/checks.ts), so both
 * word a problem the same way.
 */
import {TensorInfo} from '@tensorflow/tfjs-core';

import {BATCH_NORM_INFERENCE_INPUT_NAMES, BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs, missingInputs} from '../kernel_names';
import {checkChannelInput, checkDtype, checkEpsilon, checkX, normalizeAxis} from './checks';

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
 * Checks presence, dtypes (float32: the op casts int32 before the kernel),
 * ranks, lengths, axis and epsilon; throws
 * `Error in BatchNormInference (<backend>): ...` naming the input.
 */
export function checkKernelInputs(
    inputs: BatchNormInferenceInputs, attrs: BatchNormInferenceAttrs,
    backendName: string): CheckedKernelInputs {
  const who = `${BatchNormInference} (${backendName})`;
  const checked = missingInputs(who, inputs);
  for (const name of BATCH_NORM_INFERENCE_INPUT_NAMES) {
    checkDtype(who, name, checked[name].dtype, ['float32']);
  }
  const {x} = checked;
  checkX(who, x.shape, undefined);
  const {epsilon, axis: givenAxis} = (attrs ?? {}) as Partial<BatchNormInferenceAttrs>;
  checkEpsilon(who, epsilon, 'attr epsilon');
  const axis = normalizeAxis(who, givenAxis, x.shape.length, 'attr axis');
  checkX(who, x.shape, axis);
  for (const name of BATCH_NORM_INFERENCE_INPUT_NAMES.slice(1)) {
    checkChannelInput(who, name, checked[name].shape, x.shape, axis);
  }
  const {gamma, beta, mean, variance} = checked;
  return {x, gamma, beta, mean, variance, axis, epsilon: epsilon!, channels: x.shape[axis]};
}
