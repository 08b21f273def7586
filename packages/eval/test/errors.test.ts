// Bad input to the classification and ranking metrics fails loudly, naming the function and the
// argument, instead of returning a plausible wrong number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy, averagePrecisionScore, classificationReport, confusionMatrix, matthewsCorrcoef, perClassScores, precisionRecallF1,
  rocAucScore,
} from '../src/index.js';

test('mismatched lengths and empty input', () => {
  assert.throws(() => accuracy([0, 1], [0]), /accuracy: 'yTrue' has 2 entries but 'yPred' has 1/);
  assert.throws(() => accuracy([], []), /accuracy: 'yTrue' is empty/);
  assert.throws(() => matthewsCorrcoef([0], [0, 1]), /matthewsCorrcoef: 'yTrue' has 1 entries but 'yPred' has 2/);
  assert.throws(() => precisionRecallF1([], [], { average: 'macro' }), /precisionRecallF1: 'yTrue' is empty/);
  assert.throws(() => rocAucScore([0, 1], [0.5]), /rocAucScore: 'yTrue' has 2 entries but 'yScore' has 1/);
  assert.throws(() => averagePrecisionScore([], []), /averagePrecisionScore: 'yTrue' is empty/);
});

test('unknown labels: a value outside the declared labels, mixed label types', () => {
  assert.throws(() => confusionMatrix([0, 1, 2], [0, 1, 1], { labels: [0, 1] }), /confusionMatrix: 'yTrue\[2\]' = 2 is not one of labels \[0,1\]/);
  assert.throws(() => perClassScores(['a', 'b'], ['a', 'c'], { labels: ['a', 'b'] }), /'yPred\[1\]' = "c" is not one of labels/);
  assert.throws(() => accuracy([0, 1], ['0', '1']), /mix number and string labels/);
  assert.throws(() => accuracy([0, 'a'], [0, 'a']), /'yTrue' mixes number and string labels/);
  assert.throws(() => accuracy([0, NaN], [0, 1]), /'yTrue\[1\]' is NaN; numeric labels must be finite/);
  assert.throws(() => confusionMatrix([0], [0], { labels: [0, 0] }), /'labels' lists 0 twice/);
  assert.throws(() => rocAucScore([0, 1, 2], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), /yScore has 2 columns but there are 3 classes/);
});

test('NaN scores', () => {
  assert.throws(() => rocAucScore([0, 1], [0.5, NaN]), /rocAucScore: 'yScore\[1\]' is NaN/);
  assert.throws(() => averagePrecisionScore([0, 1], [NaN, 0.5]), /averagePrecisionScore: 'yScore\[0\]' is NaN/);
  assert.throws(() => rocAucScore([0, 1, 2], [[1, 0, 0], [0, NaN, 1], [0, 0, 1]]), /'yScore\[1\]\[1\]' is NaN/);
});

test('options and undefined metrics', () => {
  assert.throws(() => precisionRecallF1([0, 1], [0, 1], { average: 'samples' as never }), /'average' must be one of/);
  assert.throws(() => precisionRecallF1([0, 1, 2], [0, 1, 2], { average: 'binary' }), /average 'binary' needs at most two labels, found 3/);
  assert.throws(() => precisionRecallF1(['a', 'b'], ['a', 'b'], { average: 'binary' }), /posLabel=1 is not a valid label; it should be one of \["a","b"\]/);
  assert.throws(() => classificationReport([0], [0], { zeroDivision: 0.5 as never }), /'zeroDivision' must be 0 or 1/);
  assert.throws(() => rocAucScore([1, 1], [0.2, 0.3]), /only one class present in yTrue; ROC AUC is not defined/);
  assert.throws(() => rocAucScore([0, 1, 2], [0.1, 0.2, 0.3]), /yTrue has 3 classes but yScore is one-dimensional/);
  assert.throws(() => rocAucScore([0, 1, 2], [[0.5, 0.5, 0.5], [0.2, 0.3, 0.5], [0.2, 0.3, 0.5]]), /'yScore\[0\]' sums to 1.5/);
  assert.throws(() => averagePrecisionScore([0, 2], [0.1, 0.2]), /posLabel=1 is not a valid label/);
  // scikit-learn returns AP = 0 (with a warning) when yTrue has no positive; so do we
  assert.equal(averagePrecisionScore([0, 0], [0.1, 0.2]), 0);
});
