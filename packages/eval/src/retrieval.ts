// Retrieval metrics from a query × document score matrix and the relevant documents of each
// query. Documents are ranked by score, highest first; tied scores are broken by the lower
// document index first (stated because libraries differ: pytrec_eval breaks ties by document id
// in reverse order). Every query must have at least one relevant document: a query without one
// has no defined recall, and silently scoring it 0 (or skipping it) changes the average.
//   recall@k = |relevant ∩ top k| / |relevant|
//   MRR      = mean of 1 / rank of the first relevant document (0 when none is in the top k)
//   nDCG@k   = DCG@k / IDCG@k, DCG = Σ_{rank r ≤ k} gain / log2(r + 1), linear gains as
//              pytrec_eval's ndcg_cut (binary relevance: gain 1)

import { checkMatrix, checkNonEmpty, checkPositiveInt, checkSameLength, fail } from './check.js';

/** Relevant documents of one query: document indices (gain 1 each) or a map index → gain > 0. */
export type Relevance = readonly number[] | ReadonlyMap<number, number>;

function gainsOf(fn: string, q: number, rel: Relevance, nDocs: number): Map<number, number> {
  const m = new Map<number, number>();
  const entries: Iterable<[number, number]> = rel instanceof Map ? rel.entries() : (rel as readonly number[]).map((d) => [d, 1] as [number, number]);
  for (const [d, g] of entries) {
    if (!Number.isInteger(d) || d < 0 || d >= nDocs) fail(fn, `'relevant[${q}]' names document ${String(d)}, not an index in [0, ${nDocs})`);
    if (typeof g !== 'number' || !(g > 0) || !Number.isFinite(g)) fail(fn, `'relevant[${q}]' gives document ${d} the gain ${String(g)}; gains must be positive`);
    m.set(d, g);
  }
  if (m.size === 0) fail(fn, `'relevant[${q}]' is empty; every query needs at least one relevant document`);
  return m;
}

/** Document indices of one query, best first (ties: lower index first). */
export function rankDocuments(scores: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => (scores[b] - scores[a]) || (a - b));
}

function prepare(fn: string, scores: ReadonlyArray<ArrayLike<number>>, relevant: ReadonlyArray<Relevance>) {
  checkNonEmpty(fn, 'scores', scores);
  checkSameLength(fn, 'scores', scores, 'relevant', relevant);
  const nDocs = checkMatrix(fn, 'scores', scores);
  return scores.map((row, q) => ({ ranking: rankDocuments(row), gains: gainsOf(fn, q, relevant[q], nDocs) }));
}

/** Mean recall@k over queries. */
export function recallAtK(scores: ReadonlyArray<ArrayLike<number>>, relevant: ReadonlyArray<Relevance>, k: number): number {
  const fn = 'recallAtK';
  checkPositiveInt(fn, 'k', k);
  const qs = prepare(fn, scores, relevant);
  let total = 0;
  for (const { ranking, gains } of qs) {
    let hit = 0;
    for (let r = 0; r < Math.min(k, ranking.length); r++) if (gains.has(ranking[r])) hit++;
    total += hit / gains.size;
  }
  return total / qs.length;
}

/** Mean reciprocal rank; with `k`, a first relevant document below rank k scores 0 (MRR@k). */
export function mrr(scores: ReadonlyArray<ArrayLike<number>>, relevant: ReadonlyArray<Relevance>, opts: { k?: number } = {}): number {
  const fn = 'mrr';
  if (opts.k !== undefined) checkPositiveInt(fn, 'k', opts.k);
  const qs = prepare(fn, scores, relevant);
  let total = 0;
  for (const { ranking, gains } of qs) {
    const limit = Math.min(opts.k ?? ranking.length, ranking.length);
    for (let r = 0; r < limit; r++) {
      if (gains.has(ranking[r])) { total += 1 / (r + 1); break; }
    }
  }
  return total / qs.length;
}

/** Mean nDCG@k (k = 10 by default) over queries. */
export function ndcgAtK(scores: ReadonlyArray<ArrayLike<number>>, relevant: ReadonlyArray<Relevance>, k = 10): number {
  const fn = 'ndcgAtK';
  checkPositiveInt(fn, 'k', k);
  const qs = prepare(fn, scores, relevant);
  let total = 0;
  for (const { ranking, gains } of qs) {
    let dcg = 0;
    for (let r = 0; r < Math.min(k, ranking.length); r++) {
      const g = gains.get(ranking[r]);
      if (g !== undefined) dcg += g / Math.log2(r + 2);
    }
    const ideal = [...gains.values()].sort((a, b) => b - a);
    let idcg = 0;
    for (let r = 0; r < Math.min(k, ideal.length); r++) idcg += ideal[r] / Math.log2(r + 2);
    total += dcg / idcg;
  }
  return total / qs.length;
}
