/**
 * The WebAssembly SIMD path of the cpu kernel (kernels/cpu/batch_norm_simd*):
 * the committed bytes are the .wat compiled by wabt; both SIMD loops give
 * outputs bit-identical to the JS loops on every shared case and on large
 * random inputs with special values, in every layout; the TFBNI_CPU_WASM flag
 * is registered once and silently; without WebAssembly SIMD the kernel falls
 * back to the JS loops.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {batchNormInference as cpuKernel, CPU_WASM_FLAG, registerCpuWasmFlag} from '../kernels/cpu/BatchNormInference';
import {batchNormSimd, CHUNK, MAX_PERIOD, MAX_RUN_CHANNELS, MIN_SIMD_SIZE, periodOf, SIMD_MEMORY_BYTES, simdAvailable, SimdLayout, simdLayoutFor, simdMemoryBytes} from '../kernels/cpu/batch_norm_simd';
import {BATCH_NORM_SIMD_WASM} from '../kernels/cpu/batch_norm_simd_wasm';
import {channelBlocks, foldChannelParams} from '../kernels/shared/channel_params';
import {batchNormInference} from '../src';
import {loadCases, prng} from './helpers/cases';
import {expectNoLeaks} from './helpers/leaks';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => tf.env().set(CPU_WASM_FLAG, true));

const CPU_DIR = path.join(__dirname, '..', 'kernels', 'cpu');

interface Generator {
  compileWat(text?: string): Promise<Uint8Array>;
  renderTs(bytes: Uint8Array): string;
}

/**
 * Where two float32 arrays differ in any bit, or null. A NaN matches any NaN:
 * which NaN an operation with NaN operands returns (sign, payload) is left
 * open by IEEE 754 and by WebAssembly, and V8's JS is not consistent either:
 * the same JS loop gives 0x7fc00000 or 0xffc00000 for x * NaN depending on
 * whether it runs cold or optimized (operand order of the multiply).
 */
function firstBitDifference(actual: Float32Array, expected: Float32Array): string|null {
  if (actual.length !== expected.length) {
    return `length ${actual.length}, expected ${expected.length}`;
  }
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      return `element ${i}: ${actual[i]} (0x${a[i].toString(16)}), expected ` +
          `${expected[i]} (0x${e[i].toString(16)})`;
    }
  }
  return null;
}

interface Inputs {
  shape: number[];
  axis: number;
  epsilon: number;
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** The op's output on the cpu backend with the flag as given. */
function runOp(d: Inputs, wasm: boolean): Float32Array {
  tf.env().set(CPU_WASM_FLAG, wasm);
  const x = tf.tensor(d.x, d.shape);
  const y = batchNormInference(x, d.gamma, d.beta, d.mean, d.variance, {epsilon: d.epsilon, axis: d.axis});
  const values = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return values;
}

describe('the SIMD module', () => {
  it('is the .wat in kernels/cpu compiled by wabt, byte for byte', async () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const gen = require('../tools/generate_batch_norm_simd_wasm.js') as Generator;
    const compiled = await gen.compileWat(fs.readFileSync(path.join(CPU_DIR, 'batch_norm_simd.wat'), 'utf8'));
    expect(Array.from(BATCH_NORM_SIMD_WASM)).toEqual(Array.from(compiled));
    // and the generated file is exactly what the script writes
    expect(fs.readFileSync(path.join(CPU_DIR, 'batch_norm_simd_wasm.ts'), 'utf8'))
        .toBe(gen.renderTs(compiled));
  });

  it('is valid, under the 4 KB browsers compile synchronously, and runs here', () => {
    expect(BATCH_NORM_SIMD_WASM.length).toBeLessThan(4096);
    expect(WebAssembly.validate(BATCH_NORM_SIMD_WASM)).toBe(true);
    expect(simdAvailable()).toBe(true);
  });

  it('is not in the built bundles as wabt (the runtime never loads it)', () => {
    for (const file of ['index.cjs', 'index.mjs', 'tfjs-batchnorm-inference.js']) {
      const text = fs.readFileSync(path.join(__dirname, '..', 'dist', file), 'utf8');
      expect(text).not.toMatch(/wabt/);
      expect(text).toMatch(/TFBNI_CPU_WASM/);
    }
  });
});

describe('the SIMD loops on every shared case, bit-identical to the JS loops', () => {
  // Tiny cases stay on the JS loops in the op (MIN_SIMD_SIZE), so each case is
  // also run through each SIMD loop directly, whatever its size and layout.
  for (const c of loadCases()) {
    it(c.name, async () => {
      await expectNoLeaks(() => {
        const js = runOp(c, false);
        const {scale, shift, foldable} =
            foldChannelParams(c.gamma, c.beta, c.mean, c.variance, c.epsilon);
        // An infinite scale takes the unfolded JS loop whatever the flag.
        if (!foldable) return;
        const {channels, inner} = channelBlocks(c.shape, c.axis);
        const layouts: SimdLayout[] = ['runs'];
        if (periodOf(channels, inner) <= MAX_PERIOD) layouts.push('periodic');
        for (const layout of layouts) {
          const out = new Float32Array(c.x.length);
          expect(batchNormSimd(layout, c.x, out, scale, shift, channels, inner)).toBe(true);
          expect(firstBitDifference(out, js)).toBeNull();
        }
        expect(firstBitDifference(runOp(c, true), js)).toBeNull();
      });
    });
  }
});

/**
 * Random inputs of `shape`, with special values: NaN, infinities, -0,
 * subnormals and huge values in x; with at least 3 channels, a NaN gamma, a
 * negative variance (NaN scale) and a scale large enough to overflow float32.
 */
function randomInputs(shape: number[], axis: number, seed: number): Inputs {
  const random = prng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = shape[axis];
  const fill = (n: number, lo: number, hi: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
    return a;
  };
  const x = fill(size, -10, 10);
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-40, -3e-42, 3e38, -3e38, 1e20];
  for (let i = 0; i < size; i += 1 + Math.floor(random() * 200)) {
    x[i] = specials[Math.floor(random() * specials.length)];
  }
  const d = {
    shape, axis, epsilon: 1e-3, x,
    gamma: fill(channels, -2, 2), beta: fill(channels, -3, 3),
    mean: fill(channels, -5, 5), variance: fill(channels, 0.01, 4),
  };
  if (channels >= 3) {
    d.gamma[0] = NaN;
    d.variance[1] = -1;
    d.gamma[2] = 3e38;
    d.variance[2] = 1e-3;
  }
  return d;
}

describe('large random inputs: the op gives the same bits with TFBNI_CPU_WASM on and off', () => {
  const layouts: Array<{name: string, shape: number[], axis: number, expected: SimdLayout}> = [
    {name: 'channels-last, C = 1', shape: [50001, 1], axis: 1, expected: 'periodic'},
    {name: 'channels-last, C = 3', shape: [3, 111, 101, 3], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 7', shape: [2, 97, 89, 7], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 64', shape: [2, 61, 59, 64], axis: 3, expected: 'periodic'},
    {name: 'channels-last, C = 1024', shape: [1, 11, 13, 1024], axis: 3, expected: 'periodic'},
    {name: 'channels-first, inner = 2, many channels', shape: [7, 4099, 2], axis: 1, expected: 'runs'},
    {name: 'channels-first, inner = 2, few channels', shape: [3001, 6, 2], axis: 1, expected: 'periodic'},
    {name: 'channels-first, inner = 3', shape: [5, 3, 4001, 3], axis: 2, expected: 'runs'},
    {name: 'channels-first, inner = 3, few channels', shape: [4001, 5, 3], axis: 1, expected: 'periodic'},
    {name: 'channels-first, inner = 49', shape: [3, 1024, 7, 7], axis: 1, expected: 'runs'},
    {name: 'channels-first, odd image', shape: [2, 3, 211, 199], axis: 1, expected: 'runs'},
  ];
  layouts.forEach(({name, shape, axis, expected}, k) => {
    it(`${name}: [${shape}] axis ${axis}, the ${expected} loop`, async () => {
      const d = randomInputs(shape, axis, 1000 + k);
      const {channels, inner} = channelBlocks(shape, axis);
      expect(simdLayoutFor(channels, inner, d.x.length)).toBe(expected);
      expect(d.x.length).toBeGreaterThan(CHUNK);  // several chunks
      await expectNoLeaks(() => {
        const js = runOp(d, false);
        const wasm = runOp(d, true);
        expect(firstBitDifference(wasm, js)).toBeNull();
        // the special values made it through: NaN, both infinities
        expect(js.some(Number.isNaN)).toBe(true);
        expect(js.includes(Infinity) && js.includes(-Infinity)).toBe(true);
      });
    });
  });

  it('never grows the module memory (a grow would detach its ArrayBuffer)', () => {
    // V8 slows every typed-array access in the process once any ArrayBuffer
    // has been detached, so the memory is fixed: a chunk and the largest table.
    expect(simdMemoryBytes()).toBe(SIMD_MEMORY_BYTES);
    expect(SIMD_MEMORY_BYTES).toBe(CHUNK * 4 + 16 * Math.max(MAX_PERIOD, MAX_RUN_CHANNELS));
  });
});

describe('which loop runs', () => {
  it('keeps tiny x and channels-last data with very many channels on the JS loops', () => {
    expect(simdLayoutFor(3, 1, MIN_SIMD_SIZE - 1)).toBeNull();
    expect(simdLayoutFor(3, 1, MIN_SIMD_SIZE)).toBe('periodic');
    expect(simdLayoutFor(20000, 1, 1e6)).toBeNull();  // pattern longer than MAX_PERIOD
    expect(simdLayoutFor(257, 1, 257 * 8)).toBeNull();  // fewer rows than one pattern (16 rows)
    expect(simdLayoutFor(64, 50176, 64 * 50176)).toBe('runs');
    expect(simdLayoutFor(MAX_RUN_CHANNELS, 2, 1e6)).toBe('runs');
    expect(simdLayoutFor(MAX_RUN_CHANNELS + 16, 2, 1e6)).toBeNull();  // no table that large
  });
});

describe('the TFBNI_CPU_WASM flag', () => {
  it('is registered by the kernel module, true by default', () => {
    expect(CPU_WASM_FLAG).toBe('TFBNI_CPU_WASM');
    expect(tf.env().getBool(CPU_WASM_FLAG)).toBe(true);
  });

  it('registering again (or a second copy of the package) prints nothing and keeps its value', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      tf.env().set(CPU_WASM_FLAG, false);
      registerCpuWasmFlag();
      registerCpuWasmFlag();
      require('../dist/index.cjs');
      expect(tf.env().getBool(CPU_WASM_FLAG)).toBe(false);
      expect(warn).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });
});

describe('without WebAssembly SIMD', () => {
  it('the kernel falls back to the JS loops silently, with the same bits', async () => {
    // A fresh copy of the kernel modules (sharing this tfjs-core) that finds
    // WebAssembly.validate false, as on a browser without SIMD.
    type SimdModule = typeof import('../kernels/cpu/batch_norm_simd');
    type KernelModule = typeof import('../kernels/cpu/BatchNormInference');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
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
    expect(simd!.batchNormSimd('periodic', new Float32Array(4), out, new Float64Array(1),
                               new Float64Array(1), 1, 1)).toBe(false);
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);

    const d = randomInputs([4, 33, 17, 5], 3, 7);
    await expectNoLeaks(() => {
      const js = runOp(d, false);
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
