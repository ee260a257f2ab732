/**
 * `replaceBatchNormalization`: turns every tfjs-layers BatchNormalization of a
 * model (at any depth of nested models and wrappers) into a
 * BatchNormInference layer with the same name, epsilon, axis and weights.
 */
import {serialization, Tensor, tensor1d} from '@tensorflow/tfjs-core';
import {LayersModel, layers, LayerVariable} from '@tensorflow/tfjs-layers';

import {BatchNormInferenceLayer} from '../layers/batch_norm_inference/batch_norm_inference_layer';
import {checkEpsilon} from '../../kernels/shared/checks';
import {describeValue, gotEnd} from '../../kernels/shared/describe_value';
import {fail} from '../../kernels/shared/fail';
import {requireSyncReads, withPrefetchedValues} from '../util/read_values';
import {cloneConfig, isContainer, isPlainObject, rebuilderFor, shortName} from './model_walk';

type Layer = layers.Layer;
type Config = serialization.ConfigDict;

const OP = 'replaceBatchNormalization';
const BATCH_NORMALIZATION = 'BatchNormalization';
/** tfjs-layers' and Keras's BatchNormalization defaults. */
const KERAS_DEFAULT_EPSILON = 1e-3;
const KERAS_DEFAULT_AXIS = -1;
const KERAS_DEFAULT_MOMENTUM = 0.99;


/** Axis lists are shown as written ([3]); everything else as describeValue does. */
function describe(value: unknown): string {
  return Array.isArray(value) ? JSON.stringify(value) : describeValue(value);
}

/** The layer a wrapper (TimeDistributed, ...) holds, if any. */
function innerLayer(layer: Layer): Layer|undefined {
  const inner = (layer as unknown as {layer?: unknown}).layer;
  return inner instanceof layers.Layer ? inner : undefined;
}

/** Whether the layers wrapped by `from` and `to` differ somewhere (a replacement). */
function wrapsReplacement(from: Layer, to: Layer): boolean {
  const fromInner = innerLayer(from);
  const toInner = innerLayer(to);
  if (fromInner === undefined || toInner === undefined) return false;
  return fromInner.getClassName() !== toInner.getClassName() || wrapsReplacement(fromInner, toInner);
}

/** What {@link replaceBatchNormalization} did. */
export interface ReplaceReport {
  /**
   * Each BatchNormalization replaced, in config order (nested models and
   * wrappers included): its name (kept by the replacement), channel axis and
   * epsilon.
   */
  replaced: Array<{name: string, axis: number, epsilon: number}>;
}

/** What {@link replaceBatchNormalization} returns: the new model and what was replaced. */
export interface ReplaceResult {
  model: LayersModel;
  report: ReplaceReport;
}

/** The BatchNormInference config for a BatchNormalization config. */
function inferenceConfig(bn: Config): Config {
  const name = bn.name;
  const epsilon = checkEpsilon(
      OP, bn.epsilon ?? KERAS_DEFAULT_EPSILON, `the epsilon of layer '${name}' (${BATCH_NORMALIZATION})`);
  let axis: serialization.ConfigDictValue = bn.axis ?? KERAS_DEFAULT_AXIS;
  if (Array.isArray(axis)) {
    if (axis.length !== 1) {
      fail(OP, `layer '${name}' (${BATCH_NORMALIZATION}) normalizes over the axes ` +
           `${JSON.stringify(axis)}; ${BatchNormInferenceLayer.className} has one channel axis.`);
    }
    axis = axis[0];
  }
  const momentum = bn.momentum ?? KERAS_DEFAULT_MOMENTUM;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
    fail(OP, `layer '${name}' (${BATCH_NORMALIZATION}) has momentum ${describe(momentum)}; ` +
         `expected a number in [0, 1].`);
  }
  // Keras's moving = momentum * moving + (1 - momentum) * batch is MATLAB's
  // update with decay 1 - momentum; Keras adds no L2 penalty by default.
  const config: Config = {
    name, trainable: bn.trainable ?? true, epsilon, axis,
    meanDecay: 1 - momentum, varianceDecay: 1 - momentum, l2Regularization: 0,
  };
  for (const key of ['batchInputShape', 'inputShape', 'batchSize']) {
    if (bn[key] != null) config[key] = bn[key];
  }
  // Keras 3 may write a dtype policy object here; only a dtype name is a layer argument.
  if (typeof bn.dtype === 'string') config.dtype = bn.dtype;
  return config;
}

/**
 * Rewrites, in place, every `{className: 'BatchNormalization', config}` of a
 * model config (nested models and wrappers included), adding each to `replaced`.
 */
function rewriteConfig(node: unknown, replaced: ReplaceReport['replaced']): void {
  if (Array.isArray(node)) {
    node.forEach((item) => rewriteConfig(item, replaced));
    return;
  }
  if (!isPlainObject(node)) return;
  if (node.className === BATCH_NORMALIZATION && isPlainObject(node.config)) {
    const config = inferenceConfig(node.config as Config);
    node.className = BatchNormInferenceLayer.className;
    node.config = config;
    replaced.push({name: String(config.name), axis: config.axis as number, epsilon: config.epsilon as number});
    return;
  }
  Object.values(node).forEach((value) => rewriteConfig(value, replaced));
}

/** gamma, beta, moving_mean, moving_variance; ones/zeros where scale/center = false. */
function copyBatchNormWeights(from: Layer, to: BatchNormInferenceLayer): void {
  if (from.weights.length === 0) return;  // never built: nothing to copy
  const byName = new Map(from.weights.map((w) => [shortName(w), w] as const));
  const mean = byName.get('moving_mean');
  const variance = byName.get('moving_variance');
  if (mean === undefined || variance === undefined) {
    fail(OP, `${BATCH_NORMALIZATION} layer '${from.name}' has no moving_mean and moving_variance ` +
         `weights (it has ${from.weights.map((w) => `'${w.originalName}'`).join(', ')}).`);
  }
  const channels = mean.shape[0] as number;
  const made: Tensor[] = [];
  // Fills are made from arrays (values on the CPU: no device read to check them).
  const orFill = (w: LayerVariable|undefined, fill: number) => {
    if (w !== undefined) return w.read();
    const t = tensor1d(new Float32Array(channels).fill(fill));
    made.push(t);
    return t;
  };
  try {
    to.setWeights([orFill(byName.get('gamma'), 1), orFill(byName.get('beta'), 0),
                   mean.read(), variance.read()]);
  } finally {
    made.forEach((t) => t.dispose());
  }
}

/** Copies weights (and containers' trainable flags) from a layer to its copy. */
function copyState(from: Layer, to: Layer): void {
  if (from.getClassName() === BATCH_NORMALIZATION && to instanceof BatchNormInferenceLayer) {
    copyBatchNormWeights(from, to);
    return;
  }
  if (isContainer(from) && isContainer(to)) {
    // As `model.trainable = false` did on the original: sets the flags of
    // every direct layer's weights; nested containers then set their own.
    to.trainable = from.trainable;
    for (const inner of to.layers) {
      const source = from.layers.find((l) => l.name === inner.name);
      if (source !== undefined) copyState(source, inner);
    }
    return;
  }
  // A wrapper around a replaced layer (TimeDistributed(BatchNormalization)):
  // copy into the wrapped layer. Other wrappers copy as a whole (Bidirectional
  // keeps its weights in clones of `layer`, not in `layer` itself).
  const fromInner = innerLayer(from);
  const toInner = innerLayer(to);
  if (fromInner !== undefined && toInner !== undefined && wrapsReplacement(from, to)) {
    copyState(fromInner, toInner);
    return;
  }
  // A layer that was never built has no weights, and neither has its copy.
  if (from.weights.length > 0) to.setWeights(from.getWeights());
}

function checkModel(model: unknown): asserts model is LayersModel {
  if (!isContainer(model) || typeof (model as {getClassName?: unknown}).getClassName !== 'function') {
    fail(OP, `model must be a tf.LayersModel (from tf.model(), tf.sequential() or ` +
         `tf.loadLayersModel()), but got ${describe(model)}` +
         `${model != null && typeof (model as {executeAsync?: unknown}).executeAsync === 'function' ?
             ' (a GraphModel has no layers to replace: convert the Keras model with ' +
                 'tensorflowjs_converter --output_format tfjs_layers_model)' :
             ''}${gotEnd(model)}`);
  }
}

/**
 * Returns `{model, report}`: `model` is a copy of the input in which every tfjs-layers `BatchNormalization`
 * layer - in nested models (a Sequential inside a functional model, ...) and
 * wrappers (TimeDistributed) too - is a {@link BatchNormInferenceLayer} with
 * the same name, epsilon, axis and weights; `report.replaced` lists them
 * (name, axis, epsilon). The input model is not changed. The result has the
 * shape {@link foldBatchNormalization} returns.
 *
 * - `axis` may be a number or a one-element list (older Keras converters).
 * - `scale: false` / `center: false` become gamma = ones / beta = zeros
 *   (trainable in the copy, like any gamma and beta of the layer).
 * - `momentum` m becomes MeanDecay = VarianceDecay = 1 - m, so `fit()` moves
 *   the statistics as Keras would; L2Regularization is 0 (Keras adds none by
 *   default). Initializers, regularizers and constraints are dropped;
 *   `trainable` is kept.
 * - Weights are copied as they are in memory, so quantized model files
 *   (dequantized to float32 by `tf.loadLayersModel`) convert like any other.
 * - The copy is not compiled: call `compile()` before `fit()`.
 *
 * Unlike tfjs-layers' BatchNormalization, the result works for any rank >= 2
 * and any axis (tfjs's is limited to rank <= 4 and computes channels-first
 * inputs wrongly on some backends).
 *
 * ```js
 * const keras = await tf.loadLayersModel('https://.../model.json');
 * const {model, report} = tfbni.replaceBatchNormalization(keras);
 * console.log(report.replaced.map((r) => r.name));
 * model.predict(tf.ones([1, 224, 224, 3])).print();
 * ```
 *
 * @param model A `tf.LayersModel` (`tf.model()`, `tf.sequential()` or
 *     `tf.loadLayersModel()`).
 * @returns `{model, report}` (synchronously): a new, equivalent model and
 *     the list of layers replaced.
 */
export function replaceBatchNormalization(model: LayersModel): ReplaceResult {
  checkModel(model);
  requireSyncReads(OP);
  const rebuild = rebuilderFor(OP, model);
  const config = cloneConfig(model.getConfig());
  const replaced: ReplaceReport['replaced'] = [];
  rewriteConfig(config, replaced);
  // fastWeightInit: skip the initializers, every weight is copied below.
  const copy = rebuild(config);
  try {
    copyState(model, copy);
  } catch (e) {
    copy.dispose();
    throw e;
  }
  return {model: copy, report: {replaced}};
}

/**
 * {@link replaceBatchNormalization} for backends whose synchronous read is
 * not to be relied on (webgpu): reads the model's weights with
 * `await data()` first (to check them), then replaces. Works on every backend.
 *
 * ```js
 * const {model, report} = await tfbni.replaceBatchNormalizationAsync(keras);
 * ```
 */
export async function replaceBatchNormalizationAsync(model: LayersModel): Promise<ReplaceResult> {
  checkModel(model);
  return withPrefetchedValues(model.weights.map((w) => w.read()), () => replaceBatchNormalization(model));
}
