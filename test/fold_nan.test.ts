/**
 * #18 item 3 / #16 item 3: folded = original with NaN and ±Infinity, on cpu
 * and wasm in Node (the GPU backends run the same checks in
 * test/browser/harness_fold_nan.js, see test/fold_nan_browser.test.ts): the
 * biasActivation op and its cpu kernel (one pass, NaN kept through every
 * activation), the TFBNI_FUSED_CPU_EPILOGUE flag, and the audit's
 * reproductions (dense -> batchNormalization -> reLU with a NaN input; a
 * negative variance).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import {foldBatchNormalization, registerBatchNormInference} from '../src';
import {FUSED_CPU_EPILOGUE_FLAG} from '../kernels/flags';
import {BiasActivation} from '../kernels/kernel_names';
import {activationKeepingNaN, biasActivation} from '../src/ops/bias_activation';
import {errorOf} from './helpers/layer_reference';
import {expectNoLeaks, expectThrowsWithoutLeak} from './helpers/leaks';

type Layer = tf.layers.Layer;
const OP = 'Error in biasActivation:';
const KERNEL = `Error in ${BiasActivation} (cpu):`;

/** The activations in float64, as the stock layers define them (NaN in, NaN out). */
const FORMULA: Record<string, (s: number) => number> = {
  linear: (s) => s,
  relu: (s) => (Number.isNaN(s) ? s : Math.max(0, s)),
  relu6: (s) => (Number.isNaN(s) ? s : Math.min(6, Math.max(0, s))),
  elu: (s) => (Number.isNaN(s) ? s : (s < 0 ? Math.exp(s) - 1 : s)),
  leakyrelu: (s) => (s < 0 ? 0.25 * s : s),
  sigmoid: (s) => 1 / (1 + Math.exp(-s)),
};
const ACTIVATIONS = Object.keys(FORMULA) as Array<'linear'|'relu'|'relu6'|'elu'|'leakyrelu'|'sigmoid'>;
const SPECIAL = [NaN, Infinity, -Infinity, 1, -1, 7, -0.5, 0];

/** Same NaN positions, the rest within `relative` of the expected values (exact for infinities). */
function expectSameWithNaN(actual: ArrayLike<number>, expected: ArrayLike<number>, relative = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a) :
        !Number.isFinite(e) ? a === e : Math.abs(a - e) <= relative * Math.max(1, Math.abs(e));
    if (!ok) bad.push(`[${i}] got ${a}, expected ${e}`);
  }
  expect(bad).toEqual([]);
}

for (const backend of ['cpu', 'wasm']) {
  describe(`biasActivation on ${backend}: NaN stays NaN through every activation`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });

    it.each(ACTIVATIONS)('%s of [NaN, ±Inf, 1, -1, 7, -0.5, 0] + bias', async (activation) => {
      await expectNoLeaks(() => {
        const x = tf.tensor2d([...SPECIAL, ...SPECIAL], [4, 4]);
        const bias = [0, 0.5, -0.5, 0];
        const y = biasActivation(x, bias, activation, 0.25);
        expect(y.shape).toEqual([4, 4]);
        expect(y.dtype).toBe('float32');
        const xs = [...SPECIAL, ...SPECIAL];
        const expected = xs.map((v, i) => FORMULA[activation](Math.fround(v + bias[i % 4])));
        expectSameWithNaN(y.dataSync(), expected);
        tf.dispose([x, y]);
      });
    });
  });
}

describe('biasActivation errors (op and cpu kernel), leaving no tensor', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const loose = biasActivation as unknown as (...args: unknown[]) => tf.Tensor;
  const cases: Array<[string, () => unknown, string]> = [
    ['unknown activation', () => loose([[1, 2]], [0, 0], 'prelu'),
     `${OP} activation must be one of 'linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', but got the string "prelu".`],
    ['leakyreluAlpha NaN', () => loose([[1, 2]], [0, 0], 'leakyrelu', NaN),
     `${OP} leakyreluAlpha must be a finite number, but got NaN.`],
    ['bias of the wrong length', () => biasActivation([[1, 2]], [0, 0, 0], 'relu'),
     `${OP} bias must be a rank-1 tensor of length 2 (x's last dimension, x of shape [1,2]), but got shape [3].`],
    ['x a scalar', () => biasActivation(3, [0], 'relu'),
     `${OP} x must have rank >= 1, but got rank 0 (a scalar).`],
    ['kernel: bias missing', () => tf.tidy(() => tf.engine().runKernel(
         BiasActivation, {x: tf.ones([2, 2])}, {activation: 'relu', leakyreluAlpha: 0.2})),
     `${KERNEL} inputs x and bias are required.`],
    ['kernel: int32 x', () => tf.tidy(() => tf.engine().runKernel(
         BiasActivation, {x: tf.ones([2, 2], 'int32'), bias: tf.ones([2])}, {activation: 'relu', leakyreluAlpha: 0.2})),
     `${KERNEL} x must have dtype float32, but got int32.`],
    ['kernel: bias of the wrong shape', () => tf.tidy(() => tf.engine().runKernel(
         BiasActivation, {x: tf.ones([2, 2]), bias: tf.ones([2, 1])}, {activation: 'relu', leakyreluAlpha: 0.2})),
     `${KERNEL} bias must be a rank-1 tensor of length 2 (x's last dimension, x of shape [2,2]), but got shape [2,1].`],
    ['kernel: unknown activation', () => tf.tidy(() => tf.engine().runKernel(
         BiasActivation, {x: tf.ones([2, 2]), bias: tf.ones([2])}, {activation: 'swish', leakyreluAlpha: 0.2})),
     `${KERNEL} attr activation must be one of 'linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', but got the string "swish".`],
    ['kernel: leakyreluAlpha missing', () => tf.tidy(() => tf.engine().runKernel(
         BiasActivation, {x: tf.ones([2, 2]), bias: tf.ones([2])}, {activation: 'relu'})),
     `${KERNEL} attr leakyreluAlpha must be a finite number, but got undefined.`],
  ];
  it.each(cases)('%s', (_, body, message) => {
    expectThrowsWithoutLeak(body, message);
    expect(errorOf(body)).toBe(message);
  });

  it('the gradient (x and bias) on cpu equals the one through tf ops (the fallback), for every activation', async () => {
    const x = tf.tensor2d([[-2, -0.5, 0.5, 3], [5, 7, -1, 0.25]]);
    const w = tf.tensor2d([[1, -2, 3, 0.5], [-1, 2, 0.5, 4]]);
    const bias = tf.tensor1d([0.5, -0.25, 1, 2]);
    await expectNoLeaks(() => {
      for (const activation of ACTIVATIONS) {
        const f = (useKernel: boolean) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(w,
            useKernel ? biasActivation(a, b, activation, 0.25) :
                        activationKeepingNaN(tf.add(a, b), activation, 0.25))))([x, bias]);
        const [ours, ops] = [f(true), f(false)];
        for (let i = 0; i < 2; i++) expectSameWithNaN(ours[i].dataSync(), ops[i].dataSync(), 1e-6);
        tf.dispose([...ours, ...ops]);
      }
    });
    tf.dispose([x, w, bias]);
  });
});

describe('the TFBNI_FUSED_CPU_EPILOGUE flag (a tfjs env flag, replacing setFusedCpuEpilogue)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterEach(() => tf.env().set(FUSED_CPU_EPILOGUE_FLAG, true));

  it('is registered on import, default true; registering again changes nothing', () => {
    expect(FUSED_CPU_EPILOGUE_FLAG).toBe('TFBNI_FUSED_CPU_EPILOGUE');
    expect(tf.env().getFlags()[FUSED_CPU_EPILOGUE_FLAG]).toBe(true);
    tf.env().set(FUSED_CPU_EPILOGUE_FLAG, false);
    registerBatchNormInference();
    expect(tf.env().getBool(FUSED_CPU_EPILOGUE_FLAG)).toBe(false);
  });

  /** The kernels one predict of a dense -> relu6 fused layer runs. */
  async function kernelsOf(flag: boolean, training = false): Promise<string[]> {
    tf.env().set(FUSED_CPU_EPILOGUE_FLAG, flag);
    const layer = tf.sequential({layers: [
      tf.layers.dense({units: 3, inputShape: [4]}),
      tf.layers.batchNormalization(),
      tf.layers.reLU({maxValue: 6}),
    ]});
    const {model} = foldBatchNormalization(layer);
    const x = tf.ones([2, 4]);
    const info = await tf.profile(() => model.apply(x, {training}) as tf.Tensor);
    tf.dispose([x, info.result as unknown as tf.Tensor]);
    model.dispose();
    layer.dispose();
    return info.kernelNames;
  }

  it('on: the plain product and the BiasActivation kernel; off or training: tf.fused', async () => {
    expect(await kernelsOf(true)).toEqual(expect.arrayContaining(['BatchMatMul', BiasActivation]));
    expect(await kernelsOf(false)).toEqual(expect.arrayContaining(['_FusedMatMul']));
    expect(await kernelsOf(false)).not.toContain(BiasActivation);
    expect(await kernelsOf(true, true)).not.toContain(BiasActivation);
  });
});

/** A stock model and its fold, with weights set from a seed; `variance` overrides the bn's. */
function stockAndFolded(build: () => Layer[], input: number[], variance?: number[]) {
  const m = tf.sequential({layers: build()});
  m.build([null, ...input]);
  tf.tidy(() => {
    for (const layer of m.layers) {
      const ws = layer.getWeights().map((w, i) => {
        const name = layer.weights[i].originalName;
        if (name.endsWith('moving_variance')) {
          return variance ? tf.tensor1d(variance) : tf.randomUniform(w.shape, 0.5, 2, 'float32', 3 + i);
        }
        return tf.randomUniform(w.shape, -1, 1, 'float32', 11 + i);
      });
      layer.setWeights(ws);
    }
  });
  return {stock: m, folded: foldBatchNormalization(m).model};
}

/**
 * The stock model's output on cpu (whose kernels keep NaN: relu, relu6, batch
 * norm; wasm's own relu6 and batch norm turn NaN into numbers, so the stock
 * model on wasm is no reference), then the folded model's on `backend`.
 */
async function stockOnCpuFoldedOn(backend: string, stock: tf.LayersModel, folded: tf.LayersModel,
                                  x: number[][]): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend('cpu');
  const a = tf.tidy(() => (stock.predict(tf.tensor2d(x)) as tf.Tensor).dataSync() as Float32Array);
  await tf.setBackend(backend);
  const b = tf.tidy(() => (folded.predict(tf.tensor2d(x)) as tf.Tensor).dataSync() as Float32Array);
  return [a, b];
}

for (const backend of ['cpu', 'wasm']) {
  describe(`#18 reproductions on ${backend}: folded = stock with NaN, ±Inf and negative variances`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });

    it('dense -> batchNormalization -> reLU, input [[NaN, 1, 2, 3]]: stock NaN, folded NaN', async () => {
      await expectNoLeaks(async () => {
        const {stock, folded} = stockAndFolded(() => [
          tf.layers.dense({units: 3, inputShape: [4]}), tf.layers.batchNormalization(), tf.layers.reLU(),
        ], [4]);
        const x = tf.tensor2d([[NaN, 1, 2, 3]]);
        const [a, b] = [stock.predict(x) as tf.Tensor, folded.predict(x) as tf.Tensor];
        expect(Array.from(a.dataSync())).toEqual([NaN, NaN, NaN]);
        expect(Array.from(b.dataSync())).toEqual([NaN, NaN, NaN]);
        tf.dispose([x, a, b]);
        stock.dispose();
        folded.dispose();
      });
    });

    // Each activation the fold fuses, after a dense layer, on inputs with NaN and ±Inf.
    const ACTIVATION_LAYERS: Array<[string, () => Layer]> = [
      ['ReLU', () => tf.layers.reLU()],
      ['ReLU maxValue 6', () => tf.layers.reLU({maxValue: 6})],
      ['ELU', () => tf.layers.elu()],
      ['LeakyReLU', () => tf.layers.leakyReLU({alpha: 0.1})],
      ['Activation sigmoid', () => tf.layers.activation({activation: 'sigmoid'})],
      ['Activation linear', () => tf.layers.activation({activation: 'linear'})],
    ];
    it.each(ACTIVATION_LAYERS)('dense -> bn -> %s: NaN where stock (on cpu) is NaN, the rest within 1e-5', async (_, act) => {
      await expectNoLeaks(async () => {
        const {stock, folded} = stockAndFolded(() => [
          tf.layers.dense({units: 3, inputShape: [4]}), tf.layers.batchNormalization(), act(),
        ], [4]);
        expect(folded.layers.map((l) => l.getClassName())).toEqual(['FusedDense']);
        const x = [[NaN, 1, 2, 3], [1, 2, 3, 4], [Infinity, 0, 0, 0], [-Infinity, 0, 0, 0]];
        const [a, b] = await stockOnCpuFoldedOn(backend, stock, folded, x);
        expect(a.filter(Number.isNaN).length).toBeGreaterThanOrEqual(3);
        expectSameWithNaN(b, a, 1e-5);
        stock.dispose();
        folded.dispose();
      });
    });

    it.each(ACTIVATION_LAYERS)('a negative variance: stock (on cpu) NaN in that channel, folded NaN (dense -> bn -> %s)',
        async (_, act) => {
      await expectNoLeaks(async () => {
        const {stock, folded} = stockAndFolded(() => [
          tf.layers.dense({units: 3, inputShape: [4]}), tf.layers.batchNormalization(), act(),
        ], [4], [1, -2, 0.5]);
        const [a, b] = await stockOnCpuFoldedOn(backend, stock, folded, [[0.5, 1, 2, 3], [1, -2, 3, 4]]);
        expect([a[1], a[4]]).toEqual([NaN, NaN]);
        expectSameWithNaN(b, a, 1e-5);
        stock.dispose();
        folded.dispose();
      });
    });
  });
}
