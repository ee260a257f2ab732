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
import {axisIndex} from '../../kernels/shared/checks';

export const batchNormInferenceGradConfig: GradConfig = {
  kernelName: BatchNormInference,
  inputsToSave: ['x', 'gamma', 'mean', 'variance'],
  gradFunc: (dy: Tensor|Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const $dy = dy as Tensor;
    const [x, gamma, mean, variance] = saved;
    const {epsilon, axis: givenAxis} = attrs as BatchNormInferenceAttrs;
    const rank = x.rank;
    const axis = axisIndex(givenAxis, rank);
    const channels = x.shape[axis];
    // [C, 1, ..., 1]: broadcasts a per-channel vector against x.
    const paramShape = [channels, ...new Array(rank - axis - 1).fill(1)];
    const reductionAxes: number[] = [];
    for (let i = 0; i < rank; i++) {
      if (i !== axis) reductionAxes.push(i);
    }
    const invStd = () => rsqrt(add(variance, scalar(epsilon)));
    const sumDyCentered = () =>
        sum(mul($dy, sub(x, reshape(mean, paramShape))), reductionAxes);
    return {
      x: () => mul($dy, reshape(mul(gamma, invStd()), paramShape)),
      gamma: () => mul(sumDyCentered(), invStd()),
      beta: () => sum($dy, reductionAxes),
      mean: () => neg(mul(sum($dy, reductionAxes), mul(gamma, invStd()))),
      variance: () => {
        const s = invStd();
        return mul(mul(sumDyCentered(), mul(gamma, mul(s, mul(s, s)))), scalar(-0.5));
      },
    };
  },
};
