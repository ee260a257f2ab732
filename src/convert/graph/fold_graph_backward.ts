/**
 * The backward graph fold (see fold_graph_model.ts): finds each chain of
 * per-channel affine nodes after a convolution or matmul, plans its fold (and
 * the activation after it), lists what it leaves and why, and rewrites the
 * graph and the weights.
 */
import {io} from '@tensorflow/tfjs-core';

import {ACTIVATION_OPS, BATCH_NORM_OPS, FOLD_TARGET_OPS, FUSABLE_ACTIVATIONS, Graph, isCandidate, isNhwc, perChannel, readStep, rebuildGraph, shapeText, Step, uniqueName} from './graph_chain';
import {constNode, getBool, getNumber, getString, getStrings, getType, GraphNode, GraphTopology, parseInput, stringListAttr} from './graph_def';
import {GraphFoldReport} from './graph_fold_report';
import {transposeMatrix} from './graph_weights';

/** The nodes a batch norm folds into backwards: the shared targets, and transposed convolutions (no fused form). */
const BASE_OPS: Record<string, {kind: Kind, fusedOp: string|null}> = {
  ...FOLD_TARGET_OPS,
  Conv2DBackpropInput: {kind: 'transposeConv', fusedOp: null},
};
type Kind = 'conv2d'|'depthwise'|'matmul'|'transposeConv';

interface Base {
  node: GraphNode;
  kind: Kind;
  fusedOp: string|null;
  filterName: string;
  filter: Float32Array;
  filterShape: number[];
  bias: Float32Array|null;
  biasName: string|null;
  channels: number;
  outputRank: number;
  /** The output channel of each flat filter element. */
  channelOf: (i: number) => number;
}

interface Plan {
  base: Base;
  steps: Step[];
  activation: {node: GraphNode, name: string, alpha?: number, preluAlpha?: string}|null;
  /**
   * The AddN between the base and its Add (grappler's AddOpsRewrite moves a
   * batch norm's shift past a residual sum: conv -> AddN(x, conv) -> Add(c)).
   */
  through?: GraphNode;
}

/** The node a batch norm can fold into, or why `node` is not one. */
function readBase(graph: Graph, node: GraphNode): Base|string {
  const spec = BASE_OPS[node.op];
  const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
  if (!isNhwc(node)) return `${node.name} (${node.op}) has data_format ${getString(node, 'data_format')}, not NHWC`;
  const dtype = getType(node, 'T');
  if (dtype != null && dtype !== 'DT_FLOAT') return `${node.name} (${node.op}) computes in ${dtype}, not float32`;
  let biasName: string|null = null;
  if (node.op.startsWith('_Fused') || node.op.startsWith('Fused')) {
    const ops = getStrings(node, 'fused_ops');
    if (ops.length !== 1 || ops[0] !== 'BiasAdd' || inputs.length !== 3) {
      return `${node.name} (${node.op}) already applies ${ops.join(' + ') || 'no fused op'}` +
          `${ops.length > 1 ? ': a batch norm after an activation cannot be folded backwards' : ''}`;
    }
    biasName = parseInput(inputs[2]).node;
  }
  const filterRef = parseInput(inputs[1] ?? '');
  const filter = graph.constant(filterRef.node);
  if (typeof filter === 'string') return `the ${spec.kind === 'matmul' ? 'matrix b' : 'filter'} of ${node.name}: ${filter}`;
  if (graph.consumersOf(node.name).some((u) => u.ref.output !== 0)) return `${node.name} has consumers of a second output`;
  const shape = filter.shape;
  let channels: number;
  let outputRank = 4;
  let channelOf: (i: number) => number;
  if (spec.kind === 'conv2d' || spec.kind === 'depthwise') {
    if (shape.length !== 4) return `the filter of ${node.name} has shape ${shapeText(shape)}, not rank 4`;
    channels = spec.kind === 'conv2d' ? shape[3] : shape[2] * shape[3];
    channelOf = (i) => i % channels;
  } else if (spec.kind === 'transposeConv') {
    if (shape.length !== 4) return `the filter of ${node.name} has shape ${shapeText(shape)}, not rank 4`;
    channels = shape[2];
    const inner = shape[3];
    channelOf = (i) => Math.floor(i / inner) % channels;
  } else {
    if (shape.length !== 2) return `the matrix b of ${node.name} has shape ${shapeText(shape)}, not rank 2`;
    outputRank = 2;
    if (getBool(node, 'transpose_a')) {
      return `${node.name} (${node.op}) transposes its input a: tfjs-backend-wasm 4.22's fused matMul with a ` +
          'transposed input and a bias computes wrong numbers';
    }
    if (getBool(node, 'transpose_b')) {
      channels = shape[0];
      const k = shape[1];
      channelOf = (i) => Math.floor(i / k);
    } else {
      channels = shape[1];
      channelOf = (i) => i % channels;
    }
  }
  let bias: Float32Array|null = null;
  if (biasName != null) {
    const b = graph.constant(biasName);
    if (typeof b === 'string') return `the bias of ${node.name}: ${b}`;
    const perC = perChannel(biasName, b, channels, outputRank);
    if (typeof perC === 'string') return `the bias of ${node.name}: ${perC}`;
    bias = Float32Array.from(perC);
  }
  return {node, kind: spec.kind, fusedOp: spec.fusedOp, filterName: filterRef.node, filter: filter.values,
          filterShape: shape, bias, biasName, channels, outputRank, channelOf};
}

/**
 * conv -> AddN(x, conv) -> Add(const): x + conv + c = x + (conv + c), so the
 * constant goes into the conv's bias (exact), the AddN takes the Add's name.
 */
function planThroughAddN(graph: Graph, node: GraphNode, addN: GraphNode): Plan|null {
  const inputs = addN.input ?? [];
  const refs = inputs.map(parseInput);
  if (inputs.length !== 2 || refs.some((r) => r.control || r.output !== 0) || refs.every((r) => r.node === node.name)) {
    return null;
  }
  const dtype = getType(addN, 'T');
  if (dtype != null && dtype !== 'DT_FLOAT') return null;
  const add = graph.soleConsumer(addN.name);
  if (typeof add === 'string' || !['Add', 'AddV2'].includes(add.op) || !isCandidate(graph, add)) return null;
  const base = readBase(graph, node);
  if (typeof base === 'string' || base.fusedOp == null) return null;
  const step = readStep(graph, add, addN.name, base.channels, base.outputRank);
  if (typeof step === 'string') return null;
  return {base, steps: [step], activation: null, through: addN};
}

/** The activation after `end` that the fused op can take, or null. */
function readActivation(graph: Graph, end: string, base: Base): Plan['activation'] {
  if (base.fusedOp == null) return null;
  const next = graph.soleConsumer(end);
  if (typeof next === 'string' || !FUSABLE_ACTIVATIONS.includes(next.op)) return null;
  const inputs = next.input ?? [];
  if (inputs.some((i) => i.startsWith('^')) || parseInput(inputs[0]).node !== end) return null;
  const dtype = getType(next, 'T');
  if (dtype != null && dtype !== 'DT_FLOAT') return null;
  if (next.op === 'Prelu') {
    const alphaName = parseInput(inputs[1] ?? '').node;
    const alpha = graph.constant(alphaName);
    if (typeof alpha === 'string' || typeof perChannel(alphaName, alpha, base.channels, base.outputRank) === 'string') {
      return null;
    }
    return {node: next, name: 'Prelu', preluAlpha: inputs[1]};
  }
  if (next.op === 'LeakyRelu') {
    // tfjs-converter 4.22 maps no leakyrelu_alpha for FusedDepthwiseConv2dNative: the
    // kernels get alpha undefined (NaN on cpu). Kept as a node of its own there.
    if (base.fusedOp === 'FusedDepthwiseConv2dNative') return null;
    return {node: next, name: 'LeakyRelu', alpha: getNumber(next, 'alpha') ?? 0.2};
  }
  return {node: next, name: next.op};
}

/** The node a leftover's data comes from, when it is worth a report entry (else null). */
function leftoverContext(graph: Graph, node: GraphNode): GraphNode|null {
  if (!isCandidate(graph, node)) return null;
  const refs = (node.input ?? []).filter((i) => !i.startsWith('^')).map(parseInput);
  const producers = refs.map((r) => graph.byName.get(r.node)).filter((n): n is GraphNode => n != null);
  if (BATCH_NORM_OPS.includes(node.op)) return producers[0] ?? node;
  const nonConst = producers.filter((p) => p.op !== 'Const');
  if (nonConst.length !== 1 || producers.length !== 2) return null;
  const p = nonConst[0];
  return BASE_OPS[p.op] != null || ACTIVATION_OPS.includes(p.op) ? p : null;
}

/**
 * Plans and applies every backward fold of `graph` (built on `topology`, a
 * copy of the artifacts' own, which it rewrites).
 */
export function foldBackwardPass(artifacts: io.ModelArtifacts, topology: GraphTopology, graph: Graph,
                                 fuseActivations: boolean): {artifacts: io.ModelArtifacts, report: GraphFoldReport} {
  const plans: Plan[] = [];
  const left = new Map<string, {node: string, op: string, reason: string}>();
  const leave = (node: GraphNode, reason: string) => {
    if (!left.has(node.name)) left.set(node.name, {node: node.name, op: node.op, reason});
  };
  const planned = new Set<string>();

  for (const node of topology.node) {
    if (BASE_OPS[node.op] == null) continue;
    const first = graph.soleConsumer(node.name);
    const firstUsers = graph.consumersOf(node.name).map((u) => u.node).filter((n) => isCandidate(graph, n));
    if (typeof first === 'string') {
      for (const u of firstUsers) {
        leave(u, `its input ${node.name} (${node.op}) cannot change: ${first}`);
      }
      continue;
    }
    if (first.op === 'AddN') {
      const plan = planThroughAddN(graph, node, first);
      if (plan != null) {
        plans.push(plan);
        planned.add(plan.steps[0].node.name);
      }
      continue;
    }
    // A Mul of the output and a computed tensor is reported too (its scale is not a constant).
    if (!isCandidate(graph, first) && first.op !== 'Mul') continue;
    const base = readBase(graph, node);
    if (typeof base === 'string') {
      leave(first, base);
      continue;
    }
    const steps: Step[] = [];
    let prev = node.name;
    let next: GraphNode|string = first;
    while (typeof next !== 'string' && (isCandidate(graph, next) || (steps.length === 0 && next.op === 'Mul'))) {
      const step = readStep(graph, next, prev, base.channels, base.outputRank);
      if (typeof step === 'string') {
        if (steps.length === 0) leave(next, step);
        else leave(next, `${step} (the nodes before it, up to ${prev}, were folded into ${node.name})`);
        break;
      }
      steps.push(step);
      prev = next.name;
      next = graph.soleConsumer(prev);
    }
    if (steps.length === 0) continue;
    if (base.kind === 'transposeConv' && steps.every((s) => s.mul.every((v) => v === 1))) {
      continue;  // only additions: a transposed conv and one add, as before
    }
    const activation = fuseActivations ? readActivation(graph, prev, base) : null;
    plans.push({base, steps, activation});
    for (const s of steps) planned.add(s.node.name);
  }

  // Leftovers no plan reached: after an activation, a pooling, a non-constant input.
  for (const node of topology.node) {
    if (planned.has(node.name) || left.has(node.name)) continue;
    const producer = leftoverContext(graph, node);
    if (producer == null) continue;
    if (ACTIVATION_OPS.includes(producer.op)) {
      leave(node, `it follows ${producer.name} (${producer.op}): a batch norm cannot be folded backwards through it`);
    } else if (BATCH_NORM_OPS.includes(node.op)) {
      leave(node, producer === node ? 'it has no input' :
          `its input ${producer.name} (${producer.op}) is not a convolution or matmul it can fold into`);
    } else if (!plans.some((p) => p.steps.some((s) => s.node === producer))) {
      leave(node, `its input ${producer.name} (${producer.op}) could not take it`);
    }
  }

  return applyPlans(artifacts, topology, graph, plans, [...left.values()]);
}

function applyPlans(artifacts: io.ModelArtifacts, topology: GraphTopology, graph: Graph, plans: Plan[],
                    left: GraphFoldReport['left']): {artifacts: io.ModelArtifacts, report: GraphFoldReport} {
  const taken = new Set(topology.node.map((n) => n.name));
  const added: Array<{name: string, shape: number[], values: Float32Array}> = [];
  const removed = new Set<string>();
  /** Nodes to put where the last node of a plan was. */
  const replacements = new Map<string, GraphNode[]>();
  const touchedConsts = new Set<string>();
  const report: GraphFoldReport = {
    nodesBefore: topology.node.length, nodesAfter: 0, folded: [], fusedActivations: [], left,
    weightBytesBefore: 0, weightBytesAfter: 0,
  };

  for (const {base, steps, activation, through} of plans) {
    const C = base.channels;
    const scale = new Float64Array(C).fill(1);
    const shift = new Float64Array(C);
    if (base.bias) base.bias.forEach((v, c) => shift[c] = v);
    for (const s of steps) {
      for (let c = 0; c < C; c++) {
        scale[c] *= s.mul[c];
        shift[c] = shift[c] * s.mul[c] + s.add[c];
      }
    }
    let filter: Float32Array = new Float32Array(base.filter.length);
    for (let i = 0; i < filter.length; i++) filter[i] = base.filter[i] * scale[base.channelOf(i)];
    const bias = Float32Array.from(shift);
    let filterShape = base.filterShape;
    const attr = {...(base.node.attr ?? {})};
    if (base.kind === 'matmul' && getBool(base.node, 'transpose_b')) {
      // Written as [K, N]: tfjs-backend-wasm 4.22's fused matMul with transposeB and a bias
      // computes wrong numbers.
      filter = transposeMatrix(filter, filterShape[0], filterShape[1]);
      filterShape = [filterShape[1], filterShape[0]];
      attr.transpose_b = {b: false};
    }

    const last = activation?.node ?? steps[steps.length - 1].node;
    // Through an AddN the folded node keeps the base's name and the AddN takes the Add's.
    const fusedName = through ? base.node.name : last.name;
    const filterName = uniqueName(taken, `${base.node.name}/folded_filter`);
    const biasName = uniqueName(taken, `${base.node.name}/folded_bias`);
    added.push({name: filterName, shape: filterShape, values: filter});
    const out: GraphNode[] = [constNode(filterName, filterShape)];
    const baseInputs = base.node.input ?? [];
    const data = baseInputs.filter((i) => !i.startsWith('^'));
    const control = baseInputs.filter((i) => i.startsWith('^'));
    touchedConsts.add(base.filterName);
    if (base.biasName) touchedConsts.add(base.biasName);
    for (const s of steps) s.params.forEach((p) => touchedConsts.add(p));

    let foldedInto = fusedName;
    if (base.fusedOp == null) {
      // Conv2DBackpropInput: the scale goes into the filter; the shift stays an add.
      const needsAdd = bias.some((v) => v !== 0);
      const convName = needsAdd ? uniqueName(taken, `${last.name}/conv`) : last.name;
      foldedInto = convName;
      out.push({...base.node, name: convName, input: [data[0], filterName, data[2], ...control]});
      if (needsAdd) {
        added.push({name: biasName, shape: [C], values: bias});
        out.push(constNode(biasName, [C]),
                 {name: last.name, op: 'AddV2', input: [convName, biasName], attr: {T: {type: 'DT_FLOAT'}}});
      }
    } else {
      added.push({name: biasName, shape: [C], values: bias});
      out.push(constNode(biasName, [C]));
      const fusedOps = ['BiasAdd'];
      const args = [biasName];
      if (activation) {
        fusedOps.push(activation.name);
        if (activation.preluAlpha) args.push(activation.preluAlpha);
        if (activation.alpha != null) attr.leakyrelu_alpha = {f: activation.alpha};
      }
      attr.fused_ops = stringListAttr(fusedOps);
      attr.num_args = {i: String(args.length)};
      if (attr.epsilon == null) attr.epsilon = {f: 0};
      out.push({...base.node, name: fusedName, op: base.fusedOp, input: [data[0], filterName, ...args, ...control], attr});
    }
    removed.add(base.node.name);
    steps.forEach((s) => removed.add(s.node.name));
    if (activation) removed.add(activation.node.name);
    replacements.set(fusedName, out);
    if (through) replacements.set(through.name, [{...through, name: last.name}]);
    report.folded.push({nodes: steps.map((s) => s.node.name), into: base.node.name,
                        op: base.fusedOp ?? base.node.op, node: foldedInto, direction: 'backward'});
    if (activation) {
      report.fusedActivations.push({node: activation.node.name, activation: activation.name, into: last.name});
    }
  }

  // Constants only the replaced nodes used are dropped, with their weights.
  const {nodes, weightSpecs, weightData} =
      rebuildGraph(graph, topology, artifacts, replacements, removed, touchedConsts, added);
  topology.node = nodes;
  report.nodesAfter = nodes.length;
  report.weightBytesBefore = [...graph.weights.values()].reduce((s, w) => s + w.bytes.byteLength, 0);
  report.weightBytesAfter = weightData.byteLength;
  return {artifacts: {...artifacts, modelTopology: topology, weightSpecs, weightData}, report};
}
