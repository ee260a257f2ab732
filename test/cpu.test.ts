/**
 * The cpu kernel's two paths and the shared SIMD core: the committed bytes
 * are the .wat compiled by wabt (plain and shared memory); the core runs on
 * an imported memory, plain or shared, out of place at any offset, bit-identical
 * to the JS loop; the op gives the same bits with TFBNI_CPU_WASM on and off on
 * every shared case and on large inputs in every layout (the flag's own
 * tests are in flags.test.ts); without WebAssembly SIMD the kernel falls
 * back to the JS loop.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {batchNormInference as cpuKernel} from '../kernels/cpu/BatchNormInference';
import {CPU_WASM_FLAG} from '../kernels/flags';
import {batchNormSimd, CHUNK, MAX_TABLE_BYTES, MEMORY_PAGES, MIN_SIMD_SIZE, simdAvailable, simdLayoutFor, simdMemoryBytes} from '../kernels/cpu/batch_norm_simd';
import {channelBlocks} from '../kernels/shared/channel_axis';
import {channelTerms, roundedBatchNorm} from '../kernels/shared/rounded_batch_norm';
import {BLOCK, CoreLayout, ENTRY_BYTES, instantiateBatchNormCore, periodOf, runCore, runBlocks, tableBytes, writeTable} from '../kernels/shared/simd/batch_norm_core';
import {BATCH_NORM_CORE_WASM, BATCH_NORM_CORE_WASM_SHARED} from '../kernels/shared/simd/batch_norm_core_wasm';
import {loadCases, prng} from './helpers/cases';
import {Float32Inputs, runCpuOp} from './helpers/cpu_op';
import {exactBatchNorm, firstBitDifference} from './helpers/exact';
import {expectNoLeaks} from './helpers/leaks';

const ROOT = path.join(__dirname, '..');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => tf.env().set(CPU_WASM_FLAG, true));

interface Generator {
  compileWat(text?: string, options?: {shared?: boolean}): Promise<Uint8Array>;
  renderTs(plain: Uint8Array, shared: Uint8Array): string;
  WAT: string;
  OUT: string;
}

/** The JS loop's output. */
function jsLoop(d: Float32Inputs): Float32Array {
  const rank = d.shape.length;
  const {outer, channels, inner} = channelBlocks(d.shape, d.axis < 0 ? d.axis + rank : d.axis);
  const out = new Float32Array(d.x.length);
  roundedBatchNorm(d.x, out, channelTerms(d.gamma, d.beta, d.mean, d.variance, d.epsilon), outer,
                   channels, inner);
  return out;
}

/** Every layout whose table fits, for a case run through each directly. */
function layoutsFor(channels: number, inner: number): CoreLayout[] {
  const layouts: CoreLayout[] = [{kind: 'runs', channels, inner}];
  const period = periodOf(channels, inner);
  if (ENTRY_BYTES * period <= MAX_TABLE_BYTES) layouts.push({kind: 'periodic', period, channels, inner});
  return layouts;
}

describe('the SIMD core module', () => {
  it('is the .wat compiled by wabt, plain and shared memory, byte for byte', async () => {
    const gen = require('../tools/generate_batch_norm_simd_wasm.js') as Generator;
    const text = fs.readFileSync(gen.WAT, 'utf8');
    const plain = await gen.compileWat(text);
    const shared = await gen.compileWat(text, {shared: true});
    expect(Array.from(BATCH_NORM_CORE_WASM)).toEqual(Array.from(plain));
    expect(Array.from(BATCH_NORM_CORE_WASM_SHARED)).toEqual(Array.from(shared));
    expect(fs.readFileSync(gen.OUT, 'utf8')).toBe(gen.renderTs(plain, shared));
  });

  it('is valid, under the 4 KB browsers compile synchronously, and runs here', () => {
    for (const bytes of [BATCH_NORM_CORE_WASM, BATCH_NORM_CORE_WASM_SHARED]) {
      expect(bytes.length).toBeLessThan(4096);
      expect(WebAssembly.validate(bytes)).toBe(true);
    }
    expect(simdAvailable()).toBe(true);
  });

  it('is not in the built bundles as wabt (the runtime never loads it)', () => {
    for (const file of ['index.cjs', 'index.mjs', 'tfjs-batchnorm-inference.js']) {
      const text = fs.readFileSync(path.join(ROOT, 'dist', file), 'utf8');
      expect(text).not.toMatch(/wabt/);
      expect(text).toMatch(/TFBNI_CPU_WASM/);
    }
  });
});

describe('the SIMD core on an imported memory (as the wasm backend uses it)', () => {
  const d = randomInputs([3, 5, 37], 1, 99);  // inner 37: runs; periodOf(5, 37) = 2960
  const {channels, inner} = channelBlocks(d.shape, d.axis);
  const terms = channelTerms(d.gamma, d.beta, d.mean, d.variance, d.epsilon);
  const expected = jsLoop(d);

  for (const shared of [false, true]) {
    for (const layout of layoutsFor(channels, inner)) {
      it(`${shared ? 'shared' : 'plain'} memory, ${layout.kind}: out of place at any offset, ` +
         'in blocks, nothing written past the end', () => {
        const memory = new WebAssembly.Memory(
            shared ? {initial: 2, maximum: 100, shared: true} : {initial: 2});
        expect(memory.buffer instanceof SharedArrayBuffer).toBe(shared);
        const core = instantiateBatchNormCore(memory)!;
        expect(core).not.toBeNull();
        const n = d.x.length;
        const xPtr = 8;
        const yPtr = xPtr + 4 * n + 12;
        const tablePtr = yPtr + 4 * n + 4 * 13 + 16;  // 8-aligned
        expect(tablePtr % 8).toBe(0);
        const f32 = new Float32Array(memory.buffer);
        f32.set(d.x, xPtr / 4);
        f32.fill(7, yPtr / 4, yPtr / 4 + n + 13);  // a sentinel past the end too
        writeTable(memory, tablePtr, layout, terms);
        expect(tableBytes(layout)).toBe(ENTRY_BYTES * (layout.kind === 'runs' ? channels : periodOf(channels, inner)));
        // blocks: for periodic, starting at multiples of the period
        const block = layout.kind === 'periodic' ? layout.period : 101;
        const out = new Float32Array(n);
        for (let start = 0; start < n; start += block) {
          const len = Math.min(block, n - start);
          runCore(core, layout, xPtr + 4 * start, yPtr + 4 * start, start, len, tablePtr);
        }
        out.set(f32.subarray(yPtr / 4, yPtr / 4 + n));
        // d has no flagged element (checked below), so the core's output is final
        expect(firstBitDifference(out, expected)).toBeNull();
        expect(Array.from(f32.subarray(yPtr / 4 + n, yPtr / 4 + n + 13))).toEqual(new Array(13).fill(7));
        expect(Array.from(f32.subarray(xPtr / 4, xPtr / 4 + n))).toEqual(Array.from(d.x));
      });
    }
  }

  for (const layout of layoutsFor(4, 1)) {
    it(`runBlocks, ${layout.kind}: several blocks, flagged elements rounded exactly`, () => {
      // channels-last, 4 channels; channel 3 gives exact ties (see randomInputs)
      const e = randomInputs([BLOCK / 2 + 3, 4], 1, 5);
      for (let i = 3; i < e.x.length; i += 4) e.x[i] = 2 + 2 ** -22 * (i % 5);
      const size = e.x.length;
      const memory = new WebAssembly.Memory({initial: Math.ceil((8 * size + 1024) / 65536)});
      const core = instantiateBatchNormCore(memory)!;
      const xPtr = 16;
      const yPtr = xPtr + 4 * size;
      const tablePtr = yPtr + 4 * size;
      new Float32Array(memory.buffer, xPtr, size).set(e.x);
      const t = channelTerms(e.gamma, e.beta, e.mean, e.variance, e.epsilon);
      writeTable(memory, tablePtr, layout, t);
      runBlocks(core, layout, t, xPtr, yPtr, size, tablePtr);
      const exact = exactBatchNorm(e);
      expect(firstBitDifference(new Float32Array(memory.buffer, yPtr, size), exact)).toBeNull();
      expect(() => runBlocks(core, layout, t, xPtr, xPtr, size, tablePtr))
          .toThrow('runBlocks: x and y overlap (the re-check of a flagged block reads x)');
    });
  }

  it('periodic on a start that is not a multiple of the period is refused', () => {
    const memory = new WebAssembly.Memory({initial: 1});
    const core = instantiateBatchNormCore(memory)!;
    expect(() => runCore(core, {kind: 'periodic', period: 16, channels: 16, inner: 1}, 0, 0, 3, 16, 0))
        .toThrow('periodic SIMD core: block start 3 is not a multiple of the period 16');
  });

  it('returns "flagged" for a block holding an element the float64 bound cannot decide', () => {
    const memory = new WebAssembly.Memory({initial: 1});
    const core = instantiateBatchNormCore(memory)!;
    // gamma 1, beta 1, mean 0, variance + epsilon = 64: y = x / 8 + 1
    const layout: CoreLayout = {kind: 'runs', channels: 1, inner: 2};
    writeTable(memory, 64, layout, channelTerms([1], [1], [0], [0], 64));
    const f32 = new Float32Array(memory.buffer);
    f32.set([2, 2], 0);  // 1.25 twice
    expect(runCore(core, layout, 0, 8, 0, 2, 64)).toBe(false);
    expect(Array.from(f32.subarray(2, 4))).toEqual([1.25, 1.25]);
    f32.set([2, 2 ** -21], 0);  // 1.25 and 1 + 2^-24, a tie between float32 neighbours
    expect(runCore(core, layout, 0, 8, 0, 2, 64)).toBe(true);
  });

  // The SIMD steps certify most elements without the float64 bound; an
  // element near a float32 boundary (here exactly on one) must fail that
  // certificate, so that its group is computed again with the bound and flagged.
  for (const layout of [{kind: 'runs', channels: 1, inner: 32}, {kind: 'periodic', period: 16, channels: 1, inner: 1}] as CoreLayout[]) {
    it(`${layout.kind}: a tie inside a SIMD step fails the certificate and is flagged`, () => {
      const memory = new WebAssembly.Memory({initial: 1});
      const core = instantiateBatchNormCore(memory)!;
      writeTable(memory, 1024, layout, channelTerms([1], [1], [0], [0], 64));
      const f32 = new Float32Array(memory.buffer);
      const x = Float32Array.from({length: 32}, (_, i) => 2 + i / 8);  // y = x / 8 + 1: no tie
      f32.set(x, 0);
      expect(runCore(core, layout, 0, 128, 0, 32, 1024)).toBe(false);
      expect(Array.from(f32.subarray(32, 64))).toEqual(Array.from(x, (v) => v / 8 + 1));
      for (const at of [0, 5, 17, 30]) {
        x[at] = 2 ** -21;  // 1 + 2^-24: on the boundary between 1 and 1 + 2^-23
        f32.set(x, 0);
        expect([at, runCore(core, layout, 0, 128, 0, 32, 1024)]).toEqual([at, true]);
        x[at] = 2;
      }
    });
  }
});

describe('every shared case: the SIMD core in each layout, the op both ways, all bit-identical ' +
         'to the JS loop and to the exact reference', () => {
  // Tiny cases stay on the JS loop in the op (MIN_SIMD_SIZE), so each case is
  // also run through each SIMD layout directly, whatever its size.
  for (const c of loadCases()) {
    it(c.name, async () => {
      await expectNoLeaks(() => {
        const js = jsLoop(c);
        expect(firstBitDifference(js, exactBatchNorm(c))).toBeNull();
        const {channels, inner} = channelBlocks(c.shape, c.axis);
        const terms = channelTerms(c.gamma, c.beta, c.mean, c.variance, c.epsilon);
        for (const layout of layoutsFor(channels, inner)) {
          const out = new Float32Array(c.x.length);
          expect(batchNormSimd(layout, c.x, out, terms)).toBe(true);
          expect(firstBitDifference(out, js)).toBeNull();
        }
        expect(firstBitDifference(runCpuOp(c, true), js)).toBeNull();
        expect(firstBitDifference(runCpuOp(c, false), js)).toBeNull();
      });
    });
  }
});

/**
 * Random inputs of `shape`, with special values: NaN, infinities, -0,
 * subnormals and huge values in x; with at least 3 channels, a NaN gamma, a
 * negative variance (NaN scale) and a scale large enough to overflow float32;
 * with at least 4, a channel whose beta cancels x exactly for some elements.
 */
function randomInputs(shape: number[], axis: number, seed: number): Float32Inputs {
  const random = prng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = shape[axis];
  const fill = (n: number, lo: number, hi: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
    return a;
  };
  const x = fill(size, -10, 10);
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-40, -3e-42, 3e38, -3e38, 1e20, 2, -2];
  for (let i = 0; i < size; i += 1 + Math.floor(random() * 200)) {
    x[i] = specials[Math.floor(random() * specials.length)];
  }
  const d = {
    shape, axis, epsilon: 1e-3, x,
    gamma: fill(channels, -2, 2), beta: fill(channels, -3, 3),
    mean: fill(channels, -5, 5), variance: fill(channels, 0.01, 4),
  };
  if (channels >= 4) {
    d.gamma[0] = NaN;
    d.variance[1] = -1;
    d.gamma[2] = 3e38;
    d.variance[2] = 1e-3;
    // channel 3: y = (x - 0) * 1 / 1 - 2, zero at x = 2 (flagged: -0 vs +0)
    d.epsilon = 2 ** -10;
    d.gamma[3] = 1;
    d.mean[3] = 0;
    d.variance[3] = 1 - 2 ** -10;
    d.beta[3] = -2;
    const {inner} = channelBlocks(shape, axis);
    for (let i = 3 * inner; i < size; i += 10 * channels * inner) d.x[i] = 2;
  }
  return d;
}

describe('large random inputs: the op gives the same bits with TFBNI_CPU_WASM on and off', () => {
  const layouts: Array<{name: string, shape: number[], axis: number, expected: CoreLayout['kind']}> = [
    {name: 'channels-last, C = 1', shape: [50001, 1], axis: 1, expected: 'periodic'},
    {name: 'channels-last, C = 5', shape: [3, 111, 101, 5], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 7', shape: [2, 97, 89, 7], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 64', shape: [2, 61, 59, 64], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 1024', shape: [1, 11, 13, 1024], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 16001 (no periodic table fits)', shape: [5, 16001], axis: 1, expected: 'runs'},
    {name: 'channels-first, inner = 2, many channels', shape: [7, 4099, 2], axis: 1, expected: 'runs'},
    {name: 'channels-first, inner = 2, few channels', shape: [3001, 6, 2], axis: 1, expected: 'periodic'},
    {name: 'channels-first, inner = 3', shape: [5, 4, 4001, 3], axis: 2, expected: 'runs'},
    {name: 'channels-first, inner = 3, few channels', shape: [4001, 5, 3], axis: 1, expected: 'periodic'},
    {name: 'channels-first, inner = 49', shape: [3, 1024, 7, 7], axis: 1, expected: 'runs'},
    {name: 'channels-first, odd image', shape: [2, 4, 211, 199], axis: 1, expected: 'runs'},
  ];
  layouts.forEach(({name, shape, axis, expected}, k) => {
    it(`${name}: [${shape}] axis ${axis}, the ${expected} loop`, async () => {
      const d = randomInputs(shape, axis, 1000 + k);
      const {channels, inner} = channelBlocks(shape, axis);
      expect(simdLayoutFor(channels, inner, d.x.length)?.kind).toBe(expected);
      expect(d.x.length).toBeGreaterThan(CHUNK);  // several chunks
      await expectNoLeaks(() => {
        const js = runCpuOp(d, false);
        const wasm = runCpuOp(d, true);
        expect(firstBitDifference(wasm, js)).toBeNull();
        // the special values made it through: NaN, both infinities, both zeros
        expect(js.some(Number.isNaN)).toBe(true);
        expect(js.includes(Infinity) && js.includes(-Infinity)).toBe(true);
        if (channels >= 4) expect(js.some((v) => Object.is(v, 0))).toBe(true);
      });
    });
  });

  it('a sample of each against the exact reference', () => {
    const d = randomInputs([2, 61, 59, 64], 3, 5);
    expect(firstBitDifference(runCpuOp(d, true), exactBatchNorm(d))).toBeNull();
  });

  it('never grows the core memory (a grow would detach its ArrayBuffer)', () => {
    // V8 slows every typed-array access in the process once any ArrayBuffer
    // has been detached, so the memory is fixed: a chunk and the largest table.
    expect(simdMemoryBytes()).toBe(MEMORY_PAGES * 65536);
    expect(MEMORY_PAGES * 65536).toBe(CHUNK * 8 + MAX_TABLE_BYTES);
  });
});

describe('which loop runs', () => {
  it('keeps tiny x and channels-last data with very many channels on the JS loop', () => {
    expect(simdLayoutFor(3, 1, MIN_SIMD_SIZE - 1)).toBeNull();
    expect(simdLayoutFor(3, 1, MIN_SIMD_SIZE)?.kind).toBe('periodic');
    expect(simdLayoutFor(16001, 1, 1e6)?.kind).toBe('runs');  // pattern longer than the table
    expect(simdLayoutFor(20000, 1, 1e6)).toBeNull();  // no table that large
    expect(simdLayoutFor(257, 1, 257 * 8)?.kind).toBe('runs');  // fewer rows than one pattern
    expect(simdLayoutFor(64, 50176, 64 * 50176)?.kind).toBe('runs');
    expect(simdLayoutFor(16384, 2, 1e6)?.kind).toBe('runs');
    expect(simdLayoutFor(16385, 2, 1e6)).toBeNull();
  });
});

describe('without WebAssembly SIMD', () => {
  it('the kernel falls back to the JS loop silently, with the same bits', async () => {
    // A fresh copy of the kernel modules (sharing this tfjs-core) that finds
    // WebAssembly.validate false, as on a browser without SIMD.
    type SimdModule = typeof import('../kernels/cpu/batch_norm_simd');
    type KernelModule = typeof import('../kernels/cpu/BatchNormInference');
    const core = require('@tensorflow/tfjs-core');
    let simd: SimdModule|undefined;
    let kernel: KernelModule|undefined;
    let available: boolean|undefined;
    const validate = jest.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      jest.isolateModules(() => {
        jest.doMock('@tensorflow/tfjs-core', () => core);
        simd = require('../kernels/cpu/batch_norm_simd') as SimdModule;
        kernel = require('../kernels/cpu/BatchNormInference') as KernelModule;
        available = simd.simdAvailable();
      });
      expect(warn).not.toHaveBeenCalled();
    } finally {
      validate.mockRestore();
      warn.mockRestore();
    }
    expect(available).toBe(false);
    expect(kernel!.batchNormInference).not.toBe(cpuKernel);
    const out = new Float32Array(4).fill(7);
    const terms = channelTerms([1], [0], [0], [1], 1e-3);
    expect(simd!.batchNormSimd({kind: 'periodic', period: 16, channels: 1, inner: 1},
                               new Float32Array(4), out, terms)).toBe(false);
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);

    const d = randomInputs([4, 33, 17, 5], 3, 7);
    await expectNoLeaks(() => {
      const js = runCpuOp(d, false);
      tf.env().set(CPU_WASM_FLAG, true);
      const backend = tf.backend() as unknown as Parameters<typeof cpuKernel>[0]['backend'];
      const t = [d.x, d.gamma, d.beta, d.mean, d.variance].map((v, i) => tf.tensor(v, i === 0 ? d.shape : undefined));
      const info = kernel!.batchNormInference({
        inputs: {x: t[0], gamma: t[1], beta: t[2], mean: t[3], variance: t[4]},
        backend, attrs: {epsilon: d.epsilon, axis: d.axis},
      });
      const fallback = backend.readSync(info.dataId) as Float32Array;
      backend.disposeData(info.dataId);
      tf.dispose(t);
      expect(firstBitDifference(fallback, js)).toBeNull();
    });
  });
});
