// `tunebench vocab stats | extend`: how well a checkpoint's vocabulary fits a dataset, and a
// checkpoint whose vocabulary is extended for a new language (Q140; issue #17). The extended
// checkpoint is an ordinary checkpoint directory: pretrain / finetune --init, evaluate
// --checkpoint and `vocab stats` all load it.

import { Command, Option } from 'commander';
import { readCheckpoint } from '../checkpoint/index.js';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { jiebaSegmenter } from '../data/chinese.js';
import { vocabStats, formatVocabStats, type VocabStats } from '../tokenizer/index.js';
import { loadRows } from '../train/data.js';
import { checkpointTokenizer, extendCheckpoint, GROW_INIT_ALIASES } from '../train/vocab_extend.js';
import { extensionCorpusTexts } from '../train/run_setup.js';

const SPLITS = ['train', 'dev', 'test'] as const;

/** The texts of a dataset split (a corpus dataset's training text for 'train'), or of a JSONL file. */
export function datasetTexts(source: string, split: (typeof SPLITS)[number], limit = 0): string[] {
  const rows = loadRows(source, split, 'mlm', limit);
  if (!rows.length) throw new Error(`${source}: no rows in split '${split}' (a corpus dataset has only 'train')`);
  return rows.map((r) => r.text ?? '');
}

/** `vocab stats` for a checkpoint directory and a dataset split. */
export function checkpointVocabStats(checkpoint: string, dataset: string, split: (typeof SPLITS)[number], limit = 0): VocabStats {
  const tok = checkpointTokenizer(readCheckpoint(checkpoint));
  return vocabStats(tok, datasetTexts(dataset, split, limit), jiebaSegmenter);
}

interface StatsFlags { checkpoint: string; dataset: string; split: (typeof SPLITS)[number]; maxRows?: number; json?: string; quiet?: boolean }
interface ExtendFlags { base: string; corpus: string; size: number; init: string; out: string; seed: number; minFrequency: number }

const intArg = (flag: string, min: number) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${flag} ${v}: expected an integer ≥ ${min}`);
  return Number(v);
};

export function vocabCommand(): Command {
  const vocab = new Command('vocab').description('vocabulary statistics of a checkpoint on a dataset; vocabulary extension for a new language');
  vocab
    .command('stats')
    .description('UNK rate, tokens per character, tokens per word (jieba words for Chinese), share of characters covered')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (vocab.txt, config.json)')
    .requiredOption('--dataset <name>', 'shipped dataset or JSONL file')
    .addOption(new Option('--split <name>', 'split of the dataset').choices([...SPLITS]).default('test'))
    .option('--max-rows <n>', 'read at most this many rows (0 = all)', intArg('--max-rows', 0))
    .option('--json <file>', 'also write the statistics as JSON to this file')
    .option('-q, --quiet', 'print the JSON only')
    .action((f: StatsFlags) => {
      const s = checkpointVocabStats(f.checkpoint, f.dataset, f.split, f.maxRows ?? 0);
      const json = JSON.stringify({ checkpoint: f.checkpoint, dataset: f.dataset, split: f.split, ...s }, null, 2) + '\n';
      if (f.json) writeFileAtomic(f.json, json);
      if (!f.quiet) process.stdout.write(formatVocabStats(s, `${f.checkpoint} on ${f.dataset} (${f.split})`) + '\n\n');
      process.stdout.write(json);
    });
  vocab
    .command('extend')
    .description('train a WordPiece on a corpus, append the tokens the base lacks (old ids unchanged), grow the embedding rows; write a checkpoint')
    .requiredOption('--base <dir>', 'base checkpoint directory')
    .requiredOption('--corpus <name>', "shipped dataset (its training text, less the trainer's 2 % held-out rows) or JSONL file, e.g. zh_pretrain")
    .option('--size <n>', 'vocabulary size of the WordPiece trained on the corpus', intArg('--size', 16), 4000)
    .addOption(new Option('--init <rule>', 'initialisation of the new rows').choices(['mean', 'mean_noise', 'subtoken', 'random']).default('mean'))
    .requiredOption('-o, --out <dir>', 'output checkpoint directory')
    .option('--seed <n>', 'seed of the random rules (mean_noise, random)', intArg('--seed', 0), 0)
    .option('--min-frequency <n>', 'WordPiece minimum token frequency', intArg('--min-frequency', 1), 2)
    .action((f: ExtendFlags) => {
      const rule = GROW_INIT_ALIASES[f.init]!;
      const { extension } = extendCheckpoint({
        baseDir: f.base, corpus: extensionCorpusTexts(f.corpus), corpusName: f.corpus, size: f.size, init: rule, seed: f.seed, minFrequency: f.minFrequency, outDir: f.out,
      });
      const sk = extension.skipped;
      process.stdout.write(`${f.out}: ${extension.oldVocabSize} → ${extension.tokenizer.vocabSize} tokens (+${extension.addedTokens.length}, ${rule} init); ` +
        `skipped ${sk.existing} already present, ${sk.oldCharactersOnly} of old characters only, ${sk.unreachable} never produced\n`);
    });
  return vocab;
}
