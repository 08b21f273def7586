// `tunebench bench compare`: is the current run slower than the baseline, beyond noise?
//
// Each benchmark's samples are divided by the median of the reference kernel measured in the same
// run (its "ratio"), so a machine that is 2× slower overall (a shared CI runner) shows no
// regression. A benchmark regresses when both hold (as asv does):
//   - the median ratio grew by more than `threshold` (default 10 %), and
//   - a one-sided Mann-Whitney U test (@tunebench/eval, scipy's conventions) says the current
//     ratios are larger with p < alpha (default 0.002, as asv; 0.01 gave a false "improvement" on this
//     noisy 2-core machine comparing a run with itself); this needs ≥ 6 samples a side (with 6 and
//     6 the smallest exact one-sided p is 1/924).
import { mannWhitneyU } from '@tunebench/eval';
import { median, type PerfFile } from './record.js';

export interface CompareOptions {
  threshold?: number;
  alpha?: number;
  minSamples?: number;
}

export type Verdict = 'regression' | 'improvement' | 'same' | 'new' | 'missing';

export interface CompareRow {
  name: string;
  baseMs: number | null;
  currentMs: number | null;
  baseRatio: number | null;
  currentRatio: number | null;
  /** median(current ratios) / median(base ratios) − 1 */
  change: number | null;
  pSlower: number | null;
  pFaster: number | null;
  verdict: Verdict;
}

export function compare(base: PerfFile, current: PerfFile, opts: CompareOptions = {}): CompareRow[] {
  const threshold = opts.threshold ?? 0.1;
  const alpha = opts.alpha ?? 0.002;
  const minSamples = opts.minSamples ?? 6;
  if (!(threshold >= 0)) throw new Error(`--threshold ${threshold}: expected a fraction ≥ 0 (0.1 = 10 %)`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`--alpha ${alpha}: expected a probability in (0, 1)`);
  if (base.set !== current.set) throw new Error(`the baseline is from benchmark set '${base.set}', the current run from '${current.set}': they measure different things; make a new baseline`);
  if (base.reference !== current.reference) throw new Error(`the baseline's reference kernel is '${base.reference}', the current run's '${current.reference}'`);
  const refOf = (f: PerfFile) => f.results.find((r) => r.name === f.reference)!;
  const refB = median(refOf(base).samples), refC = median(refOf(current).samples);
  for (const [f, which] of [[base, 'baseline'], [current, 'current run']] as const) {
    for (const r of f.results) {
      if (r.samples.length < minSamples) throw new Error(`${which}: '${r.name}' has ${r.samples.length} samples; the Mann-Whitney test needs at least ${minSamples} a side`);
    }
  }
  const names = [...new Set([...base.results.map((r) => r.name), ...current.results.map((r) => r.name)])].filter((n) => n !== base.reference);
  if (!names.some((n) => base.results.some((r) => r.name === n) && current.results.some((r) => r.name === n))) {
    throw new Error('the baseline and the current run share no benchmark: nothing to compare');
  }
  return names.map((name): CompareRow => {
    const b = base.results.find((r) => r.name === name);
    const c = current.results.find((r) => r.name === name);
    if (!b || !c) {
      return { name, baseMs: b ? median(b.samples) : null, currentMs: c ? median(c.samples) : null, baseRatio: b ? median(b.samples) / refB : null, currentRatio: c ? median(c.samples) / refC : null, change: null, pSlower: null, pFaster: null, verdict: b ? 'missing' : 'new' };
    }
    const rb = b.samples.map((s) => s / refB), rc = c.samples.map((s) => s / refC);
    const change = median(rc) / median(rb) - 1;
    const pSlower = mannWhitneyU(rc, rb, { alternative: 'greater' }).pValue;
    const pFaster = mannWhitneyU(rc, rb, { alternative: 'less' }).pValue;
    const verdict: Verdict = change > threshold && pSlower < alpha ? 'regression' : change < -threshold && pFaster < alpha ? 'improvement' : 'same';
    return { name, baseMs: median(b.samples), currentMs: median(c.samples), baseRatio: median(rb), currentRatio: median(rc), change, pSlower, pFaster, verdict };
  });
}

export function compareTable(rows: CompareRow[], base: PerfFile, current: PerfFile, opts: CompareOptions = {}): string {
  const f = (x: number | null, d = 3) => (x === null ? '–' : x.toFixed(d));
  const head = ['benchmark', 'base ms', 'now ms', 'base ×ref', 'now ×ref', 'change', 'p(slower)', 'verdict'];
  const body = rows.map((r) => [r.name, f(r.baseMs), f(r.currentMs), f(r.baseRatio), f(r.currentRatio), r.change === null ? '–' : `${r.change >= 0 ? '+' : ''}${(100 * r.change).toFixed(1)} %`, r.pSlower === null ? '–' : r.pSlower.toPrecision(2), r.verdict.toUpperCase()]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `reference kernel '${base.reference}': baseline ${median(base.results.find((r) => r.name === base.reference)!.samples).toFixed(3)} ms (${base.adapter}), now ${median(current.results.find((r) => r.name === current.reference)!.samples).toFixed(3)} ms (${current.adapter})`,
    `regression = ratio to the reference up by more than ${((opts.threshold ?? 0.1) * 100).toFixed(0)} % and one-sided Mann-Whitney p < ${opts.alpha ?? 0.002}`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}

/** github-action-benchmark's input ("customSmallerIsBetter"): [{name, unit, value, range, extra}]. */
export function githubActionBenchmark(current: PerfFile): { name: string; unit: string; value: number; range: string; extra: string }[] {
  const ref = median(current.results.find((r) => r.name === current.reference)!.samples);
  return current.results.map((r) => {
    const m = median(r.samples);
    const mean = r.samples.reduce((a, b) => a + b, 0) / r.samples.length;
    const sd = Math.sqrt(r.samples.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, r.samples.length - 1));
    return {
      name: r.name,
      unit: 'ms',
      value: m,
      range: `± ${sd.toFixed(4)}`,
      extra: `${r.samples.length} samples; ${(m / ref).toFixed(4)}× the reference '${current.reference}'; ${r.flops ? `${(r.flops / (m * 1e6)).toFixed(2)} GFLOP/s; ` : ''}${current.adapter}`,
    };
  });
}
