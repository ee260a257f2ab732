/**
 * The fold / replace fuzz of test/fold_fuzz.test.ts on webgl and webgpu
 * (headless Chromium): random small models (Dense, Conv2D, DepthwiseConv2D,
 * SeparableConv2D -> batch norm -> activation -> activation -> batch norm),
 * inputs with ~15% NaN / ±Infinity, one batch norm in three with a negative
 * variance. In the page, the original model runs on cpu (the reference: tfjs's
 * cpu kernels keep NaN) and on the GPU backend; fold and replace run there
 * (the async tools) and their outputs come back to Node, which checks them
 * as the Node fuzz does (test/helpers/fold_fuzz_check.ts).
 *
 * The GPU's own stock kernels deviate in places (webgpu's relu6 and sigmoid
 * give 0 for NaN; webgl's relu gives NaN for -Infinity, its elu +Infinity
 * for NaN, its packed clip passes a texel holding a NaN unclipped): an
 * element where the original model on the same backend deviates from the
 * reference is counted, not checked.
 */
import type {Page} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser, WEBGPU_FLAGS} from './helpers/browser';
import {compare, FuzzTotals} from './helpers/fold_fuzz_check';

const CASES = 12;

interface PageCase {name: string, reference: number[], original: number[], outputs: Record<string, number[]>}

async function runInPage(args: {backend: string, cases: number}):
    Promise<{cases: PageCase[], before: number, after: number}> {
  const w = window as any;
  const tf = w.tf;
  const tfbni = w.tfbni;
  const KINDS = ['Dense', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D'];
  const ACTS: Array<[string, () => any]> = [
    ['none', () => tf.layers.activation({activation: 'linear'})],
    ['ReLU', () => tf.layers.reLU()],
    ['ReLU 6', () => tf.layers.reLU({maxValue: 6})],
    ['ELU', () => tf.layers.elu()],
    ['LeakyReLU', () => tf.layers.leakyReLU({alpha: 0.2})],
    ['sigmoid', () => tf.layers.activation({activation: 'sigmoid'})],
  ];
  const read = async (m: any, x: number[], shape: number[]) => {
    const t = tf.tensor(x, shape);
    const y = m.predict(t);
    const v = Array.from(await y.data()) as number[];
    tf.dispose([t, y]);
    return v;
  };
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const out: PageCase[] = [];
  for (let seed = 0; seed < args.cases; seed++) {
    await tf.setBackend('cpu');
    const random = w.tfbniStats.prng(seed + 2000);
    const pick = (list: any[]) => list[Math.floor(random() * list.length)];
    const kind = pick(KINDS);
    const [actName, act] = pick(ACTS);
    const [act2Name, act2] = pick(ACTS.slice(1));
    const dense = kind === 'Dense';
    const inputShape = dense ? [6] : [5, 5, 3];
    const kernelSize = pick([1, 3]);
    const padding = pick(['same', 'valid']);
    const multiplier = pick([1, 2]);
    const negative = random() < 1 / 3;
    const first = dense ? tf.layers.dense({units: 4, inputShape}) :
        kind === 'Conv2D' ? tf.layers.conv2d({filters: 4, kernelSize, padding, inputShape}) :
        kind === 'DepthwiseConv2D' ? tf.layers.depthwiseConv2d({kernelSize, padding, depthMultiplier: multiplier, inputShape}) :
        tf.layers.separableConv2d({filters: 4, kernelSize, padding, depthMultiplier: multiplier, inputShape});
    const model = tf.sequential({layers: [first, tf.layers.batchNormalization(), act(), act2(),
                                          tf.layers.batchNormalization()]});
    tf.tidy(() => model.setWeights(model.weights.map((v: any) => {
      const size = v.shape.reduce((a: number, b: number) => a * b, 1);
      const name = v.originalName.split('/').pop();
      const [lo, hi] = name === 'moving_variance' ? [0.05, 2] : name === 'gamma' ? [0.5, 1.5] : [-1, 1];
      const values = Array.from({length: size}, () => lo + (hi - lo) * random());
      if (negative && name === 'moving_variance') values[Math.floor(random() * size)] = -0.5;
      return tf.tensor(values, v.shape);
    })));
    const shape = [2, ...inputShape];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = Array.from({length: n}, () => {
      const r = random();
      return r < 0.05 ? NaN : r < 0.1 ? Infinity : r < 0.15 ? -Infinity : 4 * random() - 2;
    });
    const reference = await read(model, x, shape);
    await tf.setBackend(args.backend);
    const original = await read(model, x, shape);
    const outputs: Record<string, number[]> = {};
    const tools: Array<[string, () => Promise<any>]> = [
      ['fold', async () => (await tfbni.foldBatchNormalizationAsync(model)).model],
      ['fold stockLayersOnly', async () => (await tfbni.foldBatchNormalizationAsync(model, {stockLayersOnly: true})).model],
      ['replace', async () => (await tfbni.replaceBatchNormalizationAsync(model)).model],
    ];
    for (const [tool, run] of tools) {
      const m = await run();
      outputs[tool] = await read(m, x, shape);
      m.dispose();
    }
    model.dispose();
    const name = `${seed}: ${kind}${dense ? '' : ` k${kernelSize} ${padding}${kind === 'Conv2D' ? '' : ` x${multiplier}`}`}` +
        ` -> bn -> ${actName} -> ${act2Name} -> bn${negative ? ' (a negative variance)' : ''}`;
    out.push({name, reference, original, outputs});
  }
  await tf.setBackend('cpu');
  return {cases: out, before, after: tf.memory().numTensors};
}

for (const backend of ['webgl', 'webgpu']) {
  describeInBrowser(`fold / replace fuzz on ${backend}: NaN, ±Infinity, negative variances (headless Chromium)`, () => {
    let session: BrowserSession;
    let page: Page;
    let result: {cases: PageCase[], before: number, after: number};
    const totals = new FuzzTotals();

    beforeAll(async () => {
      session = await startBrowser(backend === 'webgpu' ? {extraFlags: WEBGPU_FLAGS} : {});
      page = await session.open(`/test/browser/harness.html?backend=${backend}`);
      result = await page.evaluate(runInPage, {backend, cases: CASES});
    }, 300000);

    afterAll(async () => {
      totals.print(`fold fuzz, ${backend}`);
      await session?.close();
    });

    it('leaves no tensor on cpu (the models and copies are disposed)', () => {
      expect(result.cases.length).toBe(CASES);
      expect(result.after).toBe(result.before);
    });

    for (let i = 0; i < CASES; i++) {
      it(`case ${i}: every tool computes what the original does on ${backend} wherever that is right`, () => {
        const c = result.cases[i];
        for (const [tool, actual] of Object.entries(c.outputs)) {
          const f = compare(actual, c.reference, c.original);
          totals.add(`${backend} ${tool}`, f);
          expect({name: c.name, tool, bad: f.bad.slice(0, 5)}).toEqual({name: c.name, tool, bad: []});
        }
      });
    }
  });
}
