// Costly-class evaluation of a seq_cls run (task.costlyClass): when missing one class costs far
// more than a false alarm (an urgent security upload read as routine), accuracy hides what matters.
// This file turns the probabilities of dev and test into
//   - the costly class's recall / precision / F1, its PR-AUC (average precision) and ROC-AUC
//     (one-vs-rest), macro-F1, accuracy, the confusion matrix (cm_<true>_<pred>),
//   - the expected cost per example under task.costMatrix — the run's main_score (lower is better),
// under one decision rule (task.decision):
//   argmax     the most probable label;
//   threshold  predict the costly class when its probability ≥ t, t chosen on dev (the lowest dev
//              cost, or the highest t that reaches task.targetRecall on dev), then applied to test;
//   min_cost   the Bayes decision: the label of least expected cost Σᵢ pᵢ·cost[i][j].
// A threshold is never chosen on test: that would flatter the model.

import {
  accuracy, averagePrecisionScore, confusionMatrix, costByThreshold, expectedCost, minimumCostDecisions, perClassScores,
  precisionRecallCurve, precisionRecallF1, predictWithThreshold, rocAucScore, thresholdForMinCost, thresholdForRecall,
} from '@tunebench/eval';
import type { TrainRunConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';

/** Miss cost of the costly class in the default cost matrix (every other error costs 1). */
export const DEFAULT_MISS_COST = 10;

export interface CostlySetup {
  /** Column (label index) of the costly class. */
  cls: number;
  label: string;
  labels: string[];
  cost: number[][];
  decision: TrainRunConfig['task']['decision'];
  targetRecall: number | null;
}

/** cost[i][j] with 0 on the diagonal, `miss` for a missed costly class, 1 for every other error. */
export function defaultCostMatrix(numLabels: number, cls: number, miss = DEFAULT_MISS_COST): number[][] {
  return Array.from({ length: numLabels }, (_, i) => Array.from({ length: numLabels }, (_, j) => (i === j ? 0 : i === cls ? miss : 1)));
}

/** The run's costly-class setup (null when task.costlyClass is unset); bad input is a ConfigError. */
export function costlySetup(task: TrainRunConfig['task'], labels: string[]): CostlySetup | null {
  if (!task.costlyClass) return null;
  const cls = labels.indexOf(task.costlyClass);
  if (cls < 0) throw new ConfigError(`task.costlyClass '${task.costlyClass}' is not one of the labels (${labels.join(', ')})`);
  const K = labels.length;
  if (task.costMatrix.length && task.costMatrix.length !== K) {
    throw new ConfigError(`task.costMatrix is ${task.costMatrix.length}×${task.costMatrix.length} but there are ${K} labels (${labels.join(', ')}); rows and columns follow the label order`);
  }
  const cost = task.costMatrix.length ? task.costMatrix.map((r) => [...r]) : defaultCostMatrix(K, cls);
  cost.forEach((row, i) => row.forEach((v, j) => {
    if (!Number.isFinite(v) || v < 0) throw new ConfigError(`task.costMatrix[${i}][${j}] = ${v}: costs are finite and ≥ 0`);
  }));
  return { cls, label: task.costlyClass, labels, cost, decision: task.decision, targetRecall: task.targetRecall };
}

export interface Scored {
  /** True label index per example. */
  yTrue: number[];
  /** Softmax probabilities per example (label order). */
  probs: number[][];
}

/** Decisions under the setup's rule (`threshold` is required for 'threshold'). */
export function decide(s: CostlySetup, probs: number[][], threshold: number | null): Int32Array {
  if (s.decision === 'min_cost') return minimumCostDecisions(probs, s.cost);
  if (s.decision === 'threshold') {
    if (threshold === null) throw new Error('decide: the threshold rule needs a threshold chosen on dev');
    return predictWithThreshold(probs, s.cls, threshold);
  }
  return Int32Array.from(probs, (row) => {
    let b = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[b]) b = j;
    return b;
  });
}

/**
 * Metrics of decisions `pred` for labelled probabilities. A split without any costly example
 * has no recall, PR-AUC or ROC-AUC: those keys are left out (never a made-up 0).
 */
export function costlyMetrics(s: CostlySetup, d: Scored, pred: ArrayLike<number>): Record<string, number> {
  const K = s.labels.length;
  const idx = Array.from({ length: K }, (_, i) => i);
  const m: Record<string, number> = {};
  m.accuracy = accuracy(d.yTrue, pred);
  m.macro_f1 = precisionRecallF1(d.yTrue, pred, { average: 'macro', labels: idx }).f1;
  m.expected_cost = expectedCost(d.yTrue, pred, s.cost);
  const hasPos = d.yTrue.some((y) => y === s.cls);
  const per = perClassScores(d.yTrue, pred, { labels: idx, zeroDivision: 0 })[s.cls]!;
  m.costly_precision = per.precision;
  if (hasPos) {
    m.costly_recall = per.recall;
    m.costly_f1 = per.f1;
    const scores = d.probs.map((r) => r[s.cls]!);
    m.costly_pr_auc = averagePrecisionScore(d.yTrue.map((y) => (y === s.cls ? 1 : 0)), scores);
    if (d.yTrue.some((y) => y !== s.cls)) m.costly_roc_auc = rocAucScore(d.yTrue.map((y) => (y === s.cls ? 1 : 0)), scores);
  }
  const cm = confusionMatrix(d.yTrue, pred, { labels: idx });
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) m[`cm_${s.labels[i]}_${s.labels[j]}`] = cm.matrix[i]![j]!;
  m.main_score = m.expected_cost;
  return m;
}

/** What the report draws per run: the PR curve of the costly class and cost against threshold (test split). */
export interface CostlyDetails {
  costlyClass: string;
  labels: string[];
  costMatrix: number[][];
  decision: CostlySetup['decision'];
  targetRecall: number | null;
  /** The dev-chosen threshold ('threshold' rule; null = never predict the costly class), else null. */
  threshold: number | null;
  split: 'test' | 'dev';
  confusion: number[][];
  /** Precision / recall of the costly class by threshold (at most ~60 points, highest threshold first). */
  prCurve: { precision: number[]; recall: number[] };
  /** Expected cost per example of "costly class when its probability ≥ t" for t = 0, 0.05, …, 1. */
  costCurve: { threshold: number[]; cost: number[] };
}

const COST_GRID = Array.from({ length: 21 }, (_, i) => i / 20);

function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (n - 1))]!);
  return out;
}

/**
 * The final metrics under the setup's decision rule: dev and test metrics in place of the argmax
 * ones, plus the details for the report. The threshold rule chooses its threshold on dev.
 */
export function finalCostlyMetrics(s: CostlySetup, dev: Scored | null, test: Scored | null): {
  dev: Record<string, number> | null; test: Record<string, number> | null; details: CostlyDetails | null;
  /** The final decisions on test (label index per labelled test example), for the per-example predictions. */
  testDecisions: Int32Array | null;
} {
  let threshold: number | null = null;
  if (s.decision === 'threshold') {
    if (!dev || !dev.yTrue.length) throw new ConfigError("task.decision 'threshold' chooses its threshold on dev, but the run has no labelled dev rows");
    if (s.targetRecall !== null) {
      if (!dev.yTrue.some((y) => y === s.cls)) {
        throw new ConfigError(`task.targetRecall ${s.targetRecall}: the dev rows hold no '${s.label}' example, so no threshold can be chosen for a recall target (use more dev rows, or targetRecall null for the lowest dev cost)`);
      }
      threshold = thresholdForRecall(dev.yTrue.map((y) => y === s.cls), dev.probs.map((r) => r[s.cls]!), s.targetRecall).threshold;
    } else {
      threshold = thresholdForMinCost(dev.yTrue, dev.probs, s.cls, s.cost).threshold;
    }
  }
  const score = (d: Scored | null) => {
    if (!d || !d.yTrue.length) return null;
    const m = costlyMetrics(s, d, decide(s, d.probs, threshold));
    if (threshold !== null) m.decision_threshold = Number.isFinite(threshold) ? threshold : 1;
    return m;
  };
  const devM = score(dev), testM = score(test);
  const on = test && test.yTrue.length ? test : dev && dev.yTrue.length ? dev : null;
  let details: CostlyDetails | null = null;
  if (on) {
    const pred = decide(s, on.probs, threshold);
    const cm = confusionMatrix(on.yTrue, pred, { labels: s.labels.map((_, i) => i) });
    const pr = precisionRecallCurve(on.yTrue.map((y) => y === s.cls), on.probs.map((r) => r[s.cls]!));
    const idx = thin(pr.precision.map((_, i) => i), 60);
    details = {
      costlyClass: s.label,
      labels: s.labels,
      costMatrix: s.cost,
      decision: s.decision,
      targetRecall: s.targetRecall,
      threshold: threshold === null || !Number.isFinite(threshold) ? null : threshold,
      split: on === test ? 'test' : 'dev',
      confusion: cm.matrix.map((r) => Array.from(r)),
      prCurve: { precision: idx.map((i) => pr.precision[i]!), recall: idx.map((i) => pr.recall[i]!) },
      costCurve: { threshold: COST_GRID, cost: costByThreshold(on.yTrue, on.probs, s.cls, s.cost, COST_GRID) },
    };
  }
  return { dev: devM, test: testM, details, testDecisions: test && test.yTrue.length ? decide(s, test.probs, threshold) : null };
}
