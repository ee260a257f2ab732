/**
 * #18 item 3 on the GPU backends (headless Chromium: webgl, and webgpu on
 * SwiftShader): the fused layers keep NaN through every activation, the
 * audit's folded reproductions give NaN where the stock model does, and the
 * table of tfjs fused kernels that keep NaN (FUSED_KEEPS_NAN in
 * src/ops/bias_activation.ts) still holds for this tfjs.
 *
 * Expected values: NaN where activation's input is NaN; elsewhere the stock
 * unary activation of the same backend (what the stock layers compute: webgl's
 * own relu turns -Infinity into NaN, and a folded model does the same).
 */
import type {Page} from 'playwright-core';

import {FUSED_ACTIVATIONS} from '../kernels/kernel_names';
import {FUSED_KEEPS_NAN} from '../src/ops/bias_activation';
import {BrowserSession, describeInBrowser, startBrowser, WEBGPU_FLAGS} from './helpers/browser';

const INPUT = [NaN, Infinity, -Infinity, 1, -1, 7, -0.5, 0];
const BIAS = 0.5;

interface LayerRun {layer: string, activation: string, values: number[], stockUnary: number[]}
interface PageResult {
  backend: string;
  /** For each activation: whether tf.fused.matMul / conv2d / depthwiseConv2d kept NaN. */
  fusedKeepsNaN: Record<string, boolean[]>;
  layers: LayerRun[];
  repro: {stock: number[], folded: number[]};
  negativeVariance: {stock: number[], folded: number[]};
  before: number; after: number;
}

async function runInPage(args: {backend: string, input: number[], bias: number, activations: string[]}):
    Promise<PageResult> {
  const w = window as any;
  const tf = w.tf;
  const tfbni = w.tfbni;
  if (!(await tf.setBackend(args.backend))) throw new Error(`the ${args.backend} backend did not initialize`);
  const before = tf.memory().numTensors;
  const n = args.input.length;
  const read = async (t: any) => {
    const v = Array.from(await t.data()) as number[];
    t.dispose();
    return v;
  };
  const fusedKeepsNaN: Record<string, boolean[]> = {};
  for (const activation of args.activations) {
    const outs = tf.tidy(() => {
      const common = {bias: tf.tensor1d([0]), activation, leakyreluAlpha: 0.2};
      const x4 = tf.tensor4d([NaN, 1], [1, 2, 1, 1]);
      const f4 = tf.ones([1, 1, 1, 1]);
      return [
        tf.fused.matMul({a: tf.tensor2d([NaN, 1], [2, 1]), b: tf.ones([1, 1]), ...common}),
        tf.fused.conv2d({x: x4, filter: f4, strides: 1, pad: 'valid', ...common}),
        tf.fused.depthwiseConv2d({x: x4, filter: f4, strides: 1, pad: 'valid', ...common}),
      ];
    });
    fusedKeepsNaN[activation] = [];
    for (const t of outs) fusedKeepsNaN[activation].push(Number.isNaN((await read(t))[0]));
  }
  const layers: LayerRun[] = [];
  for (const activation of args.activations) {
    const stock = tf.tidy(() => {
      const s = tf.add(tf.tensor1d(args.input), args.bias);
      const unary: Record<string, () => any> = {
        linear: () => s, relu: () => tf.relu(s), relu6: () => tf.relu6(s), elu: () => tf.elu(s),
        leakyrelu: () => tf.leakyRelu(s, 0.2), sigmoid: () => tf.sigmoid(s),
      };
      return unary[activation]();
    });
    const stockUnary = await read(stock);
    const kinds: Array<[string, any, any, number[]]> = [
      ['FusedDense', tfbni.fusedDense({units: 1, activation}), tf.tensor2d(args.input, [n, 1]), [1, 1]],
      ['FusedConv2D', tfbni.fusedConv2d({filters: 1, kernelSize: 1, activation}),
       tf.tensor4d(args.input, [1, n, 1, 1]), [1, 1, 1, 1]],
      ['FusedDepthwiseConv2D', tfbni.fusedDepthwiseConv2d({kernelSize: 1, activation}),
       tf.tensor4d(args.input, [1, n, 1, 1]), [1, 1, 1, 1]],
    ];
    for (const [name, layer, x, kernelShape] of kinds) {
      layer.apply(x).dispose();
      const weights = [tf.ones(kernelShape), tf.tensor1d([args.bias])];
      layer.setWeights(weights);
      tf.dispose(weights);
      layers.push({layer: name, activation, values: await read(layer.apply(x)), stockUnary});
      x.dispose();
      layer.dispose();
    }
  }
  // The audit's reproduction, and a negative variance: dense -> batchNormalization -> ReLU.
  const model = (maxValue?: number) => tf.sequential({layers: [
    tf.layers.dense({units: 3, inputShape: [4], kernelInitializer: 'ones', biasInitializer: 'ones'}),
    tf.layers.batchNormalization({movingVarianceInitializer: 'ones'}),
    tf.layers.reLU({maxValue}),
  ]});
  const compare = async (m: any, x: any) => {
    const folded = (await tfbni.foldBatchNormalizationAsync(m)).model;
    const out = {stock: await read(m.predict(x)), folded: await read(folded.predict(x))};
    folded.dispose();
    m.dispose();
    x.dispose();
    return out;
  };
  const repro = await compare(model(), tf.tensor2d([[NaN, 1, 2, 3]]));
  const negative = model(6);
  const bn = negative.layers[1];
  const bnWeights = tf.tidy(() => [tf.ones([3]), tf.zeros([3]), tf.zeros([3]), tf.tensor1d([1, -2, 0.5])]);
  bn.setWeights(bnWeights);
  tf.dispose(bnWeights);
  const negativeVariance = await compare(negative, tf.tensor2d([[0.5, 1, 2, 3], [1, -2, 3, 4]]));
  return {backend: tf.getBackend(), fusedKeepsNaN, layers, repro, negativeVariance, before,
          after: tf.memory().numTensors};
}

for (const backend of ['webgl', 'webgpu']) {
  describeInBrowser(`#18: NaN through the fused layers and folded models on ${backend} (headless Chromium)`, () => {
    let session: BrowserSession;
    let page: Page;
    let result: PageResult;

    beforeAll(async () => {
      session = await startBrowser(backend === 'webgpu' ? {extraFlags: WEBGPU_FLAGS} : {});
      page = await session.open(`/test/browser/harness.html?backend=${backend}`);
      result = await page.evaluate(runInPage, {backend, input: INPUT, bias: BIAS, activations: [...FUSED_ACTIVATIONS]});
    }, 120000);

    afterAll(async () => {
      await session?.close();
    });

    it(`runs on ${backend} and leaves no tensor`, () => {
      expect(result.backend).toBe(backend);
      expect(result.after).toBe(result.before);
    });

    it('FUSED_KEEPS_NAN lists only activations whose tf.fused kernels keep NaN here (matMul, conv2d, depthwise)', () => {
      const listed = FUSED_KEEPS_NAN[backend];
      const claimed = Object.fromEntries(listed.map((a) => [a, [true, true, true]]));
      expect(Object.fromEntries(listed.map((a) => [a, result.fusedKeepsNaN[a]]))).toEqual(claimed);
    });

    it.each([...FUSED_ACTIVATIONS])('%s: each fused layer gives NaN for NaN, and the stock activation elsewhere', (activation) => {
      for (const run of result.layers.filter((r) => r.activation === activation)) {
        const expected = INPUT.map((v, i) => (Number.isNaN(v) ? NaN : run.stockUnary[i]));
        const bad = run.values.map((v, i) => {
          const e = expected[i];
          const ok = Number.isNaN(e) ? Number.isNaN(v) :
              !Number.isFinite(e) ? v === e : Math.abs(v - e) <= 1e-5 * Math.max(1, Math.abs(e));
          return ok ? '' : `${run.layer} [${i}] (input ${INPUT[i]}): got ${v}, expected ${e}`;
        }).filter((m) => m !== '');
        expect(bad).toEqual([]);
      }
    });

    it('dense -> batchNormalization -> reLU, input [[NaN, 1, 2, 3]]: stock NaN, folded NaN', () => {
      expect(result.repro.stock).toEqual([NaN, NaN, NaN]);
      expect(result.repro.folded).toEqual([NaN, NaN, NaN]);
    });

    it('a negative variance (dense -> bn -> reLU maxValue 6): folded NaN in that channel, the rest as the formula', () => {
      // dense (kernel and bias ones): sum(x) + 1 = 7.5 and 7 in each unit; bn: gamma 1, beta 0,
      // mean 0, variance [1, -2, 0.5], epsilon 1e-3; relu6 clips 7.5 / sqrt(1.001) and 7.5 / sqrt(0.501).
      // (The stock model is no reference here: tfjs's packed webgl clip passes a whole texel
      // through unclipped when one of its four values is NaN, 7.496 instead of 6, and webgpu's
      // relu6 turns the NaN into 0.)
      expect(result.negativeVariance.folded).toEqual([6, NaN, 6, 6, NaN, 6]);
    });
  });
}
