/**
 * Gradient of BiasActivation (y = activation(s), s = x + bias along the last
 * axis), with tf ops, for both inputs:
 *   dx    = dy * activation'(s)
 *   dbias = sum of dx over every axis but the last
 * with tfjs's derivatives of its activations (relu: s > 0; relu6:
 * 0 < s <= 6; leakyrelu: 1 or alpha; elu: 1 or y + 1; sigmoid: y (1 - y)).
 */
import {add, cast, GradConfig, greater, lessEqual, logicalAnd, mul, NamedAttrMap, onesLike, scalar, sub, sum, Tensor, where} from '@tensorflow/tfjs-core';

import {BiasActivation, BiasActivationAttrs} from '../../kernels/kernel_names';

function activationDerivative(s: Tensor, y: Tensor, attrs: BiasActivationAttrs): Tensor {
  const positive = () => greater(s, 0);
  switch (attrs.activation) {
    case 'relu': return cast(positive(), 'float32');
    case 'relu6': return cast(logicalAnd(positive(), lessEqual(s, 6)), 'float32');
    case 'leakyrelu': return where(positive(), onesLike(s), scalar(attrs.leakyreluAlpha));
    case 'elu': return where(positive(), onesLike(s), add(y, 1));
    case 'sigmoid': return mul(y, sub(1, y));
    default: return onesLike(s);
  }
}

export const biasActivationGradConfig: GradConfig = {
  kernelName: BiasActivation,
  inputsToSave: ['x', 'bias'],
  outputsToSave: [true],
  gradFunc: (dy: Tensor|Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, bias, y] = saved;
    const dx = () => mul(dy as Tensor, activationDerivative(add(x, bias), y, attrs as BiasActivationAttrs));
    const batchAxes = Array.from({length: x.rank - 1}, (_, i) => i);
    return {x: dx, bias: () => sum(dx(), batchAxes)};
  },
};
