// The phase config of a few-shot variant (suites/fewshot.ts) for one (dataset, seed) and preset:
// sizes from the preset's fine-tuning sizes (batch, length, test rows, steps), the labelled-sample
// seed = the run's seed (the same sample for every strategy of the seed), and the variant's
// overrides. model.init is the run's base ('$base', filled in by the runner) or the sentence-encoder
// base directory.
import type { FewshotSpec, Preset } from '../suites/types.js';
import { setDotted } from '../set_dotted.js';

/** SetFit stage-1 size per preset: pair-generation rounds (SetFit's default is 20) and a step cap. */
const SETFIT_SIZES: Record<Preset['name'], { iterations: number; maxSteps: number }> = {
  micro: { iterations: 1, maxSteps: 3 },
  quick: { iterations: 5, maxSteps: 200 },
  full: { iterations: 20, maxSteps: 0 },
};

/**
 * Few-shot fine-tuning (full, full_eda, head_only, self_training_full's rounds) trains a fixed
 * number of optimizer steps per preset whatever the sample size (null: the preset's own sizes).
 * The full preset's "3 epochs" would mean 3 steps for 32 examples at batch 32 — measured:
 * full.k8 on wn_topic scored 0.28 after its 9 steps against 0.50 after the quick preset's 100.
 * At 200 steps of 32 every example of the largest sample (64 per class, wn_topic) is seen ~10
 * times, of the smallest (8 per class, 4 classes) ~200 times.
 */
export const FEWSHOT_FINETUNE_STEPS: Record<Preset['name'], number | null> = { micro: null, quick: null, full: 200 };

export function fewshotPhaseConfig(
  spec: FewshotSpec, dataset: string, labels: string[], seed: number, preset: Preset, init: { base: string; st: string },
): Record<string, unknown> {
  const s = preset.finetune;
  const cfg: Record<string, unknown> = {
    method: spec.method,
    model: { init: spec.encoder === 'st' ? init.st : init.base },
    data: { dataset, labels, shots: spec.shots, seed, maxLength: s.maxLength, maxEvalRows: s.maxEvalRows, poolRows: s.maxTrainRows },
    batchSize: s.batchSize,
    head: { C: 1 },
    setfit: spec.method === 'setfit' || (spec.method === 'self_training' && spec.teacher !== 'full') ? { ...SETFIT_SIZES[preset.name], loss: 'cosine', epochs: 1, lr: 2e-5 } : null,
    selfTraining: null,
    trainer: spec.method === 'finetune' || (spec.method === 'self_training' && spec.teacher === 'full')
      ? {
        training: { maxSteps: FEWSHOT_FINETUNE_STEPS[preset.name] ?? s.maxSteps, epochs: s.epochs, batchSize: s.batchSize, logEvery: s.logEvery, evalEvery: s.evalEvery },
        data: { maxEvalRows: s.maxEvalRows },
        seeds: { init: seed, data: seed, dropout: seed },
      }
      : null,
  };
  for (const [k, v] of Object.entries(spec.set ?? {})) setDotted(cfg, k, v);
  return cfg;
}
