/**
 * FusedDense: a dense layer whose bias and activation run inside the matrix
 * product (tf.fused.matMul), for activations tfjs-layers' Dense runs as a
 * separate op (it fuses only relu and elu).
 */
import {fused, matMul, reshape, serialization, Tensor, Tensor2D, tidy} from '@tensorflow/tfjs-core';
import {initializers, LayerVariable, layers, Shape} from '@tensorflow/tfjs-layers';

import {fail} from '../../../kernels/shared/fail';
import {cpuBiasActivation, useCpuEpilogue} from './fused_cpu_epilogue';
import {argsFromConfig, baseArgs, checkActivation, checkKeys, FusedActivationName, FusedLayerArgs, positiveInteger} from './fused_common';

/** Arguments of {@link FusedDense}. */
export interface FusedDenseArgs extends FusedLayerArgs {
  /** Number of outputs, a positive integer. Required. */
  units: number;
}

/**
 * Weights, in order: `kernel` [inputs, units] and `bias` [units], as
 * tfjs-layers' Dense. Inputs of rank > 2 are multiplied along their last
 * axis, as Dense does.
 */
export class FusedDense extends layers.Layer {
  /** @nocollapse A literal: it is written into saved model files. */
  static className = 'FusedDense';

  readonly units: number;
  readonly activation: FusedActivationName;
  readonly leakyreluAlpha: number;
  private kernel?: LayerVariable;
  private bias?: LayerVariable;

  constructor(args: FusedDenseArgs) {
    const who = FusedDense.className;
    if (args == null || typeof args !== 'object') fail(who, 'expects an arguments object.');
    checkKeys(who, args, ['units']);
    super(baseArgs(args));
    this.units = positiveInteger(who, 'units', args.units);
    ({activation: this.activation, leakyreluAlpha: this.leakyreluAlpha} = checkActivation(who, args));
    this.inputSpec = [{minNDim: 2}];
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const inputs = shape[shape.length - 1];
    if (inputs == null) fail(this.name, `the input's last axis must have a known size.`);
    this.kernel = this.addWeight('kernel', [inputs, this.units], 'float32', initializers.zeros());
    this.bias = this.addWeight('bias', [this.units], 'float32', initializers.zeros());
    this.inputSpec = [{minNDim: 2, axes: {[-1]: inputs}}];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: Tensor|Tensor[], kwargs: {[key: string]: unknown}): Tensor {
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs);
      const a = x.rank === 2 ? x : reshape(x, [-1, x.shape[x.rank - 1]]);
      const y = useCpuEpilogue(kwargs) ?
          cpuBiasActivation(matMul(a, this.kernel!.read()), this.bias!.read(), this.activation,
                            this.leakyreluAlpha) :
          fused.matMul({
            a: a as Tensor2D,
            b: this.kernel!.read() as Tensor2D,
            bias: this.bias!.read(),
            activation: this.activation,
            leakyreluAlpha: this.leakyreluAlpha,
          });
      return x.rank === 2 ? y : reshape(y, [...x.shape.slice(0, -1), this.units]);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      units: this.units, activation: this.activation, leakyreluAlpha: this.leakyreluAlpha,
      ...super.getConfig(),
    };
  }

  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls(argsFromConfig(config));
  }
}

/** Creates a {@link FusedDense}. */
export function fusedDense(args: FusedDenseArgs): FusedDense {
  return new FusedDense(args);
}
