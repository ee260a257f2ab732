/**
 * What FusedConv2D and FusedDepthwiseConv2D share: the convolution arguments
 * (kernelSize, strides, padding, dilationRate, channels-last), the
 * activation, the output shape, and the call that runs either tf.fused.* or
 * the plain convolution followed by the CPU epilogue.
 */
import {serialization, Tensor, Tensor4D, tidy} from '@tensorflow/tfjs-core';
import {initializers, LayerVariable, layers, Shape} from '@tensorflow/tfjs-layers';

import {fail} from '../../../kernels/shared/fail';
import {cpuBiasActivation, useCpuEpilogue} from './fused_cpu_epilogue';
import {argsFromConfig, baseArgs, checkActivation, checkChannelsLast, checkKeys, checkPadding, convOutputLength, FusedActivationName, FusedLayerArgs, pair} from './fused_common';

/** The convolution arguments both fused convolution layers take. */
export interface FusedConvArgs extends FusedLayerArgs {
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

/** The plain convolution (strides, padding, NHWC, dilations as tfjs-core's ops take them). */
export type PlainConv = (x: Tensor4D, filter: Tensor4D, strides: [number, number], pad: 'same'|'valid',
                         dataFormat: 'NHWC', dilations: [number, number]) => Tensor4D;

/** The tf.fused convolution (conv2d or depthwiseConv2d), with the arguments these layers pass. */
export type FusedConv = (args: {
  x: Tensor4D, filter: Tensor4D, strides: [number, number], pad: 'same'|'valid', dataFormat: 'NHWC',
  dilations: [number, number], bias: Tensor, activation: FusedActivationName, leakyreluAlpha: number,
}) => Tensor4D;

/** Base class of the fused convolution layers; subclasses add their own argument and weights. */
export abstract class FusedConvBase extends layers.Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same'|'valid';
  readonly dilationRate: [number, number];
  readonly activation: FusedActivationName;
  readonly leakyreluAlpha: number;
  protected kernel?: LayerVariable;
  protected bias?: LayerVariable;

  /**
   * `checkOwn` checks the subclass's own argument; it runs after the argument
   * names are checked and before the shared arguments are parsed.
   */
  constructor(who: string, args: FusedConvArgs, ownKeys: string[], checkOwn: () => void) {
    if (args == null || typeof args !== 'object') fail(who, 'expects an arguments object.');
    checkKeys(who, args, ownKeys);
    super(baseArgs(args));
    checkOwn();
    this.kernelSize = pair(who, 'kernelSize', args.kernelSize, NaN);
    this.strides = pair(who, 'strides', args.strides, 1);
    this.dilationRate = pair(who, 'dilationRate', args.dilationRate, 1);
    this.padding = checkPadding(who, args.padding);
    checkChannelsLast(who, args.dataFormat);
    ({activation: this.activation, leakyreluAlpha: this.leakyreluAlpha} = checkActivation(who, args));
    this.inputSpec = [{ndim: 4}];
  }

  /** Output channel count for an input channel count (null when unknown). */
  protected abstract outputChannels(inputChannels: number|null): number|null;
  /** The kernel weight's name and its last dimension (tfjs-layers' names and layout). */
  protected abstract kernelWeight(): {name: string, lastDim: number};
  /** The plain convolution, used when the CPU epilogue runs bias and activation. */
  protected abstract plainConv: PlainConv;
  /** The tf.fused convolution. */
  protected abstract fusedConv: FusedConv;

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[3];
    if (channels == null) fail(this.name, `the input's channel count (axis 3) must be known.`);
    const {name, lastDim} = this.kernelWeight();
    this.kernel = this.addWeight(name, [...this.kernelSize, channels, lastDim], 'float32', initializers.zeros());
    this.bias = this.addWeight('bias', [this.outputChannels(channels)!], 'float32', initializers.zeros());
    this.inputSpec = [{ndim: 4, axes: {[3]: channels}}];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [
      shape[0],
      ...[1, 2].map((i) => convOutputLength(
          shape[i], this.kernelSize[i - 1], this.strides[i - 1], this.dilationRate[i - 1], this.padding)),
      this.outputChannels(shape[3]),
    ];
  }

  override call(inputs: Tensor|Tensor[], kwargs: {[key: string]: unknown}): Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
    if (useCpuEpilogue(kwargs)) {
      return tidy(() => cpuBiasActivation(
          this.plainConv(x, this.kernel!.read() as Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate),
          this.bias!.read(), this.activation, this.leakyreluAlpha));
    }
    return tidy(() => this.fusedConv({
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

  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls(argsFromConfig(config));
  }
}
