/**
 * The one place that names the BatchNormInference kernel, its inputs and its
 * attributes. The op, every backend's kernel, the gradient and the tests import
 * from here, so a rename is one edit.
 */
import {NamedAttrMap, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

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

/** Attributes of the BatchNormInference kernel (the op fills them from its options). */
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
 * The fused layers' bias add and activation as one pass (a kernel on cpu; the
 * `biasActivation` op runs tf ops on other backends): `activation(x + bias)`
 * with `bias` along the last axis of x. Its gradient: src/ops/bias_activation_grad.ts.
 */
export const BiasActivation = 'TfbniBiasActivation';

/** `x` of rank >= 1, float32; `bias` rank 1 with x's last dimension. */
export type BiasActivationInputs = Pick<NamedTensorInfoMap, 'x'|'bias'>;

/**
 * The activations tf.fused.conv2d / depthwiseConv2d / matMul run inside the
 * kernel ('prelu' needs a weight tensor and is not offered), which the fused
 * layers and BiasActivation accept.
 */
export const FUSED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const;
/** The name of an activation the fused layers run inside their kernel (one of FUSED_ACTIVATIONS). */
export type FusedActivationName = typeof FUSED_ACTIVATIONS[number];

export interface BiasActivationAttrs extends NamedAttrMap {
  activation: FusedActivationName;
  /** The slope of 'leakyrelu' for negative inputs (ignored by the others). */
  leakyreluAlpha: number;
}
