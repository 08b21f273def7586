// The leaderboard: records grouped by (suite, dataset, strategy) and aggregated over seeds —
// mean, sample std, 95 % percentile-bootstrap CI of the mean over seeds — with a paired
// comparison against the suite's baseline strategy on the same seeds (paired bootstrap of the
// per-seed differences and an exact sign-flip permutation test; both from @tunebench/eval).
//
// With the 2–3 seeds of a sweep these intervals are wide and the smallest attainable p-value is
// 2/2ⁿ (two-sided sign flips): a row is "significant" only when every seed agrees and there are
// enough seeds. That is the honest answer for seed variance; it does not include test-set
// sampling variance.

import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapCi, holm, meanStd, pairedBootstrap, permutationTest } from '@tunebench/eval';
import { compareRecords, exactSignFlip, type EvidenceComparison } from './evidence.js';
import { readRecord, RecordError, type CostlyDetails, type RunRecord } from './record.js';
import { SUITES } from './suites/index.js';

/** Main metrics where a lower value is better (costs, losses); every other main metric is higher-is-better. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['expected_cost', 'loss', 'perplexity']);
export const higherIsBetter = (metric: string): boolean => !LOWER_IS_BETTER.has(metric);

export interface Aggregate {
  suite: string;
  dataset: string;
  strategy: string;
  params: RunRecord['params'];
  mainMetric: string;
  /** Direction of mainMetric: rows are ordered best first, and "best" / "better" follow it. */
  higherIsBetter: boolean;
  /** 1 = best mean in its (suite, dataset) group (ties share a rank). */
  rank: number;
  isBaseline: boolean;
  seeds: number[];
  scores: number[];
  mean: number;
  std: number | null;
  ciLo: number | null;
  ciHi: number | null;
  /** Means over seeds of every metric present in all the group's records. */
  metrics: Record<string, number>;
  trainableParams: number;
  totalParams: number;
  tokens: number;
  wallTimeS: number;
  tokensPerSecond: number;
  /**
   * Against the suite's baseline on the shared seeds (null for the baseline, or with no shared
   * seed; with one shared seed only when both sides have per-example predictions).
   * delta = mean(row − baseline) in the metric's own units, whatever its direction: for a
   * lower-is-better metric a negative delta is an improvement (`better` says which it is).
   * method 'paired-bootstrap' (evidence.ts: both sides have prediction sidecars): lo/hi are the
   * 95 % CI of the paired bootstrap over test examples stratified by seed, `p` is McNemar's exact
   * test (accuracy) or the bootstrap's p, `mdd` the minimum detectable difference. 'seed-paired':
   * lo/hi are the bootstrap CI over seeds and `p` the exact sign-flip p. pBootstrap / pPermutation
   * are always the seed-level tests (null with one shared seed). pHolm: `p` Holm–Bonferroni
   * adjusted over every comparison of the suite.
   */
  vsBaseline: {
    delta: number; lo: number; hi: number; pBootstrap: number | null; pPermutation: number | null; seeds: number; better: boolean | null;
    method: 'paired-bootstrap' | 'seed-paired'; p: number | null; test: EvidenceComparison['test'] | 'sign-flip' | 'permutation'; pHolm: number | null; examples: number | null; mdd: number | null;
  } | null;
  /** Mean learning curve over seeds (steps present in every seed). */
  curve: { step: number; loss?: number; dev_main_score?: number }[];
  /** Costly-class runs: the cost matrix, decision and curves of the lowest seed's run (record.costly). */
  costly: { seed: number; details: CostlyDetails } | null;
  manifestHash: string;
  preset: string;
  split: string;
  adapter: string;
  gitRevisions: string[];
}

/** All records under `dir` (recursively), validated; the first bad file ends with its name. */
export function loadRecords(dir: string): RunRecord[] {
  if (!existsSync(dir)) throw new RecordError(`${dir}: no such directory (run a sweep first: tunebench bench run)`);
  const out: RunRecord[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) out.push(readRecord(p));
    }
  };
  walk(dir);
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function meanCurve(records: RunRecord[]): Aggregate['curve'] {
  const bySeed = records.map((r) => new Map(r.curve.map((p) => [p.step, p])));
  const steps = [...new Set(records.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
  const out: Aggregate['curve'] = [];
  for (const step of steps) {
    const pts = bySeed.map((m) => m.get(step)).filter((p) => p !== undefined);
    if (pts.length !== records.length) continue;
    const pt: Aggregate['curve'][number] = { step };
    const losses = pts.map((p) => p!.loss).filter((x): x is number => x !== undefined);
    const devs = pts.map((p) => p!.dev_main_score).filter((x): x is number => x !== undefined);
    if (losses.length === pts.length) pt.loss = mean(losses);
    if (devs.length === pts.length) pt.dev_main_score = mean(devs);
    if (pt.loss !== undefined || pt.dev_main_score !== undefined) out.push(pt);
  }
  return out;
}

/** Aggregate records into leaderboard rows, ordered by suite, dataset, then mean score (best first). */
export function aggregate(records: RunRecord[], opts: { resamples?: number } = {}): Aggregate[] {
  const resamples = opts.resamples ?? 2000;
  const groups = new Map<string, RunRecord[]>();
  const presets = new Set(records.map((r) => r.preset));
  if (presets.size > 1) throw new RecordError(`records from several presets (${[...presets].join(', ')}) cannot share one leaderboard; report each output directory on its own`);
  for (const r of records) {
    const key = `${r.suite}\u0000${r.dataset}\u0000${r.strategy}`;
    const g = groups.get(key) ?? [];
    if (g.some((x) => x.seed === r.seed)) throw new RecordError(`two records of ${r.runId} (seed ${r.seed}); merge kept both — remove one`);
    g.push(r);
    groups.set(key, g);
  }
  const rows: Aggregate[] = [];
  const recordsOf = new Map<Aggregate, RunRecord[]>();
  // Suites whose records say main_score ranks ascending (suite files with lowerIsBetter).
  const lowerSuites = new Set(records.filter((r) => r.lowerIsBetter).map((r) => r.suite));
  for (const g of groups.values()) {
    g.sort((a, b) => a.seed - b.seed);
    const first = g[0]!;
    const hashes = new Set(g.map((r) => r.manifestHash));
    if (hashes.size > 1) throw new RecordError(`${first.suite}/${first.dataset}/${first.strategy}: records were made on different versions of dataset ${first.dataset} (manifest hashes differ)`);
    const scores = g.map((r) => r.metrics.main_score);
    const ms = meanStd(scores);
    const ci = g.length >= 2 ? bootstrapCi(scores, { resamples, seed: 0 }) : null;
    const mainMetrics = new Set(g.map((r) => r.mainMetric));
    if (mainMetrics.size > 1) throw new RecordError(`${first.suite}/${first.dataset}/${first.strategy}: records disagree on the main metric (${[...mainMetrics].join(', ')})`);
    const metricNames = Object.keys(first.metrics).filter((k) => g.every((r) => typeof r.metrics[k] === 'number'));
    const metrics: Record<string, number> = {};
    for (const k of metricNames) metrics[k] = mean(g.map((r) => r.metrics[k] as number));
    const suite = SUITES[first.suite];
    const row: Aggregate = {
      suite: first.suite,
      dataset: first.dataset,
      strategy: first.strategy,
      params: first.params,
      mainMetric: first.mainMetric,
      // A suite file says its direction (record.lowerIsBetter); otherwise the main metric does
      // (expected_cost ranks ascending).
      higherIsBetter: !lowerSuites.has(first.suite) && higherIsBetter(first.mainMetric),
      rank: 0,
      // A suite file's records carry their baseline (the suite is not in SUITES).
      isBaseline: (suite?.baseline ?? first.suiteFile?.baseline) === first.strategy,
      seeds: g.map((r) => r.seed),
      scores,
      mean: ms.mean,
      std: Number.isFinite(ms.std) ? ms.std : null,
      ciLo: ci?.lo ?? null,
      ciHi: ci?.hi ?? null,
      metrics,
      trainableParams: Math.round(mean(g.map((r) => r.trainableParams))),
      totalParams: Math.round(mean(g.map((r) => r.totalParams))),
      tokens: Math.round(mean(g.map((r) => r.tokens))),
      wallTimeS: mean(g.map((r) => r.wallTimeS)),
      tokensPerSecond: mean(g.map((r) => r.tokensPerSecond)),
      vsBaseline: null,
      curve: meanCurve(g),
      costly: g.find((r) => r.costly) ? { seed: g.find((r) => r.costly)!.seed, details: g.find((r) => r.costly)!.costly! } : null,
      manifestHash: first.manifestHash,
      preset: first.preset,
      split: first.split,
      adapter: first.adapter,
      gitRevisions: [...new Set(g.map((r) => r.gitRevision ?? 'unknown'))],
    };
    rows.push(row);
    recordsOf.set(row, g);
  }
  // Paired comparison with the suite's baseline on the same dataset and seeds: example by example
  // when both sides have prediction sidecars (evidence.ts), always also seed by seed.
  for (const row of rows) {
    if (row.isBaseline) continue;
    const base = rows.find((r) => r.suite === row.suite && r.dataset === row.dataset && r.isBaseline);
    if (!base) continue;
    const shared = row.seeds.filter((s) => base.seeds.includes(s));
    const ex = shared.length ? compareRecords(recordsOf.get(row)!, recordsOf.get(base)!, 'main_score', { resamples, seed: 0 }) : null;
    const examples = ex?.method === 'paired-bootstrap' ? ex : null;
    if (shared.length < 2 && !examples) continue;
    const a = shared.map((s) => row.scores[row.seeds.indexOf(s)]!);
    const b = shared.map((s) => base.scores[base.seeds.indexOf(s)]!);
    const pb = shared.length >= 2 ? pairedBootstrap(a, b, { resamples, seed: 0 }) : null;
    // Exact sign-flip test when 2^n is small; otherwise the Monte-Carlo approximate randomisation.
    const pp = shared.length < 2 ? null : shared.length <= 12 ? exactSignFlip(a, b) : permutationTest(a, b, { resamples: 10000, seed: 0 }).pValue;
    const delta = examples?.delta ?? pb!.delta;
    const better = delta === 0 ? null : (delta > 0) === row.higherIsBetter;
    row.vsBaseline = {
      delta, lo: examples?.ci[0] ?? pb!.lo, hi: examples?.ci[1] ?? pb!.hi, pBootstrap: pb?.pValue ?? null, pPermutation: pp, seeds: shared.length, better,
      method: examples ? 'paired-bootstrap' : 'seed-paired', p: examples ? examples.p : pp, test: examples ? examples.test : shared.length <= 12 ? 'sign-flip' : 'permutation',
      pHolm: null, examples: examples?.n ?? null, mdd: examples?.mdd ?? null,
    };
  }
  // Holm–Bonferroni over the comparisons of each suite (every dataset of it).
  for (const suite of new Set(rows.map((r) => r.suite))) {
    const cmp = rows.filter((r) => r.suite === suite && r.vsBaseline?.p !== null && r.vsBaseline?.p !== undefined);
    const adj = holm(cmp.map((r) => r.vsBaseline!.p!));
    cmp.forEach((r, i) => (r.vsBaseline!.pHolm = adj[i]!));
  }
  // One direction per (suite, dataset): a board cannot rank costs against accuracies.
  for (const row of rows) {
    const peers = rows.filter((r) => r.suite === row.suite && r.dataset === row.dataset);
    const other = peers.find((r) => r.higherIsBetter !== row.higherIsBetter);
    if (other) throw new RecordError(`${row.suite}/${row.dataset}: main metrics of opposite directions in one leaderboard (${row.strategy}: ${row.mainMetric}, ${other.strategy}: ${other.mainMetric})`);
    row.rank = 1 + peers.filter((r) => (row.higherIsBetter ? r.mean > row.mean : r.mean < row.mean)).length;
  }
  const order = Object.keys(SUITES);
  rows.sort((x, y) => (order.indexOf(x.suite) - order.indexOf(y.suite)) || x.dataset.localeCompare(y.dataset) || (x.higherIsBetter ? y.mean - x.mean : x.mean - y.mean) || x.strategy.localeCompare(y.strategy));
  return rows;
}

export { exactSignFlip } from './evidence.js';

/**
 * The Pareto front of (cost, score): rows no other row beats on both (lower cost, better score).
 * `higherIsBetter` false: a lower score is better (expected cost as the main score).
 */
export function paretoFront<T>(items: T[], cost: (t: T) => number, score: (t: T) => number, higherIsBetter = true): T[] {
  const s = higherIsBetter ? score : (t: T) => -score(t);
  return items.filter((a) => !items.some((b) => b !== a && cost(b) <= cost(a) && s(b) >= s(a) && (cost(b) < cost(a) || s(b) > s(a))));
}
