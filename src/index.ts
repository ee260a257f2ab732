/**
 * tfjs-batchnorm-inference: OpenVINO's BatchNormInference-1 for TensorFlow.js.
 *
 * The package root exports what users call. Importing it registers, once and
 * silently, the kernels (cpu, webgl, wasm, webgpu), the gradient, the layer
 * classes and the flags (src/register.ts, the one registration place).
 * Internals (kernel configs, the gradient config, the per-class registration
 * functions) are imported by path, as the tests do.
 */
import {registerBatchNormInference} from './register';

export {BatchNormInference} from '../kernels/kernel_names';
export type {BatchNormInferenceAttrs, BatchNormInferenceInputs} from '../kernels/kernel_names';
export {batchNormInference} from './ops/batch_norm_inference';
export type {BatchNormInferenceOptions} from './ops/batch_norm_inference';
export {BatchNormInferenceLayer, batchNormInferenceLayer} from './layers/batch_norm_inference/batch_norm_inference_layer';
export type {BatchNormInferenceLayerArgs, ChannelValues} from './layers/batch_norm_inference/batch_norm_inference_layer';
export {replaceBatchNormalization, replaceBatchNormalizationAsync} from './convert/replace_batch_normalization';
export {computePopulationStatistics, type LayerPopulationStatistics, type PopulationData, type PopulationProgress, type PopulationStatisticsOptions} from './convert/population_statistics';
export {foldBatchNormalization, foldBatchNormalizationAsync} from './convert/fold_batch_normalization';
export type {FoldOptions} from './convert/fold_batch_normalization';
export {formatFoldReport} from './convert/fold_report';
export type {FoldReport} from './convert/fold_report';
export {FusedConv2D, fusedConv2d} from './layers/fused/fused_conv2d';
export {FusedDepthwiseConv2D, fusedDepthwiseConv2d} from './layers/fused/fused_depthwise_conv2d';
export {FusedDense, fusedDense} from './layers/fused/fused_dense';
export type {FusedActivationName, FusedLayerArgs} from './layers/fused/fused_common';
export type {FusedConv2DArgs} from './layers/fused/fused_conv2d';
export type {FusedDepthwiseConv2DArgs} from './layers/fused/fused_depthwise_conv2d';
export type {FusedDenseArgs} from './layers/fused/fused_dense';
export {registerBatchNormInference};
export {version} from './version';
export {fileSystem} from './io/file_system';
export type {ReplaceReport, ReplaceResult} from './convert/replace_batch_normalization';
export {foldGraphModelArtifacts} from './convert/graph/fold_graph_model';
export type {GraphFoldOptions} from './convert/graph/fold_graph_model';
export {formatGraphFoldReport} from './convert/graph/graph_fold_report';
export type {GraphFoldReport} from './convert/graph/graph_fold_report';

registerBatchNormInference();
