// The phase config of an edge variant (suites/edge.ts) for one seed and preset. Sizes come from
// the preset (EDGE_SIZES: steps, batch, rows, the teacher's shape and steps, the small student's
// shape), the model init is the run's base ('$base', filled in by the runner, also for the teacher
// when it trains from the base's vocabulary), and every deployment variant is scored in the one
// phase (config.variants), so the rows `<model>.fp32`, `<model>.int8`, … of one model share one
// trained phase (same config → the phase cache runs it once).
import type { EdgeSpec, Preset } from '../suites/types.js';
import { EDGE_VARIANTS, GLOSS_PAIRS, type Shape } from './config.js';
import { setDotted } from '../set_dotted.js';

export interface EdgeSizes {
  steps: number;
  batchSize: number;
  maxLength: number;
  maxTrainRows: number;
  maxEvalRows: number;
  latencyBatches: number;
  /** The teacher: its shape (trained from random weights with the base's vocabulary) and steps. */
  teacher: { shape: Shape; steps: number; lr: number };
  /** The 'small' student shape (random weights, the base's vocabulary). */
  small: Shape;
}

/** The `mini` miniature (Turc et al.): the teacher of quick and full. */
const MINI: Shape = { numLayers: 4, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 };
const SMALL: Shape = { numLayers: 2, hiddenSize: 64, numHeads: 2, intermediateSize: 256 };

export const EDGE_SIZES: Record<Preset['name'], EdgeSizes> = {
  // tests: a few steps, a tiny teacher and a tinier student
  micro: {
    steps: 6, batchSize: 8, maxLength: 24, maxTrainRows: 48, maxEvalRows: 16, latencyBatches: 1,
    teacher: { shape: { numLayers: 2, hiddenSize: 48, numHeads: 2, intermediateSize: 96 }, steps: 6, lr: 1e-3 },
    small: { numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 },
  },
  quick: { steps: 200, batchSize: 16, maxLength: 64, maxTrainRows: 3000, maxEvalRows: 300, latencyBatches: 5, teacher: { shape: MINI, steps: 300, lr: 5e-4 }, small: SMALL },
  full: { steps: 3000, batchSize: 32, maxLength: 128, maxTrainRows: 0, maxEvalRows: 0, latencyBatches: 20, teacher: { shape: MINI, steps: 6000, lr: 3e-4 }, small: SMALL },
};

export const EDGE_TASKS = [
  { name: 'topic', kind: 'seq_cls', dataset: 'wn_topic', weight: 1 },
  { name: 'ner', kind: 'token_cls', dataset: 'ner_en', weight: 1 },
  { name: 'search', kind: 'embedding', dataset: GLOSS_PAIRS, weight: 1 },
] as const;

const LR = 3e-4;
/** From-scratch students and teachers want a larger learning rate than fine-tuning. */
const SCRATCH_LR = 1e-3;

export function edgePhaseConfig(spec: EdgeSpec, seed: number, preset: Preset, init: string): Record<string, unknown> {
  const s = EDGE_SIZES[preset.name];
  const small = spec.student === 'small';
  const training = { steps: s.steps, batchSize: s.batchSize, lr: small ? SCRATCH_LR : LR, warmupRatio: 0.1, weightDecay: 0.01 };
  const cfg: Record<string, unknown> = {
    mode: spec.mode,
    model: { init, shape: small ? s.small : null, fromScratch: small },
    multi: { tasks: EDGE_TASKS.map((t) => ({ ...t })), sampling: 'temperature', samplingTemperature: 2 },
    training,
    data: { maxLength: s.maxLength, maxTrainRows: s.maxTrainRows, maxEvalRows: s.maxEvalRows, seed },
    distill: spec.mode === 'distill'
      ? {
        teacher: { model: { init, shape: s.teacher.shape, fromScratch: true }, training: { ...training, steps: s.teacher.steps, lr: s.teacher.lr } },
        temperature: 2, kdWeight: 0.5, ceWeight: 0.5, hiddenMse: spec.hiddenMse ? { weight: 1 } : null,
      }
      : null,
    variants: [...EDGE_VARIANTS],
    latencyBatches: s.latencyBatches,
  };
  for (const [k, v] of Object.entries(spec.set ?? {})) setDotted(cfg, k, v);
  return cfg;
}
