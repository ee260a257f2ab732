/**
 * MATLAB-style arguments of the BatchNormInference layer: property names in
 * both spellings (`TrainedMean` / `trainedMean`), per-channel values in any of
 * MATLAB's shapes (C, 1xC, Cx1, 1x1xC), typo suggestions for unknown names,
 * and the layer's error wording (`Error in BatchNormInference layer '<name>'`).
 * The arguments' interface, BatchNormInferenceLayerArgs, is with the layer
 * class (batch_norm_inference_layer.ts), as tfjs-layers keeps a layer's args
 * and class together.
 */
import {checkedEpsilon} from '../../../kernels/shared/checks';
import {describeValue} from '../../../kernels/shared/describe_value';
import {fail} from '../../../kernels/shared/fail';
import {layerWho, ORDER, readChannelValues, Statistic} from './statistic_values';
import {parseTrainingArgs, TRAINING_PROPERTIES, TrainingOptions} from './training_args';
import type {BatchNormInferenceLayerArgs, LayerArgs} from './batch_norm_inference_layer';

/** MATLAB's property names and their camelCase spellings. */
const PROPERTIES = {
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

/** MATLAB's default Epsilon. */
const DEFAULT_LAYER_EPSILON = 1e-5;
/** Channels last, as tfjs-layers' BatchNormalization. */
const DEFAULT_LAYER_AXIS = -1;

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
  const epsilon =
      checkedEpsilon(given(epsilonValue) ? epsilonValue : DEFAULT_LAYER_EPSILON, 'Epsilon', layerWho(name));

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
