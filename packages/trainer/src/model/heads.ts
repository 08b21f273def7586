// Task heads on top of the encoder, and the losses they train with.
//
// mlm:       cls.predictions.transform (dense + act + LayerNorm), then the decoder tied to the word
//            embeddings plus its own bias cls.predictions.bias (Hugging Face BertForMaskedLM).
// seq_cls:   'cls' pooling = bert.pooler (dense + tanh on [CLS]) → dropout → classifier, as in
//            BertForSequenceClassification; 'mean' pooling = masked mean of the last hidden states
//            → dropout → classifier (no pooler).
// token_cls: dropout → classifier on every token (BertForTokenClassification); with `crf` the
//            logits are a linear-chain CRF's emissions (NLL loss, Viterbi decoding; crf_head.ts).
// embedding: masked mean pooling, optionally L2-normalised (sentence-transformers' default).

import { validateCrfSpec, type CrfHeadSpec } from './crf_head.js';

export type HeadSpec =
  | { kind: 'mlm' }
  | { kind: 'seq_cls'; numLabels: number; pooling: 'cls' | 'mean' }
  | { kind: 'token_cls'; numLabels: number; crf?: CrfHeadSpec }
  | { kind: 'embedding'; normalize: boolean };

/**
 * Loss options of one head.
 * - classifier heads and MLM: cross-entropy over labels (−100 = ignored); `classWeights` gives
 *   PyTorch's weighted mean (Σ wᵧ·lossᵢ / Σ wᵧ); `focalGamma` > 0 turns it into focal loss
 *   −αᵧ (1−pᵧ)^γ log pᵧ averaged over the non-ignored rows, with `focalAlpha` per class (default 1).
 * - embedding head: 'mnr' = MultipleNegativesRankingLoss: the batch holds n anchors (rows 0..n−1)
 *   then their n positives (rows n..2n−1); scores = scale·cos(aᵢ, pⱼ), cross-entropy with target i
 *   (in-batch negatives; scale 20 as in sentence-transformers). 'cosine' = CosineSimilarityLoss:
 *   mean of (cos(eᵢ, eₙ₊ᵢ) − targetᵢ)² over the n pairs.
 */
export interface LossOptions {
  classWeights?: ArrayLike<number> | null;
  focalGamma?: number;
  focalAlpha?: ArrayLike<number> | null;
  embeddingLoss?: 'mnr' | 'cosine';
  mnrScale?: number;
  cosineTargets?: ArrayLike<number>;
}

export const MNR_SCALE = 20;

export function validateHeads(heads: HeadSpec[]): void {
  if (!Array.isArray(heads) || heads.length === 0) throw new Error('heads: expected a non-empty array of HeadSpec');
  let mlm = 0;
  heads.forEach((h, i) => {
    const where = `heads[${i}]`;
    switch (h?.kind) {
      case 'mlm':
        mlm++;
        break;
      case 'seq_cls':
        if (h.pooling !== 'cls' && h.pooling !== 'mean') throw new Error(`${where}.pooling must be 'cls' or 'mean', got ${JSON.stringify(h.pooling)}`);
        if (!Number.isInteger(h.numLabels) || h.numLabels < 1) throw new Error(`${where}.numLabels must be a positive integer, got ${String(h.numLabels)}`);
        break;
      case 'token_cls':
        if (!Number.isInteger(h.numLabels) || h.numLabels < 1) throw new Error(`${where}.numLabels must be a positive integer, got ${String(h.numLabels)}`);
        if (h.crf) validateCrfSpec(h.crf, h.numLabels, where);
        break;
      case 'embedding':
        if (typeof h.normalize !== 'boolean') throw new Error(`${where}.normalize must be a boolean`);
        break;
      default:
        throw new Error(`${where}.kind must be one of mlm, seq_cls, token_cls, embedding; got ${JSON.stringify((h as { kind?: unknown })?.kind)}`);
    }
  });
  if (mlm > 1) throw new Error('heads: at most one mlm head');
  if (heads.filter((h) => h.kind === 'seq_cls' && h.pooling === 'cls').length > 1) {
    throw new Error("heads: at most one seq_cls head with pooling 'cls' (they would share bert.pooler)");
  }
}

/**
 * Name prefix of a classifier head's parameters. With a single classifier head (the usual case) it
 * is Hugging Face's `classifier` (so checkpoints load in transformers); in a multi-task model with
 * several classifier heads, head i uses `heads.<i>.classifier`.
 */
export function classifierPrefix(heads: HeadSpec[], index: number): string {
  const n = heads.filter((h) => h.kind === 'seq_cls' || h.kind === 'token_cls').length;
  return n <= 1 ? 'classifier' : `heads.${index}.classifier`;
}

/**
 * The divisor of a head's summed cross-entropy, as PyTorch's mean: the number of non-ignored rows
 * (label ≠ −100), or with `classWeights` the sum of their weights (0 = nothing to learn). Checks
 * that the per-class arrays have one entry per class and that γ ≥ 0. Used by the GPU heads and
 * the float64 reference alike.
 */
export function crossEntropyNormalizer(labels: ArrayLike<number>, N: number, numClasses: number, loss: LossOptions): number {
  const cw = loss.classWeights ?? null;
  const alpha = loss.focalAlpha ?? null;
  const gamma = loss.focalGamma ?? 0;
  if (cw && cw.length !== numClasses) throw new Error(`loss.classWeights has ${cw.length} entries, the head has ${numClasses} classes`);
  if (alpha && alpha.length !== numClasses) throw new Error(`loss.focalAlpha has ${alpha.length} entries, the head has ${numClasses} classes`);
  if (!(gamma >= 0)) throw new Error(`loss.focalGamma must be >= 0, got ${gamma}`);
  let normalizer = 0;
  for (let i = 0; i < N; i++) if (labels[i] !== -100) normalizer += cw ? cw[labels[i]] : 1;
  return normalizer;
}
