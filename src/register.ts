/**
 * The one registration place: the kernels, the gradient, the layer classes
 * and the flags. Explicit and idempotent: importing the package (src/index.ts)
 * calls it once; calling it again registers nothing twice and prints nothing.
 */
import {getGradient, getKernel, GradConfig, KernelConfig, registerGradient, registerKernel} from '@tensorflow/tfjs-core';

import {batchNormInferenceConfig as cpuConfig} from '../kernels/cpu/BatchNormInference';
import {GRAPH_FUSED_BATCH_NORM_FLAG, registerFlags} from '../kernels/flags';
import {batchNormInferenceConfig as wasmConfig} from '../kernels/wasm/BatchNormInference';
import {batchNormInferenceConfig as webglConfig} from '../kernels/webgl/BatchNormInference';
import {batchNormInferenceConfig as webgpuConfig} from '../kernels/webgpu/BatchNormInference';
import {biasActivationConfig as cpuBiasActivationConfig} from '../kernels/cpu/BiasActivation';
import {biasActivationGradConfig} from './ops/bias_activation_grad';
import {registerBatchNormInferenceLayer} from './layers/batch_norm_inference/batch_norm_inference_layer';
import {registerFusedLayers} from './layers/fused/fused_register';
import {batchNormInferenceGradConfig} from './ops/batch_norm_inference_grad';
import {registerGraphFusedBatchNorm, setGraphFusedBatchNorm} from './ops/fused_batch_norm_graph_op';

/** The kernel configs this package provides, one per backend. */
export const kernelConfigs: KernelConfig[] =
    [cpuConfig, webglConfig, wasmConfig, webgpuConfig, cpuBiasActivationConfig];

function registerKernelOnce(config: KernelConfig) {
  if (getKernel(config.kernelName, config.backendName) == null) {
    registerKernel(config);
  }
}

function registerGradientOnce(config: GradConfig) {
  if (getGradient(config.kernelName) == null) {
    registerGradient(config);
  }
}

/**
 * Registers the package with tfjs: the BatchNormInference kernels (cpu,
 * webgl, wasm, webgpu), its gradient, the layer classes (for `model.save` and
 * `tf.loadLayersModel`), the flags (kernels/flags.ts) and, unless the
 * TFBNI_GRAPH_FUSED_BATCH_NORM flag is false, FusedBatchNorm / V2 / V3 for
 * GraphModels (tf.registerOp; src/ops/fused_batch_norm_graph_op.ts). Importing the
 * package already calls it; call it again only where side-effect imports are
 * dropped. Safe to call any number of times; registering a kernel for a
 * backend that is not present (webgl in Node) is harmless.
 *
 * ```js
 * tfbni.registerBatchNormInference();
 * tfbni.batchNormInference(tf.ones([1, 2]), [1, 1], [0, 0], [0, 0], [1, 1], {epsilon: 1e-3}).print();
 * ```
 */
export function registerBatchNormInference(): void {
  registerFlags({[GRAPH_FUSED_BATCH_NORM_FLAG]: setGraphFusedBatchNorm});
  for (const config of kernelConfigs) registerKernelOnce(config);
  registerGradientOnce(batchNormInferenceGradConfig);
  registerGradientOnce(biasActivationGradConfig);
  registerBatchNormInferenceLayer();
  registerFusedLayers();
  registerGraphFusedBatchNorm();
}
