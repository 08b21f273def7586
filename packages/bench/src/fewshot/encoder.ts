// A sentence encoder for the few-shot phases: a tunebench checkpoint's encoder with the embedding
// head (masked mean pooling, L2-normalised), on the trainer's backends (the WebGPU model, or the
// float64 reference on the CPU). Two operations:
//
//   embed(texts)            (n, H) float64 sentence embeddings, eval mode
//   contrastiveTrain(...)   SetFit's stage 1: the whole encoder trained on sentence pairs with
//                           CosineSimilarityLoss ((cos(a, b) − target)², SetFit's default) or
//                           MultipleNegativesRankingLoss (positives only, in-batch negatives),
//                           AdamW with a linear decay, no warmup
//
// The trainer's loop reads pairs from pair datasets and has no per-pair targets, so the training
// steps are driven here through TrainBackend (accumulate → step), the same calls the loop makes.
// The cosine targets of a batch are handed to the backend through its LossOptions object, which
// the backends read at every forward (set before each step).
import {
  backendFactory, bertConfigFromHf, checkpointTokenizerOptions, hfConfig, loadWeights, padBatch, paramSpecs, ParamStore, readCheckpoint, WordPieceTokenizer, writeCheckpoint,
  learningRate, type BertConfig, type HeadSpec, type LossOptions, type ModelBatch, type TrainBackend, type AdamwRange, type Encoding,
} from '@tunebench/trainer';
import { join } from 'node:path';
import type { SentencePair } from './pairs.js';

export interface EncoderOptions {
  backend: 'gpu' | 'cpu';
  maxLength: number;
  /** Sentences per forward (embedding) and pairs per training step. */
  batchSize: number;
}

export interface Encoder {
  config: BertConfig;
  tok: WordPieceTokenizer;
  store: ParamStore;
  backend: TrainBackend;
  loss: LossOptions;
  opts: EncoderOptions;
  source: string;
  /** The checkpoint's config.json (kept to write the tuned encoder back). */
  ckptConfig: Record<string, unknown>;
  vocab: string[];
}

const HEADS: HeadSpec[] = [{ kind: 'embedding', normalize: true }];
/** Checkpoint tensors an encoder does not use: task heads and the pooler. */
const isHeadTensor = (n: string) => n.startsWith('cls.') || n.startsWith('classifier') || n.startsWith('bert.pooler.');

export async function openEncoder(dir: string, opts: EncoderOptions): Promise<Encoder> {
  const ck = readCheckpoint(dir);
  if (!ck.vocab) throw new Error(`${dir} has no vocab.txt`);
  const tb = ck.config.tunebench as { lora?: unknown } | undefined;
  if (tb?.lora) throw new Error(`${dir}: a LoRA checkpoint; the few-shot suite needs a plain encoder (merge the adapter first)`);
  const config = bertConfigFromHf(ck.config, join(dir, 'config.json')) as BertConfig;
  if (opts.maxLength > config.maxPositions) throw new Error(`maxLength ${opts.maxLength} exceeds ${dir}'s max positions ${config.maxPositions}`);
  const store = new ParamStore(paramSpecs(config, HEADS, null));
  loadWeights(store, ck.weights, { source: dir, allowUnexpected: isHeadTensor });
  const tok = WordPieceTokenizer.fromVocab(ck.vocab, { lowercase: true, ...checkpointTokenizerOptions(ck.config, join(dir, 'config.json')), source: join(dir, 'vocab.txt'), modelMaxLength: config.maxPositions });
  const loss: LossOptions = { embeddingLoss: 'mnr' };
  const backend = await backendFactory(opts.backend)({ config, heads: HEADS, store, lora: null, loss, maxBatch: 2 * opts.batchSize, maxLength: opts.maxLength });
  backend.load();
  return { config, tok, store, backend, loss, opts, source: dir, ckptConfig: ck.config, vocab: ck.vocab };
}

function batchOf(enc: Encoder, encs: Encoding[]): ModelBatch {
  const b = padBatch(encs.map((e) => ({ ids: e.ids, tokenTypeIds: e.tokenTypeIds })), { padId: enc.tok.specialIds.pad });
  return { B: b.batchSize, T: b.seqLength, inputIds: b.inputIds, attentionMask: b.attentionMask, tokenTypeIds: b.tokenTypeIds, labels: new Int32Array(b.batchSize) };
}

/** Sentence embeddings (n, H), L2-normalised mean pooling, eval mode. */
export async function embed(enc: Encoder, texts: readonly string[]): Promise<Float64Array> {
  const H = enc.config.hiddenSize;
  const out = new Float64Array(texts.length * H);
  const step = Math.max(2, 2 * enc.opts.batchSize);
  for (let start = 0; start < texts.length; start += step) {
    const chunk = texts.slice(start, start + step).map((t) => enc.tok.encode(t, null, { maxLength: enc.opts.maxLength }));
    const m = chunk.length;
    // The embedding head pairs rows (n anchors, n positives): an even row count, padded with a copy.
    if (m % 2) chunk.push(chunk[m - 1]);
    const prev = enc.loss.embeddingLoss;
    enc.loss.embeddingLoss = 'mnr';
    const pred = await enc.backend.predict(batchOf(enc, chunk));
    enc.loss.embeddingLoss = prev;
    for (let i = 0; i < m; i++) for (let h = 0; h < H; h++) out[(start + i) * H + h] = pred.logits[i * H + h];
  }
  return out;
}

export interface ContrastiveOptions {
  loss: 'cosine' | 'mnr';
  epochs: number;
  lr: number;
  weightDecay: number;
  seed: number;
  /** Stop after this many optimizer steps (0 = epochs decide). */
  maxSteps: number;
}

export interface ContrastiveResult {
  steps: number;
  tokens: number;
  losses: { step: number; loss: number }[];
}

/** SetFit stage 1 on `pairs` (indices into `texts`). Every encoder weight trains. */
export async function contrastiveTrain(enc: Encoder, texts: readonly string[], pairs: readonly SentencePair[], o: ContrastiveOptions): Promise<ContrastiveResult> {
  const used = o.loss === 'mnr' ? pairs.filter((p) => p.target === 1) : [...pairs];
  if (!used.length) throw new Error('contrastive training: no pairs');
  // MNR needs ≥ 2 pairs per batch (the others are the negatives); a batch never holds a text twice as
  // an anchor, which in-batch negatives would count as a false negative only by bad luck: accepted, as in SetFit.
  const B = Math.min(enc.opts.batchSize, used.length);
  const encodings = texts.map((t) => enc.tok.encode(t, null, { maxLength: enc.opts.maxLength }));
  const perEpoch = Math.ceil(used.length / B);
  const total = o.maxSteps > 0 ? o.maxSteps : Math.max(1, Math.round(perEpoch * o.epochs));
  const ranges: AdamwRange[] = enc.store.specs.map((s) => ({ ...enc.store.range(s.name), weightDecay: s.noDecay ? 0 : o.weightDecay, lrScale: 1 }));
  enc.backend.setTrainable(enc.store.specs.map((s) => s.name));
  const optimizer = { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay, maxGradNorm: 1, gradAccumSteps: 1 };
  const schedule = { name: 'linear' as const, lr: o.lr, warmupSteps: 0, totalSteps: total };
  // Shuffled order per epoch, seeded (mulberry-style LCG via the pair generator's seed stream).
  let order: number[] = [];
  let rng = (o.seed * 2654435761 + 12345) >>> 0;
  const next = () => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const losses: ContrastiveResult['losses'] = [];
  let tokens = 0, cursor = 0;
  for (let step = 0; step < total; step++) {
    if (cursor + B > order.length) {
      order = used.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      cursor = 0;
    }
    const batchPairs = order.slice(cursor, cursor + B).map((i) => used[i]);
    cursor += B;
    const rows = [...batchPairs.map((p) => encodings[p.a]), ...batchPairs.map((p) => encodings[p.b])];
    const batch = batchOf(enc, rows);
    tokens += rows.reduce((s, e) => s + e.ids.length, 0);
    enc.loss.embeddingLoss = o.loss;
    enc.loss.cosineTargets = o.loss === 'cosine' ? Float32Array.from(batchPairs.map((p) => p.target)) : undefined;
    await enc.backend.trainStep({
      micro: [{ batch, dropoutSeed: o.seed, step }],
      ewcLambda: null,
      optimizer,
      ranges,
      hyper: { lr: learningRate(schedule, step), step: step + 1, gradScale: 1 },
    });
    if (step === total - 1 || step % 10 === 0) {
      const l = await enc.backend.readLoss();
      if (!Number.isFinite(l)) throw new Error(`contrastive training: loss ${l} at step ${step + 1}`);
      losses.push({ step: step + 1, loss: l });
    }
  }
  enc.loss.embeddingLoss = 'mnr';
  enc.loss.cosineTargets = undefined;
  return { steps: total, tokens, losses };
}

/** Write the (tuned) encoder as a checkpoint directory (weights from the device first). */
export async function saveEncoder(enc: Encoder, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await enc.backend.sync();
  const prev = (enc.ckptConfig.tunebench ?? {}) as Record<string, unknown>;
  // hfConfig puts its second argument under config.json's "tunebench" key.
  const config = hfConfig(enc.config, { ...prev, heads: HEADS, task: { ...(prev.task as object), kind: 'embedding', pooling: 'mean', normalize: true }, ...extra });
  writeCheckpoint(dir, enc.store, { config, vocab: enc.vocab });
}

export function closeEncoder(enc: Encoder): void {
  enc.backend.destroy();
}
