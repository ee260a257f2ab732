/**
 * The arithmetic of folding a batch norm into the layer before it, in
 * float64: with s = gamma / sqrt(variance + epsilon) per output channel,
 *
 *     kernel' = kernel * s          (along the kernel's output-channel axis)
 *     bias'   = (bias - mean) * s + beta     (bias = 0 when the layer had none)
 *
 * rounded once to float32.
 */
import {Tensor, tensor} from '@tensorflow/tfjs-core';

import {fail} from '../../kernels/shared/fail';
import {readValues} from '../util/read_values';

const OP = 'foldBatchNormalization';

/** The batch norm's statistics; gamma/beta undefined for scale/center false. */
export interface BatchNormStatistics {
  gamma?: ArrayLike<number>;
  beta?: ArrayLike<number>;
  mean: ArrayLike<number>;
  variance: ArrayLike<number>;
  epsilon: number;
}

/** The layer kinds a batch norm folds into, and the weight it scales. */
export const FOLDABLE_KERNELS: Record<string, string> = {
  Conv1D: 'kernel',
  Conv2D: 'kernel',
  Conv3D: 'kernel',
  Dense: 'kernel',
  Conv2DTranspose: 'kernel',
  DepthwiseConv2D: 'depthwise_kernel',
  SeparableConv2D: 'pointwise_kernel',
};

/**
 * How a flat kernel index maps to its output channel: channel =
 * floor(i / inner) % channels.
 * - most kernels: [..., in, out], the last axis (inner 1);
 * - Conv2DTranspose: [h, w, out, in] (inner = in);
 * - DepthwiseConv2D: [h, w, in, multiplier], channel in * multiplier + m,
 *   i.e. the last two axes read as one.
 */
function channelLayout(kind: string, shape: number[]): {inner: number, channels: number} {
  const r = shape.length;
  if (kind === 'Conv2DTranspose') return {inner: shape[r - 1], channels: shape[r - 2]};
  if (kind === 'DepthwiseConv2D') return {inner: 1, channels: shape[r - 2] * shape[r - 1]};
  return {inner: 1, channels: shape[r - 1]};
}

/**
 * The folded weights of a layer of kind `kind`, by short weight name
 * ('kernel' / 'depthwise_kernel' / 'pointwise_kernel', 'bias'); the caller
 * disposes them. `weights` are the layer's current weights by short name.
 */
export function foldedWeights(
    layerName: string, kind: string, weights: Map<string, Tensor>,
    bn: BatchNormStatistics): Map<string, Tensor> {
  const kernelName = FOLDABLE_KERNELS[kind];
  const kernel = weights.get(kernelName);
  if (kernel === undefined) fail(OP, `layer '${layerName}' (${kind}) has no '${kernelName}' weight.`);
  const {inner, channels} = channelLayout(kind, kernel.shape);
  if (bn.mean.length !== channels) {
    fail(OP, `layer '${layerName}' (${kind}) has ${channels} output channels but its batch norm ` +
         `has ${bn.mean.length} statistics.`);
  }
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const gamma = bn.gamma === undefined ? 1 : bn.gamma[c];
    scale[c] = gamma / Math.sqrt(bn.variance[c] + bn.epsilon);
  }
  const w = readValues(kernel);
  const newKernel = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) newKernel[i] = w[i] * scale[Math.floor(i / inner) % channels];
  const biasWeight = weights.get('bias');
  const bias = biasWeight === undefined ? undefined : readValues(biasWeight);
  const newBias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const beta = bn.beta === undefined ? 0 : bn.beta[c];
    newBias[c] = ((bias === undefined ? 0 : bias[c]) - bn.mean[c]) * scale[c] + beta;
  }
  const out = new Map<string, Tensor>();
  for (const [name, t] of weights) {
    if (name !== kernelName && name !== 'bias') out.set(name, t.clone());
  }
  out.set(kernelName, tensor(newKernel, kernel.shape, 'float32'));
  out.set('bias', tensor(newBias, [channels], 'float32'));
  return out;
}
