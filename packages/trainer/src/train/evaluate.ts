// Scoring a model on labelled examples with @tunebench/eval's metrics, and turning predictions
// into output rows. One `main_score` per task: accuracy (seq_cls), entity micro-F1 (token_cls,
// seqeval strict IOB2 mode; `f1` is the default, lenient mode), masked-token accuracy (mlm).
// token_cls is scored at word level, whatever the head: each word takes the prediction of its
// first sub-token (wordPredictions); a CRF head's prediction is its Viterbi path.

import { accuracy, precisionRecallF1, nerConfusion, nerScores, mlmScores, recallAtK, mrr } from '@tunebench/eval';
import { crfPositions } from '../model/index.js';
import { wordPredictions, IGNORE_INDEX } from '../data/index.js';
import type { TaskKind } from '../config/schema.js';
import type { TrainBackend } from './backend.js';
import { evalBatches, maskSeed, type Collator, type Example } from './data.js';
import { costlyMetrics, decide, type CostlySetup, type Scored } from './costly.js';

export interface EvalResult {
  metrics: Record<string, number>;
  /** Per example: predicted label (seq_cls) or tags (token_cls). */
  predictions: { id: string; label?: string; tags?: string[]; probs?: number[]; embedding?: number[] }[];
  /** seq_cls with labels: true label index and probabilities per labelled example (costly-class decisions). */
  scored?: Scored;
}

function argmaxRow(a: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[off + j] > a[off + best]) best = j;
  return best;
}

function softmaxRow(a: Float32Array, off: number, n: number): number[] {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, a[off + j]);
  const e = Array.from({ length: n }, (_, j) => Math.exp(a[off + j] - m));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((x) => x / s);
}

/** A model produced NaN or an infinity where a number was due (outputs, loss, gradients). */
export class NonFiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/**
 * Evaluate `backend` on `examples` (eval mode). MLM masks with a fixed seed per batch, so dev
 * losses are comparable across steps and runs. `withLabels` = false skips the metrics (predict).
 */
export async function evaluateExamples(
  backend: TrainBackend,
  collator: Collator,
  task: TaskKind,
  labels: string[],
  examples: readonly Example[],
  batchSize: number,
  opts: { withLabels?: boolean; evalSeed?: number; costly?: CostlySetup | null } = {},
): Promise<EvalResult> {
  const withLabels = opts.withLabels ?? true;
  const predictions: EvalResult['predictions'] = [];
  let lossSum = 0, lossRows = 0;
  const yTrue: number[] = [], yPred: number[] = [];
  const yProbs: number[][] = [];
  const goldTags: string[][] = [], predTags: string[][] = [];
  let mlmCorrect = 0, mlmCount = 0, mlmNll = 0;
  const anchors: Float64Array[] = [], positives: Float64Array[] = [];
  let bi = 0;
  for (const { items } of evalBatches(examples, batchSize)) {
    const batch = collator.collate(items, maskSeed(opts.evalSeed ?? 0x5eed, 1 << 20, bi++));
    const head0 = backend.heads[0];
    const crf = task === 'token_cls' && head0.kind === 'token_cls' && head0.crf ? head0.crf : null;
    // a CRF head decodes (Viterbi) over the tokens it was trained on: first pieces, or every piece
    const crfPositionsOf = crf ? items.map((e) => crfPositions(e.enc.wordIds, crf.align ?? 'first')) : undefined;
    const pred = await backend.predict(batch, { crfPositions: crfPositionsOf });
    const bad = pred.logits.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new NonFiniteError(`the model's outputs hold a non-finite value (${pred.logits[bad]}) in the batch of rows ${items[0]!.id}…${items[items.length - 1]!.id}; ` +
        'its weights are damaged or training diverged, so no score or prediction is written');
    }
    if (Number.isFinite(pred.loss)) {
      lossSum += pred.loss * items.length;
      lossRows += items.length;
    }
    const { T } = batch;
    if (task === 'seq_cls') {
      const L = labels.length;
      items.forEach((e, b) => {
        const p = argmaxRow(pred.logits, b * L, L);
        const probs = softmaxRow(pred.logits, b * L, L);
        predictions.push({ id: e.id, label: labels[p], probs });
        if (e.label !== IGNORE_INDEX) {
          yTrue.push(e.label);
          yPred.push(p);
          yProbs.push(probs);
        }
      });
    } else if (task === 'token_cls') {
      const L = labels.length;
      if (crf && !pred.crfPaths) throw new Error('evaluate: the CRF head returned no Viterbi paths');
      items.forEach((e, b) => {
        const tokPred = new Int32Array(T);
        if (crf) {
          // tokens outside the CRF sequence keep tag 0; wordPredictions reads each word's first piece
          for (let t = 0; t < T; t++) tokPred[t] = Math.max(0, pred.crfPaths![b * T + t]);
        } else {
          for (let t = 0; t < T; t++) tokPred[t] = argmaxRow(pred.logits, (b * T + t) * L, L);
        }
        const words = wordPredictions(e.enc.wordIds, tokPred, e.tokens!.length, 0);
        const tags = [...words].map((w) => labels[w]);
        predictions.push({ id: e.id, tags });
        if (e.tags) {
          goldTags.push(e.tags);
          predTags.push(tags);
        }
      });
    } else if (task === 'mlm') {
      const V = backend.config.vocabSize;
      // The model returns logits for every position (B·T, V) or for the masked rows only (n, V).
      const masked: number[] = [];
      for (let i = 0; i < batch.labels.length; i++) if (batch.labels[i] !== IGNORE_INDEX) masked.push(i);
      const full = pred.logits.length === batch.B * T * V;
      if (!full && pred.logits.length !== masked.length * V) {
        throw new Error(`evaluate: MLM logits have ${pred.logits.length} values; expected ${batch.B * T}·${V} or ${masked.length}·${V}`);
      }
      if (masked.length) {
        const rows = new Float32Array(masked.length * V);
        masked.forEach((pos, r) => rows.set(full ? pred.logits.subarray(pos * V, (pos + 1) * V) : pred.logits.subarray(r * V, (r + 1) * V), r * V));
        const s = mlmScores(rows, V, masked.map((pos) => batch.labels[pos]));
        mlmCorrect += s.accuracy * s.count;
        mlmNll += s.crossEntropy * s.count;
        mlmCount += s.count;
      }
    } else if (task === 'embedding') {
      // (2n, H): anchors then positives; the model normalises them when the head says so.
      const H = backend.config.hiddenSize, n = items.length;
      for (let i = 0; i < n; i++) {
        const a = pred.logits.subarray(i * H, (i + 1) * H);
        anchors.push(unit(a));
        positives.push(unit(pred.logits.subarray((n + i) * H, (n + i + 1) * H)));
        // predict writes the anchor's sentence embedding (normalised when the head normalises)
        predictions.push({ id: items[i].id, embedding: Array.from(a) });
      }
    } else {
      throw new Error(`evaluate: task '${task}' is not supported by the evaluator`);
    }
  }
  const metrics: Record<string, number> = {};
  if (withLabels) {
    if (lossRows) metrics.loss = lossSum / lossRows;
    if (task === 'seq_cls' && yTrue.length) {
      metrics.accuracy = accuracy(yTrue, yPred);
      metrics.macro_f1 = precisionRecallF1(yTrue, yPred, { average: 'macro', labels: labels.map((_, i) => i) }).f1;
      metrics.main_score = metrics.accuracy;
      // A costly class: its metrics and the expected cost (the main score, lower is better) of the
      // argmax decisions; the run's final decision rule is applied by finalCostlyMetrics.
      if (opts.costly) Object.assign(metrics, costlyMetrics(opts.costly, { yTrue, probs: yProbs }, decide({ ...opts.costly, decision: 'argmax' }, yProbs, null)));
      metrics.count = yTrue.length;
    } else if (task === 'token_cls' && goldTags.length) {
      Object.assign(metrics, nerMetrics(goldTags, predTags, labels));
      metrics.count = goldTags.length;
    } else if (task === 'embedding' && anchors.length) {
      // Retrieval of each anchor's own pair among all dev positives, by cosine similarity.
      const scores = anchors.map((a) => positives.map((p) => dot(a, p)));
      const relevant = anchors.map((_, i) => [i]);
      metrics.recall_at_1 = recallAtK(scores, relevant, 1);
      metrics.recall_at_10 = recallAtK(scores, relevant, 10);
      metrics.mrr = mrr(scores, relevant);
      metrics.main_score = metrics.recall_at_1;
      metrics.count = anchors.length;
    } else if (task === 'mlm' && mlmCount) {
      metrics.accuracy = mlmCorrect / mlmCount;
      metrics.loss = mlmNll / mlmCount;
      metrics.perplexity = Math.exp(mlmNll / mlmCount);
      metrics.main_score = metrics.accuracy;
      metrics.count = mlmCount;
    }
  }
  return task === 'seq_cls' ? { metrics, predictions, scored: { yTrue, probs: yProbs } } : { metrics, predictions };
}

/**
 * Word-level NER metrics: entity precision / recall / F1 in seqeval's default (lenient) mode
 * (`precision`, `recall`, `f1`) and strict IOB2 mode (`strict_*`, = main_score), micro and per
 * entity type (`f1_<TYPE>`, `strict_f1_<TYPE>`, `support_<TYPE>`), word accuracy
 * (`token_accuracy`), and the strict entity-type confusion counts (`confusion_<GOLD>_<PRED>`,
 * with GOLD = 'spurious' for predictions on no gold span and PRED = 'missed' for gold entities
 * with no prediction on their span). Tags outside IOB2 (e.g. IOBES): lenient micro scores only.
 */
export function nerMetrics(gold: readonly string[][], pred: readonly string[][], labels: readonly string[] = []): Record<string, number> {
  const m: Record<string, number> = {};
  // Every entity type of the label set gets its keys (0 when absent), so runs and seeds have the same metrics.
  const types = [...new Set(labels.filter((l) => /^[BI]-./.test(l)).map((l) => l.slice(2)))];
  const lenient = nerScores(gold, pred);
  // Strict IOB2 reads only O / B-X / I-X tags; a label set in another scheme (IOBES) is scored
  // in the lenient mode only, and its main_score is the lenient micro-F1.
  const iob2 = [...gold, ...pred].every((ts) => ts.every((t) => t === 'O' || /^[BI]-/.test(t)));
  if (!iob2) {
    m.f1 = lenient.micro.f1;
    m.precision = lenient.micro.precision;
    m.recall = lenient.micro.recall;
    m.main_score = m.f1;
    return m;
  }
  const strict = nerScores(gold, pred, { mode: 'strict', scheme: 'IOB2' });
  m.f1 = lenient.micro.f1;
  m.precision = lenient.micro.precision;
  m.recall = lenient.micro.recall;
  m.strict_f1 = strict.micro.f1;
  m.strict_precision = strict.micro.precision;
  m.strict_recall = strict.micro.recall;
  for (const type of new Set([...types, ...Object.keys(lenient.perType), ...Object.keys(strict.perType)])) {
    m[`f1_${type}`] = lenient.perType[type]?.f1 ?? 0;
    m[`strict_f1_${type}`] = strict.perType[type]?.f1 ?? 0;
    m[`support_${type}`] = strict.perType[type]?.support ?? 0;
  }
  let words = 0, right = 0;
  gold.forEach((g, i) => g.forEach((t, j) => { words++; if (pred[i][j] === t) right++; }));
  m.token_accuracy = words ? right / words : 0;
  const confusion = nerConfusion(gold, pred, { mode: 'strict', scheme: 'IOB2' });
  for (const g of [...types, 'spurious']) {
    for (const p of [...types, 'missed']) if (g !== 'spurious' || p !== 'missed') m[`confusion_${g}_${p}`] = 0;
  }
  for (const [g, row] of Object.entries(confusion)) {
    for (const [p, n] of Object.entries(row)) m[`confusion_${g}_${p}`] = n;
  }
  m.main_score = m.strict_f1;
  return m;
}

/** Share of the most frequent label (the majority-class baseline accuracy). */
export function majorityBaseline(examples: readonly Example[]): number {
  const counts = new Map<number, number>();
  let n = 0;
  for (const e of examples) {
    if (e.label === IGNORE_INDEX) continue;
    counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
    n++;
  }
  return n ? Math.max(...counts.values()) / n : Number.NaN;
}

function unit(v: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s) || 1;
  return Float64Array.from(v, (x) => x / n);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The finetune run directory's per-example test predictions (read by the bench runner's evidence sidecars). */
export const TEST_PREDICTIONS_FILE = 'test_predictions.jsonl';

/**
 * One JSON line per labelled test example, in the examples' order: seq_cls
 * `{"id", "gold", "pred", "probs"}` (label names; `pred` is the decision the metrics counted:
 * the argmax, or a costly-class run's final decision rule; probabilities rounded to 6 decimals),
 * token_cls `{"id", "gold", "pred"}` with word-level tag lists. null for tasks without
 * per-example labels to pair on (mlm: masked positions; embedding: retrieval among the batch).
 */
export function testPredictionLines(task: TaskKind, labels: readonly string[], examples: readonly Example[], r: EvalResult, decisions: Int32Array | null = null): string | null {
  if (task !== 'seq_cls' && task !== 'token_cls') return null;
  const byId = new Map(examples.map((e) => [e.id, e]));
  const lines: string[] = [];
  let k = 0; // index among the labelled examples (decisions are over those)
  for (const p of r.predictions) {
    const e = byId.get(p.id);
    if (!e) throw new Error(`testPredictionLines: prediction for unknown example ${p.id}`);
    if (task === 'seq_cls') {
      if (e.label === IGNORE_INDEX) continue;
      const pred = decisions ? labels[decisions[k]!] : p.label;
      lines.push(JSON.stringify({ id: e.id, gold: labels[e.label], pred, probs: (p.probs ?? []).map((x) => Math.round(x * 1e6) / 1e6) }));
      k++;
    } else {
      if (!e.tags) continue;
      lines.push(JSON.stringify({ id: e.id, gold: e.tags, pred: p.tags }));
    }
  }
  return lines.length ? lines.join('\n') + '\n' : null;
}
