/**
 * The one input checker every backend's BatchNormInference kernel calls first.
 * The op already checks its arguments; kernels check again because they can be
 * run directly with `engine().runKernel(BatchNormInference, inputs, attrs)`.
 * The messages are built by the op's own checks (kernels/shared/checks.ts), so both
 * word a problem the same way.
 */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';

import {BATCH_NORM_INFERENCE_INPUT_NAMES, BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs, BatchNormInferenceTensors} from '../kernel_names';
import {checkChannelShape, checkDtypeOf, checkedAxis, checkedEpsilon, checkXShape} from './checks';
import {fail} from './fail';

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
 * Checks that a kernel was given all five inputs (the op always passes them;
 * this guards direct `engine().runKernel` calls) and returns them typed.
 */
function presentInputs(who: string, inputs: BatchNormInferenceInputs): BatchNormInferenceTensors {
  const missing = BATCH_NORM_INFERENCE_INPUT_NAMES.filter((name) => inputs?.[name] == null);
  if (missing.length > 0) {
    fail(who, `inputs ${BATCH_NORM_INFERENCE_INPUT_NAMES.join(', ')} are required, but ` +
         `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.`);
  }
  return inputs as BatchNormInferenceTensors;
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
  const checked = presentInputs(who, inputs);
  for (const name of BATCH_NORM_INFERENCE_INPUT_NAMES) {
    checkDtypeOf(checked[name].dtype, name, who, ['float32']);
  }
  const {x} = checked;
  checkXShape(x.shape, who, undefined);
  const {epsilon, axis: givenAxis} = (attrs ?? {}) as Partial<BatchNormInferenceAttrs>;
  checkedEpsilon(epsilon, 'attr epsilon', who);
  const axis = checkedAxis(givenAxis, 'attr axis', who, x.shape.length);
  checkXShape(x.shape, who, axis);
  for (const name of BATCH_NORM_INFERENCE_INPUT_NAMES.slice(1)) {
    checkChannelShape(checked[name].shape, name, who, x.shape, axis);
  }
  const {gamma, beta, mean, variance} = checked;
  return {x, gamma, beta, mean, variance, axis, epsilon: epsilon!, channels: x.shape[axis]};
}

/** What every backend's kernel function is given. */
export interface BatchNormInferenceKernelArgs<Backend> {
  inputs: BatchNormInferenceInputs;
  backend: Backend;
  attrs: BatchNormInferenceAttrs;
}

/**
 * The KernelConfig of a backend's BatchNormInference kernel: the one place
 * the typed kernel function is widened to tfjs's KernelFunc.
 */
export function batchNormInferenceKernelConfig<Backend>(
    backendName: string, kernelFunc: (args: BatchNormInferenceKernelArgs<Backend>) => TensorInfo):
    KernelConfig {
  return {kernelName: BatchNormInference, backendName, kernelFunc: kernelFunc as unknown as KernelFunc};
}
