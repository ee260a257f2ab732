/**
 * Which activation layers foldBatchNormalization can fuse into the layer it
 * folds a batch norm into, and which layer class runs the result with its
 * activation inside the kernel.
 */
import {serialization} from '@tensorflow/tfjs-core';

import {FusedActivationName} from '../layers/fused/fused_common';

type Config = serialization.ConfigDict;

/** An activation layer's function, as tf.fused.* names it. */
export interface FusedActivation {
  name: FusedActivationName;
  /** The slope of 'leakyrelu'. */
  alpha?: number;
}

/** Activation names of the Activation layer that tf.fused.* can run. */
const FUSABLE_ACTIVATION_NAMES: Record<string, FusedActivationName> = {
  linear: 'linear', relu: 'relu', relu6: 'relu6', elu: 'elu', sigmoid: 'sigmoid',
};

/** tfjs-layers' (and Keras's) LeakyReLU default slope. */
const LAYERS_LEAKY_RELU_ALPHA = 0.3;

/**
 * The fused form of an activation layer: a FusedActivation, a string saying
 * why it has none, or null when the layer is not an activation layer.
 */
export function fusedActivationOf(className: string, config: Config): FusedActivation|string|null {
  switch (className) {
    case 'Activation': {
      const name = FUSABLE_ACTIVATION_NAMES[config.activation as string];
      return name !== undefined ? {name} :
                                  `activation '${String(config.activation)}' has no fused kernel in tfjs`;
    }
    case 'ReLU':
      if (config.maxValue == null) return {name: 'relu'};
      if (config.maxValue === 6) return {name: 'relu6'};
      return `ReLU with maxValue ${String(config.maxValue)} has no fused kernel in tfjs`;
    case 'LeakyReLU':
      return {name: 'leakyrelu', alpha: (config.alpha as number | undefined) ?? LAYERS_LEAKY_RELU_ALPHA};
    case 'ELU':
      return config.alpha == null || config.alpha === 1 ? {name: 'elu'} :
                                                          `ELU with alpha ${String(config.alpha)} has no fused kernel in tfjs`;
    default:
      return null;
  }
}

/** The activations tfjs-layers' own Conv2D and Dense run fused (tfjs-layers 4.22). */
const STOCK_FUSED = new Set<FusedActivationName>(['linear', 'relu', 'elu']);

/** The class of this package that runs each layer kind with a fused kernel. */
const FUSED_CLASS: Record<string, string> = {
  Conv2D: 'FusedConv2D',
  DepthwiseConv2D: 'FusedDepthwiseConv2D',
  Dense: 'FusedDense',
};

export interface FoldedClass {
  /** The class of the folded layer. */
  className: string;
  /** Whether the activation (if any) goes into it. */
  fuse: boolean;
  /** Why the activation stays a layer of its own (when fuse is false). */
  reason?: string;
}

/**
 * The class a layer of class `className` becomes once a batch norm is folded
 * into it, with the activation `activation` after it (null: none).
 *
 * - Conv2D, DepthwiseConv2D and Dense become Fused* classes, which run the
 *   bias and any of tf.fused's activations in the kernel on every backend.
 *   tfjs-layers' DepthwiseConv2D runs its bias and activation as separate
 *   ops everywhere, its Conv2D and Dense fuse only relu and elu, and on the
 *   cpu backend tfjs runs even those as extra passes (a broadcasting add
 *   that is slower than the batch norm it replaces), where the Fused*
 *   classes make one pass of their own.
 * - The other kinds have no fused kernel: only a linear activation goes in.
 * - Channels-first convolutions and `stockLayersOnly` keep tfjs-layers classes.
 */
export function foldedClass(
    className: string, activation: FusedActivation|null, channelsLast: boolean,
    stockLayersOnly: boolean): FoldedClass {
  const fusedClass = FUSED_CLASS[className];
  const ours = fusedClass !== undefined && channelsLast && !stockLayersOnly;
  if (activation === null) return {className: ours ? fusedClass : className, fuse: false};
  if (ours) return {className: fusedClass, fuse: true};
  if (activation.name === 'linear') return {className, fuse: true};
  if (fusedClass !== undefined && className !== 'DepthwiseConv2D' && STOCK_FUSED.has(activation.name)) {
    return {className, fuse: true};
  }
  const why = fusedClass === undefined ? `tfjs has no fused kernel for ${className}` :
      stockLayersOnly ? `tfjs-layers' ${className} does not fuse ${activation.name} (stockLayersOnly)` :
                        `${className} is channels-first`;
  return {className, fuse: false, reason: why};
}
