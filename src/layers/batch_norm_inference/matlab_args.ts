/**
 * MATLAB-style arguments of the BatchNormInference layer: property names in
 * both spellings (`TrainedMean` / `trainedMean`), per-channel values in any of
 * MATLAB's shapes (C, 1xC, Cx1, 1x1xC), typo suggestions for unknown names,
 * and the layer's error wording (`Error in BatchNormInference layer '<name>'`).
 */
import {layers, LayerVariable} from '@tensorflow/tfjs-layers';
import {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {describeValue} from '../../../kernels/shared/describe_value';
import {fail} from '../../../kernels/shared/fail';
import {layerWho, ORDER, readChannelValues, Statistic} from './channel_values';
import {BatchNormTrainingArgs, parseTrainingArgs, TRAINING_PROPERTIES, TrainingOptions} from './training_args';

/**
 * The arguments every tfjs layer takes (`name`, `trainable`, `inputShape`,
 * `batchInputShape`, `batchSize`, `dtype`, `weights`, ...). tfjs-layers does
 * not export the interface from its entry point, so it is read off the Layer
 * constructor.
 */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/**
 * One value per channel: a number (one channel), a plain or nested array, a
 * typed array or a tf.Tensor (float32 or int32), in any of MATLAB's shapes
 * for per-channel properties: `C`, `1xC`, `Cx1` or `1x1xC` - any shape with C
 * elements and at most one dimension other than 1. A tfjs-layers
 * `LayerVariable` (e.g. `otherLayer.weights[2]`) is read as its tensor.
 */
export type ChannelValues = Tensor|TensorLike|LayerVariable;

/**
 * Arguments of {@link batchNormInferenceLayer}: MATLAB's batchNormalizationLayer
 * properties, each also accepted in camelCase (`TrainedMean` or
 * `trainedMean`, but not both), plus `axis` and the usual tfjs layer
 * arguments. `null` and `undefined` mean "not given".
 */
export interface BatchNormInferenceLayerArgs extends LayerArgs, BatchNormTrainingArgs {
  /**
   * Trained mean per channel. Default: zeros (no centering). Stored as the
   * non-trainable weight `moving_mean`.
   */
  TrainedMean?: ChannelValues|null;
  trainedMean?: ChannelValues|null;
  /**
   * Trained variance per channel, >= 0. Default: ones (with the default
   * Epsilon, almost no scaling). Stored as the non-trainable weight
   * `moving_variance`.
   */
  TrainedVariance?: ChannelValues|null;
  trainedVariance?: ChannelValues|null;
  /**
   * Added to the variance before the square root: a finite number > 0.
   * Default 1e-5, as MATLAB (which also refuses values below 1e-5; this layer
   * accepts any positive value, since converted Keras models use e.g. 1e-6).
   */
  Epsilon?: number|null;
  epsilon?: number|null;
  /** Scale factor gamma per channel. Default: ones. Weight `gamma`, trainable. */
  Scale?: ChannelValues|null;
  scale?: ChannelValues|null;
  /** Offset beta per channel. Default: zeros. Weight `beta`, trainable. */
  Offset?: ChannelValues|null;
  offset?: ChannelValues|null;
  /**
   * Number of channels, a positive integer. Default (or `'auto'`, MATLAB's
   * default): the length of the statistics given, else the input's size
   * along `axis` when the layer is built.
   */
  NumChannels?: number|'auto'|null;
  numChannels?: number|'auto'|null;
  /** Layer name. Default (or `''`, MATLAB's default): a unique generated name. */
  Name?: string|null;
  /**
   * The channel axis of the input. Default -1 (channels last, tfjs's NHWC).
   * Use 1 for channels-first inputs. A one-element list (`[3]`), as older
   * Keras converters write it, is accepted. Axis 0 (the batch axis) is not.
   */
  axis?: number|number[]|null;
}

/** MATLAB's property names and their camelCase spellings. */
export const PROPERTIES = {
  TrainedMean: 'trainedMean',
  TrainedVariance: 'trainedVariance',
  Epsilon: 'epsilon',
  Scale: 'scale',
  Offset: 'offset',
  NumChannels: 'numChannels',
  Name: 'name',
  ...TRAINING_PROPERTIES,
} as const;
export type Property = keyof typeof PROPERTIES;

/** The other keys the constructor accepts: `axis` and tfjs's LayerArgs. */
const LAYER_ARG_KEYS =
    ['trainable', 'inputShape', 'batchInputShape', 'batchSize', 'dtype', 'inputDType', 'weights'];
const OTHER_KEYS = ['axis', 'freezeStatistics', ...LAYER_ARG_KEYS];

const VALID_KEYS: string[] = [
  ...Object.keys(PROPERTIES), ...Object.values(PROPERTIES), ...OTHER_KEYS,
];

export {checkWeightValues, layerWho, ORDER, shapeText, STATISTICS} from './channel_values';
export type {Statistic} from './channel_values';

/** MATLAB's default Epsilon. */
export const DEFAULT_LAYER_EPSILON = 1e-5;
/** Channels last, as tfjs-layers' BatchNormalization. */
export const DEFAULT_LAYER_AXIS = -1;

// ---------------------------------------------------------------------------
// Unknown keys

function levenshtein(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The valid key closest to a mistyped one (case, underscores, 1-2 typos). */
function suggestion(key: string): string|undefined {
  const squash = (s: string) => s.replace(/_/g, '').toLowerCase();
  let best: string|undefined;
  let bestDistance = 3;
  for (const valid of VALID_KEYS) {
    const d = levenshtein(squash(key), squash(valid));
    if (d < bestDistance) {
      best = valid;
      bestDistance = d;
    }
  }
  return best;
}

function validKeysText(): string {
  const pairs = (Object.keys(PROPERTIES) as Property[]).map((p) => `${p} (or ${PROPERTIES[p]})`);
  return [...pairs, ...OTHER_KEYS].join(', ');
}


function readAxis(value: unknown, name?: string): number {
  const axis = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    fail(layerWho(name), `axis must be an integer, or a one-element list of an integer as older Keras ` +
         `converters write it, but got ${Array.isArray(value) ? JSON.stringify(value) : describeValue(value)}.`);
  }
  return axis;
}

// ---------------------------------------------------------------------------
// Parsing the arguments

export interface ParsedArgs {
  layerArgs: LayerArgs;
  epsilon: number;
  axis: number;
  numChannels?: number;
  /** Given values, by property; absent ones take their default at build. */
  values: Partial<Record<Statistic, Float32Array>>;
  training: TrainingOptions;
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export function parseArgs(args: BatchNormInferenceLayerArgs): ParsedArgs {
  if (args == null || typeof args !== 'object' || Array.isArray(args)) {
    fail(layerWho(), `the arguments must be an object of name-value pairs such as ` +
         `{TrainedMean, TrainedVariance, Epsilon}, but got ${describeValue(args)}.`);
  }
  // Own properties only: nothing inherited (Object.prototype included) is an argument.
  const record: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(args)) record[key] = (args as Record<string, unknown>)[key];
  const nameHint = [record.Name, record.name].find((n) => typeof n === 'string' && n !== '') as
      string | undefined;

  const unknown = Object.keys(record).filter((k) => !VALID_KEYS.includes(k));
  if (unknown.length > 0) {
    const list = unknown.map((k) => {
      const s = suggestion(k);
      return `'${k}'${s ? ` (did you mean '${s}'?)` : ''}`;
    });
    fail(layerWho(nameHint), `unknown argument${unknown.length > 1 ? 's' : ''} ${list.join(', ')}. ` +
         `Valid arguments: ${validKeysText()}.`);
  }

  const read = (property: Property): unknown => {
    const camel = PROPERTIES[property];
    if (given(record[property]) && given(record[camel])) {
      fail(layerWho(nameHint), `${property} and ${camel} are two spellings of the same property; pass ` +
           `only one.`);
    }
    return given(record[property]) ? record[property] : record[camel];
  };

  const nameValue = read('Name');
  if (given(nameValue) && typeof nameValue !== 'string') {
    fail(layerWho(), `Name must be a string, but got ${describeValue(nameValue)}.`);
  }
  const name = (nameValue as string | undefined) || undefined;

  const epsilonValue = read('Epsilon');
  const epsilon = given(epsilonValue) ? epsilonValue : DEFAULT_LAYER_EPSILON;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    fail(layerWho(name), `Epsilon must be a finite number > 0, but got ${describeValue(epsilon)}.`);
  }

  const axis = given(record.axis) ? readAxis(record.axis, name) : DEFAULT_LAYER_AXIS;

  let numChannels: number|undefined;
  const numChannelsValue = read('NumChannels');
  if (given(numChannelsValue) && numChannelsValue !== 'auto') {
    if (typeof numChannelsValue !== 'number' || !Number.isInteger(numChannelsValue) ||
        numChannelsValue < 1) {
      fail(layerWho(name), `NumChannels must be a positive integer (or 'auto'), but got ` +
           `${describeValue(numChannelsValue)}.`);
    }
    numChannels = numChannelsValue;
  }

  const values: ParsedArgs['values'] = Object.create(null);
  let first: {property: Statistic, length: number}|undefined;
  for (const property of ORDER) {
    const value = read(property);
    if (!given(value)) continue;
    const v = readChannelValues(value, property, name);
    if (numChannels !== undefined && v.length !== numChannels) {
      fail(layerWho(name), `${property} has ${v.length} value${v.length > 1 ? 's' : ''} but NumChannels ` +
           `is ${numChannels}.`);
    }
    if (first !== undefined && v.length !== first.length) {
      fail(layerWho(name), `${property} has ${v.length} value${v.length > 1 ? 's' : ''} but ` +
           `${first.property} has ${first.length}: TrainedMean, TrainedVariance, Scale and ` +
           `Offset need one value per channel each.`);
    }
    first = first ?? {property, length: v.length};
    values[property] = v;
  }

  if (given(record.weights) && first !== undefined) {
    const set = ORDER.filter((p) => values[p] !== undefined).join(', ');
    fail(layerWho(name), `weights and ${set} both give the layer's weights; pass either ` +
         `weights (gamma, beta, moving_mean, moving_variance) or the MATLAB properties.`);
  }
  const training = parseTrainingArgs(read, record.freezeStatistics, layerWho(name));

  const layerArgs: LayerArgs = Object.create(null);
  for (const key of LAYER_ARG_KEYS) {
    if (given(record[key])) (layerArgs as Record<string, unknown>)[key] = record[key];
  }
  if (name !== undefined) layerArgs.name = name;
  return {
    layerArgs,
    epsilon,
    axis,
    numChannels: numChannels ?? first?.length,
    values,
    training,
  };
}
