/**
 * The browser demo (examples/web, `npm run demo`) in headless Chromium: it
 * must finish on the webgl backend without errors, render its result tables
 * with values that match the formula, and draw the timing chart. A
 * screenshot is saved to test/artifacts/demo.png (gitignored).
 */
import * as fs from 'fs';
import * as path from 'path';
import type {Page} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';

const ROOT = path.resolve(__dirname, '..');
const SCREENSHOT = path.join(ROOT, 'test', 'artifacts', 'demo.png');
const DEMO_TIMEOUT_MS = 90000;

interface DemoResults {
  backend: string;
  gpu: string;
  errors?: string[];
  layer?: {values: number[], vsCpu: number, vsFormula: number, tolerance: number};
  model?: {replaced: number, diff: number, tolerance: number, logits: number[][]};
  bench?: {rows: Array<{label: string, size: number, ours: number, theirs: number}>,
           seconds: number, chain: number, repeats: number};
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describeInBrowser('browser demo (examples/web/index.html)', () => {
  let session: BrowserSession;
  let page: Page;
  let status: string|undefined;
  let results: DemoResults|undefined;
  let pageErrors: string[] = [];

  /** One part of window.demoResults, or an error quoting what the page shows. */
  function part<K extends 'layer'|'model'|'bench'>(key: K): NonNullable<DemoResults[K]> {
    const value = results?.[key];
    if (value == null) {
      throw new Error(`The demo produced no '${key}' results (status ${status}). Errors shown on ` +
                      `the page:\n${pageErrors.join('\n') || '(none)'}`);
    }
    return value as NonNullable<DemoResults[K]>;
  }

  beforeAll(async () => {
    session = await startBrowser();
    page = await session.open('/');
    await page.setViewportSize({width: 1000, height: 900});
    await page.waitForFunction(
        () => ['done', 'error'].includes(document.body.dataset.status ?? ''), null,
        {timeout: DEMO_TIMEOUT_MS});
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

  it('finishes with status "done" and shows no error', async () => {
    expect({status, errors: pageErrors}).toEqual({status: 'done', errors: []});
    expect(await page.locator('#errors').isHidden()).toBe(true);
    expect(await text(page, '#status')).toBe('done');
  });

  it('runs on webgl and shows the GPU it ran on', async () => {
    expect(results?.backend).toBe('webgl');
    expect(await text(page, '#backend')).toBe('webgl');
    const gpu = await text(page, '#gpu');
    expect(gpu).not.toBe('-');
    expect(gpu.length).toBeGreaterThan(3);
    expect(await text(page, '#webgl')).toMatch(/WebGL/);
    expect(await text(page, '#versions')).toMatch(/TensorFlow\.js 4\.\d+\.\d+, tfjs-batchnorm-inference \d/);
  });

  it('renders the layer outputs on webgl, agreeing with the formula computed here', async () => {
    const layer = part('layer');
    const matlab = JSON.parse(
        fs.readFileSync(path.join(ROOT, 'examples', 'data', 'matlab_batchnorm.json'), 'utf8'));
    const flat = (a: unknown) => (a as number[][][]).flat(2);
    const [mean, variance, scale, offset] =
        [matlab.TrainedMean, matlab.TrainedVariance, matlab.Scale, matlab.Offset].map(flat);
    const rows = await page.locator('#layer-table tbody tr').evaluateAll(
        (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    expect(rows).toHaveLength(16);  // [1, 2, 2, 4]: 4 pixels x 4 channels
    const header = await page.locator('#layer-table thead th').allInnerTexts();
    expect(header).toContain('y on webgl');
    expect(layer.values).toHaveLength(16);
    rows.forEach((cells, i) => {
      const c = Number(cells[1]);
      const x = Number(cells[2]);
      const expected = scale[c] * (x - mean[c]) / Math.sqrt(variance[c] + matlab.Epsilon) + offset[c];
      expect(c).toBe(i % 4);
      expect(Math.abs(layer.values[i] - expected)).toBeLessThan(1e-4);
      expect(Math.abs(Number(cells[3]) - expected)).toBeLessThan(2e-5);  // shown with 5 decimals
      expect(Math.abs(Number(cells[4]) - expected)).toBeLessThan(2e-5);  // the cpu column
    });
    expect(layer.vsCpu).toBeLessThanOrEqual(layer.tolerance);
    expect(layer.vsFormula).toBeLessThanOrEqual(layer.tolerance);
    expect(layer.tolerance).toBeLessThanOrEqual(1e-4);
    expect(await page.locator('#layer-summary .pass').count()).toBe(2);
    expect(await page.locator('#layer-summary .fail').count()).toBe(0);
  });

  it('renders the converted Keras model on webgl, agreeing with the original on cpu', async () => {
    const model = part('model');
    expect(model.replaced).toBe(3);
    expect(model.diff).toBeLessThanOrEqual(model.tolerance);
    expect(await page.locator('#model-table tbody tr').count()).toBe(6);  // 3 samples x 2 models
    expect(await text(page, '#model-table')).toContain('BatchNormInference (converted), webgl');
    expect(await text(page, '#model-summary')).toContain('3 BatchNormalization layers replaced');
    expect(await page.locator('#model-summary .pass').count()).toBe(1);
  });

  it('draws the timing chart and its table', async () => {
    const bench = part('bench');
    expect(bench.chain).toBeGreaterThanOrEqual(20);
    expect(bench.rows.length).toBeGreaterThanOrEqual(3);
    for (const row of bench.rows) {
      expect(Number.isFinite(row.ours) && row.ours >= 0).toBe(true);
      expect(Number.isFinite(row.theirs) && row.theirs >= 0).toBe(true);
    }
    expect(bench.rows.some((r) => r.ours > 0 && r.theirs > 0)).toBe(true);
    const bars = await page.locator('#bench-svg rect[data-kind]').evaluateAll(
        (rects) => rects.map((r) => {
          const box = (r as SVGGraphicsElement).getBBox();
          return {kind: r.getAttribute('data-kind'), width: box.width, height: box.height};
        }));
    expect(bars).toHaveLength(2 * bench.rows.length);
    expect(bars.filter((b) => b.kind === 'ours')).toHaveLength(bench.rows.length);
    for (const bar of bars) {
      expect(bar.width).toBeGreaterThan(0);
      expect(bar.height).toBeGreaterThan(0);
    }
    const svgBox = await page.locator('#bench-svg').boundingBox();
    expect(svgBox!.width).toBeGreaterThan(100);
    expect(svgBox!.height).toBeGreaterThan(100);
    expect(await page.locator('#bench-table tbody tr').count()).toBe(bench.rows.length);
    expect(await text(page, '#bench-method')).toContain(`${bench.chain} dependent ops`);
  });

  it('saved a screenshot', () => {
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10000);
  });
});
