/**
 * foldGraphModelArtifacts: folds the batch norms tensorflowjs_converter
 * leaves in a GraphModel into the convolution or matmul before them, on the
 * model's artifacts (no tfjs model is built: the GraphDef JSON and the weights
 * are rewritten).
 *
 * A leftover is a chain of per-channel affine nodes after a convolution or
 * matmul: Mul, Add, AddV2, BiasAdd, Sub (x - c) with a constant of shape [],
 * [C] or [1, ..., C], and FusedBatchNorm / V2 / V3 with is_training false and
 * constant parameters. The chain y = A * conv(x) + B (A, B per output
 * channel, composed in float64) goes into the filter (times A, along its
 * output-channel axis) and a bias (B), and the node becomes tfjs's fused
 * form (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul with
 * BiasAdd), which also takes the activation after the chain where tfjs's
 * fused ops accept it. Conv2DBackpropInput has no fused form in tfjs: A goes
 * into its filter and B stays as one AddV2. conv -> AddN(x, conv) -> Add(c)
 * (grappler's AddOpsRewrite) puts c into the conv's bias. Chains that follow
 * an activation or a pooling are then folded forward where exact
 * (fold_graph_forward.ts). What is left is reported with the reason.
 */
import {io} from '@tensorflow/tfjs-core';

import {fail} from '../../../kernels/shared/fail';
import {foldBackwardPass} from './fold_graph_backward';
import {foldForwardPass} from './fold_graph_forward';
import {Graph} from './graph_chain';
import {GraphTopology, isGraphTopology} from './graph_def';
import {GraphFoldReport} from './graph_fold_report';
import {splitWeights} from './graph_weights';

const WHO = 'foldGraphModelArtifacts';

/** Options of {@link foldGraphModelArtifacts}. */
export interface GraphFoldOptions {
  /**
   * Fuse the activation after a folded node into it where tfjs's fused ops
   * accept it (Relu, Relu6, Elu, LeakyRelu, Prelu, Sigmoid). Default true.
   */
  fuseActivations?: boolean;
  /**
   * Fold a batch norm that cannot go into the node before it (it follows an
   * activation or a pooling) into the convolution or matmul after it, where
   * that is exact (src/convert/graph/fold_graph_forward.ts). Default true.
   */
  foldForward?: boolean;
}

/**
 * Folds every batch-norm leftover with constant parameters in a GraphModel's
 * artifacts into the convolution or matmul before it (see the module
 * comment), fusing the activation after it where tfjs can. Pure: the input
 * artifacts are not changed. Graph outputs keep their names, the signature is
 * kept, weights that are not touched keep their bytes (and quantization);
 * folded weights are written as float32.
 *
 * ```js
 * const {artifacts, report} = tfbni.foldGraphModelArtifacts(original);
 * const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
 * console.log(tfbni.formatGraphFoldReport(report));
 * ```
 *
 * @param artifacts A GraphModel's artifacts (modelTopology with `node`,
 *     weightSpecs, weightData as one ArrayBuffer or several).
 * @param options See {@link GraphFoldOptions}.
 */
export function foldGraphModelArtifacts(artifacts: io.ModelArtifacts, options: GraphFoldOptions = {}):
    {artifacts: io.ModelArtifacts, report: GraphFoldReport} {
  if (artifacts == null || typeof artifacts !== 'object') {
    fail(WHO, `artifacts must be a GraphModel's ModelArtifacts, but got ${artifacts === null ? 'null' : typeof artifacts}.`);
  }
  if (!isGraphTopology(artifacts.modelTopology)) {
    const layers = artifacts.modelTopology != null && typeof artifacts.modelTopology === 'object' &&
        'model_config' in (artifacts.modelTopology as object);
    fail(WHO, `artifacts.modelTopology must be a GraphDef (an object with a 'node' array), but got ` +
         `${layers ? 'a layers model\'s topology (use foldBatchNormalization on the loaded LayersModel)' :
                     artifacts.modelTopology === undefined ? 'none' : 'an object without a node array'}.`);
  }
  const fuseActivations = options.fuseActivations ?? true;
  const topology = JSON.parse(JSON.stringify(artifacts.modelTopology)) as GraphTopology;
  const weights = splitWeights(WHO, artifacts);
  const signature = artifacts.signature as {outputs?: Record<string, {name?: string}>}|undefined;
  const signatureOutputs = Object.values(signature?.outputs ?? {}).map((o) => o.name ?? '').filter((n) => n);
  const graph = new Graph(topology.node, weights, signatureOutputs);

  const backward = foldBackwardPass(artifacts, topology, graph, fuseActivations);
  if (!(options.foldForward ?? true)) return backward;
  const forward = foldForwardPass(WHO, backward.artifacts, signatureOutputs);
  const report = backward.report;
  if (forward.folded.length > 0) {
    report.folded.push(...forward.folded);
    report.nodesAfter = (forward.artifacts.modelTopology as GraphTopology).node.length;
    report.weightBytesAfter = io.CompositeArrayBuffer.join(forward.artifacts.weightData!).byteLength;
  }
  const leftByName = new Map(report.left.filter((l) => !forward.foldedNodes.has(l.node)).map((l) => [l.node, l]));
  for (const l of forward.left) {
    const earlier = leftByName.get(l.node);
    if (earlier) earlier.reason = `${earlier.reason}; ${l.reason}`;
    else leftByName.set(l.node, l);
  }
  report.left = [...leftByName.values()];
  return {artifacts: forward.artifacts, report};
}
