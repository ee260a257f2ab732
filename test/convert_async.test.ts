/**
 * foldBatchNormalizationAsync and replaceBatchNormalizationAsync: the same
 * models as the synchronous tools (bit for bit), the same errors (as
 * rejections), nothing leaked; and, on a backend named 'webgpu' (here a
 * registered copy of the cpu backend, so that Node can run it), the
 * synchronous tools refuse with a pointer to the async ones, which work.
 * The real webgpu backend runs them in test/webgpu_models.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BatchNormInference, foldBatchNormalization, foldBatchNormalizationAsync, replaceBatchNormalization, replaceBatchNormalizationAsync} from '../src';
import {errorOf, expectNoLeaks} from './helpers/leaks';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const {mobileNetV2, randomizeWeights, resNetBlocks} = require('../bench/model_builders.js');

const FAKE_WEBGPU = 'webgpu';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Every weight as its name (without tfjs's uniquifying suffix) and its bytes
 * in base64, in order: equal iff bit for bit equal.
 */
function weightValues(model: tf.LayersModel): string[] {
  return model.weights.map((w) => {
    const v = w.read().dataSync();
    return `${w.originalName} ${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
  });
}

async function rejectionOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

describe('the async model tools give what the synchronous ones give', () => {
  const models = {
    'MobileNetV2 (32x32)': [() => randomizeWeights(tf, mobileNetV2(tf, {size: 32, classes: 10}), 4), [undefined]],
    'ResNet blocks': [() => randomizeWeights(tf, resNetBlocks(tf, {size: 8, width: 4}), 5),
                      [undefined, {stockLayersOnly: true}]],
  } as const;
  for (const [name, [build, modes]] of Object.entries(models)) {
    it(`${name}: fold (${modes.length === 1 ? 'default' : 'both modes'}) and replace, same weights and ` +
       `report, nothing leaked`, async () => {
      const model: tf.LayersModel = build();
      await expectNoLeaks(async () => {
        for (const options of modes) {
          const sync = foldBatchNormalization(model, options);
          const async = await foldBatchNormalizationAsync(model, options);
          expect(async.report).toEqual(sync.report);
          expect(weightValues(async.model)).toEqual(weightValues(sync.model));
          sync.model.dispose();
          async.model.dispose();
        }
        const sync = replaceBatchNormalization(model).model;
        const async = (await replaceBatchNormalizationAsync(model)).model;
        expect(weightValues(async)).toEqual(weightValues(sync));
        sync.dispose();
        async.dispose();
      });
      model.dispose();
    });
  }

  it('reject what the synchronous tools throw, with the same message, leaking nothing', async () => {
    const graph = {executeAsync: async () => null, execute: () => null} as unknown as tf.LayersModel;
    const promise = Promise.resolve(1) as unknown as tf.LayersModel;
    await expectNoLeaks(async () => {
      for (const bad of [graph, promise, 3 as unknown as tf.LayersModel]) {
        expect(await rejectionOf(foldBatchNormalizationAsync(bad))).toBe(errorOf(() => foldBatchNormalization(bad)));
        expect(await rejectionOf(replaceBatchNormalizationAsync(bad)))
            .toBe(errorOf(() => replaceBatchNormalization(bad)));
      }
    });
  });

  it('a weight the layer rejects (negative variance) rejects the same way; the tools work after', async () => {
    const input = tf.input({shape: [3]});
    const out = tf.layers.batchNormalization({name: 'bn'}).apply(
        tf.layers.dense({name: 'dense', units: 2, activation: 'relu'}).apply(input)) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: out});
    const bn = model.getLayer('bn');
    const [gamma, beta, mean] = bn.getWeights();
    const negative = tf.tensor1d([1, -2]);
    bn.setWeights([gamma, beta, mean, negative]);
    negative.dispose();
    const expected = 'Error in BatchNormInference layer \'bn\': TrainedVariance (weight moving_variance) must be ' +
        '>= 0, but element 1 is -2.';
    await expectNoLeaks(async () => {
      expect(errorOf(() => replaceBatchNormalization(model))).toBe(expected);
      expect(await rejectionOf(replaceBatchNormalizationAsync(model))).toBe(expected);
      // The prefetched values are gone: a later synchronous call reads afresh.
      const good = tf.tensor1d([1, 2]);
      bn.setWeights([gamma, beta, mean, good]);
      good.dispose();
      replaceBatchNormalization(model).model.dispose();
    });
    model.dispose();
  });
});

describe(`on a backend named '${FAKE_WEBGPU}' (no dependable synchronous read)`, () => {
  beforeAll(async () => {
    tf.registerBackend(FAKE_WEBGPU, () => new MathBackendCPU(), -1);
    for (const config of tf.getKernelsForBackend('cpu')) {
      if (config.kernelName !== BatchNormInference) tf.registerKernel({...config, backendName: FAKE_WEBGPU});
    }
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
    for (const config of tf.getKernelsForBackend('cpu')) {
      if (config.kernelName !== BatchNormInference) tf.unregisterKernel(config.kernelName, FAKE_WEBGPU);
    }
    tf.removeBackend(FAKE_WEBGPU);
  });

  it('the synchronous tools refuse and name the async one; the async ones fold and replace', async () => {
    const before = tf.memory().numTensors;
    const model = randomizeWeights(tf, resNetBlocks(tf, {size: 8, width: 4}), 6);
    const expected = {fold: foldBatchNormalization(model).model, replace: replaceBatchNormalization(model).model};
    await tf.setBackend(FAKE_WEBGPU);
    await expectNoLeaks(() => {
      for (const [tool, run] of [['foldBatchNormalization', () => foldBatchNormalization(model)],
                                 ['replaceBatchNormalization', () => replaceBatchNormalization(model)]] as const) {
        expect(errorOf(run)).toBe(
            `Error in ${tool}: reads the model's weights, which the webgpu backend cannot do synchronously ` +
            `(its synchronous read is slow and on some devices wrong); use \`await ${tool}Async(model)\` ` +
            `on webgpu.`);
      }
    });
    const folded = (await foldBatchNormalizationAsync(model)).model;
    const replaced = (await replaceBatchNormalizationAsync(model)).model;
    await tf.setBackend('cpu');
    expect(weightValues(folded)).toEqual(weightValues(expected.fold));
    expect(weightValues(replaced)).toEqual(weightValues(expected.replace));
    for (const m of [model, folded, replaced, expected.fold, expected.replace]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
