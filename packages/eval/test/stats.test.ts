// Statistics: summary, bootstrap CIs, paired tests, Mann-Whitney. scipy agreement is in
// sklearn-fixture.test.ts; these check the conventions and the laws the functions must obey.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bootstrapCi, erfc, mannWhitneyCounts, mannWhitneyU, meanStd, mulberry32, pairedBootstrap, permutationTest, precisionRecallF1,
} from '../src/index.js';

test('meanStd: sample std (ddof 1) by default, population with ddof 0, NaN std for one value', () => {
  const r = meanStd([1, 2, 3, 4]);
  assert.equal(r.mean, 2.5);
  assert.ok(Math.abs(r.std - Math.sqrt(5 / 3)) < 1e-15);
  assert.ok(Math.abs(meanStd([1, 2, 3, 4], { ddof: 0 }).std - Math.sqrt(5 / 4)) < 1e-15);
  assert.ok(Number.isNaN(meanStd([0.7]).std));
  assert.equal(meanStd([0.7]).mean, 0.7);
});

test('bootstrapCi: seeded (same seed → same interval), contains the estimate, width ≈ normal theory', () => {
  const rng = mulberry32(1);
  const values = Array.from({ length: 200 }, () => (rng() < 0.7 ? 1 : 0));
  const a = bootstrapCi(values, { seed: 3 });
  assert.deepEqual(bootstrapCi(values, { seed: 3 }), a);
  assert.notDeepEqual(bootstrapCi(values, { seed: 4 }), a);
  assert.ok(a.lo <= a.estimate && a.estimate <= a.hi);
  // normal theory for a proportion: 2·1.96·sqrt(p(1−p)/n) ≈ 0.127 for p ≈ 0.7, n = 200
  const p = a.estimate;
  const expected = 2 * 1.96 * Math.sqrt((p * (1 - p)) / values.length);
  assert.ok(Math.abs(a.hi - a.lo - expected) < 0.25 * expected, `width ${a.hi - a.lo} vs ${expected}`);
  const constant = bootstrapCi([0.5, 0.5, 0.5]); // every resample has the same mean
  assert.deepEqual([constant.lo, constant.estimate, constant.hi], [0.5, 0.5, 0.5]);
});

test('bootstrapCi with a statistic that needs the gold labels (macro-F1 of predictions, by index)', () => {
  const gold = [0, 1, 2, 0, 1, 2, 0, 1, 2, 2];
  const pred = [0, 2, 1, 0, 0, 1, 0, 1, 2, 2];
  const f1 = (values: Float64Array, idx: Int32Array) =>
    precisionRecallF1(Array.from(idx, (i) => gold[i]), Array.from(values), { average: 'macro', labels: [0, 1, 2] }).f1;
  const ci = bootstrapCi(pred, { statistic: f1, resamples: 300 });
  assert.equal(ci.estimate, precisionRecallF1(gold, pred, { average: 'macro' }).f1);
  assert.ok(ci.lo <= ci.estimate && ci.estimate <= ci.hi);
});

test('property: the 95% percentile CI of a mean contains the mean (n ≥ 2, 500 resamples)', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 2, maxLength: 40 }), fc.nat(), (xs, seed) => {
    const ci = bootstrapCi(xs, { seed, resamples: 500 });
    assert.ok(ci.lo <= ci.estimate + 1e-9 && ci.estimate <= ci.hi + 1e-9, `${ci.lo} ≤ ${ci.estimate} ≤ ${ci.hi}`);
  }), { numRuns: 100, seed: 11 });
});

test('a system against itself: paired bootstrap and permutation p-values are exactly 1, Δ = 0', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 50 }), fc.nat(), (a, seed) => {
    const pb = pairedBootstrap(a, a, { seed, resamples: 200 });
    assert.deepEqual([pb.delta, pb.pValue, pb.lo, pb.hi], [0, 1, 0, 0]);
    const pt = permutationTest(a, a, { seed, resamples: 200 });
    assert.deepEqual([pt.delta, pt.pValue], [0, 1]);
  }), { numRuns: 100, seed: 12 });
});

test('permutation test against its exact value: a = [1,1,1], b = [0,0,0] → 2 of 8 swap patterns reach |Δ| = 1', () => {
  const r = permutationTest([1, 1, 1], [0, 0, 0], { resamples: 20000, seed: 5 });
  assert.equal(r.delta, 1);
  // binomial sd of the estimate: sqrt(0.25·0.75/20000) ≈ 0.003
  assert.ok(Math.abs(r.pValue - 0.25) < 0.015, `p = ${r.pValue}`);
});

test('a clearly better system: tiny p-values (1/(R+1) floor) and a CI of Δ excluding 0', () => {
  const rng = mulberry32(9);
  const a = Array.from({ length: 100 }, () => (rng() < 0.9 ? 1 : 0));
  const b = Array.from({ length: 100 }, () => (rng() < 0.5 ? 1 : 0));
  const pb = pairedBootstrap(a, b, { resamples: 1000 });
  assert.ok(pb.pValue < 0.01 && pb.pValue >= 1 / 1001);
  assert.ok(pb.lo > 0 && pb.hi > pb.lo);
  assert.ok(permutationTest(a, b, { resamples: 2000 }).pValue < 0.01);
});

test('Mann-Whitney exact counts: [7 choose 3]_q coefficients, sums to C(m+n, m), symmetric', () => {
  assert.deepEqual(mannWhitneyCounts(3, 4).map(Number), [1, 1, 2, 3, 4, 4, 5, 4, 4, 3, 2, 1, 1]);
  const c = mannWhitneyCounts(8, 30);
  assert.equal(c.reduce((s, v) => s + v, 0n), 48903492n); // C(38, 8)
  for (let u = 0; u < c.length; u++) assert.equal(c[u], c[c.length - 1 - u]);
});

test('Mann-Whitney laws: U1 + U2 = n1·n2, identical samples give p = 1, swapping samples swaps less/greater', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 }),
    fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 }),
    (x, y) => {
      const xy = mannWhitneyU(x, y);
      const yx = mannWhitneyU(y, x);
      assert.equal(xy.statistic + yx.statistic, x.length * y.length);
      assert.ok(xy.pValue >= 0 && xy.pValue <= 1);
      assert.ok(Math.abs(xy.pValue - yx.pValue) < 1e-12);
      const less = mannWhitneyU(x, y, { alternative: 'less' }).pValue;
      const greater = mannWhitneyU(y, x, { alternative: 'greater' }).pValue;
      assert.ok(Math.abs(less - greater) < 1e-12);
      assert.equal(mannWhitneyU(x, x).pValue, 1);
    }), { numRuns: 200, seed: 13 });
});

test('Mann-Whitney exact tail keeps relative precision: 8 vs 60 fully separated → 2/C(68, 8)', () => {
  const x = Array.from({ length: 8 }, (_, i) => 1000 + i);
  const y = Array.from({ length: 60 }, (_, i) => i);
  const r = mannWhitneyU(x, y);
  assert.equal(r.method, 'exact');
  const total = 7_392_009_768; // C(68, 8)
  assert.ok(Math.abs(r.pValue - 2 / total) <= 1e-15 * (2 / total));
});

test('erfc: exact points and symmetry', () => {
  assert.equal(erfc(0), 1);
  assert.equal(erfc(Infinity), 0);
  assert.equal(erfc(-Infinity), 2);
  assert.ok(Number.isNaN(erfc(NaN)));
  for (const x of [0.3, 1.7, 2.5, 6]) assert.ok(Math.abs(erfc(-x) - (2 - erfc(x))) < 1e-15);
});

test('bad input: empty, mismatched, NaN, bad options', () => {
  assert.throws(() => meanStd([]), /meanStd: 'values' is empty/);
  assert.throws(() => meanStd([1, NaN]), /meanStd: 'values\[1\]' is NaN/);
  assert.throws(() => bootstrapCi([1, 2], { confidence: 95 }), /'confidence' = 95 must be in \(0, 1\)/);
  assert.throws(() => bootstrapCi([1, 2], { resamples: 0 }), /'resamples' = 0 must be a positive integer/);
  assert.throws(() => bootstrapCi([1, 2], { statistic: () => NaN }), /the statistic returned NaN/);
  assert.throws(() => pairedBootstrap([1, 2], [1]), /'a' has 2 entries but 'b' has 1/);
  assert.throws(() => permutationTest([1, NaN], [1, 2]), /'a\[1\]' is NaN/);
  assert.throws(() => mannWhitneyU([], [1]), /mannWhitneyU: 'x' is empty/);
  assert.throws(() => mannWhitneyU([1, NaN], [1]), /'x\[1\]' is NaN/);
  assert.throws(() => mannWhitneyU([1], [2], { alternative: 'two_sided' as never }), /'alternative' must be/);
  assert.throws(() => mannWhitneyU(Array.from({ length: 400 }, (_, i) => i), Array.from({ length: 400 }, (_, i) => i + 0.5), { method: 'exact' }), /too large for the exact distribution/);
});
