/**
 * What foldBatchNormalization and replaceBatchNormalization share to walk a
 * model: rebuilding it from a config, telling containers (models nested as
 * layers) from layers, copying configs and state, naming weights, and the
 * Keras defaults a config leaves out.
 */
import {serialization, Tensor} from '@tensorflow/tfjs-core';
import {layers, LayersModel, LayerVariable} from '@tensorflow/tfjs-layers';

import {fail} from '../../kernels/shared/fail';

type Layer = layers.Layer;

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

/**
 * tfjs-layers' and Keras's BatchNormalization defaults: what a config that
 * leaves a key out means.
 */
export const KERAS_BATCH_NORMALIZATION_DEFAULTS = {epsilon: 1e-3, axis: -1, momentum: 0.99} as const;

/**
 * A model, or a model nested as a layer (it has layers and a config): the
 * one test of "is this a LayersModel" (by shape, not `instanceof`, so a model
 * made by another copy of tfjs-layers passes).
 */
export function isContainer(layer: unknown): layer is LayersModel {
  return layer != null && Array.isArray((layer as {layers?: unknown}).layers) &&
      typeof (layer as {getConfig?: unknown}).getConfig === 'function' &&
      typeof (layer as {getClassName?: unknown}).getClassName === 'function';
}

/**
 * Copies the state of a layer of a model into the same layer of its copy:
 * `special` first (it returns true when it did the copy); then containers,
 * layer by layer by name, with their trainable flag (as `model.trainable =
 * false` did on the original: it sets the flags of every direct layer's
 * weights; nested containers then set their own); else the weights as a
 * whole (a layer that was never built has none, nor has its copy).
 */
export function copyState(from: Layer, to: Layer, special: (from: Layer, to: Layer) => boolean):
    void {
  if (special(from, to)) return;
  if (isContainer(from) && isContainer(to)) {
    to.trainable = from.trainable;
    for (const inner of to.layers) {
      const source = from.layers.find((l) => l.name === inner.name);
      if (source !== undefined) copyState(source, inner, special);
    }
  } else if (from.weights.length > 0) {
    copyWeightValues(to, from.getWeights());
  }
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

/**
 * Copies weight values from one model into its copy as loading a file does:
 * through tfjs-layers' own Layer.setWeights (shapes checked), not a layer's
 * override. The BatchNormInference layer checks values handed to
 * `layer.setWeights` (finite, variance >= 0) but takes what a model holds,
 * NaN and negative variances included, so that the copy computes what the
 * original does (see the policy in statistic_weights.ts).
 */
export function copyWeightValues(to: layers.Layer, values: Tensor[]): void {
  layers.Layer.prototype.setWeights.call(to, values);
}
