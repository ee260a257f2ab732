/**
 * The block test: every code block of README.md and docs/*.md runs as pasted,
 * in a project a reader would have: an empty `npm init`-like project with
 * @tensorflow/tfjs 4.22.0 installed, then the packed tarball (a second
 * `npm install`, as docs/install.md says), plus @tensorflow/tfjs-backend-wasm
 * because docs/backends-and-numerics.md tells the reader to install it for
 * its block. One such project is made per run (.tmp/blocks-consumer/).
 *
 * - ```js and ```cjs blocks are written to block.js / block.cjs (CommonJS in
 *   that project) and run with node; ```mjs blocks to block.mjs. A ```js
 *   block with `import` or top-level `await` fails: it must be fenced mjs.
 *   Blocks make their own inputs or read files the package ships, through the
 *   package (require.resolve('tfjs-batchnorm-inference/examples/data/...')).
 * - ```html blocks are written into the project's folder and opened from a
 *   static server rooted there, in headless Chromium: their script paths are
 *   node_modules/... as they would be for the reader. A block passes when it
 *   logs and raises no error.
 * - ```ts and ```json blocks are the TypeScript page's, type-checked by
 *   test/typescript_consumer.test.ts; text, sh, matlab blocks are not code to
 *   run, by their fence. Any other fence, or none, fails.
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type {Browser} from 'playwright-core';

import {describeInBrowser} from './helpers/browser';
import {Block, codeBlocks} from './helpers/markdown';

const ROOT = path.resolve(__dirname, '..');
const CONSUMER = path.join(ROOT, '.tmp', 'blocks-consumer');
const packSmoke = require('../tools/pack_smoke.js');
const {launchChromium} = require('../tools/chromium.js');
const {startServer} = require('../tools/static_server.js');

const RUN_IN_NODE = ['js', 'cjs', 'mjs'];
const RUN_ELSEWHERE = ['html', 'ts', 'json'];
const NOT_CODE = ['text', 'sh', 'matlab'];

const PAGES = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))
                                  .sort().map((f) => `docs/${f}`)];
const ALL = PAGES.flatMap((page) => codeBlocks(ROOT, page));
const NODE_BLOCKS = ALL.filter((b) => RUN_IN_NODE.includes(b.lang));
const HTML_BLOCKS = ALL.filter((b) => b.lang === 'html');
const label = (b: Block) => `${b.file}:${b.line} (${b.heading})`;
const slug = (b: Block) => `${b.file.replace(/[/.]/g, '_')}_${b.line}`;

describe('the pages', () => {
  it('fence every block with a language this test knows', () => {
    const unknown = ALL.filter((b) => ![...RUN_IN_NODE, ...RUN_ELSEWHERE, ...NOT_CODE].includes(b.lang))
                        .map((b) => `${label(b)}: '${b.lang}'`);
    expect(unknown).toEqual([]);
  });

  it('fence ES modules as mjs', () => {
    const esmInJs = ALL.filter((b) => ['js', 'cjs'].includes(b.lang) &&
                                      (/^import /m.test(b.code) || /^await /m.test(b.code))).map(label);
    expect(esmInJs).toEqual([]);
  });

  it('read no file of this repository by a relative path (only through the package)', () => {
    const relative = NODE_BLOCKS.filter((b) => /readFileSync\(\s*'(?!\/)[^']*'|fileSystem\(\s*'[^']/.test(b.code))
                                .map(label);
    expect(relative).toEqual([]);
  });

  it('keep the two commands in the README, and the README short', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('`npm ci && npm run examples`');
    expect(readme).toContain('`npm ci && npm test`');
    expect(readme.split('\n').length).toBeLessThanOrEqual(260);
    expect(NODE_BLOCKS.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(3);
    expect(HTML_BLOCKS.length).toBeGreaterThanOrEqual(1);
  });

  it('link only to pages and files that exist', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^(https?:|mailto:)/.test(target)) continue;
        if (!fs.existsSync(path.resolve(ROOT, path.dirname(page), target))) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

/** The consumer project, made once per run: tfjs 4.22.0 (and the wasm backend), then the tarball. */
async function makeConsumer(): Promise<string> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) {
    throw new Error("dist/ is missing: run 'npm run build' first ('npm test' builds it).");
  }
  const tarball = await packSmoke.pack(path.join(ROOT, '.tmp', 'blocks-pack'));
  packSmoke.makeConsumer(CONSUMER);
  await packSmoke.npmInstall(CONSUMER, ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0']);
  await packSmoke.npmInstall(CONSUMER, [tarball]);
  return CONSUMER;
}

let consumer: Promise<string>|undefined;
const theConsumer = () => (consumer = consumer || makeConsumer());

describe('Node blocks, as pasted into a fresh project', () => {
  beforeAll(async () => {
    await theConsumer();
  }, 300000);

  it.each(NODE_BLOCKS.map((b) => [label(b), b] as const))('%s runs', (_name, block) => {
    const file = path.join(CONSUMER, `${slug(block)}.${block.lang}`);
    fs.writeFileSync(file, block.code);
    const result = spawnSync(process.execPath, [path.basename(file)], {
      cwd: CONSUMER, encoding: 'utf8', timeout: 120000, env: {...process.env, NODE_OPTIONS: ''},
    });
    if (result.status !== 0) {
      throw new Error(`${label(block)} failed (exit ${result.status}):\n${block.code}\n--- stderr ---\n` +
                      `${result.stderr}\n--- stdout ---\n${result.stdout}`);
    }
    expect(result.stderr).not.toMatch(/Error|Warning/);
  }, 130000);
});

describeInBrowser('HTML blocks, as pasted into a page of the project', () => {
  let browser: Browser;
  let server: {url: string, close: () => Promise<void>};
  beforeAll(async () => {
    const dir = await theConsumer();
    server = await startServer({root: dir});
    browser = await launchChromium();
  }, 300000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(HTML_BLOCKS.map((b) => [label(b), b] as const))('%s runs in Chromium', async (_name, block) => {
    const name = `${slug(block)}.html`;
    fs.writeFileSync(path.join(CONSUMER, name), block.code);
    const page = await browser.newPage();
    const errors: string[] = [];
    const logs: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) {
        errors.push(`${m.text()} (${m.location().url})`);
      }
      if (m.type() === 'log') logs.push(m.text());
    });
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} for ${r.url()}`);
    });
    try {
      await page.goto(`${server.url}/${name}`);
      const deadline = Date.now() + 60000;
      while (logs.length === 0 && errors.length === 0 && Date.now() < deadline) await page.waitForTimeout(100);
      await page.waitForTimeout(300);  // errors raised right after the last log
      expect({block: label(block), errors}).toEqual({block: label(block), errors: []});
      expect(logs.length).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  }, 90000);
});
