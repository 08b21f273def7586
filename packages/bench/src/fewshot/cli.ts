// `tunebench fewshot --config <file> [--backend gpu|cpu]`: one few-shot phase (phase.ts), the
// child-process command the sweep runner starts for the fewshot suite's phases.
import { Command, Option } from 'commander';
import { closeBackends } from '@tunebench/trainer';
import { runFewshotPhase } from './phase.js';
import { makeSentenceEncoder } from './make_st.js';
import { join } from 'node:path';
import { repoRoot } from '../plan.js';
import { readPhaseConfigFile } from '../phase_dir.js';

export function fewshotCommand(): Command {
  return new Command('fewshot')
    .description('one few-shot phase: frozen embeddings / SetFit + logistic regression, few-shot fine-tuning, self-training (config: packages/bench/src/fewshot/config.ts)')
    .requiredOption('-c, --config <file>', 'JSON phase config')
    .addOption(new Option('--backend <name>', 'gpu or cpu').choices(['gpu', 'cpu']).default('gpu'))
    .action(async (f: { config: string; backend: 'gpu' | 'cpu' }) => {
      const raw = readPhaseConfigFile(f.config);
      try {
        await runFewshotPhase(raw, f.backend, { source: f.config });
      } finally {
        await closeBackends();
      }
    });
}

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} ${v}: expected a number`);
  return n;
};

/** `tunebench make-st`: the sentence-encoder base models/tiny-en-st (make_st.ts). */
export function makeStCommand(): Command {
  return new Command('make-st')
    .description('make the sentence-encoder base models/tiny-en-st: MNR on WordNet headwords ↔ gloss pairs mined from wn_topic train, with a retrieval check vs the raw base')
    .option('--base <dir>', 'base encoder', join(repoRoot, 'models', 'tiny-en-base'))
    .option('--out <dir>', 'output checkpoint directory', join(repoRoot, 'models', 'tiny-en-st'))
    .option('--steps <n>', 'optimizer steps', num('--steps'), 1000)
    .option('--batch-size <n>', 'pairs per batch (in-batch negatives)', num('--batch-size'), 32)
    .option('--lr <x>', 'peak learning rate', num('--lr'), 2e-4)
    .option('--max-length <n>', 'tokens per sentence', num('--max-length'), 32)
    .addOption(new Option('--backend <name>', 'gpu or cpu').choices(['gpu', 'cpu']).default('gpu'))
    .action(async (f: { base: string; out: string; steps: number; batchSize: number; lr: number; maxLength: number; backend: 'gpu' | 'cpu' }) => {
      try {
        await makeSentenceEncoder({ base: f.base, out: f.out, backend: f.backend, steps: f.steps, batchSize: f.batchSize, lr: f.lr, maxLength: f.maxLength });
      } finally {
        await closeBackends();
      }
    });
}
