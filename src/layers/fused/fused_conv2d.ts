/**
 * FusedConv2D: a channels-last 2D convolution whose bias and activation run
 * inside the convolution kernel (tf.fused.conv2d). foldBatchNormalization
 * emits it where tfjs-layers' Conv2D would run the activation as a separate
 * op (tfjs-layers fuses only relu and elu).
 */
import {conv2d, fused, serialization} from '@tensorflow/tfjs-core';

import {FUSED_OWN_KEYS, positiveIntegerArg} from './fused_common';
import {FusedConvArgs, FusedConvBase} from './fused_conv_base';

/** Arguments of {@link FusedConv2D}. */
export interface FusedConv2DArgs extends FusedConvArgs {
  /** Number of output channels, a positive integer. Required. */
  filters: number;
}

/**
 * A channels-last 2D convolution whose bias and activation run inside the
 * convolution kernel (tf.fused.conv2d). Weights, in order: `kernel`
 * [kh, kw, inChannels, filters] and `bias` [filters], the names and layout of
 * tfjs-layers' Conv2D.
 *
 * ```js
 * const conv = new tfbni.FusedConv2D({filters: 2, kernelSize: 3, padding: 'same', activation: 'relu6'});
 * conv.apply(tf.ones([1, 4, 4, 1])).print();
 * ```
 */
export class FusedConv2D extends FusedConvBase {
  /** @nocollapse A literal: it is written into saved model files. */
  static className = 'FusedConv2D';

  readonly filters: number;
  protected plainConv = conv2d;
  protected fusedConv = fused.conv2d;

  constructor(args: FusedConv2DArgs) {
    const who = FusedConv2D.className;
    super(who, args, FUSED_OWN_KEYS.FusedConv2D, () => positiveIntegerArg(args.filters, 'filters', who));
    this.filters = args.filters;
  }

  protected kernelWeight(): {name: string, lastDim: number} {
    return {name: 'kernel', lastDim: this.filters};
  }

  protected outputChannels(): number {
    return this.filters;
  }

  override getConfig(): serialization.ConfigDict {
    return {filters: this.filters, ...this.convConfig()};
  }
}

/**
 * Creates a {@link FusedConv2D}.
 *
 * ```js
 * const model = tf.sequential({layers: [
 *   tfbni.fusedConv2d({inputShape: [4, 4, 1], filters: 2, kernelSize: 3, activation: 'relu'})]});
 * model.predict(tf.ones([1, 4, 4, 1])).print();
 * ```
 */
export function fusedConv2d(args: FusedConv2DArgs): FusedConv2D {
  return new FusedConv2D(args);
}
