// Comparing two strategies of a suite on one metric: the effect Δ = mean(a − b) with its 95 % CI
// and a p-value. This is the seed-paired version (records of a and b paired by dataset and seed,
// Δ the mean of the paired differences, t-distribution CI with n − 1 degrees of freedom, p from
// the two-sided paired t test of H0: Δ = 0). It is the placeholder of issue 22's per-example
// evidence (paired bootstrap over test examples within seeds): that version keeps this signature.
//
// With n seeds the t interval is honest but wide (t₀.₉₇₅ is 4.30 with 3 seeds); one pair gives
// no interval at all (ci [−∞, ∞], p null); pairs that all differ by the same amount give a
// zero-width interval and p = 0 (or 1 when that amount is 0).
import { studentTQuantile, studentTTwoSided } from '@tunebench/eval';
import type { RunRecord } from './record.js';

export interface Comparison {
  /** mean over pairs of (a − b), in the metric's units. */
  delta: number;
  /** 95 % CI of delta; [−∞, ∞] when it cannot be computed (one pair). */
  ci: [number, number];
  /** Two-sided p of H0: delta = 0 (null when it cannot be computed). */
  p: number | null;
  /** Number of pairs. */
  n: number;
  method: 'paired-bootstrap' | 'seed-paired';
}

/** The metric's value in a record (main_score, or any key of record.metrics; null if absent or null). */
export function metricOf(r: RunRecord, metric: string): number | null {
  const v = r.metrics[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Pairs (a, b) of the metric over the (dataset, seed) both strategies have, in dataset then seed order. */
export function seedPairs(records: RunRecord[], suite: string, metric: string, a: string, b: string): { key: string; a: number; b: number }[] {
  const byKey = (s: string) => {
    const m = new Map<string, number>();
    for (const r of records) {
      if (r.suite !== suite || r.strategy !== s) continue;
      const v = metricOf(r, metric);
      if (v !== null) m.set(`${r.dataset}\u0000${String(r.seed).padStart(10, '0')}`, v);
    }
    return m;
  };
  const ma = byKey(a), mb = byKey(b);
  return [...ma.keys()].filter((k) => mb.has(k)).sort().map((k) => ({ key: k, a: ma.get(k)!, b: mb.get(k)! }));
}

/** Mean, 95 % t interval and two-sided one-sample t-test p (H0: mean = 0) of values. */
export function tSummary(d: number[]): { mean: number; ci: [number, number]; p: number | null } {
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, ci: [-Infinity, Infinity], p: null };
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  // Pairs that differ by one constant (up to rounding): no spread, the effect is exact.
  if (!(sd > 1e-12 * Math.max(1, Math.abs(mean)))) return { mean, ci: [mean, mean], p: Math.abs(mean) > 1e-12 ? 0 : 1 };
  const se = sd / Math.sqrt(n);
  const t = studentTQuantile(0.975, n - 1);
  return { mean, ci: [mean - t * se, mean + t * se], p: studentTTwoSided(mean / se, n - 1) };
}

/**
 * a vs b on `metric` within `suite`: null when no (dataset, seed) has both (the caller filters
 * records to one dataset when datasets must not be pooled).
 */
export function compareStrategies(records: RunRecord[], suite: string, metric: string, a: string, b: string): Comparison | null {
  const pairs = seedPairs(records, suite, metric, a, b);
  if (!pairs.length) return null;
  const s = tSummary(pairs.map((x) => x.a - x.b));
  return { delta: s.mean, ci: s.ci, p: s.p, n: pairs.length, method: 'seed-paired' };
}
