// The run configuration of `tunebench pretrain | finetune | evaluate | predict`: one JSON file
// per run, overridable from the command line, validated by ajv against the JSON Schemas below
// (unknown keys are errors, so a typo never silently falls back to a default). Defaults are
// filled in by ajv (useDefaults) and the resolved config is written into the run directory.

import { STRATEGY_NAMES } from '../train/strategy.js';
import { SCHEDULE_NAMES } from '../train/schedule.js';

export type Command = 'pretrain' | 'finetune' | 'evaluate' | 'predict';
export const COMMANDS: readonly Command[] = ['pretrain', 'finetune', 'evaluate', 'predict'];

export type TaskKind = 'mlm' | 'seq_cls' | 'token_cls' | 'embedding';

/** Masking unit of the MLM collator (config spelling; the collator says 'whole-word'). */
export type MaskingStrategy = 'random' | 'whole_word' | 'span' | 'entity' | 'mixture';
export const MASKING_STRATEGIES: readonly MaskingStrategy[] = ['random', 'whole_word', 'span', 'entity', 'mixture'];

/**
 * How pretraining / continued pretraining (task.kind mlm) masks its batches: which positions
 * (strategy) and how they are replaced. Defaults are Hugging Face's DataCollatorForLanguageModeling:
 * 15 % of the maskable tokens, of those 80 % [MASK], 10 % a random token, 10 % unchanged.
 */
export interface MaskingConfig {
  strategy: MaskingStrategy;
  /** Share of maskable tokens chosen (the masking budget). Default task.mlmProbability (0.15). */
  probability: number;
  /** Of the chosen: share replaced by [MASK]. */
  maskFraction: number;
  /** Of the chosen: share replaced by a random token (the rest stay unchanged). */
  randomFraction: number;
  /** span: geometric parameter of span lengths in words (SpanBERT 0.2). */
  spanP: number;
  /** span: longest span in words (SpanBERT 10). */
  spanMaxWords: number;
  /** Replacement decided per token (HF) or once per word / span ('unit', SpanBERT). */
  replaceBy: 'token' | 'unit';
  /** entity: the entity phrases, inline, or a UTF-8 file with one phrase per line; null = none. */
  gazetteer: string | string[] | null;
  /** mixture: one strategy per sequence, drawn by weight. */
  mixture: { strategy: Exclude<MaskingStrategy, 'mixture'>; weight: number }[];
  /**
   * Masking of the dev / test MLM evaluation: 'same' as training (Hugging Face's run_mlm and
   * run_mlm_wwm evaluate with the training collator) or 'random' token masking at the same
   * probability and fractions, so MLM accuracy is comparable across masking strategies.
   */
  evalStrategy: 'same' | 'random';
}

/** data.augment: EDA (eda.py) on the training rows; rates as eda.py's alpha_sr, alpha_ri, alpha_rs, p_rd. */
export interface AugmentConfig {
  /** New sentences per training row (eda.py's num_aug); the originals are kept. */
  copies: number;
  /** Share of words replaced by a WordNet synonym. */
  alphaSr: number;
  /** Share of words inserted (a synonym of a random word, at a random place). */
  alphaRi: number;
  /** Share of words swapped. */
  alphaRs: number;
  /** Probability of deleting each word. */
  pRd: number;
}

/** Fully resolved config of a training run (pretrain / finetune). */
export interface TrainRunConfig {
  /** Run directory (resolved config, log, metrics, checkpoint). */
  outputDir: string;
  model: {
    /** BERT miniature preset (ignored when `init` is given: the checkpoint's config is used). */
    preset: 'tiny' | 'mini';
    /** Explicit encoder shape instead of the preset (small experiments, tests). */
    shape: { numLayers: number; hiddenSize: number; numHeads: number; intermediateSize: number } | null;
    /** Checkpoint directory to start from (a base model); null = random init. */
    init: string | null;
    /**
     * Take only the architecture and vocabulary of `init`, not its weights: a random init
     * (seeds.init) with the base's vocabulary — the control a pretrained base must beat.
     */
    reinit: boolean;
    maxPositions: number;
    hiddenDropout: number;
    attentionDropout: number;
  };
  tokenizer: {
    /** vocab.txt; null = the init checkpoint's, or (pretrain) train one on the training corpus. */
    vocab: string | null;
    lowercase: boolean;
    /** WordPiece training when no vocab is given. */
    vocabSize: number;
    minFrequency: number;
    /** Vocabulary growth (tokenizer.vocab or extendCorpus extends the base checkpoint's): init of the new embedding rows. */
    growInit: 'mean' | 'mean-noise' | 'subtoken' | 'normal';
    /**
     * Extend the base checkpoint's vocabulary (model.init) with a WordPiece of extendSize tokens
     * trained on this dataset's training text (e.g. zh_pretrain), as `tunebench vocab extend`;
     * null = no extension.
     */
    extendCorpus: string | null;
    extendSize: number;
  };
  data: {
    /** A shipped dataset name (datasets/ registry), a dataset directory (datasets/src/dirdata.ts), or null to give files. */
    dataset: string | null;
    train: string | null;
    dev: string | null;
    test: string | null;
    maxLength: number;
    /** Cap on training rows (0 = all), for quick runs. */
    maxTrainRows: number;
    maxEvalRows: number;
    /** Mixed corpus (continued pretraining): general corpus (dataset name or JSONL file) and its share. */
    general: string | null;
    generalRatio: number;
    /** EDA copies of the training rows (seq_cls; train/augment.ts); null = none. */
    augment: AugmentConfig | null;
    /** Resampling of the training split around task.costlyClass (train/resample.ts). */
    resample: 'none' | 'oversample' | 'undersample';
    /** oversample: the costly class grows to ratio × the largest other class; undersample: every other class shrinks to count(costly) / ratio. */
    resampleRatio: number;
    /** After fine-tuning: SMOTE or Tomek-link cleaning on the pooled embeddings, then the classifier retrained on them (train/embed_resample.ts). */
    embedResample: 'none' | 'smote' | 'tomek';
    /** SMOTE: minority neighbours (imbalanced-learn's k_neighbors). */
    smoteK: number;
    /** Adam steps and learning rate of the classifier retrained on the resampled embeddings. */
    embedHeadSteps: number;
    embedHeadLr: number;
  };
  task: {
    kind: TaskKind;
    pooling: 'cls' | 'mean';
    /** Label names in index order; empty = sorted labels of the training data. */
    labels: string[];
    loss: 'ce' | 'weighted_ce' | 'focal';
    /** weighted_ce: one weight per label (in label order); empty = scikit-learn's "balanced" n / (k · count). */
    classWeights: number[];
    focalGamma: number;
    /** focal: α per class (in label order); empty = 1 for every class. */
    focalAlpha: number[];
    /** weighted_ce without classWeights: 'inverse' = scikit-learn's "balanced" n / (k · count), 'sqrt_inverse' = its square root. */
    classWeightScheme: 'inverse' | 'sqrt_inverse';
    /**
     * seq_cls: the label whose misses are costly (train/costly.ts). When set, the metrics add its
     * recall / precision / F1, PR-AUC, ROC-AUC, the confusion matrix and the expected cost per
     * example under costMatrix, and main_score becomes that expected cost (lower is better).
     */
    costlyClass: string | null;
    /** cost[i][j]: cost of predicting label j when the truth is label i (label order); empty = missing costlyClass costs 10, any other error 1. */
    costMatrix: number[][];
    /** Decision rule: argmax; 'threshold' on costlyClass's probability, chosen on dev; 'min_cost': Bayes decision under costMatrix. */
    decision: 'argmax' | 'threshold' | 'min_cost';
    /** threshold: the highest threshold reaching this recall of costlyClass on dev; null = the threshold of lowest dev cost. */
    targetRecall: number | null;
    /** Kept for existing configs: the same value as masking.probability (give either). */
    mlmProbability: number;
    /** token_cls: label every sub-token (true) or only the first (false, −100 for the rest). */
    labelAllTokens: boolean;
    /** token_cls: a linear-chain CRF over the classifier's logits (NLL loss, Viterbi decoding) instead of per-token softmax CE. */
    crf: boolean;
    /** CRF transition constraints: 'bio' forbids O → I-X, B-X → I-Y and a start on I-X; 'none' allows all. */
    crfConstraints: 'bio' | 'none';
    embeddingLoss: 'mnr' | 'cosine';
    normalize: boolean;
  };
  strategy: {
    name: (typeof STRATEGY_NAMES)[number];
    k?: number;
    embeddings: 'default' | 'frozen' | 'trained';
    lrDecay?: number;
    unfreezeEvery: number;
    unfreezeUnit: 'epoch' | 'step';
    /** Two-stage freezing: after this share of the run's optimizer steps every parameter trains (0 = never). */
    unfreezeAllAt: number;
  };
  masking: MaskingConfig;
  lora: { r: number; alpha: number; dropout: number; targets: string[] } | null;
  optimizer: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number; gradAccumSteps: number };
  schedule: { name: (typeof SCHEDULE_NAMES)[number]; warmupSteps: number; warmupRatio: number };
  training: {
    batchSize: number;
    epochs: number;
    /** Stop after this many optimizer steps (0 = epochs decide). */
    maxSteps: number;
    /** Read the loss back (and print progress) every N steps. */
    logEvery: number;
    /** Evaluate on dev every N steps (0 = at the end of each epoch). */
    evalEvery: number;
    /** Save the resumable checkpoint every N steps (0 = only at the end). */
    saveEvery: number;
    earlyStopping: { patience: number; metric: string; mode: 'max' | 'min'; minDelta: number } | null;
    /**
     * When the embeddings and lower layers are frozen (head_only, top_k, ...), keep each training
     * batch's composition fixed across epochs (only the batch order is reshuffled) so the frozen
     * prefix's output is computed once per batch and cached on the device.
     */
    cachePrefix: boolean;
  };
  ewc: { lambda: number; fisherBatches: number; data: string | null } | null;
  seeds: { init: number; data: number; dropout: number };
}

/** evaluate / predict. */
export interface InferRunConfig {
  outputDir: string;
  /** Checkpoint directory (model.safetensors + config.json + vocab.txt). */
  checkpoint: string;
  data: { dataset: string | null; split: 'train' | 'dev' | 'test'; file: string | null; maxLength: number | null; maxRows: number };
  batchSize: number;
  /** INT8 inference (model/int8.ts); evaluate also scores the fp32 model and reports the delta, size and latency. */
  int8: boolean;
}

const num = (extra: object = {}) => ({ type: 'number', ...extra });
const int = (extra: object = {}) => ({ type: 'integer', ...extra });
const str = (extra: object = {}) => ({ type: 'string', ...extra });
const nullableStr = (def: string | null = null) => ({ type: ['string', 'null'], default: def });
const obj = (properties: Record<string, object>, extra: object = {}) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  default: {},
  ...extra,
});

export const TRAIN_SCHEMA = {
  $id: 'tunebench/train-run',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: str(),
    outputDir: str({ minLength: 1 }),
    model: obj({
      preset: { enum: ['tiny', 'mini'], default: 'tiny' },
      shape: {
        type: ['object', 'null'],
        additionalProperties: false,
        default: null,
        required: ['numLayers', 'hiddenSize', 'numHeads', 'intermediateSize'],
        properties: {
          numLayers: int({ minimum: 1 }),
          hiddenSize: int({ minimum: 1 }),
          numHeads: int({ minimum: 1 }),
          intermediateSize: int({ minimum: 1 }),
        },
      },
      init: nullableStr(),
      reinit: { type: 'boolean', default: false },
      maxPositions: int({ minimum: 8, maximum: 512, default: 128 }),
      hiddenDropout: num({ minimum: 0, exclusiveMaximum: 1, default: 0.1 }),
      attentionDropout: num({ minimum: 0, exclusiveMaximum: 1, default: 0.1 }),
    }),
    tokenizer: obj({
      vocab: nullableStr(),
      lowercase: { type: 'boolean', default: true },
      vocabSize: int({ minimum: 16, default: 8192 }),
      minFrequency: int({ minimum: 1, default: 2 }),
      growInit: { enum: ['mean', 'mean-noise', 'subtoken', 'normal'], default: 'mean-noise' },
      extendCorpus: nullableStr(),
      extendSize: int({ minimum: 16, default: 4000 }),
    }),
    data: obj({
      dataset: nullableStr(),
      train: nullableStr(),
      dev: nullableStr(),
      test: nullableStr(),
      maxLength: int({ minimum: 4, maximum: 512, default: 128 }),
      maxTrainRows: int({ minimum: 0, default: 0 }),
      maxEvalRows: int({ minimum: 0, default: 0 }),
      general: nullableStr(),
      generalRatio: num({ minimum: 0, maximum: 1, default: 0 }),
      augment: {
        type: ['object', 'null'],
        additionalProperties: false,
        default: null,
        properties: {
          copies: int({ minimum: 1, maximum: 32, default: 4 }),
          alphaSr: num({ minimum: 0, maximum: 1, default: 0.1 }),
          alphaRi: num({ minimum: 0, maximum: 1, default: 0.1 }),
          alphaRs: num({ minimum: 0, maximum: 1, default: 0.1 }),
          pRd: num({ minimum: 0, maximum: 1, default: 0.1 }),
        },
      },
      resample: { enum: ['none', 'oversample', 'undersample'], default: 'none' },
      resampleRatio: num({ exclusiveMinimum: 0, maximum: 100, default: 1 }),
      embedResample: { enum: ['none', 'smote', 'tomek'], default: 'none' },
      smoteK: int({ minimum: 1, default: 5 }),
      embedHeadSteps: int({ minimum: 1, default: 300 }),
      embedHeadLr: num({ exclusiveMinimum: 0, default: 1e-2 }),
    }),
    task: obj({
      kind: { enum: ['mlm', 'seq_cls', 'token_cls', 'embedding'], default: 'seq_cls' },
      pooling: { enum: ['cls', 'mean'], default: 'cls' },
      labels: { type: 'array', items: str(), default: [] },
      loss: { enum: ['ce', 'weighted_ce', 'focal'], default: 'ce' },
      classWeights: { type: 'array', items: num({ minimum: 0 }), default: [] },
      focalGamma: num({ minimum: 0, default: 2 }),
      focalAlpha: { type: 'array', items: num({ minimum: 0 }), default: [] },
      classWeightScheme: { enum: ['inverse', 'sqrt_inverse'], default: 'inverse' },
      costlyClass: nullableStr(),
      costMatrix: { type: 'array', items: { type: 'array', items: num({ minimum: 0 }) }, default: [] },
      decision: { enum: ['argmax', 'threshold', 'min_cost'], default: 'argmax' },
      targetRecall: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1, default: null },
      mlmProbability: num({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.15 }),
      labelAllTokens: { type: 'boolean', default: false },
      crf: { type: 'boolean', default: false },
      crfConstraints: { enum: ['bio', 'none'], default: 'bio' },
      embeddingLoss: { enum: ['mnr', 'cosine'], default: 'mnr' },
      normalize: { type: 'boolean', default: true },
    }),
    strategy: obj({
      name: { enum: [...STRATEGY_NAMES], default: 'full' },
      k: int({ minimum: 0 }),
      embeddings: { enum: ['default', 'frozen', 'trained'], default: 'default' },
      lrDecay: num({ exclusiveMinimum: 0, maximum: 1 }),
      unfreezeEvery: int({ minimum: 1, default: 1 }),
      unfreezeUnit: { enum: ['epoch', 'step'], default: 'epoch' },
      unfreezeAllAt: num({ minimum: 0, maximum: 1, default: 0 }),
    }),
    masking: obj({
      strategy: { enum: [...MASKING_STRATEGIES], default: 'random' },
      // No default here: it falls back to task.mlmProbability (load.ts), which has 0.15.
      probability: num({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
      maskFraction: num({ minimum: 0, maximum: 1, default: 0.8 }),
      randomFraction: num({ minimum: 0, maximum: 1, default: 0.1 }),
      spanP: num({ exclusiveMinimum: 0, maximum: 1, default: 0.2 }),
      spanMaxWords: int({ minimum: 1, default: 10 }),
      replaceBy: { enum: ['token', 'unit'], default: 'token' },
      gazetteer: {
        anyOf: [{ type: 'null' }, str({ minLength: 1 }), { type: 'array', minItems: 1, items: str({ minLength: 1 }) }],
        default: null,
      },
      evalStrategy: { enum: ['same', 'random'], default: 'same' },
      mixture: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['strategy', 'weight'],
          properties: {
            strategy: { enum: MASKING_STRATEGIES.filter((n) => n !== 'mixture') },
            weight: num({ minimum: 0 }),
          },
        },
      },
    }),
    lora: {
      type: ['object', 'null'],
      additionalProperties: false,
      default: null,
      properties: {
        r: int({ minimum: 1, default: 8 }),
        alpha: num({ exclusiveMinimum: 0, default: 8 }),
        dropout: num({ minimum: 0, exclusiveMaximum: 1, default: 0 }),
        targets: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { enum: ['query', 'key', 'value', 'attention_output', 'ffn_in', 'ffn_out'] },
          default: ['query', 'value'],
        },
      },
    },
    optimizer: obj({
      lr: num({ minimum: 0, default: 5e-5 }),
      beta1: num({ minimum: 0, exclusiveMaximum: 1, default: 0.9 }),
      beta2: num({ minimum: 0, exclusiveMaximum: 1, default: 0.999 }),
      eps: num({ exclusiveMinimum: 0, default: 1e-8 }),
      weightDecay: num({ minimum: 0, default: 0.01 }),
      maxGradNorm: num({ minimum: 0, default: 1.0 }),
      gradAccumSteps: int({ minimum: 1, default: 1 }),
    }),
    schedule: obj({
      name: { enum: [...SCHEDULE_NAMES], default: 'linear' },
      warmupSteps: int({ minimum: 0, default: 0 }),
      warmupRatio: num({ minimum: 0, maximum: 1, default: 0 }),
    }),
    training: obj({
      batchSize: int({ minimum: 1, default: 32 }),
      epochs: num({ exclusiveMinimum: 0, default: 3 }),
      maxSteps: int({ minimum: 0, default: 0 }),
      logEvery: int({ minimum: 1, default: 10 }),
      evalEvery: int({ minimum: 0, default: 0 }),
      saveEvery: int({ minimum: 0, default: 0 }),
      cachePrefix: { type: 'boolean', default: true },
      earlyStopping: {
        type: ['object', 'null'],
        additionalProperties: false,
        default: null,
        properties: {
          patience: int({ minimum: 1, default: 3 }),
          metric: str({ default: 'accuracy' }),
          mode: { enum: ['max', 'min'], default: 'max' },
          minDelta: num({ minimum: 0, default: 0 }),
        },
      },
    }),
    ewc: {
      type: ['object', 'null'],
      additionalProperties: false,
      default: null,
      properties: {
        lambda: num({ minimum: 0, default: 1000 }),
        fisherBatches: int({ minimum: 1, default: 20 }),
        data: nullableStr(),
      },
    },
    seeds: obj({
      init: int({ minimum: 0, default: 42 }),
      data: int({ minimum: 0, default: 42 }),
      dropout: int({ minimum: 0, default: 42 }),
    }),
  },
  required: ['outputDir'],
} as const;

export const INFER_SCHEMA = {
  $id: 'tunebench/infer-run',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: str(),
    outputDir: str({ minLength: 1 }),
    checkpoint: str({ minLength: 1 }),
    data: obj({
      dataset: nullableStr(),
      split: { enum: ['train', 'dev', 'test'], default: 'test' },
      file: nullableStr(),
      // null: 128 or the model's max positions, whichever is smaller; a larger value than the
      // model's positions is refused (never clamped while the config records it).
      maxLength: { type: ['integer', 'null'], minimum: 4, maximum: 512, default: null },
      maxRows: int({ minimum: 0, default: 0 }),
    }),
    batchSize: int({ minimum: 1, default: 64 }),
    int8: { type: 'boolean', default: false },
  },
  required: ['outputDir', 'checkpoint'],
} as const;
