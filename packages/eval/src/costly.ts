// Costly-class metrics: when missing one class (say, a fraud or a safety report) costs far more
// than a false alarm, the leaderboard needs that class's recall, the expected cost of the
// decisions, and the threshold that reaches a recall target on dev together with what that
// threshold gives on test (a threshold tuned on test would flatter the model).

import { checkFinite, checkLabels, checkMatrix, checkNonEmpty, checkProbability, checkSameLength, fail, indexLabels, type Label } from './check.js';
import { perClassScores, type ZeroDivision } from './classification.js';

/** Recall of one class: tp / (true examples of the class); 0/0 → zeroDivision (default 0). */
export function recallOfClass(yTrue: ArrayLike<Label>, yPred: ArrayLike<Label>, cls: Label, opts: { zeroDivision?: ZeroDivision } = {}): number {
  if (yTrue.length > 0 && typeof cls !== typeof yTrue[0]) {
    fail('recallOfClass', `'cls' = ${JSON.stringify(cls)} is a ${typeof cls} but the labels are ${typeof yTrue[0]}s`);
  }
  const labels = [...new Set([...Array.from(yTrue), ...Array.from(yPred), cls])];
  const per = perClassScores(yTrue, yPred, { labels, zeroDivision: opts.zeroDivision ?? 0 });
  return per.find((c) => c.label === cls)!.recall;
}

function checkCostMatrix(fn: string, cost: ReadonlyArray<ArrayLike<number>>): number {
  checkNonEmpty(fn, 'cost', cost);
  const k = checkMatrix(fn, 'cost', cost, cost.length);
  return k;
}

/**
 * Mean cost per example: cost[i][j] is the cost of predicting class j when the truth is i.
 * Labels are class indices 0..K−1 unless `labels` names the class of each row/column.
 */
export function expectedCost(
  yTrue: ArrayLike<Label>,
  yPred: ArrayLike<Label>,
  cost: ReadonlyArray<ArrayLike<number>>,
  opts: { labels?: readonly Label[] } = {},
): number {
  const fn = 'expectedCost';
  const k = checkCostMatrix(fn, cost);
  checkNonEmpty(fn, 'yTrue', yTrue);
  checkSameLength(fn, 'yTrue', yTrue, 'yPred', yPred);
  checkLabels(fn, 'yTrue', yTrue);
  checkLabels(fn, 'yPred', yPred);
  const labels = opts.labels ?? Array.from({ length: k }, (_, i) => i);
  if (labels.length !== k) fail(fn, `'labels' has ${labels.length} entries but the cost matrix is ${k}×${k}`);
  const t = indexLabels(fn, 'yTrue', yTrue, labels);
  const p = indexLabels(fn, 'yPred', yPred, labels);
  let total = 0;
  for (let i = 0; i < t.length; i++) total += cost[t[i]][p[i]];
  return total / t.length;
}

/**
 * Bayes decisions under a cost matrix: for each probability row, the class j minimising the
 * expected cost Σ_i p_i·cost[i][j] (first minimum on ties). Returns class indices.
 */
export function minimumCostDecisions(probs: ReadonlyArray<ArrayLike<number>>, cost: ReadonlyArray<ArrayLike<number>>): Int32Array {
  const fn = 'minimumCostDecisions';
  const k = checkCostMatrix(fn, cost);
  checkMatrix(fn, 'probs', probs, k);
  const out = new Int32Array(probs.length);
  for (let r = 0; r < probs.length; r++) {
    let best = 0;
    let bestCost = Infinity;
    for (let j = 0; j < k; j++) {
      let c = 0;
      for (let i = 0; i < k; i++) c += probs[r][i] * cost[i][j];
      if (c < bestCost) {
        bestCost = c;
        best = j;
      }
    }
    out[r] = best;
  }
  return out;
}

export interface BinaryCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  f1: number;
  /** fp / (fp + tn); 0 when there are no negatives. */
  falsePositiveRate: number;
}

function binaryCounts(isPos: ArrayLike<boolean>, predPos: ArrayLike<boolean>): BinaryCounts {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < isPos.length; i++) {
    if (predPos[i]) { if (isPos[i]) tp++; else fp++; } else { if (isPos[i]) fn++; else tn++; }
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, tn, precision, recall, f1, falsePositiveRate: fp + tn ? fp / (fp + tn) : 0 };
}

function positives(fn: string, yTrue: ArrayLike<Label> | ArrayLike<boolean>, posLabel: Label | undefined): boolean[] {
  checkNonEmpty(fn, 'yTrue', yTrue);
  if (typeof yTrue[0] === 'boolean') return Array.from(yTrue as ArrayLike<boolean>);
  checkLabels(fn, 'yTrue', yTrue as ArrayLike<Label>);
  const pos = posLabel ?? 1;
  return Array.from(yTrue as ArrayLike<Label>, (v) => v === pos);
}

/** Metrics of "predict the costly class when score ≥ threshold". */
export function metricsAtThreshold(
  yTrue: ArrayLike<Label> | ArrayLike<boolean>,
  scores: ArrayLike<number>,
  threshold: number,
  opts: { posLabel?: Label } = {},
): BinaryCounts {
  const fn = 'metricsAtThreshold';
  const isPos = positives(fn, yTrue, opts.posLabel);
  checkSameLength(fn, 'yTrue', yTrue, 'scores', scores);
  checkFinite(fn, 'scores', scores);
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) fail(fn, `'threshold' is ${String(threshold)}`);
  return binaryCounts(isPos, Array.from(scores, (s) => s >= threshold));
}

export interface ThresholdChoice extends BinaryCounts {
  threshold: number;
  targetRecall: number;
}

/**
 * The highest threshold t (predict positive when score ≥ t) whose recall on this data is at
 * least `targetRecall`, and the metrics it gives here. Use dev data here, then
 * `metricsAtThreshold(test..., choice.threshold)` for the test numbers. The threshold is always
 * one of the positives' scores; with tied scores the recall reached can exceed the target.
 */
export function thresholdForRecall(
  yTrue: ArrayLike<Label> | ArrayLike<boolean>,
  scores: ArrayLike<number>,
  targetRecall: number,
  opts: { posLabel?: Label } = {},
): ThresholdChoice {
  const fn = 'thresholdForRecall';
  checkProbability(fn, 'targetRecall', targetRecall, true);
  const isPos = positives(fn, yTrue, opts.posLabel);
  checkSameLength(fn, 'yTrue', yTrue, 'scores', scores);
  checkFinite(fn, 'scores', scores);
  const posScores = Array.from(scores).filter((_, i) => isPos[i]).sort((a, b) => b - a);
  if (posScores.length === 0) fail(fn, `yTrue has no positive example; no threshold reaches a recall of ${targetRecall}`);
  // smallest k with k / P ≥ target (the 1e-9 slack absorbs the rounding of target·P just above an integer)
  const k = Math.max(1, Math.ceil(targetRecall * posScores.length - 1e-9));
  const threshold = posScores[k - 1];
  return { threshold, targetRecall, ...binaryCounts(isPos, Array.from(scores, (s) => s >= threshold)) };
}

/**
 * Multiclass decisions with a threshold on one costly class: predict `cls` (a column index)
 * when its probability is ≥ threshold, otherwise the most probable of the other classes.
 */
export function predictWithThreshold(probs: ReadonlyArray<ArrayLike<number>>, cls: number, threshold: number): Int32Array {
  const fn = 'predictWithThreshold';
  const k = checkMatrix(fn, 'probs', probs);
  if (!Number.isInteger(cls) || cls < 0 || cls >= k) fail(fn, `'cls' = ${cls} is not a column index in [0, ${k})`);
  const out = new Int32Array(probs.length);
  for (let r = 0; r < probs.length; r++) {
    const row = probs[r];
    if (row[cls] >= threshold) { out[r] = cls; continue; }
    let best = -1;
    for (let j = 0; j < k; j++) if (j !== cls && (best < 0 || row[j] > row[best])) best = j;
    out[r] = best < 0 ? cls : best;
  }
  return out;
}


/**
 * Expected cost per example of `predictWithThreshold(probs, cls, t)` for each threshold t.
 * yTrue holds class indices (columns of probs and rows of the cost matrix).
 */
export function costByThreshold(yTrue: ArrayLike<number>, probs: ReadonlyArray<ArrayLike<number>>, cls: number, cost: ReadonlyArray<ArrayLike<number>>, thresholds: ArrayLike<number>): number[] {
  const fn = 'costByThreshold';
  const k = checkCostMatrix(fn, cost);
  checkMatrix(fn, 'probs', probs, k);
  checkSameLength(fn, 'yTrue', yTrue, 'probs', probs);
  checkNonEmpty(fn, 'yTrue', yTrue);
  for (let i = 0; i < yTrue.length; i++) {
    if (!Number.isInteger(yTrue[i]) || yTrue[i] < 0 || yTrue[i] >= k) fail(fn, `yTrue[${i}] = ${yTrue[i]} is not a class index in [0, ${k})`);
  }
  return Array.from(thresholds, (t) => {
    const pred = predictWithThreshold(probs, cls, t);
    let total = 0;
    for (let i = 0; i < pred.length; i++) total += cost[yTrue[i]][pred[i]];
    return total / pred.length;
  });
}

export interface CostThresholdChoice {
  threshold: number;
  /** Expected cost per example at that threshold on the data it was chosen on. */
  cost: number;
}

/**
 * The threshold on column `cls` with the lowest expected cost on this data (use dev data, then
 * apply it to test). Candidates are the distinct probabilities of `cls` and +∞ (never predict
 * it); on ties the highest threshold wins (the fewest alarms for the same cost).
 */
export function thresholdForMinCost(yTrue: ArrayLike<number>, probs: ReadonlyArray<ArrayLike<number>>, cls: number, cost: ReadonlyArray<ArrayLike<number>>): CostThresholdChoice {
  const fn = 'thresholdForMinCost';
  const k = checkMatrix(fn, 'probs', probs);
  if (!Number.isInteger(cls) || cls < 0 || cls >= k) fail(fn, `'cls' = ${cls} is not a column index in [0, ${k})`);
  const candidates = [Infinity, ...[...new Set(probs.map((r) => r[cls]))].sort((a, b) => b - a)];
  const costs = costByThreshold(yTrue, probs, cls, cost, candidates);
  let best = 0;
  for (let i = 1; i < costs.length; i++) if (costs[i] < costs[best] - 1e-15) best = i;
  return { threshold: candidates[best], cost: costs[best] };
}
