/**
 * The one place that names the BatchNormInference kernel, its inputs and its
 * attributes. The op, every backend's kernel, the gradient and the tests import
 * from here, so a rename is one edit.
 */
import {NamedAttrMap, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

import {fail} from './shared/fail';

/** Kernel name, as in OpenVINO's opset1 (`BatchNormInference-1`). */
export const BatchNormInference = 'BatchNormInference';

/**
 * Inputs, in the order of the OpenVINO specification: input, gamma, beta,
 * mean, variance. `x` has rank >= 2; the other four are rank 1 with
 * `x.shape[axis]` elements.
 */
export type BatchNormInferenceInputs =
    Pick<NamedTensorInfoMap, 'x'|'gamma'|'beta'|'mean'|'variance'>;

/** The input names in kernel order (useful for gradients and messages). */
export const BATCH_NORM_INFERENCE_INPUT_NAMES =
    ['x', 'gamma', 'beta', 'mean', 'variance'] as const;

export interface BatchNormInferenceAttrs extends NamedAttrMap {
  /** Added to the variance; a finite number > 0 (required by the spec). */
  epsilon: number;
  /**
   * The channel axis of `x`. The op passes it normalized to 0..rank-1;
   * kernels also accept a negative axis (counted from the end).
   */
  axis: number;
}

/** The five inputs, each present (what a kernel works with). */
export type BatchNormInferenceTensors = {
  [K in typeof BATCH_NORM_INFERENCE_INPUT_NAMES[number]]: TensorInfo
};

/**
 * Checks that a kernel was given all five inputs (the op always passes them;
 * this guards direct `engine().runKernel` calls) and returns them typed.
 * `who` names the kernel in the message: `BatchNormInference (cpu)`.
 */
export function missingInputs(
    who: string, inputs: BatchNormInferenceInputs): BatchNormInferenceTensors {
  const missing = BATCH_NORM_INFERENCE_INPUT_NAMES.filter((name) => inputs?.[name] == null);
  if (missing.length > 0) {
    fail(who, `inputs ${BATCH_NORM_INFERENCE_INPUT_NAMES.join(', ')} are required, but ` +
         `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.`);
  }
  return inputs as BatchNormInferenceTensors;
}
