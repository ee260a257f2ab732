/**
 * Everything the package exports, with no side effect: importing this file
 * registers nothing. `index.ts` re-exports it and registers on import.
 */
export {BatchNormInference, BATCH_NORM_INFERENCE_INPUT_NAMES} from '../kernels/kernel_names';
export type {BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../kernels/kernel_names';
export {batchNormInference, DEFAULT_AXIS} from './ops/batch_norm_inference';
export type {BatchNormInferenceOptions} from './ops/batch_norm_inference';
export {batchNormInferenceGradConfig} from './ops/batch_norm_inference_grad';
export {BatchNormInferenceLayer, batchNormInferenceLayer, DEFAULT_LAYER_AXIS, DEFAULT_LAYER_EPSILON, registerBatchNormInferenceLayer} from './layers/batch_norm_inference/batch_norm_inference_layer';
export type {BatchNormInferenceLayerArgs, ChannelValues} from './layers/batch_norm_inference/batch_norm_inference_layer';
export {replaceBatchNormalization, replaceBatchNormalizationAsync} from './convert/replace_batch_normalization';
export type {ReplaceReport, ReplaceResult} from './convert/replace_batch_normalization';
export {computePopulationStatistics, type LayerPopulationStatistics, type PopulationData, type PopulationProgress, type PopulationStatisticsOptions} from './convert/population_statistics';
export {kernelConfigs, registerBatchNormInference} from './register';
export {version} from './version';
export {fileSystem} from './io/file_system';
export {foldBatchNormalization, foldBatchNormalizationAsync} from './convert/fold_batch_normalization';
export type {FoldOptions} from './convert/fold_batch_normalization';
export {formatFoldReport} from './convert/fold_report';
export type {FoldReport} from './convert/fold_report';
export {FusedConv2D, fusedConv2d} from './layers/fused/fused_conv2d';
export {FusedDepthwiseConv2D, fusedDepthwiseConv2d} from './layers/fused/fused_depthwise_conv2d';
export {FusedDense, fusedDense} from './layers/fused/fused_dense';
export {FUSED_ACTIVATIONS} from './layers/fused/fused_common';
export type {FusedActivationName, FusedLayerArgs} from './layers/fused/fused_common';
export type {FusedConv2DArgs} from './layers/fused/fused_conv2d';
export type {FusedDepthwiseConv2DArgs} from './layers/fused/fused_depthwise_conv2d';
export type {FusedDenseArgs} from './layers/fused/fused_dense';
export {registerFusedLayers} from './layers/fused/fused_register';
export {setFusedCpuEpilogue} from './layers/fused/fused_cpu_epilogue';
