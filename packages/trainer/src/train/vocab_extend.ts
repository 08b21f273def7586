// Vocabulary extension of a checkpoint (`tunebench vocab extend`, and the trainer's
// tokenizer.extend / tokenizer.vocab growth path): grow the word-embedding matrix by the new
// tokens' rows, initialised by one rule, and the decoder bias by zeros. The MLM decoder matrix is
// tied to the word embeddings, so it grows with them; the bias follows transformers'
// resize_token_embeddings (new entries 0).
//
// Rules (names as on the command line; the config spells mean_noise 'mean-noise' and random 'normal'):
//   mean        every new row = the mean of the old rows
//   mean-noise  N(mean, 1e-9·Σ) (Hugging Face's mean_resizing)
//   subtoken    the mean of the old rows of the pieces the old tokenizer made of the token; a
//               token the old tokenizer makes [UNK] (a new single CJK character) gets the mean of
//               the old rows + N(0, initializer_range²) noise (seeded), so new characters differ
//   normal      N(0, initializer_range²) (a fresh row, as random init)

import { join } from 'node:path';
import { checkpointTokenizerOptions, readCheckpoint, writeCheckpoint, type LoadedCheckpoint } from '../checkpoint/index.js';
import { seededRng } from '../data/rng.js';
import { deriveSeed } from './rng.js';
import { WordPieceTokenizer, extendVocabulary, growEmbeddings, subtokenPieces, type EmbeddingInit, type ExtensionSource, type VocabularyExtension } from '../tokenizer/index.js';
import { mergeInitAdapter } from './init_lora.js';

export type GrowInit = 'mean' | 'mean-noise' | 'subtoken' | 'normal';
export const GROW_INITS: readonly GrowInit[] = ['mean', 'mean-noise', 'subtoken', 'normal'];

/** The command line's names for the rules (issue #17) → the config's. */
export const GROW_INIT_ALIASES: Record<string, GrowInit> = {
  mean: 'mean', mean_noise: 'mean-noise', 'mean-noise': 'mean-noise', subtoken: 'subtoken', random: 'normal', normal: 'normal',
};

export type NamedWeights = Map<string, { shape: number[]; data: Float32Array }>;

/** The seed of the random rules (mean-noise, normal): derived from the run's init seed. */
export const growSeed = (initSeed: number): number => deriveSeed(initSeed, 0x97);

/** The EmbeddingInit of a rule; `pieces` (each new token's old-tokenizer ids) only for subtoken. */
export function embeddingInitOf(rule: GrowInit, o: { seed: number; initializerRange: number; pieces?: number[][]; unkId?: number }): EmbeddingInit {
  switch (rule) {
    case 'mean': return { method: 'mean' };
    case 'mean-noise': return { method: 'mean-noise', rng: seededRng(growSeed(o.seed)) };
    case 'normal': return { method: 'normal', rng: seededRng(growSeed(o.seed)), std: o.initializerRange };
    case 'subtoken':
      if (!o.pieces) throw new Error("growth init 'subtoken' needs each new token's pieces under the old tokenizer");
      // Tokens without an informative piece: mean + noise at the model's init scale, from the growth seed's stream.
      return { method: 'subtoken', pieces: o.pieces, unkId: o.unkId, fallback: { rng: seededRng(growSeed(o.seed)), std: o.initializerRange } };
    default:
      throw new Error(`unknown growth init '${String(rule)}' (expected ${GROW_INITS.join(', ')})`);
  }
}

/** Grow the word embeddings (and the decoder bias, if any) of `weights` in place by `grow` rows. */
export function growWeights(weights: NamedWeights, grow: number, init: EmbeddingInit): void {
  const name = 'bert.embeddings.word_embeddings.weight';
  const old = weights.get(name);
  if (!old) throw new Error(`vocabulary growth: the checkpoint has no ${name}`);
  const rows = old.shape[0]!, cols = old.shape[1]!;
  weights.set(name, { shape: [rows + grow, cols], data: growEmbeddings(old.data, rows, cols, grow, init) });
  const bias = weights.get('cls.predictions.bias');
  if (bias) {
    if (bias.data.length !== rows) throw new Error(`vocabulary growth: cls.predictions.bias has ${bias.data.length} entries, the embeddings ${rows} rows`);
    const b = new Float32Array(rows + grow);
    b.set(bias.data);
    weights.set('cls.predictions.bias', { shape: [rows + grow], data: b });
  }
}

/** The tokenizer of a checkpoint, with the casing rule its config.json records. */
export function checkpointTokenizer(ck: LoadedCheckpoint): WordPieceTokenizer {
  if (!ck.vocab) throw new Error(`${ck.dir}: no vocab.txt`);
  const maxPos = typeof ck.config.max_position_embeddings === 'number' ? ck.config.max_position_embeddings : undefined;
  const opts = checkpointTokenizerOptions(ck.config, join(ck.dir, 'config.json'));
  return WordPieceTokenizer.fromVocab(ck.vocab, { lowercase: true, ...opts, modelMaxLength: maxPos, source: join(ck.dir, 'vocab.txt') });
}

/**
 * The new-language WordPiece of `size` tokens: its alphabet is capped at `size` too (the trainer
 * otherwise keeps every character of the corpus, ~6 000 for zh_pretrain, whatever the size).
 */
export function extensionSource(corpus: readonly string[], size: number, minFrequency: number): ExtensionSource {
  return { corpus, vocabSize: size, minFrequency, limitAlphabet: size };
}

export interface ExtendCheckpointOptions {
  baseDir: string;
  /** Texts to train the new-language WordPiece on. */
  corpus: readonly string[];
  /** Vocabulary size of that WordPiece (its tokens the base lacks are added). */
  size: number;
  init: GrowInit;
  seed?: number;
  minFrequency?: number;
  outDir: string;
  /** Recorded in config.json (tunebench.vocabExtension.corpus). */
  corpusName?: string;
}

export interface ExtendCheckpointResult {
  extension: VocabularyExtension;
  outDir: string;
}

/** Read a base checkpoint, extend its vocabulary on `corpus`, grow its weights, write a complete checkpoint. */
export function extendCheckpoint(o: ExtendCheckpointOptions): ExtendCheckpointResult {
  if (!Number.isInteger(o.size) || o.size < 16) throw new Error(`vocab extend: --size ${o.size} must be an integer ≥ 16`);
  const base = readCheckpoint(o.baseDir);
  const baseTok = checkpointTokenizer(base);
  const extension = extendVocabulary(baseTok, extensionSource(o.corpus, o.size, o.minFrequency ?? 2));
  // A LoRA-trained base: its adapter merged into the weights, so the output is a plain model.
  const { weights, merged } = mergeInitAdapter(base);
  const initializerRange = typeof base.config.initializer_range === 'number' ? base.config.initializer_range : 0.02;
  const init = embeddingInitOf(o.init, { seed: o.seed ?? 0, initializerRange, pieces: extension.newTokenPieces, unkId: baseTok.specialIds.unk });
  growWeights(weights, extension.addedTokens.length, init);
  const config = structuredClone(base.config);
  config.vocab_size = extension.tokenizer.vocabSize;
  const tb = { ...((config.tunebench as Record<string, unknown> | undefined) ?? {}) };
  if (merged) delete tb.lora;
  tb.vocabExtension = {
    base: o.baseDir, corpus: o.corpusName ?? null, size: o.size, init: o.init, seed: o.seed ?? 0,
    oldVocabSize: extension.oldVocabSize, added: extension.addedTokens.length, skipped: extension.skipped,
  };
  config.tunebench = tb;
  const specs = [...weights.entries()].map(([name, t]) => ({ name, shape: t.shape }));
  writeCheckpoint(o.outDir, { specs, get: (n) => weights.get(n)!.data }, { config, vocab: [...extension.tokenizer.vocab.tokens] });
  return { extension, outDir: o.outDir };
}

/** For the trainer's tokenizer.vocab growth path: the pieces of the tokens `tok` adds to `baseTok`. */
export function addedTokenPieces(baseTok: WordPieceTokenizer, tok: WordPieceTokenizer): number[][] {
  return subtokenPieces(baseTok, tok.vocab.tokens.slice(baseTok.vocabSize));
}
