/**
 * What the fused layer classes (FusedConv2D, FusedDepthwiseConv2D,
 * FusedDense) share: the activations tf.fused.* runs inside its kernel, the
 * plain layer arguments they keep, and the convolution output size.
 */
import {serialization} from '@tensorflow/tfjs-core';

import {describeValue} from '../../../kernels/shared/describe_value';
import {fail} from '../../../kernels/shared/fail';

/**
 * Activations that tf.fused.conv2d / depthwiseConv2d / matMul apply inside
 * the kernel ('prelu' needs a weight tensor and is not offered by these
 * layers).
 */
export const FUSED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const;
export type FusedActivationName = typeof FUSED_ACTIVATIONS[number];

/** tf.fused's default slope for leakyrelu. */
export const DEFAULT_LEAKYRELU_ALPHA = 0.2;

/** Arguments of every fused layer besides its own: activation and the usual layer args. */
export interface FusedLayerArgs {
  /** Applied in the same kernel as the bias. Default 'linear'. */
  activation?: FusedActivationName;
  /** Slope of 'leakyrelu' for negative inputs. Default 0.2 (tf.fused's). */
  leakyreluAlpha?: number;
  name?: string;
  trainable?: boolean;
  inputShape?: number[];
  batchInputShape?: Array<number|null>;
  batchSize?: number;
  dtype?: 'float32';
}

/** The keys of FusedLayerArgs that go to tfjs's Layer constructor. */
export const BASE_LAYER_KEYS = ['name', 'trainable', 'inputShape', 'batchInputShape', 'batchSize', 'dtype'];

export function checkActivation(who: string, args: FusedLayerArgs):
    {activation: FusedActivationName, leakyreluAlpha: number} {
  const activation = args.activation ?? 'linear';
  if (!(FUSED_ACTIVATIONS as readonly string[]).includes(activation)) {
    fail(who, `activation must be one of ${FUSED_ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, ` +
         `but got ${describeValue(activation)}.`);
  }
  const leakyreluAlpha = args.leakyreluAlpha ?? DEFAULT_LEAKYRELU_ALPHA;
  if (typeof leakyreluAlpha !== 'number' || !Number.isFinite(leakyreluAlpha)) {
    fail(who, `leakyreluAlpha must be a finite number, but got ${describeValue(leakyreluAlpha)}.`);
  }
  return {activation, leakyreluAlpha};
}

/** A layer's own size argument (filters, units, depthMultiplier): a positive integer. */
export function positiveInteger(who: string, key: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) <= 0) {
    fail(who, `${key} must be a positive integer, but got ${String(value)}.`);
  }
  return value as number;
}

/** A positive integer, or a pair of them from a number or a two-element list. */
export function pair(who: string, key: string, value: unknown, fallback: number): [number, number] {
  const v = value ?? fallback;
  const list = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(list) || list.length !== 2 ||
      !list.every((n) => Number.isInteger(n) && (n as number) > 0)) {
    fail(who, `${key} must be a positive integer or a list of two, but got ` +
         `${Array.isArray(v) ? JSON.stringify(v) : describeValue(v)}.`);
  }
  return list as [number, number];
}

export function checkPadding(who: string, value: unknown): 'same'|'valid' {
  const padding = value ?? 'valid';
  if (padding !== 'same' && padding !== 'valid') {
    fail(who, `padding must be 'same' or 'valid', but got ${describeValue(padding)}.`);
  }
  return padding;
}

/** These layers run NHWC kernels; channels-first convolutions keep tfjs's classes. */
export function checkChannelsLast(who: string, value: unknown): void {
  if (value != null && value !== 'channelsLast') {
    fail(who, `dataFormat must be 'channelsLast', but got ${describeValue(value)}.`);
  }
}

/** Output length of a convolution along one spatial axis (tfjs-layers' rule). */
export function convOutputLength(
    length: number|null, kernel: number, stride: number, dilation: number,
    padding: 'same'|'valid'): number|null {
  if (length == null) return null;
  const span = (kernel - 1) * dilation + 1;
  const out = padding === 'same' ? length : length - span + 1;
  return Math.floor((out + stride - 1) / stride);
}

/** Rejects argument names a fused layer does not take (a typo would be lost). */
export function checkKeys(who: string, args: object, own: string[]): void {
  const known = new Set([...own, ...BASE_LAYER_KEYS, 'activation', 'leakyreluAlpha']);
  const unknown = Object.keys(args).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    fail(who, `unknown argument${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
         `the arguments are ${[...known].map((k) => `'${k}'`).join(', ')}.`);
  }
}

/** The arguments for tfjs's Layer constructor. */
export function baseArgs(args: FusedLayerArgs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of BASE_LAYER_KEYS) {
    const value = (args as Record<string, unknown>)[key];
    if (value != null) out[key] = value;
  }
  return out;
}

/** The config read back from model.json, without tfjs's customObjects entry. */
export function argsFromConfig(config: serialization.ConfigDict): Record<string, unknown> {
  const args: Record<string, unknown> = {...config};
  delete args.customObjects;
  return args;
}
