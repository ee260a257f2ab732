/**
 * A hook through which model tools see the input a BatchNormInference layer
 * receives in inference mode, wherever the layer sits (nested models,
 * wrappers such as TimeDistributed): `computePopulationStatistics` installs
 * one, runs `model.predict`, and removes it. Kept apart from the layer's
 * public API; at most one probe per layer.
 */
import {Tensor} from '@tensorflow/tfjs-core';

/** Called with the layer's float32 input; must not keep it beyond the call. */
export type InputProbe = (x: Tensor) => void;

const probes = new WeakMap<object, InputProbe>();

export function setInputProbe(layer: object, probe: InputProbe|null): void {
  if (probe === null) {
    probes.delete(layer);
  } else {
    probes.set(layer, probe);
  }
}

export function inputProbeOf(layer: object): InputProbe|undefined {
  return probes.get(layer);
}
