/**
 * Headless Chromium for the browser suites (webgl kernel, layer on webgl, the
 * demo page), driven by playwright-core with the system's Chromium: never a
 * browser downloaded by a library.
 *
 * The browser is CHROME_PATH if set, else /usr/bin/chromium. When none is
 * found the suites FAIL with a message saying what to install, unless the
 * user opts out with TFBNI_SKIP_BROWSER_TESTS=1 (CI never sets it), in which
 * case jest reports them as skipped.
 */
import * as fs from 'fs';
import * as path from 'path';
import {Browser, chromium, Page} from 'playwright-core';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const {startServer} = require('../../tools/static_server.js') as {
  startServer: (opts?: {port?: number}) =>
      Promise<{url: string, port: number, close: () => Promise<void>}>
};

export const SKIP_ENV = 'TFBNI_SKIP_BROWSER_TESTS';
export const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
];

/**
 * WebGPU in headless Chromium without a GPU: Dawn on SwiftShader's Vulkan.
 * Pass as `startBrowser({extraFlags: WEBGPU_FLAGS})`; WebGPU then works on
 * pages served from http://127.0.0.1 (a secure context), not about:blank.
 */
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
];

export interface StartBrowserOptions {
  /** Chromium flags added after CHROMIUM_FLAGS (e.g. WEBGPU_FLAGS). */
  extraFlags?: string[];
}

export function browserExecutable(): string|null {
  const candidates = process.env.CHROME_PATH ? [process.env.CHROME_PATH] : ['/usr/bin/chromium'];
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

export function browserOptedOut(): boolean {
  return process.env[SKIP_ENV] === '1' || process.env[SKIP_ENV] === 'true';
}

export const MISSING_BROWSER_MESSAGE =
    `No Chromium found at ${process.env.CHROME_PATH ?? '/usr/bin/chromium'}. ` +
    `The webgl suites run in a real headless browser: install Debian's Chromium ` +
    `(sudo apt-get update && sudo apt-get install -y chromium) or set CHROME_PATH ` +
    `to a Chromium/Chrome binary. To skip these suites deliberately, set ${SKIP_ENV}=1.`;

/**
 * `describe` for a suite that needs the browser: skipped (and reported as
 * skipped) only when the user opted out; otherwise it runs, and fails with
 * MISSING_BROWSER_MESSAGE if there is no browser.
 */
export function describeInBrowser(name: string, fn: () => void): void {
  if (browserOptedOut()) {
    // Explicit opt-out by the user: jest lists the suite as skipped.
    // eslint-disable-next-line jest/no-disabled-tests
    describe.skip(`${name} (skipped: ${SKIP_ENV} is set)`, fn);
  } else {
    describe(name, fn);
  }
}

export interface BrowserSession {
  browser: Browser;
  baseUrl: string;
  /** Opens a new page at `pathname` (served from the package root). */
  open(pathname: string): Promise<Page>;
  close(): Promise<void>;
}

/** Starts the static server and Chromium. Throws MISSING_BROWSER_MESSAGE if absent. */
export async function startBrowser(options: StartBrowserOptions = {}): Promise<BrowserSession> {
  const executablePath = browserExecutable();
  if (executablePath == null) throw new Error(MISSING_BROWSER_MESSAGE);
  const dist = path.resolve(__dirname, '..', '..', 'dist', 'tfjs-batchnorm-inference.min.js');
  if (!fs.existsSync(dist)) {
    throw new Error(`The browser bundle ${dist} is missing: run 'npm run build' first ` +
                    `('npm test' builds it).`);
  }
  const server = await startServer();
  let browser: Browser;
  try {
    const args = [...CHROMIUM_FLAGS, ...(options.extraFlags ?? [])];
    browser = await chromium.launch({executablePath, args, headless: true});
  } catch (e) {
    await server.close();
    throw new Error(`Could not start Chromium at ${executablePath}: ${(e as Error).message}\n` +
                    MISSING_BROWSER_MESSAGE);
  }
  return {
    browser,
    baseUrl: server.url,
    async open(pathname: string) {
      const page = await browser.newPage();
      const errors: string[] = [];
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
