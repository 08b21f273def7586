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
  /** Overrides of the scored fine-tuning phase. */
  finetune?: Overrides;
  /** Run the forgetting probe after the pretraining phase (or from the base model). */
  probe?: boolean;
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
  /** Per preset: a subset of variants / datasets (default: all), and sizes of the scored phase that differ from the preset's (e.g. more eval rows for a rare class). */
  presets?: Partial<Record<PresetName, { variants?: string[]; datasets?: string[]; finetune?: Partial<PhaseSizes> }>>;
  /** A curve plot of main_score against this numeric param (sensitivity sweeps). */
  curveParam?: string;
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
