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
