// The config of one edge phase (`tunebench edge --config <file>`), written by the sweep planner
// (suites/edge.ts via plan.ts) or by hand, and validated here (ajv: unknown keys and bad values are
// errors that name the field). `mode` says what the phase trains (phase.ts):
//
//   single   one model per task, each trained alone for its share of the step budget (the share
//            the multi-task sampler would give it), so the three together see the same batches
//            and tokens as one multi-task run
//   multi    hard parameter sharing: one encoder, one head per task, one task sampled per step
//            (`multi.sampling`), its loss times its weight
//   distill  a teacher (model.teacher: a larger shape, trained multi-task first unless it is
//            given as a checkpoint) then the student trained multi-task with, on its classifier
//            heads, ceWeight · CE(labels) + kdWeight · τ²·KL(teacher ‖ student) (distill_kl), and
//            optionally (distill.hiddenMse) weight · MSE(W·h_student, h_teacher) on the last hidden
//            states of every task's batches, through a learned projection W (masked_mse)
//
// The `multi` section is the multi-task config: the tasks (name, kind, dataset, loss weight) and
// the sampling rule: 'proportional' (p ∝ training rows), 'temperature' (p ∝ rows^(1/T), T =
// multi.samplingTemperature: T = 1 is proportional, large T tends to uniform) or 'uniform'.
//
// `variants` are the deployment variants scored on the trained model(s) (EDGE_VARIANTS, deploy.ts;
// default all): fp32 and int8 on WebGPU, onnx and onnx_int8 on ONNX Runtime CPU with `ortThreads`
// intra-op threads (default 1).
import { Ajv } from 'ajv';

export type EdgeMode = 'single' | 'multi' | 'distill';
export type EdgeTaskKind = 'seq_cls' | 'token_cls' | 'embedding';

export interface EdgeTask {
  /** Short name used in metric keys (topic → topic_accuracy). [a-z0-9_]. */
  name: string;
  kind: EdgeTaskKind;
  /** seq_cls / token_cls: a shipped dataset; embedding: 'wn_gloss_pairs' (headwords ↔ gloss of wn_topic's train split, as tiny-en-st). */
  dataset: string;
  /** Loss weight of the task's steps. */
  weight: number;
}

export interface Shape { numLayers: number; hiddenSize: number; numHeads: number; intermediateSize: number }

export interface ModelSpec {
  /** A checkpoint directory: its vocabulary always, its weights unless `fromScratch`. */
  init: string;
  /** Encoder shape; null = the checkpoint's. A shape other than the checkpoint's needs fromScratch. */
  shape: Shape | null;
  /** Random initial weights (seeded) with the checkpoint's vocabulary. */
  fromScratch: boolean;
}

export interface TrainingSpec {
  /** Optimizer steps of the multi-task run (single: split among the tasks by the sampling shares). */
  steps: number;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
}

export interface EdgePhaseConfig {
  outputDir: string;
  mode: EdgeMode;
  model: ModelSpec;
  multi: {
    tasks: EdgeTask[];
    sampling: 'proportional' | 'temperature' | 'uniform';
    samplingTemperature: number;
  };
  training: TrainingSpec;
  data: { maxLength: number; maxTrainRows: number; maxEvalRows: number; seed: number };
  distill: {
    teacher: { model: ModelSpec; training: TrainingSpec };
    temperature: number;
    kdWeight: number;
    ceWeight: number;
    /** Hidden-state MSE: ‖W·h_student − h_teacher‖² over real tokens, W (H_teacher × H_student) learned; null = off. */
    hiddenMse: { weight: number } | null;
  } | null;
  /** Deployment variants scored on the trained model(s), each a row of the suite (deploy.ts). */
  variants: EdgeVariant[];
  /** ONNX Runtime's intra-op threads for the ONNX variants (0 = its own choice, every core). */
  ortThreads: number;
  /** Batches per task timed for ms per example (after one warm-up batch). */
  latencyBatches: number;
}

const SHAPE = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['numLayers', 'hiddenSize', 'numHeads', 'intermediateSize'],
  properties: {
    numLayers: { type: 'integer', minimum: 1, maximum: 48 },
    hiddenSize: { type: 'integer', minimum: 2 },
    numHeads: { type: 'integer', minimum: 1 },
    intermediateSize: { type: 'integer', minimum: 1 },
  },
} as const;

const MODEL = {
  type: 'object',
  additionalProperties: false,
  required: ['init'],
  properties: {
    init: { type: 'string', minLength: 1 },
    shape: { ...SHAPE, default: null },
    fromScratch: { type: 'boolean', default: false },
  },
} as const;

const TRAINING = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    steps: { type: 'integer', minimum: 1, default: 100 },
    batchSize: { type: 'integer', minimum: 2, default: 16 },
    lr: { type: 'number', exclusiveMinimum: 0, default: 3e-4 },
    warmupRatio: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
    weightDecay: { type: 'number', minimum: 0, default: 0.01 },
  },
} as const;

/**
 * The deployment variants (deploy.ts): fp32 and INT8 on WebGPU, fp32 and INT8 (MatMulInteger)
 * ONNX on ONNX Runtime CPU. One phase scores all it is given on the same trained weights.
 */
export const EDGE_VARIANTS = ['fp32', 'int8', 'onnx', 'onnx_int8'] as const;
export type EdgeVariant = (typeof EDGE_VARIANTS)[number];

/** What runs each variant (metrics.json `runtimes`, the report's runtime column). */
export const EDGE_RUNTIMES: Record<EdgeVariant, string> = {
  fp32: 'WebGPU',
  int8: 'WebGPU INT8',
  onnx: 'ONNX Runtime CPU',
  onnx_int8: 'ONNX Runtime CPU INT8',
};

/** The sentence-embedding task's data: WordNet headwords ↔ gloss pairs of wn_topic's train split (tasks.ts). */
export const GLOSS_PAIRS = 'wn_gloss_pairs';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['outputDir', 'mode', 'model', 'multi'],
  properties: {
    $schema: { type: 'string' },
    outputDir: { type: 'string', minLength: 1 },
    mode: { enum: ['single', 'multi', 'distill'] },
    model: MODEL,
    multi: {
      type: 'object',
      additionalProperties: false,
      required: ['tasks'],
      properties: {
        tasks: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'kind', 'dataset'],
            properties: {
              name: { type: 'string', pattern: '^[a-z0-9_]+$' },
              kind: { enum: ['seq_cls', 'token_cls', 'embedding'] },
              dataset: { type: 'string', minLength: 1 },
              weight: { type: 'number', exclusiveMinimum: 0, default: 1 },
            },
          },
        },
        sampling: { enum: ['proportional', 'temperature', 'uniform'], default: 'temperature' },
        samplingTemperature: { type: 'number', minimum: 1, default: 2 },
      },
    },
    training: TRAINING,
    data: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxLength: { type: 'integer', minimum: 4, maximum: 512, default: 64 },
        maxTrainRows: { type: 'integer', minimum: 0, default: 0 },
        maxEvalRows: { type: 'integer', minimum: 0, default: 0 },
        seed: { type: 'integer', minimum: 0, default: 0 },
      },
    },
    distill: {
      type: ['object', 'null'],
      additionalProperties: false,
      default: null,
      required: ['teacher'],
      properties: {
        teacher: {
          type: 'object',
          additionalProperties: false,
          required: ['model'],
          properties: { model: MODEL, training: TRAINING },
        },
        temperature: { type: 'number', exclusiveMinimum: 0, default: 2 },
        kdWeight: { type: 'number', minimum: 0, default: 0.5 },
        ceWeight: { type: 'number', minimum: 0, default: 0.5 },
        hiddenMse: {
          type: ['object', 'null'],
          additionalProperties: false,
          default: null,
          required: ['weight'],
          properties: { weight: { type: 'number', exclusiveMinimum: 0 } },
        },
      },
    },
    variants: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...EDGE_VARIANTS] }, default: [...EDGE_VARIANTS] },
    // 1 by default: an embedded CPU is small, and one thread does not compete with the WebGPU
    // (lavapipe) rows for the host's cores
    ortThreads: { type: 'integer', minimum: 0, maximum: 256, default: 1 },
    latencyBatches: { type: 'integer', minimum: 1, default: 3 },
  },
} as const;

const ajv = new Ajv({ useDefaults: true, allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(SCHEMA);

/** A validated copy with defaults filled in; errors name `source` and the field. */
export function checkEdgeConfig(raw: unknown, source = 'edge config'): EdgePhaseConfig {
  const c = structuredClone(raw);
  if (!validate(c)) {
    const msgs = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as string[]).join(', ')})` : ''}${e.params && 'additionalProperty' in e.params ? `: ${e.params.additionalProperty}` : ''}`);
    throw new Error(`${source}: ${msgs.join('; ')}`);
  }
  const f = c as unknown as EdgePhaseConfig;
  const names = new Set<string>();
  f.multi.tasks.forEach((t, i) => {
    if (names.has(t.name)) throw new Error(`${source}: /multi/tasks/${i}/name '${t.name}' is used twice (task names must be unique)`);
    names.add(t.name);
  });
  const emb = f.multi.tasks.filter((t) => t.kind === 'embedding').length;
  if (emb > 1) throw new Error(`${source}: /multi/tasks has ${emb} embedding tasks; the model has one embedding head (at most one)`);
  if (f.mode === 'distill' && !f.distill) throw new Error(`${source}: mode distill needs a "distill" section (teacher, temperature, kdWeight, ceWeight)`);
  if (f.mode !== 'distill' && f.distill) throw new Error(`${source}: a "distill" section is only read in mode distill (mode is ${f.mode})`);
  if (f.distill && f.distill.kdWeight + f.distill.ceWeight <= 0) throw new Error(`${source}: /distill kdWeight and ceWeight are both 0 (nothing to learn from)`);
  for (const [where, m] of [['/model', f.model], ...(f.distill ? [['/distill/teacher/model', f.distill.teacher.model] as const] : [])] as const) {
    if (m.shape && m.shape.hiddenSize % m.shape.numHeads !== 0) {
      throw new Error(`${source}: ${where}/shape hiddenSize ${m.shape.hiddenSize} is not divisible by numHeads ${m.shape.numHeads}`);
    }
  }
  return f;
}

/**
 * The share of steps each task gets: proportional to its training rows n, to n^(1/T) with
 * temperature sampling (Arivazhagan et al. 2019; T = 1 proportional, T → ∞ uniform), or uniform.
 */
export function samplingShares(rows: readonly number[], sampling: EdgePhaseConfig['multi']['sampling'], temperature: number): number[] {
  if (!rows.length) throw new Error('samplingShares: no tasks');
  rows.forEach((n, i) => {
    if (!(n > 0)) throw new Error(`samplingShares: task ${i} has ${n} training rows (needs at least 1)`);
  });
  const w = rows.map((n) => (sampling === 'uniform' ? 1 : sampling === 'proportional' ? n : n ** (1 / temperature)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}
