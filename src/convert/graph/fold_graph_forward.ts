/**
 * The forward graph fold: a per-channel affine chain that cannot go into the
 * node before it (it follows an activation or a pooling) goes into the
 * convolution or matmul after it, where that is exact:
 *
 *     W(A * x + B) = (W diag(A)) x + W B
 *
 * The filter's input channels are scaled by A and W B joins the bias. Exact
 * only where every output sums over input values alone, with no padded
 * zeros (a padded zero would become B): VALID padding, EXPLICIT with zero
 * paddings, or SAME with a 1x1 filter; any MatMul (x as its first input, not
 * transposed). The activation a fused node applies after its bias stays.
 */
import {io} from '@tensorflow/tfjs-core';

import {BATCH_NORM_OPS, FOLD_TARGET_OPS, Graph, isCandidate, isNhwc, perChannel, readStep, rebuildGraph, Step, uniqueName} from './graph_chain';
import {constNode, getBool, getString, getStrings, getType, GraphNode, GraphTopology, parseInput, stringListAttr} from './graph_def';
import {GraphFoldReport} from './graph_fold_report';
import {splitWeights, transposeMatrix} from './graph_weights';

interface Target {
  node: GraphNode;
  fusedOp: string;
  filterName: string;
  filter: Float32Array;
  filterShape: number[];
  bias: Float32Array|null;
  /** Names of the constants the node already reads (filter, bias). */
  consts: string[];
  fusedOps: string[];
  /** Fused arguments after the bias (Prelu's alpha). */
  extraArgs: string[];
  inChannels: number;
  outChannels: number;
  rank: number;
  inOf: (i: number) => number;
  outOf: (i: number) => number;
}

/** Why padding would make the fold inexact, or null. */
function paddingProblem(node: GraphNode, filterShape: number[]): string|null {
  const padding = getString(node, 'padding') ?? 'VALID';
  if (padding === 'VALID') return null;
  if (padding === 'SAME' && filterShape[0] === 1 && filterShape[1] === 1) return null;
  const explicit = (node.attr?.explicit_paddings?.list?.i ?? []).map(Number);
  if (padding === 'EXPLICIT' && explicit.every((p) => p === 0)) return null;
  return `${node.name} pads its input (${padding}, a ${filterShape[0]}x${filterShape[1]} filter): the padded ` +
      'zeros would not be shifted';
}

function readTarget(graph: Graph, node: GraphNode): Target|string {
  const spec = FOLD_TARGET_OPS[node.op];
  const data = (node.input ?? []).filter((i) => !i.startsWith('^'));
  if (!isNhwc(node)) return `${node.name} has data_format ${getString(node, 'data_format')}, not NHWC`;
  const dtype = getType(node, 'T');
  if (dtype != null && dtype !== 'DT_FLOAT') return `${node.name} computes in ${dtype}, not float32`;
  if (spec.kind === 'matmul' && getBool(node, 'transpose_a')) return `${node.name} transposes its input`;
  const fusedOps = getStrings(node, 'fused_ops');
  if (fusedOps.length > 0 && fusedOps[0] !== 'BiasAdd') return `${node.name} applies ${fusedOps.join(' + ')}`;
  const filterName = parseInput(data[1] ?? '').node;
  const filter = graph.constant(filterName);
  if (typeof filter === 'string') return `the weights of ${node.name}: ${filter}`;
  const shape = filter.shape;
  let inChannels: number;
  let outChannels: number;
  let inOf: (i: number) => number;
  let outOf: (i: number) => number;
  let rank = 4;
  if (spec.kind === 'matmul') {
    if (shape.length !== 2) return `the matrix b of ${node.name} is not rank 2`;
    rank = 2;
    if (getBool(node, 'transpose_b')) {
      [outChannels, inChannels] = shape;
      inOf = (i) => i % inChannels;
      outOf = (i) => Math.floor(i / inChannels);
    } else {
      [inChannels, outChannels] = shape;
      inOf = (i) => Math.floor(i / outChannels);
      outOf = (i) => i % outChannels;
    }
  } else {
    if (shape.length !== 4) return `the filter of ${node.name} is not rank 4`;
    const problem = paddingProblem(node, shape);
    if (problem) return problem;
    inChannels = shape[2];
    const last = shape[3];
    outChannels = spec.kind === 'conv2d' ? last : shape[2] * last;
    inOf = (i) => Math.floor(i / last) % inChannels;
    outOf = spec.kind === 'conv2d' ? (i) => i % last : (i) => i % outChannels;
  }
  let bias: Float32Array|null = null;
  const consts = [filterName];
  if (fusedOps[0] === 'BiasAdd') {
    const biasName = parseInput(data[2] ?? '').node;
    const b = graph.constant(biasName);
    if (typeof b === 'string') return `the bias of ${node.name}: ${b}`;
    const perC = perChannel(biasName, b, outChannels, rank);
    if (typeof perC === 'string') return `the bias of ${node.name}: ${perC}`;
    bias = Float32Array.from(perC);
    consts.push(biasName);
  }
  return {node, fusedOp: spec.fusedOp, filterName, filter: filter.values, filterShape: shape, bias, consts,
          fusedOps, extraArgs: data.slice(fusedOps[0] === 'BiasAdd' ? 3 : 2), inChannels, outChannels, rank,
          inOf, outOf};
}

/** The affine chain feeding `target`'s input (in graph order), and the input of its first node. */
function chainBefore(graph: Graph, target: GraphNode): {start: string, nodes: GraphNode[]} {
  const nodes: GraphNode[] = [];
  let from = (target.input ?? [])[0] ?? '';
  let start = from;
  let consumer = target;
  for (;;) {
    const ref = parseInput(from);
    if (ref.output !== 0 || ref.control) break;
    const node = graph.byName.get(ref.node);
    if (node == null || !isCandidate(graph, node) || graph.soleConsumer(node.name) !== consumer) break;
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const next = BATCH_NORM_OPS.includes(node.op) ? inputs[0] :
        inputs.find((i) => graph.byName.get(parseInput(i).node)?.op !== 'Const');
    if (next == null) break;
    nodes.unshift(node);
    start = next;
    from = next;
    consumer = node;
  }
  return {start, nodes};
}

/**
 * Folds forward every affine chain before a convolution or matmul that is
 * exact to fold; returns the new artifacts and the report's entries.
 */
export function foldForwardPass(who: string, artifacts: io.ModelArtifacts, signatureOutputs: string[]):
    {artifacts: io.ModelArtifacts, folded: GraphFoldReport['folded'], foldedNodes: Set<string>,
     left: GraphFoldReport['left']} {
  const topology = artifacts.modelTopology as GraphTopology;
  const weights = splitWeights(who, artifacts);
  const graph = new Graph(topology.node, weights, signatureOutputs);
  const taken = new Set(topology.node.map((n) => n.name));
  const folded: GraphFoldReport['folded'] = [];
  const left: GraphFoldReport['left'] = [];
  const foldedNodes = new Set<string>();
  const replaced = new Map<string, GraphNode[]>();
  const added: Array<{name: string, shape: number[], values: Float32Array}> = [];
  const touched = new Set<string>();

  for (const node of topology.node) {
    if (FOLD_TARGET_OPS[node.op] == null) continue;
    const {start, nodes} = chainBefore(graph, node);
    if (nodes.length === 0) continue;
    const target = readTarget(graph, node);
    if (typeof target === 'string') {
      nodes.forEach((n) => left.push({node: n.name, op: n.op, reason: `not folded forward: ${target}`}));
      continue;
    }
    // The longest run of readable steps next to the target.
    let steps: Step[] = [];
    let prev = parseInput(start).node;
    for (const n of nodes) {
      const step = readStep(graph, n, prev, target.inChannels, target.rank);
      if (typeof step === 'string') {
        left.push({node: n.name, op: n.op, reason: `not folded forward: ${step}`});
        steps = [];
      } else {
        steps.push(step);
      }
      prev = n.name;
    }
    if (steps.length === 0) continue;
    const first = steps[0].node;
    const input = first === nodes[0] ? start : nodes[nodes.indexOf(first) - 1].name;

    const C = target.inChannels;
    const scale = new Float64Array(C).fill(1);
    const shift = new Float64Array(C);
    for (const s of steps) {
      for (let c = 0; c < C; c++) {
        scale[c] *= s.mul[c];
        shift[c] = shift[c] * s.mul[c] + s.add[c];
      }
    }
    const filter = new Float32Array(target.filter.length);
    const bias = new Float64Array(target.outChannels);
    if (target.bias) target.bias.forEach((v, c) => bias[c] = v);
    for (let i = 0; i < filter.length; i++) {
      const w = target.filter[i];
      const ci = target.inOf(i);
      filter[i] = w * scale[ci];
      bias[target.outOf(i)] += w * shift[ci];
    }
    const filterName = uniqueName(taken, `${node.name}/folded_filter`);
    const biasName = uniqueName(taken, `${node.name}/folded_bias`);
    const attr = {...(node.attr ?? {})};
    let written: Float32Array = filter;
    let filterShape = target.filterShape;
    if (FOLD_TARGET_OPS[node.op].kind === 'matmul' && getBool(node, 'transpose_b')) {
      // Written as [K, N]: tfjs-backend-wasm 4.22's fused matMul with transposeB and a bias
      // computes wrong numbers.
      written = transposeMatrix(filter, filterShape[0], filterShape[1]);
      filterShape = [filterShape[1], filterShape[0]];
      attr.transpose_b = {b: false};
    }
    added.push({name: filterName, shape: filterShape, values: written},
               {name: biasName, shape: [target.outChannels], values: Float32Array.from(bias)});
    const fusedOps = target.fusedOps.length > 0 ? target.fusedOps : ['BiasAdd'];
    attr.fused_ops = stringListAttr(fusedOps);
    attr.num_args = {i: String(1 + target.extraArgs.length)};
    if (attr.epsilon == null) attr.epsilon = {f: 0};
    const control = (node.input ?? []).filter((i) => i.startsWith('^'));
    replaced.set(node.name, [constNode(filterName, filterShape), constNode(biasName, [target.outChannels]), {
      ...node, op: target.fusedOp, input: [input, filterName, biasName, ...target.extraArgs, ...control], attr,
    }]);
    target.consts.forEach((c) => touched.add(c));
    for (const s of steps) {
      foldedNodes.add(s.node.name);
      s.params.forEach((p) => touched.add(p));
    }
    folded.push({nodes: steps.map((s) => s.node.name), into: node.name, op: target.fusedOp, node: node.name,
                 direction: 'forward'});
  }
  if (folded.length === 0) return {artifacts, folded, foldedNodes, left};

  const {nodes, weightSpecs, weightData} =
      rebuildGraph(graph, topology, artifacts, replaced, foldedNodes, touched, added);
  return {artifacts: {...artifacts, modelTopology: {...topology, node: nodes}, weightSpecs, weightData}, folded,
          foldedNodes, left};
}
