/**
 * The element-wise check of the fold / replace fuzz (test/fold_fuzz.test.ts
 * in Node, test/fold_fuzz_browser.test.ts on the GPUs): NaN where the
 * reference is NaN and nowhere else, the same infinities, finite values
 * within RELATIVE of the largest finite |reference|.
 */
export const RELATIVE = 1e-4;

export interface Figures {
  elements: number, nanInReference: number, nanDisagree: number, infDisagree: number, worst: number,
  /**
   * Elements not checked because the original model on the same backend
   * deviates from the reference there too (its own kernels' NaN / infinity
   * handling: wasm's XNNPACK and relu6, webgpu's relu6 and sigmoid, webgl's
   * relu of -Infinity and packed clip).
   */
  originalDeviates: number,
}

/**
 * Element-wise comparison against the reference (see the file comment).
 * `original`: the original model on the same backend (not cpu); where it
 * deviates from the reference itself, the tool's output is not checked
 * (counted): a tool is asked to compute what the original computes wherever
 * the original is right.
 */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, original?: ArrayLike<number>,
                 checkNaN = true): Figures & {bad: string[]} {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  const f = {elements: expected.length, nanInReference: 0, nanDisagree: 0, infDisagree: 0, worst: 0,
             originalDeviates: 0, bad: [] as string[]};
  const deviates = (a: number, e: number) => (Number.isNaN(e) !== Number.isNaN(a)) ||
      (!Number.isNaN(e) && (!Number.isFinite(e) || !Number.isFinite(a)) && a !== e) ||
      (Number.isFinite(e) && Number.isFinite(a) && Math.abs(a - e) > RELATIVE * Math.max(scale, 1e-30));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) f.nanInReference++;
    if (original !== undefined && deviates(original[i], e)) {
      f.originalDeviates++;
      continue;
    }
    if (Number.isNaN(e) !== Number.isNaN(a)) {
      f.nanDisagree++;
      if (checkNaN) f.bad.push(`[${i}] got ${a}, expected ${e}`);
    } else if (!Number.isNaN(e) && (!Number.isFinite(e) || !Number.isFinite(a))) {
      if (a !== e) {
        f.infDisagree++;
        f.bad.push(`[${i}] got ${a}, expected ${e}`);
      }
    } else if (!Number.isNaN(e)) {
      const d = Math.abs(a - e) / Math.max(scale, 1e-30);
      f.worst = Math.max(f.worst, d);
      if (d > RELATIVE) f.bad.push(`[${i}] got ${a}, expected ${e} (relative ${d.toPrecision(3)})`);
    }
  }
  return f;
}


/** Sums figures per tool and backend, and prints them. */
export class FuzzTotals {
  private readonly totals: Record<string, Figures & {cases: number}> = {};

  add(key: string, f: Figures): void {
    const t = this.totals[key] ??= {cases: 0, elements: 0, nanInReference: 0, nanDisagree: 0, infDisagree: 0,
                                    worst: 0, originalDeviates: 0};
    t.cases++;
    t.elements += f.elements;
    t.nanInReference += f.nanInReference;
    t.nanDisagree += f.nanDisagree;
    t.infDisagree += f.infDisagree;
    t.originalDeviates += f.originalDeviates;
    t.worst = Math.max(t.worst, f.worst);
  }

  print(title: string): void {
    const rows = Object.entries(this.totals).map(([k, t]) =>
      `  ${k.padEnd(32)} cases ${t.cases}, elements ${t.elements}, NaN in reference ${t.nanInReference}, ` +
      `NaN disagreements ${t.nanDisagree}, infinity disagreements ${t.infDisagree}, worst finite ` +
      `difference ${t.worst.toExponential(2)} of max|y|; not checked where the original on this ` +
      `backend deviates too ${t.originalDeviates}`);
    process.stdout.write(`[${title}] reference: the original model on cpu\n${rows.join('\n')}\n`);
  }
}
