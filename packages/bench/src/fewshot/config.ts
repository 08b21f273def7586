// The config of one few-shot phase (`tunebench fewshot --config <file>`), written by the sweep
// planner (plan.ts) and validated here (ajv; unknown keys are errors). `method` says what the
// phase does with the labelled sample (see phase.ts):
//   frozen_lr      embeddings of the frozen encoder → logistic-regression head
//   setfit         contrastive stage on pairs of the sample (setfit.*) → logistic-regression head
//   finetune       the trainer's classification fine-tune on the sample (trainer.*: strategy,
//                  lr, ...), optionally on EDA copies of it (data.augment)
//   self_training  a teacher, then rounds of pseudo-labelling the unlabelled pool above a
//                  confidence threshold, optionally only the most confident per class
//                  (topPerClass; pseudo_labels.ts): with setfit (or frozen_lr when setfit is null) the head is
//                  refitted; with a "trainer" section (full fine-tuning) a fresh model is
//                  fine-tuned from the base on the sample + pseudo-labels each round
import { Ajv } from 'ajv';

export type FewshotMethod = 'frozen_lr' | 'setfit' | 'finetune' | 'self_training';

export interface AugmentConfig {
  /** EDA copies per labelled example (eda.py's num_aug). */
  copies: number;
  alphaSr: number;
  alphaRi: number;
  alphaRs: number;
  pRd: number;
}

export interface SetFitConfig {
  /** Pair-generation rounds (SetFit's num_iterations). */
  iterations: number;
  loss: 'cosine' | 'mnr';
  epochs: number;
  /** Cap on optimizer steps (0 = epochs decide). */
  maxSteps: number;
  lr: number;
}

export interface FewshotPhaseConfig {
  outputDir: string;
  method: FewshotMethod;
  /** Encoder / base checkpoint directory. */
  model: { init: string };
  data: {
    dataset: string;
    labels: string[];
    shots: number;
    /** Seed of the labelled sample (the run's seed: the same sample for every strategy). */
    seed: number;
    maxLength: number;
    /** Test rows (0 = all). */
    maxEvalRows: number;
    /** Unlabelled pool rows for self-training (0 = the whole rest of the train split). */
    poolRows: number;
    augment: AugmentConfig | null;
  };
  /** Sentences per embedding forward, pairs per contrastive step. */
  batchSize: number;
  head: { C: number };
  setfit: SetFitConfig | null;
  /** Rounds of pseudo-labelling: rows whose top probability ≥ threshold, at most topPerClass per predicted class (0 = no cap): pseudo_labels.ts. */
  selfTraining: { rounds: number; threshold: number; topPerClass: number } | null;
  /** finetune, self_training with a fine-tuned teacher: the trainer's run config (without outputDir, data.train, model.init). */
  trainer: Record<string, unknown> | null;
}

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['outputDir', 'method', 'model', 'data'],
  properties: {
    $schema: { type: 'string' },
    outputDir: { type: 'string', minLength: 1 },
    method: { enum: ['frozen_lr', 'setfit', 'finetune', 'self_training'] },
    model: { type: 'object', additionalProperties: false, required: ['init'], properties: { init: { type: 'string', minLength: 1 } } },
    data: {
      type: 'object',
      additionalProperties: false,
      required: ['dataset', 'labels', 'shots', 'seed'],
      properties: {
        dataset: { type: 'string', minLength: 1 },
        labels: { type: 'array', minItems: 2, items: { type: 'string' } },
        shots: { type: 'integer', minimum: 2 },
        seed: { type: 'integer', minimum: 0 },
        maxLength: { type: 'integer', minimum: 4, maximum: 512, default: 64 },
        maxEvalRows: { type: 'integer', minimum: 0, default: 0 },
        poolRows: { type: 'integer', minimum: 0, default: 0 },
        augment: {
          type: ['object', 'null'],
          additionalProperties: false,
          default: null,
          properties: {
            copies: { type: 'integer', minimum: 1, default: 4 },
            alphaSr: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
            alphaRi: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
            alphaRs: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
            pRd: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
          },
        },
      },
    },
    batchSize: { type: 'integer', minimum: 2, default: 16 },
    head: { type: 'object', additionalProperties: false, default: {}, properties: { C: { type: 'number', exclusiveMinimum: 0, default: 1 } } },
    setfit: {
      type: ['object', 'null'],
      additionalProperties: false,
      default: null,
      properties: {
        iterations: { type: 'integer', minimum: 1, default: 20 },
        loss: { enum: ['cosine', 'mnr'], default: 'cosine' },
        epochs: { type: 'number', exclusiveMinimum: 0, default: 1 },
        maxSteps: { type: 'integer', minimum: 0, default: 0 },
        lr: { type: 'number', exclusiveMinimum: 0, default: 2e-5 },
      },
    },
    selfTraining: {
      type: ['object', 'null'],
      additionalProperties: false,
      default: null,
      properties: {
        rounds: { type: 'integer', minimum: 1, maximum: 3, default: 2 },
        threshold: { type: 'number', minimum: 0, maximum: 1, default: 0.9 },
        topPerClass: { type: 'integer', minimum: 0, default: 0 },
      },
    },
    trainer: { type: ['object', 'null'], default: null },
  },
} as const;

const ajv = new Ajv({ useDefaults: true, allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(SCHEMA);

/** A validated copy with defaults filled in; errors name `source` and the field. */
export function checkFewshotConfig(raw: unknown, source = 'few-shot config'): FewshotPhaseConfig {
  const c = structuredClone(raw);
  if (!validate(c)) {
    const msgs = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as string[]).join(', ')})` : ''}${e.params && 'additionalProperty' in e.params ? `: ${e.params.additionalProperty}` : ''}`);
    throw new Error(`${source}: ${msgs.join('; ')}`);
  }
  const f = c as unknown as FewshotPhaseConfig;
  if (f.method === 'setfit' && !f.setfit) throw new Error(`${source}: method setfit needs a "setfit" section`);
  if (f.method === 'finetune' && !f.trainer) throw new Error(`${source}: method finetune needs a "trainer" section (the trainer's run config)`);
  if (f.method === 'self_training' && !f.selfTraining) throw new Error(`${source}: method self_training needs a "selfTraining" section`);
  if (f.method === 'self_training' && f.trainer && f.setfit) throw new Error(`${source}: self_training has one teacher: a "trainer" section (fine-tuning) or a "setfit" section, not both`);
  const fineTunes = f.method === 'finetune' || (f.method === 'self_training' && !!f.trainer);
  if (f.data.augment && !fineTunes) throw new Error(`${source}: data.augment applies to fine-tuning (method finetune, or self_training with a trainer section) only`);
  if (f.trainer && !fineTunes) throw new Error(`${source}: a "trainer" section is used by method finetune and self_training only`);
  return f;
}
