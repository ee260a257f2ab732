/**
 * BatchNormInference on the wasm backend (@tensorflow/tfjs-backend-wasm) in
 * Node: the shared cases against the float64 formula, the kernel's error
 * messages, tensors and heap bytes not leaked, x and y never copied out of
 * the heap, the gradient, a layer model, and registration without loading
 * the wasm package.
 *
 * Exact: every element must be the float32 nearest to the exact formula
 * (test/helpers/exact.ts, integer arithmetic), bit for bit, as the kernel
 * guarantees (kernels/shared/rounded_batch_norm.ts); where a test computes
 * its expectation with the float64 formula instead (compareWithReference),
 * profile 'cpu' of test/helpers/reference.ts applies (half an ulp of float32
 * plus 2^-50 of the terms), a consequence of the exact result.
 */
import {spawnSync} from 'child_process';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {BatchNormInference, batchNormInference, batchNormInferenceLayer} from '../src';
import {wasmHeap} from '../kernels/wasm/wasm_heap';
import {loadCases} from './helpers/cases';
import {exactBatchNorm, firstBitDifference} from './helpers/exact';
import {fuzzCases} from './helpers/fuzz';
import {formulaMismatches, statisticsOf} from './helpers/layer_reference';
import {expectNoLeaks, expectThrowsWithoutLeak} from './helpers/leaks';
import {compareWithReference} from './helpers/reference';
import {runCase} from './helpers/run_case';

const ROOT = path.join(__dirname, '..');

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});

function wasmBackend(): BackendWasm {
  return tf.backend() as BackendWasm;
}

describe('batchNormInference on wasm: the shared cases, exactly', () => {
  for (const c of loadCases()) {
    it(c.name, async () => {
      expect(tf.getBackend()).toBe('wasm');
      await expectNoLeaks(() => {
        const actual = runCase(c);
        expect(firstBitDifference(actual, exactBatchNorm(c))).toBeNull();
        if (c.expected) expect(Array.from(actual)).toEqual(c.expected);
      });
    });
  }
});

describe('batchNormInference on wasm: seeded fuzz cases (every rank and axis, special values), exactly', () => {
  it('300 cases', async () => {
    await expectNoLeaks(() => {
      for (const c of fuzzCases(20261201, 300)) {
        const x = tf.tensor(c.x, c.shape, 'float32');
        const y = batchNormInference(x, c.gamma, c.beta, c.mean, c.variance,
                                     {epsilon: c.epsilon, axis: c.axis});
        const actual = y.dataSync();
        tf.dispose([x, y]);
        expect({id: c.id, difference: firstBitDifference(actual, exactBatchNorm(c))})
            .toEqual({id: c.id, difference: null});
      }
    });
  });
});

describe('the wasm kernel run directly', () => {
  const KERNEL = 'Error in BatchNormInference (wasm):';
  let t: Record<'x'|'x1'|'xInt'|'c3'|'c2'|'c3Int', tf.Tensor>;
  beforeAll(() => {
    t = {
      x: tf.ones([2, 3, 4]),
      x1: tf.ones([3]),
      xInt: tf.ones([2, 3], 'int32'),
      c3: tf.ones([3]),
      c2: tf.ones([2]),
      c3Int: tf.ones([3], 'int32'),
    };
  });
  afterAll(() => tf.dispose(Object.values(t)));

  const run = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => () =>
      tf.engine().runKernel(BatchNormInference, inputs, attrs as tf.NamedAttrMap);
  const stats = (c: tf.Tensor) => ({gamma: c, beta: c, mean: c, variance: c});
  const cases: Array<[string, () => ReturnType<ReturnType<typeof run>>, string]> = [
    ['missing inputs', () => run({x: t.x}, {epsilon: 1e-3, axis: 1})(),
     `${KERNEL} inputs x, gamma, beta, mean, variance are required, but gamma, beta, mean, ` +
     `variance are missing.`],
    ['int32 x', () => run({x: t.xInt, ...stats(t.c3)}, {epsilon: 1e-3, axis: 1})(),
     `${KERNEL} x must have dtype float32, but got int32.`],
    ['int32 gamma', () => run({x: t.x, ...stats(t.c3), gamma: t.c3Int}, {epsilon: 1e-3, axis: 1})(),
     `${KERNEL} gamma must have dtype float32, but got int32.`],
    ['x of rank 1', () => run({x: t.x1, ...stats(t.c3)}, {epsilon: 1e-3, axis: 0})(),
     `${KERNEL} x must have rank >= 2 (a batch axis and a channel axis at least), but got ` +
     `rank 1 (shape [3]).`],
    ['epsilon 0', () => run({x: t.x, ...stats(t.c3)}, {epsilon: 0, axis: 1})(),
     `${KERNEL} attr epsilon must be a finite number > 0, but got 0.`],
    ['epsilon missing', () => run({x: t.x, ...stats(t.c3)}, {axis: 1})(),
     `${KERNEL} attr epsilon is required (BatchNormInference-1 has no default), but got undefined.`],
    ['axis out of range', () => run({x: t.x, ...stats(t.c3)}, {epsilon: 1e-3, axis: 3})(),
     `${KERNEL} attr axis must be an integer in [-3, 2] for x of rank 3, but got 3.`],
    ['statistics of the wrong length', () => run({x: t.x, ...stats(t.c2)}, {epsilon: 1e-3, axis: 1})(),
     `${KERNEL} gamma must be a rank-1 tensor of length 3 (x.shape[1]), but got shape [2].`],
  ];
  for (const [name, call, message] of cases) {
    it(`throws for ${name}, naming the kernel and the backend, and leaks nothing`, () => {
      const backend = wasmBackend();
      const dataIds = backend.numDataIds();
      expectThrowsWithoutLeak(call, message);
      expect(backend.numDataIds()).toBe(dataIds);
    });
  }

  it('accepts a negative axis', async () => {
    await expectNoLeaks(() => {
      const c = loadCases((s) => s.xShape.length === 4)[0];
      const x = tf.tensor(c.x, c.shape);
      const p = [c.gamma, c.beta, c.mean, c.variance].map((a) => tf.tensor1d(a));
      const axis = c.axis - c.shape.length;
      const y = run({x, gamma: p[0], beta: p[1], mean: p[2], variance: p[3]},
                    {epsilon: c.epsilon, axis})() as tf.Tensor;
      expect(compareWithReference(y.dataSync(), c, 'cpu')).toEqual([]);
      tf.dispose([x, y, ...p]);
    });
  });

  it('reads x and writes y in the heap: no read out of the backend, one allocation (y)', async () => {
    const backend = wasmBackend();
    const x = tf.randomUniform([4, 8, 8, 16], -3, 3, 'float32', 1);
    const p = [1, 2, 3, 4].map((seed) => tf.randomUniform([16], 0.5, 2, 'float32', seed));
    const readSync = jest.spyOn(backend, 'readSync');
    const read = jest.spyOn(backend, 'read');
    const write = jest.spyOn(backend, 'write');
    let y: tf.Tensor;
    try {
      y = batchNormInference(x, p[0], p[1], p[2], p[3], {epsilon: 1e-3, axis: -1});
      expect(readSync).not.toHaveBeenCalled();
      expect(read).not.toHaveBeenCalled();
      expect(write).toHaveBeenCalledTimes(1);
    } finally {
      readSync.mockRestore();
      read.mockRestore();
      write.mockRestore();
    }
    const values = await y.data();
    const [gamma, beta, mean, variance] = await Promise.all(p.map((q) => q.data()));
    const data = {
      shape: x.shape, axis: 3, epsilon: 1e-3, x: await x.data(), gamma, beta, mean, variance,
    };
    expect(compareWithReference(values, data, 'cpu')).toEqual([]);
    tf.dispose([x, y, ...p]);
  });

  it('gives an empty tensor for zero-size x', async () => {
    await expectNoLeaks(() => {
      const x = tf.zeros([0, 3, 2]);
      const y = batchNormInference(x, [1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1], 1e-3);
      expect(y.shape).toEqual([0, 3, 2]);
      expect(y.dataSync().length).toBe(0);
      tf.dispose([x, y]);
    });
  });
});

describe('memory', () => {
  it('leaves no tensor and no heap bytes behind across many calls', async () => {
    const backend = wasmBackend();
    const heap = wasmHeap(backend);
    // 4 MiB per call: 40 leaked outputs would grow the heap by 160 MiB.
    const x = tf.randomUniform([1, 64, 64, 256], -3, 3, 'float32', 3);
    const p = [5, 6, 7, 8].map((seed) => tf.randomUniform([256], 0.5, 2, 'float32', seed));
    const once = () =>
        batchNormInference(x, p[0], p[1], p[2], p[3], {epsilon: 1e-3, axis: -1}).dispose();
    once();
    const heapBytes = heap.buffer().byteLength;
    const dataIds = backend.numDataIds();
    await expectNoLeaks(() => {
      for (let i = 0; i < 40; i++) once();
    });
    expect(heap.buffer().byteLength).toBe(heapBytes);
    expect(backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, ...p]);
  });

  it('is right when allocating the output grows the heap', async () => {
    const heap = wasmHeap(wasmBackend());
    // x as large as the whole heap was: once x is in, y cannot fit in what
    // is left (emscripten grows the heap to about what is asked).
    const shape = [heap.buffer().byteLength / 16, 4];
    const f32 = (a: number[]) => Float32Array.from(a);
    const c = {
      shape, axis: 1, epsilon: 1e-3, gamma: f32([1.5, -2, 0.5, 1]), beta: f32([0.25, 1, -1, 0]),
      mean: f32([1, -1, 0.5, 2]), variance: f32([0.5, 2, 1, 0.1]),
    };
    const x = tf.randomUniform(shape, -4, 4, 'float32', 9);
    const withX = heap.buffer().byteLength;
    const y = batchNormInference(x, c.gamma, c.beta, c.mean, c.variance, {epsilon: 1e-3});
    expect(heap.buffer().byteLength).toBeGreaterThan(withX);
    const data = {...c, x: x.dataSync()};
    expect(compareWithReference(y.dataSync(), data, 'cpu')).toEqual([]);
    tf.dispose([x, y]);
  });
});

describe('gradient and layers on wasm', () => {
  it('tf.grads through the op gives the cpu backend\'s gradients', async () => {
    const shape = [2, 3, 4, 5];
    const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) =>
        tf.sum(tf.mul(batchNormInference(x, g, b, m, v, {epsilon: 1e-2, axis: 1}),
                      tf.linspace(-1, 1, 120).reshape(shape)));
    const gradsOn = async (backend: string) => {
      await tf.setBackend(backend);
      return expectNoLeaks(async () => {
        const inputs = [
          tf.randomUniform(shape, -3, 3, 'float32', 11),
          ...[12, 13, 14].map((s) => tf.randomUniform([3], -2, 2, 'float32', s)),
          tf.randomUniform([3], 0.1, 2, 'float32', 15),
        ];
        const gs = tf.grads(f)(inputs);
        const values = await Promise.all(gs.map((g) => g.data()));
        tf.dispose([...inputs, ...gs]);
        return values;
      });
    };
    const onCpu = await gradsOn('cpu');
    const onWasm = await gradsOn('wasm');
    // Both backends evaluate the gradient with the same float32 tfjs ops;
    // only the order of the float32 sums over 40 elements per channel can
    // differ: a few ulps of the largest summand, far under 1e-4 of these
    // values (|summands| <= 3 * 2 * 1 / sqrt(0.11)).
    onWasm.forEach((g, k) => {
      expect(g.length).toBe(onCpu[k].length);
      g.forEach((v, i) => expect(Math.abs(v - onCpu[k][i])).toBeLessThanOrEqual(1e-4));
    });
  });

  it('a tf.sequential model with the layer predicts the formula, and what the cpu backend predicts', async () => {
    const layer = batchNormInferenceLayer({
      inputShape: [6, 6, 3], TrainedMean: [0.5, -1, 2], TrainedVariance: [4, 0.25, 1e-3],
      Scale: [1.5, -0.5, 2], Offset: [0.1, 0.2, -0.3], Epsilon: 1e-3,
    });
    const model = tf.sequential({layers: [layer]});
    const predictOn = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.randomUniform([2, 6, 6, 3], -4, 4, 'float32', 21);
      const y = model.predict(x) as tf.Tensor;
      expect(formulaMismatches(y, x, -1, statisticsOf(layer))).toEqual([]);
      const values = await y.data();
      tf.dispose([x, y]);
      return values;
    };
    const onCpu = await predictOn('cpu');
    const onWasm = await expectNoLeaks(() => predictOn('wasm'));
    // Both kernels give the float32 nearest to the exact formula.
    expect(firstBitDifference(onWasm, onCpu)).toBeNull();
    model.dispose();
  });
});

describe('registration', () => {
  it('registers the wasm kernel on import', () => {
    expect(tf.getKernel(BatchNormInference, 'wasm')).toBeDefined();
  });

  it('importing the built package in Node does not load @tensorflow/tfjs-backend-wasm', () => {
    // `npm test` builds dist/ first.
    const script = `require('@tensorflow/tfjs-core');
      const b = require('./dist/index.cjs');
      const tf = require('@tensorflow/tfjs-core');
      if (tf.getKernel(b.BatchNormInference, 'wasm') == null) throw new Error('wasm kernel missing');
      const loaded = Object.keys(require.cache).filter((f) => f.includes('tfjs-backend-wasm'));
      if (loaded.length > 0) throw new Error('loaded ' + loaded.join(', '));`;
    const r = spawnSync(process.execPath, ['-e', script], {cwd: ROOT, encoding: 'utf8'});
    expect({status: r.status, stdout: r.stdout, stderr: r.stderr})
        .toEqual({status: 0, stdout: '', stderr: ''});
  });
});
