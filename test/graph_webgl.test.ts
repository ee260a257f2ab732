/**
 * The graph tools on webgl, in headless Chromium (tools/chromium.js; the page
 * loads the browser bundle and test/fixtures/graph/graph_builder.js):
 * - every fused form foldGraphModelArtifacts writes (conv2d, depthwise with
 *   channel multiplier 1 and 2, matMul, matMul with transpose_b, transposed
 *   conv, forward folds; each activation) predicts like the original, within
 *   1e-5 of max|y|;
 * - FusedBatchNormV3 NCHW and is_training true, executed by the package's op,
 *   predict like the float64 reference (1e-5 of max|ref|).
 */
import type {Page} from 'playwright-core';

import {trainingForward64} from './helpers/batch_moments';
import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';
import {referenceBatchNorm} from './helpers/reference';

declare const tf: any;
declare const tfbni: any;

const HARNESS = '/test/browser/harness.html?backend=webgl';
const TOLERANCE = 1e-5;

describeInBrowser('graph models on webgl', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await startBrowser();
    page = await session.open(HARNESS);
    await page.addScriptTag({url: `${session.baseUrl}/test/fixtures/graph/graph_builder.js`});
    expect(await page.evaluate(async () => {
      await tf.setBackend('webgl');
      return tf.getBackend();
    })).toBe('webgl');
  });
  afterAll(async () => {
    await session?.close();
  });

  it('the folded forms predict like the original', async () => {
    const results = await page.evaluate(async () => {
      const {createGraph} = (window as unknown as {tfbniGraphBuilder: {createGraph: (seed: number) => any}}).tfbniGraphBuilder;
      const acts: Record<string, (g: any, y: string, c: number) => string> = {
        leaky: (g, y) => g.node('LeakyRelu', 'act', [y], {T: {type: 'DT_FLOAT'}, alpha: {f: 0.1}}),
        prelu: (g, y, c) => g.binary('Prelu', 'act', y, g.perChannel('alpha', c, [0.05, 0.3])),
        relu6: (g, y) => g.unary('Relu6', 'act', y),
        elu: (g, y) => g.unary('Elu', 'act', y),
        sigmoid: (g, y) => g.unary('Sigmoid', 'act', y),
        none: (_g, y) => y,
      };
      const out: Array<{name: string, diff: number, folded: number}> = [];
      for (const kind of ['conv', 'dw', 'dw2', 'fc', 'fcT', 'deconv', 'fwdconv', 'fwdfc']) {
        for (const [name, act] of Object.entries(acts)) {
          const g = createGraph(3);
          const fc = kind === 'fc' || kind === 'fcT' || kind === 'fwdfc';
          let y = g.input('x', fc ? [-1, 12] : [-1, 6, 6, 3]);
          const c = ({conv: 4, dw: 3, dw2: 6, fc: 5, fcT: 5, deconv: 5, fwdconv: 3, fwdfc: 12} as Record<string, number>)[kind];
          if (kind === 'conv') y = g.conv2d('c', y, [3, 3, 3, 4]);
          if (kind === 'dw') y = g.depthwise('c', y, [3, 3, 3, 1]);
          if (kind === 'dw2') y = g.depthwise('c', y, [3, 3, 3, 2]);
          if (kind === 'fc') y = g.matmul('c', y, [12, 5]);
          if (kind === 'fcT') y = g.matmul('c', y, [5, 12], {transposeB: true});
          if (kind === 'deconv') y = g.conv2dTranspose('c', y, [3, 3, 5, 3], [2, 12, 12, 5]);
          if (kind.startsWith('fwd')) y = g.unary('Relu', 'r0', y);
          y = g.binary('AddV2', 'add', g.binary('Mul', 'mul', y, g.perChannel('s', c, [0.5, 1.5])),
                       g.perChannel('t', c, [-0.5, 0.5]));
          if (kind === 'fwdconv') y = g.conv2d('c', y, [3, 3, 3, 4], {padding: 'VALID'});
          if (kind === 'fwdfc') y = g.matmul('c', y, [12, 5]);
          y = act(g, y, kind === 'fwdconv' ? 4 : kind === 'fwdfc' ? 5 : c);
          const original = g.artifacts([y]);
          const {artifacts, report} = tfbni.foldGraphModelArtifacts(original);
          const x = tf.randomUniform(fc ? [2, 12] : [2, 6, 6, 3], -1, 1, 'float32', 7);
          const m0 = await tf.loadGraphModel(tf.io.fromMemory(original));
          const m1 = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
          const [t0, t1] = [m0.predict(x), m1.predict(x)] as any[];
          const [y0, y1] = [await t0.data(), await t1.data()];
          let d = 0;
          let p = 0;
          y0.forEach((v: number, i: number) => {
            d = Math.max(d, Math.abs(v - y1[i]));
            p = Math.max(p, Math.abs(v));
          });
          tf.dispose([x, t0, t1]);
          m0.dispose();
          m1.dispose();
          out.push({name: `${kind} ${name}`, diff: d / p, folded: report.folded.length});
        }
      }
      return out;
    });
    expect(results).toHaveLength(48);
    for (const r of results) expect({name: r.name, folded: r.folded, close: r.diff < TOLERANCE}).toEqual({name: r.name, folded: 1, close: true});
  });

  it.each([['NCHW', false], ['NCHW', true], ['NHWC', true]] as const)(
      'FusedBatchNormV3 %s, is_training %s, predicts like the float64 reference', async (dataFormat, isTraining) => {
    const shape = dataFormat === 'NHWC' ? [2, 3, 5, 4] : [2, 4, 3, 5];
    const got = await page.evaluate(async ({shape, dataFormat, isTraining}) => {
      const {createGraph} = (window as unknown as {tfbniGraphBuilder: {createGraph: (seed: number) => any}}).tfbniGraphBuilder;
      const g = createGraph(31);
      const x = g.input('x', [-1, ...shape.slice(1)]);
      const y = g.fusedBatchNorm('bn', x, dataFormat === 'NHWC' ? shape[3] : shape[1],
                                 {op: 'FusedBatchNormV3', dataFormat, isTraining, epsilon: 1e-3});
      const params = Object.fromEntries(g.weights.map((w: {name: string, values: Float32Array}) =>
                                                          [w.name.split('/')[1], Array.from(w.values)]));
      const model = await tf.loadGraphModel(tf.io.fromMemory(g.artifacts([y])));
      const input = tf.randomUniform(shape, -2, 3, 'float32', 11);
      const before = tf.memory().numTensors;
      const out = model.predict(input) as any;
      const values = Array.from(await out.data()) as number[];
      out.dispose();
      const leaked = tf.memory().numTensors - before;
      const xs = Array.from(await input.data()) as number[];
      input.dispose();
      model.dispose();
      return {values, xs, params, leaked};
    }, {shape, dataFormat, isTraining});
    expect(got.leaked).toBe(0);
    const axis = dataFormat === 'NHWC' ? 3 : 1;
    const {gamma, beta, mean, variance} = got.params as Record<string, number[]>;
    const ref = isTraining ? trainingForward64(got.xs, shape, axis, gamma, beta, 1e-3).y :
        referenceBatchNorm({shape, axis, epsilon: 1e-3, x: got.xs, gamma, beta, mean, variance});
    const peak = Math.max(...Array.from(ref, Math.abs));
    const worst = Math.max(...got.values.map((v, i) => Math.abs(v - ref[i])));
    expect(worst).toBeLessThanOrEqual(TOLERANCE * peak);
  });
});
