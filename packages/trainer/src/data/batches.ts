// Ready-made batches for the two supervised task shapes: sequence classification (one label per
// text or text pair) and token classification (NER: one label per word, aligned to WordPiece
// tokens). Both tokenize, truncate to maxLength, pad, and return Int32Array batches.

import type { Encoding, WordPieceTokenizer } from '../tokenizer/tokenizer.js';
import { alignLabels, wordLabelsFromPredictions, type AlignMode, type LabelSet } from './align.js';
import { padBatch, type TokenBatch } from './pad.js';

export interface CollateOptions {
  /** Truncate every example to this many tokens (longest_first for pairs). Default 128. */
  maxLength?: number;
  /** Pad to exactly this length (a fixed GPU shape). Default: the longest in the batch. */
  padTo?: number;
  padToMultipleOf?: number;
}

/** Texts (or [text, pair] tuples) and optional integer class labels → one batch. */
export function collateClassification(
  tokenizer: WordPieceTokenizer,
  texts: readonly (string | readonly [string, string])[],
  labels?: ArrayLike<number>,
  options: CollateOptions = {},
): TokenBatch & { encodings: Encoding[] } {
  if (labels && labels.length !== texts.length) throw new Error(`collateClassification: ${labels.length} labels for ${texts.length} texts`);
  const maxLength = options.maxLength ?? 128;
  const encodings = texts.map((t, i) => {
    if (typeof t === 'string') return tokenizer.encode(t, null, { maxLength });
    if (Array.isArray(t) && t.length === 2) return tokenizer.encode(t[0], t[1], { maxLength });
    throw new Error(`collateClassification: example ${i} must be a string or a [text, pair] tuple`);
  });
  if (labels) {
    for (let i = 0; i < labels.length; i++) {
      if (!Number.isInteger(labels[i])) throw new Error(`collateClassification: label ${i} is ${labels[i]}, expected an integer class id`);
    }
  }
  const batch = padBatch(encodings, { padId: tokenizer.specialIds.pad, padTo: options.padTo, padToMultipleOf: options.padToMultipleOf }, labels ? { sequenceLabels: labels } : undefined);
  return { ...batch, encodings };
}

export interface NerExample {
  words: readonly string[];
  labels: readonly string[];
}

export interface NerBatch extends TokenBatch {
  labels: Int32Array;
  /** Per example: the word id of each (unpadded) token, for mapping predictions back to words. */
  wordIds: (number | null)[][];
  /** Per example: its number of words. */
  numWords: number[];
}

/** Word-labelled examples → a token-labelled batch ('first' or 'all' sub-token labelling). */
export function collateNer(
  tokenizer: WordPieceTokenizer,
  examples: readonly NerExample[],
  labelSet: LabelSet,
  options: CollateOptions & { mode?: AlignMode; where?: (index: number) => string } = {},
): NerBatch {
  const maxLength = options.maxLength ?? 128;
  const where = options.where ?? ((i: number) => `example ${i}`);
  const encodings: Encoding[] = [];
  const tokenLabels: Int32Array[] = [];
  examples.forEach((ex, i) => {
    if (!ex || !Array.isArray(ex.words) || !Array.isArray(ex.labels)) throw new Error(`${where(i)}: expected { words: string[], labels: string[] }`);
    if (ex.words.length !== ex.labels.length) throw new Error(`${where(i)}: ${ex.words.length} words but ${ex.labels.length} labels`);
    const e = tokenizer.encodeWords(ex.words, null, { maxLength });
    encodings.push(e);
    tokenLabels.push(alignLabels(e.wordIds, ex.labels, labelSet, options.mode ?? 'first', where(i)));
  });
  const batch = padBatch(encodings, { padId: tokenizer.specialIds.pad, padTo: options.padTo, padToMultipleOf: options.padToMultipleOf }, { tokenLabels });
  return { ...batch, labels: batch.labels!, wordIds: encodings.map((e) => e.wordIds), numWords: examples.map((ex) => ex.words.length) };
}

/**
 * Token predictions for a whole NER batch ([batchSize, seqLength] class ids, e.g. the argmax of
 * the logits) → one label per word per example (first sub-token; words cut by truncation or with
 * no token get `missingLabel`, default 'O').
 */
export function nerBatchWordLabels(batch: Pick<NerBatch, 'batchSize' | 'seqLength' | 'wordIds' | 'numWords'>, tokenPredictions: ArrayLike<number>, labels: readonly string[], missingLabel = 'O'): string[][] {
  const { batchSize: B, seqLength: T } = batch;
  if (tokenPredictions.length !== B * T) throw new Error(`nerBatchWordLabels: ${tokenPredictions.length} predictions for a ${B} × ${T} batch`);
  const out: string[][] = [];
  for (let b = 0; b < B; b++) {
    const row = Array.prototype.slice.call(tokenPredictions, b * T, (b + 1) * T) as number[];
    out.push(wordLabelsFromPredictions(batch.wordIds[b], row, batch.numWords[b], labels, missingLabel));
  }
  return out;
}
