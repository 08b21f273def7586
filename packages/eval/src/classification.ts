// Classification metrics with scikit-learn's definitions (checked against scikit-learn 1.2.1 by
// test/sklearn-fixture.test.ts):
//   precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2·P·R / (P + R), all per class;
//   a 0/0 ratio becomes `zeroDivision` (default 0, what scikit-learn's default 'warn' returns),
//   and F1 is 0 when P + R = 0.
//   macro = unweighted mean over the labels; weighted = mean weighted by true support;
//   micro = the same ratios over tp, fp, fn summed across labels (equal to accuracy when every
//   label is included); binary = the scores of `posLabel` alone.
// Default labels: the sorted union of the labels in yTrue and yPred (np.unique order).

import {
  checkLabels, checkNonEmpty, checkSameLength, fail, indexLabels, uniqueLabels, type Label,
} from './check.js';

export type ZeroDivision = 0 | 1;
export type Average = 'binary' | 'micro' | 'macro' | 'weighted';

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
  /** Number of true examples of the labels the score covers. */
  support: number;
}
export interface ClassPrf extends Prf {
  label: Label;
}
export interface LabelOptions {
  /** The label set, in the order results are reported. Values outside it are an error. */
  labels?: readonly Label[];
}
export interface PrfOptions extends LabelOptions {
  /** Value used for a 0/0 precision or recall (scikit-learn: zero_division). Default 0. */
  zeroDivision?: ZeroDivision;
}
export interface AverageOptions extends PrfOptions {
  average: Average;
  /** The positive label for average 'binary'. Default 1 (as scikit-learn). */
  posLabel?: Label;
}

function checkPair(fn: string, yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): void {
  checkNonEmpty(fn, 'yTrue', yTrue);
  checkNonEmpty(fn, 'yPred', yPred);
  checkSameLength(fn, 'yTrue', yTrue, 'yPred', yPred);
  checkLabels(fn, 'yTrue', yTrue);
  checkLabels(fn, 'yPred', yPred);
  if (typeof yTrue[0] !== typeof yPred[0]) fail(fn, `'yTrue' and 'yPred' mix number and string labels`);
}

function resolveLabels(fn: string, yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, labels?: readonly Label[]): Label[] {
  if (labels === undefined) return uniqueLabels(yTrue, yPred);
  if (labels.length === 0) fail(fn, `'labels' is empty`);
  return [...labels];
}

/** Fraction of positions where yPred equals yTrue. */
export function accuracy(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  checkPair('accuracy', yTrue, yPred);
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return correct / yTrue.length;
}

export interface ConfusionMatrix {
  labels: Label[];
  /** matrix[i][j] = number of examples with true label labels[i] predicted as labels[j]. */
  matrix: number[][];
}

/** Confusion matrix, rows = true label, columns = predicted label (scikit-learn's layout). */
export function confusionMatrix(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, opts: LabelOptions = {}): ConfusionMatrix {
  const fn = 'confusionMatrix';
  checkPair(fn, yTrue, yPred);
  const labels = resolveLabels(fn, yTrue, yPred, opts.labels);
  const t = indexLabels(fn, 'yTrue', yTrue, labels);
  const p = indexLabels(fn, 'yPred', yPred, labels);
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let i = 0; i < t.length; i++) matrix[t[i]][p[i]]++;
  return { labels, matrix };
}

interface Counts { tp: number[]; pred: number[]; true: number[] }

function counts(cm: number[][]): Counts {
  const k = cm.length;
  const tp = new Array<number>(k).fill(0);
  const pred = new Array<number>(k).fill(0);
  const tru = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    tp[i] = cm[i][i];
    for (let j = 0; j < k; j++) {
      tru[i] += cm[i][j];
      pred[j] += cm[i][j];
    }
  }
  return { tp, pred, true: tru };
}

/** P, R, F1 from counts, with scikit-learn's zero-division rules. */
function prfFromCounts(tp: number, predicted: number, actual: number, zd: ZeroDivision): Prf {
  const precision = predicted === 0 ? zd : tp / predicted;
  const recall = actual === 0 ? zd : tp / actual;
  const denom = precision + recall;
  const f1 = denom === 0 ? 0 : (2 * precision * recall) / denom;
  return { precision, recall, f1, support: actual };
}

function checkZeroDivision(fn: string, zd: unknown): ZeroDivision {
  if (zd !== 0 && zd !== 1) fail(fn, `'zeroDivision' must be 0 or 1, got ${String(zd)}`);
  return zd;
}

/** Precision, recall, F1 and support of every label, in label order. */
export function perClassScores(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, opts: PrfOptions = {}): ClassPrf[] {
  const fn = 'perClassScores';
  const zd = checkZeroDivision(fn, opts.zeroDivision ?? 0);
  const { labels, matrix } = confusionMatrix(yTrue, yPred, opts);
  const c = counts(matrix);
  return labels.map((label, i) => ({ label, ...prfFromCounts(c.tp[i], c.pred[i], c.true[i], zd) }));
}

/**
 * Averaged precision, recall and F1 (scikit-learn's precision_recall_fscore_support with
 * `average`). `support` is the number of true examples of the covered labels.
 */
export function precisionRecallF1(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, opts: AverageOptions): Prf {
  const fn = 'precisionRecallF1';
  if (opts == null || !['binary', 'micro', 'macro', 'weighted'].includes(opts.average)) {
    fail(fn, `'average' must be one of 'binary', 'micro', 'macro', 'weighted', got ${String(opts?.average)}`);
  }
  const zd = checkZeroDivision(fn, opts.zeroDivision ?? 0);
  checkPair(fn, yTrue, yPred);
  if (opts.average === 'binary') {
    const posLabel = opts.posLabel ?? 1;
    const present = uniqueLabels(yTrue, yPred);
    if (present.length > 2) {
      fail(fn, `average 'binary' needs at most two labels, found ${present.length}: ${JSON.stringify(present)}; use 'macro', 'micro' or 'weighted'`);
    }
    if (present.length === 2 && !present.includes(posLabel)) {
      fail(fn, `posLabel=${JSON.stringify(posLabel)} is not a valid label; it should be one of ${JSON.stringify(present)}`);
    }
    let tp = 0, predicted = 0, actual = 0;
    for (let i = 0; i < yTrue.length; i++) {
      const t = yTrue[i] === posLabel;
      const p = yPred[i] === posLabel;
      if (t && p) tp++;
      if (p) predicted++;
      if (t) actual++;
    }
    return prfFromCounts(tp, predicted, actual, zd);
  }
  const per = perClassScores(yTrue, yPred, opts);
  const support = per.reduce((s, c) => s + c.support, 0);
  if (opts.average === 'micro') {
    const { matrix } = confusionMatrix(yTrue, yPred, opts);
    const c = counts(matrix);
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    return prfFromCounts(sum(c.tp), sum(c.pred), sum(c.true), zd);
  }
  if (opts.average === 'macro') {
    const mean = (key: 'precision' | 'recall' | 'f1') => per.reduce((s, c) => s + c[key], 0) / per.length;
    return { precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support };
  }
  // weighted. support = n > 0 always: every yTrue value must be one of the labels (scikit-learn's
  // zero-support case needs a label subset that excludes all of yTrue, which is an error here).
  const wmean = (key: 'precision' | 'recall' | 'f1') => per.reduce((s, c) => s + c[key] * c.support, 0) / support;
  return { precision: wmean('precision'), recall: wmean('recall'), f1: wmean('f1'), support };
}

export interface ClassificationReport {
  labels: Label[];
  perClass: ClassPrf[];
  accuracy: number;
  macro: Prf;
  micro: Prf;
  weighted: Prf;
}

/** Everything scikit-learn's classification_report prints, as numbers. */
export function classificationReport(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, opts: PrfOptions = {}): ClassificationReport {
  const perClass = perClassScores(yTrue, yPred, opts);
  return {
    labels: perClass.map((c) => c.label),
    perClass,
    accuracy: accuracy(yTrue, yPred),
    macro: precisionRecallF1(yTrue, yPred, { ...opts, average: 'macro' }),
    micro: precisionRecallF1(yTrue, yPred, { ...opts, average: 'micro' }),
    weighted: precisionRecallF1(yTrue, yPred, { ...opts, average: 'weighted' }),
  };
}

/**
 * Matthews correlation coefficient, multiclass form (Gorodkin's R_K, as scikit-learn):
 *   (c·s − Σ_k p_k·t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))
 * with c = correct, s = total, p_k / t_k = predicted / true counts of class k. 0 when the
 * denominator is 0 (a constant prediction or a constant truth), as scikit-learn returns.
 */
export function matthewsCorrcoef(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>): number {
  const fn = 'matthewsCorrcoef';
  checkPair(fn, yTrue, yPred);
  const { matrix } = confusionMatrix(yTrue, yPred);
  const c = counts(matrix);
  const s = yTrue.length;
  const correct = c.tp.reduce((a, b) => a + b, 0);
  let pt = 0, pp = 0, tt = 0;
  for (let k = 0; k < matrix.length; k++) {
    pt += c.pred[k] * c.true[k];
    pp += c.pred[k] * c.pred[k];
    tt += c.true[k] * c.true[k];
  }
  const covYtYp = correct * s - pt;
  const covYpYp = s * s - pp;
  const covYtYt = s * s - tt;
  if (covYpYp * covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}
