/**
 * tfjs-layers (4.22) leaves `depthMultiplier` out of SeparableConv2D's
 * getConfig(): a model rebuilt from that config gets multiplier 1 and cannot
 * take the weights ("Shape mismatch: [3,3,3,1] vs. [3,3,3,2]"), and a model
 * saved from it does not load. The model tools put it back in both places:
 * in the config they rebuild from, and in what the rebuilt model writes.
 */
import {serialization} from '@tensorflow/tfjs-core';
import {LayersModel, layers} from '@tensorflow/tfjs-layers';

import {isContainer} from './model_walk';

type Layer = layers.Layer;
type Config = serialization.ConfigDict;
interface Entry {className: string, config: Config, name?: string}

const SEPARABLE = 'SeparableConv2D';

/** The layer a wrapper (TimeDistributed, Bidirectional) wraps, or the layer itself. */
function unwrapped(layer: Layer): Layer {
  return (layer as unknown as {layer?: Layer}).layer ?? layer;
}

function multiplierOf(layer: Layer): number|undefined {
  return (layer as unknown as {depthMultiplier?: number}).depthMultiplier;
}

/**
 * Writes each SeparableConv2D's depthMultiplier into `config` (a copy of
 * `model.getConfig()`, walked with its nested models and wrappers) from the
 * model's layer of that name.
 */
export function restoreDepthMultipliers(config: Config, model: LayersModel): void {
  for (const entry of (config.layers ?? []) as unknown as Entry[]) {
    const layer = model.layers.find((l) => l.name === (entry.config.name ?? entry.name));
    if (layer === undefined) continue;
    if (Array.isArray(entry.config.layers) && isContainer(layer)) {
      restoreDepthMultipliers(entry.config, layer);
      continue;
    }
    const inner = entry.config.layer as unknown as Entry|undefined;
    const leaf = inner?.className !== undefined && inner.config !== undefined ? inner : entry;
    if (leaf.className !== SEPARABLE || leaf.config.depthMultiplier != null) continue;
    const multiplier = multiplierOf(unwrapped(layer));
    if (multiplier !== undefined) leaf.config.depthMultiplier = multiplier;
  }
}

/**
 * Makes each SeparableConv2D of `model` (nested models and wrappers
 * included) with a depthMultiplier other than 1 write it in getConfig(), so
 * model.toJSON() and save() write a file that loads. An override on those
 * layer objects only (tfjs-layers' class is not changed); a no-op for a
 * tfjs-layers that writes the key itself.
 */
export function keepDepthMultipliers(model: LayersModel): void {
  for (const layer of model.layers) {
    if (isContainer(layer)) {
      keepDepthMultipliers(layer);
      continue;
    }
    const target = unwrapped(layer);
    const multiplier = multiplierOf(target);
    if (target.getClassName() !== SEPARABLE || multiplier === undefined || multiplier === 1) continue;
    const base = target.getConfig.bind(target);
    if ('depthMultiplier' in base()) continue;
    target.getConfig = () => ({...base(), depthMultiplier: multiplier});
  }
}
