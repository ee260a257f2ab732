/**
 * FusedBatchNorm / V2 / V3 in GraphModels, executed by this package's op once
 * it is imported (src/ops/fused_batch_norm_graph_op.ts), on cpu and wasm: NHWC and NCHW,
 * is_training false (the node's statistics) and true (the batch's, variance
 * divided by N), against a float64 reference; the TFBNI_GRAPH_FUSED_BATCH_NORM
 * flag turns it off (tfjs-converter's own mapping, which ignores data_format,
 * is used again); nothing is left allocated; errors name the op.
 *
 * Tolerance: |y - ref| <= 1e-5 * max|ref| (float32 arithmetic, and float32
 * moments for is_training true, against float64).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import '../src';

import {GRAPH_FUSED_BATCH_NORM_FLAG} from '../kernels/flags';
import {trainingForward64} from './helpers/batch_moments';
import {expectPrintsNothing} from './helpers/leaks';
import {referenceBatchNorm} from './helpers/reference';

const {createGraph} = require('./fixtures/graph/graph_builder.js');

const TOLERANCE = 1e-5;

interface Case {op: string, dataFormat: 'NHWC'|'NCHW', isTraining: boolean}

function batchNormGraph({op, dataFormat, isTraining}: Case, shape: number[], epsilon = 1e-3) {
  const g = createGraph(31);
  const x = g.input('x', [-1, ...shape.slice(1)]);
  const channels = dataFormat === 'NHWC' ? shape[3] : shape[1];
  const y = g.fusedBatchNorm('bn', x, channels, {op, dataFormat, isTraining, epsilon});
  const params = Object.fromEntries(g.weights.map((w: {name: string, values: Float32Array}) =>
                                                      [w.name.split('/')[1], w.values]));
  return {artifacts: g.artifacts([y]), params, axis: dataFormat === 'NHWC' ? 3 : 1, epsilon};
}

function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>) {
  const peak = Math.max(...Array.from(ref, Math.abs));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  expect(worst).toBeLessThanOrEqual(TOLERANCE * peak);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tf.tensor(0).dispose();
});

describe('FusedBatchNorm* in a GraphModel, executed by batchNormInference', () => {
  const cases: Case[] = [];
  for (const op of ['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3']) {
    for (const dataFormat of ['NHWC', 'NCHW'] as const) {
      for (const isTraining of [false, true]) cases.push({op, dataFormat, isTraining});
    }
  }

  const backendCases = ['cpu', 'wasm'].flatMap((backend) => cases.map((c) => ({backend, ...c})));
  it.each(backendCases)('%j predicts like the float64 reference and frees its intermediates', async (c) => {
    expect(await tf.setBackend(c.backend)).toBe(true);
    const shape = c.dataFormat === 'NHWC' ? [2, 3, 5, 4] : [2, 4, 3, 5];
    const {artifacts, params, axis, epsilon} = batchNormGraph(c, shape);
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const x = tf.randomUniform(shape, -2, 3, 'float32', 11);
    const xs = x.dataSync();
    const before = tf.memory().numTensors;
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual(shape);
    const got = y.dataSync();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const ref = c.isTraining ?
        trainingForward64(xs, shape, axis, params.gamma, params.beta, epsilon).y :
        referenceBatchNorm({shape, axis, epsilon, x: xs, gamma: params.gamma, beta: params.beta,
                            mean: params.mean, variance: params.variance});
    expectClose(got, ref);
    x.dispose();
    model.dispose();
    await tf.setBackend('cpu');
  });

  it('the flag turns it off (tfjs-converter\'s mapping again, for models loaded afterwards) and on', async () => {
    const c: Case = {op: 'FusedBatchNormV3', dataFormat: 'NCHW', isTraining: false};
    const shape = [1, 4, 3, 5];
    const {artifacts} = batchNormGraph(c, shape);
    const x = tf.randomUniform(shape, -2, 3, 'float32', 12);
    const ours = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    expect(tf.env().getBool(GRAPH_FUSED_BATCH_NORM_FLAG)).toBe(true);
    await expectPrintsNothing(() => tf.env().set(GRAPH_FUSED_BATCH_NORM_FLAG, false));
    let y0: tf.Tensor;
    try {
      const stock = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
      y0 = stock.predict(x) as tf.Tensor;
      stock.dispose();
    } finally {
      tf.env().set(GRAPH_FUSED_BATCH_NORM_FLAG, true);
    }
    const again = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const [y1, y2] = [ours.predict(x), again.predict(x)] as tf.Tensor[];
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    // tfjs's cpu batchNorm reads the [4] statistics along the last axis (5 long) instead of
    // axis 1: other numbers.
    const diff = tf.max(tf.abs(tf.sub(y0, y1)));
    expect(diff.dataSync()[0]).toBeGreaterThan(0.1);
    tf.dispose([x, y0, y1, y2, diff]);
    ours.dispose();
    again.dispose();
  });

  it('names the op, the attribute, what was expected and what was got; leaks nothing', async () => {
    const {artifacts} = batchNormGraph({op: 'FusedBatchNormV3', dataFormat: 'NHWC', isTraining: false}, [1, 2, 2, 3]);
    const bn = (artifacts.modelTopology as {node: Array<{name: string, attr: Record<string, unknown>}>}).node
        .find((n) => n.name === 'bn')!;
    bn.attr.data_format = {s: Buffer.from('NCDHW').toString('base64')};
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const x = tf.ones([1, 2, 2, 3]);
    const before = tf.memory().numTensors;
    expect(() => model.predict(x)).toThrow(
        'Error in FusedBatchNormV3: data_format must be NHWC or NCHW for a rank 4 x, but got \'NCDHW\'.');
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});
