/**
 * foldGraphModelArtifacts on GraphModels built by test/fixtures/graph/
 * graph_builder.js with each batch-norm leftover tensorflowjs_converter
 * leaves: the folded model predicts like the original on cpu (within 1e-5 of
 * max|y|: both compute in float32, the fold rounds the folded filter once),
 * a second fold finds nothing, the report says what was folded and what was
 * left and why, and the result loads in stock tfjs (a child process that does
 * not import this package).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {foldGraphModelArtifacts} from '../src/convert/graph/fold_graph_model';
import {formatGraphFoldReport, GraphFoldReport} from '../src/convert/graph/graph_fold_report';
import {makeTempDir, removeDir} from './helpers/fs_io';
import {expectNoLeaks, memorySnapshot} from './helpers/leaks';

const {createGraph} = require('./fixtures/graph/graph_builder.js');

type Artifacts = tf.io.ModelArtifacts;
interface Node {name: string, op: string, input?: string[], attr?: Record<string, {list?: {s?: string[]}}>}

const TOLERANCE = 1e-5;

function nodes(a: Artifacts): Node[] {
  return (a.modelTopology as {node: Node[]}).node;
}

function nodeOf(a: Artifacts, name: string): Node {
  const n = nodes(a).find((x) => x.name === name);
  if (n == null) throw new Error(`no node ${name}`);
  return n;
}

function fusedOps(n: Node): string[] {
  return (n.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
}

async function predict(a: Artifacts, x: tf.Tensor): Promise<Float32Array> {
  const model = await tf.loadGraphModel(tf.io.fromMemory(a));
  const y = model.predict(x) as tf.Tensor;
  const values = y.dataSync() as Float32Array;
  y.dispose();
  model.dispose();
  return values;
}

/** max|folded - original| / max|original| for one random input. */
async function relativeDiff(original: Artifacts, folded: Artifacts, shape: number[]): Promise<number> {
  const x = tf.randomUniform(shape, -1, 1, 'float32', 7);
  const y0 = await predict(original, x);
  const y1 = await predict(folded, x);
  x.dispose();
  let diff = 0;
  let peak = 0;
  y0.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - y1[i]));
    peak = Math.max(peak, Math.abs(v));
  });
  expect(peak).toBeGreaterThan(0);
  return diff / peak;
}

/** Folds, checks the outputs and that nothing foldable is left; returns the fold. */
async function foldAndCheck(original: Artifacts, shape: number[]) {
  const before = JSON.stringify(original.modelTopology);
  const result = foldGraphModelArtifacts(original);
  expect(JSON.stringify(original.modelTopology)).toBe(before);  // pure
  expect(await relativeDiff(original, result.artifacts, shape)).toBeLessThan(TOLERANCE);
  expect(foldGraphModelArtifacts(result.artifacts).report.folded).toEqual([]);
  expect(result.artifacts.signature).toEqual(original.signature);
  return result;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tf.tensor(0).dispose();  // the cpu backend's one-time notice, before any leak check
});

describe('foldGraphModelArtifacts: each leftover pattern', () => {
  it('Keras 3: DepthwiseConv2dNative -> Mul -> AddV2 -> Relu6, and Conv2D -> Mul -> AddV2 (no activation)', async () => {
    const g = createGraph(1);
    let y = g.input('x', [-1, 8, 8, 4]);
    y = g.depthwise('dw', y, [3, 3, 4, 2]);
    y = g.binary('Mul', 'dw_bn/mul', y, g.perChannel('dw_bn/scale', 8, [0.5, 1.5]));
    y = g.binary('AddV2', 'dw_bn/add', y, g.perChannel('dw_bn/shift', 8, [-0.5, 0.5]));
    y = g.unary('Relu6', 'dw_relu6', y);
    y = g.conv2d('project', y, [1, 1, 8, 6]);
    y = g.binary('Mul', 'project_bn/mul', y, g.perChannel('project_bn/scale', 6, [0.5, 1.5]));
    y = g.binary('AddV2', 'project_bn/add', y, g.perChannel('project_bn/shift', 6, [-0.5, 0.5]));
    const original = g.artifacts([y]);
    const {artifacts, report} = await expectNoLeaks(() => foldAndCheck(original, [2, 8, 8, 4]));
    expect(nodes(artifacts).map((n) => n.op).filter((op) => op !== 'Const'))
        .toEqual(['Placeholder', 'FusedDepthwiseConv2dNative', '_FusedConv2D']);
    expect(fusedOps(nodeOf(artifacts, 'dw_relu6'))).toEqual(['BiasAdd', 'Relu6']);
    expect(fusedOps(nodeOf(artifacts, 'project_bn/add'))).toEqual(['BiasAdd']);
    expect(report).toEqual({
      nodesBefore: 14, nodesAfter: 7,
      folded: [
        {nodes: ['dw_bn/mul', 'dw_bn/add'], into: 'dw', op: 'FusedDepthwiseConv2dNative', node: 'dw_relu6', direction: 'backward'},
        {nodes: ['project_bn/mul', 'project_bn/add'], into: 'project', op: '_FusedConv2D', node: 'project_bn/add',
         direction: 'backward'},
      ],
      fusedActivations: [{node: 'dw_relu6', activation: 'Relu6', into: 'dw_relu6'}],
      left: [],
      weightBytesBefore: 4 * (3 * 3 * 4 * 2 + 8 + 8 + 8 * 6 + 6 + 6),
      weightBytesAfter: 4 * (3 * 3 * 4 * 2 + 8 + 8 * 6 + 6),  // folded filters and biases
    } as GraphFoldReport);
    expect(formatGraphFoldReport(report)).toBe([
      'graph nodes: 14 -> 7',
      'batch norms folded: 2',
      '  dw_bn/mul + dw_bn/add -> dw (now dw_relu6: FusedDepthwiseConv2dNative)',
      '  project_bn/mul + project_bn/add -> project (now project_bn/add: _FusedConv2D)',
      'activations fused: 1',
      '  dw_relu6 (Relu6) -> dw_relu6',
      'batch norms left: 0',
      'weight bytes: 592 -> 536',
    ].join('\n'));
  });

  it('Conv2D -> Add(const) -> Relu (a lone add), and Sub', async () => {
    const g = createGraph(2);
    let y = g.input('x', [-1, 6, 6, 3]);
    y = g.conv2d('conv', y, [3, 3, 3, 5]);
    y = g.binary('Add', 'add', y, g.perChannel('shift', 5, [-0.5, 0.5]));
    y = g.unary('Relu', 'relu', y);
    y = g.conv2d('conv2', y, [1, 1, 5, 4], {padding: 'VALID'});
    y = g.binary('Sub', 'sub', y, g.perChannel('mean', 4, [-0.5, 0.5]));
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [1, 6, 6, 3]);
    expect(nodeOf(artifacts, 'relu').op).toBe('_FusedConv2D');
    expect(fusedOps(nodeOf(artifacts, 'relu'))).toEqual(['BiasAdd', 'Relu']);
    expect(nodeOf(artifacts, 'sub').op).toBe('_FusedConv2D');
    expect(report.folded.map((f) => f.nodes)).toEqual([['add'], ['sub']]);
  });

  it('Add before Mul, a scalar and a [1, 1, 1, C] constant', async () => {
    const g = createGraph(3);
    let y = g.input('x', [-1, 5, 5, 3]);
    y = g.conv2d('conv', y, [3, 3, 3, 4]);
    y = g.binary('AddV2', 'add', y, g.constant('shift', [1, 1, 1, 4], [0.1, -0.2, 0.3, -0.4]));
    y = g.binary('Mul', 'mul', g.constant('scale', [], [1.7]), y);  // the constant first
    y = g.binary('BiasAdd', 'biasadd', y, g.perChannel('beta', 4, [-0.5, 0.5]));
    const {report} = await foldAndCheck(g.artifacts([y]), [2, 5, 5, 3]);
    expect(report.folded).toEqual([{nodes: ['add', 'mul', 'biasadd'], into: 'conv', op: '_FusedConv2D',
                                    node: 'biasadd', direction: 'backward'}]);
  });

  it('Conv2DBackpropInput -> Mul(const first) -> Add(const): the Mul goes into the filter (dim 2 of [H, W, out, in])', async () => {
    const g = createGraph(4);
    let y = g.input('x', [-1, 4, 4, 6]);
    y = g.conv2dTranspose('deconv', y, [3, 3, 5, 6], [2, 8, 8, 5]);
    y = g.binary('Mul', 'bn/mul', g.perChannel('bn/scale', 5, [0.5, 1.5]), y);
    y = g.binary('Add', 'bn/add', y, g.perChannel('bn/shift', 5, [-0.5, 0.5]));
    y = g.unary('Relu', 'relu', y);
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [2, 4, 4, 6]);
    expect(nodes(artifacts).map((n) => n.op).filter((op) => op !== 'Const'))
        .toEqual(['Placeholder', 'Conv2DBackpropInput', 'AddV2', 'Relu']);
    expect(nodeOf(artifacts, 'bn/add').input).toEqual(['bn/add/conv', 'deconv/folded_bias']);
    expect(report.folded).toEqual([{nodes: ['bn/mul', 'bn/add'], into: 'deconv', op: 'Conv2DBackpropInput',
                                    node: 'bn/add/conv', direction: 'backward'}]);
    expect(report.fusedActivations).toEqual([]);
  });

  it('MatMul -> Mul -> AddV2 as the graph output, MatMul with transpose_b, _FusedMatMul[BiasAdd]', async () => {
    const g = createGraph(5);
    let y = g.input('x', [-1, 12]);
    y = g.matmul('fc1', y, [12, 7]);
    y = g.binary('Mul', 'bn1/mul', y, g.perChannel('bn1/scale', 7, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn1/add', y, g.perChannel('bn1/shift', 7, [-0.5, 0.5]));
    y = g.unary('Elu', 'elu', y);
    y = g.matmul('fc2', y, [9, 7], {transposeB: true});
    y = g.binary('Mul', 'bn2/mul', y, g.perChannel('bn2/scale', 9, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn2/add', y, g.perChannel('bn2/shift', 9, [-0.5, 0.5]));
    y = g.unary('Sigmoid', 'sigmoid', y);
    y = g.matmul('fc3', y, [9, 4], {fusedBias: true});
    y = g.binary('Mul', 'bn3/mul', y, g.perChannel('bn3/scale', 4, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn3/add', y, g.perChannel('bn3/shift', 4, [-0.5, 0.5]));
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [3, 12]);
    expect(['elu', 'sigmoid', 'bn3/add'].map((n) => [nodeOf(artifacts, n).op, fusedOps(nodeOf(artifacts, n))]))
        .toEqual([['_FusedMatMul', ['BiasAdd', 'Elu']], ['_FusedMatMul', ['BiasAdd', 'Sigmoid']],
                  ['_FusedMatMul', ['BiasAdd']]]);
    expect(report.fusedActivations.map((a) => a.activation)).toEqual(['Elu', 'Sigmoid']);
  });

  it('_FusedConv2D and FusedDepthwiseConv2dNative with BiasAdd only, then Mul -> Add; LeakyRelu and Prelu fused', async () => {
    const g = createGraph(6);
    let y = g.input('x', [-1, 6, 6, 3]);
    y = g.fusedConv2d('conv', y, [3, 3, 3, 4], ['BiasAdd']);
    y = g.binary('Mul', 'bn/mul', y, g.perChannel('bn/scale', 4, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn/add', y, g.perChannel('bn/shift', 4, [-0.5, 0.5]));
    y = g.node('LeakyRelu', 'leaky', [y], {T: {type: 'DT_FLOAT'}, alpha: {f: 0.1}});
    y = g.fusedConv2d('dw', y, [3, 3, 4, 1], ['BiasAdd'], {op: 'FusedDepthwiseConv2dNative'});
    y = g.binary('Mul', 'dw_bn/mul', y, g.perChannel('dw_bn/scale', 4, [0.5, 1.5]));
    y = g.binary('Add', 'dw_bn/add', y, g.perChannel('dw_bn/shift', 4, [-0.5, 0.5]));
    y = g.binary('Prelu', 'prelu', y, g.perChannel('prelu/alpha', 4, [0.05, 0.3]));
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [2, 6, 6, 3]);
    expect(fusedOps(nodeOf(artifacts, 'leaky'))).toEqual(['BiasAdd', 'LeakyRelu']);
    expect(nodeOf(artifacts, 'prelu').input).toEqual(['leaky', 'dw/folded_filter', 'dw/folded_bias', 'prelu/alpha']);
    expect(fusedOps(nodeOf(artifacts, 'prelu'))).toEqual(['BiasAdd', 'Prelu']);
    expect(report.fusedActivations.map((a) => a.activation)).toEqual(['LeakyRelu', 'Prelu']);
  });

  it('LeakyRelu is not fused into FusedDepthwiseConv2dNative (tfjs-converter maps no alpha there: NaN on cpu)', async () => {
    const g = createGraph(16);
    let y = g.input('x', [-1, 5, 5, 3]);
    y = g.depthwise('dw', y, [3, 3, 3, 1]);
    y = g.binary('Mul', 'bn/mul', y, g.perChannel('bn/scale', 3, [0.5, 1.5]));
    y = g.node('LeakyRelu', 'leaky', [y], {T: {type: 'DT_FLOAT'}, alpha: {f: 0.1}});
    y = g.depthwise('dw2', y, [3, 3, 3, 1]);
    y = g.binary('Mul', 'bn2/mul', y, g.perChannel('bn2/scale', 3, [0.5, 1.5]));
    y = g.node('LeakyRelu', 'leaky2', [y], {T: {type: 'DT_FLOAT'}, alpha: {f: 0.2}});
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [2, 5, 5, 3]);
    expect(nodeOf(artifacts, 'leaky').op).toBe('LeakyRelu');
    expect(fusedOps(nodeOf(artifacts, 'bn/mul'))).toEqual(['BiasAdd']);
    expect(nodeOf(artifacts, 'leaky2').op).toBe('LeakyRelu');
    expect(report.fusedActivations).toEqual([]);
  });

  it.each(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3'])('%s (is_training false) after Conv2D and DepthwiseConv2dNative', async (op) => {
    const g = createGraph(7);
    let y = g.input('x', [-1, 6, 6, 3]);
    y = g.conv2d('conv', y, [3, 3, 3, 4]);
    y = g.fusedBatchNorm('bn', y, 4, {op, epsilon: 1e-3});
    y = g.unary('Relu6', 'relu6', y);
    y = g.depthwise('dw', y, [3, 3, 4, 1], {strides: 2});
    y = g.fusedBatchNorm('dw_bn', y, 4, {op, epsilon: 1e-5});
    const {report} = await foldAndCheck(g.artifacts([y]), [2, 6, 6, 3]);
    expect(report.folded.map((f) => [f.nodes, f.into, f.op])).toEqual([
      [['bn'], 'conv', '_FusedConv2D'], [['dw_bn'], 'dw', 'FusedDepthwiseConv2dNative']]);
  });

  it('Conv2D -> AddN(x, conv) -> AddV2(const, sum): grappler\'s AddOpsRewrite moved the shift past the residual sum', async () => {
    const g = createGraph(19);
    const x = g.input('x', [-1, 5, 5, 4]);
    const a = g.unary('Relu', 'a', g.fusedConv2d('c0', x, [1, 1, 4, 4], ['BiasAdd']));
    const conv = g.conv2d('project', a, [1, 1, 4, 4]);
    const sum = g.node('AddN', 'sum', [x, conv], {N: {i: '2'}, T: {type: 'DT_FLOAT'}});
    const out = g.binary('AddV2', 'block_add', g.perChannel('project_bn/sub', 4, [-0.5, 0.5]), sum);
    const y = g.unary('Relu6', 'next', out);
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [2, 5, 5, 4]);
    expect(report.folded).toEqual([{nodes: ['block_add'], into: 'project', op: '_FusedConv2D', node: 'project',
                                    direction: 'backward'}]);
    expect(nodeOf(artifacts, 'block_add')).toMatchObject({op: 'AddN', input: ['x', 'project']});
    expect(nodeOf(artifacts, 'next').input).toEqual(['block_add']);
  });

  it('keeps the output names of a graph without a signature', async () => {
    const g = createGraph(8);
    let y = g.input('x', [-1, 4, 4, 2]);
    y = g.conv2d('conv', y, [1, 1, 2, 3]);
    y = g.binary('Mul', 'out', y, g.perChannel('scale', 3, [0.5, 1.5]));
    const original = g.artifacts([y], {signature: false});
    const {artifacts} = await foldAndCheck(original, [1, 4, 4, 2]);
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    expect(model.outputNodes).toEqual(['out']);
    model.dispose();
  });

  it('a filter two convolutions share is folded into a copy; the other keeps the original', async () => {
    const g = createGraph(9);
    const x = g.input('x', [-1, 4, 4, 2]);
    const a = g.conv2d('a', x, [1, 1, 2, 3]);
    g.node('Conv2D', 'b', [x, 'a/filter'], nodeOf({modelTopology: {node: g.nodes}}, 'a').attr);
    const y = g.binary('Mul', 'a_bn', a, g.perChannel('scale', 3, [0.5, 1.5]));
    const out = g.binary('AddV2', 'sum', y, 'b');
    const {artifacts} = await foldAndCheck(g.artifacts([out]), [1, 4, 4, 2]);
    expect(nodeOf(artifacts, 'b').input).toEqual(['x', 'a/filter']);
    expect(nodeOf(artifacts, 'a_bn').input).toEqual(['x', 'a/folded_filter', 'a/folded_bias']);
    expect(artifacts.weightSpecs!.map((w) => w.name)).toEqual(['a/filter', 'a/folded_filter', 'a/folded_bias']);
  });

  it('a Mul constant two nodes read is read, not changed', async () => {
    const g = createGraph(10);
    const x = g.input('x', [-1, 4, 4, 2]);
    const scale = g.perChannel('scale', 3, [0.5, 1.5]);
    const a = g.binary('Mul', 'a_bn', g.conv2d('a', x, [1, 1, 2, 3]), scale);
    const b = g.binary('Mul', 'b_bn', g.conv2d('b', x, [1, 1, 2, 3]), scale);
    const out = g.binary('AddV2', 'sum', a, b);
    const {report, artifacts} = await foldAndCheck(g.artifacts([out]), [1, 4, 4, 2]);
    expect(report.folded.map((f) => f.into)).toEqual(['a', 'b']);
    expect(artifacts.weightSpecs!.some((w) => w.name === 'scale')).toBe(false);
  });
});

describe('foldGraphModelArtifacts: folding forward (a batch norm after an activation or a pooling)', () => {
  it('into a VALID or 1x1 convolution, a depthwise one, a fused one with its activation; not into a padded 3x3', async () => {
    const g = createGraph(17);
    let y = g.input('x', [-1, 8, 8, 3]);
    y = g.fusedConv2d('c1', y, [3, 3, 3, 4], ['BiasAdd', 'Relu']);
    y = g.binary('Mul', 'bn1/mul', y, g.perChannel('bn1/scale', 4, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn1/add', y, g.perChannel('bn1/shift', 4, [-0.5, 0.5]));
    y = g.conv2d('c2', y, [1, 1, 4, 6]);  // SAME, 1x1: no padding
    y = g.unary('Relu6', 'r2', y);
    y = g.fusedBatchNorm('bn2', y, 6);
    y = g.depthwise('dw', y, [3, 3, 6, 1], {padding: 'VALID'});
    y = g.unary('Relu', 'r3', y);
    y = g.binary('Mul', 'bn3/mul', y, g.perChannel('bn3/scale', 6, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn3/add', y, g.perChannel('bn3/shift', 6, [-0.5, 0.5]));
    y = g.fusedConv2d('c4', y, [1, 1, 6, 5], ['BiasAdd', 'Relu']);
    y = g.unary('Elu', 'r4', g.binary('AddV2', 'pre', y, g.perChannel('pre/shift', 5, [-0.1, 0.1])));
    y = g.binary('Mul', 'bn5/mul', y, g.perChannel('bn5/scale', 5, [0.5, 1.5]));
    y = g.conv2d('c5', y, [3, 3, 5, 2]);  // SAME, 3x3: the padded zeros would not be shifted
    const {artifacts, report} = await foldAndCheck(g.artifacts([y]), [2, 8, 8, 3]);
    expect(report.folded).toEqual([
      {nodes: ['bn1/mul', 'bn1/add'], into: 'c2', op: '_FusedConv2D', node: 'c2', direction: 'forward'},
      {nodes: ['bn2'], into: 'dw', op: 'FusedDepthwiseConv2dNative', node: 'dw', direction: 'forward'},
      {nodes: ['bn3/mul', 'bn3/add'], into: 'c4', op: '_FusedConv2D', node: 'c4', direction: 'forward'},
    ]);
    expect(fusedOps(nodeOf(artifacts, 'c4'))).toEqual(['BiasAdd', 'Relu']);
    expect(nodeOf(artifacts, 'c2').input).toEqual(['c1', 'c2/folded_filter', 'c2/folded_bias']);
    expect(report.left).toEqual([
      {node: 'pre', op: 'AddV2', reason: 'c4 (_FusedConv2D) already applies BiasAdd + Relu: a batch norm after an ' +
                                         'activation cannot be folded backwards'},
      {node: 'bn5/mul', op: 'Mul', reason: 'it follows r4 (Elu): a batch norm cannot be folded backwards through it; ' +
                                          'not folded forward: c5 pads its input (SAME, a 3x3 filter): the padded ' +
                                          'zeros would not be shifted'},
    ]);
    expect(formatGraphFoldReport(report).split('\n')[2]).toBe(
        '  bn1/mul + bn1/add -> c2 (now c2: _FusedConv2D, folded forward)');
  });

  it('after a Mean pooling into MatMul (and MatMul with transpose_b)', async () => {
    const g = createGraph(18);
    let y = g.input('x', [-1, 4, 4, 6]);
    y = g.node('Mean', 'pool', [y, g.constant('pool/axes', [2], [1, 2], 'int32')],
               {T: {type: 'DT_FLOAT'}, Tidx: {type: 'DT_INT32'}, keep_dims: {b: false}});
    y = g.binary('Mul', 'bn/mul', y, g.perChannel('bn/scale', 6, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn/add', y, g.perChannel('bn/shift', 6, [-0.5, 0.5]));
    y = g.unary('Relu', 'relu', g.matmul('fc', y, [6, 5]));
    y = g.binary('Sub', 'bn2/sub', y, g.perChannel('bn2/mean', 5, [-0.5, 0.5]));
    y = g.matmul('fc2', y, [3, 5], {transposeB: true});
    const {report} = await foldAndCheck(g.artifacts([y]), [2, 4, 4, 6]);
    expect(report.folded.map((f) => [f.nodes, f.into, f.op, f.direction])).toEqual([
      [['bn/mul', 'bn/add'], 'fc', '_FusedMatMul', 'forward'], [['bn2/sub'], 'fc2', '_FusedMatMul', 'forward']]);
  });
});

describe('foldGraphModelArtifacts: never wrong', () => {
  it('leaves what it cannot fold exactly, each with its reason', async () => {
    const g = createGraph(11);
    const x = g.input('x', [-1, 4, 4, 3]);
    // 1. the constant is not per channel
    let a = g.conv2d('c1', x, [1, 1, 3, 4]);
    a = g.binary('Mul', 'c1_mul', a, g.constant('c1_scale', [1, 4, 4, 4], Array.from({length: 64}, (_, i) => 1 + i / 64)));
    // 2. the conv's output has two consumers
    const c2 = g.conv2d('c2', x, [1, 1, 3, 4]);
    const b = g.binary('Mul', 'c2_mul', c2, g.perChannel('c2_scale', 4, [0.5, 1.5]));
    const b2 = g.binary('AddV2', 'c2_plus', b, c2);
    // 3. a parameter that is not a constant
    const c3 = g.conv2d('c3', x, [1, 1, 3, 4]);
    const c = g.binary('Mul', 'c3_mul', c3, g.unary('Sigmoid', 'gate', g.conv2d('gate_conv', x, [1, 1, 3, 4])));
    // 4. an int constant
    const c4 = g.conv2d('c4', x, [1, 1, 3, 4]);
    const d = g.binary('AddV2', 'c4_add', c4, g.constant('c4_int', [4], [1, 2, 3, 4], 'int32'));
    // 5. a batch norm with batch statistics
    const c5 = g.conv2d('c5', x, [1, 1, 3, 4]);
    const e = g.fusedBatchNorm('c5_bn', c5, 4, {isTraining: true});
    // 6. after an activation
    const c6 = g.fusedConv2d('c6', x, [1, 1, 3, 4], ['BiasAdd', 'Relu']);
    const f = g.binary('AddV2', 'c6_add', g.binary('Mul', 'c6_mul', c6, g.perChannel('c6_scale', 4, [0.5, 1.5])),
                       g.perChannel('c6_shift', 4, [-0.5, 0.5]));
    let sum = g.binary('AddV2', 's1', a, b2);
    sum = g.binary('AddV2', 's2', sum, c);
    sum = g.binary('AddV2', 's3', sum, g.unary('Cast', 'cast', d));
    sum = g.binary('AddV2', 's4', sum, e);
    sum = g.binary('AddV2', 's5', sum, f);
    const original = g.artifacts([sum]);
    const {artifacts, report} = foldGraphModelArtifacts(original);
    expect(report.folded).toEqual([]);
    expect(report.left).toEqual([
      {node: 'c1_mul', op: 'Mul', reason: 'its constant c1_scale has shape [1, 4, 4, 4], which is not [], [4] or ' +
                                          '[1, ..., 4]: not one value per output channel'},
      {node: 'c2_mul', op: 'Mul', reason: 'its input c2 (Conv2D) cannot change: it feeds 2 nodes (c2_mul, c2_plus)'},
      {node: 'c3_mul', op: 'Mul', reason: 'its input gate is not a constant (op Sigmoid)'},
      {node: 'c4_add', op: 'AddV2', reason: 'the constant c4_int is int32, not float32'},
      {node: 'c5_bn', op: 'FusedBatchNormV3', reason: 'is_training is true: it normalizes with the statistics of each batch'},
      {node: 'c6_mul', op: 'Mul', reason: 'c6 (_FusedConv2D) already applies BiasAdd + Relu: a batch norm after an ' +
                                         'activation cannot be folded backwards'},
    ]);
    expect(JSON.stringify(artifacts.modelTopology)).toBe(JSON.stringify(original.modelTopology));
    expect(Buffer.from(artifacts.weightData as ArrayBuffer).equals(Buffer.from(original.weightData as ArrayBuffer))).toBe(true);
  });

  it('a MatMul with transpose_a is left (tfjs-backend-wasm 4.22\'s fused matMul is wrong there)', () => {
    const g = createGraph(22);
    const y = g.binary('Mul', 'bn', g.matmul('fc', g.input('x', [4, -1]), [4, 3]), g.perChannel('s', 3, [0.5, 1.5]));
    g.nodes.find((n: Node) => n.name === 'fc').attr.transpose_a = {b: true};
    expect(foldGraphModelArtifacts(g.artifacts([y])).report.left).toEqual([
      {node: 'bn', op: 'Mul', reason: 'fc (MatMul) transposes its input a: tfjs-backend-wasm 4.22\'s fused matMul ' +
                                      'with a transposed input and a bias computes wrong numbers'}]);
  });

  it('a Mul after a Relu is reported as after an activation', () => {
    const g = createGraph(12);
    let y = g.input('x', [-1, 4]);
    y = g.unary('Relu', 'relu', g.matmul('fc', y, [4, 3]));
    y = g.binary('Mul', 'bn', y, g.perChannel('s', 3, [0.5, 1.5]));
    expect(foldGraphModelArtifacts(g.artifacts([y])).report.left).toEqual([
      {node: 'bn', op: 'Mul', reason: 'it follows relu (Relu): a batch norm cannot be folded backwards through it'}]);
  });

  it('FusedBatchNorm without is_training or epsilon, or NCHW, is left', () => {
    const g = createGraph(13);
    const x = g.input('x', [-1, 4, 4, 3]);
    const a = g.fusedBatchNorm('no_training', g.conv2d('c1', x, [1, 1, 3, 2]), 2);
    delete g.nodes[g.nodes.length - 1].attr.is_training;
    const b = g.fusedBatchNorm('no_epsilon', g.conv2d('c2', x, [1, 1, 3, 2]), 2);
    delete g.nodes[g.nodes.length - 1].attr.epsilon;
    const c = g.fusedBatchNorm('nchw', g.conv2d('c3', x, [1, 1, 3, 2]), 2, {dataFormat: 'NCHW'});
    const out = g.binary('AddV2', 'sum2', g.binary('AddV2', 'sum', a, b), c);
    expect(foldGraphModelArtifacts(g.artifacts([out])).report.left.map((l) => l.reason)).toEqual([
      'it has no is_training attribute (TensorFlow\'s default is true: batch statistics)',
      'it has no epsilon attribute (TensorFlow\'s default 1e-4 and tfjs\'s 1e-3 differ)',
      'its data_format is NCHW, not NHWC',
    ]);
  });
});

describe('foldGraphModelArtifacts: weights', () => {
  function quantizedGraph(): Artifacts {
    const g = createGraph(14);
    let y = g.input('x', [-1, 6, 6, 3]);
    y = g.conv2d('conv', y, [3, 3, 3, 4]);
    y = g.binary('Mul', 'bn/mul', y, g.perChannel('bn/scale', 4, [0.5, 1.5]));
    y = g.binary('AddV2', 'bn/add', y, g.perChannel('bn/shift', 4, [-0.5, 0.5]));
    y = g.unary('Relu', 'relu', y);
    y = g.conv2d('head', y, [1, 1, 4, 2]);  // untouched
    return g.artifacts([y], {quantize: {'conv/filter': 'uint8', 'bn/scale': 'float16', 'bn/shift': 'uint16',
                                        'head/filter': 'uint8'}});
  }

  it('reads uint8, uint16 and float16 weights; writes folded weights as float32; untouched ones keep their bytes', async () => {
    const original = quantizedGraph();
    const {artifacts} = await foldAndCheck(original, [2, 6, 6, 3]);
    const specs = artifacts.weightSpecs!;
    expect(specs.map((s) => [s.name, s.dtype, s.quantization?.dtype])).toEqual([
      ['head/filter', 'float32', 'uint8'], ['conv/folded_filter', 'float32', undefined],
      ['conv/folded_bias', 'float32', undefined]]);
    const head = original.weightSpecs!.find((s) => s.name === 'head/filter');
    expect(specs[0]).toEqual(head);
    const headOffset = 3 * 3 * 3 * 4 + 2 * 4 + 2 * 4;  // conv/filter uint8, bn/scale float16, bn/shift uint16
    const originalBytes = new Uint8Array(original.weightData as ArrayBuffer).subarray(headOffset, headOffset + 8);
    expect(Array.from(new Uint8Array(artifacts.weightData as ArrayBuffer).subarray(0, 8))).toEqual(Array.from(originalBytes));
  });

  it('takes weightData as several ArrayBuffers', async () => {
    const original = quantizedGraph();
    const whole = original.weightData as ArrayBuffer;
    const split = {...original, weightData: [whole.slice(0, 50), whole.slice(50, 51), whole.slice(51)]};
    const a = foldGraphModelArtifacts(original).artifacts;
    const b = foldGraphModelArtifacts(split).artifacts;
    expect(Buffer.from(b.weightData as ArrayBuffer).equals(Buffer.from(a.weightData as ArrayBuffer))).toBe(true);
  });

  it('refuses weights that do not match the manifest, and a layers model, naming what it got', () => {
    const original = quantizedGraph();
    const before = memorySnapshot();
    const short = {...original, weightData: (original.weightData as ArrayBuffer).slice(0, 100)};
    expect(() => foldGraphModelArtifacts(short)).toThrow(
        'Error in foldGraphModelArtifacts: the weight data holds 100 bytes, but weightSpecs need more: weight ' +
        '\'conv/filter\' (uint8 [3,3,3,4]) ends at byte 108. The weights do not match the model.');
    const long = {...original, weightData: new ArrayBuffer((original.weightData as ArrayBuffer).byteLength + 4)};
    expect(() => foldGraphModelArtifacts(long)).toThrow(
        'Error in foldGraphModelArtifacts: the weight data holds 136 bytes, but weightSpecs describe 132 bytes. ' +
        'The weights do not match the model.');
    expect(() => foldGraphModelArtifacts({modelTopology: {class_name: 'Model', model_config: {}}})).toThrow(
        'Error in foldGraphModelArtifacts: artifacts.modelTopology must be a GraphDef (an object with a \'node\' ' +
        'array), but got a layers model\'s topology (use foldBatchNormalization on the loaded LayersModel).');
    expect(() => foldGraphModelArtifacts(null as unknown as Artifacts)).toThrow(
        'Error in foldGraphModelArtifacts: artifacts must be a GraphModel\'s ModelArtifacts, but got null.');
    expect(memorySnapshot()).toEqual(before);
  });
});

describe('foldGraphModelArtifacts: on wasm', () => {
  it('the fused forms it writes (every fused activation, conv, depthwise, matmul) predict like the original', async () => {
    const g = createGraph(20);
    let y = g.input('x', [-1, 6, 6, 3]);
    const bn = (name: string, t: string, c: number) => g.binary('AddV2', `${name}/add`,
        g.binary('Mul', `${name}/mul`, t, g.perChannel(`${name}/scale`, c, [0.5, 1.5])), g.perChannel(`${name}/shift`, c, [-0.5, 0.5]));
    y = g.node('LeakyRelu', 'leaky', [bn('b1', g.conv2d('c1', y, [3, 3, 3, 4]), 4)], {T: {type: 'DT_FLOAT'}, alpha: {f: 0.1}});
    y = g.binary('Prelu', 'prelu', bn('b2', g.depthwise('dw', y, [3, 3, 4, 2]), 8), g.perChannel('alpha', 8, [0.05, 0.3]));
    y = g.unary('Relu6', 'relu6', bn('b3', g.depthwise('dw2', y, [3, 3, 8, 1], {strides: 2}), 8));
    y = g.unary('Elu', 'elu', bn('b4', g.conv2d('c2', y, [1, 1, 8, 6]), 6));
    y = g.unary('Sigmoid', 'sigmoid', bn('b5', g.depthwise('dw3', y, [3, 3, 6, 1]), 6));
    y = g.node('Reshape', 'flat', [y, g.constant('flat/shape', [2], [-1, 54], 'int32')],
               {T: {type: 'DT_FLOAT'}, Tshape: {type: 'DT_INT32'}});
    y = g.unary('Relu', 'relu', bn('b6', g.matmul('fc', y, [54, 5]), 5));
    y = bn('b7', g.matmul('fc2', y, [7, 5], {transposeB: true}), 7);
    const original = g.artifacts([y]);
    const {artifacts, report} = foldGraphModelArtifacts(original);
    expect(report.fusedActivations.map((a) => a.activation)).toEqual(['LeakyRelu', 'Prelu', 'Relu6', 'Elu', 'Sigmoid', 'Relu']);
    // tfjs-backend-wasm 4.22's fused matMul with transposeB and a bias is wrong: b is written transposed.
    expect((nodeOf(artifacts, 'b7/add').attr as Record<string, unknown>).transpose_b).toEqual({b: false});
    expect(artifacts.weightSpecs!.find((w) => w.name === 'fc2/folded_filter')!.shape).toEqual([5, 7]);
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      expect(await relativeDiff(original, artifacts, [2, 6, 6, 3])).toBeLessThan(TOLERANCE);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('foldGraphModelArtifacts: the result loads in stock tfjs', () => {
  it('in a child process that imports tfjs-core, tfjs-backend-cpu and tfjs-converter only', async () => {
    const g = createGraph(15);
    let y = g.input('x', [-1, 6, 6, 3]);
    y = g.conv2d('conv', y, [3, 3, 3, 4]);
    y = g.fusedBatchNorm('bn', y, 4);
    y = g.unary('Relu6', 'relu6', y);
    y = g.depthwise('dw', y, [3, 3, 4, 1]);
    y = g.binary('Mul', 'dw_bn/mul', y, g.perChannel('dw_bn/scale', 4, [0.5, 1.5]));
    y = g.binary('AddV2', 'dw_bn/add', y, g.perChannel('dw_bn/shift', 4, [-0.5, 0.5]));
    y = g.binary('Prelu', 'prelu', y, g.perChannel('alpha', 4, [0.05, 0.3]));
    y = g.matmul('fc', g.node('Reshape', 'flat', [y, g.constant('flat/shape', [2], [-1, 144], 'int32')],
                              {T: {type: 'DT_FLOAT'}, Tshape: {type: 'DT_INT32'}}), [144, 5]);
    y = g.binary('Mul', 'fc_bn/mul', y, g.perChannel('fc_bn/scale', 5, [0.5, 1.5]));
    y = g.binary('AddV2', 'fc_bn/add', y, g.perChannel('fc_bn/shift', 5, [-0.5, 0.5]));
    const original = g.artifacts([y]);
    const {artifacts, report} = foldGraphModelArtifacts(original);
    expect(report.folded.length).toBe(3);
    const dir = makeTempDir('tfbni-graph-');
    try {
      const modelDir = path.join(dir, 'model');
      fs.mkdirSync(modelDir);
      fs.writeFileSync(path.join(modelDir, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      fs.writeFileSync(path.join(modelDir, 'model.json'), JSON.stringify({
        format: artifacts.format, modelTopology: artifacts.modelTopology, signature: artifacts.signature,
        weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
      }));
      const x = tf.randomUniform([2, 6, 6, 3], -1, 1, 'float32', 3);
      fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify({shape: x.shape, data: Array.from(x.dataSync())}));
      const out = execFileSync(process.execPath, [path.join(__dirname, 'fixtures/load_stock.js'), modelDir,
                                                  path.join(dir, 'input.json')], {encoding: 'utf8'});
      const stock = JSON.parse(out) as {shape: number[], data: number[]};
      const expected = await predict(original, x);
      x.dispose();
      expect(stock.shape).toEqual([2, 5]);
      const peak = Math.max(...Array.from(expected, Math.abs));
      stock.data.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(TOLERANCE * peak));
    } finally {
      removeDir(dir);
    }
  });
});
