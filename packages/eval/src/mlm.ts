// Masked-LM metrics over the masked positions only: a label of `ignoreIndex` (−100, the Hugging
// Face convention) marks a position that was not masked and is skipped.
//   accuracy   = fraction of masked positions whose argmax (first maximum) is the label
//   crossEntropy = mean over masked positions of −log softmax(logits)[label], in float64 with
//                log-sum-exp (so large logits do not overflow)
//   perplexity = exp(crossEntropy)

import { checkNonEmpty, checkPositiveInt, fail } from './check.js';

export interface MlmScores {
  accuracy: number;
  crossEntropy: number;
  perplexity: number;
  /** Number of masked positions scored. */
  count: number;
}

/**
 * Scores flat logits (positions × vocabSize, row-major, e.g. read back from the GPU) against one
 * label per position.
 */
export function mlmScores(logits: ArrayLike<number>, vocabSize: number, labels: ArrayLike<number>, opts: { ignoreIndex?: number } = {}): MlmScores {
  const fn = 'mlmScores';
  checkPositiveInt(fn, 'vocabSize', vocabSize);
  checkNonEmpty(fn, 'labels', labels);
  const ignore = opts.ignoreIndex ?? -100;
  if (logits.length !== labels.length * vocabSize) {
    fail(fn, `'logits' has ${logits.length} values, expected labels.length × vocabSize = ${labels.length} × ${vocabSize}`);
  }
  let count = 0, correct = 0, nll = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y === ignore) continue;
    if (!Number.isInteger(y) || y < 0 || y >= vocabSize) fail(fn, `'labels[${i}]' = ${String(y)} is neither ${ignore} nor a token id in [0, ${vocabSize})`);
    const o = i * vocabSize;
    let max = -Infinity, arg = 0;
    for (let v = 0; v < vocabSize; v++) {
      const z = logits[o + v];
      if (Number.isNaN(z)) fail(fn, `'logits' is NaN at position ${i}, token ${v}`);
      if (z > max) { max = z; arg = v; }
    }
    let sum = 0;
    for (let v = 0; v < vocabSize; v++) sum += Math.exp(logits[o + v] - max);
    nll += max + Math.log(sum) - logits[o + y];
    if (arg === y) correct++;
    count++;
  }
  if (count === 0) fail(fn, `'labels' has no masked position (every label is ${ignore})`);
  const crossEntropy = nll / count;
  return { accuracy: correct / count, crossEntropy, perplexity: Math.exp(crossEntropy), count };
}

/** Masked-token accuracy from predicted token ids (one per position). */
export function mlmAccuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>, opts: { ignoreIndex?: number } = {}): number {
  const fn = 'mlmAccuracy';
  checkNonEmpty(fn, 'labels', labels);
  if (predictions.length !== labels.length) fail(fn, `'predictions' has ${predictions.length} entries but 'labels' has ${labels.length}`);
  const ignore = opts.ignoreIndex ?? -100;
  let count = 0, correct = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === ignore) continue;
    count++;
    if (predictions[i] === labels[i]) correct++;
  }
  if (count === 0) fail(fn, `'labels' has no masked position (every label is ${ignore})`);
  return correct / count;
}

/**
 * Perplexity from a mean cross-entropy in nats, or from a total negative log-likelihood and the
 * number of tokens it covers: exp(mean).
 */
export function perplexity(meanCrossEntropy: number): number;
export function perplexity(totalNll: number, tokens: number): number;
export function perplexity(a: number, tokens?: number): number {
  const fn = 'perplexity';
  if (typeof a !== 'number' || Number.isNaN(a)) fail(fn, `cross-entropy is ${String(a)}`);
  if (tokens !== undefined) {
    checkPositiveInt(fn, 'tokens', tokens);
    return Math.exp(a / tokens);
  }
  return Math.exp(a);
}

/**
 * The context-free baseline a masked-LM must beat: a unigram model that predicts every masked
 * token from token frequencies alone. p(v) = (count[v] + 1) / (N + K) (add-one smoothing over the K
 * entries of `counts` that are not excluded, so no held-out token gets probability 0); excluded
 * ids (special tokens, which are never masked) get probability 0 and are never predicted. Scores
 * the same masked labels as `mlmScores`, so both can be set side by side on the same masks.
 */
export function unigramScores(counts: ArrayLike<number>, maskedLabels: ArrayLike<number>, opts: { exclude?: Iterable<number> } = {}): MlmScores {
  const fn = 'unigramScores';
  checkNonEmpty(fn, 'counts', counts);
  checkNonEmpty(fn, 'maskedLabels', maskedLabels);
  const excluded = new Set(opts.exclude ?? []);
  let total = 0, kept = 0, best = -1;
  for (let v = 0; v < counts.length; v++) {
    if (excluded.has(v)) continue;
    const c = counts[v];
    if (!(c >= 0) || !Number.isFinite(c)) fail(fn, `'counts[${v}]' = ${String(c)} is not a finite count ≥ 0`);
    total += c;
    kept++;
    if (best < 0 || c > counts[best]) best = v; // first maximum, as argmax elsewhere
  }
  if (kept === 0) fail(fn, `every id of 'counts' is excluded`);
  let nll = 0, correct = 0;
  for (let i = 0; i < maskedLabels.length; i++) {
    const y = maskedLabels[i];
    if (!Number.isInteger(y) || y < 0 || y >= counts.length || excluded.has(y)) fail(fn, `'maskedLabels[${i}]' = ${String(y)} is not a scorable token id`);
    nll -= Math.log((counts[y] + 1) / (total + kept));
    if (y === best) correct++;
  }
  const crossEntropy = nll / maskedLabels.length;
  return { accuracy: correct / maskedLabels.length, crossEntropy, perplexity: Math.exp(crossEntropy), count: maskedLabels.length };
}
