/**
 * BatchNormInference with standard tfjs ops, for backends this package has no
 * kernel for (tfjs-node's 'tensorflow', react-native, custom backends). The
 * op takes this path when the active backend has no BatchNormInference
 * kernel; its arguments are already checked and converted by then.
 *
 *     y = (x - mean) * (gamma / sqrt(variance + epsilon)) + beta
 *
 * The per-channel vectors are reshaped to [C, 1, ..., 1] (C followed by one 1
 * per axis after the channel axis), so they broadcast along `axis` for every
 * rank and axis without a transpose. The centred form keeps x - mean exact
 * when x and mean are close and does not overflow where the result does not
 * (see kernels/webgpu/batch_norm_inference_webgpu.ts). Every step is a
 * differentiable tfjs op, so tf.grad works through it without the kernel's
 * registered gradient. Nothing is printed.
 */
import {add, div, mul, reshape, scalar, sqrt, sub, Tensor, tidy} from '@tensorflow/tfjs-core';

import {channelBroadcastShape} from '../../kernels/shared/channel_axis';

/**
 * y = (x - mean) * gamma / sqrt(variance + epsilon) + beta along `axis`, with
 * tfjs ops; the op calls it with checked, converted arguments.
 *
 * @param x float32, rank >= 2.
 * @param gamma, beta, mean, variance float32, rank 1, x.shape[axis] elements.
 * @param epsilon a finite number > 0.
 * @param axis the channel axis, already normalized to 0..rank-1.
 */
export function batchNormInferenceFallback<T extends Tensor>(
    x: T, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, epsilon: number,
    axis: number): T {
  return tidy(() => {
    const perChannel = channelBroadcastShape(x.shape[axis], x.rank, axis);
    const scale = div(reshape(gamma, perChannel), sqrt(add(reshape(variance, perChannel),
                                                           scalar(epsilon))));
    return add(mul(sub(x, reshape(mean, perChannel)), scale), reshape(beta, perChannel)) as T;
  });
}
