/**
 * Headless Chromium for the browser suites (webgl kernel, layer on webgl, the
 * demo page): the typed face of tools/chromium.js, the launcher the
 * benchmarks share.
 *
 * The browser is CHROME_PATH if set, else /usr/bin/chromium. When none is
 * found the suites FAIL with a message saying what to install, unless the
 * user opts out with TFBNI_SKIP_BROWSER_TESTS=1 (CI never sets it), in which
 * case jest reports them as skipped.
 */
import * as fs from 'fs';
import * as path from 'path';
import type {Browser, Page} from 'playwright-core';

interface ToolsSession {
  browser: Browser;
  baseUrl: string;
  open(pathname: string): Promise<Page>;
  close(): Promise<void>;
}

const chromiumTools = require('../../tools/chromium.js') as {
  SKIP_ENV: string,
  CHROMIUM_FLAGS: string[],
  WEBGPU_FLAGS: string[],
  MISSING_BROWSER_MESSAGE: string,
  browserExecutable: () => string | null,
  startSession: (options: {extraFlags?: string[]}) => Promise<ToolsSession>,
};

export const SKIP_ENV = chromiumTools.SKIP_ENV;
export const CHROMIUM_FLAGS: readonly string[] = chromiumTools.CHROMIUM_FLAGS;
/**
 * WebGPU in headless Chromium without a GPU: Dawn on SwiftShader's Vulkan.
 * Pass as `startBrowser({extraFlags: WEBGPU_FLAGS})`; WebGPU then works on
 * pages served from http://127.0.0.1 (a secure context), not about:blank.
 */
export const WEBGPU_FLAGS: readonly string[] = chromiumTools.WEBGPU_FLAGS;
export const MISSING_BROWSER_MESSAGE = chromiumTools.MISSING_BROWSER_MESSAGE;

export interface StartBrowserOptions {
  /** Chromium flags added after CHROMIUM_FLAGS (e.g. WEBGPU_FLAGS). */
  extraFlags?: readonly string[];
}

export function browserExecutable(): string|null {
  return chromiumTools.browserExecutable();
}

export function browserOptedOut(): boolean {
  return process.env[SKIP_ENV] === '1' || process.env[SKIP_ENV] === 'true';
}

/**
 * `describe` for a suite that needs the browser: skipped (and reported as
 * skipped) only when the user opted out; otherwise it runs, and fails with
 * MISSING_BROWSER_MESSAGE if there is no browser.
 */
export function describeInBrowser(name: string, fn: () => void): void {
  if (browserOptedOut()) {
    // Explicit opt-out by the user: jest lists the suite as skipped.
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
  if (browserExecutable() == null) throw new Error(MISSING_BROWSER_MESSAGE);
  const dist = path.resolve(__dirname, '..', '..', 'dist', 'tfjs-batchnorm-inference.min.js');
  if (!fs.existsSync(dist)) {
    throw new Error(`The browser bundle ${dist} is missing: run 'npm run build' first ` +
                    `('npm test' builds it).`);
  }
  return chromiumTools.startSession({extraFlags: [...(options.extraFlags ?? [])]});
}
