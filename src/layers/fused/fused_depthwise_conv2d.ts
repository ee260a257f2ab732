/**
 * FusedDepthwiseConv2D: a channels-last depthwise convolution whose bias and
 * activation run inside the kernel (tf.fused.depthwiseConv2d). tfjs-layers'
 * DepthwiseConv2D runs its bias and activation as separate ops.
 */
import {depthwiseConv2d, fused, serialization} from '@tensorflow/tfjs-core';

import {FUSED_OWN_KEYS, positiveIntegerArg} from './fused_common';
import {FusedConvArgs, FusedConvBase} from './fused_conv_base';

/** Arguments of {@link FusedDepthwiseConv2D}. */
export interface FusedDepthwiseConv2DArgs extends FusedConvArgs {
  /** Output channels per input channel. Default 1. */
  depthMultiplier?: number;
}

/**
 * A channels-last depthwise convolution whose bias and activation run inside
 * the kernel (tf.fused.depthwiseConv2d).
 *
 * ```js
 * const dw = new tfbni.FusedDepthwiseConv2D({kernelSize: 3, padding: 'same', activation: 'relu'});
 * dw.apply(tf.ones([1, 4, 4, 2])).print();
 * ```
 *
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
    super(who, args, FUSED_OWN_KEYS.FusedDepthwiseConv2D, () => positiveIntegerArg(multiplier, 'depthMultiplier', who));
    this.depthMultiplier = multiplier;
  }

  protected kernelWeight(): {name: string, lastDim: number} {
    return {name: 'depthwise_kernel', lastDim: this.depthMultiplier};
  }

  protected outputChannels(inputChannels: number|null): number|null {
    return inputChannels == null ? null : inputChannels * this.depthMultiplier;
  }

  override getConfig(): serialization.ConfigDict {
    return {depthMultiplier: this.depthMultiplier, ...this.convConfig()};
  }
}

/**
 * Creates a {@link FusedDepthwiseConv2D}.
 *
 * ```js
 * const model = tf.sequential({layers: [
 *   tfbni.fusedDepthwiseConv2d({inputShape: [4, 4, 2], kernelSize: 3, activation: 'relu6'})]});
 * model.predict(tf.ones([1, 4, 4, 2])).print();
 * ```
 */
export function fusedDepthwiseConv2d(args: FusedDepthwiseConv2DArgs): FusedDepthwiseConv2D {
  return new FusedDepthwiseConv2D(args);
}
