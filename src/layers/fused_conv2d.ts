/**
 * FusedConv2D: a channels-last 2D convolution whose bias and activation run
 * inside the convolution kernel (tf.fused.conv2d). foldBatchNormalization
 * emits it where tfjs-layers' Conv2D would run the activation as a separate
 * op (tfjs-layers fuses only relu and elu).
 */
import {conv2d, fused, serialization, Tensor, Tensor4D, tidy} from '@tensorflow/tfjs-core';
import {initializers, LayerVariable, layers, Shape} from '@tensorflow/tfjs-layers';

import {fail} from '../util/fail';
import {cpuBiasActivation, useCpuEpilogue} from './fused_cpu_epilogue';
import {argsFromConfig, baseArgs, checkActivation, checkChannelsLast, checkKeys, checkPadding, convOutputLength, FusedActivationName, FusedLayerArgs, pair} from './fused_common';

/** Arguments of {@link FusedConv2D}. */
export interface FusedConv2DArgs extends FusedLayerArgs {
  /** Number of output channels, a positive integer. Required. */
  filters: number;
  /** [height, width] of the kernel (or one number for both). Required. */
  kernelSize: number|[number, number];
  /** Default 1. */
  strides?: number|[number, number];
  /** 'same' or 'valid'. Default 'valid'. */
  padding?: 'same'|'valid';
  /** Only 'channelsLast' (the default). */
  dataFormat?: 'channelsLast';
  /** Default 1. */
  dilationRate?: number|[number, number];
}

const OWN_KEYS = ['filters', 'kernelSize', 'strides', 'padding', 'dataFormat', 'dilationRate'];

/**
 * Weights, in order: `kernel` [kh, kw, inChannels, filters] and `bias`
 * [filters], the names and layout of tfjs-layers' Conv2D.
 */
export class FusedConv2D extends layers.Layer {
  /** @nocollapse A literal: it is written into saved model files. */
  static className = 'FusedConv2D';

  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same'|'valid';
  readonly dilationRate: [number, number];
  readonly activation: FusedActivationName;
  readonly leakyreluAlpha: number;
  private kernel?: LayerVariable;
  private bias?: LayerVariable;

  constructor(args: FusedConv2DArgs) {
    const who = FusedConv2D.className;
    if (args == null || typeof args !== 'object') fail(who, 'expects an arguments object.');
    checkKeys(who, args, OWN_KEYS);
    super(baseArgs(args));
    if (!Number.isInteger(args.filters) || args.filters <= 0) {
      fail(who, `filters must be a positive integer, but got ${String(args.filters)}.`);
    }
    this.filters = args.filters;
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
    this.kernel = this.addWeight(
        'kernel', [...this.kernelSize, channels, this.filters], 'float32', initializers.zeros());
    this.bias = this.addWeight('bias', [this.filters], 'float32', initializers.zeros());
    this.inputSpec = [{ndim: 4, axes: {[3]: channels}}];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [
      shape[0],
      ...[1, 2].map((i) => convOutputLength(
          shape[i], this.kernelSize[i - 1], this.strides[i - 1], this.dilationRate[i - 1], this.padding)),
      this.filters,
    ];
  }

  override call(inputs: Tensor|Tensor[], kwargs: {[key: string]: unknown}): Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
    if (useCpuEpilogue(kwargs)) {
      return tidy(() => cpuBiasActivation(
          conv2d(x, this.kernel!.read() as Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate),
          this.bias!.read(), this.activation, this.leakyreluAlpha));
    }
    return tidy(() => fused.conv2d({
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
      filters: this.filters, kernelSize: this.kernelSize, strides: this.strides,
      padding: this.padding, dataFormat: 'channelsLast', dilationRate: this.dilationRate,
      activation: this.activation, leakyreluAlpha: this.leakyreluAlpha, ...super.getConfig(),
    };
  }

  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls(argsFromConfig(config));
  }
}

/** Creates a {@link FusedConv2D}. */
export function fusedConv2d(args: FusedConv2DArgs): FusedConv2D {
  return new FusedConv2D(args);
}
