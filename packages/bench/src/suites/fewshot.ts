// Few labels (Q132, Q133): "I have k labelled examples per class: what should I do?" At 8, 16, 32
// and 64 examples per class (the labelled sample is drawn per seed, stratified, and is the same for
// every strategy of that seed: fewshot/sample.ts), compare
//   frozen_lr      frozen encoder, mean-pooled embeddings, L2 logistic regression
//   setfit         SetFit: contrastive stage on pairs of the sample (cosine-similarity loss), then
//                  the logistic-regression head; setfit_mnr: the same with MNR loss
//   head_only      the classification fine-tune with the encoder frozen
//   full           full fine-tuning; full_eda: on the sample plus 4 EDA copies of each example
//   self_training  setfit, then 2 rounds of pseudo-labelling the unlabelled rest of the train split
//                  (each round the k most confident pool rows per predicted class: as many
//                  pseudo-labels as labels; fewshot/pseudo_labels.ts) and refitting the head —
//                  a fixed threshold of 0.9 added nothing on these models, whose top
//                  probabilities stay below it; self_training_full: the same rounds on
//                  top of full fine-tuning (each round a fresh fine-tune from the base on the
//                  sample + pseudo-labels)
// frozen_lr and setfit also start from the sentence-encoder base models/tiny-en-st (…_st), which
// separates what the contrastive step adds from what sentence pretraining adds. Plotted as score vs
// labels per class, one curve per strategy with its 95 % CI over seeds as a shaded band (the SetFit figure).
// zh_poetry (4 genres of classical Chinese verse) starts from the Chinese-capable base
// models/tiny-zh-base (the English base with a Chinese WordPiece merged in and continued MLM on
// zh_pretrain: scripts/make-zh-base.sh); the *_st strategies are left out there, as the only
// sentence-encoder base is English (models/tiny-en-st).
import type { FewshotSpec, Suite, Variant } from './types.js';

export const FEWSHOT_SHOTS = [8, 16, 32, 64];
const HEAD_LR = 1e-3;
const FT_LR = 3e-4;

const METHODS: { name: string; spec: Omit<FewshotSpec, 'shots'>; params: Variant['params'] }[] = [
  { name: 'frozen_lr', spec: { method: 'frozen_lr', encoder: 'base' }, params: { encoder: 'base' } },
  { name: 'frozen_lr_st', spec: { method: 'frozen_lr', encoder: 'st' }, params: { encoder: 'st' } },
  { name: 'setfit', spec: { method: 'setfit', encoder: 'base', set: { 'setfit.loss': 'cosine' } }, params: { encoder: 'base', pair_loss: 'cosine' } },
  { name: 'setfit_st', spec: { method: 'setfit', encoder: 'st', set: { 'setfit.loss': 'cosine' } }, params: { encoder: 'st', pair_loss: 'cosine' } },
  { name: 'setfit_mnr', spec: { method: 'setfit', encoder: 'base', set: { 'setfit.loss': 'mnr' } }, params: { encoder: 'base', pair_loss: 'mnr' } },
  { name: 'head_only', spec: { method: 'finetune', encoder: 'base', set: { 'trainer.strategy.name': 'head_only', 'trainer.optimizer.lr': HEAD_LR } }, params: { encoder: 'base', lr: HEAD_LR } },
  { name: 'full', spec: { method: 'finetune', encoder: 'base', set: { 'trainer.strategy.name': 'full', 'trainer.optimizer.lr': FT_LR } }, params: { encoder: 'base', lr: FT_LR } },
  {
    name: 'full_eda',
    spec: { method: 'finetune', encoder: 'base', set: { 'trainer.strategy.name': 'full', 'trainer.optimizer.lr': FT_LR, 'data.augment': { copies: 4, alphaSr: 0.1, alphaRi: 0.1, alphaRs: 0.1, pRd: 0.1 } } },
    params: { encoder: 'base', lr: FT_LR, eda_copies: 4 },
  },
  {
    name: 'self_training',
    spec: { method: 'self_training', encoder: 'base', set: { 'setfit.loss': 'cosine', selfTraining: { rounds: 2, threshold: 0 } } },
    params: { encoder: 'base', rounds: 2, threshold: 0 },
  },
  {
    name: 'self_training_full',
    spec: { method: 'self_training', teacher: 'full', encoder: 'base', set: { 'trainer.strategy.name': 'full', 'trainer.optimizer.lr': FT_LR, selfTraining: { rounds: 2, threshold: 0 } } },
    params: { encoder: 'base', lr: FT_LR, rounds: 2, threshold: 0, teacher: 'full' },
  },
];

// Self-training adds, each round, the `shots` most confident pool rows of each predicted class.
const variant = (m: (typeof METHODS)[number], shots: number): Variant => {
  const perClass = m.spec.method === 'self_training';
  return {
    name: `${m.name}.k${shots}`,
    params: { method: m.name, shots, ...m.params, ...(perClass ? { top_per_class: shots } : {}) },
    fewshot: { ...m.spec, shots, ...(perClass ? { set: { ...m.spec.set, 'selfTraining.topPerClass': shots } } : {}) },
  };
};

const names = (methods: string[], shots: number[]) => methods.flatMap((m) => shots.map((k) => `${m}.k${k}`));

export const fewshot: Suite = {
  name: 'fewshot',
  title: 'Few labels: SetFit, frozen embeddings, EDA, self-training at 8–64 labels per class',
  question: 'With k labelled examples per class, which strategy scores best, and what do the contrastive step and sentence pretraining each add?',
  baseline: 'full.k8',
  datasets: ['wn_topic', 'email', 'zh_poetry'],
  datasetBases: {
    zh_poetry: {
      base: 'models/tiny-zh-base',
      madeBy: 'bash scripts/make-zh-base.sh',
      exclude: { variants: names(['frozen_lr_st', 'setfit_st'], FEWSHOT_SHOTS), why: 'the sentence-encoder base (models/tiny-en-st) is English-only' },
    },
  },
  curveParam: 'shots',
  curveGroup: 'method',
  variants: METHODS.flatMap((m) => FEWSHOT_SHOTS.map((k) => variant(m, k))),
  presets: {
    micro: { variants: names(['frozen_lr', 'setfit', 'full'], [8]), datasets: ['email'] },
    quick: { variants: names(METHODS.map((m) => m.name), [8, 32]), seeds: [0, 1] },
    full: { seeds: [0, 1, 2, 3, 4] },
  },
};
