/**
 * The wasm kernel's two implementations (kernels/wasm/BatchNormInference.ts):
 * the SIMD core running on the backend's heap and the JS loop over heap
 * views. On the real backend the core runs (and the JS loop does not) in
 * every layout; the JS loop (a backend whose memory is not exposed) gives
 * the same bits; a heap whose memory is shared (the threaded backend) runs
 * the shared-memory core; a block the core flags (infinite inputs) is re-checked
 * and still right. Every output is compared bit for bit with the exact
 * reference (test/helpers/exact.ts).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import * as core from '../kernels/shared/simd/batch_norm_core';
import * as rounded from '../kernels/shared/rounded_batch_norm';
import {batchNormInference as wasmKernel, MAX_TABLE_BYTES} from '../kernels/wasm/BatchNormInference';
import {batchNormInference} from '../src';
import {BatchNormInferenceAttrs} from '../kernels/kernel_names';
import {prng} from './helpers/cases';
import {exactBatchNorm, firstBitDifference} from './helpers/exact';
import {expectNoLeaks} from './helpers/leaks';

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});

afterEach(() => jest.restoreAllMocks());

interface Case {
  name: string;
  shape: number[];
  axis: number;
  layout: 'periodic'|'runs'|null;
}

const CASES: Case[] = [
  {name: 'channels last, 64 channels', shape: [2, 9, 9, 64], axis: 3, layout: 'periodic'},
  {name: 'channels last, 3 channels (odd)', shape: [3, 7, 5, 3], axis: 3, layout: 'periodic'},
  {name: 'channels first, long runs', shape: [2, 5, 9, 9], axis: 1, layout: 'runs'},
  {name: 'short runs (inner 3)', shape: [50, 7, 3], axis: 1, layout: 'periodic'},
  {name: 'more channels than a table holds', shape: [2, 20000], axis: 1, layout: null},
  {name: 'several blocks', shape: [3, core.BLOCK / 16 + 5, 16], axis: 2, layout: 'periodic'},
];

/** Random inputs; `specials` puts NaN / infinities / zeros into x. */
function inputs(c: Case, seed: number, specials = false) {
  const random = prng(seed);
  const size = c.shape.reduce((a, b) => a * b, 1);
  const C = c.shape[c.axis];
  const uniform = (n: number, lo: number, hi: number) =>
      Float32Array.from({length: n}, () => lo + (hi - lo) * random());
  const x = uniform(size, -8, 8);
  if (specials) {
    // (an infinite x is always flagged: y +- err gives NaN and Infinity)
    const values = [NaN, Infinity, -Infinity, 0, -0];
    for (let k = 0; k < 20; k++) x[Math.floor(k * size / 20)] = values[k % values.length];
  }
  return {
    x, gamma: uniform(C, -2, 2), beta: uniform(C, -3, 3), mean: uniform(C, -4, 4),
    variance: uniform(C, 0.01, 3),
  };
}

/** Runs the kernel on `backend` with tensors made on the wasm backend. */
function runKernel(backend: BackendWasm, c: Case, v: ReturnType<typeof inputs>) {
  const t = {
    x: tf.tensor(v.x, c.shape), gamma: tf.tensor1d(v.gamma), beta: tf.tensor1d(v.beta),
    mean: tf.tensor1d(v.mean), variance: tf.tensor1d(v.variance),
  };
  const attrs = {epsilon: 1e-3, axis: c.axis} as BatchNormInferenceAttrs;
  const out = wasmKernel({inputs: t, backend, attrs});
  const y = tf.engine().makeTensorFromTensorInfo(out);
  const values = y.dataSync().slice();
  tf.dispose([y, ...Object.values(t)]);
  return values;
}

/** The backend as one whose memory this package cannot reach. */
function withoutMemory(backend: BackendWasm): BackendWasm {
  const wasm = Object.assign(Object.create(Object.getPrototypeOf(backend.wasm)), backend.wasm,
                             {asm: {}});
  return Object.assign(Object.create(Object.getPrototypeOf(backend)), backend, {wasm});
}

describe('the SIMD core on the wasm heap and the JS loop', () => {
  for (const c of CASES) {
    for (const specials of [false, true]) {
      it(`${c.name}${specials ? ', with NaN, infinities and zeros in x' : ''}`, async () => {
        const backend = tf.backend() as BackendWasm;
        const size = c.shape.reduce((a, b) => a * b, 1);
        expect(core.coreLayoutFor(c.shape[c.axis], size / c.shape.slice(0, c.axis + 1)
            .reduce((a, b) => a * b, 1), size, MAX_TABLE_BYTES)?.kind ?? null).toBe(c.layout);
        const v = inputs(c, 7, specials);
        await expectNoLeaks(() => {
          const blocks = jest.spyOn(core, 'runInBlocks');
          const jsLoop = jest.spyOn(rounded, 'roundedBatchNorm');
          const recheck = jest.spyOn(rounded, 'recheckRange');
          const simd = runKernel(backend, c, v);
          expect(blocks.mock.calls.length > 0).toBe(c.layout !== null);
          expect(jsLoop.mock.calls.length > 0).toBe(c.layout === null);
          if (specials && c.layout !== null) expect(recheck).toHaveBeenCalled();
          jest.restoreAllMocks();

          const js = jest.spyOn(rounded, 'roundedBatchNorm');
          const plain = runKernel(withoutMemory(backend), c, v);
          expect(js).toHaveBeenCalledTimes(1);
          expect(firstBitDifference(plain, simd)).toBeNull();
          expect(firstBitDifference(simd, exactBatchNorm({...v, shape: c.shape, axis: c.axis,
                                                          epsilon: 1e-3}))).toBeNull();
        });
      });
    }
  }
});

/**
 * A stand-in for the threaded wasm backend: its heap is a shared
 * WebAssembly.Memory (a SharedArrayBuffer), grown by the allocator on demand,
 * with the members of the backend this package uses.
 */
function sharedHeapBackend() {
  const memory = new WebAssembly.Memory({initial: 1, maximum: 65536, shared: true});
  const offsets = new Map<object, number>();
  let next = 1024;
  const malloc = (bytes: number) => {
    const at = next;
    next += (bytes + 15) & ~15;
    const pages = Math.ceil(next / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    return at;
  };
  const place = (shape: number[], values?: Float32Array) => {
    const dataId = {};
    const size = shape.reduce((a, b) => a * b, 1);
    const at = malloc(size * 4);
    if (values) new Float32Array(memory.buffer, at, size).set(values);
    offsets.set(dataId, at);
    return {dataId, shape, dtype: 'float32' as const};
  };
  const backend = {
    wasm: {asm: {memory}, get HEAPU8() { return new Uint8Array(memory.buffer); },
           _malloc: malloc, _free: () => undefined},
    getMemoryOffset: (dataId: object) => offsets.get(dataId)!,
    makeOutput: (shape: number[]) => place(shape),
  };
  return {memory, backend: backend as unknown as BackendWasm, place};
}

describe('a heap in shared memory (the threaded wasm backend)', () => {
  it('runs the shared-memory core on it, with the bits of the plain heap', () => {
    const c = CASES[0];
    const v = inputs(c, 11, true);
    const plain = runKernel(tf.backend() as BackendWasm, c, v);
    const {memory, backend, place} = sharedHeapBackend();
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const blocks = jest.spyOn(core, 'runInBlocks');
    const x = place(c.shape, v.x);
    const stats = [v.gamma, v.beta, v.mean, v.variance].map((a) => place([a.length], a));
    const bytesBefore = memory.buffer.byteLength;
    const out = wasmKernel({
      inputs: {x, gamma: stats[0], beta: stats[1], mean: stats[2], variance: stats[3]}, backend,
      attrs: {epsilon: 1e-3, axis: c.axis} as BatchNormInferenceAttrs,
    });
    // y did not fit: the allocator grew the shared memory during the call
    expect(memory.buffer.byteLength).toBeGreaterThan(bytesBefore);
    expect(blocks).toHaveBeenCalled();
    const y = new Float32Array(memory.buffer, backend.getMemoryOffset(out.dataId), plain.length);
    expect(firstBitDifference(y, plain)).toBeNull();
  });
});

describe('the per-statistics cache of channel terms (kernels/shared/channel_terms_cache.ts)', () => {
  const C = 4;
  const stats = (seed: number) => {
    const random = prng(seed);
    const make = (lo: number, hi: number) =>
        Float32Array.from({length: C}, () => lo + (hi - lo) * random());
    return {gamma: make(-2, 2), beta: make(-1, 1), mean: make(-3, 3), variance: make(0.1, 2)};
  };
  const exact = (x: tf.Tensor, axis: number, s: ReturnType<typeof stats>, epsilon: number) =>
      exactBatchNorm({shape: x.shape, axis, epsilon, x: x.dataSync(), ...s});

  it('is never stale: a new epsilon, another beta tensor, an assigned Variable, another layout', async () => {
    await expectNoLeaks(() => {
      const a = stats(1);
      const b = stats(2);
      const x = tf.randomUniform([6, 5, C], -4, 4, 'float32', 3);
      const xFirst = tf.randomUniform([6, C, 5], -4, 4, 'float32', 4);
      const [gammaA, gammaB, beta, mean, variance, otherBeta] =
          [a.gamma, b.gamma, a.beta, a.mean, a.variance, b.beta].map((v) => tf.tensor1d(v));
      const gamma = tf.variable(gammaA);
      const run = (xt: tf.Tensor, axis: number, epsilon: number, bt = beta) => {
        const y = batchNormInference(xt, gamma, bt, mean, variance, {epsilon, axis});
        const values = y.dataSync().slice();
        y.dispose();
        return values;
      };
      expect(firstBitDifference(run(x, -1, 1e-3), exact(x, -1, a, 1e-3))).toBeNull();
      expect(firstBitDifference(run(x, -1, 1e-3), exact(x, -1, a, 1e-3))).toBeNull();
      expect(firstBitDifference(run(x, -1, 0.5), exact(x, -1, a, 0.5))).toBeNull();
      expect(firstBitDifference(run(x, -1, 1e-3, otherBeta), exact(x, -1, {...a, beta: b.beta}, 1e-3)))
          .toBeNull();
      expect(firstBitDifference(run(xFirst, 1, 1e-3), exact(xFirst, 1, a, 1e-3))).toBeNull();
      gamma.assign(gammaB);
      expect(firstBitDifference(run(x, -1, 1e-3), exact(x, -1, {...a, gamma: b.gamma}, 1e-3)))
          .toBeNull();
      expect(firstBitDifference(run(xFirst, 1, 1e-3), exact(xFirst, 1, {...a, gamma: b.gamma}, 1e-3)))
          .toBeNull();
      tf.dispose([x, xFirst, gamma, gammaA, gammaB, beta, mean, variance, otherBeta]);
    });
  });
});
