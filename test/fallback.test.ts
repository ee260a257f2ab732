/**
 * The op on a backend this package has no kernel for (tfjs-node's
 * 'tensorflow', react-native, a custom backend): it computes with standard
 * tfjs ops (src/ops/batch_norm_inference_fallback.ts).
 *
 * The test registers such a backend: a new MathBackendCPU under a name of its
 * own, with every cpu kernel registered for it except BatchNormInference. On
 * it: the shared cases against the float64 reference, the two float32
 * reproductions, the op's error messages, leaks, the gradient (through the
 * tfjs ops, against the registered gradient on cpu), a layer model predicting
 * what it predicts on cpu, and no console output.
 *
 * Tolerance: profile 'webgl-f32' (test/helpers/reference.ts), the bound for
 * float32 arithmetic. The fallback runs five float32 ops, each correctly
 * rounded on the cpu backend (computed in double, stored as float32):
 * scale = gamma / sqrt(variance + epsilon) carries <= 3 roundings' worth
 * (2^-24 each, the sqrt halving its argument's), x - mean one (none when x
 * and mean are within a factor of two), the product one and the sum one of
 * the result: <= 5 * 2^-24 |(x - mean) * scale| + 2^-24 |y|. The profile
 * allows one ulp of y (>= 2^-24 |y|) plus 4 * 2^-24 of
 * |x*scale| + |mean*scale| + |beta|, which is >= |(x - mean) * scale|; the
 * worst case would need all five roundings at their maximum and in the same
 * direction. The measured worst error over the shared cases is printed.
 */
import * as tf from '@tensorflow/tfjs';
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BatchNormInference, batchNormInference, batchNormInferenceLayer} from '../src';
import {loadCases} from './helpers/cases';
import {expectNoLeaks, expectThrowsWithoutLeak} from './helpers/leaks';
import {caseOptions, runCase} from './helpers/run_case';
import {compareWithReference, referenceBatchNorm, termMagnitude, tolerance, ulp32} from './helpers/reference';

const NO_KERNEL = 'tfbni-test-no-kernel';
const OP = 'Error in batchNormInference:';
const PROFILE = 'webgl-f32';

const consoleSpies: jest.SpyInstance[] = [];

beforeAll(async () => {
  tf.registerBackend(NO_KERNEL, () => new MathBackendCPU(), -1);
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (config.kernelName !== BatchNormInference) {
      tf.registerKernel({...config, backendName: NO_KERNEL});
    }
  }
  // tfjs's cpu backend warns once per instance ("install tfjs-node") on its
  // first write in Node: that (tfjs's, not ours) happens here, silenced.
  const hint = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  for (const backend of ['cpu', NO_KERNEL]) {
    await tf.setBackend(backend);
    tf.tensor1d([1]).dispose();
  }
  hint.mockRestore();
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    consoleSpies.push(jest.spyOn(console, method).mockImplementation(() => undefined));
  }
});

afterAll(async () => {
  await tf.setBackend('cpu');
  for (const config of tf.getKernelsForBackend(NO_KERNEL)) {
    tf.unregisterKernel(config.kernelName, NO_KERNEL);
  }
  tf.removeBackend(NO_KERNEL);
  for (const spy of consoleSpies) spy.mockRestore();
});

describe('batchNormInference on a backend without its kernel (tfjs ops)', () => {
  it('runs on a backend that has the cpu kernels but no BatchNormInference', () => {
    expect(tf.getBackend()).toBe(NO_KERNEL);
    expect(tf.getKernel(BatchNormInference, NO_KERNEL)).toBeUndefined();
    expect(tf.getKernel('Add', NO_KERNEL)).toBeDefined();
    expect(tf.getKernel(BatchNormInference, 'cpu')).toBeDefined();
  });

  describe(`the shared cases against the float64 formula (profile ${PROFILE})`, () => {
    let worst = 0;
    afterAll(() => {
      // Reported, not asserted: how much of the allowance the cases use.
      process.stdout.write(`[fallback] worst error over the shared cases: ` +
                           `${worst.toFixed(3)} of the '${PROFILE}' allowance\n`);
    });
    for (const c of loadCases()) {
      it(c.name, async () => {
        await expectNoLeaks(() => {
          const actual = runCase(c);
          expect(compareWithReference(actual, c, PROFILE)).toEqual([]);
          if (c.expected) expect(compareWithReference(actual, c, PROFILE, c.expected)).toEqual([]);
          const ref = referenceBatchNorm(c);
          const magnitude = termMagnitude(c);
          ref.forEach((e, i) => {
            if (Number.isFinite(Math.fround(e)) && Number.isFinite(magnitude[i])) {
              worst = Math.max(worst, Math.abs(actual[i] - e) / tolerance(PROFILE, e, magnitude[i]));
            }
          });
        });
      });
    }
  });

  it('does not overflow where the result does not: x = mean = 2e38 gives 0', async () => {
    await expectNoLeaks(() => {
      const y = batchNormInference([[2e38]], [4], [0], [2e38], [1], {epsilon: 1e-3});
      expect(Array.from(y.dataSync())).toEqual([0]);
      y.dispose();
    });
  });

  it('keeps x - mean exact: x = 700.5, mean = 700, scale 100 gives 50', async () => {
    await expectNoLeaks(() => {
      const y = batchNormInference([[700.5]], [1], [0], [700], [0], {epsilon: 1e-4});
      // The folded form x*s + (beta - mean*s) = 70050 - 70000 would be off by
      // up to an ulp of 70050 (~0.008); the centred form is within ulps of 50.
      expect(Math.abs(y.dataSync()[0] - 50)).toBeLessThanOrEqual(2 * ulp32(50));
      y.dispose();
    });
  });

  describe('error messages (the op checks before choosing kernel or fallback)', () => {
    const g3 = [1, 1, 1];
    const z3 = [0, 0, 0];
    const loose = batchNormInference as unknown as (...args: unknown[]) => tf.Tensor;
    const cases: Array<[string, () => unknown, string]> = [
      ['x of rank 1', () => batchNormInference([1, 2, 3], g3, z3, z3, g3, {epsilon: 1e-3}),
       `${OP} x must have rank >= 2 (a batch axis and a channel axis at least), but got rank 1 (shape [3]).`],
      ['axis too large', () => batchNormInference(tf.ones([2, 3, 4]), g3, z3, z3, g3, {epsilon: 1e-3, axis: 3}),
       `${OP} axis must be an integer in [-3, 2] for x of rank 3, but got 3.`],
      ['gamma too short', () => batchNormInference(tf.ones([2, 3, 4]), [1, 1], z3, z3, g3, {epsilon: 1e-3}),
       `${OP} gamma must be a rank-1 tensor of length 3 (x.shape[1], with the default axis 1), but got shape [2].`],
      ['epsilon missing', () => loose(tf.ones([2, 3]), g3, z3, z3, g3, {}),
       `${OP} epsilon is required (BatchNormInference-1 has no default), but got undefined.`],
      ['epsilon zero', () => batchNormInference(tf.ones([2, 3]), g3, z3, z3, g3, {epsilon: 0}),
       `${OP} epsilon must be a finite number > 0, but got 0.`],
    ];
    for (const [name, call, message] of cases) {
      it(name, () => {
        // tf.ones made inside `call` is owned by the caller: tidy it so the
        // leak check sees only what the op itself might leave.
        expectThrowsWithoutLeak(() => tf.tidy(() => call() as tf.Tensor), message);
      });
    }
  });

  it('has the gradient of the formula (tfjs ops), equal to the kernel\'s on cpu', async () => {
    const c = loadCases((s) => s.name === 'rank 4 shape [2, 3, 4, 5] axis -3')[0];
    const w = tf.tidy(() => tf.randomUniform(c.shape, -1, 1, 'float32', 7));
    const gradsOn = async (backend: string) => {
      await tf.setBackend(backend);
      return expectNoLeaks(() => tf.tidy(() => {
        const inputs = [tf.tensor(c.x, c.shape), ...[c.gamma, c.beta, c.mean, c.variance].map(
            (v) => tf.tensor1d(v))];
        const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) =>
            tf.sum(tf.mul(batchNormInference(x, g, b, m, v, caseOptions(c)), w));
        return tf.grads(f)(inputs).map((g) => Array.from(g.dataSync()));
      }));
    };
    const onCpu = await gradsOn('cpu');
    const fallback = await gradsOn(NO_KERNEL);
    w.dispose();
    expect(fallback.length).toBe(5);
    fallback.forEach((g, k) => {
      const scale = Math.max(1, ...onCpu[k].map(Math.abs));
      g.forEach((v, i) => expect(Math.abs(v - onCpu[k][i])).toBeLessThanOrEqual(1e-5 * scale));
    });
  });

  it('runs a layer model that predicts what it predicts on cpu', async () => {
    const channels = 6;
    const make = () => {
      const model = tf.sequential();
      model.add(tf.layers.conv2d({
        inputShape: [5, 5, 2], filters: channels, kernelSize: 3, padding: 'same',
        kernelInitializer: tf.initializers.randomUniform({minval: -1, maxval: 1, seed: 3}),
      }));
      model.add(batchNormInferenceLayer({
        TrainedMean: [0.5, -1, 2, 0, 0.25, -0.5], TrainedVariance: [1, 4, 0.5, 2, 0.01, 9],
        Scale: [1, -2, 0.5, 3, 1, 1], Offset: [0, 1, -1, 0.5, 2, -3], Epsilon: 1e-3,
      }));
      return model;
    };
    const x = tf.tidy(() => tf.randomNormal([3, 5, 5, 2], 0, 1, 'float32', 11));
    await tf.setBackend('cpu');
    const model = make();
    const onCpu = tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
    await tf.setBackend(NO_KERNEL);
    const fallback = await expectNoLeaks(
        () => tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync())));
    model.dispose();
    x.dispose();
    expect(fallback.length).toBe(3 * 5 * 5 * channels);
    fallback.forEach((v, i) => expect(Math.abs(v - onCpu[i])).toBeLessThanOrEqual(
        1e-5 * Math.max(1, Math.abs(onCpu[i]))));
  });

  it('printed nothing (no warning per call)', () => {
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });
});
