/**
 * `computePopulationStatistics`: MATLAB's `BatchNormalizationStatistics =
 * 'population'` for tfjs models. After training, one pass over the data per
 * BatchNormInference layer sets its TrainedMean and TrainedVariance to the
 * exact mean and variance (divided by N) of the input that layer receives over
 * the whole data set.
 *
 * Layer by layer, in the order the model runs them: each pass runs the model
 * in inference mode with every earlier layer already holding its population
 * statistics, so every layer's statistics describe the inputs it will see at
 * prediction time (one pass for all layers at once would measure each layer
 * behind the old statistics of the layers before it). Memory stays bounded by
 * one batch: a pass keeps one batch of one layer's input at a time, and the
 * per-channel sums live in float64 arrays merged with Chan et al.'s update.
 */
import {dispose, keep, slice, Tensor, tensor1d} from '@tensorflow/tfjs-core';
import {layers, LayersModel} from '@tensorflow/tfjs-layers';

import {BatchNormInferenceLayer} from '../layers/batch_norm_inference/batch_norm_inference_layer';
import {setInputProbe} from '../layers/batch_norm_inference/input_probe';
import {ChannelMoments} from './channel_moments';
import {describeValue} from '../../kernels/shared/describe_value';
import {fail as failIn} from '../../kernels/shared/fail';

const WHO = 'computePopulationStatistics';
const fail = (message: string): never => failIn(WHO, message);

/** One batch: the model's input(s), or an `{xs, ys}` element as `fitDataset` takes. */
export type PopulationBatch = Tensor|Tensor[]|{[name: string]: Tensor}|
    {xs: Tensor|Tensor[]|{[name: string]: Tensor}, ys?: unknown};

/** A tf.data.Dataset, read through its public `iterator()`. */
export interface DatasetLike {
  iterator(): Promise<{next(): Promise<IteratorResult<unknown>>}>;
}

/** What `computePopulationStatistics` reads. */
export type PopulationData =
    Tensor|Tensor[]|DatasetLike|Iterable<PopulationBatch>|AsyncIterable<PopulationBatch>;

export interface PopulationProgress {
  /** The layer being measured. */
  layer: string;
  /** 0-based position of that layer, and how many layers there are. */
  layerIndex: number;
  layerCount: number;
  /** Batches of this layer's pass done so far (1 after the first). */
  batch: number;
  /** Values per channel measured so far in this pass. */
  count: number;
}

export interface PopulationStatisticsOptions {
  /** Batch size when `data` is a tensor (or an array of tensors, one per input). Default 32. */
  batchSize?: number;
  /** Called after every batch of every pass; may return a promise (awaited). */
  onProgress?: (progress: PopulationProgress) => void|Promise<void>;
}

/** What one layer got, in float64 before the weights round it to float32. */
export interface LayerPopulationStatistics {
  layer: string;
  mean: Float64Array;
  variance: Float64Array;
  /** Values per channel the statistics cover. */
  count: number;
}

/** Every BatchNormInference layer of a model, nested models and wrappers included, in run order. */
export function batchNormInferenceLayersOf(model: layers.Layer): BatchNormInferenceLayer[] {
  const found: BatchNormInferenceLayer[] = [];
  const visit = (layer: unknown) => {
    if (layer instanceof BatchNormInferenceLayer) {
      if (!found.includes(layer)) found.push(layer);
      return;
    }
    const inner = layer as {layers?: unknown, layer?: unknown};
    if (Array.isArray(inner.layers)) inner.layers.forEach(visit);
    if (inner.layer instanceof layers.Layer) visit(inner.layer);
  };
  visit(model);
  return found;
}

interface Batch {
  inputs: Tensor|Tensor[];
  /** Tensors made here (slices, dataset elements), disposed after use. */
  owned: Tensor[];
}

function isTensorList(value: unknown): value is Tensor[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Tensor);
}

/** An array of tensors is one tensor per input for a model with that many inputs, else a list of batches. */
function isInputList(model: LayersModel, data: unknown): data is Tensor[] {
  return model.inputs.length > 1 && isTensorList(data) && data.length === model.inputs.length;
}

function isDataset(value: unknown): value is DatasetLike {
  return value != null && typeof (value as DatasetLike).iterator === 'function' &&
      !(Symbol.iterator in (value as object)) && !(Symbol.asyncIterator in (value as object));
}

function modelInputs(model: LayersModel, element: unknown, where: string): Tensor|Tensor[] {
  const value = element != null && typeof element === 'object' && 'xs' in element ?
      (element as {xs: unknown}).xs : element;
  if (value instanceof Tensor || isTensorList(value)) return value;
  if (value != null && typeof value === 'object' && !Array.isArray(value)) {
    const map = value as Record<string, unknown>;
    const names = model.inputs.map((t) => t.sourceLayer.name);
    if (names.every((n) => map[n] instanceof Tensor)) return names.map((n) => map[n] as Tensor);
  }
  return fail(`${where} must be a tf.Tensor, an array of tensors (one per model input), an ` +
              `object keyed by the model's input names (${model.inputs.map((t) => t.sourceLayer.name).join(', ')}) ` +
              `or an ` +
              `{xs, ys} element, but got ${describeValue(value)}.`);
}

function tensorsIn(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value != null && typeof value === 'object') return Object.values(value).flatMap(tensorsIn);
  return [];
}

async function* batchesOf(model: LayersModel, data: PopulationData, batchSize: number):
    AsyncGenerator<Batch> {
  if (data instanceof Tensor || isInputList(model, data)) {
    const all = data instanceof Tensor ? [data] : data;
    const n = all[0].shape[0];
    if (all.some((t) => t.rank < 1 || t.shape[0] !== n)) {
      fail(`the input tensors must have the same batch size (first dimension), but got ` +
           `shapes ${all.map((t) => `[${t.shape}]`).join(', ')}.`);
    }
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const parts = all.map((t) => slice(t, start, size));
      yield {inputs: data instanceof Tensor ? parts[0] : parts, owned: parts};
    }
    return;
  }
  if (isDataset(data)) {
    const iterator = await data.iterator();
    for (let i = 0;; i++) {
      const {value, done} = await iterator.next();
      if (done) return;
      const owned = tensorsIn(value);
      try {
        yield {inputs: modelInputs(model, value, `dataset element ${i}`), owned};
      } catch (e) {
        dispose(owned);
        throw e;
      }
    }
  }
  let i = 0;
  for await (const element of data as AsyncIterable<PopulationBatch>) {
    yield {inputs: modelInputs(model, element, `batch ${i++}`), owned: []};
  }
}

function checkArguments(model: unknown, data: unknown, options: PopulationStatisticsOptions) {
  if (!(model instanceof LayersModel)) {
    fail(`model must be a tf.LayersModel (tf.model(), tf.sequential() or ` +
         `tf.loadLayersModel()), but got ${describeValue(model)}.`);
  }
  const iterable = data != null && typeof data === 'object' &&
      (Symbol.iterator in data || Symbol.asyncIterator in data);
  if (!(data instanceof Tensor) && !isDataset(data) && !iterable) {
    fail(`data must be a tf.Tensor (with options.batchSize), an array of tensors or batches, a ` +
         `tf.data.Dataset, or an iterable or async iterable of batches, but got ` +
         `${describeValue(data)}.`);
  }
  if (options == null || typeof options !== 'object') {
    fail(`options must be an object {batchSize?, onProgress?}, but got ${describeValue(options)}.`);
  }
  const unknown = Object.keys(options).filter((k) => k !== 'batchSize' && k !== 'onProgress');
  if (unknown.length > 0) {
    fail(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
         `the options are 'batchSize' and 'onProgress'.`);
  }
  const {batchSize, onProgress} = options;
  if (batchSize !== undefined && (typeof batchSize !== 'number' || !Number.isInteger(batchSize) ||
                                  batchSize < 1)) {
    fail(`options.batchSize must be a positive integer, but got ${describeValue(batchSize)}.`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    fail(`options.onProgress must be a function, but got ${describeValue(onProgress)}.`);
  }
}

/** A one-shot iterator (a generator object) cannot be read once per layer. */
function isOneShot(data: unknown): boolean {
  return data != null && typeof (data as Iterator<unknown>).next === 'function';
}

/**
 * Sets TrainedMean and TrainedVariance of every BatchNormInference layer of
 * `model` (nested models and wrappers too) to the mean and variance (divided
 * by N) of that layer's input over all of `data`, as MATLAB does after
 * training with `BatchNormalizationStatistics = 'population'`.
 *
 * ```js
 * const xs = tf.randomNormal([256, 4], 3, 2);
 * const model = tf.sequential({layers: [tfbni.batchNormInferenceLayer({inputShape: [4]})]});
 * await tfbni.computePopulationStatistics(model, xs, {batchSize: 64});
 * console.log(model.layers[0].TrainedMean);  // ~3 in each channel
 * ```
 *
 * @param model A tf.LayersModel holding BatchNormInference layers (built).
 * @param data The inputs: a tensor (or, for a model with k inputs, an array
 *     of k tensors) cut into `options.batchSize` batches; a
 *     `tf.data.Dataset` of batches (its elements are disposed after use, as
 *     `fitDataset` does; `{xs, ys}` elements are read for `xs`); or an array,
 *     iterable or async iterable of batches (not disposed: they are the
 *     caller's). Data is read once per layer, so it must be re-readable when
 *     the model has more than one such layer (a Dataset or an array is; a
 *     generator object is not).
 * @param options `{batchSize = 32, onProgress}`.
 * @returns Per layer, the float64 statistics written (then rounded to float32).
 */
export async function computePopulationStatistics(
    model: LayersModel, data: PopulationData, options: PopulationStatisticsOptions = {}):
    Promise<LayerPopulationStatistics[]> {
  checkArguments(model, data, options);
  const {batchSize = 32, onProgress} = options;
  const targets = batchNormInferenceLayersOf(model);
  if (targets.length === 0) {
    fail(`model '${model.name}' has no ${BatchNormInferenceLayer.className} layer.`);
  }
  if (targets.length > 1 && isOneShot(data)) {
    fail(`data is a one-shot iterator, but the model has ${targets.length} ` +
         `${BatchNormInferenceLayer.className} layers and the data is read once per layer; ` +
         `pass a tf.data.Dataset, an array of batches, or a re-iterable object.`);
  }
  const results: LayerPopulationStatistics[] = [];
  for (let index = 0; index < targets.length; index++) {
    const layer = targets[index];
    const moments = new ChannelMoments(layer.NumChannels as number);
    let pending: Tensor[] = [];
    setInputProbe(layer, (x) => {
      pending.push(keep(x.clone()));
    });
    try {
      let batch = 0;
      for await (const {inputs, owned} of batchesOf(model, data, batchSize)) {
        try {
          const first = Array.isArray(inputs) ? inputs[0] : inputs;
          dispose(model.predict(inputs, {batchSize: Math.max(1, first.shape[0])}));
          for (const x of pending) {
            const axis = layer.axis < 0 ? layer.axis + x.rank : layer.axis;
            moments.add(await x.data(), x.shape, axis);
          }
        } finally {
          dispose(pending);
          pending = [];
          dispose(owned);
        }
        batch++;
        if (onProgress) {
          await onProgress({
            layer: layer.name, layerIndex: index, layerCount: targets.length, batch,
            count: moments.count,
          });
        }
      }
    } finally {
      setInputProbe(layer, null);
      dispose(pending);
    }
    if (moments.count === 0) {
      fail(`the data gave no values for layer '${layer.name}' (no batches, or empty ones).`);
    }
    const variance = moments.m2.map((m2) => m2 / moments.count);
    const [gamma, beta] = layer.getWeights();
    const written = [tensor1d(Float32Array.from(moments.mean)), tensor1d(Float32Array.from(variance))];
    try {
      layer.setWeights([gamma, beta, ...written]);
    } finally {
      dispose(written);
    }
    results.push({layer: layer.name, mean: moments.mean, variance, count: moments.count});
  }
  return results;
}
