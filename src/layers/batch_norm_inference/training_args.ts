/**
 * The training properties of the BatchNormInference layer, as MATLAB's
 * batchNormalizationLayer names them (MeanDecay, VarianceDecay, the Scale and
 * Offset initializers, learn-rate and L2 factors), plus `L2Regularization`
 * (MATLAB's trainingOptions coefficient, per layer here) and
 * `freezeStatistics`. Read, checked and serialized here.
 */
import {initializers} from '@tensorflow/tfjs-layers';
import {serialization, Tensor, TensorLike, tensor1d} from '@tensorflow/tfjs-core';

import {describeValue} from '../../../kernels/shared/describe_value';
import {fail} from '../../../kernels/shared/fail';
import {flattenNested, isArrayLike} from '../../util/nested_array';
import {DEFAULT_DECAY, DEFAULT_L2_REGULARIZATION} from './batch_norm_training';

/** A tfjs-layers initializer (`tf.initializers.*()`): not exported by name from tfjs-layers. */
export type TfInitializer = ReturnType<typeof initializers.ones>;

/**
 * How Scale or Offset start when not given: MATLAB's `'ones'`, `'zeros'`,
 * `'narrow-normal'` (normal, mean 0, standard deviation 0.01), a tfjs
 * initializer (`tf.initializers.glorotNormal()`), its serialized form
 * `{className, config}`, or a function `(shape) => values` returning C
 * numbers (a tensor or an array; not serializable, see getConfig).
 */
export type InitializerSpec = 'ones'|'zeros'|'narrow-normal'|TfInitializer|
    {className: string, config: serialization.ConfigDict}|((shape: number[]) => Tensor|TensorLike);

/** The training arguments of {@link BatchNormInferenceLayerArgs}, with every default. */
export interface BatchNormTrainingArgs {
  /**
   * Weight of the mini-batch mean in the running TrainedMean update
   * `TrainedMean <- MeanDecay * mean_B + (1 - MeanDecay) * TrainedMean`, in
   * [0, 1]. Default 0.1 (MATLAB). Keras's momentum m is 1 - MeanDecay.
   */
  MeanDecay?: number|null;
  meanDecay?: number|null;
  /** The same for TrainedVariance (with the mini-batch variance divided by N). Default 0.1. */
  VarianceDecay?: number|null;
  varianceDecay?: number|null;
  /** Initial Scale when Scale is not given. Default `'ones'`. */
  ScaleInitializer?: InitializerSpec|null;
  scaleInitializer?: InitializerSpec|null;
  /** Initial Offset when Offset is not given. Default `'zeros'`. */
  OffsetInitializer?: InitializerSpec|null;
  offsetInitializer?: InitializerSpec|null;
  /** Multiplies Scale's gradient (loss and L2 penalty); >= 0, 0 freezes Scale. Default 1. */
  ScaleLearnRateFactor?: number|null;
  scaleLearnRateFactor?: number|null;
  /** Multiplies Offset's gradient; >= 0, 0 freezes Offset. Default 1. */
  OffsetLearnRateFactor?: number|null;
  offsetLearnRateFactor?: number|null;
  /** Multiplies L2Regularization for Scale; >= 0. Default 1. */
  ScaleL2Factor?: number|null;
  scaleL2Factor?: number|null;
  /** Multiplies L2Regularization for Offset; >= 0. Default 1. */
  OffsetL2Factor?: number|null;
  offsetL2Factor?: number|null;
  /**
   * The L2 coefficient lambda: the loss gains `lambda * factor / 2 * sum(w^2)`
   * for Scale and Offset (gradient `lambda * factor * w`), as MATLAB's
   * trainingOptions `L2Regularization`. >= 0; 0 turns the penalty off.
   * Default 1e-4 (MATLAB's default).
   */
  L2Regularization?: number|null;
  l2Regularization?: number|null;
  /**
   * Keep TrainedMean and TrainedVariance fixed in training too: `fit()`
   * normalizes with them and trains only Scale and Offset (the layer's
   * behaviour before training mode existed; for fine-tuning a converted
   * model). Default false. (`trainable: false` freezes everything.)
   */
  freezeStatistics?: boolean|null;
}

/** MATLAB's training property names and their camelCase spellings. */
export const TRAINING_PROPERTIES = {
  MeanDecay: 'meanDecay',
  VarianceDecay: 'varianceDecay',
  ScaleInitializer: 'scaleInitializer',
  OffsetInitializer: 'offsetInitializer',
  ScaleLearnRateFactor: 'scaleLearnRateFactor',
  OffsetLearnRateFactor: 'offsetLearnRateFactor',
  ScaleL2Factor: 'scaleL2Factor',
  OffsetL2Factor: 'offsetL2Factor',
  L2Regularization: 'l2Regularization',
} as const;
export type TrainingProperty = keyof typeof TRAINING_PROPERTIES;

/** The checked training options (camelCase keys: also the getConfig keys). */
export interface TrainingOptions {
  meanDecay: number;
  varianceDecay: number;
  scaleInitializer: InitializerSpec;
  offsetInitializer: InitializerSpec;
  scaleLearnRateFactor: number;
  offsetLearnRateFactor: number;
  scaleL2Factor: number;
  offsetL2Factor: number;
  l2Regularization: number;
  freezeStatistics: boolean;
}

const MATLAB_INITIALIZERS = ['ones', 'zeros', 'narrow-normal'];

function isTfInitializer(value: unknown): value is TfInitializer {
  return value instanceof serialization.Serializable &&
      typeof (value as {apply?: unknown}).apply === 'function';
}

function isSerializedInitializer(value: unknown): value is {className: string, config: serialization.ConfigDict} {
  return value != null && typeof value === 'object' && !Array.isArray(value) &&
      typeof (value as {className?: unknown}).className === 'string';
}

function readInitializer(value: unknown, property: string, who: string): InitializerSpec {
  if (typeof value === 'string' && MATLAB_INITIALIZERS.includes(value)) return value as InitializerSpec;
  if (typeof value === 'function' || isTfInitializer(value)) return value as InitializerSpec;
  if (isSerializedInitializer(value)) {
    if (serialization.SerializationMap.getMap().classNameMap[value.className] == null) {
      fail(who, `${property} names the initializer class '${value.className}', which is not ` +
           `registered with tfjs.`);
    }
    return value;
  }
  return fail(who, `${property} must be 'ones', 'zeros', 'narrow-normal', a tf.initializers ` +
              `initializer or a function (shape) => values, but got ${describeValue(value)}.`);
}

function readNumber(value: unknown, property: string, who: string, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    fail(who, `${property} must be a number in [0, ${max === Infinity ? 'Infinity)' : `${max}]`}, ` +
         `but got ${describeValue(value)}.`);
  }
  return value;
}

/**
 * Reads the training properties through `read` (which handles the two
 * spellings) and the `freezeStatistics` flag.
 */
export function parseTrainingArgs(
    read: (property: TrainingProperty) => unknown, freeze: unknown, who: string): TrainingOptions {
  const value = (p: TrainingProperty, fallback: unknown) => read(p) ?? fallback;
  if (freeze != null && typeof freeze !== 'boolean') {
    fail(who, `freezeStatistics must be true or false, but got ${describeValue(freeze)}.`);
  }
  return {
    meanDecay: readNumber(value('MeanDecay', DEFAULT_DECAY), 'MeanDecay', who, 1),
    varianceDecay: readNumber(value('VarianceDecay', DEFAULT_DECAY), 'VarianceDecay', who, 1),
    scaleInitializer: readInitializer(value('ScaleInitializer', 'ones'), 'ScaleInitializer', who),
    offsetInitializer: readInitializer(value('OffsetInitializer', 'zeros'), 'OffsetInitializer', who),
    scaleLearnRateFactor:
        readNumber(value('ScaleLearnRateFactor', 1), 'ScaleLearnRateFactor', who, Infinity),
    offsetLearnRateFactor:
        readNumber(value('OffsetLearnRateFactor', 1), 'OffsetLearnRateFactor', who, Infinity),
    scaleL2Factor: readNumber(value('ScaleL2Factor', 1), 'ScaleL2Factor', who, Infinity),
    offsetL2Factor: readNumber(value('OffsetL2Factor', 1), 'OffsetL2Factor', who, Infinity),
    l2Regularization: readNumber(
        value('L2Regularization', DEFAULT_L2_REGULARIZATION), 'L2Regularization', who, Infinity),
    freezeStatistics: freeze === true,
  };
}

/**
 * The initial values (a new float32 tensor of shape [channels]) an
 * initializer gives. A function's result is checked: C finite numbers.
 */
export function initialValues(
    spec: InitializerSpec, channels: number, property: string, who: string, inputShape: string): Tensor {
  if (spec === 'ones') return initializers.ones().apply([channels], 'float32');
  if (spec === 'zeros') return initializers.zeros().apply([channels], 'float32');
  if (spec === 'narrow-normal') {
    return initializers.randomNormal({mean: 0, stddev: 0.01}).apply([channels], 'float32');
  }
  if (isTfInitializer(spec)) return spec.apply([channels], 'float32');
  if (isSerializedInitializer(spec)) {
    const [cls, fromConfig] = serialization.SerializationMap.getMap().classNameMap[spec.className];
    const initializer = fromConfig(cls, spec.config ?? {}) as unknown as TfInitializer;
    return initializer.apply([channels], 'float32');
  }
  const result = (spec as (shape: number[]) => unknown)([channels]);
  let values: ArrayLike<number>;
  if (result instanceof Tensor) {
    values = result.dataSync();
  } else if (isArrayLike(result)) {
    values = flattenNested(result, who, `the result of ${property}`).values;
  } else {
    return fail(who, `${property} must return a tensor or an array of ${channels} numbers ` +
                `(one per channel of input shape ${inputShape}), but returned ${describeValue(result)}.`);
  }
  if (values.length !== channels || !Array.from(values).every(Number.isFinite)) {
    fail(who, `${property} must return ${channels} finite numbers (one per channel of input ` +
         `shape ${inputShape}), but ` +
         `returned ${values.length} value${values.length === 1 ? '' : 's'}` +
         `${values.length === channels ? ', not all finite' : ''}.`);
  }
  return tensor1d(Float32Array.from(values));
}

/**
 * The options as getConfig writes them. A function initializer cannot be
 * written to model.json: it is left out (the loaded layer's Scale/Offset come
 * from the weights file, so only an unbuilt copy differs).
 */
export function trainingConfig(options: TrainingOptions): serialization.ConfigDict {
  const config: serialization.ConfigDict = {};
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'function') continue;
    config[key] = isTfInitializer(value) ?
        {className: value.getClassName(), config: value.getConfig()} :
        value as serialization.ConfigDictValue;
  }
  return config;
}

/** A config read back from model.json as constructor arguments (see the layer's fromConfig). */
export function configToArgs(config: serialization.ConfigDict): serialization.ConfigDict {
  const args: serialization.ConfigDict = {};
  const names: string[] = Object.values(TRAINING_PROPERTIES);
  for (const [key, value] of Object.entries(config)) {
    if (key === 'customObjects') continue;
    args[names.find((n) => n.toLowerCase() === key.toLowerCase()) ?? key] = value;
  }
  return args;
}
