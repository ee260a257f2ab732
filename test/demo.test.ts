/**
 * The browser demo (examples/web, `npm run demo`) in headless Chromium: it
 * must finish on the webgl backend without errors, show the layer and the
 * converted model agreeing with the cpu backend, fold two models (agreeing
 * with the originals, times shown), and chart the speed-up
 * over tf.batchNorm with a 1x line and an explanation. Sections appear as
 * they finish (section 1 while the rest still runs), a progress line shows
 * while the fold timing runs, and a ratio whose spread across repetitions
 * exceeds its distance from 1.0 says "within noise". The page is opened
 * with ?quick (the bench shapes up to 1M elements): the
 * larger shapes take minutes on a software GPU. A screenshot is saved to
 * test/artifacts/demo.png (gitignored). Speed is shown, never asserted.
 */
import * as fs from 'fs';
import * as path from 'path';
import type {Page} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';

const ROOT = path.resolve(__dirname, '..');
const SCREENSHOT = path.join(ROOT, 'test', 'artifacts', 'demo.png');
const DEMO_TIMEOUT_MS = 150000;

interface DemoResults {
  backend: string;
  gpu: string;
  layer?: {values: number[], x: number[], diff: number, tolerance: number};
  model?: {replaced: number, diff: number, tolerance: number};
  fold?: Array<{model: string, layersBefore: number, layersAfter: number, folded: number, fused: number,
                left: number, beforeMs: number, afterMs: number, speedup: number, diff: number,
                speedupRange: [number, number], noisy: boolean}>;
  bench?: {rows: Array<{shape: number[], axis: number, speedup: number, speedupRange: [number, number],
                        noisy: boolean}>, repeats: number, renderer: string};
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describeInBrowser('browser demo (examples/web/index.html)', () => {
  let session: BrowserSession;
  let page: Page;
  let status: string|undefined;
  let results: DemoResults|undefined;
  let pageErrors: string[] = [];
  let statusWhenSection1Shown: string|undefined;
  let foldProgressSeen = '';

  function part<K extends 'layer'|'model'|'fold'|'bench'>(key: K): NonNullable<DemoResults[K]> {
    const value = results?.[key];
    if (value == null) {
      throw new Error(`The demo produced no '${key}' results (status ${status}). Errors shown on ` +
                      `the page:\n${pageErrors.join('\n') || '(none)'}`);
    }
    return value as NonNullable<DemoResults[K]>;
  }

  beforeAll(async () => {
    session = await startBrowser();
    page = await session.open('/?quick');
    await page.setViewportSize({width: 1000, height: 900});
    await page.waitForSelector('#layer-table', {timeout: DEMO_TIMEOUT_MS});
    statusWhenSection1Shown = await page.evaluate(() => document.body.dataset.status);
    foldProgressSeen = await page.waitForFunction(() => {
      const line = document.getElementById('fold-progress')?.textContent ?? '';
      return /timing/.test(line) ? line : ['done', 'error'].includes(document.body.dataset.status ?? '') && '(none)';
    }, null, {timeout: DEMO_TIMEOUT_MS}).then((h) => h.jsonValue() as Promise<string>);
    await page.waitForFunction(
        () => ['done', 'error'].includes(document.body.dataset.status ?? ''), null, {timeout: DEMO_TIMEOUT_MS});
    status = await page.evaluate(() => document.body.dataset.status);
    results = await page.evaluate(() => (window as unknown as {demoResults?: DemoResults}).demoResults);
    pageErrors = await page.locator('#errors pre').allInnerTexts();
    // Saved before any assertion, so a failing run leaves a picture behind.
    fs.mkdirSync(path.dirname(SCREENSHOT), {recursive: true});
    await page.screenshot({path: SCREENSHOT, fullPage: true});
  }, DEMO_TIMEOUT_MS + 30000);

  afterAll(async () => {
    await session?.close();
  });

  it('finishes with status "done" on webgl and shows no error', async () => {
    expect({status, errors: pageErrors}).toEqual({status: 'done', errors: []});
    expect(results?.backend).toBe('webgl');
    expect(await text(page, '#backend')).toBe('webgl');
    expect((await text(page, '#gpu')).length).toBeGreaterThan(3);
    expect(await text(page, '#versions')).toMatch(/TensorFlow\.js 4\.\d+\.\d+, tfjs-batchnorm-inference \d/);
  });

  it('runs the MATLAB layer on webgl, agreeing with the formula', () => {
    const layer = part('layer');
    const matlab = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'data', 'matlab_batchnorm.json'), 'utf8'));
    const [mean, variance, scale, offset] = [matlab.TrainedMean, matlab.TrainedVariance, matlab.Scale,
                                             matlab.Offset].map((a: number[][][]) => a.flat(2));
    expect(layer.values).toHaveLength(2 * matlab.NumChannels);
    layer.values.forEach((y, i) => {
      const c = i % matlab.NumChannels;
      const expected = scale[c] * (layer.x[i] - mean[c]) / Math.sqrt(variance[c] + matlab.Epsilon) + offset[c];
      expect(Math.abs(y - expected)).toBeLessThan(1e-4);
    });
    expect(layer.diff).toBeLessThanOrEqual(layer.tolerance);
  });

  it('runs the converted Keras model on webgl, agreeing with the original on cpu', async () => {
    const model = part('model');
    expect(model.replaced).toBe(3);
    expect(model.diff).toBeLessThanOrEqual(model.tolerance);
    expect(await page.locator('#model-table tbody tr').count()).toBe(6);
  });

  it('folds the loaded model and a MobileNetV2 in the page: report, times, largest difference', async () => {
    const [loaded, mobilenet] = part('fold');
    expect(loaded).toMatchObject({model: 'converted_model (loaded)', folded: 3, left: 0});
    expect(mobilenet).toMatchObject({model: 'MobileNetV2 96×96×3 (built)', folded: 52, fused: 35, left: 0});
    expect(mobilenet.layersAfter).toBeLessThan(mobilenet.layersBefore - 52);
    for (const row of [loaded, mobilenet]) {
      expect(row.diff).toBeLessThanOrEqual(1e-4);
      expect(Number.isFinite(row.speedup) && row.beforeMs > 0 && row.afterMs > 0).toBe(true);
    }
    expect(await page.locator('#fold-table tbody tr').count()).toBe(2);
  });

  it('charts the speed-up per shape with a 1x line, a table and what the numbers mean', async () => {
    const bench = part('bench');
    expect(bench.rows.length).toBeGreaterThanOrEqual(3);
    for (const row of bench.rows) expect(Number.isFinite(row.speedup) && row.speedup > 0).toBe(true);
    const bars = await page.locator('#bench-svg rect[data-kind="speedup"]').count();
    expect(bars).toBe(bench.rows.length);
    expect(await page.locator('#bench-svg line[data-kind="one"]').count()).toBe(1);
    expect(await text(page, '#chart')).toContain('higher is better');
    expect(await page.locator('#bench-table tbody tr').count()).toBe(bench.rows.length);
    const meaning = await text(page, '#bench-meaning');
    expect(meaning).toMatch(/faster on/);
    expect(meaning).toContain('dispatch-bound');
    if (/swiftshader/i.test(bench.renderer)) expect(meaning).toContain('in software');
  });

  it('shows each section as it finishes, and a progress line while timing', async () => {
    expect(statusWhenSection1Shown).toBe('running');
    expect(foldProgressSeen).toMatch(/^timing .*run \d+ of \d+/);
    expect(await text(page, '#fold-progress')).toBe('');
  });

  it('says "within noise" exactly where a ratio\'s spread exceeds its distance from 1.0', async () => {
    const rows = [...part('fold').map((r) => ({...r, table: '#fold-table'})),
                  ...part('bench').rows.map((r) => ({...r, table: '#bench-table'}))];
    const cells = [...await page.locator('#fold-table tbody tr td:nth-child(8)').allInnerTexts(),
                   ...await page.locator('#bench-table tbody tr td:nth-child(7)').allInnerTexts()];
    expect(cells).toHaveLength(rows.length);
    rows.forEach((r, i) => {
      const [lo, hi] = r.speedupRange;
      expect(lo).toBeLessThanOrEqual(hi);
      expect({row: i, noisy: r.noisy}).toEqual({row: i, noisy: (hi - lo) / 2 > Math.abs(r.speedup - 1)});
      expect({row: i, says: cells[i].includes('within noise')}).toEqual({row: i, says: r.noisy});
    });
  });

  it('saved a screenshot', () => {
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10000);
  });
});
