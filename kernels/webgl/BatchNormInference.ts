/**
 * BatchNormInference on the webgl backend.
 *
 * One GPU pass per call when the statistics are unchanged: the per-channel
 * terms (scale and shift, plus mean/2 and beta/2 for the centred form) are
 * made once per set of statistics and cached, keyed by the statistics'
 * identity (channel_terms.ts, kernels/shared/params_cache.ts);
 * the call then runs only the main program over x (batch_norm_inference_gpu.ts),
 * packed (vec4, WEBGL_PACK) or unpacked.
 *
 * The channel index comes from the output coordinates, so any rank the
 * backend supports (2..6 here) and any axis work without a transpose. Every
 * intermediate is disposed before returning; the cached terms are released
 * when one of their statistics is.
 */
import {env, KernelConfig, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {BatchNormInference} from '../kernel_names';
import {fail} from '../shared/fail';
import {BatchNormInferenceKernelArgs, batchNormInferenceKernelConfig, checkKernelInputs} from '../shared/check_inputs';

import {BatchNormInferencePackedProgram, BatchNormInferenceProgram} from './batch_norm_inference_gpu';
import {channelTerms} from './channel_terms';
import {textureFacts} from './texture_facts';

/** The highest rank tfjs-backend-webgl's shader compiler handles. */
export const MAX_WEBGL_RANK = 6;

export function batchNormInference(args: BatchNormInferenceKernelArgs<MathBackendWebGL>): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance, axis, epsilon} = checkKernelInputs(inputs, attrs, 'webgl');
  if (x.shape.length > MAX_WEBGL_RANK) {
    fail(`${BatchNormInference} (webgl)`,
         `x must have rank 2 to ${MAX_WEBGL_RANK} on webgl, but got shape [${x.shape}].`);
  }
  if (util.sizeFromShape(x.shape) === 0) {
    return backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0));
  }
  const packed = env().getBool('WEBGL_PACK');
  const statistics = [gamma, beta, mean, variance];
  const facts = textureFacts(backend, x, statistics, packed);
  const {value: {terms, marker}, transient} =
      channelTerms(backend, statistics, facts.cpuStatistics, epsilon, packed);
  const program = packed ?
      new BatchNormInferencePackedProgram(x.shape, axis, facts.xHasOutputLayout) :
      new BatchNormInferenceProgram(x.shape, axis);
  try {
    return backend.runWebGLProgram(program, [x, terms], 'float32', [[marker]]);
  } finally {
    if (transient) backend.disposeIntermediateTensorInfo(terms);
  }
}

export const batchNormInferenceConfig: KernelConfig =
    batchNormInferenceKernelConfig('webgl', batchNormInference);
