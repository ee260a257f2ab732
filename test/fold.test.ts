/**
 * foldBatchNormalization: every foldable layer kind, every fusable
 * activation, channels-first, nested models and wrappers, quantized files,
 * and the cases that must not fold (with the reason the report gives).
 *
 * Tolerance: the folded model computes conv(x, W*s) + (b - mean)*s + beta in
 * float32 instead of normalizing conv(x, W) + b; the two differ by float32
 * rounding of sums of products (~1e-7 relative per term, growing with the
 * number of terms), so outputs must agree within 1e-4 of max|y| - loose
 * enough for sums of a few hundred terms, and still 100x below what a wrong
 * statistic, epsilon, channel or bias would give. Where stock tfjs computes
 * the original model wrongly (channels-first BatchNormalization on cpu), the
 * reference is the float64 formula applied to the layer's output.
 */
import * as tf from '@tensorflow/tfjs';

import {batchNormInferenceLayer, foldBatchNormalization, FoldOptions, formatFoldReport, replaceBatchNormalization, setFusedCpuEpilogue} from '../src';
import {quantizeToUint8} from './helpers/converted_files';
import {fileSystemIO, makeTempDir, removeDir} from './helpers/fs_io';
import {errorOf} from './helpers/layer_reference';
import {expectNoLeaks} from './helpers/leaks';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const {mobileNetV2, randomizeWeights, resNetBlocks} = require('../bench/model_builders.js');

type Layer = tf.layers.Layer;
const RELATIVE = 1e-4;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Input of the model's input shape (batch 2), deterministic. */
function inputFor(model: tf.LayersModel, seed = 7): tf.Tensor {
  const shape = [2, ...(model.inputs[0].shape.slice(1) as number[])];
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Asserts |actual - expected| <= 1e-4 max|expected| and the same argmax per batch item. */
function expectClose(actual: tf.Tensor, expected: tf.Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    scale = Math.max(scale, Math.abs(e[i]));
    worst = Math.max(worst, Math.abs(a[i] - e[i]));
  }
  expect(scale).toBeGreaterThan(0);
  expect(worst).toBeLessThanOrEqual(RELATIVE * scale);
  const rows = expected.shape[0];
  const argmax = (v: ArrayLike<number>) => Array.from({length: rows}, (_, r) => {
    const n = v.length / rows;
    let best = r * n;
    for (let i = r * n; i < (r + 1) * n; i++) if (v[i] > v[best]) best = i;
    return best;
  });
  expect(argmax(a)).toEqual(argmax(e));
}

/** Folds, checks outputs against the original's and for leaks; returns the result. */
function foldAndCompare(model: tf.LayersModel, options?: FoldOptions, reference?: tf.LayersModel) {
  const before = tf.memory().numTensors;
  const result = foldBatchNormalization(model, options);
  const x = inputFor(model);
  const expected = (reference ?? model).predict(x) as tf.Tensor;
  const actual = result.model.predict(x) as tf.Tensor;
  expectClose(actual, expected);
  tf.dispose([x, expected, actual]);
  expect(tf.memory().numTensors).toBe(before + result.model.weights.length);
  return result;
}

/** Class names of all layers, nested models and wrappers included. */
function classNames(model: tf.LayersModel): string[] {
  return model.layers.flatMap((l) => {
    if ('layers' in l) return classNames(l as unknown as tf.LayersModel);
    const inner = (l as Layer & {layer?: Layer}).layer;
    return [inner ? `${l.getClassName()}(${inner.getClassName()})` : l.getClassName()];
  });
}

function model(input: number[], build: (x: tf.SymbolicTensor) => tf.SymbolicTensor, seed = 1): tf.LayersModel {
  const inp = tf.input({shape: input, name: 'x'});
  const m = tf.model({inputs: inp, outputs: build(inp)});
  return randomizeWeights(tf, m, seed);
}

const bn = (args = {}) => tf.layers.batchNormalization({name: 'bn', ...args});
const apply = (layer: Layer, x: tf.SymbolicTensor) => layer.apply(x) as tf.SymbolicTensor;

describe('foldBatchNormalization: each layer kind', () => {
  const cases: Array<[string, number[], () => Layer, string]> = [
    ['Conv1D', [9, 3], () => tf.layers.conv1d({name: 'conv', filters: 4, kernelSize: 3}), 'Conv1D'],
    ['Conv2D without bias', [6, 6, 3],
     () => tf.layers.conv2d({name: 'conv', filters: 5, kernelSize: 3, useBias: false}), 'FusedConv2D'],
    ['Conv2D with bias, strides 2, same', [7, 7, 3],
     () => tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3, strides: 2, padding: 'same'}), 'FusedConv2D'],
    ['DepthwiseConv2D, depthMultiplier 2', [6, 6, 3],
     () => tf.layers.depthwiseConv2d({name: 'conv', kernelSize: 3, depthMultiplier: 2, useBias: false}),
     'FusedDepthwiseConv2D'],
    ['SeparableConv2D, depthMultiplier 2 (pointwise kernel)', [6, 6, 3],
     () => tf.layers.separableConv2d({name: 'conv', filters: 4, kernelSize: 3, depthMultiplier: 2}),
     'SeparableConv2D'],
    ['Conv2DTranspose (kernel [h, w, out, in])', [4, 4, 3],
     () => tf.layers.conv2dTranspose({name: 'conv', filters: 5, kernelSize: 3, strides: 2, padding: 'same'}),
     'Conv2DTranspose'],
    ['Dense', [6], () => tf.layers.dense({name: 'conv', units: 5}), 'FusedDense'],
    ['Dense on rank 3', [3, 6], () => tf.layers.dense({name: 'conv', units: 5, useBias: false}), 'FusedDense'],
  ];
  it.each(cases)('%s', (_, shape, make, className) => {
    const m = model(shape, (x) => apply(bn(), apply(make(), x)));
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded).toEqual([{batchNorm: 'bn', into: 'conv', className}]);
    expect(report.left).toEqual([]);
    expect(report.layersBefore).toBe(2);
    expect(report.layersAfter).toBe(1);
    expect(classNames(folded)).toEqual(['InputLayer', className]);
    folded.dispose();
    m.dispose();
  });

  it('Conv3D + BatchNormInference (rank 5, which tfjs-layers BatchNormalization cannot run)', () => {
    const m = model([3, 4, 4, 2], (x) => apply(batchNormInferenceLayer({Name: 'bn', Epsilon: 1e-5}),
        apply(tf.layers.conv3d({name: 'conv', filters: 3, kernelSize: 2}), x)));
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded).toEqual([{batchNorm: 'bn', into: 'conv', className: 'Conv3D'}]);
    folded.dispose();
    m.dispose();
  });

  it('center: false and scale: false (no beta, no gamma)', () => {
    const m = model([5, 5, 2], (x) => apply(bn({center: false, scale: false}),
        apply(tf.layers.conv2d({name: 'conv', filters: 3, kernelSize: 3}), x)));
    expect(m.getLayer('bn').weights.length).toBe(2);
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded.length).toBe(1);
    folded.dispose();
    m.dispose();
  });

  it('leaves the input model untouched and leaks nothing', async () => {
    const m = model([6, 6, 3], (x) => apply(tf.layers.reLU({name: 'relu'}),
        apply(bn(), apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x))));
    const config = JSON.stringify(m.getConfig());
    const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
    await expectNoLeaks(() => foldBatchNormalization(m).model.dispose());
    expect(JSON.stringify(m.getConfig())).toBe(config);
    expect(m.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(weights);
    m.dispose();
  });
});

describe('foldBatchNormalization: activations', () => {
  // [name, activation layer, tf.fused name, Conv2D class (default), DepthwiseConv2D class, Dense class]
  const cases: Array<[string, () => Layer, string, string, string, string]> = [
    ['ReLU', () => tf.layers.reLU({name: 'act'}), 'relu', 'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
    ['ReLU maxValue 6 (relu6)', () => tf.layers.reLU({name: 'act', maxValue: 6}), 'relu6',
     'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
    ['Activation relu6', () => tf.layers.activation({name: 'act', activation: 'relu6'}), 'relu6',
     'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
    ['Activation elu', () => tf.layers.activation({name: 'act', activation: 'elu'}), 'elu',
     'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
    ['ELU', () => tf.layers.elu({name: 'act'}), 'elu', 'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
    ['LeakyReLU alpha 0.1', () => tf.layers.leakyReLU({name: 'act', alpha: 0.1}), 'leakyrelu',
     'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
    ['Activation sigmoid', () => tf.layers.activation({name: 'act', activation: 'sigmoid'}), 'sigmoid',
     'FusedConv2D', 'FusedDepthwiseConv2D', 'FusedDense'],
  ];
  const kinds: Array<[string, number[], () => Layer, number]> = [
    ['Conv2D', [6, 6, 3], () => tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), 3],
    ['DepthwiseConv2D', [6, 6, 3], () => tf.layers.depthwiseConv2d({name: 'conv', kernelSize: 3}), 4],
    ['Dense', [7], () => tf.layers.dense({name: 'conv', units: 6}), 5],
  ];
  for (const [kind, shape, make, column] of kinds) {
    it.each(cases)(`${kind} + %s`, (...row) => {
      const [, act, fusedName] = row;
      const expectedClass = row[column] as string;
      const m = model(shape, (x) => apply(act(), apply(bn(), apply(make(), x))));
      const {model: folded, report} = foldAndCompare(m);
      expect(report.folded).toEqual([{batchNorm: 'bn', into: 'conv', className: expectedClass}]);
      expect(report.fusedActivations).toEqual([{layer: 'act', activation: fusedName, into: 'conv'}]);
      expect(classNames(folded)).toEqual(['InputLayer', expectedClass]);
      folded.dispose();
      // stockLayersOnly: tfjs-layers classes only; the activation stays a layer unless Conv2D/Dense fuse it.
      const stock = foldAndCompare(m, {stockLayersOnly: true});
      const stockFuses = kind !== 'DepthwiseConv2D' && ['relu', 'elu'].includes(fusedName);
      expect(classNames(stock.model)).toEqual(
          stockFuses ? ['InputLayer', kind] : ['InputLayer', kind, m.getLayer('act').getClassName()]);
      expect(stock.report.fusedActivations.length).toBe(stockFuses ? 1 : 0);
      expect(stock.report.keptActivations.map((a) => a.name)).toEqual(stockFuses ? [] : ['act']);
      stock.model.dispose();
      m.dispose();
    });
  }

  it('an activation without a fused kernel (tanh) stays a layer, and the report says why', () => {
    const m = model([6, 6, 3], (x) => apply(tf.layers.activation({name: 'act', activation: 'tanh'}),
        apply(bn(), apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x))));
    const {model: folded, report} = foldAndCompare(m);
    expect(classNames(folded)).toEqual(['InputLayer', 'FusedConv2D', 'Activation']);
    expect(report.keptActivations).toEqual([{name: 'act', reason: `activation 'tanh' has no fused kernel in tfjs`}]);
    folded.dispose();
    m.dispose();
  });

  it('a batch norm output that feeds two layers folds, but no activation is fused', () => {
    const m = model([6, 6, 3], (x) => {
      const y = apply(bn(), apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x));
      return tf.layers.add({name: 'add'}).apply([apply(tf.layers.reLU({name: 'act'}), y), y]) as tf.SymbolicTensor;
    });
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded.length).toBe(1);
    expect(report.fusedActivations).toEqual([]);
    expect(classNames(folded)).toEqual(['InputLayer', 'FusedConv2D', 'ReLU', 'Add']);
    folded.dispose();
    m.dispose();
  });
});

/** The float64 batch norm formula (then `post`) applied to a layer output, channel axis `axis`. */
function formula(y: tf.Tensor, axis: number, layer: Layer, epsilon: number,
                 post: (v: number) => number = (v) => v): tf.Tensor {
  const w = new Map(layer.weights.map((v) => [v.originalName.split('/').pop(), v.read().dataSync()]));
  const c = y.shape[axis]!;
  const inner = y.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const v = y.dataSync();
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const ch = Math.floor(i / inner) % c;
    const gamma = w.get('gamma')?.[ch] ?? 1;
    const beta = w.get('beta')?.[ch] ?? 0;
    out[i] = post(gamma * (v[i] - w.get('moving_mean')![ch]) /
                  Math.sqrt(w.get('moving_variance')![ch] + epsilon) + beta);
  }
  return tf.tensor(out, y.shape);
}

describe('foldBatchNormalization: channels first', () => {
  it('Conv2D(channelsFirst) + BatchNormalization(axis 1) + ReLU folds; matches the float64 formula', () => {
    const m = model([3, 6, 6], (x) => apply(tf.layers.reLU({name: 'act'}), apply(bn({axis: 1}),
        apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3, dataFormat: 'channelsFirst'}), x))));
    const {model: folded, report} = foldBatchNormalization(m);
    expect(report.folded).toEqual([{batchNorm: 'bn', into: 'conv', className: 'Conv2D'}]);
    expect(report.fusedActivations.length).toBe(1);
    const x = inputFor(m);
    const convOnly = tf.model({inputs: m.inputs, outputs: m.getLayer('conv').output as tf.SymbolicTensor});
    const y = convOnly.predict(x) as tf.Tensor;
    const expected = formula(y, 1, m.getLayer('bn'), 1e-3, (v) => Math.max(0, v));
    const actual = folded.predict(x) as tf.Tensor;
    expectClose(actual, expected);
    tf.dispose([x, y, expected, actual]);
    folded.dispose();
    m.dispose();
  });

  it('a channels-first DepthwiseConv2D keeps the tfjs-layers class (the fused layers are NHWC)', () => {
    const m = model([3, 6, 6], (x) => apply(bn({axis: 1}),
        apply(tf.layers.depthwiseConv2d({name: 'conv', kernelSize: 3, dataFormat: 'channelsFirst'}), x)));
    const {model: folded, report} = foldBatchNormalization(m);
    expect(report.folded).toEqual([{batchNorm: 'bn', into: 'conv', className: 'DepthwiseConv2D'}]);
    const x = inputFor(m);
    const convOnly = tf.model({inputs: m.inputs, outputs: m.getLayer('conv').output as tf.SymbolicTensor});
    const y = convOnly.predict(x) as tf.Tensor;
    const expected = formula(y, 1, m.getLayer('bn'), 1e-3);
    const actual = folded.predict(x) as tf.Tensor;
    expectClose(actual, expected);
    tf.dispose([x, y, expected, actual]);
    folded.dispose();
    m.dispose();
  });
});

describe('foldBatchNormalization: nested models and wrappers', () => {
  it('a Sequential and a functional model inside a functional model', () => {
    const seq = tf.sequential({name: 'inner_seq', layers: [
      tf.layers.conv2d({name: 'sconv', filters: 4, kernelSize: 3, inputShape: [6, 6, 3]}),
      tf.layers.batchNormalization({name: 'sbn'}),
      tf.layers.reLU({name: 'srelu', maxValue: 6}),
    ]});
    const fin = tf.input({shape: [4, 4, 4]});
    const fout = apply(tf.layers.batchNormalization({name: 'fbn'}),
        apply(tf.layers.depthwiseConv2d({name: 'fdw', kernelSize: 1}), fin));
    const func = tf.model({name: 'inner_func', inputs: fin, outputs: fout});
    const m = model([6, 6, 3], (x) => apply(func, apply(seq, x)), 4);
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded).toEqual([
      {batchNorm: 'inner_seq/sbn', into: 'inner_seq/sconv', className: 'FusedConv2D'},
      {batchNorm: 'inner_func/fbn', into: 'inner_func/fdw', className: 'FusedDepthwiseConv2D'},
    ]);
    expect(report.layersBefore).toBe(5);
    expect(report.layersAfter).toBe(2);
    folded.dispose();
    m.dispose();
  });

  it('TimeDistributed(Conv2D) -> TimeDistributed(BatchNormalization) -> ReLU', () => {
    const m = model([2, 5, 5, 3], (x) => apply(tf.layers.reLU({name: 'act'}),
        apply(tf.layers.timeDistributed({name: 'tbn', layer: tf.layers.batchNormalization({name: 'bn'})}),
              apply(tf.layers.timeDistributed({name: 'tconv',
                layer: tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3})}), x))));
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded).toEqual([{batchNorm: 'tbn', into: 'tconv', className: 'FusedConv2D'}]);
    expect(report.fusedActivations).toEqual([{layer: 'act', activation: 'relu', into: 'tconv'}]);
    expect(classNames(folded)).toEqual(['InputLayer', 'TimeDistributed(FusedConv2D)']);
    folded.dispose();
    m.dispose();
  });
});

describe('foldBatchNormalization: what must not fold', () => {
  /** Folds; expects no fold, the BN as BatchNormInference (or unchanged with stockLayersOnly), and `reason`. */
  function expectLeft(m: tf.LayersModel, name: string, reason: string) {
    const exact = replaceBatchNormalization(m).model;  // stock BatchNormalization is wrong off the last axis on cpu
    const {model: folded, report} = foldAndCompare(m, undefined, exact);
    exact.dispose();
    expect(report.left).toContainEqual({name, className: 'BatchNormInference', reason});
    expect(report.folded.map((f) => f.batchNorm)).not.toContain(name);
    folded.dispose();
    const stock = foldAndCompare(m, {stockLayersOnly: true});
    expect(stock.report.left).toContainEqual({name, className: m.getLayer(name).getClassName(), reason});
    stock.model.dispose();
    m.dispose();
  }

  it('a shared Conv2D (applied twice)', () => {
    const conv = tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3});
    const m = model([6, 6, 3], (x) => {
      const a = apply(bn(), apply(conv, x));
      const b = apply(tf.layers.batchNormalization({name: 'bn2'}), apply(conv, apply(tf.layers.reLU({name: 'r'}), x)));
      return tf.layers.add({name: 'add'}).apply([a, b]) as tf.SymbolicTensor;
    });
    expectLeft(m, 'bn', 'Conv2D conv is shared (applied 2 times)');
  });

  it('a Conv2D whose output also feeds another layer', () => {
    const m = model([6, 6, 3], (x) => {
      const c = apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x);
      return tf.layers.add({name: 'add'}).apply([apply(bn(), c), c]) as tf.SymbolicTensor;
    });
    expectLeft(m, 'bn', `Conv2D conv's output also feeds add`);
  });

  it('a batch norm after an Add', () => {
    const m = model([6, 6, 3], (x) => apply(bn(), tf.layers.add({name: 'add'}).apply([x, x]) as tf.SymbolicTensor));
    expectLeft(m, 'bn', 'its input is an Add (add)');
  });

  it('a batch norm on the model input', () => {
    expectLeft(model([6, 6, 3], (x) => apply(bn(), x)), 'bn', 'its input is the model input');
  });

  it('a batch norm after a Conv2D with an activation', () => {
    const m = model([6, 6, 3], (x) => apply(bn(),
        apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3, activation: 'relu'}), x)));
    expectLeft(m, 'bn', 'Conv2D conv has activation relu');
  });

  it('a batch norm over an axis that is not the channel axis', () => {
    const m = model([6, 6, 3], (x) => apply(bn({axis: 1}),
        apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3, padding: 'same'}), x)));
    expectLeft(m, 'bn', 'axis 1 is not the channel axis of conv (channelsLast)');
  });

  it('a second batch norm right after a folded one', () => {
    const m = model([6, 6, 3], (x) => apply(tf.layers.batchNormalization({name: 'bn2'}),
        apply(bn(), apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x))));
    expectLeft(m, 'bn2', 'its input conv already has bn folded into it');
  });

  it('a shared batch norm', () => {
    const shared = bn();
    const m = model([6, 6, 3], (x) => {
      const a = apply(shared, apply(tf.layers.conv2d({name: 'conv', filters: 3, kernelSize: 1}), x));
      return apply(shared, a);
    });
    expectLeft(m, 'bn', 'it is shared (applied 2 times)');
  });
});

describe('foldBatchNormalization: model files', () => {
  it('weights quantized to uint8 arrive dequantized; the folded model is float32', async () => {
    const m = model([6, 6, 3], (x) => apply(tf.layers.reLU({name: 'act', maxValue: 6}),
        apply(bn(), apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x))));
    const dir = makeTempDir();
    try {
      await m.save(fileSystemIO(dir));
      quantizeToUint8(dir);
      const loaded = await tf.loadLayersModel(fileSystemIO(dir));
      const {model: folded, report} = foldAndCompare(loaded);
      expect(report.folded.length).toBe(1);
      expect(folded.weights.every((w) => w.dtype === 'float32')).toBe(true);
      folded.dispose();
      loaded.dispose();
    } finally {
      removeDir(dir);
      m.dispose();
    }
  });

  it('the folded model saves and loads (with the package\'s classes registered)', async () => {
    const m = model([6, 6, 3], (x) => apply(tf.layers.leakyReLU({name: 'act', alpha: 0.1}),
        apply(bn(), apply(tf.layers.depthwiseConv2d({name: 'conv', kernelSize: 3}), x))));
    const {model: folded} = foldBatchNormalization(m);
    const dir = makeTempDir();
    try {
      await folded.save(fileSystemIO(dir));
      const loaded = await tf.loadLayersModel(fileSystemIO(dir));
      expect(classNames(loaded)).toEqual(['InputLayer', 'FusedDepthwiseConv2D']);
      const x = inputFor(m);
      const [a, b] = [m.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
      expectClose(b, a);
      tf.dispose([x, a, b]);
      loaded.dispose();
    } finally {
      removeDir(dir);
      folded.dispose();
      m.dispose();
    }
  });

  it('formatFoldReport lists what was folded, fused and left', () => {
    const m = model([6, 6, 3], (x) => apply(tf.layers.batchNormalization({name: 'bn2'}), apply(tf.layers.reLU({name: 'act'}),
        apply(bn(), apply(tf.layers.conv2d({name: 'conv', filters: 4, kernelSize: 3}), x)))));
    const {model: folded, report} = foldBatchNormalization(m);
    expect(formatFoldReport(report)).toBe([
      'layers: 4 -> 2', 'batch norms folded: 1', '  bn -> conv (FusedConv2D)', 'activations fused: 1',
      '  act (relu) -> conv', 'batch norms left: 1', '  bn2 (BatchNormInference): its input is a ReLU (act), fused into conv',
    ].join('\n'));
    folded.dispose();
    m.dispose();
  });
});

describe('foldBatchNormalization: errors', () => {
  const m = () => model([4], (x) => apply(bn(), apply(tf.layers.dense({name: 'conv', units: 2}), x)));

  it('a Promise: did you forget await?', () => {
    const p = Promise.resolve(1);
    expect(errorOf(() => foldBatchNormalization(p as unknown as tf.LayersModel))).toBe(
        'Error in foldBatchNormalization: model must be a tf.LayersModel, but got a Promise; did you ' +
        'forget await? (foldBatchNormalization(await tf.loadLayersModel(url))).');
  });

  it('a GraphModel', () => {
    const graph = {executeAsync: async () => null, execute: () => null};
    expect(errorOf(() => foldBatchNormalization(graph as unknown as tf.LayersModel))).toBe(
        'Error in foldBatchNormalization: model must be a tf.LayersModel (from tf.model(), tf.sequential() ' +
        'or tf.loadLayersModel()), but got a GraphModel (a GraphModel has no layers to fold: convert the ' +
        'Keras model with tensorflowjs_converter --output_format tfjs_layers_model).');
  });

  it('not a model', () => {
    expect(errorOf(() => foldBatchNormalization(3 as unknown as tf.LayersModel))).toBe(
        'Error in foldBatchNormalization: model must be a tf.LayersModel (from tf.model(), tf.sequential() ' +
        'or tf.loadLayersModel()), but got 3.');
  });

  it('bad options', async () => {
    const model = m();
    await expectNoLeaks(() => {
      expect(errorOf(() => foldBatchNormalization(model, {stockLayersOnly: 'yes'} as unknown as FoldOptions)))
          .toBe('Error in foldBatchNormalization: options.stockLayersOnly must be a boolean, but got the ' +
                'string "yes".');
      expect(errorOf(() => foldBatchNormalization(model, {stockLayers: true} as unknown as FoldOptions)))
          .toBe(`Error in foldBatchNormalization: unknown option 'stockLayers'; the option is 'stockLayersOnly'.`);
      expect(errorOf(() => foldBatchNormalization(model, 5 as unknown as FoldOptions)))
          .toBe('Error in foldBatchNormalization: options must be an object, but got 5.');
    });
    model.dispose();
  });
});

describe('foldBatchNormalization: the bench models', () => {
  it('MobileNetV2 (32x32 input): every batch norm folded, every relu6 fused, on both cpu paths', () => {
    const m = randomizeWeights(tf, mobileNetV2(tf, {size: 32, classes: 10}), 2);
    // stem + top + block 0 (no expansion: 2) + 16 blocks of 3
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded.length).toBe(52);
    expect(report.fusedActivations.length).toBe(35);
    expect(report.fusedActivations.every((a) => a.activation === 'relu6')).toBe(true);
    expect(report.left).toEqual([]);
    expect(new Set(classNames(folded))).toEqual(
        new Set(['InputLayer', 'FusedConv2D', 'FusedDepthwiseConv2D', 'Add', 'GlobalAveragePooling2D', 'Dense']));
    setFusedCpuEpilogue(false);
    try {
      const x = inputFor(m);
      const [a, b] = [m.predict(x) as tf.Tensor, folded.predict(x) as tf.Tensor];
      expectClose(b, a);
      tf.dispose([x, a, b]);
    } finally {
      setFusedCpuEpilogue(true);
    }
    folded.dispose();
    m.dispose();
  });

  it('ResNet blocks: the batch norms before each Add fold; the ReLU after the Add stays', () => {
    const m = randomizeWeights(tf, resNetBlocks(tf, {size: 8, width: 4}), 3);
    const {model: folded, report} = foldAndCompare(m);
    expect(report.folded.length).toBe(9);
    expect(report.fusedActivations.map((a) => a.layer)).toEqual(['res0_a_relu', 'res1_a_relu', 'res2_a_relu', 'res3_a_relu']);
    expect(report.left).toEqual([]);
    folded.dispose();
    m.dispose();
  });
});
