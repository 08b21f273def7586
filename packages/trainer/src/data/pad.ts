// Padding and length bucketing: examples of different lengths → one Int32Array batch, row-major
// [batchSize, seqLength], ready to upload to the GPU.

import { shuffleInPlace, type Rng } from './rng.js';

/** One tokenized example (an `Encoding` qualifies). */
export interface TokenizedExample {
  ids: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
}

/** A batch for the model. Token-level arrays are [batchSize, seqLength], row-major. */
export interface TokenBatch {
  batchSize: number;
  seqLength: number;
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  /** Token labels [B, T] (−100 = ignored), sequence labels [B], or null. */
  labels: Int32Array | null;
  /** Shape of `labels`: [B, T] or [B]; [] when labels is null. */
  labelShape: number[];
}

export interface PadOptions {
  /** Id of [PAD] (tokenizer.specialIds.pad). */
  padId: number;
  /** Pad every row to exactly this length (error if an example is longer). Default: the longest. */
  padTo?: number;
  /** Round the padded length up to a multiple of this (e.g. 8). */
  padToMultipleOf?: number;
  /** Label value for padding positions. Default −100. */
  labelPadId?: number;
}

/**
 * Pad examples into one batch. `tokenLabels` (one array per example, same length as its ids) are
 * padded with −100; `sequenceLabels` (one int per example) are copied. At most one of the two.
 */
export function padBatch(
  examples: readonly TokenizedExample[],
  options: PadOptions,
  labels?: { tokenLabels?: readonly ArrayLike<number>[]; sequenceLabels?: ArrayLike<number> },
): TokenBatch {
  const B = examples.length;
  if (B === 0) throw new Error('padBatch: no examples');
  if (!Number.isInteger(options.padId)) throw new Error(`padBatch: padId must be an integer, got ${options.padId}`);
  let T = 0;
  examples.forEach((e, b) => {
    if (!e || e.ids === undefined) throw new Error(`padBatch: example ${b} has no ids`);
    if (e.tokenTypeIds && e.tokenTypeIds.length !== e.ids.length) {
      throw new Error(`padBatch: example ${b} has ${e.ids.length} ids but ${e.tokenTypeIds.length} token type ids`);
    }
    T = Math.max(T, e.ids.length);
  });
  if (options.padTo !== undefined) {
    if (T > options.padTo) {
      const b = examples.findIndex((e) => e.ids.length > options.padTo!);
      throw new Error(`padBatch: example ${b} has ${examples[b].ids.length} tokens, more than padTo ${options.padTo}; truncate when encoding`);
    }
    T = options.padTo;
  }
  const m = options.padToMultipleOf;
  if (m !== undefined) {
    if (!Number.isInteger(m) || m < 1) throw new Error(`padBatch: padToMultipleOf must be a positive integer, got ${m}`);
    T = Math.ceil(T / m) * m;
  }
  T = Math.max(T, 1);
  const inputIds = new Int32Array(B * T).fill(options.padId);
  const attentionMask = new Int32Array(B * T);
  const tokenTypeIds = new Int32Array(B * T);
  examples.forEach((e, b) => {
    const n = e.ids.length;
    for (let t = 0; t < n; t++) {
      inputIds[b * T + t] = e.ids[t];
      attentionMask[b * T + t] = 1;
      if (e.tokenTypeIds) tokenTypeIds[b * T + t] = e.tokenTypeIds[t];
    }
  });
  let out: Int32Array | null = null;
  let labelShape: number[] = [];
  if (labels?.tokenLabels && labels.sequenceLabels) throw new Error('padBatch: give token labels or sequence labels, not both');
  if (labels?.tokenLabels) {
    const tl = labels.tokenLabels;
    if (tl.length !== B) throw new Error(`padBatch: ${tl.length} label rows for ${B} examples`);
    out = new Int32Array(B * T).fill(options.labelPadId ?? -100);
    tl.forEach((row, b) => {
      if (row.length !== examples[b].ids.length) {
        throw new Error(`padBatch: example ${b} has ${examples[b].ids.length} tokens but ${row.length} labels`);
      }
      for (let t = 0; t < row.length; t++) out![b * T + t] = row[t];
    });
    labelShape = [B, T];
  } else if (labels?.sequenceLabels) {
    const sl = labels.sequenceLabels;
    if (sl.length !== B) throw new Error(`padBatch: ${sl.length} labels for ${B} examples`);
    out = Int32Array.from(sl as ArrayLike<number>);
    labelShape = [B];
  }
  return { batchSize: B, seqLength: T, inputIds, attentionMask, tokenTypeIds, labels: out, labelShape };
}

export interface BucketOptions {
  batchSize: number;
  /** Shuffle within and across buckets with this generator; without it, batches are sorted by length. */
  rng?: Rng;
  /** Examples sorted together: batchSize × poolBatches (default 50). */
  poolBatches?: number;
  /** Drop the last incomplete batch. Default false. */
  dropLast?: boolean;
}

/**
 * Length bucketing: returns batches of example indices whose lengths are close, so little of
 * each batch is padding. With `rng`: shuffle all indices, cut them into pools of
 * batchSize·poolBatches, sort each pool by length, cut into batches, shuffle the batch order.
 * Without `rng` (evaluation): sort everything by length (stable) and cut. Every index appears
 * exactly once (unless dropLast drops the tail).
 */
export function lengthBuckets(lengths: ArrayLike<number>, options: BucketOptions): number[][] {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`lengthBuckets: batchSize must be a positive integer, got ${batchSize}`);
  const pool = batchSize * (options.poolBatches ?? 50);
  const idx = Array.from({ length: lengths.length }, (_, i) => i);
  const byLength = (a: number, b: number) => lengths[a] - lengths[b] || a - b;
  const batches: number[][] = [];
  const cut = (list: number[]) => {
    for (let i = 0; i < list.length; i += batchSize) batches.push(list.slice(i, i + batchSize));
  };
  if (options.rng) {
    shuffleInPlace(idx, options.rng);
    for (let p = 0; p < idx.length; p += pool) cut(idx.slice(p, p + pool).sort(byLength));
  } else {
    cut(idx.sort(byLength));
  }
  let result = batches;
  if (options.dropLast) result = batches.filter((b) => b.length === batchSize);
  if (options.rng) shuffleInPlace(result, options.rng);
  return result;
}
