/**
 * The batchNormInference op and its cpu kernel: the shared cases against the
 * float64 reference, tensor-like inputs, dtypes, every error message,
 * zero-size and special values, leaks, registration.
 */
import * as tf from '@tensorflow/tfjs';

import {BatchNormInference, batchNormInference, registerBatchNormInference, version} from '../src';
import {bundleSync} from './helpers/bundle';
import {loadCases} from './helpers/cases';
import {errorOf, expectNoLeaks, expectPrintsNothing, expectThrowsWithoutLeak} from './helpers/leaks';
import {compareWithReference, referenceBatchNorm} from './helpers/reference';
import {tensorOfAnotherEngine} from './helpers/foreign_engine';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const OP = 'Error in batchNormInference:';

// The cpu kernel has two bit-identical implementations of its loop: the
// WebAssembly SIMD module (the default where it applies, see
// kernels/cpu/BatchNormInference.ts) and the JS loops; the TFBNI_CPU_WASM flag
// chooses. The shared cases run both ways (test/cpu.test.ts also forces
// every case through each SIMD loop, tiny ones included).
for (const wasm of [true, false]) {
  const path = wasm ? '' : ' (TFBNI_CPU_WASM off: JS loops only)';
  describe(`batchNormInference on cpu${path}: the shared cases against the float64 formula`, () => {
    beforeAll(() => tf.env().set('TFBNI_CPU_WASM', wasm));
    afterAll(() => tf.env().set('TFBNI_CPU_WASM', true));
    // Tolerance profile 'cpu' (test/helpers/reference.ts): half an ulp of
    // float32 plus 2^-50 of the terms, since the kernel rounds a float64 result
    // once. Hand-written expectations ('expected') must match exactly.
    for (const c of loadCases()) {
      it(c.name, async () => {
        await expectNoLeaks(() => {
          const options = c.axisArg === undefined ? {epsilon: c.epsilon} :
                                                    {epsilon: c.epsilon, axis: c.axisArg};
          const x = tf.tensor(c.x, c.shape);
          const y = batchNormInference(x, c.gamma, c.beta, c.mean, c.variance, options);
          expect(y.shape).toEqual(c.shape);
          expect(y.dtype).toBe('float32');
          const actual = y.dataSync();
          tf.dispose([x, y]);
          expect(compareWithReference(actual, c, 'cpu')).toEqual([]);
          if (c.expected) expect(Array.from(actual)).toEqual(c.expected);
        });
      });
    }
  });
}

describe('batchNormInference inputs', () => {
  const gamma = [1, 2];
  const beta = [0.5, -0.5];
  const mean = [1, 3];
  const variance = [4, 0.25];
  const epsilon = 1e-3;
  const x2d = [[1, 2], [3, 4], [5, 6]];
  const data = {
    shape: [3, 2], axis: 1, epsilon, x: x2d.flat(), gamma, beta, mean, variance,
  };

  it('accepts nested arrays, typed arrays (Float64Array too) and tensors alike', async () => {
    await expectNoLeaks(() => {
      const fromArrays = batchNormInference(x2d, gamma, beta, mean, variance, {epsilon});
      const xTyped = tf.tensor2d(new Float32Array(x2d.flat()), [3, 2]);
      const fromTyped = batchNormInference(
          xTyped, new Float32Array(gamma),
          Float32Array.from(beta), new Float64Array(mean), new Float32Array(variance),
          {epsilon});
      const t = [gamma, beta, mean, variance].map((a) => tf.tensor1d(a));
      const xt = tf.tensor2d(x2d);
      const fromTensors = batchNormInference(xt, t[0], t[1], t[2], t[3], {epsilon});
      for (const y of [fromArrays, fromTyped, fromTensors]) {
        expect(compareWithReference(y.dataSync(), data, 'cpu')).toEqual([]);
      }
      tf.dispose([fromArrays, fromTyped, fromTensors, xTyped, xt, ...t]);
    });
  });

  it('accepts arrays of typed arrays, and NaN and +-Infinity leaves (IEEE results)', async () => {
    await expectNoLeaks(() => {
      const rows = x2d.map((r) => Float64Array.from(r));
      const y = batchNormInference(rows, gamma, beta, mean, variance, {epsilon});
      expect(compareWithReference(y.dataSync(), data, 'cpu')).toEqual([]);
      const special = [[NaN, Infinity], [-Infinity, 0]];
      const z = batchNormInference(special, gamma, beta, mean, variance, {epsilon});
      const d = {...data, shape: [2, 2], x: special.flat()};
      expect(compareWithReference(z.dataSync(), d, 'cpu')).toEqual([]);
      expect(Number.isNaN(z.dataSync()[0])).toBe(true);
      tf.dispose([y, z]);
    });
  });

  it('takes epsilon as a bare number (axis then defaults to 1)', async () => {
    await expectNoLeaks(() => {
      const y = batchNormInference(x2d, gamma, beta, mean, variance, epsilon);
      expect(compareWithReference(y.dataSync(), data, 'cpu')).toEqual([]);
      y.dispose();
    });
  });

  it('casts int32 inputs to float32 and returns float32', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32');
      const g = tf.tensor1d([1, 2], 'int32');
      const y = batchNormInference(x, g, Int32Array.from([0, 1]), [1, 3], [4, 1], {epsilon: 1});
      expect(y.dtype).toBe('float32');
      const ref = referenceBatchNorm({
        shape: [3, 2], axis: 1, epsilon: 1, x: [1, 2, 3, 4, 5, 6], gamma: [1, 2], beta: [0, 1],
        mean: [1, 3], variance: [4, 1],
      });
      expect(Array.from(y.dataSync())).toEqual(Array.from(ref, Math.fround));
      tf.dispose([x, g, y]);
    });
  });

  it('does not dispose or change the tensors it is given', async () => {
    const x = tf.tensor2d(x2d);
    const g = tf.tensor1d(gamma);
    await expectNoLeaks(() => batchNormInference(x, g, beta, mean, variance, epsilon).dispose());
    expect(x.isDisposed).toBe(false);
    expect(g.isDisposed).toBe(false);
    expect(x.arraySync()).toEqual(x2d);
    tf.dispose([x, g]);
  });

  it('gives an empty tensor of x\'s shape for zero-size x', async () => {
    await expectNoLeaks(() => {
      const x = tf.zeros([0, 2, 5]);
      const y = batchNormInference(x, gamma, beta, mean, variance, {epsilon});
      expect(y.shape).toEqual([0, 2, 5]);
      expect(y.size).toBe(0);
      tf.dispose([x, y]);
    });
  });

  it('works inside tf.tidy and leaves only its result', () => {
    const y = tf.tidy(() => batchNormInference(x2d, gamma, beta, mean, variance, epsilon));
    expect(y.shape).toEqual([3, 2]);
    y.dispose();
  });

  it('the kernel accepts a negative axis when run directly', async () => {
    await expectNoLeaks(() => {
      const t = [x2d, gamma, beta, mean, variance].map((a) => tf.tensor(a));
      const y = tf.engine().runKernel(
          BatchNormInference, {x: t[0], gamma: t[1], beta: t[2], mean: t[3], variance: t[4]},
          {epsilon, axis: -1}) as tf.Tensor;
      expect(compareWithReference(y.dataSync(), data, 'cpu')).toEqual([]);
      tf.dispose([y, ...t]);
    });
  });

  it('the kernel names a missing input when run directly', async () => {
    await expectNoLeaks(() => {
      const x = tf.tensor(x2d);
      expect(() => tf.engine().runKernel(BatchNormInference, {x}, {epsilon, axis: 1}))
          .toThrow('Error in BatchNormInference (cpu): inputs x, gamma, beta, mean, variance ' +
                   'are required, but gamma, beta, mean, variance are missing.');
      x.dispose();
    });
  });
});

describe('batchNormInference errors name the op, the argument, what was expected and what was got', () => {
  const g3 = [1, 1, 1];
  const z3 = [0, 0, 0];
  const v3 = [1, 1, 1];
  // Tensors the calls use are made once, so each check sees exactly what the
  // op allocates (arguments given as arrays are converted inside the op and
  // must be freed when it throws).
  let f: Record<'x'|'xBool'|'xNoChannels'|'xNhwc'|'gammaString'|'meanComplex'|'disposed'|'foreign',
                tf.Tensor>;
  beforeAll(() => {
    f = {
      x: tf.ones([2, 3, 4]),
      xBool: tf.ones([2, 3], 'bool'),
      xNoChannels: tf.ones([2, 0, 3]),
      xNhwc: tf.ones([1, 2, 2, 3]),
      gammaString: tf.tensor(['a', 'b', 'c']),
      meanComplex: tf.complex(z3, z3),
      disposed: tf.ones([2, 3]),
      foreign: tensorOfAnotherEngine([2, 3]),
    };
    f.disposed.dispose();
  });
  afterAll(() => tf.dispose(Object.values(f)));

  const loose = batchNormInference as unknown as (...args: unknown[]) => tf.Tensor;
  const cases: Array<[string, () => unknown, string]> = [
    ['x of rank 1', () => batchNormInference([1, 2, 3], g3, z3, z3, v3, {epsilon: 1e-3}),
     `${OP} x must have rank >= 2 (a batch axis and a channel axis at least), but got rank 1 (shape [3]).`],
    ['x a scalar', () => batchNormInference(5, g3, z3, z3, v3, {epsilon: 1e-3}),
     `${OP} x must have rank >= 2 (a batch axis and a channel axis at least), but got rank 0 (shape []).`],
    ['axis too large', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: 1e-3, axis: 3}),
     `${OP} axis must be an integer in [-3, 2] for x of rank 3, but got 3.`],
    ['axis too small', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: 1e-3, axis: -4}),
     `${OP} axis must be an integer in [-3, 2] for x of rank 3, but got -4.`],
    ['axis not an integer', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: 1e-3, axis: 1.5}),
     `${OP} axis must be an integer in [-3, 2] for x of rank 3, but got 1.5.`],
    ['axis a string', () => loose(f.x, g3, z3, z3, v3, {epsilon: 1e-3, axis: '1'}),
     `${OP} axis must be an integer in [-3, 2] for x of rank 3, but got the string "1".`],
    ['gamma too short', () => batchNormInference(f.x, [1, 1], z3, z3, v3, {epsilon: 1e-3}),
     `${OP} gamma must be a rank-1 tensor of length 3 (x.shape[1], with the default axis 1), but got shape [2].`],
    ['beta of rank 2 with the right size', () => batchNormInference(f.x, g3, [z3], z3, v3, {epsilon: 1e-3}),
     `${OP} beta must be a rank-1 tensor of length 3 (x.shape[1], with the default axis 1), but got shape [1,3] (reshape it to [3]).`],
    ['mean a scalar', () => batchNormInference(f.x, g3, z3, 0, v3, {epsilon: 1e-3}),
     `${OP} mean must be a rank-1 tensor of length 3 (x.shape[1], with the default axis 1), but got shape [].`],
    ['variance too long', () => batchNormInference(f.x, g3, z3, z3, [1, 1, 1, 1, 1], {epsilon: 1e-3, axis: 1}),
     `${OP} variance must be a rank-1 tensor of length 3 (x.shape[1]), but got shape [5].`],
    ['channels-last statistics with the default axis: says to pass axis -1',
     () => batchNormInference(f.xNhwc, [1, 1, 1], z3, z3, v3, {epsilon: 1e-3}),
     `${OP} gamma must be a rank-1 tensor of length 2 (x.shape[1], with the default axis 1), but ` +
     `got shape [3]; 3 is x.shape[3], the last axis: for channels-last (NHWC) data pass axis: -1.`],
    ['statistics for axis 1 while axis is -1', () => batchNormInference(
         f.x, [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], v3, {epsilon: 1e-3, axis: -1}),
     `${OP} variance must be a rank-1 tensor of length 4 (x.shape[2]), but got shape [3]; 3 is ` +
     `x.shape[1]: if that is the channel axis, pass axis: 1.`],
    ['zero channels', () => batchNormInference(f.xNoChannels, [], [], [], [], {epsilon: 1e-3}),
     `${OP} x.shape[1] (the channel axis) must be at least 1, but got shape [2,0,3].`],
    ['epsilon missing', () => loose(f.x, g3, z3, z3, v3, {}),
     `${OP} epsilon is required (BatchNormInference-1 has no default), but got undefined.`],
    ['options missing', () => loose(f.x, g3, z3, z3, v3),
     `${OP} options must be an object {epsilon, axis?} or the epsilon number, but got ` +
     `undefined; epsilon is required (BatchNormInference-1 has no default).`],
    ['epsilon zero', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: 0}),
     `${OP} epsilon must be a finite number > 0, but got 0.`],
    ['epsilon negative', () => batchNormInference(f.x, g3, z3, z3, v3, -1e-3),
     `${OP} epsilon must be a finite number > 0, but got -0.001.`],
    ['epsilon NaN', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: NaN}),
     `${OP} epsilon must be a finite number > 0, but got NaN.`],
    ['epsilon Infinity', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: Infinity}),
     `${OP} epsilon must be a finite number > 0, but got Infinity.`],
    ['epsilon a string', () => loose(f.x, g3, z3, z3, v3, {epsilon: '1e-3'}),
     `${OP} epsilon must be a finite number > 0, but got the string "1e-3".`],
    ['unknown option', () => loose(f.x, g3, z3, z3, v3, {epsilon: 1e-3, axes: 1}),
     `${OP} unknown option 'axes'; the options are 'epsilon' (required) and 'axis'.`],
    ['tf.batchNorm-style options', () => loose(f.x, g3, z3, z3, v3, {varianceEpsilon: 1e-3, scale: 1}),
     `${OP} unknown options 'varianceEpsilon', 'scale'; the options are 'epsilon' (required) and 'axis'.`],
    ['bool x', () => batchNormInference(f.xBool, g3, z3, z3, v3, 1e-3),
     `${OP} x must have dtype float32 or int32, but got bool.`],
    ['string tensor gamma', () => batchNormInference(f.x, f.gammaString, z3, z3, v3, 1e-3),
     `${OP} gamma must have dtype float32 or int32, but got string.`],
    ['complex mean', () => batchNormInference(f.x, g3, z3, f.meanComplex, v3, 1e-3),
     `${OP} mean must have dtype float32 or int32, but got complex64.`],
    ['boolean array variance', () => batchNormInference(f.x, g3, z3, z3, [true, true, true], 1e-3),
     `${OP} variance must contain only numbers, but variance[0] is the boolean true.`],
    ['string x', () => loose('abc', g3, z3, z3, v3, 1e-3),
     `${OP} x must be a Tensor, a number, a (nested) array of numbers or a typed array, but got the string "abc".`],
    ['null gamma', () => loose(f.x, null, z3, z3, v3, 1e-3),
     `${OP} gamma is required, but got null.`],
    ['undefined beta', () => loose(f.x, g3, undefined, z3, v3, 1e-3),
     `${OP} beta is required, but got undefined.`],
    ['ragged nested array x', () => batchNormInference([[1, 2, 3], [4, 5]], g3, z3, z3, v3, 1e-3),
     `${OP} x must be a rectangular (non-ragged) array, but x[1] is of length 2 where the first ` +
     `element at that depth has length 3 (shape 2x3).`],
    ['too deep nested array gamma', () => loose(f.x, [1, [1], 1], z3, z3, v3, 1e-3),
     `${OP} gamma must contain only numbers, but gamma[1] is an array of length 1, one level ` +
     `deeper than its neighbours.`],
    ['DataView x', () => loose(new DataView(new ArrayBuffer(8)), g3, z3, z3, v3, 1e-3),
     `${OP} x must be a Tensor, a number, a (nested) array of numbers or a typed array, but got an object of type DataView.`],
    ['object x', () => loose({a: 1}, g3, z3, z3, v3, 1e-3),
     `${OP} x must be a Tensor, a number, a (nested) array of numbers or a typed array, but got an object of type Object.`],
    // Every leaf of a nested array is a JS number; the message names its path.
    ['a string leaf', () => batchNormInference([[1, 'a', 3]] as unknown as number[][], g3, z3, z3, v3, 1e-3),
     `${OP} x must contain only numbers, but x[0][1] is the string "a".`],
    ['a null leaf', () => loose([[1, null, 3]], g3, z3, z3, v3, 1e-3),
     `${OP} x must contain only numbers, but x[0][1] is null.`],
    ['an undefined leaf', () => loose([[1, undefined, 3]], g3, z3, z3, v3, 1e-3),
     `${OP} x must contain only numbers, but x[0][1] is undefined.`],
    ['a hole in a sparse array', () => loose([[1, , 3]], g3, z3, z3, v3, 1e-3),
     `${OP} x must contain only numbers, but x[0][1] is an empty slot (a sparse array).`],
    ['an object leaf', () => loose([[1, {}, 3]], g3, z3, z3, v3, 1e-3),
     `${OP} x must contain only numbers, but x[0][1] is an object of type Object.`],
    ['a bigint leaf in gamma', () => loose(f.x, [1, BigInt(1), 1], z3, z3, v3, 1e-3),
     `${OP} gamma must contain only numbers, but gamma[1] is the bigint 1n.`],
    ['a huge sparse array fails fast, from its lengths, before anything is allocated',
     () => loose([new Array(2 ** 32 - 1)], g3, z3, z3, v3, 1e-3),
     `${OP} x has shape [1,4294967295] (4294967295 elements), more than the 2147483647 ` +
     `elements a tensor can hold.`],
    ['a BigInt64Array', () => loose(f.x, new BigInt64Array(3), z3, z3, v3, 1e-3),
     `${OP} gamma is a BigInt64Array (64-bit integers), which tfjs does not take; convert it ` +
     `first, e.g. Float32Array.from(gamma, Number).`],
    ['a BigUint64Array inside a nested array', () => loose([new BigUint64Array(3)], g3, z3, z3, v3, 1e-3),
     `${OP} x must contain only numbers, but holds a BigUint64Array (64-bit integers); convert ` +
     `it first, e.g. Float32Array.from(values, Number).`],
    ['a disposed tensor', () => batchNormInference(f.disposed, g3, z3, z3, v3, 1e-3),
     `${OP} x is a disposed tensor (shape [2,3], dtype float32); keep it until the call ` +
     `returns (not disposed, nor made inside an ended tf.tidy).`],
    ['a tensor of another tfjs engine', () => batchNormInference(f.foreign, g3, z3, z3, v3, 1e-3),
     `${OP} x is a tensor from another TensorFlow.js engine (a second copy of ` +
     `@tensorflow/tfjs-core): its data is unknown to this one. Load one copy of tfjs ` +
     `(npm dedupe), or copy the values: tf.tensor(await x.data(), x.shape).`],
    ['a TensorInfo instead of a tensor',
     () => loose({dataId: {}, shape: [2, 3], dtype: 'float32'}, g3, z3, z3, v3, 1e-3),
     `${OP} x looks like a tensor (it has dataId, shape and dtype) but is not a tf.Tensor of ` +
     `this TensorFlow.js (a TensorInfo, or a tensor of another tfjs version); pass a ` +
     `tf.Tensor, or its values as an array.`],
    ['a Promise', () => loose(Promise.resolve(f.x), g3, z3, z3, v3, 1e-3),
     `${OP} x must be a Tensor, a number, a (nested) array of numbers or a typed array, but ` +
     `got a Promise: did you forget \`await\`?`],
    ['a Float64Array x is 1-D', () => loose(new Float64Array(6), g3, z3, z3, v3, 1e-3),
     `${OP} x must have rank >= 2 (a batch axis and a channel axis at least), but got a ` +
     `Float64Array of length 6 (rank 1: a typed array is 1-D); wrap it, [x], or give it a ` +
     `shape, tf.tensor(x, [batch, channels]).`],
    ['options given as an array', () => loose(f.x, g3, z3, z3, v3, [1e-3]),
     `${OP} options must be an object {epsilon, axis?} or the epsilon number, but got an ` +
     `array of length 1 (write {epsilon: ...}); epsilon is required (BatchNormInference-1 ` +
     `has no default).`],
    ['epsilon -0 is shown as -0', () => batchNormInference(f.x, g3, z3, z3, v3, {epsilon: -0}),
     `${OP} epsilon must be a finite number > 0, but got -0.`],
  ];
  for (const [name, call, message] of cases) {
    it(name, () => expectThrowsWithoutLeak(call, message));
  }
});

describe('#18: with no axis, the op does not guess between channels-first and channels-last', () => {
  // x.shape[1] equals the last dimension: both readings fit the statistics and
  // give different numbers (the audit found one off by 1.2), so the op throws.
  const ambiguous = (shape: number[]) =>
      `${OP} x has shape [${shape}]: with no axis given, its ${shape[1]} channels could be ` +
      `x.shape[1] (channels-first, NCHW, the default axis 1) or x.shape[${shape.length - 1}] ` +
      `(channels-last, NHWC), and the two readings give different results; pass axis: 1 for ` +
      `channels-first or axis: -1 for channels-last.`;
  for (const shape of [[1, 3, 3, 3], [8, 32, 32, 32], [2, 4, 4]]) {
    it(`shape [${shape}]: throws naming both readings, leaks nothing; axis 1 and -1 each run`, async () => {
      const c = shape[1];
      const random = (n: number, lo: number, hi: number, seed: number) => Float32Array.from(
          {length: n}, (_, i) => lo + (hi - lo) * ((Math.sin(seed * 97 + i * 13.1) + 1) / 2));
      const gamma = random(c, 0.5, 2, 1);
      const beta = random(c, -1, 1, 2);
      const mean = random(c, -1, 1, 3);
      const variance = random(c, 0.1, 2, 4);
      const size = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(random(size, -3, 3, 5), shape);
      expectThrowsWithoutLeak(() => batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3}),
                              ambiguous(shape));
      // The epsilon-only form has no axis either.
      expectThrowsWithoutLeak(() => batchNormInference(x, gamma, beta, mean, variance, 1e-3),
                              ambiguous(shape));
      await expectNoLeaks(() => {
        const first = batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3, axis: 1});
        const last = batchNormInference(x, gamma, beta, mean, variance, {epsilon: 1e-3, axis: -1});
        const data = {x: x.dataSync(), shape, gamma, beta, mean, variance, epsilon: 1e-3};
        expect(compareWithReference(first.dataSync(), {...data, axis: 1}, 'cpu')).toEqual([]);
        expect(compareWithReference(last.dataSync(), {...data, axis: shape.length - 1}, 'cpu')).toEqual([]);
        // The two readings differ: guessing would be a silent wrong answer.
        expect(tf.tidy(() => tf.sub(first, last).abs().max().dataSync()[0])).toBeGreaterThan(0.01);
        tf.dispose([first, last]);
      });
      x.dispose();
    });
  }

  it('one channel, or dims 1 and -1 that differ, or rank 2: the default axis runs', async () => {
    await expectNoLeaks(() => {
      const outs = [
        batchNormInference([[[[1], [2], [3]]], [[[4], [5], [6]]]], [2], [1], [0], [1],
                           {epsilon: 1e-3}),
        batchNormInference([[[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]], [1, 1, 1], [0, 0, 0], [0, 0, 0],
                           [1, 1, 1], 1e-3),
        batchNormInference([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1], 1e-3),
      ];
      expect(outs.map((t) => t.shape)).toEqual([[2, 1, 3, 1], [1, 3, 4], [3, 3]]);
      tf.dispose(outs);
    });
  });

  it('a channel-count mismatch is reported before the ambiguity (it says which axis fits)', () => {
    const x = tf.ones([1, 3, 3, 3]);
    expectThrowsWithoutLeak(
        () => batchNormInference(x, [1, 1], [0, 0], [0, 0], [1, 1], {epsilon: 1e-3}),
        `${OP} gamma must be a rank-1 tensor of length 3 (x.shape[1], with the default axis 1), but got shape [2].`);
    x.dispose();
  });
});

describe('the kernel run directly checks its inputs with the op\'s words', () => {
  const K = 'Error in BatchNormInference (cpu):';
  let t: Record<'x4'|'g3'|'g2'|'z3'|'v3'|'xInt', tf.Tensor>;
  beforeAll(() => {
    t = {
      x4: tf.ones([1, 2, 2, 3]),
      g3: tf.ones([3]),
      g2: tf.ones([2]),
      z3: tf.zeros([3]),
      v3: tf.ones([3]),
      xInt: tf.ones([1, 3], 'int32'),
    };
  });
  afterAll(() => tf.dispose(Object.values(t)));
  const run = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => () =>
      tf.engine().runKernel(BatchNormInference, inputs, attrs as tf.NamedAttrMap);

  const cases: Array<[string, () => () => unknown, string]> = [
    ['wrong gamma length', () => run({x: t.x4, gamma: t.g2, beta: t.z3, mean: t.z3, variance: t.v3},
                                     {epsilon: 1e-3, axis: 3}),
     `${K} gamma must be a rank-1 tensor of length 3 (x.shape[3]), but got shape [2]; 2 is ` +
     `x.shape[1]: if that is the channel axis, pass axis: 1.`],
    ['axis 7 on rank 4', () => run({x: t.x4, gamma: t.g3, beta: t.z3, mean: t.z3, variance: t.v3},
                                   {epsilon: 1e-3, axis: 7}),
     `${K} attr axis must be an integer in [-4, 3] for x of rank 4, but got 7.`],
    ['missing epsilon', () => run({x: t.x4, gamma: t.g3, beta: t.z3, mean: t.z3, variance: t.v3},
                                  {axis: 3}),
     `${K} attr epsilon is required (BatchNormInference-1 has no default), but got undefined.`],
    ['int32 x', () => run({x: t.xInt, gamma: t.g3, beta: t.z3, mean: t.z3, variance: t.v3},
                          {epsilon: 1e-3, axis: 1}),
     `${K} x must have dtype float32, but got int32.`],
    ['a missing input', () => run({x: t.x4, gamma: t.g3, beta: t.z3, mean: t.z3}, {epsilon: 1e-3, axis: 3}),
     `${K} inputs x, gamma, beta, mean, variance are required, but variance is missing.`],
  ];
  for (const [name, call, message] of cases) {
    it(name, () => expectThrowsWithoutLeak(call(), message));
  }

  it('words a problem as the op does (one set of message builders)', () => {
    const inputs = {x: t.x4, gamma: t.g2, beta: t.z3, mean: t.z3, variance: t.v3};
    const attrs = {epsilon: 1e-3, axis: 3};
    const fromKernel = errorOf(run(inputs, attrs)).replace(K, '');
    const fromOp = errorOf(() => batchNormInference(t.x4, t.g2, t.z3, t.z3, t.v3, attrs))
                       .replace(OP, '');
    expect(fromKernel).toBe(fromOp);
    expect(fromOp).toContain('gamma must be a rank-1 tensor of length 3');
  });
});

describe('registration', () => {
  it('registers the cpu and webgl kernels and the gradient on import', () => {
    expect(tf.getKernel(BatchNormInference, 'cpu')).toBeDefined();
    expect(tf.getKernel(BatchNormInference, 'webgl')).toBeDefined();
    expect(tf.getGradient(BatchNormInference)).toBeDefined();
  });

  it('registering again, or loading a second copy of the package, registers nothing twice and prints nothing', async () => {
    const kernel = tf.getKernel(BatchNormInference, 'cpu');
    await expectPrintsNothing(() => {
      registerBatchNormInference();
      registerBatchNormInference();
      // The built CommonJS file is a second copy of the package sharing this
      // tfjs-core (as when an app bundles both builds): it finds the kernels
      // registered and leaves them alone. `npm test` builds dist/ first.
      const built = require('../dist/index.cjs') as {registerBatchNormInference: () => void};
      built.registerBatchNormInference();
    });
    expect(tf.getKernel(BatchNormInference, 'cpu')).toBe(kernel);
  });

  it('only src/index.ts registers: importing src/register.ts (which imports every kernel, the ' +
     'layers and the gradient) in a fresh Node process registers no kernel, gradient, layer class ' +
     'or flag, and prints nothing', () => {
    // register.ts bundled on its own (tfjs external), run where nothing else was imported.
    const {outputFiles} = bundleSync({
      entryPoints: [`${__dirname}/../src/register.ts`], bundle: true, platform: 'node', format: 'cjs',
      external: ['@tensorflow/*'], write: false, logLevel: 'silent',
    });
    const script = `const tf = require('@tensorflow/tfjs-core');
      const m = {exports: {}};
      const code = require('fs').readFileSync(process.argv[1], 'utf8');
      new Function('module', 'exports', 'require', code)(m, m.exports, require);
      const register = m.exports;
      if (typeof register.registerBatchNormInference !== 'function') throw new Error('register.ts did not load');
      const found = [];
      for (const b of ['cpu', 'webgl']) if (tf.getKernel('BatchNormInference', b)) found.push('kernel ' + b);
      if (tf.getGradient('BatchNormInference')) found.push('gradient');
      if (tf.serialization.SerializationMap.getMap().classNameMap.BatchNormInference) found.push('layer class');
      for (const f of Object.keys(tf.env().getFlags())) if (f.startsWith('TFBNI_')) found.push('flag ' + f);
      if (found.length) throw new Error('importing register.ts registered: ' + found.join(', '));`;
    const {spawnSync} = require('child_process') as typeof import('child_process');
    // The bundle goes through a file: it is larger than one command-line argument may be.
    const os = require('os') as typeof import('os');
    const fs = require('fs') as typeof import('fs');
    const dir = fs.mkdtempSync(`${os.tmpdir()}/tfbni-register-`);
    const file = `${dir}/register.cjs`;
    fs.writeFileSync(file, outputFiles[0].text);
    const r = spawnSync(process.execPath, ['-e', script, file],
                        {cwd: `${__dirname}/..`, encoding: 'utf8'});
    fs.rmSync(dir, {recursive: true, force: true});
    expect({status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error?.message})
        .toEqual({status: 0, stdout: '', stderr: '', error: undefined});
  });

  it('importing the package in a fresh Node process (no webgl backend there) neither fails nor prints', () => {
    const {spawnSync} = require('child_process') as typeof import('child_process');
    for (const tfjs of ['@tensorflow/tfjs-core', '@tensorflow/tfjs']) {
      const script = `const tf = require('${tfjs}');
        const b = require('./dist/index.cjs');
        if (tf.getKernel(b.BatchNormInference, 'webgl') == null) throw new Error('webgl kernel missing');
        if (tf.findBackend('webgl') != null) throw new Error('a webgl backend appeared in Node');`;
      const r = spawnSync(process.execPath, ['-e', script], {cwd: `${__dirname}/..`, encoding: 'utf8'});
      expect({status: r.status, stdout: r.stdout, stderr: r.stderr})
          .toEqual({status: 0, stdout: '', stderr: ''});
    }
  });

  it('exports the version written in package.json', () => {
    expect(version).toBe(require('../package.json').version);
  });
});
