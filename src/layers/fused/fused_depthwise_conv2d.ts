/**
 * FusedDepthwiseConv2D: a channels-last depthwise convolution whose bias and
 * activation run inside the kernel (tf.fused.depthwiseConv2d). tfjs-layers'
 * DepthwiseConv2D runs its bias and activation as separate ops.
 */
import {depthwiseConv2d, fused, serialization} from '@tensorflow/tfjs-core';

import {positiveInteger} from './fused_common';
import {FusedConvArgs, FusedConvBase} from './fused_conv_base';

/** Arguments of {@link FusedDepthwiseConv2D}. */
export interface FusedDepthwiseConv2DArgs extends FusedConvArgs {
  /** Output channels per input channel. Default 1. */
  depthMultiplier?: number;
}

const OWN_KEYS = ['kernelSize', 'depthMultiplier', 'strides', 'padding', 'dataFormat', 'dilationRate'];

/**
 * Weights, in order: `depthwise_kernel` [kh, kw, inChannels, depthMultiplier]
 * and `bias` [inChannels * depthMultiplier] (output channel c * multiplier +
 * m), as tfjs-layers' DepthwiseConv2D.
 */
export class FusedDepthwiseConv2D extends FusedConvBase {
  /** @nocollapse A literal: it is written into saved model files. */
  static className = 'FusedDepthwiseConv2D';

  readonly depthMultiplier: number;
  protected plainConv = depthwiseConv2d;
  protected fusedConv = fused.depthwiseConv2d;

  constructor(args: FusedDepthwiseConv2DArgs) {
    const who = FusedDepthwiseConv2D.className;
    const multiplier = args?.depthMultiplier ?? 1;
    super(who, args, OWN_KEYS, () => positiveInteger(who, 'depthMultiplier', multiplier));
    this.depthMultiplier = multiplier;
  }

  protected kernelWeight(): {name: string, lastDim: number} {
    return {name: 'depthwise_kernel', lastDim: this.depthMultiplier};
  }

  protected outputChannels(inputChannels: number|null): number|null {
    return inputChannels == null ? null : inputChannels * this.depthMultiplier;
  }

  override getConfig(): serialization.ConfigDict {
    return {
      kernelSize: this.kernelSize, depthMultiplier: this.depthMultiplier, strides: this.strides,
      padding: this.padding, dataFormat: 'channelsLast', dilationRate: this.dilationRate,
      activation: this.activation, leakyreluAlpha: this.leakyreluAlpha, ...super.getConfig(),
    };
  }
}

/** Creates a {@link FusedDepthwiseConv2D}. */
export function fusedDepthwiseConv2d(args: FusedDepthwiseConv2DArgs): FusedDepthwiseConv2D {
  return new FusedDepthwiseConv2D(args);
}
