/**
 * FusedBatchNorm, FusedBatchNormV2 and FusedBatchNormV3 in GraphModels,
 * executed by batchNormInference (every backend with our kernel, the
 * fallback elsewhere) instead of tfjs-converter's mapping to tf.batchNorm,
 * which ignores data_format and is_training.
 *
 * - data_format NHWC / NDHWC: channels last; NCHW / NCDHW: channel axis 1.
 * - is_training false: the node's mean and variance (trained statistics).
 * - is_training true (TensorFlow's default when the attribute is absent): the
 *   batch's mean and variance over every axis but the channel's, the
 *   variance divided by N, as TensorFlow normalizes.
 * Only output 0 (y) is produced; a graph that reads the batch statistics
 * outputs (training graphs) fails in tfjs-converter as before.
 *
 * tfjs-converter consults tf.registerOp's registry when a model is loaded
 * (its operation mapper), so the ops must be registered before
 * tf.loadGraphModel. The switch is the tfjs env flag
 * TFBNI_GRAPH_FUSED_BATCH_NORM (default true): read when the package
 * registers (on import), and setting it registers or removes the ops for
 * models loaded afterwards:
 *
 * ```js
 * tf.env().set('TFBNI_GRAPH_FUSED_BATCH_NORM', false);  // tfjs's own mapping again
 * ```
 *
 * tfjs-converter does not run a custom op in tf.tidy: the executor frees its
 * intermediates itself.
 */
import {env, moments, Tensor, tidy} from '@tensorflow/tfjs-core';
import {deregisterOp, GraphNode, registerOp} from '@tensorflow/tfjs-converter';

import {GRAPH_FUSED_BATCH_NORM_FLAG} from '../../kernels/flags';
import {fail} from '../../kernels/shared/fail';
import {batchNormInference} from './batch_norm_inference';

/** The TensorFlow ops this package executes in GraphModels. */
export const GRAPH_FUSED_BATCH_NORM_OPS = ['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3'];

/** TensorFlow's default epsilon for FusedBatchNorm* (tfjs-converter's table says 1e-3). */
const TF_DEFAULT_EPSILON = 1e-4;

const CHANNELS_LAST = ['NHWC', 'NDHWC'];
const CHANNELS_FIRST = ['NCHW', 'NCDHW'];

/** The executor given to tf.registerOp for `op`. */
export function fusedBatchNormGraphExecutor(op: string): (node: GraphNode) => Tensor {
  const executor = (node: GraphNode): Tensor => {
    const [x, scale, offset, mean, variance] = node.inputs;
    if (node.inputs.length !== 5 || node.inputs.some((t) => t == null)) {
      fail(op, `expected 5 inputs (x, scale, offset, mean, variance), but got ${node.inputs.length}.`);
    }
    // tfjs-converter lowercases string attributes.
    const format = String(node.attrs.data_format ?? 'NHWC').toUpperCase();
    const epsilon = node.attrs.epsilon == null ? TF_DEFAULT_EPSILON : Number(node.attrs.epsilon);
    const training = node.attrs.is_training == null ? true : Boolean(node.attrs.is_training);
    const formats = x.rank === 5 ? [CHANNELS_LAST[1], CHANNELS_FIRST[1]] : [CHANNELS_LAST[0], CHANNELS_FIRST[0]];
    if (x.rank !== 4 && x.rank !== 5) {
      fail(op, `x must be rank 4 (or 5), but got rank ${x.rank} (shape [${x.shape}]).`);
    }
    if (!formats.includes(format)) {
      fail(op, `data_format must be ${formats.join(' or ')} for a rank ${x.rank} x, but got '${format}'.`);
    }
    const axis = CHANNELS_FIRST.includes(format) ? 1 : x.rank - 1;
    return tidy(() => {
      if (!training) return batchNormInference(x, scale, offset, mean, variance, {epsilon, axis});
      const axes = Array.from({length: x.rank}, (_, i) => i).filter((i) => i !== axis);
      const batch = moments(x, axes);  // variance divided by N, as TensorFlow normalizes
      return batchNormInference(x, scale, offset, batch.mean, batch.variance, {epsilon, axis});
    });
  };
  return executor;
}

/**
 * Registers or removes the three ops. tfjs-converter's index does not export
 * getRegisteredOp, so a tf.registerOp of these names by the user after the
 * import replaces ours, and setting the flag to false removes whatever is
 * registered under them.
 */
export function setGraphFusedBatchNorm(on: boolean): void {
  // The browser bundle takes tfjs-converter from the page's global tf: a page that loaded
  // tfjs-core and backends without the converter has no GraphModels to run them in.
  if (typeof registerOp !== 'function' || typeof deregisterOp !== 'function') return;
  for (const op of GRAPH_FUSED_BATCH_NORM_OPS) {
    if (on) registerOp(op, fusedBatchNormGraphExecutor(op));
    else deregisterOp(op);
  }
}

/**
 * Registers FusedBatchNorm / V2 / V3 with tf.registerOp when the
 * TFBNI_GRAPH_FUSED_BATCH_NORM flag is true (kernels/flags.ts, registered
 * before this runs, with setGraphFusedBatchNorm as its set hook). Idempotent;
 * the package calls it on import.
 */
export function registerGraphFusedBatchNorm(): void {
  setGraphFusedBatchNorm(env().getBool(GRAPH_FUSED_BATCH_NORM_FLAG));
}
