/**
 * The bias add and activation of the fused layers on tfjs's cpu backend, as
 * one pass over the convolution's (or product's) output.
 *
 * tfjs's cpu kernels for tf.fused.* (4.22) run the bias add (a broadcasting
 * add) and the activation as separate passes after the convolution; on cpu
 * one loop over the channels-last output does both. It is used for
 * inference only (the result has no gradient): the fused layers take it
 * when the backend is cpu and they are not called with `training: true`;
 * `setFusedCpuEpilogue(false)` turns it off (the bench compares both).
 */
import {getBackend, Tensor, tensor} from '@tensorflow/tfjs-core';

import {FusedActivationName} from './fused_common';

let enabled = true;

/** Turns the cpu single-pass bias + activation on or off (default on). */
export function setFusedCpuEpilogue(on: boolean): void {
  enabled = on;
}

/** Whether a fused layer's call should use cpuBiasActivation. */
export function useCpuEpilogue(kwargs: {[key: string]: unknown}): boolean {
  return enabled && kwargs.training !== true && getBackend() === 'cpu';
}

/** activation(y + bias) with bias along the last axis, in one pass. */
export function cpuBiasActivation(
    y: Tensor, bias: Tensor, activation: FusedActivationName, alpha: number): Tensor {
  const v = y.dataSync() as Float32Array;
  const b = bias.dataSync() as Float32Array;
  const c = b.length;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i += c) {
    for (let j = 0; j < c; j++) {
      const s = v[i + j] + b[j];
      let r: number;
      switch (activation) {
        case 'relu': r = s > 0 ? s : 0; break;
        case 'relu6': r = s > 0 ? (s < 6 ? s : 6) : 0; break;
        case 'leakyrelu': r = s > 0 ? s : alpha * s; break;
        case 'elu': r = s > 0 ? s : Math.exp(s) - 1; break;
        case 'sigmoid': r = 1 / (1 + Math.exp(-s)); break;
        default: r = s;
      }
      out[i + j] = r;
    }
  }
  return tensor(out, y.shape, 'float32');
}
