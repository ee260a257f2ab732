/**
 * Everything the package exports, with no side effect: importing this file
 * registers nothing. `index.ts` re-exports it and registers on import.
 */
export {BatchNormInference, BATCH_NORM_INFERENCE_INPUT_NAMES} from './kernel_names';
export type {BatchNormInferenceAttrs, BatchNormInferenceInputs} from './kernel_names';
export {batchNormInference, DEFAULT_AXIS} from './ops/batch_norm_inference';
export type {BatchNormInferenceOptions} from './ops/batch_norm_inference';
export {batchNormInferenceGradConfig} from './ops/batch_norm_inference_grad';
export {BatchNormInferenceLayer, batchNormInferenceLayer, DEFAULT_LAYER_AXIS, DEFAULT_LAYER_EPSILON, registerBatchNormInferenceLayer} from './layers/batch_norm_inference_layer';
export type {BatchNormInferenceLayerArgs, ChannelValues} from './layers/batch_norm_inference_layer';
export {replaceBatchNormalization} from './convert/replace_batch_normalization';
export {computePopulationStatistics, type LayerPopulationStatistics, type PopulationData, type PopulationProgress, type PopulationStatisticsOptions} from './convert/population_statistics';
export {kernelConfigs, registerBatchNormInference} from './register';
export {version} from './version';
