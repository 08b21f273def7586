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
// The threshold a benchmark is held to is the larger of `threshold` and its A/A noise floor when
// the baseline carries a calibration (`bench calibrate`): the change that runs of the same code
// exceed with probability < the calibration's alpha. And a verdict needs precision: the 95 %
// bootstrap interval of the change must be narrower than ± a third of that threshold, or lie
// wholly beyond it; otherwise the benchmark is "inconclusive" (sample more: --budget).
//
// The structural counters (dispatches, bytes bound, ... of one sample; kernels/src/counters.ts)
// are compared exactly: any increase is reported with the kernels whose counts grew.
import { mannWhitneyU } from '@tunebench/eval';
import { COUNTER_FIELDS, KERNEL_FIELDS, type GpuCounters } from '@tunebench/kernels';
import { median, type PerfFile } from './record.js';
import { medianRatioInterval } from './stats.js';

export interface CompareOptions {
  threshold?: number;
  alpha?: number;
  minSamples?: number;
}

export type Verdict = 'regression' | 'improvement' | 'same' | 'inconclusive' | 'new' | 'missing';

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
  /** 95 % bootstrap interval of `change`. */
  ciLo: number | null;
  ciHi: number | null;
  /** The A/A noise floor from the baseline's calibration (null: not calibrated). */
  noiseFloor: number | null;
  /** The threshold this benchmark was held to: max(threshold, noiseFloor). */
  threshold: number;
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
    const noiseFloor = base.calibration?.benchmarks[name]?.floor ?? null;
    const eff = Math.max(threshold, noiseFloor ?? 0);
    if (!b || !c) {
      return { name, baseMs: b ? median(b.samples) : null, currentMs: c ? median(c.samples) : null, baseRatio: b ? median(b.samples) / refB : null, currentRatio: c ? median(c.samples) / refC : null, change: null, pSlower: null, pFaster: null, ciLo: null, ciHi: null, noiseFloor, threshold: eff, verdict: b ? 'missing' : 'new' };
    }
    const rb = b.samples.map((s) => s / refB), rc = c.samples.map((s) => s / refC);
    const change = median(rc) / median(rb) - 1;
    const pSlower = mannWhitneyU(rc, rb, { alternative: 'greater' }).pValue;
    const pFaster = mannWhitneyU(rc, rb, { alternative: 'less' }).pValue;
    const ci = medianRatioInterval(rb, rc);
    const precise = (ci.hi - ci.lo) / 2 <= eff / 3;
    const verdict: Verdict =
      change > eff && pSlower < alpha && (precise || ci.lo > eff) ? 'regression'
      : change < -eff && pFaster < alpha && (precise || ci.hi < -eff) ? 'improvement'
      : precise ? 'same' : 'inconclusive';
    return { name, baseMs: median(b.samples), currentMs: median(c.samples), baseRatio: median(rb), currentRatio: median(rc), change, pSlower, pFaster, ciLo: ci.lo, ciHi: ci.hi, noiseFloor, threshold: eff, verdict };
  });
}

export function compareTable(rows: CompareRow[], base: PerfFile, current: PerfFile, opts: CompareOptions = {}): string {
  const f = (x: number | null, d = 3) => (x === null ? '–' : x.toFixed(d));
  const pct = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`);
  const head = ['benchmark', 'base ms', 'now ms', 'base ×ref', 'now ×ref', 'change', '95 % interval', 'p(slower)', 'noise floor', 'threshold', 'verdict'];
  const body = rows.map((r) => [r.name, f(r.baseMs), f(r.currentMs), f(r.baseRatio), f(r.currentRatio), pct(r.change), r.ciLo === null ? '–' : `${pct(r.ciLo)} … ${pct(r.ciHi)}`, r.pSlower === null ? '–' : r.pSlower.toPrecision(2), r.noiseFloor === null ? 'uncalibrated' : `${(100 * r.noiseFloor).toFixed(1)} %`, `${(100 * r.threshold).toFixed(1)} %`, r.verdict.toUpperCase()]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `reference kernel '${base.reference}': baseline ${median(base.results.find((r) => r.name === base.reference)!.samples).toFixed(3)} ms (${base.adapter}), now ${median(current.results.find((r) => r.name === current.reference)!.samples).toFixed(3)} ms (${current.adapter})`,
    `regression = ratio to the reference up by more than the threshold (max of --threshold ${((opts.threshold ?? 0.1) * 100).toFixed(0)} % and the noise floor: the change ${base.calibration ? `${base.calibration.runs} same-code runs (calibrated ${base.calibration.createdAt}, load ${base.calibration.loadavg.map((x) => x.toFixed(1)).join(' ')}) say is exceeded with probability < ${base.calibration.alpha}` : 'an A/A calibration would give; this baseline has none: `tunebench bench calibrate`'}), one-sided Mann-Whitney p < ${opts.alpha ?? 0.002}, and a 95 % interval narrower than ± a third of the threshold or wholly beyond it (else INCONCLUSIVE)`,
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

/** One benchmark's counters that moved between two runs: exact, no noise. */
export interface CounterChange {
  name: string;
  /** Scalar counters that grew: [field, base, now]. */
  increased: [string, number, number][];
  decreased: [string, number, number][];
  /** Kernels whose counts grew (or that are new), with what grew. */
  kernels: string[];
}

function kernelDiffs(b: GpuCounters, c: GpuCounters): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(b.kernels), ...Object.keys(c.kernels)])].sort()) {
    const kb = b.kernels[k], kc = c.kernels[k];
    if (!kc) continue;
    if (!kb) { out.push(`${k} (new: ${kc.dispatches} dispatch(es), ${kc.bytesBound} bytes bound)`); continue; }
    const up = KERNEL_FIELDS.filter((f) => (kc[f] ?? 0) > (kb[f] ?? 0)).map((f) => `${f} ${kb[f]} → ${kc[f]}`);
    if (up.length) out.push(`${k} (${up.join(', ')})`);
  }
  return out;
}

/** Exact comparison of the structural counters of the benchmarks both runs counted. */
export function compareCounters(base: PerfFile, current: PerfFile): CounterChange[] {
  const out: CounterChange[] = [];
  for (const c of current.results) {
    const b = base.results.find((r) => r.name === c.name);
    if (!b?.counters || !c.counters) continue;
    const increased: [string, number, number][] = [], decreased: [string, number, number][] = [];
    for (const f of COUNTER_FIELDS) {
      const x = b.counters[f], y = c.counters[f];
      if (y > x) increased.push([f, x, y]);
      else if (y < x) decreased.push([f, x, y]);
    }
    const kernels = kernelDiffs(b.counters, c.counters);
    if (increased.length || decreased.length || kernels.length) out.push({ name: c.name, increased, decreased, kernels });
  }
  return out;
}

export function counterReport(changes: CounterChange[]): string {
  if (!changes.length) return 'structural counters: identical to the baseline';
  const fmt = (xs: [string, number, number][]) => xs.map(([f, a, b]) => `${f} ${a} → ${b}`).join(', ');
  return ['structural counters that moved (exact; any increase fails the check):', ...changes.map((c) => [
    `  ${c.name}:${c.increased.length ? ` UP ${fmt(c.increased)}` : ''}${c.decreased.length ? ` down ${fmt(c.decreased)}` : ''}`,
    ...(c.kernels.length ? [`    kernels responsible: ${c.kernels.join('; ')}`] : []),
  ].join('\n'))].join('\n');
}
