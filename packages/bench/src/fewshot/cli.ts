// `tunebench fewshot --config <file> [--backend gpu|cpu]`: one few-shot phase (phase.ts), the
// child-process command the sweep runner starts for the fewshot suite's phases.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { closeBackends } from '@tunebench/trainer';
import { runFewshotPhase } from './phase.js';

export function fewshotCommand(): Command {
  return new Command('fewshot')
    .description('one few-shot phase: frozen embeddings / SetFit + logistic regression, few-shot fine-tuning, self-training (config: packages/bench/src/fewshot/config.ts)')
    .requiredOption('-c, --config <file>', 'JSON phase config')
    .addOption(new Option('--backend <name>', 'gpu or cpu').choices(['gpu', 'cpu']).default('gpu'))
    .action(async (f: { config: string; backend: 'gpu' | 'cpu' }) => {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(f.config, 'utf8'));
      } catch (e) {
        throw new Error(`${f.config}: ${(e as Error).message}`);
      }
      try {
        await runFewshotPhase(raw, f.backend, { source: f.config });
      } finally {
        await closeBackends();
      }
    });
}
