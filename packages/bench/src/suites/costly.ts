// Costly class (Q141): on changelog_urgency, `high` (an urgent upload: a security fix, a broken
// system) is 2.9 % of the rows, and missing one costs far more than a false alarm. Which of the
// usual remedies lowers the expected cost of the decisions?
//   training:  ce (baseline), weighted_ce with inverse / square-root-inverse class frequencies,
//              focal loss (γ 2, α per class), random oversampling of `high`, random
//              undersampling of the other classes, SMOTE and Tomek-link cleaning on the encoder's
//              pooled embeddings (the classifier retrained on the resampled embeddings);
//   deciding:  argmax, `threshold` (the threshold on p(high) of lowest dev cost, or `recallNN`:
//              the highest threshold with dev recall ≥ NN %), `min_cost` (Bayes decision under the
//              cost matrix).
// main_score is the expected cost per test example under COST_MATRIX (lower is better). A variant
// with a decision suffix trains exactly what its base variant trains (same seeds, same config), so
// the difference is the decision rule alone: its fine-tune is its base variant's (a `train` phase
// the phase cache shares), scored again with its rule (`tunebench score`, nothing trained).
import { URGENCY_LABELS } from '@tunebench/datasets';
import type { Scalar, Suite, Variant } from './types.js';

export const COSTLY_DATASET = 'changelog_urgency';
export const COSTLY_CLASS = 'high';
/** Default costs: missing a `high` costs 10, a false `high` alarm 1, any other confusion 1. */
export const MISS_COST = 10;
export const FALSE_ALARM_COST = 1;
export const OTHER_COST = 1;

const LABELS: readonly string[] = URGENCY_LABELS;
const HIGH = LABELS.indexOf(COSTLY_CLASS);

/** cost[i][j]: truth LABELS[i], predicted LABELS[j] (the trainer's task.costMatrix). */
export const COST_MATRIX: number[][] = LABELS.map((_, i) => LABELS.map((_, j) => (i === j ? 0 : i === HIGH ? MISS_COST : j === HIGH ? FALSE_ALARM_COST : OTHER_COST)));

/** Focal loss α per class (label order): the rare costly class weighted 0.75, the others 0.25 (RetinaNet's α for a rare class with γ 2). */
export const FOCAL_ALPHA: number[] = LABELS.map((l) => (l === COSTLY_CLASS ? 0.75 : 0.25));

const FT = { 'strategy.name': 'full', 'optimizer.lr': 3e-4, 'task.costlyClass': COSTLY_CLASS, 'task.costMatrix': COST_MATRIX };
const COST_PARAMS = { costly_class: COSTLY_CLASS, miss_cost: MISS_COST, false_alarm_cost: FALSE_ALARM_COST, other_cost: OTHER_COST };

interface Training {
  name: string;
  params: Record<string, Scalar>;
  set: Record<string, unknown>;
}

const TRAININGS: Training[] = [
  { name: 'ce', params: { loss: 'ce', resample: 'none' }, set: { 'task.loss': 'ce' } },
  { name: 'weighted_ce_inverse', params: { loss: 'weighted_ce', weights: 'inverse', resample: 'none' }, set: { 'task.loss': 'weighted_ce', 'task.classWeightScheme': 'inverse' } },
  { name: 'weighted_ce_sqrt_inverse', params: { loss: 'weighted_ce', weights: 'sqrt_inverse', resample: 'none' }, set: { 'task.loss': 'weighted_ce', 'task.classWeightScheme': 'sqrt_inverse' } },
  { name: 'focal', params: { loss: 'focal', gamma: 2, alpha_high: 0.75, alpha_other: 0.25, resample: 'none' }, set: { 'task.loss': 'focal', 'task.focalGamma': 2, 'task.focalAlpha': FOCAL_ALPHA } },
  { name: 'oversample', params: { loss: 'ce', resample: 'oversample', resample_ratio: 1 }, set: { 'task.loss': 'ce', 'data.resample': 'oversample', 'data.resampleRatio': 1 } },
  { name: 'undersample', params: { loss: 'ce', resample: 'undersample', resample_ratio: 1 }, set: { 'task.loss': 'ce', 'data.resample': 'undersample', 'data.resampleRatio': 1 } },
  // After the CE fine-tune: resample the pooled embeddings, retrain the classifier on them.
  { name: 'smote_embed', params: { loss: 'ce', resample: 'smote_embed', resample_ratio: 1, smote_k: 5 }, set: { 'task.loss': 'ce', 'data.embedResample': 'smote', 'data.resampleRatio': 1, 'data.smoteK': 5 } },
  { name: 'tomek_embed', params: { loss: 'ce', resample: 'tomek_embed' }, set: { 'task.loss': 'ce', 'data.embedResample': 'tomek' } },
];

interface Decision {
  suffix: string;
  params: Record<string, Scalar>;
  set: Record<string, unknown>;
}

const DECISIONS: Decision[] = [
  { suffix: '', params: { decision: 'argmax', target_recall: null }, set: { 'task.decision': 'argmax' } },
  { suffix: '.threshold', params: { decision: 'threshold', target_recall: null }, set: { 'task.decision': 'threshold', 'task.targetRecall': null } },
  { suffix: '.recall80', params: { decision: 'threshold', target_recall: 0.8 }, set: { 'task.decision': 'threshold', 'task.targetRecall': 0.8 } },
  { suffix: '.min_cost', params: { decision: 'min_cost', target_recall: null }, set: { 'task.decision': 'min_cost' } },
];

const ARGMAX = DECISIONS[0]!;
const variants: Variant[] = TRAININGS.flatMap((t) => DECISIONS.map((d): Variant => ({
  name: `${t.name}${d.suffix}`,
  params: { training: t.name, ...t.params, ...d.params, ...COST_PARAMS },
  finetune: { ...FT, ...t.set, ...ARGMAX.set },
  ...(d === ARGMAX ? {} : { decide: d.set }),
})));

export const costly: Suite = {
  name: 'costly',
  title: 'Costly class: expected cost on changelog urgency',
  question: `Missing a '${COSTLY_CLASS}' changelog costs ${MISS_COST}, a false '${COSTLY_CLASS}' alarm ${FALSE_ALARM_COST}: which loss, resampling and decision rule give the lowest expected cost per example?`,
  baseline: 'ce',
  datasets: [COSTLY_DATASET],
  variants,
  presets: {
    // Whole dev / test splits (21 `high` rows each): 300 rows would hold only a handful.
    quick: {
      variants: ['ce', 'ce.threshold', 'ce.min_cost', 'weighted_ce_inverse', 'weighted_ce_sqrt_inverse', 'focal', 'oversample', 'undersample', 'smote_embed', 'tomek_embed'],
      sizes: { finetune: { maxEvalRows: 0 } },
    },
    // The first 230 training rows hold two `high` (SMOTE's least), the first 160 dev / test rows two / four.
    micro: { variants: ['ce', 'ce.threshold', 'smote_embed.min_cost'], sizes: { finetune: { maxTrainRows: 230, maxEvalRows: 160 } } },
  },
  costMatrix: { labels: [...LABELS], costlyClass: COSTLY_CLASS, matrix: COST_MATRIX },
};
