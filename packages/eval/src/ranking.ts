// Score-based metrics: ROC-AUC and average precision (PR-AUC), scikit-learn's definitions.
//
// ROC-AUC: the area under the ROC curve by the trapezoidal rule over the distinct thresholds,
// which is exactly the Mann-Whitney statistic with tied scores counted one half:
//   AUC = (Σ midrank(positives) − P(P+1)/2) / (P·N).
// scikit-learn's roc_curve groups tied scores into one threshold, so it gives the same number.
//
// Average precision: step-wise, not interpolated: AP = Σ_n (R_n − R_{n−1})·P_n over the distinct
// score thresholds from high to low (tied scores form one threshold). With no positive in yTrue,
// scikit-learn sets recall to 1 everywhere and returns 0; so does this.

import {
  checkLabels, checkMatrix, checkNonEmpty, checkSameLength, checkFinite, fail, indexLabels, uniqueLabels, type Label,
} from './check.js';

/** 1-based ranks with ties given their average rank (scipy.stats.rankdata 'average'). */
export function rankAverage(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Binary ROC-AUC of scores against a boolean truth. Throws unless both classes occur. */
function binaryAuc(fn: string, isPos: ArrayLike<boolean>, scores: ArrayLike<number>, what: string): number {
  let p = 0;
  for (let i = 0; i < isPos.length; i++) if (isPos[i]) p++;
  const n = isPos.length - p;
  if (p === 0 || n === 0) {
    fail(fn, `only one class present in yTrue${what}; ROC AUC is not defined in that case`);
  }
  const ranks = rankAverage(scores);
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++) if (isPos[i]) rankSum += ranks[i];
  return (rankSum - (p * (p + 1)) / 2) / (p * n);
}

export interface RocAucOptions {
  /** Binary only: the positive label. Default: the greater of the two labels (scikit-learn). */
  posLabel?: Label;
  /** Multiclass only: the label of each score column. Default: sorted labels of yTrue. */
  labels?: readonly Label[];
  /** Multiclass only: 'macro' (default) or 'weighted' by class prevalence; one-vs-rest. */
  average?: 'macro' | 'weighted';
}

/**
 * ROC-AUC. Binary: `yScore` is one score per example (higher = more positive). Multiclass:
 * `yScore` is one row of class probabilities per example (rows must sum to 1, as scikit-learn
 * requires), scored one-vs-rest and averaged (multi_class='ovr').
 */
export function rocAucScore(
  yTrue: ArrayLike<Label>,
  yScore: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>,
  opts: RocAucOptions = {},
): number {
  const fn = 'rocAucScore';
  checkNonEmpty(fn, 'yTrue', yTrue);
  checkLabels(fn, 'yTrue', yTrue);
  checkNonEmpty(fn, 'yScore', yScore);
  checkSameLength(fn, 'yTrue', yTrue, 'yScore', yScore);
  if (typeof yScore[0] === 'number') {
    const scores = yScore as ArrayLike<number>;
    checkFinite(fn, 'yScore', scores);
    const present = uniqueLabels(yTrue);
    if (present.length > 2) {
      fail(fn, `yTrue has ${present.length} classes but yScore is one-dimensional; pass one row of probabilities per example`);
    }
    const pos = opts.posLabel ?? present[present.length - 1];
    if (opts.posLabel !== undefined && present.length === 2 && !present.includes(pos)) {
      fail(fn, `posLabel=${JSON.stringify(pos)} is not one of ${JSON.stringify(present)}`);
    }
    const isPos = Array.from(yTrue, (v) => v === pos);
    return binaryAuc(fn, isPos, scores, '');
  }
  const rows = yScore as ReadonlyArray<ArrayLike<number>>;
  const cols = checkMatrix(fn, 'yScore', rows);
  for (let i = 0; i < rows.length; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += rows[i][j];
    // np.allclose(sum, 1) with its default tolerances
    if (Math.abs(s - 1) > 1e-8 + 1e-5) fail(fn, `'yScore[${i}]' sums to ${s}; multiclass scores must be probabilities summing to 1`);
  }
  const labels = opts.labels ? [...opts.labels] : uniqueLabels(yTrue);
  if (labels.length !== cols) {
    fail(fn, `yScore has ${cols} columns but there are ${labels.length} classes (${JSON.stringify(labels)})`);
  }
  if (cols < 2) fail(fn, 'multiclass yScore needs at least 2 columns');
  const t = indexLabels(fn, 'yTrue', yTrue, labels);
  const average = opts.average ?? 'macro';
  if (average !== 'macro' && average !== 'weighted') fail(fn, `'average' must be 'macro' or 'weighted', got ${String(average)}`);
  let total = 0;
  let weightSum = 0;
  for (let k = 0; k < cols; k++) {
    const isPos = Array.from(t, (v) => v === k);
    const col = rows.map((r) => r[k]);
    const auc = binaryAuc(fn, isPos, col, ` for class ${JSON.stringify(labels[k])} (one-vs-rest)`);
    const w = average === 'macro' ? 1 : isPos.filter(Boolean).length;
    total += w * auc;
    weightSum += w;
  }
  return total / weightSum;
}

export interface PrCurve {
  /** Precision at each distinct threshold, highest threshold first. */
  precision: number[];
  recall: number[];
  thresholds: number[];
}

/**
 * Precision and recall at every distinct score threshold (predict positive when score ≥ t),
 * highest threshold first. Unlike scikit-learn, no final (recall 0, precision 1) point is appended.
 */
export function precisionRecallCurve(isPos: ArrayLike<boolean>, scores: ArrayLike<number>): PrCurve {
  const fn = 'precisionRecallCurve';
  checkNonEmpty(fn, 'isPos', isPos);
  checkSameLength(fn, 'isPos', isPos, 'scores', scores);
  checkFinite(fn, 'scores', scores, true);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (isPos[i]) totalPos++;
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: number[] = [];
  let tp = 0, fp = 0;
  for (let i = 0; i < n; i++) {
    if (isPos[order[i]]) tp++; else fp++;
    if (i + 1 < n && scores[order[i + 1]] === scores[order[i]]) continue; // tied: one threshold
    precision.push(tp / (tp + fp));
    recall.push(totalPos === 0 ? 1 : tp / totalPos);
    thresholds.push(scores[order[i]]);
  }
  return { precision, recall, thresholds };
}

function binaryAp(isPos: ArrayLike<boolean>, scores: ArrayLike<number>): number {
  const { precision, recall } = precisionRecallCurve(isPos, scores);
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < precision.length; i++) {
    ap += (recall[i] - prevRecall) * precision[i];
    prevRecall = recall[i];
  }
  // No positives: scikit-learn's recall is 1 at every threshold and the only step is at the
  // highest threshold, whose precision is 0, so AP = 0. The loop above gives 1·P_0 = 0 as well.
  return ap;
}

export interface AveragePrecisionOptions {
  /** Binary only: the positive label. Default 1 (scikit-learn's default). */
  posLabel?: Label;
  /** Multiclass only: the label of each score column. Default: sorted labels of yTrue. */
  labels?: readonly Label[];
  /** Multiclass only: 'macro' (default) or 'weighted' by class prevalence; one-vs-rest. */
  average?: 'macro' | 'weighted';
}

/**
 * Average precision (area under the precision-recall curve, step-wise). Binary: one score per
 * example. Multiclass: one row of scores per example, one-vs-rest, averaged over classes
 * (what scikit-learn ≥ 1.3 does for multiclass yTrue).
 */
export function averagePrecisionScore(
  yTrue: ArrayLike<Label>,
  yScore: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>,
  opts: AveragePrecisionOptions = {},
): number {
  const fn = 'averagePrecisionScore';
  checkNonEmpty(fn, 'yTrue', yTrue);
  checkLabels(fn, 'yTrue', yTrue);
  checkNonEmpty(fn, 'yScore', yScore);
  checkSameLength(fn, 'yTrue', yTrue, 'yScore', yScore);
  if (typeof yScore[0] === 'number') {
    const scores = yScore as ArrayLike<number>;
    checkFinite(fn, 'yScore', scores);
    const present = uniqueLabels(yTrue);
    if (present.length > 2) fail(fn, `yTrue has ${present.length} classes but yScore is one-dimensional`);
    const pos = opts.posLabel ?? 1;
    if (present.length === 2 && !present.includes(pos)) {
      fail(fn, `posLabel=${JSON.stringify(pos)} is not a valid label; it should be one of ${JSON.stringify(present)}`);
    }
    return binaryAp(Array.from(yTrue, (v) => v === pos), scores);
  }
  const rows = yScore as ReadonlyArray<ArrayLike<number>>;
  const cols = checkMatrix(fn, 'yScore', rows);
  const labels = opts.labels ? [...opts.labels] : uniqueLabels(yTrue);
  if (labels.length !== cols) {
    fail(fn, `yScore has ${cols} columns but there are ${labels.length} classes (${JSON.stringify(labels)})`);
  }
  const t = indexLabels(fn, 'yTrue', yTrue, labels);
  const average = opts.average ?? 'macro';
  if (average !== 'macro' && average !== 'weighted') fail(fn, `'average' must be 'macro' or 'weighted', got ${String(average)}`);
  let total = 0;
  let weightSum = 0;
  for (let k = 0; k < cols; k++) {
    const isPos = Array.from(t, (v) => v === k);
    const ap = binaryAp(isPos, rows.map((r) => r[k]));
    const w = average === 'macro' ? 1 : isPos.filter(Boolean).length;
    total += w * ap;
    weightSum += w;
  }
  return total / weightSum;
}
