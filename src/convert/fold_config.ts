/**
 * The config of the layer a batch norm was folded into: the original
 * layer's config with a bias and the fused activation, or, for the fused
 * layer classes of this package, the arguments those classes take.
 */
import {serialization} from '@tensorflow/tfjs-core';

import {FusedActivation} from './fold_activation';

type Config = serialization.ConfigDict;

/** The keys each fused class takes from the tfjs-layers config it replaces. */
const FUSED_KEYS: Record<string, string[]> = {
  FusedConv2D: ['filters', 'kernelSize', 'strides', 'padding', 'dataFormat', 'dilationRate'],
  FusedDepthwiseConv2D: ['kernelSize', 'depthMultiplier', 'strides', 'padding', 'dataFormat', 'dilationRate'],
  FusedDense: ['units'],
};
const LAYER_KEYS = ['name', 'trainable', 'batchInputShape', 'inputShape', 'batchSize'];

export function foldedLayerConfig(
    config: Config, className: string, activation: FusedActivation|null): Config {
  const keys = FUSED_KEYS[className];
  if (keys === undefined) {
    return {...config, useBias: true, activation: activation?.name ?? 'linear'};
  }
  const out: Config = {};
  for (const key of [...keys, ...LAYER_KEYS]) {
    if (config[key] != null) out[key] = config[key];
  }
  if (typeof config.dtype === 'string') out.dtype = config.dtype;
  out.activation = activation?.name ?? 'linear';
  if (activation?.alpha !== undefined) out.leakyreluAlpha = activation.alpha;
  return out;
}
