/**
 * What foldBatchNormalization and replaceBatchNormalization share to walk a
 * model: telling containers (models nested as layers) from layers, copying
 * configs, and naming weights.
 */
import {LayersModel, LayerVariable} from '@tensorflow/tfjs-layers';

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
