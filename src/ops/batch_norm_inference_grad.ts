/**
 * Gradient of BatchNormInference with respect to all five inputs.
 *
 * With s = 1 / sqrt(variance + epsilon) and sums taken over every axis but
 * the channel axis:
 *   dx        = dy * gamma * s
 *   dgamma    = sum(dy * (x - mean)) * s
 *   dbeta     = sum(dy)
 *   dmean     = -sum(dy) * gamma * s
 *   dvariance = -0.5 * sum(dy * (x - mean)) * gamma * s^3
 */
import {add, GradConfig, mul, neg, NamedAttrMap, reshape, rsqrt, scalar, sub, sum, Tensor} from '@tensorflow/tfjs-core';

import {BatchNormInference, BatchNormInferenceAttrs} from '../../kernels/kernel_names';
import {axisIndex, channelBroadcastShape, reductionAxes} from '../../kernels/shared/channel_axis';

export const batchNormInferenceGradConfig: GradConfig = {
  kernelName: BatchNormInference,
  inputsToSave: ['x', 'gamma', 'mean', 'variance'],
  gradFunc: (dy: Tensor|Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const $dy = dy as Tensor;
    const [x, gamma, mean, variance] = saved;
    const {epsilon, axis: givenAxis} = attrs as BatchNormInferenceAttrs;
    const rank = x.rank;
    const axis = axisIndex(givenAxis, rank);
    const paramShape = channelBroadcastShape(x.shape[axis], rank, axis);
    const sumAxes = reductionAxes(rank, axis);
    const invStd = () => rsqrt(add(variance, scalar(epsilon)));
    const sumDyCentered = () =>
        sum(mul($dy, sub(x, reshape(mean, paramShape))), sumAxes);
    return {
      x: () => mul($dy, reshape(mul(gamma, invStd()), paramShape)),
      gamma: () => mul(sumDyCentered(), invStd()),
      beta: () => sum($dy, sumAxes),
      mean: () => neg(mul(sum($dy, sumAxes), mul(gamma, invStd()))),
      variance: () => {
        const s = invStd();
        return mul(mul(sumDyCentered(), mul(gamma, mul(s, mul(s, s)))), scalar(-0.5));
      },
    };
  },
};
