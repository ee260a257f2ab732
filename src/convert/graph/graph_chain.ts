/**
 * What the backward and forward graph folds share: the graph with its
 * consumers and constants, the per-channel affine nodes a batch norm leaves
 * (Mul, Add, AddV2, BiasAdd, Sub with a constant; FusedBatchNorm* with
 * is_training false) read as y = x * mul + add per channel.
 */
import {io} from '@tensorflow/tfjs-core';

import {getBool, getNumber, getString, getType, GraphNode, GraphTopology, parseInput, TensorRef} from './graph_def';
import {assembleWeights, readFloatWeight, StoredWeight} from './graph_weights';

export const ADD_OPS = ['Add', 'AddV2', 'BiasAdd'];
export const BATCH_NORM_OPS = ['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3'];
export const AFFINE_OPS = ['Mul', 'Sub', ...ADD_OPS, ...BATCH_NORM_OPS];
/** Activations tfjs's fused conv2d / depthwiseConv2d / matMul apply (fused_ops names). */
export const FUSABLE_ACTIVATIONS = ['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Prelu', 'Sigmoid'];
export const ACTIVATION_OPS = [...FUSABLE_ACTIVATIONS, 'Tanh', 'Softplus', 'Selu', 'Swish', 'MaxPool', 'AvgPool', 'Mean'];

/** One node of a chain as y = x * mul + add (per channel, length C, float64). */
export interface Step {
  node: GraphNode;
  mul: Float64Array;
  add: Float64Array;
  params: string[];
}

export class Graph {
  readonly byName = new Map<string, GraphNode>();
  readonly consumers = new Map<string, Array<{node: GraphNode, ref: TensorRef}>>();
  readonly outputs = new Set<string>();

  constructor(readonly nodes: GraphNode[], readonly weights: Map<string, StoredWeight>,
              signatureOutputs: string[]) {
    for (const n of nodes) this.byName.set(n.name, n);
    for (const n of nodes) {
      for (const input of n.input ?? []) {
        const ref = parseInput(input);
        if (!this.consumers.has(ref.node)) this.consumers.set(ref.node, []);
        this.consumers.get(ref.node)!.push({node: n, ref});
      }
    }
    for (const o of signatureOutputs) this.outputs.add(parseInput(o).node);
  }

  consumersOf(name: string) {
    return this.consumers.get(name) ?? [];
  }

  /** The single consumer of `name`'s output 0, or why there is not exactly one. */
  soleConsumer(name: string): GraphNode|string {
    const users = this.consumersOf(name);
    if (this.outputs.has(name)) return `it is a graph output`;
    if (users.length !== 1) {
      return users.length === 0 ? 'it has no consumer' :
          `it feeds ${users.length} nodes (${users.map((u) => u.node.name).join(', ')})`;
    }
    const {node, ref} = users[0];
    if (ref.control) return `${node.name} depends on it by a control edge`;
    if (ref.output !== 0) return `${node.name} reads its output ${ref.output}`;
    return node;
  }

  /** A constant's float32 values and shape, or why it is not usable. */
  constant(name: string): {values: Float32Array, shape: number[]}|string {
    const node = this.byName.get(name);
    if (node == null) return `its input ${name} is not a node of the graph`;
    if (node.op !== 'Const') return `its input ${name} is not a constant (op ${node.op})`;
    const weight = this.weights.get(name);
    if (weight == null) return `the constant ${name} has no entry in the weights manifest`;
    const values = readFloatWeight(weight);
    if (values == null) {
      return `the constant ${name} is ${weight.spec.dtype}${weight.spec.quantization ?
          ` (stored as ${weight.spec.quantization.dtype})` : ''}, not float32`;
    }
    return {values, shape: weight.spec.shape};
  }
}

export function shapeText(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A constant as one value per channel (scalar broadcast), or why it is not per channel. */
export function perChannel(name: string, c: {values: Float32Array, shape: number[]}, channels: number,
                    outputRank: number): Float64Array|string {
  const {values, shape} = c;
  const last = shape.length === 0 ? 1 : shape[shape.length - 1];
  const ok = shape.length <= outputRank && shape.slice(0, -1).every((d) => d === 1) &&
      (last === 1 || last === channels);
  if (!ok) {
    return `its constant ${name} has shape ${shapeText(shape)}, which is not [], [${channels}] or ` +
        `[1, ..., ${channels}]: not one value per output channel`;
  }
  const out = new Float64Array(channels);
  for (let i = 0; i < channels; i++) out[i] = values.length === 1 ? values[0] : values[i];
  return out;
}

export function isNhwc(node: GraphNode): boolean {
  const format = getString(node, 'data_format');
  return format == null || format === 'NHWC';
}

/**
 * `node` (which takes `prev` as its input) as a per-channel affine step on a
 * tensor of `outputRank` with `channels` channels last, or why not.
 */
export function readStep(graph: Graph, node: GraphNode, prev: string, channels: number, outputRank: number): Step|string {
  const inputs = node.input ?? [];
  if (inputs.some((i) => i.startsWith('^'))) return 'it has a control input';
  const dtype = getType(node, 'T');
  if (dtype != null && dtype !== 'DT_FLOAT') return `it computes in ${dtype}, not float32`;
  const C = channels;
  if (BATCH_NORM_OPS.includes(node.op)) {
    if (parseInput(inputs[0]).node !== prev) return `${prev} is not its input x`;
    const training = getBool(node, 'is_training');
    if (training !== false) {
      return training ? 'is_training is true: it normalizes with the statistics of each batch' :
          'it has no is_training attribute (TensorFlow\'s default is true: batch statistics)';
    }
    if (!isNhwc(node)) return `its data_format is ${getString(node, 'data_format')}, not NHWC`;
    const epsilon = getNumber(node, 'epsilon');
    if (epsilon == null) return 'it has no epsilon attribute (TensorFlow\'s default 1e-4 and tfjs\'s 1e-3 differ)';
    if (graph.consumersOf(node.name).some((u) => u.ref.output !== 0)) {
      return 'a node reads one of its batch statistics outputs';
    }
    const params: Float64Array[] = [];
    const names = inputs.slice(1, 5).map((i) => parseInput(i).node);
    for (const name of names) {
      const c = graph.constant(name);
      if (typeof c === 'string') return c;
      const p = perChannel(name, c, C, outputRank);
      if (typeof p === 'string') return p;
      params.push(p);
    }
    const [gamma, beta, mean, variance] = params;
    const mul = new Float64Array(C);
    const add = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      mul[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
      add[c] = beta[c] - mean[c] * mul[c];
    }
    return {node, mul, add, params: names};
  }
  if (inputs.length !== 2) return `it has ${inputs.length} inputs`;
  const refs = inputs.map(parseInput);
  const at = refs.findIndex((r) => r.node === prev);
  if (at < 0) return `${prev} is not one of its inputs`;
  if (refs[1 - at].node === prev) return `both its inputs are ${prev}`;
  if (node.op === 'Sub' && at !== 0) return `it computes constant - ${prev}`;
  if (node.op === 'BiasAdd' && at !== 0) return `${prev} is its bias`;
  if (node.op === 'BiasAdd' && !isNhwc(node)) return `its data_format is ${getString(node, 'data_format')}, not NHWC`;
  const constName = refs[1 - at].node;
  const c = graph.constant(constName);
  if (typeof c === 'string') return c;
  const values = perChannel(constName, c, C, outputRank);
  if (typeof values === 'string') return values;
  const ones = new Float64Array(C).fill(1);
  const zeros = new Float64Array(C);
  if (node.op === 'Mul') return {node, mul: values, add: zeros, params: [constName]};
  if (node.op === 'Sub') return {node, mul: ones, add: values.map((v) => -v), params: [constName]};
  return {node, mul: ones, add: values, params: [constName]};
}

/**
 * Whether `node` looks like a batch norm leftover: a FusedBatchNorm*, or a
 * Mul / Add / AddV2 / BiasAdd / Sub of a node and a constant (an Add of two
 * computed tensors, a residual connection, is not one).
 */
export function isCandidate(graph: Graph, node: GraphNode): boolean {
  if (BATCH_NORM_OPS.includes(node.op)) return true;
  if (!AFFINE_OPS.includes(node.op)) return false;
  const producers = (node.input ?? []).filter((i) => !i.startsWith('^'))
      .map((i) => graph.byName.get(parseInput(i).node)?.op);
  return producers.length === 2 && producers.filter((op) => op === 'Const').length === 1;
}

export function uniqueName(taken: Set<string>, wanted: string): string {
  let name = wanted;
  for (let i = 1; taken.has(name); i++) name = `${wanted}_${i}`;
  taken.add(name);
  return name;
}


/**
 * The fold's new node list and weights: `replacements` spliced in where their
 * node stood, `removed` nodes left out, and every constant of `touched` that
 * no node, graph output, function library or model initializer uses any more
 * dropped with its weight; `added` weights appended (float32).
 */
export function rebuildGraph(graph: Graph, topology: GraphTopology, artifacts: io.ModelArtifacts,
                             replacements: Map<string, GraphNode[]>, removed: Set<string>, touched: Set<string>,
                             added: Array<{name: string, shape: number[], values: Float32Array}>):
    {nodes: GraphNode[], weightSpecs: io.WeightsManifestEntry[], weightData: ArrayBuffer} {
  const spliced: GraphNode[] = [];
  for (const n of topology.node) {
    const replacement = replacements.get(n.name);
    if (replacement) spliced.push(...replacement);
    else if (!removed.has(n.name)) spliced.push(n);
  }
  const used = new Set<string>();
  for (const n of spliced) for (const i of n.input ?? []) used.add(parseInput(i).node);
  graph.outputs.forEach((o) => used.add(o));
  const library = JSON.stringify([topology.library ?? {}, artifacts.modelInitializer ?? {}]);
  const dropped = new Set([...touched].filter((c) => !used.has(c) && !library.includes(JSON.stringify(c))));
  const kept = [...graph.weights.values()].filter((w) => !dropped.has(w.spec.name));
  return {nodes: spliced.filter((n) => !dropped.has(n.name)), ...assembleWeights(kept, added)};
}

/**
 * The nodes a batch norm folds into (backwards or forwards), the kind of
 * filter each has, and the fused op each becomes.
 */
export const FOLD_TARGET_OPS: Readonly<Record<string, {kind: 'conv2d'|'depthwise'|'matmul', fusedOp: string}>> = {
  Conv2D: {kind: 'conv2d', fusedOp: '_FusedConv2D'},
  _FusedConv2D: {kind: 'conv2d', fusedOp: '_FusedConv2D'},
  DepthwiseConv2dNative: {kind: 'depthwise', fusedOp: 'FusedDepthwiseConv2dNative'},
  FusedDepthwiseConv2dNative: {kind: 'depthwise', fusedOp: 'FusedDepthwiseConv2dNative'},
  MatMul: {kind: 'matmul', fusedOp: '_FusedMatMul'},
  _FusedMatMul: {kind: 'matmul', fusedOp: '_FusedMatMul'},
};
