/**
 * FusedConv2D: a channels-last 2D convolution whose bias and activation run
 * inside the convolution kernel (tf.fused.conv2d). foldBatchNormalization
 * emits it where tfjs-layers' Conv2D would run the activation as a separate
 * op (tfjs-layers fuses only relu and elu).
 */
import {conv2d, fused, serialization} from '@tensorflow/tfjs-core';

import {positiveInteger} from './fused_common';
import {FusedConvArgs, FusedConvBase} from './fused_conv_base';

/** Arguments of {@link FusedConv2D}. */
export interface FusedConv2DArgs extends FusedConvArgs {
  /** Number of output channels, a positive integer. Required. */
  filters: number;
}

const OWN_KEYS = ['filters', 'kernelSize', 'strides', 'padding', 'dataFormat', 'dilationRate'];

/**
 * Weights, in order: `kernel` [kh, kw, inChannels, filters] and `bias`
 * [filters], the names and layout of tfjs-layers' Conv2D.
 */
export class FusedConv2D extends FusedConvBase {
  /** @nocollapse A literal: it is written into saved model files. */
  static className = 'FusedConv2D';

  readonly filters: number;
  protected plainConv = conv2d;
  protected fusedConv = fused.conv2d;

  constructor(args: FusedConv2DArgs) {
    const who = FusedConv2D.className;
    super(who, args, OWN_KEYS, () => positiveInteger(who, 'filters', args.filters));
    this.filters = args.filters;
  }

  protected kernelWeight(): {name: string, lastDim: number} {
    return {name: 'kernel', lastDim: this.filters};
  }

  protected outputChannels(): number {
    return this.filters;
  }

  override getConfig(): serialization.ConfigDict {
    return {
      filters: this.filters, kernelSize: this.kernelSize, strides: this.strides,
      padding: this.padding, dataFormat: 'channelsLast', dilationRate: this.dilationRate,
      activation: this.activation, leakyreluAlpha: this.leakyreluAlpha, ...super.getConfig(),
    };
  }
}

/** Creates a {@link FusedConv2D}. */
export function fusedConv2d(args: FusedConv2DArgs): FusedConv2D {
  return new FusedConv2D(args);
}
