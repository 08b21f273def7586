// Declarative suite specs. A suite asks one question (which layers to train, whether continued
// pretraining on domain text pays, which masking, which learning rate); each of its variants is a
// list of trainer-config overrides (dotted keys of packages/trainer/src/config/schema.ts) for at
// most three phases:
//
//   pretrain  masked-LM from the base model (continued) or from scratch, on domain text
//   finetune  the scored phase: classification on the run's dataset, test split → main_score
//   probe     forgetting probe: the same fine-tune recipe on a general task (wn_topic) from the
//             pretrained checkpoint, so a variant that forgets general English scores lower here
//
// Sizes (steps, batch, rows, seeds) come from the preset, never from the suite, so a suite reads
// as the list of things it compares.

import type { Claim } from '../claims.js';

export type Scalar = string | number | boolean | null;
export type Overrides = Record<string, unknown>;

export interface PretrainPhase {
  /** 'base': continue from the base model; 'scratch': random init, vocabulary trained on `dataset`. */
  from: 'base' | 'scratch';
  /** Text to pretrain on (a shipped dataset name; its train split or corpus). */
  dataset: string;
  set?: Overrides;
}

export interface Variant {
  /** Leaderboard name, unique in the suite: [a-z0-9_.=-]. */
  name: string;
  /** What distinguishes it (recorded in each record's params; shown in tables). */
  params: Record<string, Scalar>;
  pretrain?: PretrainPhase;
  /**
   * No pretraining, but its held-out MLM scores measured as a pretraining phase on this dataset
   * (with these overrides: data.general etc.) would measure them: an `mlm_eval` phase of the base
   * (zh_vocab's en_base). Ignored when `pretrain` is set (that phase measures them itself).
   */
  mlmEval?: { dataset: string; set?: Overrides };
  /** Overrides of the scored fine-tuning phase. */
  finetune?: Overrides;
  /**
   * Settings that only change how the fine-tuned model is scored (e.g. task.decision): the
   * fine-tune (with `finetune`'s overrides) runs as a `train` phase, shared through the phase
   * cache with the variant that trains the same way, and the scored phase is `tunebench score`
   * of its checkpoint with these overrides on top.
   */
  decide?: Overrides;
  /** Run the forgetting probe after the pretraining phase (or from the base model). */
  probe?: boolean;
  /** A few-shot variant: one `tunebench fewshot` phase instead of the trainer phases (suites/fewshot.ts). */
  fewshot?: FewshotSpec;
  /** An edge variant: one `tunebench edge` phase (suites/edge.ts, edge/phase.ts). */
  edge?: EdgeSpec;
}

export interface EdgeSpec {
  /** Three single-task models, one multi-task model, or a multi-task student distilled from a teacher. */
  mode: 'single' | 'multi' | 'distill';
  /** 'base': the run's base model (its shape and weights); 'small': a smaller shape from random weights (the preset's, e.g. L2 H64). */
  student: 'base' | 'small';
  /** distill: add the hidden-state MSE through a learned projection (weight 1). */
  hiddenMse?: boolean;
  /** The deployment variant this row scores (the phase scores all of them; edge/config.ts EDGE_VARIANTS). */
  deploy: string;
  /** Overrides of the phase config (dotted keys of edge/config.ts). */
  set?: Overrides;
}

export interface FewshotSpec {
  /** What the phase does with the labelled sample (fewshot/config.ts). */
  method: 'frozen_lr' | 'setfit' | 'finetune' | 'self_training';
  /** Labelled examples per class. */
  shots: number;
  /** 'base': the run's base model; 'st': the sentence-encoder base (models/tiny-en-st). */
  encoder: 'base' | 'st';
  /** Overrides of the phase config (dotted keys of fewshot/config.ts; trainer.* for the trainer's). */
  set?: Overrides;
  /** self_training: the teacher (and each round's student) — SetFit (default) or full fine-tuning. */
  teacher?: 'setfit' | 'full';
}

export interface DatasetBase {
  /** Checkpoint directory, relative to the repository (e.g. models/tiny-zh-base). */
  base: string;
  /** The command that makes it (said when it is missing). */
  madeBy: string;
  /** Variants left out on this dataset, and why. */
  exclude?: { variants: string[]; why: string };
}

export interface Suite {
  name: string;
  title: string;
  /** The question the suite answers (shown on the report). */
  question: string;
  /** Variant every other is compared with (paired by seed). */
  baseline: string;
  datasets: string[];
  variants: Variant[];
  /** Per preset: a subset of variants / datasets (default: all), phase sizes replacing the preset's (e.g. more eval rows for a rare class), and seeds (default: the preset's). */
  presets?: Partial<Record<PresetName, { variants?: string[]; datasets?: string[]; sizes?: Partial<Record<'finetune' | 'pretrain' | 'probe', Partial<PhaseSizes>>>; seeds?: number[] }>>;
  /** A curve plot of main_score against this numeric param (sensitivity sweeps). */
  curveParam?: string;
  /** The param whose values make the curves of that plot (default 'stage'). */
  curveGroup?: string;
  /** The fine-tune test metric recorded as main_score (default: the task's, accuracy / f1). */
  mainMetric?: string;
  /** main_score ranks ascending (a loss, an error rate). */
  lowerIsBetter?: boolean;
  /**
   * Datasets scored from another base model than the sweep's: dataset → that base (a checkpoint
   * directory relative to the repository) and the variants that do not apply to it, with why. The
   * fewshot suite scores zh_poetry from the Chinese-capable models/tiny-zh-base (an English base
   * reads nearly every Chinese character as [UNK]). Its runs record that base (record.datasetBase,
   * params.base); a base that does not exist leaves those runs out with the command that makes it.
   */
  datasetBases?: Record<string, DatasetBase>;
  /** Datasets that are directories (bring your own data): name used in runs → absolute directory. */
  datasetDirs?: Record<string, string>;
  /** Where the suite was defined when it came from a user's suite file (suite_file.ts), with its
   * hash; runs planned from it record both. Built-in suites carry `shipped` instead. */
  source?: { file: string; sha256: string };
  /** A built-in suite: its file, relative to the repository (packages/bench/suites/<name>.yaml). */
  shipped?: string;
  /** Claims checked on this suite's records (a suite file's `claims`), resolved and retargeted to it. */
  claims?: Claim[];
  /**
   * Record how the vocabulary fits the scored text (unk_rate, tokens_per_char of the fine-tune's
   * test split) and the pretraining (or mlm_eval) phase's held-out MLM scores: mlm_loss on the
   * pretraining dataset, mlm_loss_general on the mixed-in general corpus, and the share of the
   * held-out tokens that are [UNK] (mlm_unk_share: never masked, so outside mlm_loss); the
   * report adds a
   * trade-off plot (score vs probe, point size tokens per character). Vocabulary suites.
   */
  languageMetrics?: boolean;
  /** Costly-class suites: the cost matrix every variant is scored with (printed in the report). */
  costMatrix?: { labels: string[]; costlyClass: string; matrix: number[][] };
}

export type PresetName = 'micro' | 'quick' | 'full';
export const PRESET_NAMES: readonly PresetName[] = ['micro', 'quick', 'full'];

export interface PhaseSizes {
  /** Optimizer steps (0 = `epochs` decide). */
  maxSteps: number;
  epochs: number;
  batchSize: number;
  maxLength: number;
  /** Rows read from the training split (0 = all). */
  maxTrainRows: number;
  /** Rows read from dev and test (0 = all). */
  maxEvalRows: number;
  logEvery: number;
  /** Dev evaluation every N steps (0 = each epoch): the points of the learning curve. */
  evalEvery: number;
}

export interface BaseFromScratch {
  /** Encoder shape of the base model the sweep pretrains itself (micro preset, or no shipped model). */
  shape: { numLayers: number; hiddenSize: number; numHeads: number; intermediateSize: number } | null;
  preset: 'tiny' | 'mini';
  vocabSize: number;
  dataset: string;
  sizes: PhaseSizes;
  /** Peak learning rate (from-scratch MLM wants far more than fine-tuning's default 5e-5). */
  lr: number;
}

export interface Preset {
  name: PresetName;
  description: string;
  seeds: number[];
  backend: 'gpu' | 'cpu';
  finetune: PhaseSizes;
  pretrain: PhaseSizes;
  probe: PhaseSizes;
  /** A phase still running after this many seconds is killed and counts as a failure (a hung driver must not stall a sweep). */
  phaseTimeoutS: number;
  /** 'shipped': the committed base model (models/...); otherwise the sweep pretrains one first. */
  base: 'shipped' | BaseFromScratch;
  /** When the shipped base model is missing: pretrain this one first (said loudly, recorded in baseModel). */
  fallbackBase?: BaseFromScratch;
  /** The architecture of from-scratch pretraining (domain variant c) when the base is shipped. */
  scratchPreset: 'tiny' | 'mini';
}
