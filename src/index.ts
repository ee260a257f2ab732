/**
 * tfjs-batchnorm-inference: OpenVINO's BatchNormInference-1 for TensorFlow.js.
 * Importing this module registers the kernels (cpu, webgl), the gradient and
 * the layer class.
 */
import {registerBatchNormInference} from './register';

export * from './base';

registerBatchNormInference();
