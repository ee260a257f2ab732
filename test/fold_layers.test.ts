/**
 * The fused layer classes (FusedConv2D, FusedDepthwiseConv2D, FusedDense)
 * against unfused tfjs ops, their serialization and errors; and folded
 * models saved and loaded in a process that imports only stock tfjs.
 *
 * Tolerance: a fused kernel and the same ops run one by one compute the
 * same sums in float32; they may round differently only in the activation
 * (same formula, other code path), so 1e-5 * max(1, |y|) is ample.
 */
import * as tf from '@tensorflow/tfjs';
import {execFileSync, spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {foldBatchNormalization, FusedConv2D, fusedConv2d, FusedDense, fusedDense, FusedDepthwiseConv2D, fusedDepthwiseConv2d} from '../src';
import {fileSystemIO, makeTempDir, removeDir} from './helpers/fs_io';
import {closeMismatches, randomTensor} from './helpers/layer_reference';
import {expectNoLeaks, expectThrowsWithoutLeak} from './helpers/leaks';

const {mobileNetV2, randomizeWeights} = require('./helpers/model_builders.js');

const LOAD_STOCK = path.join(__dirname, 'fixtures', 'load_stock.js');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const unfused: Record<string, (y: tf.Tensor) => tf.Tensor> = {
  linear: (y) => y,
  relu: (y) => tf.relu(y),
  relu6: (y) => tf.relu6(y),
  elu: (y) => tf.elu(y),
  leakyrelu: (y) => tf.leakyRelu(y, 0.15),
  sigmoid: (y) => tf.sigmoid(y),
};

describe.each([
  ['one bias + activation pass of our own on cpu', true],
  ['tf.fused kernels', false],
])('fused layers against unfused ops (%s)', (_, epilogue) => {
  beforeAll(() => tf.env().set('TFBNI_FUSED_CPU_EPILOGUE', epilogue));
  afterAll(() => tf.env().set('TFBNI_FUSED_CPU_EPILOGUE', true));
  const activations = Object.keys(unfused) as Array<keyof typeof unfused>;

  it.each(activations)('FusedConv2D, %s (strides 2, same; dilation 2, valid)', async (activation) => {
    const x = randomTensor([2, 9, 9, 3], 1);
    for (const opts of [{strides: 2, padding: 'same' as const}, {dilationRate: 2, padding: 'valid' as const}]) {
      const layer = fusedConv2d({filters: 4, kernelSize: 3, activation: activation as never, leakyreluAlpha: 0.15, ...opts});
      tf.dispose(layer.apply(x) as tf.Tensor);  // builds it (and counts a use, for dispose())
      const w = [randomTensor([3, 3, 3, 4], 2), randomTensor([4], 3)];
      layer.setWeights(w);
      await expectNoLeaks(() => {
        const y = layer.apply(x) as tf.Tensor;
        const e = tf.tidy(() => unfused[activation](tf.add(
            tf.conv2d(x as tf.Tensor4D, w[0] as tf.Tensor4D, opts.strides ?? 1, opts.padding, 'NHWC',
                      opts.dilationRate ?? 1), w[1])));
        expect(y.shape).toEqual(layer.computeOutputShape(x.shape));
        expect(closeMismatches(y, e, 1e-5)).toEqual([]);
        tf.dispose([y, e]);
      });
      tf.dispose(w);
      layer.dispose();
    }
    x.dispose();
  });

  it.each(activations)('FusedDepthwiseConv2D, %s (multiplier 2)', async (activation) => {
    const x = randomTensor([2, 7, 7, 3], 4);
    const layer = fusedDepthwiseConv2d({kernelSize: 3, depthMultiplier: 2, padding: 'same',
                                        activation: activation as never, leakyreluAlpha: 0.15});
    tf.dispose(layer.apply(x) as tf.Tensor);  // builds it (and counts a use, for dispose())
    const w = [randomTensor([3, 3, 3, 2], 5), randomTensor([6], 6)];
    layer.setWeights(w);
    await expectNoLeaks(() => {
      const y = layer.apply(x) as tf.Tensor;
      const e = tf.tidy(() => unfused[activation](tf.add(
          tf.depthwiseConv2d(x as tf.Tensor4D, w[0] as tf.Tensor4D, 1, 'same'), w[1])));
      expect(y.shape).toEqual(layer.computeOutputShape(x.shape));
      expect(closeMismatches(y, e, 1e-5)).toEqual([]);
      tf.dispose([y, e]);
    });
    tf.dispose([x, ...w]);
    layer.dispose();
  });

  it.each(activations)('FusedDense, %s (rank 2 and rank 3 inputs)', async (activation) => {
    const layer = fusedDense({units: 4, activation: activation as never, leakyreluAlpha: 0.15});
    tf.dispose(tf.tidy(() => layer.apply(tf.zeros([1, 5])) as tf.Tensor));  // builds it
    const w = [randomTensor([5, 4], 7), randomTensor([4], 8)];
    layer.setWeights(w);
    for (const shape of [[3, 5], [2, 3, 5]]) {
      const x = randomTensor(shape, 9);
      await expectNoLeaks(() => {
        const y = layer.apply(x) as tf.Tensor;
        const e = tf.tidy(() => unfused[activation](tf.add(
            tf.reshape(tf.matMul(tf.reshape(x, [-1, 5]), w[0]), [...shape.slice(0, -1), 4]), w[1])));
        expect(y.shape).toEqual(layer.computeOutputShape(x.shape));
        expect(closeMismatches(y, e, 1e-5)).toEqual([]);
        tf.dispose([y, e]);
      });
      x.dispose();
    }
    tf.dispose(w);
    layer.dispose();
  });
});

describe('fused layers: serialization and errors', () => {
  it('class names are literals written into model files', () => {
    expect(FusedConv2D.className).toBe('FusedConv2D');
    expect(FusedDepthwiseConv2D.className).toBe('FusedDepthwiseConv2D');
    expect(FusedDense.className).toBe('FusedDense');
  });

  it('getConfig -> fromConfig gives the same layer', () => {
    const layers = [
      fusedConv2d({name: 'c', filters: 3, kernelSize: [3, 1], strides: [2, 1], padding: 'same',
                   dilationRate: 1, activation: 'leakyrelu', leakyreluAlpha: 0.1}),
      fusedDepthwiseConv2d({name: 'd', kernelSize: 3, depthMultiplier: 3, activation: 'relu6'}),
      fusedDense({name: 'f', units: 7, activation: 'sigmoid', batchInputShape: [null, 4]}),
    ];
    for (const layer of layers) {
      const config = layer.getConfig();
      const cls = layer.constructor as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>;
      const [ctor, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
      const copy = fromConfig(ctor, {...config}) as unknown as tf.layers.Layer;
      expect(copy).toBeInstanceOf(cls);
      expect(copy.getConfig()).toEqual(config);
    }
  });

  it('argument errors name the layer, the argument, what was expected and what was got', () => {
    expectThrowsWithoutLeak(() => fusedConv2d({filters: 0, kernelSize: 3}),
        'Error in FusedConv2D: filters must be a positive integer, but got 0.');
    expectThrowsWithoutLeak(() => fusedConv2d({filters: 2, kernelSize: [3] as never}),
        'Error in FusedConv2D: kernelSize must be a positive integer or a list of two, but got [3].');
    expectThrowsWithoutLeak(() => fusedConv2d({filters: 2, kernelSize: 3, padding: 'causal' as never}),
        `Error in FusedConv2D: padding must be 'same' or 'valid', but got the string "causal".`);
    expectThrowsWithoutLeak(() => fusedDepthwiseConv2d({kernelSize: 3, dataFormat: 'channelsFirst' as never}),
        `Error in FusedDepthwiseConv2D: dataFormat must be 'channelsLast', but got the string "channelsFirst".`);
    expectThrowsWithoutLeak(() => fusedDense({units: 2, activation: 'tanh' as never}),
        `Error in FusedDense: activation must be one of 'linear', 'relu', 'relu6', 'elu', 'leakyrelu', ` +
        `'sigmoid', but got the string "tanh".`);
    expectThrowsWithoutLeak(() => fusedDense({units: 2, kernelInitializer: 'zeros'} as never),
        /^Error in FusedDense: unknown argument 'kernelInitializer'; the arguments are 'units', /);
    expectThrowsWithoutLeak(() => fusedDepthwiseConv2d({kernelSize: 3, depthMultiplier: 1.5}),
        'Error in FusedDepthwiseConv2D: depthMultiplier must be a positive integer, but got 1.5.');
  });
});

describe('folded models in a process with stock tfjs only', () => {
  let dir: string;
  let model: tf.LayersModel;
  const input = {shape: [1, 32, 32, 3], data: Array.from({length: 32 * 32 * 3}, (_, i) => Math.sin(i * 0.37))};

  beforeAll(() => {
    dir = makeTempDir();
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(input));
    // A small MobileNetV2: depthwise convolutions, relu6 (which stock layers run unfused), Add.
    model = randomizeWeights(tf, mobileNetV2(tf, {size: 32, classes: 10}), 11);
  });
  afterAll(() => {
    model.dispose();
    removeDir(dir);
  });

  async function saveFolded(stockLayersOnly: boolean): Promise<string> {
    const out = path.join(dir, stockLayersOnly ? 'stock' : 'default');
    fs.mkdirSync(out);
    const {model: folded} = foldBatchNormalization(model, {stockLayersOnly});
    await folded.save(fileSystemIO(out));
    folded.dispose();
    return out;
  }

  it('stockLayersOnly: loads and predicts as the original', async () => {
    const out = await saveFolded(true);
    const y = JSON.parse(execFileSync(process.execPath, [LOAD_STOCK, out, path.join(dir, 'input.json')],
                                      {encoding: 'utf8'}));
    const x = tf.tensor(input.data, input.shape);
    const e = model.predict(x) as tf.Tensor;
    const max = Math.max(...Array.from(e.dataSync(), Math.abs));
    expect(y.shape).toEqual(e.shape);
    y.data.forEach((v: number, i: number) => expect(Math.abs(v - e.dataSync()[i])).toBeLessThanOrEqual(1e-4 * max));
    tf.dispose([x, e]);
  });

  it('the default (with this package\'s classes) does not load without the package, and says which class', async () => {
    const m = randomizeWeights(tf, tf.sequential({layers: [
      tf.layers.conv2d({filters: 4, kernelSize: 3, inputShape: [32, 32, 3], useBias: false}),
      tf.layers.batchNormalization(), tf.layers.reLU({maxValue: 6})]}), 3);
    const out = path.join(dir, 'relu6');
    fs.mkdirSync(out);
    const {model: folded, report} = foldBatchNormalization(m);
    expect(report.folded[0].className).toBe('FusedConv2D');
    await folded.save(fileSystemIO(out));
    folded.dispose();
    m.dispose();
    const run = spawnSync(process.execPath, [LOAD_STOCK, out, path.join(dir, 'input.json')], {encoding: 'utf8'});
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Unknown layer: FusedConv2D/);
  });
});
