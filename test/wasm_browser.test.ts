/**
 * The wasm kernel in real headless Chromium, loaded as a user loads it:
 * tf.min.js, tf-backend-wasm.min.js (binaries located with setWasmPaths) and
 * dist/tfjs-batchnorm-inference.min.js, whose @tensorflow/* imports are the
 * page's global `tf`. The page is the shared harness
 * (test/browser/harness.html), with the wasm backend's script added to it.
 * The shared cases are materialized here in Node, run in the page on the
 * wasm backend, and compared here bit for bit with the exact reference
 * (test/helpers/exact.ts), as in Node; the SIMD core must have been
 * instantiated on the page backend's own heap.
 *
 * Run: `npm run build && npx jest test/wasm_browser.test.ts`. Needs Chromium
 * (/usr/bin/chromium or CHROME_PATH); TFBNI_SKIP_BROWSER_TESTS=1 skips it
 * deliberately (see test/helpers/browser.ts).
 */
import type {Page} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';
import {loadCases} from './helpers/cases';
import {exactBatchNorm, firstBitDifference} from './helpers/exact';

const HARNESS = '/test/browser/harness.html';
const WASM_DIST = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

interface PageResult {
  name: string;
  values?: number[];
  shape?: number[];
  error?: string;
  tensorsBefore: number;
  tensorsAfter: number;
}

/** In the page: every case on the wasm backend, with tensors counted around each. */
async function runCases(page: Page, cases: ReturnType<typeof loadCases>): Promise<PageResult[]> {
  const plain = cases.map((c) => ({
    name: c.name, shape: c.shape, axisArg: c.axisArg, epsilon: c.epsilon,
    x: Array.from(c.x), gamma: Array.from(c.gamma), beta: Array.from(c.beta),
    mean: Array.from(c.mean), variance: Array.from(c.variance),
  }));
  return page.evaluate(async (list) => {
    const g = globalThis as unknown as {tf: any, tfbni: any};
    const {tf, tfbni} = g;
    const results: unknown[] = [];
    for (const c of list) {
      const tensorsBefore = tf.memory().numTensors;
      const r: Record<string, unknown> = {name: c.name, tensorsBefore};
      try {
        const x = tf.tensor(c.x, c.shape, 'float32');
        const opts = c.axisArg === undefined ? {epsilon: c.epsilon} :
                                               {epsilon: c.epsilon, axis: c.axisArg};
        const y = tfbni.batchNormInference(x, c.gamma, c.beta, c.mean, c.variance, opts);
        r.shape = y.shape;
        r.values = Array.from(await y.data());
        tf.dispose([x, y]);
      } catch (e) {
        r.error = String((e as Error).stack || e);
      }
      r.tensorsAfter = tf.memory().numTensors;
      results.push(r);
    }
    return results;
  }, plain) as unknown as Promise<PageResult[]>;
}

describeInBrowser('BatchNormInference on the wasm backend in Chromium', () => {
  let session: BrowserSession;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    session = await startBrowser();
    page = await session.open(HARNESS);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.addScriptTag({url: `${WASM_DIST}tf-backend-wasm.min.js`});
    const info = await page.evaluate(async (prefix) => {
      const {tf} = globalThis as unknown as {tf: any};
      tf.wasm.setWasmPaths(prefix);
      const ok = await tf.setBackend('wasm');
      // Record every WebAssembly instance created from now on, and whether
      // it imports the backend's own heap (the SIMD core does).
      const heap = tf.backend().wasm.asm.memory;
      const Original = WebAssembly.Instance;
      const seen: boolean[] = [];
      (globalThis as any).instancesOnHeap = seen;
      (WebAssembly as any).Instance = function(module: WebAssembly.Module, imports?: any) {
        seen.push(imports?.env?.memory === heap);
        return new Original(module, imports);
      };
      return {
        ok, backend: tf.getBackend(), simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
        kernel: tf.getKernel('BatchNormInference', 'wasm') != null,
      };
    }, WASM_DIST);
    expect(info).toEqual({ok: true, backend: 'wasm', simd: info.simd, kernel: true});
  });

  afterAll(async () => {
    await session?.close();
  });

  it('runs every shared case exactly, on the SIMD core, and leaks no tensor', async () => {
    const cases = loadCases();
    const results = await runCases(page, cases);
    expect(results.length).toBe(cases.length);
    results.forEach((r, k) => {
      const c = cases[k];
      expect({name: r.name, error: r.error}).toEqual({name: c.name, error: undefined});
      expect(r.shape).toEqual(c.shape);
      expect({name: c.name, difference: firstBitDifference(r.values!, exactBatchNorm(c))})
          .toEqual({name: c.name, difference: null});
      expect(r.tensorsAfter).toBe(r.tensorsBefore);
    });
    expect(await page.evaluate(() => (globalThis as any).tf.getBackend())).toBe('wasm');
    // The SIMD core was instantiated once, on the backend's heap.
    expect(await page.evaluate(() => (globalThis as any).instancesOnHeap)).toEqual([true]);
  });

  it('reads x and writes y in the heap of the page\'s wasm backend', async () => {
    const r = await page.evaluate(() => {
      const {tf, tfbni} = globalThis as unknown as {tf: any, tfbni: any};
      const backend = tf.backend();
      const x = tf.randomUniform([2, 5, 5, 8], -3, 3, 'float32', 1);
      const stats = [tf.ones([8]), tf.zeros([8]), tf.zeros([8]), tf.ones([8])];
      const calls: string[] = [];
      const spied = ['read', 'readSync', 'write'].map((name) => {
        const original = backend[name];
        backend[name] = function(...args: unknown[]) {
          calls.push(name);
          return original.apply(this, args);
        };
        return () => { backend[name] = original; };
      });
      let y;
      try {
        y = tfbni.batchNormInference(x, ...stats, {epsilon: 1e-3, axis: -1});
      } finally {
        spied.forEach((restore) => restore());
      }
      const expected = tf.div(x, tf.sqrt(tf.scalar(1 + 1e-3)));
      const diff = tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0];
      tf.dispose([x, y, expected, ...stats]);
      return {calls, diff};
    });
    // One allocation (y); nothing read out of the heap.
    expect(r.calls).toEqual(['write']);
    expect(r.diff).toBeLessThan(1e-6);
    expect(consoleErrors).toEqual([]);
  });
});
