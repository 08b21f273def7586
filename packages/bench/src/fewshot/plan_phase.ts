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
        training: { maxSteps: s.maxSteps, epochs: s.epochs, batchSize: s.batchSize, logEvery: s.logEvery, evalEvery: s.evalEvery },
        data: { maxEvalRows: s.maxEvalRows },
        seeds: { init: seed, data: seed, dropout: seed },
      }
      : null,
  };
  for (const [k, v] of Object.entries(spec.set ?? {})) setDotted(cfg, k, v);
  return cfg;
}
