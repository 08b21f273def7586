// Paired comparisons of two systems over the same test examples, run over several training seeds.
//
// A leaderboard compares a strategy A with the suite's baseline B. Each seed s gives both systems'
// predictions on the same n_s test examples, so the two can be paired example by example, not only
// seed by seed (3 seeds: the smallest exact sign-flip p is 0.25).
//
// - stratifiedPairedBootstrap: Δ = mean over seeds of [M(A_s) − M(B_s)], M any metric of a subset
//   of examples (accuracy, macro-F1, strict span F1, expected cost). Each resample draws n_s
//   examples with replacement *within* every seed (stratified by seed: a seed's resample never
//   borrows another seed's examples) with the same indices for A and B, and recomputes Δ*. The CI
//   is the percentile interval of Δ*; the standard error is the std of Δ*; the two-sided p of
//   H0: Δ = 0 shifts the bootstrap distribution to the null, p = (1 + #{|Δ* − Δ| ≥ |Δ|}) / (R + 1)
//   (the convention of stats.ts pairedBootstrap). This is test-set sampling variance with the
//   seeds held fixed; it does not say how another seed would have done.
// - mcnemarExact: McNemar's exact test on the discordant pairs (A right / B wrong = b, A wrong /
//   B right = c): two-sided p = min(1, 2·P(X ≤ min(b, c))), X ~ Binomial(b + c, ½), as
//   statsmodels' mcnemar(exact=True). Pairs pooled over seeds count as independent pairs.
// - holm: Holm–Bonferroni step-down adjustment, as statsmodels' multipletests(method='holm').
// - minimumDetectableDifference: the smallest |Δ| this design detects at two-sided α with power
//   1 − β, from the bootstrap standard error: MDD = (z_{1−α/2} + z_{1−β})·SE, i.e.
//   (1.95996… + 0.84162…)·SE ≈ 2.80·SE at α = 0.05, power 0.8 (normal approximation of Δ*).

import { checkPositiveInt, fail } from './check.js';
import { sentenceEntities } from './ner.js';
import { mulberry32, randomIndex } from './rng.js';
import { percentile } from './stats.js';

/** A metric of one system on a multiset of its example indices (repeats allowed). */
export type SubsetMetric = (indices: Int32Array) => number;

/** One seed's test set: both systems' metric on the same n examples (indices 0..n−1). */
export interface SeedPair {
  n: number;
  a: SubsetMetric;
  b: SubsetMetric;
}

export interface StratifiedBootstrapResult {
  /** mean over seeds of M(A_s) − M(B_s) on the full test sets. */
  delta: number;
  lo: number;
  hi: number;
  /** Standard deviation of the resampled Δ*. */
  se: number;
  pValue: number;
  confidence: number;
  resamples: number;
  /** Examples over all seeds (Σ n_s). */
  n: number;
}

/** Paired bootstrap over test examples, stratified by seed (see the header). */
export function stratifiedPairedBootstrap(seeds: readonly SeedPair[], opts: { resamples?: number; seed?: number; confidence?: number } = {}): StratifiedBootstrapResult {
  const fn = 'stratifiedPairedBootstrap';
  if (!seeds.length) fail(fn, 'no seeds to compare');
  const resamples = opts.resamples ?? 1000;
  checkPositiveInt(fn, 'resamples', resamples);
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) fail(fn, `'confidence' = ${String(confidence)} must be in (0, 1)`);
  for (const [i, s] of seeds.entries()) if (!Number.isInteger(s.n) || s.n < 1) fail(fn, `seed ${i} has ${String(s.n)} examples; need at least 1`);
  const value = (v: number, what: string) => {
    if (typeof v !== 'number' || Number.isNaN(v)) fail(fn, `the metric returned ${String(v)} on ${what}`);
    return v;
  };
  const full = seeds.map((s) => Int32Array.from({ length: s.n }, (_, i) => i));
  let delta = 0;
  seeds.forEach((s, i) => (delta += value(s.a(full[i]!), `seed ${i}, system a`) - value(s.b(full[i]!), `seed ${i}, system b`)));
  delta /= seeds.length;
  const rng = mulberry32(opts.seed ?? 0);
  const idx = seeds.map((s) => new Int32Array(s.n));
  const deltas = new Float64Array(resamples);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    let d = 0;
    for (let k = 0; k < seeds.length; k++) {
      const s = seeds[k]!, ix = idx[k]!;
      for (let j = 0; j < s.n; j++) ix[j] = randomIndex(rng, s.n);
      d += value(s.a(ix), `resample ${r}`) - value(s.b(ix), `resample ${r}`);
    }
    d /= seeds.length;
    deltas[r] = d;
    if (Math.abs(d - delta) >= Math.abs(delta) - 1e-12 * Math.max(1, Math.abs(delta))) extreme++;
  }
  let m = 0;
  for (const d of deltas) m += d;
  m /= resamples;
  let ss = 0;
  for (const d of deltas) ss += (d - m) ** 2;
  const se = resamples > 1 ? Math.sqrt(ss / (resamples - 1)) : 0;
  deltas.sort();
  const alpha = (1 - confidence) / 2;
  return {
    delta, lo: percentile(deltas, alpha), hi: percentile(deltas, 1 - alpha), se,
    pValue: (1 + extreme) / (1 + resamples), confidence, resamples, n: seeds.reduce((t, s) => t + s.n, 0),
  };
}

// ---- metrics of an index subset ------------------------------------------------------------

/** Accuracy of `pred` against `gold` on the indices. */
export function accuracyOf(gold: ArrayLike<number>, pred: ArrayLike<number>): SubsetMetric {
  if (gold.length !== pred.length) fail('accuracyOf', `gold has ${gold.length} labels, pred ${pred.length}`);
  return (ix) => {
    let right = 0;
    for (let j = 0; j < ix.length; j++) if (gold[ix[j]!] === pred[ix[j]!]) right++;
    return right / ix.length;
  };
}

/** Macro-averaged F1 over labels 0..K−1 (scikit-learn's, zero_division 0; every label counts, as the trainer's macro_f1). */
export function macroF1Of(gold: ArrayLike<number>, pred: ArrayLike<number>, numLabels: number): SubsetMetric {
  if (gold.length !== pred.length) fail('macroF1Of', `gold has ${gold.length} labels, pred ${pred.length}`);
  const tp = new Float64Array(numLabels), fp = new Float64Array(numLabels), fn = new Float64Array(numLabels);
  return (ix) => {
    tp.fill(0); fp.fill(0); fn.fill(0);
    for (let j = 0; j < ix.length; j++) {
      const g = gold[ix[j]!]!, p = pred[ix[j]!]!;
      if (g === p) tp[g]++;
      else { fp[p]++; fn[g]++; }
    }
    let s = 0;
    for (let k = 0; k < numLabels; k++) {
      const den = 2 * tp[k]! + fp[k]! + fn[k]!;
      s += den ? (2 * tp[k]!) / den : 0;
    }
    return s / numLabels;
  };
}

/** Mean cost[gold][pred] per example (expected cost, lower is better). */
export function meanCostOf(gold: ArrayLike<number>, pred: ArrayLike<number>, cost: readonly (readonly number[])[]): SubsetMetric {
  if (gold.length !== pred.length) fail('meanCostOf', `gold has ${gold.length} labels, pred ${pred.length}`);
  return (ix) => {
    let s = 0;
    for (let j = 0; j < ix.length; j++) s += cost[gold[ix[j]!]!]![pred[ix[j]!]!]!;
    return s / ix.length;
  };
}

/**
 * Micro entity F1 over sentences (seqeval's; strict IOB2 by default, 'default' = lenient):
 * 2·Σtp / (Σpredicted + Σgold) over the sentences of the subset, 0 when both sums are 0.
 */
export function spanF1Of(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[], mode: 'strict' | 'default' = 'strict'): SubsetMetric {
  if (gold.length !== pred.length) fail('spanF1Of', `gold has ${gold.length} sentences, pred ${pred.length}`);
  const tp = new Float64Array(gold.length), np = new Float64Array(gold.length), ng = new Float64Array(gold.length);
  const key = (e: { type: string; start: number; end: number }) => `${e.type}\u0000${e.start}\u0000${e.end}`;
  gold.forEach((g, i) => {
    const ge = sentenceEntities(g, { mode, scheme: 'IOB2', fn: 'spanF1Of', name: `gold[${i}]` });
    const pe = sentenceEntities(pred[i]!, { mode, scheme: 'IOB2', fn: 'spanF1Of', name: `pred[${i}]` });
    const gs = new Set(ge.map(key));
    tp[i] = new Set(pe.map(key).filter((k) => gs.has(k))).size;
    np[i] = new Set(pe.map(key)).size;
    ng[i] = gs.size;
  });
  return (ix) => {
    let t = 0, p = 0, g = 0;
    for (let j = 0; j < ix.length; j++) { t += tp[ix[j]!]!; p += np[ix[j]!]!; g += ng[ix[j]!]!; }
    return p + g ? (2 * t) / (p + g) : 0;
  };
}

// ---- exact tests ----------------------------------------------------------------------------

/**
 * P(X ≤ k) for X ~ Binomial(n, p), summed from the mode side down so that no term underflows
 * before it matters: terms relative to the k-th, t_{i−1} = t_i·i·(1−p) / ((n−i+1)·p), times
 * P(X = k) = exp(log C(n, k) + k log p + (n−k) log(1−p)).
 */
export function binomCdf(k: number, n: number, p: number): number {
  const fn = 'binomCdf';
  if (!Number.isInteger(n) || n < 0) fail(fn, `n = ${String(n)} must be a non-negative integer`);
  if (!(p >= 0 && p <= 1)) fail(fn, `p = ${String(p)} must be in [0, 1]`);
  if (k < 0) return 0;
  k = Math.floor(k);
  if (k >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  // Past the mean the lower tail is 1 − the upper tail (summed the same way, mirrored).
  if (k > n * p) return 1 - binomCdf(n - k - 1, n, 1 - p);
  let logC = 0;
  for (let i = 1; i <= k; i++) logC += Math.log((n - k + i) / i);
  const pk = Math.exp(logC + k * Math.log(p) + (n - k) * Math.log1p(-p));
  let t = 1, s = 1;
  const ratio = (1 - p) / p;
  for (let i = k; i >= 1; i--) {
    t *= (i / (n - i + 1)) * ratio;
    s += t;
    if (t < s * 1e-17) break;
  }
  return Math.min(1, pk * s);
}

/** Two-sided exact binomial test of H0: success probability ½ (symmetric: min(1, 2·P(X ≤ min(k, n−k)))). */
export function binomTestHalf(k: number, n: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n) fail('binomTestHalf', `need integers 0 ≤ k ≤ n, got k = ${String(k)}, n = ${String(n)}`);
  if (n === 0) return 1;
  const m = Math.min(k, n - k);
  // k = n/2 exactly: P(X ≤ n/2)·2 > 1, clipped to 1 (scipy and statsmodels agree).
  return Math.min(1, 2 * binomCdf(m, n, 0.5));
}

export interface McNemarResult {
  /** A right, B wrong. */
  b: number;
  /** A wrong, B right. */
  c: number;
  /** min(b, c), statsmodels' statistic for the exact test. */
  statistic: number;
  pValue: number;
}

/** McNemar's exact test from the discordant counts. */
export function mcnemarExact(b: number, c: number): McNemarResult {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) fail('mcnemarExact', `discordant counts must be non-negative integers, got b = ${String(b)}, c = ${String(c)}`);
  return { b, c, statistic: Math.min(b, c), pValue: binomTestHalf(Math.min(b, c), b + c) };
}

/** Discordant counts of two systems' per-example correctness (1/0 or booleans). */
export function discordant(aCorrect: ArrayLike<number | boolean>, bCorrect: ArrayLike<number | boolean>): { b: number; c: number } {
  if (aCorrect.length !== bCorrect.length) fail('discordant', `a has ${aCorrect.length} examples, b ${bCorrect.length}`);
  let b = 0, c = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    const x = Boolean(aCorrect[i]), y = Boolean(bCorrect[i]);
    if (x && !y) b++;
    else if (!x && y) c++;
  }
  return { b, c };
}

/**
 * Holm–Bonferroni adjusted p-values, in the input order: with p sorted ascending,
 * p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)). Ties keep their input order (a stable sort,
 * as numpy's argsort in statsmodels gives the same values for tied p either way).
 */
export function holm(pValues: readonly number[]): number[] {
  for (const [i, p] of pValues.entries()) if (!(p >= 0 && p <= 1)) fail('holm', `p-value ${i} = ${String(p)} is not in [0, 1]`);
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((x, y) => pValues[x]! - pValues[y]! || x - y);
  const out = new Array<number>(m);
  let run = 0;
  order.forEach((i, j) => {
    run = Math.max(run, (m - j) * pValues[i]!);
    out[i] = Math.min(1, run);
  });
  return out;
}

/** z_{0.975} and z_{0.8}: two-sided α = 0.05, power 0.8. */
export const Z_975 = 1.959963984540054;
export const Z_80 = 0.8416212335729143;

/** MDD = (z_{1−α/2} + z_{1−β})·SE with α = 0.05, power 0.8 (see the header). */
export function minimumDetectableDifference(se: number): number {
  if (!(se >= 0)) fail('minimumDetectableDifference', `SE = ${String(se)} must be ≥ 0`);
  return (Z_975 + Z_80) * se;
}
