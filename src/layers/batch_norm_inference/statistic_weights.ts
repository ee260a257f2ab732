/**
 * The BatchNormInference layer's four weights, in the order and under the
 * names of tfjs-layers' BatchNormalization: `gamma` (Scale), `beta`
 * (Offset), `moving_mean` (TrainedMean), `moving_variance`
 * (TrainedVariance), and how training reads and writes them.
 *
 * Values written into them from outside (setWeights, the `weights`
 * argument, a weights file read by tf.loadLayersModel, which writes each
 * LayerVariable directly) are checked with the constructor's rules: finite,
 * and TrainedVariance >= 0. The layer's own writes (the initial values, the
 * moving averages of a training step) are not.
 */
import {initializers, LayerVariable} from '@tensorflow/tfjs-layers';
import {dispose, Scalar, Tensor, tensor1d, tidy} from '@tensorflow/tfjs-core';

import {l2Penalty, movingAverage, scaleGradient} from './batch_norm_training';
import {checkWeightValues, Statistic, STATISTICS} from './channel_values';
import {initialValues, TfInitializer, TrainingOptions} from './training_args';

/** The layer's (protected) addWeight, for one float32 weight of shape [channels]. */
export type AddWeight = (name: string, initializer: TfInitializer, trainable: boolean) => LayerVariable;

/** What a statistic holds before anything is given: Scale and TrainedVariance 1, the others 0. */
export function defaultValues(property: Statistic, channels: number): Float32Array {
  return new Float32Array(channels).fill(STATISTICS.find((s) => s.property === property)!.fill);
}

/**
 * Where each weight starts: the values given to the constructor, else
 * ScaleInitializer / OffsetInitializer for Scale and Offset, else undefined
 * (the weight's ones or zeros). `who` and `inputShape` are for messages.
 */
export function initialValueOf(
    given: Partial<Record<Statistic, Float32Array>>,
    t: Pick<TrainingOptions, 'scaleInitializer'|'offsetInitializer'>, channels: number, who: string,
    inputShape: string): (property: Statistic) => Tensor|undefined {
  return (property) => {
    const values = given[property];
    if (values !== undefined) return tensor1d(values, 'float32');
    if (property === 'Scale') return initialValues(t.scaleInitializer, channels, 'ScaleInitializer', who, inputShape);
    if (property === 'Offset') return initialValues(t.offsetInitializer, channels, 'OffsetInitializer', who, inputShape);
    return undefined;
  };
}

export class StatisticWeights {
  /** In STATISTICS order: gamma, beta, moving_mean, moving_variance. */
  private readonly variables: LayerVariable[] = [];
  /** True while the layer writes its own values (skips the external-write check). */
  private updating = false;

  /**
   * Adds the four weights to the layer through `addWeight` (gamma and beta
   * trainable) and writes into each the tensor `initialValue(property)`
   * returns, or leaves its ones or zeros where it returns undefined. Every
   * initial value is made before any weight, so an initializer that fails
   * leaves no weight behind. `owner.name` is read when a write is checked.
   */
  constructor(owner: {readonly name: string}, initialValue: (property: Statistic) => Tensor|undefined,
              addWeight: AddWeight) {
    const initial: Array<Tensor|undefined> = [];
    try {
      for (const {property} of STATISTICS) initial.push(initialValue(property));
      for (const {weight, fill} of STATISTICS) {
        const initializer = fill === 1 ? initializers.ones() : initializers.zeros();
        this.variables.push(addWeight(weight, initializer, weight === 'gamma' || weight === 'beta'));
      }
      this.writeOwn(() => initial.forEach((t, i) => t !== undefined && this.variables[i].write(t)));
    } finally {
      dispose(initial.filter((t): t is Tensor => t !== undefined));
    }
    this.variables.forEach((w, i) => this.guardWrites(w, STATISTICS[i].property, owner));
  }

  /** The weight holding `property`. */
  of(property: Statistic): LayerVariable {
    return this.variables[STATISTICS.findIndex((s) => s.property === property)];
  }

  /** A copy of the current values of `property`, one per channel. */
  values(property: Statistic): Float32Array {
    return Float32Array.from(this.of(property).read().dataSync());
  }

  /**
   * Scale and Offset as one call reads them; in training (`learnRates`
   * given) their gradients are scaled by MATLAB's learn-rate factors.
   */
  scaleAndOffset(learnRates?: Pick<TrainingOptions, 'scaleLearnRateFactor'|'offsetLearnRateFactor'>):
      [Tensor, Tensor] {
    const gamma = this.of('Scale').read();
    const beta = this.of('Offset').read();
    if (learnRates === undefined) return [gamma, beta];
    return [scaleGradient(gamma, learnRates.scaleLearnRateFactor),
            scaleGradient(beta, learnRates.offsetLearnRateFactor)];
  }

  /**
   * MATLAB's L2 penalties on Scale and Offset, for the layer's addLoss: one
   * per weight whose L2Regularization * L2Factor is not 0, reaching the
   * weight through its learn-rate factor as its gradient.
   */
  l2Penalties(t: Pick<TrainingOptions, 'l2Regularization'|'scaleL2Factor'|'offsetL2Factor'|
                       'scaleLearnRateFactor'|'offsetLearnRateFactor'>): Array<() => Scalar> {
    const penalties: Array<() => Scalar> = [];
    const perWeight = [
      [this.of('Scale'), t.scaleL2Factor, t.scaleLearnRateFactor],
      [this.of('Offset'), t.offsetL2Factor, t.offsetLearnRateFactor],
    ] as const;
    for (const [weight, l2Factor, learnRateFactor] of perWeight) {
      const coefficient = t.l2Regularization * l2Factor;
      if (coefficient === 0) continue;
      penalties.push(() => tidy(() => l2Penalty(scaleGradient(weight.read(), learnRateFactor), coefficient)));
    }
    return penalties;
  }

  /**
   * MATLAB's update after a training step: moves TrainedMean and
   * TrainedVariance toward the mini-batch `mean` and `variance`.
   */
  moveToward(mean: Tensor, variance: Tensor, t: Pick<TrainingOptions, 'meanDecay'|'varianceDecay'>): void {
    const movingMean = this.of('TrainedMean');
    const movingVariance = this.of('TrainedVariance');
    this.writeOwn(() => {
      movingMean.write(movingAverage(movingMean.read(), mean, t.meanDecay));
      movingVariance.write(movingAverage(movingVariance.read(), variance, t.varianceDecay));
    });
  }

  private writeOwn(write: () => void): void {
    this.updating = true;
    try {
      write();
    } finally {
      this.updating = false;
    }
  }

  private guardWrites(weight: LayerVariable, property: Statistic, owner: {readonly name: string}): void {
    const write = weight.write.bind(weight);
    weight.write = (value: Tensor) => {
      if (!this.updating) checkWeightValues(value, property, owner.name);
      return write(value);
    };
  }
}
