/**
 * FusedDense: a dense layer whose bias and activation run inside the matrix
 * product (tf.fused.matMul), for activations tfjs-layers' Dense runs as a
 * separate op (it fuses only relu and elu).
 */
import {fused, matMul, reshape, serialization, Tensor, Tensor2D, tidy} from '@tensorflow/tfjs-core';
import {initializers, LayerVariable, layers, Shape} from '@tensorflow/tfjs-layers';

import {fail} from '../../../kernels/shared/fail';
import {activationKeepingNaN, biasActivation, fusedEpiloguePlan} from '../../ops/bias_activation';
import {FUSED_OWN_KEYS, argsFromConfig, baseArgs, checkActivation, checkKeys, FusedActivationName, FusedLayerArgs, positiveIntegerArg} from './fused_common';

/** Arguments of {@link FusedDense}. */
export interface FusedDenseArgs extends FusedLayerArgs {
  /** Number of outputs, a positive integer. Required. */
  units: number;
}

/**
 * A dense layer whose bias and activation run inside the matrix product
 * (tf.fused.matMul).
 *
 * ```js
 * const dense = new tfbni.FusedDense({units: 3, activation: 'sigmoid'});
 * dense.apply(tf.ones([2, 4])).print();
 * ```
 *
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
    checkKeys(who, args, FUSED_OWN_KEYS.FusedDense);
    super(baseArgs(args));
    this.units = positiveIntegerArg(args.units, 'units', who);
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
      const plan = fusedEpiloguePlan(this.activation, kwargs?.training === true);
      const y = plan === 'kernel' ?
          biasActivation(matMul(a, this.kernel!.read()), this.bias!.read(), this.activation,
                         this.leakyreluAlpha) :
          activationKeepingNaN(fused.matMul({
            a: a as Tensor2D,
            b: this.kernel!.read() as Tensor2D,
            bias: this.bias!.read(),
            activation: plan === 'fused' ? this.activation : 'linear',
            leakyreluAlpha: this.leakyreluAlpha,
          }), plan === 'fused' ? 'linear' : this.activation, this.leakyreluAlpha);
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

/**
 * Creates a {@link FusedDense}.
 *
 * ```js
 * const model = tf.sequential({layers: [tfbni.fusedDense({inputShape: [4], units: 3, activation: 'relu'})]});
 * model.predict(tf.ones([2, 4])).print();
 * ```
 */
export function fusedDense(args: FusedDenseArgs): FusedDense {
  return new FusedDense(args);
}
