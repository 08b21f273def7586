// Every metric against scikit-learn 1.2.1 / scipy 1.10.1 / numpy 1.24 on random cases
// (fixtures/sklearn-scipy.json, made by scripts/make-fixture.py with Debian's python3-sklearn and
// python3-scipy). Tolerance: 1e-12 relative — the same formulas summed in a different order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  accuracy, averagePrecisionScore, confusionMatrix, erfc, mannWhitneyU, matthewsCorrcoef, meanStd, mlmScores,
  ndcgAtK, percentile, perClassScores, precisionRecallF1, rankAverage, rocAucScore, type Label,
} from '../src/index.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/sklearn-scipy.json', import.meta.url), 'utf8'));

function close(actual: number, expected: number, what: string, rel = 1e-12, abs = 1e-15): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  const tol = abs + rel * Math.abs(expected);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, scikit-learn/scipy ${expected} (|diff| ${Math.abs(actual - expected)} > ${tol})`);
}

test('the fixture holds the cases the comparisons below claim to cover', () => {
  const c = fx.classification as { yTrue: Label[]; labels: Label[] | null; zeroDivision: number; binary?: object | null }[];
  assert.ok(c.length >= 100, 'enough classification cases');
  assert.deepEqual([...new Set(c.map((x) => x.zeroDivision))].sort(), [0, 1], 'both zero_division settings');
  assert.ok(c.some((x) => x.labels !== null) && c.some((x) => x.labels === null), 'explicit and inferred label lists');
  assert.ok(c.some((x) => x.binary), 'binary-average cases');
  assert.deepEqual([...new Set(c.map((x) => typeof x.yTrue[0]))].sort(), ['number', 'string'], 'number and string labels');
  const b = fx.binaryScores as { yTrue: number[]; scores: number[]; rocAuc?: number }[];
  assert.ok(b.some((x) => new Set(x.scores).size < x.scores.length), 'tied scores');
  assert.ok(b.some((x) => !x.yTrue.includes(1) && x.rocAuc === undefined), 'no positives (ROC-AUC undefined)');
  const m = fx.mannWhitney as { x: number[]; y: number[]; alternative: string; useContinuity: boolean }[];
  assert.deepEqual([...new Set(m.map((x) => x.alternative))].sort(), ['greater', 'less', 'two-sided'], 'every alternative');
  assert.deepEqual([...new Set(m.map((x) => x.useContinuity))].sort(), [false, true], 'with and without continuity correction');
  assert.ok(m.some((x) => new Set([...x.x, ...x.y]).size < x.x.length + x.y.length), 'tied samples');
});

test('precision / recall / F1 / accuracy / MCC / confusion matrix = scikit-learn', () => {
  for (const [i, c] of fx.classification.entries()) {
    const opts = { labels: c.labels ?? undefined, zeroDivision: c.zeroDivision as 0 | 1 };
    const what = `case ${i}`;
    const per = perClassScores(c.yTrue as Label[], c.yPred as Label[], opts);
    assert.deepEqual(per.map((p) => p.label), c.labelsUsed, `${what} labels`);
    per.forEach((p, k) => {
      close(p.precision, c.perClass.precision[k], `${what} precision[${k}]`);
      close(p.recall, c.perClass.recall[k], `${what} recall[${k}]`);
      close(p.f1, c.perClass.f1[k], `${what} f1[${k}]`);
      assert.equal(p.support, c.perClass.support[k], `${what} support[${k}]`);
    });
    for (const avg of ['macro', 'micro', 'weighted'] as const) {
      const r = precisionRecallF1(c.yTrue, c.yPred, { ...opts, average: avg });
      close(r.precision, c[avg].precision, `${what} ${avg} precision`);
      close(r.recall, c[avg].recall, `${what} ${avg} recall`);
      close(r.f1, c[avg].f1, `${what} ${avg} f1`);
    }
    if (c.binary) {
      const r = precisionRecallF1(c.yTrue, c.yPred, { average: 'binary', zeroDivision: c.zeroDivision });
      close(r.precision, c.binary.precision, `${what} binary precision`);
      close(r.recall, c.binary.recall, `${what} binary recall`);
      close(r.f1, c.binary.f1, `${what} binary f1`);
    }
    close(accuracy(c.yTrue, c.yPred), c.accuracy, `${what} accuracy`);
    close(matthewsCorrcoef(c.yTrue, c.yPred), c.mcc, `${what} mcc`);
    assert.deepEqual(confusionMatrix(c.yTrue, c.yPred, { labels: c.labelsUsed }).matrix, c.confusion, `${what} confusion`);
  }
});

test('binary ROC-AUC and average precision (with tied scores, and with no positives) = scikit-learn', () => {
  for (const [i, c] of fx.binaryScores.entries()) {
    close(averagePrecisionScore(c.yTrue, c.scores), c.ap, `case ${i} AP`);
    if (c.rocAuc !== undefined) close(rocAucScore(c.yTrue, c.scores), c.rocAuc, `case ${i} ROC-AUC`);
    else assert.throws(() => rocAucScore(c.yTrue, c.scores), /only one class present in yTrue/);
  }
});

test('multiclass one-vs-rest ROC-AUC and AP, macro and weighted = scikit-learn', () => {
  for (const [i, c] of fx.multiclassScores.entries()) {
    close(rocAucScore(c.yTrue, c.probs), c.rocAucMacro, `case ${i} ROC-AUC macro`);
    close(rocAucScore(c.yTrue, c.probs, { average: 'weighted' }), c.rocAucWeighted, `case ${i} ROC-AUC weighted`);
    close(averagePrecisionScore(c.yTrue, c.probs), c.apMacro, `case ${i} AP macro`);
    close(averagePrecisionScore(c.yTrue, c.probs, { average: 'weighted' }), c.apWeighted, `case ${i} AP weighted`);
  }
});

test('Mann-Whitney U (exact and asymptotic, ties, all alternatives) = scipy.stats.mannwhitneyu', () => {
  let exact = 0;
  for (const [i, c] of fx.mannWhitney.entries()) {
    const r = mannWhitneyU(c.x, c.y, { alternative: c.alternative, method: c.method, useContinuity: c.useContinuity });
    close(r.statistic, c.statistic, `case ${i} U`);
    // exact p: counts are exact here, scipy's are float64 sums; normal tail: erfc vs cephes
    close(r.pValue, c.pValue, `case ${i} p (${r.method}, ${c.alternative})`, 1e-9, 1e-15);
    if (r.method === 'exact') exact++;
  }
  assert.ok(exact >= 20, `exact branch exercised ${exact} times`);
});

test('nDCG@k (linear gains, graded and binary) = sklearn.metrics.ndcg_score', () => {
  for (const [i, c] of fx.ndcg.entries()) {
    const rel = c.relevant.map((pairs: [number, number][]) => new Map(pairs));
    close(ndcgAtK(c.scores, rel, c.k), c.ndcg, `case ${i} nDCG@${c.k}`);
    close(ndcgAtK(c.scores, rel), c.ndcg10, `case ${i} nDCG@10`);
  }
});

test('MLM cross-entropy = sklearn.metrics.log_loss over the masked positions', () => {
  for (const [i, c] of fx.mlm.entries()) {
    const r = mlmScores(c.logits, c.vocab, c.labels);
    close(r.crossEntropy, c.crossEntropy, `case ${i} cross-entropy`, 1e-12, 1e-14);
    close(r.accuracy, c.accuracy, `case ${i} accuracy`);
    close(r.perplexity, Math.exp(c.crossEntropy), `case ${i} perplexity`, 1e-12);
  }
});

test('percentile = numpy.percentile, ranks = scipy.stats.rankdata, meanStd = numpy, erfc = math.erfc', () => {
  for (const c of fx.percentile) close(percentile(c.sorted, c.q), c.value, `percentile q=${c.q}`, 1e-14, 1e-15);
  for (const c of fx.rankdata) assert.deepEqual(Array.from(rankAverage(c.values)), c.ranks);
  for (const c of fx.meanStd) {
    close(meanStd(c.values).mean, c.mean, 'mean', 1e-13, 1e-13);
    close(meanStd(c.values).std, c.std1, 'std ddof=1', 1e-13);
    close(meanStd(c.values, { ddof: 0 }).std, c.std0, 'std ddof=0', 1e-13);
  }
  for (const c of fx.erfc) close(erfc(c.x), c.erfc, `erfc(${c.x})`, 2e-14, 1e-300);
});
