// Presets: how big each run is. `micro` exists for the end-to-end test (a few steps on the float64
// CPU reference model, a tiny base model pretrained by the sweep itself); `quick` is the main job
// (`npm start`: minutes per suite on the shipped base model); `full` is the leaderboard to cite
// (whole training splits, several epochs, 3 seeds).
import type { PhaseSizes, Preset, PresetName } from './types.js';

const sizes = (s: Partial<PhaseSizes>): PhaseSizes => ({
  maxSteps: 0, epochs: 1, batchSize: 16, maxLength: 64, maxTrainRows: 0, maxEvalRows: 0, logEvery: 5, evalEvery: 0, ...s,
});

const micro = sizes({ maxSteps: 3, batchSize: 8, maxLength: 24, maxTrainRows: 48, maxEvalRows: 24, logEvery: 1, evalEvery: 2 });

export const PRESETS: Record<PresetName, Preset> = {
  micro: {
    name: 'micro',
    description: 'a few steps per run on the CPU reference model and a 2-layer, 32-wide base model pretrained by the sweep (tests)',
    seeds: [0, 1],
    backend: 'cpu',
    phaseTimeoutS: 600,
    finetune: micro,
    pretrain: micro,
    probe: micro,
    base: {
      shape: { numLayers: 2, hiddenSize: 32, numHeads: 2, intermediateSize: 64 },
      preset: 'tiny',
      vocabSize: 400,
      dataset: 'pretrain_en',
      lr: 1e-3,
      sizes: sizes({ maxSteps: 4, batchSize: 8, maxLength: 24, maxTrainRows: 200, maxEvalRows: 24, logEvery: 2 }),
    },
    scratchPreset: 'tiny',
  },
  quick: {
    name: 'quick',
    description: 'one seed, 100-step fine-tunes and 40-step continued pretraining (batches of 16) from the shipped base model, dev/test capped at 300 rows; a subset of the variants',
    seeds: [0],
    backend: 'gpu',
    phaseTimeoutS: 3600,
    finetune: sizes({ maxSteps: 100, batchSize: 16, maxLength: 64, maxTrainRows: 3000, maxEvalRows: 300, logEvery: 10, evalEvery: 25 }),
    pretrain: sizes({ maxSteps: 40, batchSize: 16, maxLength: 64, maxTrainRows: 3000, maxEvalRows: 200, logEvery: 5, evalEvery: 0 }),
    probe: sizes({ maxSteps: 30, batchSize: 16, maxLength: 64, maxTrainRows: 3000, maxEvalRows: 300, logEvery: 10, evalEvery: 0 }),
    base: 'shipped',
    fallbackBase: {
      shape: null,
      preset: 'tiny',
      vocabSize: 8192,
      dataset: 'pretrain_en',
      lr: 1e-3,
      sizes: sizes({ maxSteps: 300, batchSize: 32, maxLength: 64, maxEvalRows: 200, logEvery: 20 }),
    },
    scratchPreset: 'tiny',
  },
  full: {
    name: 'full',
    description: 'whole training splits, 3 epochs of fine-tuning, 3 seeds, full dev/test sets',
    seeds: [0, 1, 2],
    backend: 'gpu',
    phaseTimeoutS: 6 * 3600,
    finetune: sizes({ epochs: 3, batchSize: 32, maxLength: 128, logEvery: 20, evalEvery: 200 }),
    pretrain: sizes({ epochs: 3, batchSize: 32, maxLength: 128, logEvery: 20, evalEvery: 200 }),
    probe: sizes({ epochs: 1, batchSize: 32, maxLength: 128, logEvery: 50, evalEvery: 0 }),
    base: 'shipped',
    scratchPreset: 'tiny',
  },
};

export function presetByName(name: string): Preset {
  const p = (PRESETS as Record<string, Preset | undefined>)[name];
  if (!p) throw new Error(`unknown preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  return p;
}
