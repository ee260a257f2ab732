/**
 * README.md as a contract: every fenced ```js / ```javascript / ```ts block
 * runs in Node, every ```html block runs in headless Chromium, as written.
 *
 * Node blocks run in a temporary project whose node_modules links
 * `tfjs-batchnorm-inference` to this checkout (so it resolves to dist/ through
 * package.json's exports, as an installed copy does) and `@tensorflow` to the
 * installed tfjs; a block with `import` statements runs as an ES module
 * (top-level await allowed), any other as CommonJS. The files a README block
 * reads, as a user would have them, are put beside it (FILES below).
 *
 * HTML blocks are opened as a page; their CDN addresses are answered with
 * the local builds (cdn.jsdelivr.net → node_modules/@tensorflow/tfjs/dist and
 * dist/), and the placeholder model address https://example.com/model/ with
 * the committed converted model (examples/data/converted_model). A block
 * passes when it logs at least once and raises no error.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type {Page, Route} from 'playwright-core';

import {BrowserSession, describeInBrowser, startBrowser} from './helpers/browser';

const ROOT = path.resolve(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Files the README's Node blocks read from their working directory, and where they come from. */
const FILES: Record<string, string> = {
  'bn_conv1.json': path.join(ROOT, 'examples', 'data', 'matlab_batchnorm.json'),
};

interface Block {
  lang: string;
  code: string;
  line: number;
  heading: string;
}

/** The fenced code blocks of a Markdown text, with their language and the heading above them. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,4} (.*)/.exec(lines[i]);
    if (h) heading = h[1];
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({lang: open[1], code: body.join('\n') + '\n', line: start + 1, heading});
  }
  return blocks;
}

const ALL = codeBlocks(README);
const NODE_BLOCKS = ALL.filter((b) => ['js', 'javascript', 'ts'].includes(b.lang));
const HTML_BLOCKS = ALL.filter((b) => b.lang === 'html');
const label = (b: Block) => `README.md:${b.line} (${b.heading})`;

it('has code blocks of every kind it promises, each with a language', () => {
  expect(NODE_BLOCKS.length).toBeGreaterThanOrEqual(4);
  expect(HTML_BLOCKS.length).toBeGreaterThanOrEqual(1);
  const unlabeled = ALL.filter((b) => b.lang === '').map(label);
  expect(unlabeled).toEqual([]);
});

it('keeps the two commands', () => {
  expect(README).toContain('`npm ci && npm run examples`');
  expect(README).toContain('`npm ci && npm test`');
});

describe('Node blocks', () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
      throw new Error("dist/ is missing: run 'npm run build' first ('npm test' builds it).");
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-readme-'));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'tfjs-batchnorm-inference'), 'dir');
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@tensorflow'), path.join(dir, 'node_modules', '@tensorflow'), 'dir');
    for (const [name, source] of Object.entries(FILES)) fs.copyFileSync(source, path.join(dir, name));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  it.each(NODE_BLOCKS.map((b) => [label(b), b] as const))('%s runs', (_name, block) => {
    if (block.lang === 'ts') throw new Error(`${label(block)}: write README examples as js blocks`);
    const esm = /^import /m.test(block.code);
    const file = path.join(dir, `block_${block.line}.${esm ? 'mjs' : 'cjs'}`);
    fs.writeFileSync(file, block.code);
    const result = spawnSync(process.execPath, [file], {
      cwd: dir, encoding: 'utf8', timeout: 60000, env: {...process.env, NODE_OPTIONS: ''},
    });
    if (result.status !== 0) {
      throw new Error(`${label(block)} failed (exit ${result.status}):\n${block.code}\n--- stderr ---\n` +
                      `${result.stderr}\n--- stdout ---\n${result.stdout}`);
    }
    expect(result.stderr).not.toMatch(/Error|Warning/);
  });
});

/** The local file for a URL an HTML block loads, or null. */
function localFile(url: string): string|null {
  const u = new URL(url);
  if (u.hostname === 'cdn.jsdelivr.net') {
    const tfjs = /^\/npm\/@tensorflow\/tfjs(@[^/]+)?\/dist\/(.+)$/.exec(u.pathname);
    if (tfjs) return path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs', 'dist', tfjs[2]);
    const ours = /^\/npm\/tfjs-batchnorm-inference(@[^/]+)?\/dist\/(.+)$/.exec(u.pathname);
    if (ours) return path.join(ROOT, 'dist', ours[2]);
  }
  if (u.hostname === 'example.com' && u.pathname.startsWith('/model/')) {
    return path.join(ROOT, 'examples', 'data', 'converted_model', u.pathname.slice('/model/'.length));
  }
  return null;
}

describeInBrowser('HTML blocks', () => {
  let session: BrowserSession;
  beforeAll(async () => {
    session = await startBrowser();
  });
  afterAll(async () => {
    await session?.close();
  });

  it.each(HTML_BLOCKS.map((b) => [label(b), b] as const))('%s runs in Chromium', async (_name, block) => {
    const page: Page = await session.browser.newPage();
    const errors: string[] = [];
    const logs: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
      if (m.type() === 'log') logs.push(m.text());
    });
    await page.route(/^https?:\/\/(?!127\.0\.0\.1)/, async (route: Route) => {
      const file = localFile(route.request().url());
      if (file == null || !fs.existsSync(file)) {
        errors.push(`unexpected request ${route.request().url()}`);
        await route.abort();
        return;
      }
      await route.fulfill({body: fs.readFileSync(file),
                           contentType: file.endsWith('.js') ? 'text/javascript' : undefined});
    });
    try {
      await page.route(`${session.baseUrl}/__readme_block__.html`,
                       (route: Route) => route.fulfill({body: block.code, contentType: 'text/html'}));
      await page.goto(`${session.baseUrl}/__readme_block__.html`);
      await page.waitForFunction(() => true);
      const deadline = Date.now() + 60000;
      while (logs.length === 0 && errors.length === 0 && Date.now() < deadline) {
        await page.waitForTimeout(100);
      }
      await page.waitForTimeout(300);  // errors raised right after the last log
      expect({block: label(block), errors}).toEqual({block: label(block), errors: []});
      expect(logs.length).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  });
});
