// The `tunebench` command line. Each subcommand lives with the package that owns the work;
// this file only wires them together (commander parses arguments and prints help).
import { Command } from 'commander';
import { runDoctor } from '@tunebench/kernels';
import { trainerCommands } from '@tunebench/trainer';
import { benchCommand, profileCommand } from './bench_cli.js';
import { fewshotCommand, makeStCommand } from './fewshot/cli.js';
import { edgeCommand } from './edge/cli.js';

export function buildCli(): Command {
  const program = new Command('tunebench')
    .description('Train small BERT-style encoders on WebGPU and compare fine-tuning strategies.')
    .showHelpAfterError();

  program
    .command('doctor')
    .description('print the WebGPU adapter, its features and limits; self-check and time matmul')
    .action(async () => {
      const report = await runDoctor();
      process.exitCode = report.ok ? 0 : 1;
    });

  // pretrain | finetune | evaluate | predict (packages/trainer/src/cli).
  for (const cmd of trainerCommands()) program.addCommand(cmd);

  // bench run | report | merge | list | compare | peers (bench_cli.ts) and profile.
  program.addCommand(benchCommand());
  program.addCommand(profileCommand());
  // fewshot: one phase of the few-shot suite (started by the sweep runner).
  program.addCommand(fewshotCommand());
  program.addCommand(makeStCommand());
  // edge: one phase of the edge suite (single-task / multi-task / distilled models).
  program.addCommand(edgeCommand());

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildCli().parseAsync(argv, { from: 'user' });
}
