/**
 * The BatchNormInference layer: MATLAB's batchNormalizationLayer at
 * prediction time, for tfjs-layers models. It normalizes with fixed (trained)
 * statistics through the `batchNormInference` op:
 *
 *     y = Scale * (x - TrainedMean) / sqrt(TrainedVariance + Epsilon) + Offset
 *
 * per channel along `axis`.
 */
import {initializers, LayerVariable, layers, Shape} from '@tensorflow/tfjs-layers';
import {serialization, Tensor, TensorLike, tensor1d, tidy} from '@tensorflow/tfjs-core';

import {batchNormInference} from '../ops/batch_norm_inference';
import {describeValue} from '../util/describe_value';
import {BatchNormInference} from '../kernel_names';

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
export interface BatchNormInferenceLayerArgs extends LayerArgs {
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
const PROPERTIES = {
  TrainedMean: 'trainedMean',
  TrainedVariance: 'trainedVariance',
  Epsilon: 'epsilon',
  Scale: 'scale',
  Offset: 'offset',
  NumChannels: 'numChannels',
  Name: 'name',
} as const;
type Property = keyof typeof PROPERTIES;

/** The other keys the constructor accepts: `axis` and tfjs's LayerArgs. */
const LAYER_ARG_KEYS =
    ['trainable', 'inputShape', 'batchInputShape', 'batchSize', 'dtype', 'inputDType', 'weights'];
const OTHER_KEYS = ['axis', ...LAYER_ARG_KEYS];

const VALID_KEYS: string[] = [
  ...Object.keys(PROPERTIES), ...Object.values(PROPERTIES), ...OTHER_KEYS,
];

/** MATLAB's default Epsilon. */
export const DEFAULT_LAYER_EPSILON = 1e-5;
/** Channels last, as tfjs-layers' BatchNormalization. */
export const DEFAULT_LAYER_AXIS = -1;

/** The four statistics in weight order, with their weight and property names. */
const STATISTICS = [
  {property: 'Scale', weight: 'gamma', fill: 1},
  {property: 'Offset', weight: 'beta', fill: 0},
  {property: 'TrainedMean', weight: 'moving_mean', fill: 0},
  {property: 'TrainedVariance', weight: 'moving_variance', fill: 1},
] as const;
type Statistic = typeof STATISTICS[number]['property'];
/** MATLAB's order: the arguments are read, and mismatches named, in this order. */
const ORDER: Statistic[] = ['TrainedMean', 'TrainedVariance', 'Scale', 'Offset'];

// ---------------------------------------------------------------------------
// Messages

function label(name?: string): string {
  return `Error in ${BatchNormInference} layer${name ? ` '${name}'` : ''}`;
}

function fail(name: string|undefined, message: string): never {
  throw new Error(`${label(name)}: ${message}`);
}


function shapeText(shape: ReadonlyArray<number|null>): string {
  return `[${shape.map((d) => (d == null ? 'null' : String(d))).join(',')}]`;
}

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

// ---------------------------------------------------------------------------
// Reading per-channel values

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/** Walks a (nested) array: its shape, its numbers in order, or an error text. */
function flattenNested(value: ArrayLike<unknown>, property: string, name?: string):
    {shape: number[], values: number[]} {
  const shape: number[] = [];
  for (let level: unknown = value; isArrayLike(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: number[] = [];
  const walk = (node: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        fail(name, `${property} must contain only numbers, but ${property}${path} is ${describeValue(node)}.`);
      }
      values.push(node);
      return;
    }
    if (!isArrayLike(node) || node.length !== shape[depth]) {
      fail(name, `${property} must be a rectangular (non-ragged) array, but ${property}${path} is ` +
           `${isArrayLike(node) ? `of length ${node.length}` : describeValue(node)} where the first ` +
           `element at that depth has length ${shape[depth]} (shape ${shape.join('x')}).`);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, '');
  return {shape, values};
}

/**
 * Turns one per-channel property into a Float32Array: checks the type, the
 * MATLAB shape (at most one dimension other than 1), and that the values are
 * finite in float32 (and >= 0 for TrainedVariance).
 */
function readChannelValues(value: unknown, property: Statistic, name?: string): Float32Array {
  let shape: number[];
  let values: ArrayLike<number>;
  const source = value instanceof LayerVariable ? value.read() : value;
  if (source instanceof Tensor) {
    if (source.dtype !== 'float32' && source.dtype !== 'int32') {
      fail(name, `${property} must be a float32 or int32 tensor, but got dtype ${source.dtype} ` +
           `(shape [${source.shape}]).`);
    }
    shape = source.shape;
    values = source.dataSync() as Float32Array|Int32Array;
  } else if (typeof source === 'number') {
    shape = [1];
    values = [source];
  } else if (isArrayLike(source)) {
    ({shape, values} = flattenNested(source, property, name));
  } else {
    return fail(name, `${property} must be a number, a (nested) array of numbers, a typed array ` +
                `or a tf.Tensor with one value per channel, but got ${describeValue(source)}.`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 0) {
    fail(name, `${property} is empty (shape ${shape.join('x')}), which MATLAB shows as [] for a ` +
         `layer that was never trained; pass the trained values, or leave ${property} out for ` +
         `the default (${defaultText(property)}).`);
  }
  if (shape.filter((d) => d !== 1).length > 1) {
    fail(name, `${property} must hold one value per channel, in a shape such as C, 1xC, Cx1 or ` +
         `1x1xC (at most one dimension other than 1), but got shape ${shape.join('x')}.`);
  }
  const out = Float32Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      fail(name, `${property} must be finite, but element ${i} is ${values[i]}` +
           `${Number.isFinite(values[i]) ? ', which overflows float32' : ''}.`);
    }
    if (property === 'TrainedVariance' && out[i] < 0) {
      fail(name, `TrainedVariance must be >= 0, but element ${i} is ${values[i]}.`);
    }
  }
  return out;
}

function defaultText(property: Statistic): string {
  return STATISTICS.find((s) => s.property === property)!.fill === 0 ? 'zeros' : 'ones';
}

function readAxis(value: unknown, name?: string): number {
  const axis = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    fail(name, `axis must be an integer, or a one-element list of an integer as older Keras ` +
         `converters write it, but got ${Array.isArray(value) ? JSON.stringify(value) : describeValue(value)}.`);
  }
  return axis;
}

// ---------------------------------------------------------------------------
// Parsing the arguments

interface ParsedArgs {
  layerArgs: LayerArgs;
  epsilon: number;
  axis: number;
  numChannels?: number;
  /** Given values, by property; absent ones take their default at build. */
  values: Partial<Record<Statistic, Float32Array>>;
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function parseArgs(args: BatchNormInferenceLayerArgs): ParsedArgs {
  if (args == null || typeof args !== 'object' || Array.isArray(args)) {
    fail(undefined, `the arguments must be an object of name-value pairs such as ` +
         `{TrainedMean, TrainedVariance, Epsilon}, but got ${describeValue(args)}.`);
  }
  const record = args as Record<string, unknown>;
  const nameHint = [record.Name, record.name].find((n) => typeof n === 'string' && n !== '') as
      string | undefined;

  const unknown = Object.keys(record).filter((k) => !VALID_KEYS.includes(k));
  if (unknown.length > 0) {
    const list = unknown.map((k) => {
      const s = suggestion(k);
      return `'${k}'${s ? ` (did you mean '${s}'?)` : ''}`;
    });
    fail(nameHint, `unknown argument${unknown.length > 1 ? 's' : ''} ${list.join(', ')}. ` +
         `Valid arguments: ${validKeysText()}.`);
  }

  const read = (property: Property): unknown => {
    const camel = PROPERTIES[property];
    if (given(record[property]) && given(record[camel])) {
      fail(nameHint, `${property} and ${camel} are two spellings of the same property; pass ` +
           `only one.`);
    }
    return given(record[property]) ? record[property] : record[camel];
  };

  const nameValue = read('Name');
  if (given(nameValue) && typeof nameValue !== 'string') {
    fail(undefined, `Name must be a string, but got ${describeValue(nameValue)}.`);
  }
  const name = (nameValue as string | undefined) || undefined;

  const epsilonValue = read('Epsilon');
  const epsilon = given(epsilonValue) ? epsilonValue : DEFAULT_LAYER_EPSILON;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    fail(name, `Epsilon must be a finite number > 0, but got ${describeValue(epsilon)}.`);
  }

  const axis = given(record.axis) ? readAxis(record.axis, name) : DEFAULT_LAYER_AXIS;

  let numChannels: number|undefined;
  const numChannelsValue = read('NumChannels');
  if (given(numChannelsValue) && numChannelsValue !== 'auto') {
    if (typeof numChannelsValue !== 'number' || !Number.isInteger(numChannelsValue) ||
        numChannelsValue < 1) {
      fail(name, `NumChannels must be a positive integer (or 'auto'), but got ` +
           `${describeValue(numChannelsValue)}.`);
    }
    numChannels = numChannelsValue;
  }

  const values: ParsedArgs['values'] = {};
  let first: {property: Statistic, length: number}|undefined;
  for (const property of ORDER) {
    const value = read(property);
    if (!given(value)) continue;
    const v = readChannelValues(value, property, name);
    if (numChannels !== undefined && v.length !== numChannels) {
      fail(name, `${property} has ${v.length} value${v.length > 1 ? 's' : ''} but NumChannels ` +
           `is ${numChannels}.`);
    }
    if (first !== undefined && v.length !== first.length) {
      fail(name, `${property} has ${v.length} value${v.length > 1 ? 's' : ''} but ` +
           `${first.property} has ${first.length}: TrainedMean, TrainedVariance, Scale and ` +
           `Offset need one value per channel each.`);
    }
    first = first ?? {property, length: v.length};
    values[property] = v;
  }

  const layerArgs: LayerArgs = {};
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
  };
}

// ---------------------------------------------------------------------------
// The layer

/**
 * Batch normalization with fixed statistics (MATLAB's batchNormalizationLayer
 * at prediction time; OpenVINO's BatchNormInference-1), per channel along
 * `axis`, for inputs of any rank >= 2:
 *
 *     y = Scale * (x - TrainedMean) / sqrt(TrainedVariance + Epsilon) + Offset
 *
 * The layer always uses the trained statistics, in `predict()` and in
 * `fit()` alike: `fit()` can fine-tune Scale and Offset (weights `gamma` and
 * `beta`, trainable unless `trainable: false`) while TrainedMean and
 * TrainedVariance (`moving_mean`, `moving_variance`) stay frozen.
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
  /** @nocollapse */
  static className = BatchNormInference;

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

  constructor(args: BatchNormInferenceLayerArgs = {}) {
    const parsed = parseArgs(args);
    super(parsed.layerArgs);
    this.supportsMasking = true;
    this.epsilon = parsed.epsilon;
    this.axis = parsed.axis;
    this.numChannels = parsed.numChannels;
    this.pendingValues = parsed.values;
  }

  /**
   * Checks an input shape against the axis and the channel count; returns
   * the number of channels it has.
   */
  private checkInputShape(shape: ReadonlyArray<number|null>): number {
    const rank = shape.length;
    if (rank < 2) {
      fail(this.name, `the input must have rank >= 2 (a batch axis and a channel axis), but got ` +
           `input shape ${shapeText(shape)} (rank ${rank}).`);
    }
    if (this.axis < -rank || this.axis >= rank) {
      fail(this.name, `axis ${this.axis} is out of range for input shape ${shapeText(shape)} ` +
           `(rank ${rank}); use an integer in [${-rank}, ${rank - 1}].`);
    }
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (axis === 0) {
      fail(this.name, `axis ${this.axis} is the batch axis of input shape ${shapeText(shape)}; ` +
           `the channel axis must be one of 1..${rank - 1} (or -1..${-(rank - 1)}).`);
    }
    const channels = shape[axis];
    const where = `axis ${this.axis} of input shape ${shapeText(shape)}`;
    if (channels == null) {
      fail(this.name, `the number of channels (${where}) is unknown; ${BatchNormInference} ` +
           `needs a fixed number of channels.`);
    }
    if (this.numChannels !== undefined && channels !== this.numChannels) {
      if (this.built) {
        fail(this.name, `the layer was built for ${this.numChannels} channels, but the input ` +
             `has ${channels} channels (${where}).`);
      }
      const property = ORDER.find((p) => this.pendingValues[p] !== undefined);
      fail(this.name, property !== undefined ?
               `${property} has ${this.numChannels} value${this.numChannels > 1 ? 's' : ''} ` +
                   `but the input has ${channels} channels (${where}).` :
               `NumChannels is ${this.numChannels} but the input has ${channels} channels ` +
                   `(${where}).`);
    }
    return channels;
  }

  override build(inputShape: Shape|Shape[]): void {
    const shape = this.exactlyOneShape(inputShape);
    const channels = this.checkInputShape(shape);
    this.numChannels = channels;
    const weights: LayerVariable[] = [];
    for (const {weight, fill} of STATISTICS) {
      const trainable = weight === 'gamma' || weight === 'beta';
      const initializer = fill === 1 ? initializers.ones() : initializers.zeros();
      weights.push(this.addWeight(weight, [channels], 'float32', initializer, undefined, trainable));
    }
    [this.gamma, this.beta, this.movingMean, this.movingVariance] = weights;
    STATISTICS.forEach(({property}, i) => {
      const values = this.pendingValues[property];
      if (values !== undefined) {
        const t = tensor1d(values, 'float32');
        weights[i].write(t);
        t.dispose();
      }
    });
    this.pendingValues = {};
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape|Shape[] {
    const shape = this.exactlyOneShape(inputShape);
    this.checkInputShape(shape);
    return shape;
  }

  /**
   * Normalizes with the trained statistics. `kwargs.training` is ignored:
   * the statistics are never updated (only gamma and beta learn in fit()).
   */
  override call(inputs: Tensor|Tensor[], _kwargs: {[key: string]: unknown}): Tensor {
    return tidy(() => {
      if (Array.isArray(inputs) && inputs.length !== 1) {
        fail(this.name, `expects exactly one input tensor, but got ${inputs.length}.`);
      }
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      this.checkInputShape(x.shape);
      return batchNormInference(
          x, this.gamma!.read(), this.beta!.read(), this.movingMean!.read(),
          this.movingVariance!.read(), {epsilon: this.epsilon, axis: this.axis});
    });
  }

  private exactlyOneShape(inputShape: Shape|Shape[]): Shape {
    if (Array.isArray(inputShape[0])) {
      const shapes = inputShape as Shape[];
      if (shapes.length !== 1) {
        fail(this.name, `expects exactly one input, but got ${shapes.length} ` +
             `(shapes ${shapes.map(shapeText).join(', ')}).`);
      }
      return shapes[0];
    }
    return inputShape as Shape;
  }

  /**
   * Scalars only: the statistics are weights (saved in weights.bin), not
   * config arrays. `numChannels` is omitted while unknown.
   */
  override getConfig(): serialization.ConfigDict {
    const config: serialization.ConfigDict = {epsilon: this.epsilon, axis: this.axis};
    if (this.numChannels !== undefined) config.numChannels = this.numChannels;
    return {...config, ...super.getConfig()};
  }

  /**
   * Builds the layer from a config read back from model.json. tfjs's
   * deserializer adds a `customObjects` entry to every config; it is not a
   * layer argument, so it is dropped here.
   */
  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    const args = {...config};
    delete args.customObjects;
    return new cls(args);
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
  get TrainedMean(): Float32Array {
    return this.current('TrainedMean');
  }
  /** Current trained variance (weight `moving_variance`). */
  get TrainedVariance(): Float32Array {
    return this.current('TrainedVariance');
  }
  /** Current scale (weight `gamma`). */
  get Scale(): Float32Array {
    return this.current('Scale');
  }
  /** Current offset (weight `beta`). */
  get Offset(): Float32Array {
    return this.current('Offset');
  }
  /** Epsilon added to the variance. */
  get Epsilon(): number {
    return this.epsilon;
  }
  /** Number of channels; undefined until given or inferred from an input. */
  get NumChannels(): number|undefined {
    return this.numChannels;
  }
  /** The layer's name (same as `name`). */
  get Name(): string {
    return this.name;
  }
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
