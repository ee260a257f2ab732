/**
 * What foldBatchNormalization and replaceBatchNormalization share to walk a
 * model: rebuilding it from a config, telling containers (models nested as layers) from layers, copying
 * configs, and naming weights.
 */
import {serialization} from '@tensorflow/tfjs-core';
import {LayersModel, LayerVariable} from '@tensorflow/tfjs-layers';

import {fail} from '../../kernels/shared/fail';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A deep copy of plain objects and arrays (numbers keep NaN/Infinity, unlike JSON). */
export function cloneConfig<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneConfig) as unknown as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = cloneConfig(v);
    return out as T;
  }
  return value;
}

/** A model, or a model nested as a layer (it has layers and a config). */
export function isContainer(layer: unknown): layer is LayersModel {
  return layer != null && Array.isArray((layer as {layers?: unknown}).layers) &&
      typeof (layer as {getConfig?: unknown}).getConfig === 'function';
}

/** A weight's name without its layer scopes ('conv/kernel' -> 'kernel'). */
export function shortName(weight: LayerVariable): string {
  const parts = weight.originalName.split('/');
  return parts[parts.length - 1];
}

/**
 * Builds models of `model`'s class from a config, through the fromConfig
 * registered with tf.serialization (fastWeightInit: no initializer runs, the
 * caller copies every weight). Fails (as `who`) if the class is not registered.
 */
export function rebuilderFor(who: string, model: LayersModel):
    (config: serialization.ConfigDict) => LayersModel {
  const className = model.getClassName();
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry == null) {
    fail(who, `the model's class '${className}' is not registered with ` +
         `tf.serialization.registerClass(), so it cannot be rebuilt from its config.`);
  }
  const [cls, fromConfig] = entry as unknown as [
    serialization.SerializableConstructor<LayersModel>,
    (cls: serialization.SerializableConstructor<LayersModel>, config: serialization.ConfigDict,
     customObjects: serialization.ConfigDict, fastWeightInit: boolean) => LayersModel,
  ];
  return (config) => fromConfig(cls, config, {}, true);
}
