// Worked examples whose expected values are copied from public documentation; each test names
// its source. "0.26..." in a doc is checked as: the value truncates to those digits, and equals the
// exact fraction worked out in the comment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averagePrecisionScore, matthewsCorrcoef, mannWhitneyU, ndcgAtK, nerScores, perClassScores, precisionRecallCurve,
  precisionRecallF1, rocAucScore,
} from '../src/index.js';

/** `value` printed with doc's digits truncated: 0.2666 matches '0.26'. */
function docDigits(value: number, doc: string): void {
  const digits = doc.split('.')[1]?.length ?? 0;
  const f = 10 ** digits;
  const truncated = Math.trunc(value * f + (value < 0 ? -1e-9 : 1e-9)) / f;
  assert.equal(truncated.toFixed(digits), doc, `${value} does not read as ${doc}...`);
}
function near(actual: number, expected: number, tol = 1e-15): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} ≠ ${expected}`);
}

// scikit-learn f1_score docstring, Examples (sklearn/metrics/_classification.py, 1.2.1;
// https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html).
test('f1_score docs: macro 0.26..., micro 0.33..., weighted 0.26..., per class [0.8, 0, 0]', () => {
  const yTrue = [0, 1, 2, 0, 1, 2];
  const yPred = [0, 2, 1, 0, 0, 1];
  // class 0: tp 2, predicted 3, true 2 → P 2/3, R 1, F1 0.8; classes 1 and 2: tp 0 → F1 0
  const macro = precisionRecallF1(yTrue, yPred, { average: 'macro' }).f1;
  docDigits(macro, '0.26');
  near(macro, 0.8 / 3);
  const micro = precisionRecallF1(yTrue, yPred, { average: 'micro' }).f1;
  docDigits(micro, '0.33');
  near(micro, 1 / 3);
  const weighted = precisionRecallF1(yTrue, yPred, { average: 'weighted' }).f1;
  docDigits(weighted, '0.26');
  near(weighted, 0.8 / 3);
  assert.deepEqual(perClassScores(yTrue, yPred).map((c) => c.f1), [0.8, 0, 0]);
});

test('f1_score docs: all-negative truth and prediction with zero_division=1 → 1.0 (0 by default)', () => {
  const y = [0, 0, 0, 0, 0, 0];
  assert.equal(precisionRecallF1(y, y, { average: 'binary', zeroDivision: 1 }).f1, 1);
  assert.equal(precisionRecallF1(y, y, { average: 'binary' }).f1, 0);
});

// scikit-learn precision_recall_fscore_support docstring, Examples (string labels).
test('precision_recall_fscore_support docs: cat/dog/pig', () => {
  const yTrue = ['cat', 'dog', 'pig', 'cat', 'dog', 'pig'];
  const yPred = ['cat', 'pig', 'dog', 'cat', 'cat', 'dog'];
  const macro = precisionRecallF1(yTrue, yPred, { average: 'macro' });
  docDigits(macro.precision, '0.22');
  docDigits(macro.recall, '0.33');
  docDigits(macro.f1, '0.26');
  const micro = precisionRecallF1(yTrue, yPred, { average: 'micro' });
  for (const v of [micro.precision, micro.recall, micro.f1]) docDigits(v, '0.33');
  const weighted = precisionRecallF1(yTrue, yPred, { average: 'weighted' });
  docDigits(weighted.precision, '0.22');
  docDigits(weighted.recall, '0.33');
  docDigits(weighted.f1, '0.26');
  const per = perClassScores(yTrue, yPred, { labels: ['pig', 'dog', 'cat'] });
  assert.deepEqual(per.map((c) => c.label), ['pig', 'dog', 'cat']);
  assert.deepEqual(per.map((c) => c.recall), [0, 0, 1]);
  assert.deepEqual(per.map((c) => c.f1), [0, 0, 0.8]);
  assert.deepEqual(per.map((c) => c.support), [2, 2, 2]);
  assert.deepEqual(per.slice(0, 2).map((c) => c.precision), [0, 0]);
  docDigits(per[2].precision, '0.66');
});

// scikit-learn matthews_corrcoef docstring, Examples.
test('matthews_corrcoef docs: [+1,+1,+1,-1] vs [+1,-1,+1,+1] → -0.33...', () => {
  const mcc = matthewsCorrcoef([1, 1, 1, -1], [1, -1, 1, 1]);
  docDigits(mcc, '-0.33');
  near(mcc, -1 / 3); // c=2, s=4, t=(1,3), p=(1,3): (8 − 10) / sqrt(6·6)
});

// scikit-learn average_precision_score and precision_recall_curve docstrings, Examples.
test('average_precision_score docs: [0,0,1,1] / [0.1,0.4,0.35,0.8] → 0.83...; the PR curve matches', () => {
  const yTrue = [0, 0, 1, 1];
  const scores = [0.1, 0.4, 0.35, 0.8];
  const ap = averagePrecisionScore(yTrue, scores);
  docDigits(ap, '0.83');
  near(ap, 0.5 * 1 + 0 * 0.5 + 0.5 * (2 / 3)); // recall steps at thresholds 0.8, 0.4, 0.35
  // sklearn: precision [0.5, 0.667, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0], thresholds
  // [0.1, 0.35, 0.4, 0.8] (ascending, plus a final (1, 0) point); ours is highest first without it.
  const curve = precisionRecallCurve(yTrue.map((v) => v === 1), scores);
  assert.deepEqual(curve.thresholds, [0.8, 0.4, 0.35, 0.1]);
  assert.deepEqual(curve.recall, [0.5, 0.5, 1, 1]);
  assert.deepEqual(curve.precision, [1, 0.5, 2 / 3, 0.5]);
});

// scikit-learn stable docs, average_precision_score Examples, multiclass case (scikit-learn ≥ 1.3
// accepts multiclass yTrue; 1.2.1 gives the same 0.7777… on the binarised labels).
test('average_precision_score docs, multiclass: 0.77...', () => {
  const yTrue = [0, 0, 1, 1, 2, 2];
  const yScore = [[0.7, 0.2, 0.1], [0.4, 0.3, 0.3], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2], [0.1, 0.2, 0.7]];
  docDigits(averagePrecisionScore(yTrue, yScore), '0.77');
});

// scikit-learn 0.13 auc_score docs (https://scikit-learn.sourceforge.net/0.13/modules/generated/
// sklearn.metrics.auc_score.html) and the roc_curve docs example with labels {1, 2}.
test('roc_auc docs: [0,0,1,1] / [0.1,0.4,0.35,0.8] → 0.75; labels {1,2} use the greater as positive', () => {
  assert.equal(rocAucScore([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.equal(rocAucScore([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8]), 0.75);
  // a tie between a positive and a negative counts one half: pairs (0.5 vs 0.5) → 0.5
  assert.equal(rocAucScore([0, 1], [0.5, 0.5]), 0.5);
});

// scikit-learn ndcg_score docstring, Examples (linear gains, log2 discount).
test('ndcg_score docs: 0.69..., 0.49..., k=4 → 0.35..., perfect ranking → 1', () => {
  const rel = [new Map([[0, 10], [3, 1], [4, 5]])];
  docDigits(ndcgAtK([[0.1, 0.2, 0.3, 4, 70]], rel), '0.69');
  docDigits(ndcgAtK([[0.05, 1.1, 1.0, 0.5, 0.0]], rel), '0.49');
  docDigits(ndcgAtK([[0.05, 1.1, 1.0, 0.5, 0.0]], rel, 4), '0.35');
  assert.equal(ndcgAtK([[10, 0, 0, 1, 5]], rel, 4), 1);
  // Deliberate difference: with tied scores scikit-learn averages over the tied orders
  // (0.75 for scores [1,0,0,0,1], k=1); we break ties by lower document index (→ document 0, gain 10).
  assert.equal(ndcgAtK([[1, 0, 0, 0, 1]], rel, 1), 1);
});

// seqeval README (github.com/chakki-works/seqeval), "Usage".
test('seqeval README: f1 0.50; MISC 0/0/0, PER 1/1/1; micro, macro, weighted 0.50 — default and strict', () => {
  const yTrue = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const yPred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  for (const mode of ['default', 'strict'] as const) {
    const r = nerScores(yTrue, yPred, { mode });
    assert.equal(r.micro.f1, 0.5, mode);
    assert.deepEqual(Object.keys(r.perType), ['MISC', 'PER']);
    assert.deepEqual([r.perType.MISC.precision, r.perType.MISC.recall, r.perType.MISC.f1, r.perType.MISC.support], [0, 0, 0, 1]);
    assert.deepEqual([r.perType.PER.precision, r.perType.PER.recall, r.perType.PER.f1, r.perType.PER.support], [1, 1, 1, 1]);
    for (const avg of [r.micro, r.macro, r.weighted]) {
      assert.deepEqual([avg.precision, avg.recall, avg.f1, avg.support], [0.5, 0.5, 0.5, 2], mode);
    }
  }
});

// seqeval README / documentation, lenient-vs-strict example: gold B-NP I-NP O, predicted I-NP I-NP O.
test('seqeval docs: predicted I-NP I-NP vs gold B-NP I-NP is correct by default (1.00) and wrong in strict IOB2 (0.00)', () => {
  const yTrue = [['B-NP', 'I-NP', 'O']];
  const yPred = [['I-NP', 'I-NP', 'O']];
  const lenient = nerScores(yTrue, yPred);
  assert.deepEqual([lenient.perType.NP.precision, lenient.perType.NP.recall, lenient.perType.NP.f1, lenient.perType.NP.support], [1, 1, 1, 1]);
  assert.equal(lenient.micro.f1, 1);
  const strict = nerScores(yTrue, yPred, { mode: 'strict' });
  assert.deepEqual([strict.perType.NP.precision, strict.perType.NP.recall, strict.perType.NP.f1, strict.perType.NP.support], [0, 0, 0, 1]);
  assert.deepEqual([strict.micro.f1, strict.macro.f1, strict.weighted.f1], [0, 0, 0]);
});

// scipy.stats.mannwhitneyu docstring, Examples (scipy 1.10): diagnosis ages, males vs females.
test('mannwhitneyu docs: U1 = 17, exact p = 0.1111111111111111, asymptotic 0.11134688653314041, no continuity 0.0864107329737', () => {
  const males = [19, 22, 16, 29, 24];
  const females = [20, 11, 17, 12];
  const exact = mannWhitneyU(males, females, { method: 'exact' });
  assert.equal(exact.statistic, 17);
  near(exact.pValue, 0.1111111111111111, 1e-16);
  const auto = mannWhitneyU(males, females);
  assert.equal(auto.method, 'exact');
  near(mannWhitneyU(males, females, { method: 'asymptotic' }).pValue, 0.11134688653314041, 1e-15);
  near(mannWhitneyU(males, females, { method: 'asymptotic', useContinuity: false }).pValue, 0.0864107329737, 1e-12);
});
