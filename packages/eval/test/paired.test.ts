// paired.ts: McNemar, Holm and the binomial against statsmodels / SciPy (fixtures/golden_paired.json,
// made by fixtures/golden_paired.py with Debian's python3), laws of each function with fast-check,
// and the stratified bootstrap's spread against the analytic standard error of a paired difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  accuracyOf, binomCdf, binomTestHalf, discordant, holm, macroF1Of, mcnemarExact, meanCostOf, minimumDetectableDifference, mulberry32,
  nerScores, spanF1Of, stratifiedPairedBootstrap, Z_80, Z_975, type SeedPair,
} from '../src/index.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/golden_paired.json', import.meta.url), 'utf8'));

function close(ours: number, ref: number, rel = 1e-12, what = ''): void {
  const tol = rel * Math.max(Math.abs(ref), 1e-300);
  assert.ok(Math.abs(ours - ref) <= tol, `${what}: ours ${ours}, reference ${ref} (|Δ| ${Math.abs(ours - ref)} > ${tol})`);
}

test('mcnemarExact matches statsmodels mcnemar(exact=True) to 1e-12 relative', () => {
  for (const c of fx.mcnemar) {
    const r = mcnemarExact(c.b, c.c);
    assert.equal(r.statistic, c.statistic);
    close(r.pValue, c.pValue, 1e-12, `mcnemar(${c.b}, ${c.c})`);
  }
});

test('holm matches statsmodels multipletests(method="holm") to 1e-12 relative', () => {
  for (const c of fx.holm) {
    const adj = holm(c.p);
    c.adjusted.forEach((ref: number, i: number) => close(adj[i]!, ref, 1e-12, `holm(${c.p})[${i}]`));
    c.reject.forEach((ref: boolean, i: number) => assert.equal(adj[i]! <= 0.05, ref, `holm(${c.p}) reject[${i}]`));
  }
});

test('binomCdf and binomTestHalf match scipy.stats binom.cdf / binomtest to 1e-12 relative', () => {
  for (const c of fx.binomCdf) close(binomCdf(c.k, c.n, c.p), c.cdf, 1e-12, `binom.cdf(${c.k}, ${c.n}, ${c.p})`);
  for (const c of fx.binomTest) close(binomTestHalf(c.k, c.n), c.pValue, 1e-12, `binomtest(${c.k}, ${c.n})`);
});

test('macroF1Of on all indices equals scikit-learn f1_score(average="macro")', () => {
  for (const c of fx.macroF1) {
    const all = Int32Array.from(c.gold, (_: number, i: number) => i);
    close(macroF1Of(c.gold, c.pred, c.numLabels)(all), c.macroF1, 1e-12, 'macro-F1');
  }
});

test('spanF1Of on all sentences equals nerScores strict / lenient micro-F1', () => {
  const gold = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['O', 'O'], ['B-ORG', 'O', 'B-PER'], ['I-LOC', 'O']];
  const pred = [['B-PER', 'I-PER', 'O', 'B-ORG'], ['B-LOC', 'O'], ['B-ORG', 'O', 'O'], ['I-LOC', 'O']];
  const all = Int32Array.from(gold, (_, i) => i);
  close(spanF1Of(gold, pred)(all), nerScores(gold, pred, { mode: 'strict', scheme: 'IOB2' }).micro.f1, 1e-15, 'strict');
  close(spanF1Of(gold, pred, 'default')(all), nerScores(gold, pred).micro.f1, 1e-15, 'lenient');
  // a sentence drawn twice counts twice
  const twice = spanF1Of(gold, pred)(Int32Array.from([0, 0]));
  close(twice, nerScores([gold[0]!, gold[0]!], [pred[0]!, pred[0]!], { mode: 'strict', scheme: 'IOB2' }).micro.f1, 1e-15, 'repeated');
});

test('holm: adjusted p ≥ raw p, ≤ 1, and monotone in the raw order', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 20 }), (ps) => {
    const adj = holm(ps);
    ps.forEach((p, i) => assert.ok(adj[i]! >= p && adj[i]! <= 1));
    for (let i = 0; i < ps.length; i++) for (let j = 0; j < ps.length; j++) if (ps[i]! <= ps[j]!) assert.ok(adj[i]! <= adj[j]!);
    if (ps.length === 1) assert.equal(adj[0], ps[0]);
  }));
});

test('mcnemarExact: symmetric in (b, c), p in (0, 1], p = 1 when b = c, smaller as the split gets more lopsided', () => {
  fc.assert(fc.property(fc.nat(300), fc.nat(300), (b, c) => {
    const p = mcnemarExact(b, c).pValue;
    assert.equal(p, mcnemarExact(c, b).pValue);
    assert.ok(p > 0 && p <= 1);
    if (b === c) assert.equal(p, 1);
    if (b > c) assert.ok(mcnemarExact(b + 1, c).pValue <= p);
  }));
});

test('binomCdf: non-decreasing in k, reaches 1 at n, and the two tails sum to 1', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.nat(), (n, p, kk) => {
    const k = kk % n;
    assert.ok(binomCdf(k, n, p) <= binomCdf(k + 1, n, p) + 1e-15);
    assert.equal(binomCdf(n, n, p), 1);
    // P(X ≤ k) + P(Y ≤ n−k−1) = 1 with Y = n − X ~ Binomial(n, 1−p)
    assert.ok(Math.abs(binomCdf(k, n, p) + binomCdf(n - k - 1, n, 1 - p) - 1) < 1e-12);
  }));
});

function seedOf(gold: number[], a: number[], b: number[]): SeedPair {
  return { n: gold.length, a: accuracyOf(gold, a), b: accuracyOf(gold, b) };
}

test('stratifiedPairedBootstrap: identical systems → Δ = 0, CI [0, 0], SE 0, p = 1', () => {
  fc.assert(fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 4 }), fc.nat(), (golds, s) => {
    const seeds = golds.map((g) => { const p = g.map((x, i) => (i % 3 ? x : (x + 1) % 3)); return seedOf(g, p, p); });
    const r = stratifiedPairedBootstrap(seeds, { resamples: 50, seed: s });
    assert.deepEqual([r.delta, r.lo, r.hi, r.se, r.pValue], [0, 0, 0, 0, 1]);
    assert.equal(minimumDetectableDifference(r.se), 0);
  }), { numRuns: 30 });
});

test('stratifiedPairedBootstrap: seeded; Δ is the mean over seeds of the full-set differences; CI holds Δ; antisymmetric', () => {
  const rng = mulberry32(5);
  const seeds: SeedPair[] = [];
  const deltas: number[] = [];
  for (let s = 0; s < 3; s++) {
    const n = 40 + s * 7;
    const gold = Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0));
    const a = gold.map((y) => (rng() < 0.8 ? y : 1 - y));
    const b = gold.map((y) => (rng() < 0.7 ? y : 1 - y));
    seeds.push(seedOf(gold, a, b));
    deltas.push(a.filter((x, i) => x === gold[i]).length / n - b.filter((x, i) => x === gold[i]).length / n);
  }
  const r = stratifiedPairedBootstrap(seeds, { resamples: 400, seed: 9 });
  assert.deepEqual(stratifiedPairedBootstrap(seeds, { resamples: 400, seed: 9 }), r);
  close(r.delta, (deltas[0]! + deltas[1]! + deltas[2]!) / 3, 1e-14, 'Δ');
  assert.ok(r.lo <= r.delta && r.delta <= r.hi);
  assert.equal(r.n, 40 + 47 + 54);
  const swapped = stratifiedPairedBootstrap(seeds.map((s) => ({ n: s.n, a: s.b, b: s.a })), { resamples: 400, seed: 9 });
  close(swapped.delta, -r.delta, 1e-14, 'swapped Δ');
  close(swapped.lo, -r.hi, 1e-12, 'swapped lo');
  assert.equal(swapped.pValue, r.pValue);
});

test('stratifiedPairedBootstrap: SE and CI width agree with the analytic SE of a paired accuracy difference', () => {
  // Per seed, d_i = 1[A right] − 1[B right] ∈ {−1, 0, 1}; Var(mean d) = Var(d)/n (plug-in), and the
  // mean over S seeds has variance Σ Var_s / (n_s S²). With 3 × 600 examples the bootstrap SE must
  // be within 10 % of it and the 95 % CI about 2·1.96·SE wide.
  const rng = mulberry32(11);
  const seeds: SeedPair[] = [];
  let v = 0;
  const S = 3, n = 600;
  for (let s = 0; s < S; s++) {
    const gold = Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0));
    const a = gold.map((y) => (rng() < 0.85 ? y : 1 - y));
    const b = gold.map((y) => (rng() < 0.8 ? y : 1 - y));
    const d = gold.map((y, i) => Number(a[i] === y) - Number(b[i] === y));
    const m = d.reduce((x, y) => x + y, 0) / n;
    v += d.reduce((x, y) => x + (y - m) ** 2, 0) / n / n;
    seeds.push(seedOf(gold, a, b));
  }
  const se = Math.sqrt(v) / S;
  const r = stratifiedPairedBootstrap(seeds, { resamples: 2000, seed: 1 });
  assert.ok(Math.abs(r.se - se) < 0.1 * se, `bootstrap SE ${r.se} vs analytic ${se}`);
  assert.ok(Math.abs(r.hi - r.lo - 2 * 1.96 * se) < 0.15 * 2 * 1.96 * se, `CI width ${r.hi - r.lo} vs ${2 * 1.96 * se}`);
  close(minimumDetectableDifference(r.se), (Z_975 + Z_80) * r.se, 1e-15, 'MDD');
});

test('meanCostOf and discordant count what they say', () => {
  const cost = [[0, 1], [10, 0]];
  close(meanCostOf([0, 1, 1, 0], [0, 0, 1, 1], cost)(Int32Array.from([0, 1, 2, 3])), 11 / 4, 1e-15, 'cost');
  assert.deepEqual(discordant([1, 1, 0, 0, 1], [1, 0, 1, 0, 0]), { b: 2, c: 1 });
});
