/**
 * The config of the layer a batch norm was folded into: the original
 * layer's config with a bias and the fused activation, or, for the fused
 * layer classes of this package, the arguments those classes take.
 */
import {serialization} from '@tensorflow/tfjs-core';

import {BASE_LAYER_KEYS, FUSED_OWN_KEYS} from '../layers/fused/fused_common';
import {FusedActivation} from './fold_activation';

type Config = serialization.ConfigDict;

/** The base layer keys copied as they are (dtype only when a string). */
const LAYER_KEYS = BASE_LAYER_KEYS.filter((key) => key !== 'dtype');

export function foldedLayerConfig(
    config: Config, className: string, activation: FusedActivation|null): Config {
  const keys = (FUSED_OWN_KEYS as Record<string, string[]|undefined>)[className];
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
