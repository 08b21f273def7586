// `tunebench pretrain | finetune | mlm_eval | evaluate | predict`: commander subcommands that turn flags into
// a validated run config (config/load.ts) and run it. packages/bench/src/cli.ts adds them to the
// `tunebench` program. Every flag is a shorthand for a config key (--set sets any key).

import { Command, Option } from 'commander';
import { loadTrainConfig, loadInferConfig, type ConfigSources } from '../config/load.js';
import { runTraining } from '../train/loop.js';
import type { TrainCommand } from '../train/run_setup.js';
import type { TrainRunConfig } from '../config/schema.js';
import { runMlmEval } from '../train/mlm_eval.js';
import { runInference } from '../train/infer.js';
import { backendFactory, closeBackends, BACKEND_NAMES } from '../train/backends.js';
import { vocabCommand } from './vocab.js';
import { exportCommand } from './export.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const intArg = (flag: string) => (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new Error(`${flag} ${v}: expected an integer`);
  return Number(v);
};
const numArg = (flag: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} ${v}: expected a number`);
  return n;
};

interface TrainFlags {
  config?: string;
  set: string[];
  out?: string;
  resume?: boolean;
  dataset?: string;
  train?: string;
  dev?: string;
  init?: string;
  vocab?: string;
  strategy?: string;
  k?: number;
  lr?: number;
  batchSize?: number;
  epochs?: number;
  maxSteps?: number;
  seed?: number;
  backend: string;
  quiet?: boolean;
}

function trainSources(f: TrainFlags): ConfigSources {
  const flag = (key: string, value: unknown, name: string) => ({ key, value, flag: `${name} ${String(value)}` });
  const flags = [
    flag('outputDir', f.out, '--out'),
    flag('data.dataset', f.dataset, '--dataset'),
    flag('data.train', f.train, '--train'),
    flag('data.dev', f.dev, '--dev'),
    flag('model.init', f.init, '--init'),
    flag('tokenizer.vocab', f.vocab, '--vocab'),
    flag('strategy.name', f.strategy, '--strategy'),
    flag('strategy.k', f.k, '--k'),
    flag('optimizer.lr', f.lr, '--lr'),
    flag('training.batchSize', f.batchSize, '--batch-size'),
    flag('training.epochs', f.epochs, '--epochs'),
    flag('training.maxSteps', f.maxSteps, '--max-steps'),
  ];
  if (f.seed !== undefined) for (const k of ['init', 'data', 'dropout']) flags.push(flag(`seeds.${k}`, f.seed, '--seed'));
  return { file: f.config ?? null, sets: f.set, flags };
}

function addCommonTrainOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'JSON run config (see packages/trainer/src/config/schema.ts)')
    .option('--set <key=value>', 'override any config key, e.g. --set optimizer.lr=3e-5 (repeatable; value parsed as JSON when it parses)', collect, [])
    .option('-o, --out <dir>', 'run directory (config key outputDir)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--dataset <name|dir>', 'shipped dataset (data.dataset), e.g. wn_topic, pretrain_en; pretrain_en_full once built (npm run datasets:build -- pretrain_en); or a dataset directory (train/dev/test .jsonl, .csv or .tsv + optional dataset.json)')
    .option('--train <file>', 'training JSONL (data.train)')
    .option('--dev <file>', 'dev JSONL (data.dev)')
    .option('--init <dir>', 'start from this checkpoint directory (model.init): ours, or a Hugging Face BERT directory')
    .option('--vocab <file>', 'vocab.txt (tokenizer.vocab)')
    .option('--strategy <name>', 'fine-tuning strategy (strategy.name)')
    .option('--k <n>', 'layers for top_k / bottom_k (strategy.k)', intArg('--k'))
    .option('--lr <x>', 'peak learning rate (optimizer.lr)', numArg('--lr'))
    .option('--batch-size <n>', 'training.batchSize', intArg('--batch-size'))
    .option('--epochs <x>', 'training.epochs', numArg('--epochs'))
    .option('--max-steps <n>', 'training.maxSteps (0 = epochs decide)', intArg('--max-steps'))
    .option('--seed <n>', 'one seed for init, data order and dropout (seeds.*)', intArg('--seed'))
    .addOption(new Option('--backend <name>', 'gpu (WebGPU model) or cpu (float64 reference, tiny models)').choices([...BACKEND_NAMES]).default('gpu'))
    .option('-q, --quiet', 'no progress output (the run log is still written)');
}

export function pretrainCommand(): Command {
  return addCommonTrainOptions(new Command('pretrain').description('masked-LM pretraining (trains a WordPiece vocabulary when none is given)')).action(
    async (f: TrainFlags) => {
      const cfg = loadTrainConfig('pretrain', trainSources(f));
      try {
        await runTraining('pretrain', cfg, { resume: f.resume, backend: backendFactory(f.backend), progress: !f.quiet });
      } finally {
        await closeBackends();
      }
    },
  );
}

export function finetuneCommand(): Command {
  return addCommonTrainOptions(new Command('finetune').description('fine-tune on a classification or token-tagging task with a strategy')).action(
    async (f: TrainFlags) => {
      const cfg = loadTrainConfig('finetune', trainSources(f));
      try {
        await runTraining('finetune', cfg, { resume: f.resume, backend: backendFactory(f.backend), progress: !f.quiet });
      } finally {
        await closeBackends();
      }
    },
  );
}

/** A command that measures model.init with a training config and trains nothing (no --resume). */
function measureCommand(name: string, description: string, kind: TrainCommand, measure: (cfg: TrainRunConfig, f: TrainFlags) => Promise<unknown>): Command {
  return addCommonTrainOptions(new Command(name).description(description)).action(async (f: TrainFlags) => {
    if (f.resume) throw new Error(`${name}: --resume does not apply (nothing is trained)`);
    const cfg = loadTrainConfig(kind, trainSources(f));
    try {
      await measure(cfg, f);
    } finally {
      await closeBackends();
    }
  });
}

// A finetune config, scored without training: the checkpoint in model.init (a finetune's, with its
// heads) evaluated as that finetune's final evaluation would, under this config's task settings
// (e.g. another task.decision). The bench's costly suite scores its decision rules this way.
export function scoreCommand(): Command {
  return measureCommand('score', "score model.init (a fine-tuned checkpoint) as a finetune's final evaluation would, with this config's task settings (e.g. task.decision); nothing trained", 'finetune',
    (cfg, f) => runTraining('finetune', cfg, { backend: backendFactory(f.backend), progress: !f.quiet, scoreOnly: true }));
}

// The config is a pretraining config (the same flags), so a pretraining phase's config measures
// its model.init on the very held-out rows and masks the pretraining would score (mlm_eval.ts).
export function mlmEvalCommand(): Command {
  return measureCommand('mlm_eval', 'held-out masked-LM scores of model.init as a pretraining run with this config would measure them at its end (no training)', 'pretrain',
    (cfg, f) => runMlmEval(cfg, { backend: backendFactory(f.backend), progress: !f.quiet }));
}

interface InferFlags {
  config?: string;
  set: string[];
  out?: string;
  checkpoint?: string;
  dataset?: string;
  split?: string;
  file?: string;
  batchSize?: number;
  int8?: boolean;
  backend: string;
  quiet?: boolean;
}

function inferCommand(name: 'evaluate' | 'predict', description: string): Command {
  return new Command(name)
    .description(description)
    .option('-c, --config <file>', 'JSON config (outputDir, checkpoint, data, batchSize)')
    .option('--set <key=value>', 'override any config key (repeatable)', collect, [])
    .option('-o, --out <dir>', 'run directory (outputDir)')
    .option('--checkpoint <dir>', 'checkpoint directory written by pretrain / finetune, or a Hugging Face BERT directory')
    .option('--dataset <name|dir>', 'shipped dataset or dataset directory (data.dataset)')
    .option('--split <name>', 'train, dev or test (data.split)')
    .option('--file <jsonl>', 'JSONL rows instead of a dataset (data.file)')
    .option('--batch-size <n>', 'batchSize', intArg('--batch-size'))
    .option('--int8', 'int8 inference of the encoder\'s linear layers (int8); evaluate also scores fp32 and reports the delta, size on disk and ms/example')
    .addOption(new Option('--backend <name>', 'gpu or cpu').choices([...BACKEND_NAMES]).default('gpu'))
    .option('-q, --quiet', 'no output besides errors')
    .action(async (f: InferFlags) => {
      const flag = (key: string, value: unknown, n: string) => ({ key, value, flag: `${n} ${String(value)}` });
      const cfg = loadInferConfig(name, {
        file: f.config ?? null,
        sets: f.set,
        flags: [
          flag('outputDir', f.out, '--out'),
          flag('checkpoint', f.checkpoint, '--checkpoint'),
          flag('data.dataset', f.dataset, '--dataset'),
          flag('data.split', f.split, '--split'),
          flag('data.file', f.file, '--file'),
          flag('batchSize', f.batchSize, '--batch-size'),
          flag('int8', f.int8, '--int8'),
        ],
      });
      try {
        await runInference(name, cfg, backendFactory(f.backend), { progress: !f.quiet });
      } finally {
        await closeBackends();
      }
    });
}

export function evaluateCommand(): Command {
  return inferCommand('evaluate', 'score a checkpoint on a labelled split or file (metrics.json)');
}

export function predictCommand(): Command {
  return inferCommand('predict', 'predict labels / tags for a split or file (predictions.jsonl)');
}

/** All of them (pretrain, finetune, score, mlm_eval, evaluate, predict, vocab, export), for `program.addCommand(...)`. */
export function trainerCommands(): Command[] {
  return [pretrainCommand(), finetuneCommand(), scoreCommand(), mlmEvalCommand(), evaluateCommand(), predictCommand(), vocabCommand(), exportCommand()];
}
