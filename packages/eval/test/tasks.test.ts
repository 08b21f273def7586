// Costly-class, calibration, retrieval, MLM and tokenization metrics on small cases worked out by
// hand in the comments, plus the laws they must obey.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  calibration, expectedCalibrationError, expectedCost, metricsAtThreshold, minimumCostDecisions, mlmAccuracy, mlmScores, mrr,
  ndcgAtK, perplexity, predictWithThreshold, recallAtK, recallOfClass, thresholdForRecall, toRows, tokenizationStats,
} from '../src/index.js';

const near = (a: number, b: number, tol = 1e-15) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test('recallOfClass and expectedCost', () => {
  // class 2 occurs 3 times, found twice
  assert.equal(recallOfClass([2, 2, 2, 0, 1], [2, 0, 2, 0, 2], 2), 2 / 3);
  assert.equal(recallOfClass([0, 1], [0, 1], 2), 0); // absent class: 0/0 → zeroDivision 0
  assert.equal(recallOfClass([0, 1], [0, 1], 2, { zeroDivision: 1 }), 1);
  // cost[true][pred]: a missed class 1 costs 10, a false alarm 1
  const cost = [[0, 1], [10, 0]];
  assert.equal(expectedCost([0, 1, 1, 0], [1, 0, 1, 0], cost), (1 + 10 + 0 + 0) / 4);
  assert.equal(expectedCost(['ok', 'bad'], ['bad', 'bad'], cost, { labels: ['ok', 'bad'] }), 0.5);
});

test('minimumCostDecisions picks the class with the least expected cost', () => {
  const cost = [[0, 1], [10, 0]];
  // p = (0.8, 0.2): predicting 0 costs 0.2·10 = 2, predicting 1 costs 0.8·1 = 0.8 → 1
  // p = (0.95, 0.05): 0.5 vs 0.95 → 0
  assert.deepEqual(Array.from(minimumCostDecisions([[0.8, 0.2], [0.95, 0.05]], cost)), [1, 0]);
  // with a 0/1 cost matrix it is the argmax
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 98 }), fc.integer({ min: 1, max: 98 })), { minLength: 1, maxLength: 20 }), (xs) => {
    const probs = xs.map(([a, b]) => { const s = a + b + 1; return [a / s, b / s, 1 / s]; });
    const d = minimumCostDecisions(probs, [[0, 1, 1], [1, 0, 1], [1, 1, 0]]);
    probs.forEach((p, i) => assert.equal(p[d[i]], Math.max(...p)));
  }), { numRuns: 100, seed: 21 });
});

test('thresholdForRecall: worked example on dev, then the test metrics at that threshold', () => {
  const yDev = [1, 1, 1, 1, 0, 0, 0];
  const sDev = [0.9, 0.8, 0.4, 0.2, 0.7, 0.3, 0.1];
  // 75 % of 4 positives = 3: the 3rd highest positive score, 0.4; predicted positive: 0.9 0.8 0.4 0.7
  const c = thresholdForRecall(yDev, sDev, 0.75);
  assert.deepEqual([c.threshold, c.tp, c.fp, c.fn, c.tn, c.recall, c.precision], [0.4, 3, 1, 1, 2, 0.75, 0.75]);
  const all = thresholdForRecall(yDev, sDev, 1);
  assert.deepEqual([all.threshold, all.tp, all.fp], [0.2, 4, 2]);
  // booleans work too, and an explicit posLabel
  assert.equal(thresholdForRecall(yDev.map((v) => v === 1), sDev, 0.75).threshold, 0.4);
  assert.equal(thresholdForRecall(yDev.map((v) => (v ? 'fraud' : 'ok')), sDev, 0.75, { posLabel: 'fraud' }).threshold, 0.4);
  const t = metricsAtThreshold([1, 0, 1, 0], [0.5, 0.45, 0.3, 0.1], c.threshold);
  assert.deepEqual([t.tp, t.fp, t.fn, t.tn, t.recall, t.precision, t.falsePositiveRate], [1, 1, 1, 1, 0.5, 0.5, 0.5]);
});

test('property: the chosen threshold reaches the target and is the highest that does', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 40 }).filter((xs) => xs.some((x) => x[0])),
    fc.integer({ min: 1, max: 100 }),
    (xs, pct) => {
      const y = xs.map((x) => x[0]);
      const s = xs.map((x) => x[1] / 30);
      const target = pct / 100;
      const c = thresholdForRecall(y, s, target);
      assert.ok(c.recall >= target - 1e-12);
      const higher = s.filter((v) => v > c.threshold);
      if (higher.length) assert.ok(metricsAtThreshold(y, s, Math.min(...higher)).recall < target);
    }), { numRuns: 200, seed: 22 });
});

test('predictWithThreshold: the costly class when its probability reaches t, else the best other class', () => {
  const probs = [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]];
  assert.deepEqual(Array.from(predictWithThreshold(probs, 2, 0.15)), [2, 2]);
  assert.deepEqual(Array.from(predictWithThreshold(probs, 2, 0.3)), [0, 2]);
  assert.deepEqual(Array.from(predictWithThreshold(probs, 0, 0.9)), [1, 2]);
});

test('calibration: worked example with 5 bins', () => {
  // confidences 0.9 ✓ (bin 4), 0.8 ✗ and 0.7 ✓ (bin 3, (0.6, 0.8]), 0.55 ✓ (bin 2)
  // ECE = ¼·|1 − 0.9| + ½·|0.5 − 0.75| + ¼·|1 − 0.55| = 0.025 + 0.125 + 0.1125
  const probs = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45]];
  const y = [0, 1, 1, 0];
  const c = calibration(probs, y, { nBins: 5 });
  near(c.ece, 0.2625, 1e-15);
  near(c.mce, 0.45, 1e-15);
  assert.deepEqual(c.bins.map((b) => b.count), [0, 0, 1, 2, 1]);
  assert.ok(Number.isNaN(c.bins[0].accuracy));
  near(expectedCalibrationError(probs, y, { nBins: 5 }), 0.2625);
  // flat logits read back from the GPU: rows of a Float32Array
  const flat = new Float32Array([0.9, 0.1, 0.2, 0.8]);
  near(expectedCalibrationError(toRows(flat, 2), [0, 1]), 1 - (Math.fround(0.9) + Math.fround(0.8)) / 2, 1e-7);
});

test('retrieval: recall@k, MRR, nDCG@10 worked example; ties go to the lower document index', () => {
  // ranking of query 0: docs 0 (0.9), 2 (0.5), 3 (0.3), 1 (0.1); relevant {2, 3}
  const scores = [[0.9, 0.1, 0.5, 0.3]];
  const rel = [[2, 3]];
  assert.deepEqual([1, 2, 3].map((k) => recallAtK(scores, rel, k)), [0, 0.5, 1]);
  assert.equal(mrr(scores, rel), 0.5);
  assert.equal(mrr(scores, rel, { k: 1 }), 0);
  near(ndcgAtK(scores, rel), (1 / Math.log2(3) + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)));
  // two queries average
  assert.equal(recallAtK([[0.9, 0.1, 0.5, 0.3], [0, 1, 0, 0]], [[2, 3], [1]], 1), 0.5);
  // tie: docs 1 and 2 both 0.5 → 1 first
  assert.equal(mrr([[0.5, 0.5, 0.5]], [[2]]), 1 / 3);
  assert.equal(mrr([[0.5, 0.5, 0.5]], [[0]]), 1);
});

test('retrieval properties: perfect scores give 1 everywhere; values in [0, 1]; recall@k grows with k', () => {
  fc.assert(fc.property(fc.array(fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }).filter((r) => r.some(Boolean)), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1000 }), (relRows, seed) => {
    const rel = relRows.map((r) => r.flatMap((v, i) => (v ? [i] : [])));
    const perfect = relRows.map((r) => r.map((v) => (v ? 1 : 0)));
    assert.equal(mrr(perfect, rel), 1);
    assert.equal(ndcgAtK(perfect, rel), 1);
    assert.equal(recallAtK(perfect, rel, 5), 1);
    let x = seed;
    const random = relRows.map((r) => r.map(() => ((x = (x * 48271) % 2147483647) / 2147483647)));
    let prev = 0;
    for (let k = 1; k <= 5; k++) {
      const r = recallAtK(random, rel, k);
      assert.ok(r >= prev && r <= 1);
      prev = r;
    }
    const n = ndcgAtK(random, rel);
    assert.ok(n > 0 && n <= 1 + 1e-12);
  }), { numRuns: 150, seed: 23 });
});

test('MLM: accuracy, cross-entropy and perplexity over masked positions only', () => {
  // position 0: logits (2, 1, 0), label 0 → CE = log(e² + e + 1) − 2, argmax correct
  // position 1: ignored (−100); position 2: logits (0, 0, 3), label 1 → CE = log(2 + e³) − 0, wrong
  const logits = [2, 1, 0, 9, 9, 9, 0, 0, 3];
  const r = mlmScores(logits, 3, [0, -100, 1]);
  const ce = (Math.log(Math.exp(2) + Math.exp(1) + 1) - 2 + Math.log(2 + Math.exp(3))) / 2;
  near(r.crossEntropy, ce, 1e-15);
  near(r.perplexity, Math.exp(ce), 1e-14);
  assert.deepEqual([r.accuracy, r.count], [0.5, 2]);
  // large logits do not overflow
  near(mlmScores([1000, 0], 2, [1]).crossEntropy, 1000, 1e-12);
  assert.equal(mlmAccuracy([5, 6, 7], [5, -100, 8]), 0.5);
  near(perplexity(Math.log(20)), 20, 1e-13);
  near(perplexity(10 * Math.log(20), 10), 20, 1e-13);
});

test('tokenization: tokens per character (code points) and [UNK] rate', () => {
  const r = tokenizationStats(['ab', '中文😀'], [[5, 6], [1, 100, 100]], 100);
  assert.deepEqual([r.chars, r.tokens, r.unknown], [5, 5, 2]);
  assert.equal(r.tokensPerChar, 1);
  assert.equal(r.unkRate, 0.4);
});

test('bad input names the argument', () => {
  assert.throws(() => expectedCost([0, 1], [0], [[0, 1], [1, 0]]), /expectedCost: 'yTrue' has 2 entries but 'yPred' has 1/);
  assert.throws(() => expectedCost([0, 2], [0, 1], [[0, 1], [1, 0]]), /'yTrue\[1\]' = 2 is not one of labels \[0,1\]/);
  assert.throws(() => expectedCost([0], [0], [[0, 1]]), /'cost\[0\]' has 2 columns, expected 1/);
  assert.throws(() => thresholdForRecall([0, 0], [0.1, 0.2], 0.5), /no positive example/);
  assert.throws(() => thresholdForRecall([1, 0], [0.1, NaN], 0.5), /'scores\[1\]' is NaN/);
  assert.throws(() => thresholdForRecall([1, 0], [0.1, 0.2], 0), /'targetRecall' = 0 must be in \(0, 1\]/);
  assert.throws(() => calibration([[0.5, 0.5]], [2]), /'yTrue\[0\]' = 2 is not a class index/);
  assert.throws(() => calibration([[NaN, 0.5]], [0]), /'probs\[0\]\[0\]' is NaN/);
  assert.throws(() => calibration([[0.5, 0.5]], [0], { nBins: 0 }), /'nBins' = 0/);
  assert.throws(() => recallAtK([[0.1, 0.2]], [[]], 1), /'relevant\[0\]' is empty/);
  assert.throws(() => recallAtK([[0.1, 0.2]], [[5]], 1), /names document 5, not an index in \[0, 2\)/);
  assert.throws(() => ndcgAtK([[0.1, NaN]], [[0]]), /'scores\[0\]\[1\]' is NaN/);
  assert.throws(() => mrr([[0.1]], [[0], [0]]), /'scores' has 1 entries but 'relevant' has 2/);
  assert.throws(() => mlmScores([1, 2, 3], 2, [0]), /'logits' has 3 values, expected labels.length × vocabSize = 1 × 2/);
  assert.throws(() => mlmScores([1, 2], 2, [-100]), /no masked position/);
  assert.throws(() => mlmScores([1, 2], 2, [2]), /'labels\[0\]' = 2 is neither -100 nor a token id/);
  assert.throws(() => recallOfClass([0, 1], [0, 1], '1'), /recallOfClass: 'cls' = "1" is a string but the labels are numbers/);
  assert.throws(() => tokenizationStats(['a'], [], 0), /'texts' has 1 entries but 'tokenIds' has 0/);
  assert.throws(() => toRows(new Float32Array(5), 2), /not a multiple of cols = 2/);
});
