/**
 * Registration of the kernels and the gradient: explicit and idempotent.
 * Importing the package calls it once; calling it again registers nothing
 * twice and prints nothing.
 */
import {getGradient, getKernel, GradConfig, KernelConfig, registerGradient, registerKernel} from '@tensorflow/tfjs-core';

import {batchNormInferenceConfig as cpuConfig} from '../kernels/cpu/BatchNormInference';
import {batchNormInferenceConfig as webglConfig} from '../kernels/webgl/BatchNormInference';
import {batchNormInferenceConfig as wasmConfig} from '../kernels/wasm/BatchNormInference';
import {batchNormInferenceConfig as webgpuConfig} from '../kernels/webgpu/BatchNormInference';
import {batchNormInferenceGradConfig} from './ops/batch_norm_inference_grad';
import {registerBatchNormInferenceLayer} from './layers/batch_norm_inference/batch_norm_inference_layer';
import {registerFusedLayers} from './layers/fused/fused_register';

/** The kernel configs this package provides, one per backend. */
export const kernelConfigs: KernelConfig[] = [cpuConfig, webglConfig, wasmConfig, webgpuConfig];

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
 * Registers the BatchNormInference kernels (cpu, webgl, wasm, webgpu), its
 * gradient and the layer classes (for model.save / loadLayersModel).
 * Safe to call any number of times. Registering a kernel for a backend that
 * is not present (webgl in Node) is harmless: the registry is keyed by name.
 */
export function registerBatchNormInference(): void {
  for (const config of kernelConfigs) registerKernelOnce(config);
  registerGradientOnce(batchNormInferenceGradConfig);
  registerBatchNormInferenceLayer();
  registerFusedLayers();
}
