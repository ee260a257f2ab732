/**
 * Everything the package exports, with no side effect: importing this file
 * registers nothing. `index.ts` re-exports it and registers on import.
 */
export {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs} from './kernel_names';
export {batchNormInference, BatchNormInferenceOptions, DEFAULT_AXIS} from './batch_norm_inference';
export {batchNormInferenceGradConfig} from './batch_norm_inference_grad';
export {kernelConfigs, registerBatchNormInference} from './register';
export {version} from './version';
