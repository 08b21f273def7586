// The sentence-encoder base of the fewshot suite, models/tiny-en-st: the base encoder tuned with
// in-batch negatives (MultipleNegativesRankingLoss, mean pooling, normalised) on pairs mined from
// the shipped data: a WordNet synset's headwords ("pharaoh ant, Monomorium pharaonis") ↔ its gloss,
// for the synsets of wn_topic's *train* split only (wn_topic/headwords.json), minus any gloss that
// is also the text of a dev or test row of any shipped dataset, so no evaluation row is seen.
// 5 % of the pairs (by a hash of the synset id) are held out for the retrieval check: each gloss
// retrieves its headwords among all held-out headwords (Recall@1, MRR), for the raw base and for
// the tuned encoder; both go into models/tiny-en-st/retrieval.json.
//
//   npm run make:tiny-en-st          (= tunebench make-st; --steps, --base, --out, --backend)
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DATASETS, DATASETS_DIR, loadDataset } from '@tunebench/datasets';
import { relative } from 'node:path';
import { repoRoot } from '../plan.js';
import { backendFactory, loadTrainConfig, runTraining } from '@tunebench/trainer';
import { mrr, recallAtK } from '@tunebench/eval';
import { closeEncoder, embed, openEncoder } from './encoder.js';

export interface MinedPair {
  id: string;
  /** The synset's headwords, comma-separated. */
  en: string;
  /** Its gloss. */
  zh: string;
}

const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

/** Every dev / test text of every shipped dataset (normalised): what the mined pairs must avoid. */
export function evaluationTexts(): Set<string> {
  const out = new Set<string>();
  for (const [name, info] of Object.entries(DATASETS)) {
    for (const split of ['dev', 'test'] as const) {
      if (!info.files.includes(`${split}.jsonl`)) continue;
      for (const r of loadDataset(name, split) as { text?: string; tokens?: string[]; en?: string; zh?: string }[]) {
        if (r.text) out.add(norm(r.text));
        if (r.tokens) out.add(norm(r.tokens.join(' ')));
        if (r.en) out.add(norm(r.en));
      }
    }
  }
  return out;
}

/** Headwords ↔ gloss pairs of wn_topic's train split, split into train / held-out (5 %). */
export function mineGlossPairs(): { train: MinedPair[]; heldout: MinedPair[] } {
  const headwords = JSON.parse(readFileSync(join(DATASETS_DIR, 'wn_topic', 'headwords.json'), 'utf8')) as Record<string, string[]>;
  const avoid = evaluationTexts();
  const train: MinedPair[] = [], heldout: MinedPair[] = [];
  const seen = new Set<string>();
  for (const r of loadDataset('wn_topic', 'train') as { id: string; text: string }[]) {
    const words = headwords[r.id];
    if (!words?.length || avoid.has(norm(r.text)) || seen.has(norm(r.text))) continue;
    seen.add(norm(r.text));
    const pair = { id: r.id, en: words.join(', '), zh: r.text };
    const h = createHash('sha256').update(r.id).digest()[0]!;
    (h < 13 ? heldout : train).push(pair); // 13/256 ≈ 5 %
  }
  return { train, heldout };
}

/** Recall@1 and MRR of gloss → headwords retrieval by cosine similarity (embeddings are unit length). */
export async function retrievalCheck(modelDir: string, pairs: MinedPair[], backend: 'gpu' | 'cpu', maxLength: number): Promise<{ recall_at_1: number; mrr: number; count: number }> {
  const enc = await openEncoder(modelDir, { backend, maxLength, batchSize: 32 });
  try {
    const H = enc.config.hiddenSize;
    const q = await embed(enc, pairs.map((p) => p.zh));
    const d = await embed(enc, pairs.map((p) => p.en));
    const scores = pairs.map((_, i) => pairs.map((__, j) => {
      let s = 0;
      for (let h = 0; h < H; h++) s += q[i * H + h] * d[j * H + h];
      return s;
    }));
    const rel = pairs.map((_, i) => [i]);
    return { recall_at_1: recallAtK(scores, rel, 1), mrr: mrr(scores, rel), count: pairs.length };
  } finally {
    closeEncoder(enc);
  }
}

export interface MakeStOptions {
  base: string;
  out: string;
  backend: 'gpu' | 'cpu';
  steps: number;
  batchSize: number;
  lr: number;
  maxLength: number;
  log?: (l: string) => void;
}

export async function makeSentenceEncoder(o: MakeStOptions): Promise<Record<string, unknown>> {
  const log = o.log ?? ((l: string) => console.log(l));
  const work = `${o.out}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const { train, heldout } = mineGlossPairs();
  log(`mined ${train.length} headwords ↔ gloss pairs from wn_topic's train split (+ ${heldout.length} held out); none is a dev/test text of a shipped dataset`);
  const write = (f: string, rows: MinedPair[]) => writeFileSync(join(work, f), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  write('pairs_train.jsonl', train);
  write('pairs_heldout.jsonl', heldout);
  const cfgFile = join(work, 'train.config.json');
  writeFileSync(cfgFile, JSON.stringify({
    outputDir: join(work, 'run'),
    model: { init: o.base },
    data: { train: join(work, 'pairs_train.jsonl'), dev: join(work, 'pairs_heldout.jsonl'), maxLength: o.maxLength },
    task: { kind: 'embedding', pooling: 'mean', embeddingLoss: 'mnr', normalize: true },
    strategy: { name: 'full' },
    optimizer: { lr: o.lr },
    schedule: { name: 'linear', warmupRatio: 0.1 },
    training: { maxSteps: o.steps, batchSize: o.batchSize, logEvery: 50, evalEvery: 0, epochs: 100 },
    seeds: { init: 0, data: 0, dropout: 0 },
  }, null, 2));
  const t0 = Date.now();
  const r = await runTraining('finetune', loadTrainConfig('finetune', { file: cfgFile }), { backend: backendFactory(o.backend), progress: true });
  const trainS = (Date.now() - t0) / 1000;
  const before = await retrievalCheck(o.base, heldout, o.backend, o.maxLength);
  const ckpt = join(work, 'run', 'checkpoint');
  const after = await retrievalCheck(ckpt, heldout, o.backend, o.maxLength);
  log(`retrieval on ${heldout.length} held-out pairs (gloss → headwords): raw base R@1 ${before.recall_at_1.toFixed(4)} MRR ${before.mrr.toFixed(4)}; tuned R@1 ${after.recall_at_1.toFixed(4)} MRR ${after.mrr.toFixed(4)}`);
  const report = {
    base: relative(repoRoot, o.base) || '.', steps: r.steps, batchSize: o.batchSize, lr: o.lr, maxLength: o.maxLength, trainPairs: train.length, heldoutPairs: heldout.length,
    trainWallTimeS: trainS, device: r.metrics.device, retrieval: { rawBase: before, tuned: after },
    command: `npm run make:tiny-en-st -- --base ${relative(repoRoot, o.base)} --steps ${o.steps} --batch-size ${o.batchSize} --lr ${o.lr} --max-length ${o.maxLength} --backend ${o.backend}`,
  };
  // Replace the output directory in one rename (a half-written model is never left at `out`).
  const staged = `${o.out}.new`;
  rmSync(staged, { recursive: true, force: true });
  cpSync(ckpt, staged, { recursive: true });
  rmSync(join(staged, 'optimizer.safetensors'), { force: true });
  writeFileSync(join(staged, 'retrieval.json'), JSON.stringify(report, null, 2) + '\n');
  cpSync(join(work, 'pairs_heldout.jsonl'), join(staged, 'heldout_pairs.jsonl'));
  // The model card is written by hand from retrieval.json: keep it across a remake.
  if (existsSync(join(o.out, 'README.md'))) cpSync(join(o.out, 'README.md'), join(staged, 'README.md'));
  mkdirSync(dirname(o.out), { recursive: true });
  if (existsSync(o.out)) rmSync(o.out, { recursive: true, force: true });
  renameSync(staged, o.out);
  rmSync(work, { recursive: true, force: true });
  log(`wrote ${o.out} (retrieval.json beside the weights)`);
  return report;
}
