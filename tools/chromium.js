/*
 * The one headless Chromium launcher for the browser tests, the benchmarks and
 * the demo test: the system's Chromium (CHROME_PATH, else /usr/bin/chromium)
 * driven by playwright-core, never a browser downloaded by a library; pages
 * are served by tools/static_server.js on 127.0.0.1 (WebGPU needs a page of
 * that origin, not about:blank).
 */
'use strict';
const fs = require('fs');
const {startServer} = require('./static_server.js');

const SKIP_ENV = 'TFBNI_SKIP_BROWSER_TESTS';

const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
];

/** WebGPU without a GPU: Dawn on SwiftShader's Vulkan (pages from http://127.0.0.1 only). */
const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
];

function browserExecutable() {
  const candidates = process.env.CHROME_PATH ? [process.env.CHROME_PATH] : ['/usr/bin/chromium'];
  return candidates.find((p) => fs.existsSync(p)) || null;
}

const MISSING_BROWSER_MESSAGE =
    `No Chromium found at ${process.env.CHROME_PATH || '/usr/bin/chromium'}. ` +
    'The browser suites and benchmarks run in a real headless browser: install Debian\'s ' +
    'Chromium (sudo apt-get update && sudo apt-get install -y chromium) or set CHROME_PATH ' +
    `to a Chromium/Chrome binary. To skip the browser test suites deliberately, set ${SKIP_ENV}=1.`;

/** Launches Chromium with CHROMIUM_FLAGS plus `extraFlags`. Throws MISSING_BROWSER_MESSAGE if absent. */
async function launchChromium({extraFlags = []} = {}) {
  const executablePath = browserExecutable();
  if (executablePath == null) throw new Error(MISSING_BROWSER_MESSAGE);
  const {chromium} = require('playwright-core');
  try {
    return await chromium.launch({executablePath, args: [...CHROMIUM_FLAGS, ...extraFlags], headless: true});
  } catch (e) {
    throw new Error(`Could not start Chromium at ${executablePath}: ${e.message}\n${MISSING_BROWSER_MESSAGE}`);
  }
}

/**
 * The static server and Chromium together. Resolves to {browser, baseUrl,
 * open(pathname) → page (throws on page errors during load), close()}.
 */
async function startSession({extraFlags = []} = {}) {
  const server = await startServer();
  let browser;
  try {
    browser = await launchChromium({extraFlags});
  } catch (e) {
    await server.close();
    throw e;
  }
  return {
    browser,
    baseUrl: server.url,
    async open(pathname) {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url + pathname);
      if (errors.length > 0) throw new Error(`page errors at ${pathname}: ${errors.join('; ')}`);
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

module.exports = {SKIP_ENV, CHROMIUM_FLAGS, WEBGPU_FLAGS, MISSING_BROWSER_MESSAGE, browserExecutable,
                  launchChromium, startSession};
