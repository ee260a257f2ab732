/**
 * The layer's per-channel values: the four statistics in weight order, the
 * layer's message prefix, and the one reader of per-channel properties
 * (MATLAB shapes C, 1xC, Cx1, 1x1xC) and checker of values written into the
 * weights (finite; TrainedVariance >= 0), shared by the constructor,
 * setWeights and weights loaded from a file.
 */
import {LayerVariable} from '@tensorflow/tfjs-layers';
import {Tensor} from '@tensorflow/tfjs-core';

import {describeValue} from '../../../kernels/shared/describe_value';
import {fail} from '../../../kernels/shared/fail';
import {flattenNested, isArrayLike} from '../../util/nested_array';
import {canReadValues, readValues} from '../../util/read_values';

/** The four statistics in weight order, with their weight and property names. */
export const STATISTICS = [
  {property: 'Scale', weight: 'gamma', fill: 1},
  {property: 'Offset', weight: 'beta', fill: 0},
  {property: 'TrainedMean', weight: 'moving_mean', fill: 0},
  {property: 'TrainedVariance', weight: 'moving_variance', fill: 1},
] as const;
export type Statistic = typeof STATISTICS[number]['property'];
/** MATLAB's order: the arguments are read, and mismatches named, in this order. */
export const ORDER: Statistic[] = ['TrainedMean', 'TrainedVariance', 'Scale', 'Offset'];

/** Who the layer's messages name: `BatchNormInference layer 'bn'`. */
export function layerWho(name?: string): string {
  return `BatchNormInference layer${name ? ` '${name}'` : ''}`;
}

/** A shape as the layer's messages print it: `[null,5,3]`. */
export function shapeText(shape: ReadonlyArray<number|null>): string {
  return `[${shape.map((d) => (d == null ? 'null' : String(d))).join(',')}]`;
}

/**
 * Turns one per-channel property into a Float32Array: checks the type, the
 * MATLAB shape (at most one dimension other than 1), and that the values are
 * finite in float32 (and >= 0 for TrainedVariance).
 */
export function readChannelValues(value: unknown, property: Statistic, name?: string): Float32Array {
  let shape: number[];
  let values: ArrayLike<number>;
  const source = value instanceof LayerVariable ? readVariable(value, property, name) : value;
  if (source instanceof Tensor) {
    if (source.isDisposed) {
      fail(layerWho(name), `${property} is a disposed tf.Tensor (shape [${source.shape}]); pass ` +
           `it before disposing it, or pass a copy.`);
    }
    if (source.dtype !== 'float32' && source.dtype !== 'int32') {
      fail(layerWho(name), `${property} must be a float32 or int32 tensor, but got dtype ${source.dtype} ` +
           `(shape [${source.shape}]).`);
    }
    shape = source.shape;
    values = readValues(source);
  } else if (typeof source === 'number') {
    shape = [1];
    values = [source];
  } else if (isArrayLike(source)) {
    ({shape, values} = flattenNested(source, layerWho(name), property));
  } else {
    return fail(layerWho(name), `${property} must be a number, a (nested) array of numbers, a typed array ` +
                `or a tf.Tensor with one value per channel, but got ${describeValue(source)}.`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 0) {
    fail(layerWho(name), `${property} is empty (shape ${shape.join('x')}), which MATLAB shows as [] for a ` +
         `layer that was never trained; pass the trained values, or leave ${property} out for ` +
         `the default (${defaultText(property)}).`);
  }
  if (shape.filter((d) => d !== 1).length > 1) {
    fail(layerWho(name), `${property} must hold one value per channel, in a shape such as C, 1xC, Cx1 or ` +
         `1x1xC (at most one dimension other than 1), but got shape ${shape.join('x')}.`);
  }
  const out = Float32Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      fail(layerWho(name), `${property} must be finite, but element ${i} is ${values[i]}` +
           `${Number.isFinite(values[i]) ? ', which overflows float32' : ''}.`);
    }
    if (property === 'TrainedVariance' && out[i] < 0) {
      fail(layerWho(name), `TrainedVariance must be >= 0, but element ${i} is ${values[i]}.`);
    }
  }
  return out;
}

/**
 * Checks values written into a weight from outside the constructor
 * (setWeights, the `weights` argument, a weights file) with the
 * constructor's rules: finite, and TrainedVariance >= 0.
 */
export function checkWeightValues(value: Tensor, property: Statistic, name?: string): void {
  // Not on a backend without a dependable synchronous read (webgpu), unless
  // an async model tool read the values ahead.
  if (!canReadValues(value)) return;
  const weight = STATISTICS.find((s) => s.property === property)!.weight;
  const values = readValues(value);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      fail(layerWho(name), `${property} (weight ${weight}) must be finite, but element ${i} is ` +
           `${values[i]}.`);
    }
    if (property === 'TrainedVariance' && values[i] < 0) {
      fail(layerWho(name), `TrainedVariance (weight ${weight}) must be >= 0, but element ${i} ` +
           `is ${values[i]}.`);
    }
  }
}

function readVariable(variable: LayerVariable, property: Statistic, name?: string): Tensor {
  try {
    return variable.read();
  } catch (e) {
    return fail(layerWho(name), `${property} is the weight '${variable.name}' of a disposed layer ` +
                `(${(e as Error).message}).`);
  }
}

function defaultText(property: Statistic): string {
  return STATISTICS.find((s) => s.property === property)!.fill === 0 ? 'zeros' : 'ones';
}
