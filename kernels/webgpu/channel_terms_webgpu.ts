/**
 * The channel terms program of the BatchNormInference webgpu kernel: from the
 * four statistics to the `terms` buffer the main program reads, 3 * C floats in
 * three rows, mean, scale = gamma / sqrt(variance + epsilon) and beta.
 *
 * One invocation per value (3 * C of them): tiny next to the main program,
 * and run once per set of statistics (the kernel caches its output).
 * `epsilon` and `channels` are uniforms: a new epsilon or channel count
 * reuses the compiled pipeline. sqrt of a negative variance + epsilon is NaN
 * and a zero one gives an infinite scale, as IEEE arithmetic does.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

import {WORKGROUP_SIZE} from './batch_norm_inference_webgpu';

export class ChannelTermsProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'batchNormInferenceChannelTerms';
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  variableNames = ['gamma', 'beta', 'mean', 'variance'];
  uniforms = 'channels : i32, epsilon : f32,';
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  size = true;

  constructor(channels: number) {
    this.outputShape = [3 * channels];
    this.dispatch = [Math.ceil(3 * channels / WORKGROUP_SIZE), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let row = index / uniforms.channels;
          let c = index - row * uniforms.channels;
          // f32(): a statistic's buffer may hold int32 data (see the main program).
          var value = f32(mean[c]);
          if (row == 1) {
            value = f32(gamma[c]) / sqrt(f32(variance[c]) + uniforms.epsilon);
          } else if (row == 2) {
            value = f32(beta[c]);
          }
          setOutputAtIndex(index, value);
        }
      }
    `;
  }
}
