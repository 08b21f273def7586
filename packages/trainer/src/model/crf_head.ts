// The CRF option of the token_cls head (BiLSTM-CRF style, Lample et al. 2016, on a BERT encoder):
// the classifier's logits are the CRF's emissions, the loss is the CRF's negative log-likelihood
// of the gold tag path instead of a per-token cross-entropy, and prediction is Viterbi decoding.
//
// Which tokens form a CRF sequence: the tokens that carry a label (label ≠ −100), in order. With
// first-sub-token alignment that is one token per word (crf_first); with all-sub-token alignment
// every word piece (crf_all). [CLS], [SEP] and padding never carry a label, so never enter the
// CRF. At prediction time the same tokens are chosen from the encoding's word ids (crfPositions).
//
// Parameters: one tensor `crf.transitions` of shape (K + 2, K) — rows 0..K−1 the transition
// scores i → j, row K the start scores, row K+1 the end scores (the packed layout of the CRF
// kernels, @tunebench/kernels crf.ts). With BIO constraints the forbidden entries (O → I-X,
// B-X → I-Y, I-X → I-Y, start → I-X) are masked out of the partition function and of Viterbi.
//
// The loss is the token mean: Σ_b NLL_b / Σ_b length_b, so its scale per token is comparable to
// the per-token cross-entropy of the softmax head (the same learning rates apply).

import { bioAllowed, crf_backward_reference, crf_forward_reference, crf_viterbi_reference } from '@tunebench/kernels';
import type { HeadSpec } from './heads.js';

export type CrfConstraints = 'bio' | 'none';

/** The CRF part of a token_cls head spec. `labels` (the tag names, in id order) is needed for 'bio'. */
export interface CrfHeadSpec {
  constraints: CrfConstraints;
  labels?: string[];
  /** Which tokens form the sequence at prediction time (crfPositions): the label alignment it was trained with; default 'first'. */
  align?: 'first' | 'all';
}

/** Name of the packed CRF parameter of head `index` (`crf.transitions` in a single-head model). */
export function crfParamName(heads: HeadSpec[], index: number): string {
  const n = heads.filter((h) => h.kind === 'seq_cls' || h.kind === 'token_cls').length;
  return n <= 1 ? 'crf.transitions' : `heads.${index}.crf.transitions`;
}

export function validateCrfSpec(crf: CrfHeadSpec, numLabels: number, where: string): void {
  if (crf.constraints !== 'bio' && crf.constraints !== 'none') throw new Error(`${where}.crf.constraints must be 'bio' or 'none', got ${JSON.stringify(crf.constraints)}`);
  if (crf.align !== undefined && crf.align !== 'first' && crf.align !== 'all') throw new Error(`${where}.crf.align must be 'first' or 'all', got ${JSON.stringify(crf.align)}`);
  if (crf.constraints === 'bio') {
    if (!Array.isArray(crf.labels) || crf.labels.length !== numLabels) {
      throw new Error(`${where}.crf.labels must list the ${numLabels} tag names for BIO constraints, got ${crf.labels ? crf.labels.length : 'none'}`);
    }
  }
}

/** The (K + 2, K) allowed-transition mask of a CRF head, or null (everything allowed). */
export function crfAllowed(crf: CrfHeadSpec): Uint32Array | null {
  return crf.constraints === 'bio' ? bioAllowed(crf.labels!) : null;
}

/** The compacted CRF sequences of a batch (see the file header). */
export interface CrfSequences {
  /** Longest sequence (≥ 1). */
  S: number;
  /** (B) tokens per sequence. */
  lengths: Int32Array;
  /**
   * (B·S) row of the (B·T) token grid feeding each CRF position. Positions past a sequence's
   * length point at distinct unused tokens of the same row (every row index appears once, so a
   * scatter-add back through them cannot race); their emissions are ignored and their gradients 0.
   */
  rows: Int32Array;
  /** (B·S) gold tag per CRF position (0 past the length). */
  tags: Int32Array;
  /** Σ lengths: the loss's divisor. */
  count: number;
}

/** Gather the labelled tokens of each row of a (B, T) label grid into CRF sequences. */
export function crfSequences(labels: ArrayLike<number>, B: number, T: number): CrfSequences {
  const perRow: number[][] = [];
  for (let b = 0; b < B; b++) {
    const p: number[] = [];
    for (let t = 0; t < T; t++) if (labels[b * T + t] !== -100) p.push(t);
    perRow.push(p);
  }
  const S = Math.max(1, ...perRow.map((p) => p.length));
  const rows = new Int32Array(B * S), tags = new Int32Array(B * S), lengths = new Int32Array(B);
  let count = 0;
  perRow.forEach((p, b) => {
    lengths[b] = p.length;
    count += p.length;
    const used = new Set(p);
    const unused: number[] = [];
    for (let t = 0; t < T && p.length + unused.length < S; t++) if (!used.has(t)) unused.push(t);
    [...p, ...unused].forEach((t, s) => {
      rows[b * S + s] = b * T + t;
      if (s < p.length) tags[b * S + s] = labels[b * T + t];
    });
  });
  return { S, lengths, rows, tags, count };
}

/**
 * BIO heads: rewrite each gold I-X that does not continue an X entity within its CRF sequence
 * into B-X (IOB2, as seqeval's lenient reading sees it). Word-level IOB2 tags stay IOB2 after
 * alignment except where a word between B-X and I-X produced no token (an empty or unknown-only
 * word dropped by the tokenizer); there the gold path would be impossible under the constraints.
 * Returns how many tags were rewritten. An I-X without a B-X in the label set is left as it is
 * (checkGoldPaths then reports it).
 */
export function repairIob2(seq: CrfSequences, labelNames: readonly string[]): number {
  const id = new Map(labelNames.map((l, i) => [l, i]));
  let n = 0;
  for (let b = 0; b < seq.lengths.length; b++) {
    for (let s = 0; s < seq.lengths[b]; s++) {
      const l = labelNames[seq.tags[b * seq.S + s]];
      if (!l?.startsWith('I-')) continue;
      const prev = s > 0 ? labelNames[seq.tags[b * seq.S + s - 1]] : 'O';
      const type = l.slice(2);
      if ((prev.startsWith('B-') || prev.startsWith('I-')) && prev.slice(2) === type) continue;
      const begin = id.get(`B-${type}`);
      if (begin !== undefined) {
        seq.tags[b * seq.S + s] = begin;
        n++;
      }
    }
  }
  return n;
}

/**
 * Throws, naming the row and position, when a gold tag path uses a transition the mask forbids
 * (e.g. a silver label O followed by I-X): its likelihood would be 0 and its loss infinite.
 */
export function checkGoldPaths(seq: CrfSequences, allowed: Uint32Array | null, K: number, labelNames?: readonly string[]): void {
  if (!allowed) return;
  const name = (k: number) => labelNames?.[k] ?? String(k);
  const B = seq.lengths.length;
  for (let b = 0; b < B; b++) {
    const L = seq.lengths[b];
    for (let s = 0; s < L; s++) {
      const y = seq.tags[b * seq.S + s];
      const e = s === 0 ? K * K + y : seq.tags[b * seq.S + s - 1] * K + y;
      if (!allowed[e]) {
        const what = s === 0 ? `starts with ${name(y)}` : `has ${name(seq.tags[b * seq.S + s - 1])} → ${name(y)}`;
        throw new Error(`crf head: batch row ${b} ${what} at labelled token ${s}, which the BIO constraints forbid; ` +
          "repair the tags to IOB2 (an I-X that does not continue an X entity becomes B-X) or set task.crfConstraints 'none'");
      }
    }
  }
}

/** Gather rows of a (B·T, K) matrix into the compacted (B·S, K) layout. */
export function gatherEmissions(logits: ArrayLike<number>, seq: CrfSequences, K: number): Float64Array {
  const out = new Float64Array(seq.rows.length * K);
  seq.rows.forEach((r, i) => {
    for (let k = 0; k < K; k++) out[i * K + k] = logits[r * K + k];
  });
  return out;
}

/**
 * Viterbi decoding of one example on the host (float64): `logits` (T, K) of its row, `positions`
 * the tokens of its CRF sequence, `crf` the packed parameters. Returns one tag per position.
 */
export function crfDecode(logits: ArrayLike<number>, positions: readonly number[], crf: ArrayLike<number>, allowed: Uint32Array | null, K: number): Int32Array {
  const L = positions.length;
  if (L === 0) return new Int32Array(0);
  const emissions = new Float64Array(L * K);
  positions.forEach((t, s) => {
    for (let k = 0; k < K; k++) emissions[s * K + k] = logits[t * K + k];
  });
  const path = new Int32Array(L), score = new Float64Array(1);
  crf_viterbi_reference({ emissions, lengths: [L], crf, allowed, B: 1, T: L, K, path, score });
  return path;
}

/**
 * The tokens of one encoding that form its CRF sequence when no labels are given (prediction):
 * the first piece of each word ('first') or every word piece ('all') — the same tokens that carry
 * a label under alignLabels' two modes.
 */
export function crfPositions(wordIds: readonly (number | null)[], mode: 'first' | 'all'): number[] {
  const out: number[] = [];
  let prev: number | null = null;
  wordIds.forEach((w, t) => {
    if (w !== null && (mode === 'all' || w !== prev)) out.push(t);
    prev = w;
  });
  return out;
}

/**
 * The CRF loss in float64 (the reference model's, and the spec of the GPU head): mean NLL per
 * labelled token over the batch, d loss / d logits (B·T, K) and d loss / d crf ((K + 2)·K).
 * `logits` (B·T, K) are the emissions of every token; only labelled tokens enter.
 */
export function crfLossReference(
  logits: ArrayLike<number>, labels: ArrayLike<number>, B: number, T: number, K: number,
  crf: ArrayLike<number>, allowed: Uint32Array | null, labelNames?: readonly string[],
): { loss: number; dlogits: Float64Array; dcrf: Float64Array; count: number } {
  const seq = crfSequences(labels, B, T);
  const dlogits = new Float64Array(B * T * K), dcrf = new Float64Array((K + 2) * K);
  if (seq.count === 0) return { loss: 0, dlogits, dcrf, count: 0 };
  if (allowed && labelNames) repairIob2(seq, labelNames);
  checkGoldPaths(seq, allowed, K, labelNames);
  const ops = { emissions: gatherEmissions(logits, seq, K), lengths: seq.lengths, crf, allowed, tags: seq.tags, B, T: seq.S, K };
  const losses = new Float64Array(B), logZ = new Float64Array(B);
  crf_forward_reference({ ...ops, losses, logZ });
  const demissions = new Float64Array(B * seq.S * K);
  crf_backward_reference({ ...ops, demissions, dcrf, normalizer: seq.count });
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < seq.lengths[b]; s++) {
      const r = seq.rows[b * seq.S + s];
      for (let k = 0; k < K; k++) dlogits[r * K + k] = demissions[(b * seq.S + s) * K + k];
    }
  }
  return { loss: losses.reduce((a, x) => a + x, 0) / seq.count, dlogits, dcrf, count: seq.count };
}
