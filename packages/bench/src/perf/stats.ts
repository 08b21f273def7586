// Small statistics for the regression check: Student's t quantiles (for intervals over a handful
// of runs, where a normal quantile would be too narrow), a two-sample bootstrap interval of a
// ratio of medians, and the A/A noise floor. Pure functions, tested in perf_stats.test.ts.
import { mulberry32 } from '@tunebench/eval';
import { median } from './record.js';

/** ln Γ(x), x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
export function lgamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (Simpson's rule on the density; df = Infinity: normal). */
export function tCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`tCdf: df ${df} must be > 0`);
  if (t < 0) return 1 - tCdf(-t, df);
  const logC = df === Infinity ? -0.5 * Math.log(2 * Math.PI) : lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  const dens = (x: number) => Math.exp(logC + (df === Infinity ? -0.5 * x * x : (-(df + 1) / 2) * Math.log1p((x * x) / df)));
  // Substitute x = u / (1 − u) would handle any t; a plain grid is enough for |t| ≤ 1000.
  const n = 2000, h = Math.min(t, 1000) / n;
  let s = dens(0) + dens(Math.min(t, 1000));
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * dens(i * h);
  return Math.min(1, 0.5 + (s * h) / 3);
}

const quantiles = new Map<string, number>();

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on tCdf; remembered, the sequential tests ask for the same few). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p ${p} must be in (0, 1)`);
  if (p < 0.5) return -tQuantile(1 - p, df);
  const key = `${p},${df}`;
  let q = quantiles.get(key);
  if (q === undefined) {
    q = tQuantileUncached(p, df);
    quantiles.set(key, q);
  }
  return q;
}

function tQuantileUncached(p: number, df: number): number {
  let lo = 0, hi = 1;
  while (tCdf(hi, df) < p && hi < 1e6) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : NaN;
  return { mean, sd };
}

/** t-interval of the mean of `xs` at `confidence` (two-sided). */
export function tInterval(xs: readonly number[], confidence: number): { mean: number; lo: number; hi: number; halfWidth: number } {
  const { mean, sd } = meanSd(xs);
  if (xs.length < 2) return { mean, lo: -Infinity, hi: Infinity, halfWidth: Infinity };
  const h = tQuantile(1 - (1 - confidence) / 2, xs.length - 1) * (sd / Math.sqrt(xs.length));
  return { mean, lo: mean - h, hi: mean + h, halfWidth: h };
}

/**
 * Percentile-bootstrap interval of median(cur) / median(base) − 1, the two sides resampled
 * independently (seeded: the same data always give the same interval).
 */
export function medianRatioInterval(base: readonly number[], cur: readonly number[], confidence = 0.95, resamples = 1000, seed = 1): { lo: number; hi: number } {
  const rand = mulberry32(seed);
  const pick = (xs: readonly number[]) => median(Array.from(xs, () => xs[Math.floor(rand() * xs.length)]!));
  const stats = Array.from({ length: resamples }, () => pick(cur) / pick(base) - 1).sort((a, b) => a - b);
  const q = (p: number) => stats[Math.min(resamples - 1, Math.max(0, Math.round(p * (resamples - 1))))]!;
  return { lo: q((1 - confidence) / 2), hi: q(1 - (1 - confidence) / 2) };
}

/**
 * The A/A noise floor of one benchmark from its reference-normalised ratios in K runs of the same
 * code: the change |r_i / r_j − 1| that a run compared with another run of the same code exceeds
 * with probability < alpha. Two estimates, the larger one kept:
 *   - a log-normal model: log r ~ N(μ, s²) with s from the K runs, so the log of a ratio of two runs
 *     has sd s·√2; the two-sided (1 − alpha) bound uses Student's t with K − 1 degrees of freedom
 *     (s itself comes from few runs);
 *   - the largest change actually seen between two of the K runs (no model).
 */
export function noiseFloor(ratios: readonly number[], alpha: number): { floor: number; sdLog: number; largestSeen: number } {
  if (ratios.length < 3) throw new Error(`calibration needs at least 3 runs of each benchmark (got ${ratios.length})`);
  const logs = ratios.map(Math.log);
  const { sd } = meanSd(logs);
  const model = Math.exp(tQuantile(1 - alpha / 2, ratios.length - 1) * sd * Math.SQRT2) - 1;
  let largestSeen = 0;
  for (let i = 0; i < ratios.length; i++) for (let j = 0; j < ratios.length; j++) if (i !== j) largestSeen = Math.max(largestSeen, Math.abs(ratios[i]! / ratios[j]! - 1));
  return { floor: Math.max(model, largestSeen), sdLog: sd, largestSeen };
}

/** Percentile-bootstrap interval of median(xs), relative to it: half of (hi − lo) / median. */
export function medianRelativeHalfWidth(xs: readonly number[], confidence = 0.95, resamples = 500, seed = 1): number {
  const rand = mulberry32(seed);
  const stats = Array.from({ length: resamples }, () => median(Array.from(xs, () => xs[Math.floor(rand() * xs.length)]!))).sort((a, b) => a - b);
  const q = (p: number) => stats[Math.min(resamples - 1, Math.max(0, Math.round(p * (resamples - 1))))]!;
  return (q(1 - (1 - confidence) / 2) - q((1 - confidence) / 2)) / 2 / median(xs);
}
