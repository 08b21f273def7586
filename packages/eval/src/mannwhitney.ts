// Mann-Whitney U test, matching scipy.stats.mannwhitneyu (scipy 1.10) with its defaults:
// alternative 'two-sided', use_continuity=True, method 'auto'.
//   U1 = R1 − n1(n1+1)/2 (R1 = sum of x's average ranks in the pooled sample) is the statistic
//   reported (U of x). The p-value uses U = max(U1, U2) and doubles the upper tail ('two-sided'),
//   U1 ('greater': x tends larger) or U2 ('less'), clipped to 1.
//   'auto' = 'exact' when either sample has ≤ 8 values and no value is tied, else 'asymptotic'.
//   exact: the null distribution of U is counted exactly (BigInt coefficients of the Gaussian
//   binomial [n1+n2 choose n1]_q, which counts arrangements by U), so tail probabilities keep
//   full relative precision however small.
//   asymptotic: z = (U − n1·n2/2 − 0.5) / σ with the tie-corrected
//   σ = sqrt(n1·n2/12 · ((n+1) − Σ(t³ − t)/(n(n−1)))), and P = normal upper tail.
// scipy's exact branch truncates a tied (fractional) U to an integer; so does this, when the
// caller forces method 'exact' on tied data.

import { checkFinite, checkNonEmpty, fail } from './check.js';
import { normalSf } from './normal.js';
import { rankAverage } from './ranking.js';

export type Alternative = 'two-sided' | 'less' | 'greater';

export interface MannWhitneyOptions {
  alternative?: Alternative;
  method?: 'auto' | 'exact' | 'asymptotic';
  useContinuity?: boolean;
}

export interface MannWhitneyResult {
  /** U of the first sample (scipy's `statistic`). */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymptotic';
}

/** Counts of arrangements of m x's and n y's by U = 0..m·n (coefficients of [m+n choose m]_q). */
export function mannWhitneyCounts(m: number, n: number): bigint[] {
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const deg = small * large;
  const c: bigint[] = new Array(deg + 1).fill(0n);
  c[0] = 1n;
  let curDeg = 0;
  // [large + j choose j]_q = [large + j − 1 choose j − 1]_q · (1 − q^{large+j}) / (1 − q^j)
  for (let j = 1; j <= small; j++) {
    const up = large + j;
    const newDeg = curDeg + large;
    for (let k = newDeg; k >= up; k--) c[k] -= c[k - up]; // · (1 − q^up), in place from the top
    for (let k = j; k <= newDeg; k++) c[k] += c[k - j]; //    / (1 − q^j), a strided running sum
    curDeg = newDeg;
  }
  return c;
}

const EXACT_LIMIT = 2e7; // BigInt operations a forced exact test may take (min(m,n)·m·n)

/** P(U ≥ k) under the null, exactly. */
function exactSf(k: number, m: number, n: number): number {
  const counts = mannWhitneyCounts(m, n);
  let tail = 0n;
  let total = 0n;
  for (let u = 0; u < counts.length; u++) {
    total += counts[u];
    if (u >= k) tail += counts[u];
  }
  // Scale both down together so the division keeps relative precision even past 2^1024.
  const shift = BigInt(Math.max(0, total.toString(2).length - 1000));
  return Number(tail >> shift) / Number(total >> shift);
}

export function mannWhitneyU(x: ArrayLike<number>, y: ArrayLike<number>, opts: MannWhitneyOptions = {}): MannWhitneyResult {
  const fn = 'mannWhitneyU';
  checkNonEmpty(fn, 'x', x);
  checkNonEmpty(fn, 'y', y);
  checkFinite(fn, 'x', x, true);
  checkFinite(fn, 'y', y, true);
  const alternative = opts.alternative ?? 'two-sided';
  if (!['two-sided', 'less', 'greater'].includes(alternative)) fail(fn, `'alternative' must be 'two-sided', 'less' or 'greater', got ${String(alternative)}`);
  const requested = opts.method ?? 'auto';
  if (!['auto', 'exact', 'asymptotic'].includes(requested)) fail(fn, `'method' must be 'auto', 'exact' or 'asymptotic', got ${String(requested)}`);
  const useContinuity = opts.useContinuity ?? true;
  const n1 = x.length;
  const n2 = y.length;
  const xy = [...Array.from(x), ...Array.from(y)];
  const ranks = rankAverage(xy);
  const hasTies = new Set(xy).size !== xy.length;
  let method: 'exact' | 'asymptotic';
  if (requested === 'auto') method = (n1 > 8 && n2 > 8) || hasTies ? 'asymptotic' : 'exact';
  else method = requested;
  if (method === 'exact' && Math.min(n1, n2) * n1 * n2 > EXACT_LIMIT) {
    fail(fn, `samples of ${n1} and ${n2} are too large for the exact distribution; use method 'asymptotic'`);
  }
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i];
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const [u, factor] = alternative === 'greater' ? [u1, 1] : alternative === 'less' ? [u2, 1] : [Math.max(u1, u2), 2];
  let p: number;
  if (method === 'exact') {
    p = exactSf(Math.trunc(u), n1, n2);
  } else {
    const n = n1 + n2;
    const ties = new Map<number, number>();
    for (const r of ranks) ties.set(r, (ties.get(r) ?? 0) + 1);
    let tieTerm = 0;
    for (const t of ties.values()) tieTerm += t ** 3 - t;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    let num = u - (n1 * n2) / 2;
    if (useContinuity) num -= 0.5;
    // s = 0 only when every value is tied: scipy divides to ±inf/NaN; z = num/s follows suit.
    p = normalSf(num / s);
  }
  p = Math.min(1, Math.max(0, p * factor));
  return { statistic: u1, pValue: p, method };
}
