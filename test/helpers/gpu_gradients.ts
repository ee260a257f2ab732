/**
 * The gradient check both GPU suites run (test/webgl.test.ts,
 * test/webgpu.test.ts): the gradients of sum(batchNormInference(...) * w)
 * with respect to all five inputs, on the page's backend and on the cpu
 * backend in the same page (test/browser/harness_shared.js's `grads`),
 * compared relative to the largest |gradient| (at least 1): both sides
 * compute in float32 and sum in different orders.
 */
import type {Page} from 'playwright-core';

import {BatchNormCase} from './cases';
import {toPage} from './run_case';

const INPUT_NAMES = ['x', 'gamma', 'beta', 'mean', 'variance'];

/**
 * Runs the cases' gradients on `backend` (the page's) and on cpu; returns one
 * line per input whose worst difference exceeds `relTolerance` x the scale,
 * and checks (with expect) that the backend was `backend` and nothing leaked.
 */
export async function gradientFailures(
    page: Page, cases: BatchNormCase[], backend: string, relTolerance: number): Promise<string[]> {
  const result = await page.evaluate(
      (cs) => (window as any).harness.grads(cs), cases.map((c) => toPage(c, true)));
  expect(result.backendDuring).toBe(backend);
  expect(result.after).toEqual(result.before);
  const failures: string[] = [];
  cases.forEach((c, i) => INPUT_NAMES.forEach((n, k) => {
    const onGpu: number[] = result[backend][i][k];
    const onCpu: number[] = result.cpu[i][k];
    const scale = Math.max(1, ...onCpu.map(Math.abs));
    const worst = onCpu.map((v, j) => ({j, d: Math.abs(onGpu[j] - v)})).sort((a, b) => b.d - a.d)[0];
    if (onGpu.length !== onCpu.length || !(worst.d <= relTolerance * scale)) {
      failures.push(`${c.name}: d${n}[${worst.j}] ${backend} ${onGpu[worst.j]} vs cpu ` +
                    `${onCpu[worst.j]} (allowed ${relTolerance} x ${scale.toPrecision(3)})`);
    }
  }));
  return failures;
}
