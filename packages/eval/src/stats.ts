// Summary statistics, bootstrap confidence intervals and paired significance tests.
//
// A statistic is computed from a system's per-example values (e.g. 1/0 correctness, or the
// predicted labels) at a list of example indices:  statistic(values, indices). `values[j]` is the
// value of example `indices[j]`, so a statistic that needs the gold labels (F1, MCC) looks them
// up by index. The default statistic is the mean of the values.
//
// Conventions (stated, because papers differ):
// - bootstrapCi: percentile interval over `resamples` resamples with replacement, numpy's
//   linear-interpolation percentile; estimate = the statistic on the original data.
// - pairedBootstrap: both systems resampled with the same indices; two-sided p-value of
//   H0: Δ = 0 from the bootstrap distribution shifted to the null,
//   p = (1 + #{|Δ* − Δ| ≥ |Δ|}) / (R + 1). A system against itself gives p = 1.
// - permutationTest (approximate randomisation, Noreen 1989): each trial swaps the two systems'
//   values of every example with probability 1/2; p = (1 + #{|Δ_trial| ≥ |Δ|}) / (R + 1),
//   two-sided. A system against itself gives p = 1.
// Δ comparisons allow a relative slack of 1e-12 so a resample equal to Δ up to rounding counts.

import { checkFinite, checkNonEmpty, checkPositiveInt, checkSameLength, fail } from './check.js';
import { mulberry32, randomIndex } from './rng.js';

export type Statistic = (values: Float64Array, indices: Int32Array) => number;

const meanStatistic: Statistic = (values) => {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
};

export interface MeanStd {
  mean: number;
  /** Standard deviation with divisor n − ddof (ddof = 1 by default: the sample std); NaN when n ≤ ddof. */
  std: number;
  n: number;
}

/** Mean and standard deviation, e.g. of one metric over training seeds. */
export function meanStd(values: ArrayLike<number>, opts: { ddof?: number } = {}): MeanStd {
  const fn = 'meanStd';
  checkNonEmpty(fn, 'values', values);
  checkFinite(fn, 'values', values);
  const ddof = opts.ddof ?? 1;
  if (ddof !== 0 && ddof !== 1) fail(fn, `'ddof' must be 0 or 1, got ${String(ddof)}`);
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, std: n - ddof > 0 ? Math.sqrt(ss / (n - ddof)) : NaN, n };
}

/** numpy.percentile(sorted, q·100) with linear interpolation; `sorted` ascending. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export interface ResampleOptions {
  /** Number of resamples / trials. Default 1000 for bootstraps, 10 000 for permutationTest. */
  resamples?: number;
  /** Seed of the resampling. Default 0. */
  seed?: number;
  /** Default: mean of the values. */
  statistic?: Statistic;
}
export interface CiOptions extends ResampleOptions {
  /** Confidence level of the interval. Default 0.95. */
  confidence?: number;
}

function options(fn: string, opts: CiOptions, defaultResamples: number) {
  const resamples = opts.resamples ?? defaultResamples;
  checkPositiveInt(fn, 'resamples', resamples);
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) fail(fn, `'confidence' = ${String(confidence)} must be in (0, 1)`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) fail(fn, `'seed' = ${String(seed)} must be an integer`);
  return { resamples, confidence, seed, statistic: opts.statistic ?? meanStatistic };
}

function gather(values: ArrayLike<number>, idx: Int32Array, out: Float64Array): Float64Array {
  for (let j = 0; j < idx.length; j++) out[j] = values[idx[j]];
  return out;
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function checkStat(fn: string, v: number, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) fail(fn, `the statistic returned ${String(v)} on ${what}`);
  return v;
}

export interface BootstrapCi {
  estimate: number;
  lo: number;
  hi: number;
  confidence: number;
  resamples: number;
}

/** Percentile bootstrap confidence interval of a statistic of one system's per-example values. */
export function bootstrapCi(values: ArrayLike<number>, opts: CiOptions = {}): BootstrapCi {
  const fn = 'bootstrapCi';
  checkNonEmpty(fn, 'values', values);
  checkFinite(fn, 'values', values);
  const { resamples, confidence, seed, statistic } = options(fn, opts, 1000);
  const n = values.length;
  const all = identity(n);
  const estimate = checkStat(fn, statistic(Float64Array.from(values as ArrayLike<number>), all), 'the original data');
  const rng = mulberry32(seed);
  const idx = new Int32Array(n);
  const buf = new Float64Array(n);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let j = 0; j < n; j++) idx[j] = randomIndex(rng, n);
    stats[r] = checkStat(fn, statistic(gather(values, idx, buf), idx), `resample ${r}`);
  }
  stats.sort();
  const alpha = (1 - confidence) / 2;
  return { estimate, lo: percentile(stats, alpha), hi: percentile(stats, 1 - alpha), confidence, resamples };
}

export interface PairedResult {
  /** statistic(a) − statistic(b) on the original data. */
  delta: number;
  pValue: number;
  resamples: number;
}
export interface PairedBootstrapResult extends PairedResult {
  /** Percentile CI of Δ. */
  lo: number;
  hi: number;
  confidence: number;
}

function checkPaired(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  checkNonEmpty(fn, 'a', a);
  checkSameLength(fn, 'a', a, 'b', b);
  checkFinite(fn, 'a', a);
  checkFinite(fn, 'b', b);
}

function atLeast(x: number, ref: number): boolean {
  return x >= ref - 1e-12 * Math.max(1, ref);
}

/** Paired bootstrap of two systems evaluated on the same examples. */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, opts: CiOptions = {}): PairedBootstrapResult {
  const fn = 'pairedBootstrap';
  checkPaired(fn, a, b);
  const { resamples, confidence, seed, statistic } = options(fn, opts, 1000);
  const n = a.length;
  const all = identity(n);
  const delta = checkStat(fn, statistic(Float64Array.from(a as ArrayLike<number>), all), "system 'a'")
    - checkStat(fn, statistic(Float64Array.from(b as ArrayLike<number>), all), "system 'b'");
  const rng = mulberry32(seed);
  const idx = new Int32Array(n);
  const bufA = new Float64Array(n);
  const bufB = new Float64Array(n);
  const deltas = new Float64Array(resamples);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    for (let j = 0; j < n; j++) idx[j] = randomIndex(rng, n);
    const d = checkStat(fn, statistic(gather(a, idx, bufA), idx), `resample ${r}`) - checkStat(fn, statistic(gather(b, idx, bufB), idx), `resample ${r}`);
    deltas[r] = d;
    if (atLeast(Math.abs(d - delta), Math.abs(delta))) extreme++;
  }
  deltas.sort();
  const alpha = (1 - confidence) / 2;
  return {
    delta, pValue: (1 + extreme) / (1 + resamples), resamples,
    lo: percentile(deltas, alpha), hi: percentile(deltas, 1 - alpha), confidence,
  };
}

/** Approximate randomisation (paired permutation) test of two systems on the same examples. */
export function permutationTest(a: ArrayLike<number>, b: ArrayLike<number>, opts: ResampleOptions = {}): PairedResult {
  const fn = 'permutationTest';
  checkPaired(fn, a, b);
  const { resamples, seed, statistic } = options(fn, opts, 10000);
  const n = a.length;
  const all = identity(n);
  const delta = checkStat(fn, statistic(Float64Array.from(a as ArrayLike<number>), all), "system 'a'")
    - checkStat(fn, statistic(Float64Array.from(b as ArrayLike<number>), all), "system 'b'");
  const rng = mulberry32(seed);
  const sa = new Float64Array(n);
  const sb = new Float64Array(n);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    for (let j = 0; j < n; j++) {
      const swap = rng() < 0.5;
      sa[j] = swap ? b[j] : a[j];
      sb[j] = swap ? a[j] : b[j];
    }
    const d = checkStat(fn, statistic(sa, all), `trial ${r}`) - checkStat(fn, statistic(sb, all), `trial ${r}`);
    if (atLeast(Math.abs(d), Math.abs(delta))) extreme++;
  }
  return { delta, pValue: (1 + extreme) / (1 + resamples), resamples };
}
