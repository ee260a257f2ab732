/**
 * `foldBatchNormalization`: folds each batch norm of a LayersModel into the
 * convolution or dense layer before it, and fuses the activation after it
 * into that layer where tfjs has a fused kernel for it.
 */
import {Tensor} from '@tensorflow/tfjs-core';
import {LayersModel, layers} from '@tensorflow/tfjs-layers';

import {describeValue} from '../../kernels/shared/describe_value';
import {fail} from '../../kernels/shared/fail';
import {readValues, requireSyncReads, withPrefetchedValues} from '../util/read_values';
import {Fold, planFolds} from './fold_plan';
import {FoldReport} from './fold_report';
import {foldedWeights} from './fold_weights';
import {cloneConfig, isContainer, isPlainObject, rebuilderFor, shortName} from './model_walk';
import {replaceBatchNormalization} from './replace_batch_normalization';

type Layer = layers.Layer;

const OP = 'foldBatchNormalization';

/** Options of {@link foldBatchNormalization}. */
export interface FoldOptions {
  /**
   * Emit only tfjs-layers classes, so the folded model loads with plain
   * tfjs (no import of this package): activations tfjs-layers cannot fuse
   * stay layers of their own, and batch norms that cannot be folded stay
   * BatchNormalization layers. Default false.
   */
  stockLayersOnly?: boolean;
}

function checkModel(model: unknown): asserts model is LayersModel {
  if (model != null && typeof (model as {then?: unknown}).then === 'function') {
    fail(OP, `model must be a tf.LayersModel, but got a Promise; did you forget await? ` +
         `(foldBatchNormalization(await tf.loadLayersModel(url))).`);
  }
  if (isContainer(model) && typeof (model as {getClassName?: unknown}).getClassName === 'function') return;
  const graph = model != null && typeof (model as {executeAsync?: unknown}).executeAsync === 'function';
  fail(OP, `model must be a tf.LayersModel (from tf.model(), tf.sequential() or ` +
       `tf.loadLayersModel()), but got ${graph ? 'a GraphModel' : describeValue(model)}` +
       `${graph ? ' (a GraphModel has no layers to fold: convert the Keras model with ' +
                      'tensorflowjs_converter --output_format tfjs_layers_model)' : ''}.`);
}

function checkOptions(options: unknown): Required<FoldOptions> {
  if (options == null) return {stockLayersOnly: false};
  if (!isPlainObject(options)) fail(OP, `options must be an object, but got ${describeValue(options)}.`);
  const unknown = Object.keys(options).filter((k) => k !== 'stockLayersOnly');
  if (unknown.length > 0) {
    fail(OP, `unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; the option is 'stockLayersOnly'.`);
  }
  const stock = options.stockLayersOnly ?? false;
  if (typeof stock !== 'boolean') {
    fail(OP, `options.stockLayersOnly must be a boolean, but got ${describeValue(stock)}.`);
  }
  return {stockLayersOnly: stock};
}

function optionalValues(t: Tensor|undefined) {
  return t === undefined ? undefined : readValues(t);
}

function byShortName(layer: Layer): Map<string, Tensor> {
  return new Map(layer.weights.map((w) => [shortName(w), w.read()] as const));
}

/** Writes the folded weights of `fold` into `to`, its layer in the copy. */
function setFoldedWeights(fold: Fold, to: Layer): void {
  const stats = byShortName(fold.bn);
  const mean = stats.get('moving_mean');
  const variance = stats.get('moving_variance');
  if (mean === undefined || variance === undefined) {
    fail(OP, `batch norm '${fold.batchNorm}' has no moving_mean and moving_variance weights.`);
  }
  const folded = foldedWeights(fold.into, fold.kind, byShortName(fold.source), {
    gamma: optionalValues(stats.get('gamma')),
    beta: optionalValues(stats.get('beta')),
    mean: readValues(mean),
    variance: readValues(variance),
    epsilon: fold.epsilon,
  });
  try {
    to.setWeights(to.weights.map((w) => {
      const t = folded.get(shortName(w));
      if (t === undefined) fail(OP, `no folded value for weight '${w.originalName}' of '${fold.into}'.`);
      return t;
    }));
  } finally {
    folded.forEach((t) => t.dispose());
  }
}

/** Copies weights from the original model's layers into the copy's (by name). */
function copyState(from: Layer, to: Layer, folds: Map<Layer, Fold>): void {
  const fold = folds.get(from);
  if (fold !== undefined) {
    setFoldedWeights(fold, to);
  } else if (isContainer(from) && isContainer(to)) {
    to.trainable = from.trainable;
    for (const inner of to.layers) {
      const source = from.layers.find((l) => l.name === inner.name);
      if (source !== undefined) copyState(source, inner, folds);
    }
  } else if (from.weights.length > 0) {
    to.setWeights(from.getWeights());
  }
}

/** Every layer of a model, those of nested models included. */
function allLayers(model: LayersModel): Layer[] {
  return model.layers.flatMap((l) => (isContainer(l) ? [l, ...allLayers(l)] : [l]));
}

/**
 * Disposes a model only this function's caller holds, shared layers
 * included. tfjs-layers (4.22) counts one reference per application of a
 * layer, and LayersModel.dispose() releases one, so a layer applied twice
 * would keep its weights; the rest are released here through the
 * reference count tfjs keeps in the protected field `_refCount`.
 */
function disposeModel(model: LayersModel): void {
  const layers = allLayers(model);
  model.dispose();
  const refCount = (layer: Layer) => (layer as unknown as {_refCount: number|null})._refCount;
  for (const layer of layers) {
    while ((refCount(layer) ?? 0) > 0) layer.dispose();
  }
}

/** Layers other than inputs, counting those inside nested models instead of the models. */
export function countLayers(model: LayersModel): number {
  return model.layers.reduce((n, l) => n + (isContainer(l) ? countLayers(l) :
      l.getClassName() === 'InputLayer' ? 0 : 1), 0);
}

/**
 * Returns a copy of `model` in which every batch norm (tfjs-layers'
 * BatchNormalization or this package's BatchNormInference) that directly
 * follows a Conv1D, Conv2D, Conv3D, DepthwiseConv2D, SeparableConv2D,
 * Conv2DTranspose or Dense layer is folded into that layer's kernel and bias,
 * and the activation layer after it (Activation, ReLU incl. relu6,
 * LeakyReLU, ELU) is fused into the same layer where tfjs has a fused
 * kernel for it. The input model is not changed.
 *
 * A batch norm is folded when the layer before it has a linear activation,
 * feeds only the batch norm, is applied once, and the batch norm's axis is
 * its channel axis. Every other batch norm becomes a BatchNormInference layer
 * (with `stockLayersOnly`, it stays as it is); `report.left` says why.
 *
 * ```js
 * const {model: folded, report} = tfbni.foldBatchNormalization(model);
 * console.log(tfbni.formatFoldReport(report));
 * folded.predict(tf.ones([1, 8, 8, 3])).print();
 * ```
 *
 * @param model A tf.LayersModel (tf.model(), tf.sequential(), tf.loadLayersModel()).
 * @param options See {@link FoldOptions}.
 * @returns The folded model (not compiled) and a report of what was done.
 */
export function foldBatchNormalization(model: LayersModel, options?: FoldOptions):
    {model: LayersModel, report: FoldReport} {
  checkModel(model);
  const {stockLayersOnly} = checkOptions(options);
  requireSyncReads(OP);
  const rebuild = rebuilderFor(OP, model);
  const config = cloneConfig(model.getConfig());
  const plan = planFolds(config, model, stockLayersOnly);
  let copy = rebuild(config);
  try {
    copyState(model, copy, new Map(plan.folds.map((f) => [f.source, f] as const)));
  } catch (e) {
    disposeModel(copy);
    throw e;
  }
  const stockLeft = plan.left.filter((l) => /BatchNormalization/.test(l.className));
  if (!stockLayersOnly && stockLeft.length > 0) {
    const replaced = replaceBatchNormalization(copy).model;
    disposeModel(copy);
    copy = replaced;
  }
  const report: FoldReport = {
    layersBefore: countLayers(model),
    layersAfter: countLayers(copy),
    folded: plan.folds.map((f) => ({batchNorm: f.batchNorm, into: f.into, className: f.className})),
    fusedActivations: plan.folds.filter((f) => f.activation !== undefined).map((f) => ({
      layer: f.activation!.layer, activation: f.activation!.name, into: f.into,
    })),
    left: plan.left.map((l) => ({
      name: l.name, reason: l.reason,
      className: stockLayersOnly || !/BatchNormalization/.test(l.className) ? l.className : 'BatchNormInference',
    })),
    keptActivations: plan.keptActivations,
  };
  return {model: copy, report};
}

/**
 * {@link foldBatchNormalization} for backends whose synchronous read is not
 * to be relied on (webgpu): reads the model's weights with `await data()`
 * first, then folds. Works on every backend.
 *
 * ```js
 * const {model: folded, report} = await tfbni.foldBatchNormalizationAsync(model);
 * ```
 */
export async function foldBatchNormalizationAsync(model: LayersModel, options?: FoldOptions):
    Promise<{model: LayersModel, report: FoldReport}> {
  checkModel(model);
  checkOptions(options);
  return withPrefetchedValues(model.weights.map((w) => w.read()), () => foldBatchNormalization(model, options));
}
