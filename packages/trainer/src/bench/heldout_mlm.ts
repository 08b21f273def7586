// Held-out masked-LM scores of pretrained checkpoints next to the unigram baseline (issue 14,
// acceptance 1): the corpus's held-out rows (the trainer's own 2 % rule, `mlmHoldout`), masked with
// evaluate's fixed mask seeds, scored by each checkpoint and by a unigram model of the first
// checkpoint's vocabulary fitted on the training rows — so the first model and the unigram see the
// very same masked tokens. A checkpoint with another vocabulary is scored on the same rows with its
// own tokenization (same seeds, different tokens): comparable as "nats per masked piece", not
// token for token. `--exclude-corpus` also scores the subset of held-out rows that a second corpus
// (e.g. the old base's training corpus) does not contain, so a model trained on those rows gains
// nothing from having seen them.
//
//   npx tsx packages/trainer/src/bench/heldout_mlm.ts --corpus pretrain_en_full \
//     --model models/tiny-en-base-v2 --model models/tiny-en-base --exclude-corpus pretrain_en \
//     --out models/tiny-en-base-v2/heldout_mlm.json

import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { unigramScores, type MlmScores } from '@tunebench/eval';
import { loadModel, type LoadedModel } from '../train/infer.js';
import { loadRows, mlmChunks, mlmOptionsOf, Collator, evalBatches, maskSeed, type Row, type Example } from '../train/data.js';
import { mlmHoldout } from '../train/run_setup.js';
import { evaluateExamples } from '../train/evaluate.js';
import { createGpuBackend, closeSharedGpu } from '../train/gpu_backend.js';

const EVAL_SEED = 0x5eed; // evaluateExamples' default: the masks `tunebench evaluate` uses
const IGNORE = -100;

function examplesOf(rows: Row[], m: LoadedModel, maxLength: number): Example[] {
  return rows.flatMap((r) => mlmChunks(r, m.tok, maxLength));
}

function collatorOf(m: LoadedModel): Collator {
  return new Collator(m.tok, 'mlm', m.masking ? mlmOptionsOf(m.masking, true) : m.task.mlmProbability);
}

/** The masked labels evaluateExamples scores, in its order (same batches, same seeds). */
function maskedLabels(ex: Example[], collator: Collator, batchSize: number): number[] {
  const out: number[] = [];
  let bi = 0;
  for (const { items } of evalBatches(ex, batchSize)) {
    const b = collator.collate(items, maskSeed(EVAL_SEED, 1 << 20, bi++));
    for (const y of b.labels) if (y !== IGNORE) out.push(y);
  }
  return out;
}

/** Token counts of the training rows under `m`'s tokenizer (special tokens never occur in text). */
function unigramCounts(rows: Row[], m: LoadedModel): Float64Array {
  const counts = new Float64Array(m.tok.vocabSize);
  for (const r of rows) for (const id of m.tok.tokenizeToIds(r.text ?? '')) counts[id]++;
  return counts;
}

async function modelScores(m: LoadedModel, ex: Example[], batchSize: number, maxLength: number): Promise<MlmScores> {
  const backend = await createGpuBackend({ config: m.config, heads: m.heads, store: m.store, lora: m.lora, loss: {}, maxBatch: batchSize, maxLength });
  try {
    backend.load();
    const r = await evaluateExamples(backend, collatorOf(m), 'mlm', [], ex, batchSize, { evalSeed: EVAL_SEED });
    const { accuracy, loss, perplexity, count } = r.metrics as Record<string, number>;
    return { accuracy, crossEntropy: loss, perplexity, count };
  } finally {
    backend.destroy();
  }
}

async function main(): Promise<void> {
  const { values: f } = parseArgs({
    options: {
      corpus: { type: 'string' },
      model: { type: 'string', multiple: true },
      'exclude-corpus': { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string', default: '32' },
      'max-length': { type: 'string', default: '128' },
    },
  });
  if (!f.corpus || !f.model?.length) throw new Error('usage: heldout_mlm.ts --corpus NAME --model DIR [--model DIR…] [--exclude-corpus NAME] [--out FILE]');
  const batchSize = Number(f['batch-size']), maxLength = Number(f['max-length']);
  const { train, dev } = mlmHoldout(loadRows(f.corpus, 'train', 'mlm'));
  const subsets: Record<string, Row[]> = { all: dev };
  if (f['exclude-corpus']) {
    const seen = new Set(loadRows(f['exclude-corpus'], 'train', 'mlm').map((r) => r.text));
    subsets[`not_in_${f['exclude-corpus']}`] = dev.filter((r) => !seen.has(r.text));
  }
  console.log(`${f.corpus}: ${train.length} training rows, ${dev.length} held out; subsets ${Object.entries(subsets).map(([k, v]) => `${k} ${v.length}`).join(', ')}`);
  const models = f.model.map((dir) => ({ dir, m: loadModel(dir) }));
  const first = models[0];
  const counts = unigramCounts(train, first.m);
  const result: Record<string, unknown> = { corpus: f.corpus, heldoutRows: dev.length, evalSeed: EVAL_SEED, batchSize, maxLength, subsets: {} };
  for (const [name, rows] of Object.entries(subsets)) {
    const scores: Record<string, MlmScores & { rows: number; pieces: number }> = {};
    const firstEx = examplesOf(rows, first.m, maxLength);
    const uni = unigramScores(counts, maskedLabels(firstEx, collatorOf(first.m), batchSize), { exclude: Object.values(first.m.tok.specialIds) });
    scores[`unigram(${first.dir})`] = { ...uni, rows: rows.length, pieces: firstEx.length };
    for (const { dir, m } of models) {
      const ex = dir === first.dir ? firstEx : examplesOf(rows, m, maxLength);
      scores[dir] = { ...(await modelScores(m, ex, batchSize, maxLength)), rows: rows.length, pieces: ex.length };
    }
    (result.subsets as Record<string, unknown>)[name] = scores;
    console.log(`\n${name} (${rows.length} rows)`);
    console.log('| model | pieces | masked tokens | loss (nats) | masked-token accuracy | perplexity |\n|---|---|---|---|---|---|');
    for (const [k, s] of Object.entries(scores)) console.log(`| ${k} | ${s.pieces} | ${s.count} | ${s.crossEntropy.toFixed(4)} | ${(100 * s.accuracy).toFixed(2)} % | ${s.perplexity.toFixed(1)} |`);
  }
  if (f.out) writeFileSync(f.out, JSON.stringify(result, null, 2) + '\n');
}

main().then(closeSharedGpu, (e: unknown) => {
  closeSharedGpu();
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
