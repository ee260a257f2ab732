/**
 * The arithmetic of the BatchNormInference layer in training mode, as
 * MATLAB's batchNormalizationLayer trains:
 *
 *     mu_B     = mean of x over every axis but the channel axis
 *     sigma2_B = mean of (x - mu_B)^2 over the same axes   (divided by N)
 *     y        = Scale * (x - mu_B) / sqrt(sigma2_B + Epsilon) + Offset
 *
 * then, after the step, the running estimates
 *
 *     TrainedMean     <- MeanDecay * mu_B         + (1 - MeanDecay) * TrainedMean
 *     TrainedVariance <- VarianceDecay * sigma2_B + (1 - VarianceDecay) * TrainedVariance
 *
 * `y` is computed by the `batchNormInference` op fed with the batch moments:
 * the op's gradient covers its mean and variance inputs and `tf.moments`
 * covers their dependence on x, so the composition has the full batch-norm
 * gradient without a second kernel.
 */
import {add, customGrad, GradSaveFunc, mul, moments, Scalar, scalar, sum, square, Tensor} from '@tensorflow/tfjs-core';

import {batchNormInference} from '../../ops/batch_norm_inference';

/** MATLAB's default MeanDecay and VarianceDecay. */
export const DEFAULT_DECAY = 0.1;
/** MATLAB's default L2Regularization (trainingOptions). */
export const DEFAULT_L2_REGULARIZATION = 1e-4;

/** Every axis of a rank-`rank` tensor but `axis` (non-negative). */
export function reductionAxes(rank: number, axis: number): number[] {
  const axes: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (i !== axis) axes.push(i);
  }
  return axes;
}

/** The normalized output and the mini-batch statistics it used. */
export interface BatchStatistics {
  output: Tensor;
  /** Per-channel mean of the mini-batch, shape [C]. */
  mean: Tensor;
  /** Per-channel variance of the mini-batch divided by N, shape [C]. */
  variance: Tensor;
}

/**
 * Normalizes float32 `x` with its own per-channel statistics (`axis`
 * non-negative). Differentiable with respect to x, gamma and beta.
 */
export function normalizeWithBatchStatistics(
    x: Tensor, gamma: Tensor, beta: Tensor, axis: number, epsilon: number): BatchStatistics {
  const {mean, variance} = moments(x, reductionAxes(x.rank, axis));
  const output = batchNormInference(x, gamma, beta, mean, variance, {epsilon, axis});
  return {output, mean, variance};
}

/** `decay * batch + (1 - decay) * running`, MATLAB's update of a running statistic. */
export function movingAverage(running: Tensor, batch: Tensor, decay: number): Tensor {
  return add(mul(batch, scalar(decay)), mul(running, scalar(1 - decay)));
}

/**
 * `x` unchanged, with its gradient multiplied by `factor`: MATLAB's
 * per-parameter learn-rate factor, applied to whatever reaches the weight
 * (the loss and the L2 penalty alike). A factor of 0 freezes the weight for
 * any optimizer whose step is zero for a zero gradient (SGD, momentum, Adam,
 * RMSProp from a fresh state).
 */
export function scaleGradient(x: Tensor, factor: number): Tensor {
  if (factor === 1) return x;
  const scaled = customGrad((...args: Array<Tensor|GradSaveFunc>) => ({
    value: (args[0] as Tensor).clone(),
    gradFunc: (dy: Tensor) => mul(dy, scalar(factor)),
  }));
  return scaled(x);
}

/**
 * MATLAB's L2 penalty of one weight: `coefficient / 2 * sum(w^2)`, whose
 * gradient is `coefficient * w` (coefficient = L2Regularization * L2Factor).
 */
export function l2Penalty(w: Tensor, coefficient: number): Scalar {
  return mul(sum(square(w)), scalar(coefficient / 2));
}
