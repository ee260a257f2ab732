/**
 * The BatchNormInference layer: MATLAB's batchNormalizationLayer for
 * tfjs-layers models, normalizing through the `batchNormInference` op (see
 * the class comment). Its MATLAB-style arguments are read in `matlab_args.ts`
 * and `training_args.ts`; the training arithmetic is in
 * `batch_norm_training.ts`; its four weights, their checked writes and their
 * training plumbing (learn-rate factors, L2 penalties, moving averages) are
 * in `statistic_weights.ts`.
 */
import {InputSpec, layers, Shape, SymbolicTensor} from '@tensorflow/tfjs-layers';
import {cast, serialization, Tensor, tidy} from '@tensorflow/tfjs-core';

import {batchNormInference} from '../../ops/batch_norm_inference';
import {fail} from '../../../kernels/shared/fail';
import {normalizeWithBatchStatistics} from './batch_norm_training';
import {inputProbeOf} from './input_probe';
import {channelsOfInput, exactlyOneShape} from './input_shape';
import {BatchNormInferenceLayerArgs, checkWeightValues, layerWho, ORDER, parseArgs, ParsedArgs, shapeText, Statistic, STATISTICS} from './matlab_args';
import {defaultValues, initialValueOf, StatisticWeights} from './statistic_weights';
import {configToArgs, trainingConfig, TrainingOptions} from './training_args';

export {DEFAULT_LAYER_AXIS, DEFAULT_LAYER_EPSILON} from './matlab_args';
export type {BatchNormInferenceLayerArgs, ChannelValues, LayerArgs} from './matlab_args';
export type {BatchNormTrainingArgs, InitializerSpec} from './training_args';

/**
 * Batch normalization with fixed statistics (MATLAB's batchNormalizationLayer
 * at prediction time; OpenVINO's BatchNormInference-1), per channel along
 * `axis`, for inputs of any rank >= 2:
 *
 *     y = Scale * (x - TrainedMean) / sqrt(TrainedVariance + Epsilon) + Offset
 *
 * Prediction (`predict`, `evaluate`, `apply` without `training: true`) uses
 * the trained statistics. Training (`fit`, `trainOnBatch`,
 * `apply(x, {training: true})`) trains as MATLAB's batchNormalizationLayer:
 * it normalizes with the mini-batch mean and variance (divided by N) over
 * every axis but `axis`, gradients flowing through them, then moves
 * TrainedMean and TrainedVariance toward them by MeanDecay / VarianceDecay.
 * With `trainable: false` the layer runs as in prediction and nothing
 * changes (as Keras); with `freezeStatistics: true` it runs as in prediction
 * and only Scale and Offset (weights `gamma`, `beta`) learn.
 *
 * Weights are, in order, `gamma`, `beta`, `moving_mean`, `moving_variance`:
 * the order and names of tfjs-layers' BatchNormalization, so its
 * `getWeights()` can be passed to this layer's `setWeights()`.
 *
 * The current values are readable synchronously under MATLAB's names:
 * `layer.TrainedMean`, `TrainedVariance`, `Scale`, `Offset` (Float32Array;
 * empty while the number of channels is unknown, as MATLAB's []),
 * `Epsilon`, `NumChannels` (undefined while unknown) and `Name`.
 */
export class BatchNormInferenceLayer extends layers.Layer {
  /**
   * The class name written into saved model.json files: a literal, frozen by
   * test/saved_model_compat.test.ts (never derived from another constant).
   * @nocollapse
   */
  static className = 'BatchNormInference';

  /** Added to the variance; a finite number > 0. */
  readonly epsilon: number;
  /** The channel axis as given (negative counts from the end). */
  readonly axis: number;
  private numChannels?: number;
  /** Values given to the constructor, written into the weights at build. */
  private pendingValues: ParsedArgs['values'];
  /** gamma, beta, moving_mean, moving_variance; set by build. */
  private statisticWeights?: StatisticWeights;
  /** MeanDecay, VarianceDecay, initializers, learn-rate and L2 factors. */
  readonly training: Readonly<Omit<TrainingOptions, 'freezeStatistics'>>;
  /**
   * In training, normalize with TrainedMean / TrainedVariance and keep them;
   * only Scale and Offset learn. Settable (like `trainable`), e.g. on the
   * layers of a converted model before fine-tuning it.
   */
  freezeStatistics: boolean;

  constructor(args: BatchNormInferenceLayerArgs = {}) {
    const parsed = parseArgs(args);
    super(parsed.layerArgs);
    this.supportsMasking = true;
    this.epsilon = parsed.epsilon;
    this.axis = parsed.axis;
    this.numChannels = parsed.numChannels;
    this.pendingValues = parsed.values;
    const {freezeStatistics, ...training} = parsed.training;
    this.training = Object.freeze(training);
    this.freezeStatistics = freezeStatistics;
  }

  /** The input's channel count, checked (see input_shape.ts). */
  private checkInputShape(shape: ReadonlyArray<number|null>): number {
    return channelsOfInput(shape, {
      name: this.name, axis: this.axis, numChannels: this.numChannels, built: this.built,
      givenProperty: ORDER.find((p) => this.pendingValues[p] !== undefined),
    });
  }

  /**
   * Once built, tfjs-layers' InputSpec (rank >= 2, the channel count on
   * `axis`) checks every input in apply(). When it rejects one, the input
   * shape is checked again here to say, in the layer's words, what is wrong.
   */
  override assertInputCompatibility(inputs: Tensor|Tensor[]|SymbolicTensor|SymbolicTensor[]): void {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length !== 1) this.exactlyOneShape(list.map((t) => t.shape));
    try {
      super.assertInputCompatibility(inputs);
    } catch (e) {
      this.checkInputShape(list[0].shape);
      throw e;
    }
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = this.exactlyOneShape(inputShape);
    const channels = this.checkInputShape(shape);
    this.numChannels = channels;
    const initialValue = initialValueOf(
        this.pendingValues, this.training, channels, layerWho(this.name), shapeText(shape));
    this.statisticWeights = new StatisticWeights(this, initialValue, (weight, initializer, trainable) =>
        this.addWeight(weight, [channels], 'float32', initializer, undefined, trainable));
    this.statisticWeights.l2Penalties(this.training).forEach((penalty) => this.addLoss(penalty));
    this.pendingValues = Object.create(null);
    this.inputSpec = [new InputSpec({minNDim: 2, axes: {[this.axis]: channels}})];
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape|Shape[] {
    const shape = this.exactlyOneShape(inputShape);
    this.checkInputShape(shape);
    return shape;
  }

  /**
   * In training (`kwargs.training` true, layer trainable, statistics not
   * frozen): normalizes with the mini-batch statistics and updates the
   * running ones. Otherwise: normalizes with the trained statistics.
   */
  override call(inputs: Tensor|Tensor[], kwargs: {[key: string]: unknown}): Tensor {
    return tidy(() => {
      if (Array.isArray(inputs) && inputs.length !== 1) {
        fail(layerWho(this.name), `expects exactly one input tensor, but got ${inputs.length}.`);
      }
      const given = Array.isArray(inputs) ? inputs[0] : inputs;
      const x = given.dtype === 'int32' ? cast(given, 'float32') : given;
      const training = kwargs?.training === true && this.trainable;
      const w = this.statisticWeights!;
      const [gamma, beta] = w.scaleAndOffset(training ? this.training : undefined);
      if (!training || this.freezeStatistics) {
        if (!training) inputProbeOf(this)?.(x);
        return batchNormInference(
            x, gamma, beta, w.of('TrainedMean').read(), w.of('TrainedVariance').read(),
            {epsilon: this.epsilon, axis: this.axis});
      }
      const axis = this.axis < 0 ? this.axis + x.rank : this.axis;
      const batch = normalizeWithBatchStatistics(x, gamma, beta, axis, this.epsilon);
      w.moveToward(batch.mean, batch.variance, this.training);
      return batch.output;
    });
  }

  /** Checks every value first, so a rejected list leaves all weights as they were. */
  override setWeights(weights: Tensor[]): void {
    if (this.built && weights.length === STATISTICS.length) {
      weights.forEach((w, i) => checkWeightValues(w, STATISTICS[i].property, this.name));
    }
    super.setWeights(weights);
  }

  private exactlyOneShape(inputShape: Shape|Shape[]): Shape {
    return exactlyOneShape(inputShape, this.name);
  }

  /**
   * Scalars only: the statistics are weights (saved in weights.bin), not
   * config arrays. `numChannels` is omitted while unknown.
   */
  override getConfig(): serialization.ConfigDict {
    const config: serialization.ConfigDict = {epsilon: this.epsilon, axis: this.axis};
    if (this.numChannels !== undefined) config.numChannels = this.numChannels;
    const training = trainingConfig({...this.training, freezeStatistics: this.freezeStatistics});
    return {...config, ...training, ...super.getConfig()};
  }

  /**
   * Builds the layer from a config read back from model.json (configToArgs
   * drops tfjs's `customObjects` entry and undoes its snake_case round trip).
   */
  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls(configToArgs(config));
  }

  /** The weight's values once built; before, the given values or the default fill. */
  private current(property: Statistic): Float32Array {
    return this.statisticWeights?.values(property) ?? this.pendingValues[property]?.slice() ??
        defaultValues(property, this.numChannels ?? 0);
  }

  /** Current trained mean (weight `moving_mean`), one value per channel. */
  get TrainedMean(): Float32Array { return this.current('TrainedMean'); }
  /** Current trained variance (weight `moving_variance`). */
  get TrainedVariance(): Float32Array { return this.current('TrainedVariance'); }
  /** Current scale (weight `gamma`). */
  get Scale(): Float32Array { return this.current('Scale'); }
  /** Current offset (weight `beta`). */
  get Offset(): Float32Array { return this.current('Offset'); }
  /** Epsilon added to the variance. */
  get Epsilon(): number { return this.epsilon; }
  /** Number of channels; undefined until given or inferred from an input. */
  get NumChannels(): number|undefined { return this.numChannels; }
  /** The layer's name (same as `name`). */
  get Name(): string { return this.name; }
}

/**
 * Registers the layer class for serialization (model.save / loadLayersModel).
 * Idempotent and silent; called by `registerBatchNormInference()`, i.e. on
 * importing the package (not by `base`).
 */
export function registerBatchNormInferenceLayer(): void {
  const entry = serialization.SerializationMap.getMap().classNameMap[BatchNormInferenceLayer.className];
  if (entry == null || entry[0] !== BatchNormInferenceLayer) {
    serialization.registerClass(BatchNormInferenceLayer);
  }
}

/**
 * Creates a {@link BatchNormInferenceLayer} from MATLAB-style arguments.
 *
 * ```js
 * const bn = tfbni.batchNormInferenceLayer({
 *   TrainedMean: [[[0.5, -1, 2]]],      // 1x1xC, as MATLAB stores it
 *   TrainedVariance: [[[4, 1, 0.25]]],
 *   Epsilon: 1e-5,
 * });
 * bn.apply(tf.ones([1, 2, 2, 3])).print();
 * ```
 *
 * @param args See {@link BatchNormInferenceLayerArgs}; every property is
 *     optional, and MATLAB's and camelCase names are accepted alike.
 */
export function batchNormInferenceLayer(args: BatchNormInferenceLayerArgs = {}):
    BatchNormInferenceLayer {
  return new BatchNormInferenceLayer(args);
}
