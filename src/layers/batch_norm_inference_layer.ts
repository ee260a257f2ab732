/**
 * The BatchNormInference layer: MATLAB's batchNormalizationLayer for
 * tfjs-layers models. At prediction time it normalizes with the trained
 * statistics through the `batchNormInference` op:
 *
 *     y = Scale * (x - TrainedMean) / sqrt(TrainedVariance + Epsilon) + Offset
 *
 * per channel along `axis`; in training it uses the mini-batch statistics
 * and updates the trained ones (batch_norm_training.ts). Its MATLAB-style
 * arguments are read in `matlab_args.ts` and `training_args.ts`.
 */
import {initializers, InputSpec, LayerVariable, layers, Shape, SymbolicTensor} from '@tensorflow/tfjs-layers';
import {cast, dispose, serialization, Tensor, tensor1d, tidy} from '@tensorflow/tfjs-core';

import {batchNormInference} from '../ops/batch_norm_inference';
import {fail} from '../util/fail';
import {l2Penalty, movingAverage, normalizeWithBatchStatistics, scaleGradient} from './batch_norm_training';
import {inputProbeOf} from './input_probe';
import {channelsOfInput, exactlyOneShape} from './input_shape';
import {BatchNormInferenceLayerArgs, checkWeightValues, layerWho, ORDER, parseArgs, ParsedArgs, shapeText, Statistic, STATISTICS} from './matlab_args';
import {configToArgs, initialValues, trainingConfig, TrainingOptions} from './training_args';

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
  private gamma?: LayerVariable;
  private beta?: LayerVariable;
  private movingMean?: LayerVariable;
  private movingVariance?: LayerVariable;
  /** MeanDecay, VarianceDecay, initializers, learn-rate and L2 factors. */
  readonly training: Readonly<Omit<TrainingOptions, 'freezeStatistics'>>;
  /**
   * In training, normalize with TrainedMean / TrainedVariance and keep them;
   * only Scale and Offset learn. Settable (like `trainable`), e.g. on the
   * layers of a converted model before fine-tuning it.
   */
  freezeStatistics: boolean;
  /** True while the layer writes its own statistics (skips the external-write check). */
  private updating = false;

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
    // Initial values first: an initializer that fails leaves no weight behind.
    const who = layerWho(this.name);
    const {scaleInitializer, offsetInitializer} = this.training;
    const initial: Array<Tensor|undefined> = [];
    const weights: LayerVariable[] = [];
    try {
      for (const {property} of STATISTICS) {
        const values = this.pendingValues[property];
        initial.push(values !== undefined ? tensor1d(values, 'float32') :
            property === 'Scale' ? initialValues(scaleInitializer, channels, 'ScaleInitializer', who, shapeText(shape)) :
            property === 'Offset' ? initialValues(offsetInitializer, channels, 'OffsetInitializer', who, shapeText(shape)) :
            undefined);
      }
      for (const {weight, fill} of STATISTICS) {
        const trainable = weight === 'gamma' || weight === 'beta';
        const initializer = fill === 1 ? initializers.ones() : initializers.zeros();
        weights.push(this.addWeight(weight, [channels], 'float32', initializer, undefined, trainable));
      }
      this.writeOwn(() => initial.forEach((t, i) => t !== undefined && weights[i].write(t)));
    } finally {
      dispose(initial.filter((t): t is Tensor => t !== undefined));
    }
    [this.gamma, this.beta, this.movingMean, this.movingVariance] = weights;
    weights.forEach((w, i) => this.guardWrites(w, STATISTICS[i].property));
    this.addL2Penalty(this.gamma, this.training.scaleL2Factor, this.training.scaleLearnRateFactor);
    this.addL2Penalty(this.beta, this.training.offsetL2Factor, this.training.offsetLearnRateFactor);
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
      const t = this.training;
      const gamma = training ? scaleGradient(this.gamma!.read(), t.scaleLearnRateFactor) : this.gamma!.read();
      const beta = training ? scaleGradient(this.beta!.read(), t.offsetLearnRateFactor) : this.beta!.read();
      if (!training || this.freezeStatistics) {
        if (!training) inputProbeOf(this)?.(x);
        return batchNormInference(
            x, gamma, beta, this.movingMean!.read(), this.movingVariance!.read(),
            {epsilon: this.epsilon, axis: this.axis});
      }
      const axis = this.axis < 0 ? this.axis + x.rank : this.axis;
      const batch = normalizeWithBatchStatistics(x, gamma, beta, axis, this.epsilon);
      this.writeOwn(() => {
        this.movingMean!.write(movingAverage(this.movingMean!.read(), batch.mean, t.meanDecay));
        this.movingVariance!.write(
            movingAverage(this.movingVariance!.read(), batch.variance, t.varianceDecay));
      });
      return batch.output;
    });
  }

  /** Runs the layer's own writes to its weights (not checked as external values are). */
  private writeOwn(write: () => void): void {
    this.updating = true;
    try {
      write();
    } finally {
      this.updating = false;
    }
  }

  /**
   * Checks values written into a weight from outside (setWeights, the
   * `weights` argument, a weights file read by tf.loadLayersModel, which
   * writes each LayerVariable directly) with the constructor's rules: finite,
   * and TrainedVariance >= 0.
   */
  private guardWrites(weight: LayerVariable, property: Statistic): void {
    const write = weight.write.bind(weight);
    weight.write = (value: Tensor) => {
      if (!this.updating) checkWeightValues(value, property, this.name);
      return write(value);
    };
  }

  /** MATLAB's L2 penalty on gamma or beta, through the learn-rate factor as its gradient. */
  private addL2Penalty(weight: LayerVariable|undefined, l2Factor: number, learnRateFactor: number) {
    const coefficient = this.training.l2Regularization * l2Factor;
    if (coefficient === 0 || weight === undefined) return;
    this.addLoss(() => tidy(() => l2Penalty(scaleGradient(weight.read(), learnRateFactor), coefficient)));
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
   * Builds the layer from a config read back from model.json. tfjs's
   * deserializer adds a `customObjects` entry to every config; it is not a
   * layer argument, so it is dropped here. tfjs's snake_case round trip
   * (scaleL2Factor -> scale_l2_factor -> scaleL2factor) changes the case of
   * some keys; they are matched back to the layer's names.
   */
  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls(configToArgs(config));
  }

  private current(property: Statistic): Float32Array {
    const index = STATISTICS.findIndex((s) => s.property === property);
    const weight = [this.gamma, this.beta, this.movingMean, this.movingVariance][index];
    if (weight !== undefined) return Float32Array.from(weight.read().dataSync());
    const pending = this.pendingValues[property];
    if (pending !== undefined) return pending.slice();
    return new Float32Array(this.numChannels ?? 0).fill(STATISTICS[index].fill);
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
