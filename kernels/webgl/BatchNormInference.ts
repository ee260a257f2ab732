// Placeholder: the webgl kernel is being written (issue #3).
import {KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {BatchNormInference} from '../../src/kernel_names';

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'webgl',
  kernelFunc: (): TensorInfo => {
    throw new Error('BatchNormInference: webgl kernel not implemented yet');
  },
};
