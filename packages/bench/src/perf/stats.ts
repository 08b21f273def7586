// Small statistics for the regression check: Student's t quantiles (for intervals over a handful
// of runs, where a normal quantile would be too narrow; from @tunebench/eval), a two-sample bootstrap interval of a
// ratio of medians, and the A/A noise floor. Pure functions, tested in perf_stats.test.ts.
import { mulberry32, studentTCdf, studentTQuantile } from '@tunebench/eval';
import { median } from './record.js';

/** P(T ≤ t) for Student's t with `df` degrees of freedom (@tunebench/eval, checked against scipy there). */
export function tCdf(t: number, df: number): number {
  return studentTCdf(t, df);
}

const quantiles = new Map<string, number>();

/** The p-quantile of Student's t (@tunebench/eval), remembered: the sequential tests ask for the same few again and again. */
export function tQuantile(p: number, df: number): number {
  const key = `${p},${df}`;
  let q = quantiles.get(key);
  if (q === undefined) {
    q = studentTQuantile(p, df);
    quantiles.set(key, q);
  }
  return q;
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
