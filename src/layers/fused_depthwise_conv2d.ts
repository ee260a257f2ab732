/**
 * FusedDepthwiseConv2D: a channels-last depthwise convolution whose bias and
 * activation run inside the kernel (tf.fused.depthwiseConv2d). tfjs-layers'
 * DepthwiseConv2D runs its bias and activation as separate ops.
 */
import {depthwiseConv2d, fused, serialization, Tensor, Tensor4D, tidy} from '@tensorflow/tfjs-core';
import {initializers, LayerVariable, layers, Shape} from '@tensorflow/tfjs-layers';

import {fail} from '../util/fail';
import {cpuBiasActivation, useCpuEpilogue} from './fused_cpu_epilogue';
import {argsFromConfig, baseArgs, checkActivation, checkChannelsLast, checkKeys, checkPadding, convOutputLength, FusedActivationName, FusedLayerArgs, pair} from './fused_common';

/** Arguments of {@link FusedDepthwiseConv2D}. */
export interface FusedDepthwiseConv2DArgs extends FusedLayerArgs {
  /** [height, width] of the kernel (or one number for both). Required. */
  kernelSize: number|[number, number];
  /** Output channels per input channel. Default 1. */
  depthMultiplier?: number;
  /** Default 1. */
  strides?: number|[number, number];
  /** 'same' or 'valid'. Default 'valid'. */
  padding?: 'same'|'valid';
  /** Only 'channelsLast' (the default). */
  dataFormat?: 'channelsLast';
  /** Default 1. */
  dilationRate?: number|[number, number];
}

const OWN_KEYS = ['kernelSize', 'depthMultiplier', 'strides', 'padding', 'dataFormat', 'dilationRate'];

/**
 * Weights, in order: `depthwise_kernel` [kh, kw, inChannels, depthMultiplier]
 * and `bias` [inChannels * depthMultiplier] (output channel c * multiplier +
 * m), as tfjs-layers' DepthwiseConv2D.
 */
export class FusedDepthwiseConv2D extends layers.Layer {
  /** @nocollapse A literal: it is written into saved model files. */
  static className = 'FusedDepthwiseConv2D';

  readonly kernelSize: [number, number];
  readonly depthMultiplier: number;
  readonly strides: [number, number];
  readonly padding: 'same'|'valid';
  readonly dilationRate: [number, number];
  readonly activation: FusedActivationName;
  readonly leakyreluAlpha: number;
  private kernel?: LayerVariable;
  private bias?: LayerVariable;

  constructor(args: FusedDepthwiseConv2DArgs) {
    const who = FusedDepthwiseConv2D.className;
    if (args == null || typeof args !== 'object') fail(who, 'expects an arguments object.');
    checkKeys(who, args, OWN_KEYS);
    super(baseArgs(args));
    const multiplier = args.depthMultiplier ?? 1;
    if (!Number.isInteger(multiplier) || multiplier <= 0) {
      fail(who, `depthMultiplier must be a positive integer, but got ${String(multiplier)}.`);
    }
    this.depthMultiplier = multiplier;
    this.kernelSize = pair(who, 'kernelSize', args.kernelSize, NaN);
    this.strides = pair(who, 'strides', args.strides, 1);
    this.dilationRate = pair(who, 'dilationRate', args.dilationRate, 1);
    this.padding = checkPadding(who, args.padding);
    checkChannelsLast(who, args.dataFormat);
    ({activation: this.activation, leakyreluAlpha: this.leakyreluAlpha} = checkActivation(who, args));
    this.inputSpec = [{ndim: 4}];
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[3];
    if (channels == null) fail(this.name, `the input's channel count (axis 3) must be known.`);
    this.kernel = this.addWeight('depthwise_kernel', [...this.kernelSize, channels, this.depthMultiplier],
                                 'float32', initializers.zeros());
    this.bias = this.addWeight('bias', [channels * this.depthMultiplier], 'float32', initializers.zeros());
    this.inputSpec = [{ndim: 4, axes: {[3]: channels}}];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [
      shape[0],
      ...[1, 2].map((i) => convOutputLength(
          shape[i], this.kernelSize[i - 1], this.strides[i - 1], this.dilationRate[i - 1], this.padding)),
      shape[3] == null ? null : shape[3] * this.depthMultiplier,
    ];
  }

  override call(inputs: Tensor|Tensor[], kwargs: {[key: string]: unknown}): Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
    if (useCpuEpilogue(kwargs)) {
      return tidy(() => cpuBiasActivation(
          depthwiseConv2d(x, this.kernel!.read() as Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate),
          this.bias!.read(), this.activation, this.leakyreluAlpha));
    }
    return tidy(() => fused.depthwiseConv2d({
      x,
      filter: this.kernel!.read() as Tensor4D,
      strides: this.strides,
      pad: this.padding,
      dataFormat: 'NHWC',
      dilations: this.dilationRate,
      bias: this.bias!.read(),
      activation: this.activation,
      leakyreluAlpha: this.leakyreluAlpha,
    }));
  }

  override getConfig(): serialization.ConfigDict {
    return {
      kernelSize: this.kernelSize, depthMultiplier: this.depthMultiplier, strides: this.strides,
      padding: this.padding, dataFormat: 'channelsLast', dilationRate: this.dilationRate,
      activation: this.activation, leakyreluAlpha: this.leakyreluAlpha, ...super.getConfig(),
    };
  }

  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls(argsFromConfig(config));
  }
}

/** Creates a {@link FusedDepthwiseConv2D}. */
export function fusedDepthwiseConv2d(args: FusedDepthwiseConv2DArgs): FusedDepthwiseConv2D {
  return new FusedDepthwiseConv2D(args);
}
