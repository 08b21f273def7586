// Per-example evidence: each record's test predictions in a sidecar file, and comparisons of two
// strategies paired example by example (packages/eval/src/paired.ts) or, for records without
// sidecars (older sweeps, tasks without per-example labels), seed by seed.
//
// Files (gzip of JSON lines; the first line is a header; the sha256 in the record is that of the
// decompressed text, so it does not depend on the gzip level or the zlib version):
//   records/<runId>.pred.jsonl.gz   {"format":"tunebench-predictions","version":1,"runId","kind","labels","gold"}
//                                   then per labelled test example, in the test set's order:
//                                   seq_cls {"id","y":<label index>,"s":[probabilities, 4 decimals]}
//                                   token_cls {"id","y":[tag index per word]}
//   gold/<dataset>.<split>.<sha256 prefix>.jsonl.gz
//                                   {"format":"tunebench-gold","version":1,"dataset","split","kind","labels"}
//                                   then {"id","y":...} as above: the gold labels, once per dataset and
//                                   split (content-addressed: runs on the same test rows share it).
// Label indices are into the header's `labels` (the trainer's label order, then any other name met).
// Not written: MLM (the "examples" are masked positions drawn per batch) and retrieval (a query's
// hit depends on the other queries of its batch): their comparisons stay seed-paired. Nor is one
// written for a finetune phase reused from a phase-cache entry made before the trainer wrote
// test_predictions.jsonl. The few-shot phase (fewshot/phase.ts) writes the same file as the trainer.
//
// A paired comparison recomputes the metric from the sidecars and uses it only when it equals the
// record's own value on the full test set (|Δ| ≤ 1e-9): the example-level evidence never describes
// other numbers than the leaderboard's.
//
// Without sidecars, compareStrategies is seed-paired (records of a and b paired by dataset and
// seed, Δ the mean of the paired differences, t-distribution CI with n − 1 degrees of freedom, p
// from the two-sided paired t test of H0: Δ = 0). With n seeds the t interval is honest but wide
// (t₀.₉₇₅ is 4.30 with 3 seeds); one pair gives no interval at all (ci [−∞, ∞], p null); pairs
// that all differ by the same amount give a zero-width interval and p = 0 (or 1 when that amount
// is 0). (The leaderboard's own seed-level columns keep their bootstrap CI and sign-flip p.)

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  accuracyOf, discordant, macroF1Of, mcnemarExact, meanCostOf, minimumDetectableDifference, spanF1Of,
  stratifiedPairedBootstrap, studentTQuantile, studentTTwoSided, type SeedPair, type SubsetMetric,
} from '@tunebench/eval';
import { TEST_PREDICTIONS_FILE } from '@tunebench/trainer';
import { recordFileOf, RecordError, type PredictionsRef, type RunRecord } from './record.js';

export const PREDICTIONS_FORMAT = 'tunebench-predictions';
export const GOLD_FORMAT = 'tunebench-gold';
export const EVIDENCE_VERSION = 1;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function writeAtomic(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

export function predictionsFile(outDir: string, runId: string): string {
  return join(outDir, 'records', `${runId}.pred.jsonl.gz`);
}

interface TrainerLine { id: string; gold: string | string[]; pred: string | string[]; probs?: number[] }

/**
 * Turn the finetune phase's test_predictions.jsonl (in `phaseDir`) into the run's prediction
 * sidecar and the dataset's gold sidecar under `outDir`; null when the phase wrote none.
 * `labels`: the trainer's label order (metrics.json `labels`).
 */
export function writeEvidence(outDir: string, run: { runId: string; dataset: string; split: 'test' | 'dev' }, phaseDir: string, labels: readonly string[]): PredictionsRef | null {
  const src = join(phaseDir, TEST_PREDICTIONS_FILE);
  if (!existsSync(src)) return null;
  const rows: TrainerLine[] = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as TrainerLine;
    } catch (e) {
      throw new RecordError(`${src}:${i + 1}: not JSON (${(e as Error).message})`);
    }
  });
  if (!rows.length) return null;
  const kind: PredictionsRef['kind'] = Array.isArray(rows[0]!.gold) ? 'token_cls' : 'seq_cls';
  const vocab = [...labels];
  const index = new Map(vocab.map((l, i) => [l, i]));
  const ix = (l: unknown, where: string): number => {
    if (typeof l !== 'string') throw new RecordError(`${where}: expected a label name, got ${JSON.stringify(l)}`);
    let i = index.get(l);
    if (i === undefined) { i = vocab.length; vocab.push(l); index.set(l, i); }
    return i;
  };
  const goldLines: string[] = [], predLines: string[] = [];
  rows.forEach((r, i) => {
    const where = `${src}:${i + 1}`;
    if (typeof r.id !== 'string') throw new RecordError(`${where}: no string "id"`);
    if (kind === 'seq_cls') {
      goldLines.push(JSON.stringify({ id: r.id, y: ix(r.gold, `${where} gold`) }));
      predLines.push(JSON.stringify({ id: r.id, y: ix(r.pred, `${where} pred`), s: (r.probs ?? []).map((p) => Math.round(p * 1e4) / 1e4) }));
    } else {
      if (!Array.isArray(r.gold) || !Array.isArray(r.pred) || r.gold.length !== r.pred.length) throw new RecordError(`${where}: gold and pred must be tag lists of one length`);
      goldLines.push(JSON.stringify({ id: r.id, y: r.gold.map((t) => ix(t, `${where} gold`)) }));
      predLines.push(JSON.stringify({ id: r.id, y: r.pred.map((t) => ix(t, `${where} pred`)) }));
    }
  });
  // Gold labels only need the labels they use; the vocabulary of the run goes in both headers.
  const goldText = [JSON.stringify({ format: GOLD_FORMAT, version: EVIDENCE_VERSION, dataset: run.dataset, split: run.split, kind, labels: vocab }), ...goldLines].join('\n') + '\n';
  const goldSha = sha256(goldText);
  const safe = run.dataset.replace(/[^A-Za-z0-9_.-]/g, '_');
  const goldPath = join(outDir, 'gold', `${safe}.${run.split}.${goldSha.slice(0, 16)}.jsonl.gz`);
  if (!existsSync(goldPath)) writeAtomic(goldPath, gzipSync(goldText, { level: 9 }));
  const predPath = predictionsFile(outDir, run.runId);
  const goldRel = relative(dirname(predPath), goldPath).split('\\').join('/');
  const predText = [JSON.stringify({ format: PREDICTIONS_FORMAT, version: EVIDENCE_VERSION, runId: run.runId, kind, labels: vocab, gold: goldRel }), ...predLines].join('\n') + '\n';
  writeAtomic(predPath, gzipSync(predText, { level: 9 }));
  return { kind, file: predPath.slice(dirname(predPath).length + 1), sha256: sha256(predText), gold: goldRel, goldSha256: goldSha, count: rows.length };
}

/** A record's test predictions and gold labels, read back and checked. */
export interface Evidence {
  kind: PredictionsRef['kind'];
  ids: string[];
  /** Label names: seq_cls label / token_cls tag vocabulary. */
  labels: string[];
  /** seq_cls: label name per example; token_cls: tags per sentence. */
  gold: string[] | string[][];
  pred: string[] | string[][];
}

function readJsonl(path: string, sha: string, format: string): { header: Record<string, unknown>; rows: { id: string; y: number | number[] }[] } {
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString('utf8');
  } catch (e) {
    throw new RecordError(`${path}: cannot read the gzip file (${(e as Error).message})`);
  }
  if (sha256(text) !== sha) throw new RecordError(`${path}: sha256 of its content differs from the record's (${sha.slice(0, 12)}…); the file was changed or belongs to another run`);
  const lines = text.split('\n').filter((l) => l.trim());
  const header = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  if (header.format !== format || header.version !== EVIDENCE_VERSION) throw new RecordError(`${path}:1: not a ${format} file of version ${EVIDENCE_VERSION}`);
  return { header, rows: lines.slice(1).map((l) => JSON.parse(l) as { id: string; y: number | number[] }) };
}

const cache = new Map<string, Evidence>();

/** The evidence of a record read by readRecord (null: no sidecar, or a record built in memory). */
export function loadEvidence(rec: RunRecord): Evidence | null {
  const ref = rec.predictions;
  const file = recordFileOf(rec);
  if (!ref || !file) return null;
  const predPath = resolve(dirname(file), ref.file);
  const goldPath = resolve(dirname(file), ref.gold);
  if (!existsSync(predPath)) throw new RecordError(`${file}: its predictions file ${predPath} is missing`);
  if (!existsSync(goldPath)) throw new RecordError(`${file}: its gold labels file ${goldPath} is missing`);
  // Read once per process, again when either file changed (size or modification time).
  const stamp = (p: string) => { const st = statSync(p); return `${st.size}:${st.mtimeMs}`; };
  const key = [predPath, stamp(predPath), ref.sha256, goldPath, stamp(goldPath), ref.goldSha256].join('\u0000');
  const hit = cache.get(key);
  if (hit) return hit;
  const p = readJsonl(predPath, ref.sha256, PREDICTIONS_FORMAT);
  const g = readJsonl(goldPath, ref.goldSha256, GOLD_FORMAT);
  const pl = p.header.labels as string[], gl = g.header.labels as string[];
  if (p.rows.length !== g.rows.length || p.rows.some((r, i) => r.id !== g.rows[i]!.id)) {
    throw new RecordError(`${predPath}: its example ids are not those of ${goldPath} (another test set?)`);
  }
  const names = (y: number | number[], labels: string[]) => (Array.isArray(y) ? y.map((i) => labels[i]!) : labels[y]!);
  const ev: Evidence = {
    kind: ref.kind,
    ids: g.rows.map((r) => r.id),
    labels: gl,
    gold: g.rows.map((r) => names(r.y, gl)) as string[] | string[][],
    pred: p.rows.map((r) => names(r.y, pl)) as string[] | string[][],
  };
  cache.set(key, ev);
  return ev;
}

/** The metric `metric` of a record's evidence as a function of example subsets; null when it cannot be computed from predictions. */
export function subsetMetricOf(rec: RunRecord, ev: Evidence, metric: string): SubsetMetric | null {
  const name = metric === 'main_score' ? rec.mainMetric : metric;
  if (ev.kind === 'token_cls') {
    const gold = ev.gold as string[][], pred = ev.pred as string[][];
    if (name === 'strict_f1') return spanF1Of(gold, pred, 'strict');
    if (name === 'f1') return spanF1Of(gold, pred, 'default');
    return null;
  }
  const labels = [...new Set([...ev.labels, ...(ev.pred as string[])])];
  const idx = new Map(labels.map((l, i) => [l, i]));
  const gold = (ev.gold as string[]).map((l) => idx.get(l)!), pred = (ev.pred as string[]).map((l) => idx.get(l)!);
  if (name === 'accuracy') return accuracyOf(gold, pred);
  if (name === 'macro_f1') return macroF1Of(gold, pred, ev.labels.length);
  if (name === 'expected_cost' && rec.costly) {
    const c = rec.costly;
    const at = (l: string) => c.labels.indexOf(l);
    if (labels.some((l) => at(l) < 0)) return null;
    return meanCostOf((ev.gold as string[]).map(at), (ev.pred as string[]).map(at), c.costMatrix);
  }
  return null;
}

/** The metric's value in a record (main_score, or any key of record.metrics; null if absent or null). */
export function metricOf(r: RunRecord, metric: string): number | null {
  const v = r.metrics[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The record's value of `metric` ('main_score', the record's main metric's name, or a metric name). */
export function recordMetric(rec: RunRecord, metric: string): number | null {
  if (metric === 'main_score' || metric === rec.mainMetric) return rec.metrics.main_score;
  return metricOf(rec, metric);
}

/** Pairs (a, b) of the metric over the (dataset, seed) both strategies have, in dataset then seed order. */
export function seedPairs(records: RunRecord[], suite: string, metric: string, a: string, b: string): { key: string; a: number; b: number }[] {
  const byKey = (s: string) => {
    const m = new Map<string, number>();
    for (const r of records) {
      if (r.suite !== suite || r.strategy !== s) continue;
      const v = metricOf(r, metric);
      if (v !== null) m.set(`${r.dataset}\u0000${String(r.seed).padStart(10, '0')}`, v);
    }
    return m;
  };
  const ma = byKey(a), mb = byKey(b);
  return [...ma.keys()].filter((k) => mb.has(k)).sort().map((k) => ({ key: k, a: ma.get(k)!, b: mb.get(k)! }));
}

/** Mean, 95 % t interval and two-sided one-sample t-test p (H0: mean = 0) of values. */
export function tSummary(d: number[]): { mean: number; ci: [number, number]; p: number | null } {
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, ci: [-Infinity, Infinity], p: null };
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  // Pairs that differ by one constant (up to rounding): no spread, the effect is exact.
  if (!(sd > 1e-12 * Math.max(1, Math.abs(mean)))) return { mean, ci: [mean, mean], p: Math.abs(mean) > 1e-12 ? 0 : 1 };
  const se = sd / Math.sqrt(n);
  const t = studentTQuantile(0.975, n - 1);
  return { mean, ci: [mean - t * se, mean + t * se], p: studentTTwoSided(mean / se, n - 1) };
}

/** Two-sided exact paired permutation (sign-flip) p-value of mean(a − b), all 2ⁿ flips. */
export function exactSignFlip(a: number[], b: number[]): number {
  const d = a.map((x, i) => x - b[i]!);
  const obs = Math.abs(d.reduce((s, x) => s + x, 0));
  const n = d.length;
  let extreme = 0;
  for (let mask = 0; mask < 1 << n; mask++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += mask & (1 << i) ? -d[i]! : d[i]!;
    if (Math.abs(s) >= obs - 1e-12 * Math.max(1, obs)) extreme++;
  }
  return extreme / (1 << n);
}

/** What compareStrategies returns (the claims evaluator's contract). */
export interface Comparison {
  /** mean over pairs of (a − b), in the metric's units. */
  delta: number;
  /** 95 % CI of delta; [−∞, ∞] when it cannot be computed (one seed pair, no sidecars). */
  ci: [number, number];
  /** Two-sided p of H0: delta = 0 (null when it cannot be computed). */
  p: number | null;
  /** Paired test examples over all strata (paired-bootstrap) or seed pairs (seed-paired). */
  n: number;
  method: 'paired-bootstrap' | 'seed-paired';
}

/** compareRecords' answer: a Comparison with the test used and, over examples, the bootstrap SE and MDD. */
export interface EvidenceComparison extends Comparison {
  /** McNemar exact for accuracy, else the paired bootstrap's p; seed-paired: the paired t test. */
  test: 'mcnemar-exact' | 'paired-bootstrap' | 't-test' | null;
  /** Bootstrap SE of Δ and the minimum detectable difference (α 0.05, power 0.8); paired-bootstrap only. */
  se: number | null;
  mdd: number | null;
  /** Shared (dataset, seed) strata. */
  strata: number;
}

const stratum = (r: RunRecord) => `${r.dataset}\u0000${r.seed}`;

/**
 * Compare two sets of records (strategy A and B) on `metric`, paired on shared (dataset, seed):
 * example by example when every shared stratum has sidecars on both sides whose recomputed metric
 * equals the record's, otherwise seed by seed. null when no stratum is shared.
 */
export function compareRecords(aRecs: RunRecord[], bRecs: RunRecord[], metric: string, opts: { resamples?: number; seed?: number } = {}): EvidenceComparison | null {
  const resamples = opts.resamples ?? 2000, seed = opts.seed ?? 0;
  const bBy = new Map(bRecs.map((r) => [stratum(r), r]));
  const pairs = aRecs.filter((r) => bBy.has(stratum(r))).sort((x, y) => x.dataset.localeCompare(y.dataset) || x.seed - y.seed).map((r) => [r, bBy.get(stratum(r))!] as const);
  if (!pairs.length) return null;
  const paired = examplePairs(pairs, metric);
  if (paired) {
    const r = stratifiedPairedBootstrap(paired.seeds, { resamples, seed });
    let p = r.pValue, test: EvidenceComparison['test'] = 'paired-bootstrap';
    if (paired.correct) {
      let b = 0, c = 0;
      for (const [x, y] of paired.correct) { const d = discordant(x, y); b += d.b; c += d.c; }
      p = mcnemarExact(b, c).pValue;
      test = 'mcnemar-exact';
    }
    return { delta: r.delta, ci: [r.lo, r.hi], p, n: r.n, method: 'paired-bootstrap', test, se: r.se, mdd: minimumDetectableDifference(r.se), strata: pairs.length };
  }
  const d: number[] = [];
  for (const [x, y] of pairs) {
    const va = recordMetric(x, metric), vb = recordMetric(y, metric);
    if (va !== null && vb !== null) d.push(va - vb);
  }
  if (!d.length) return null;
  const s = tSummary(d);
  return { delta: s.mean, ci: s.ci, p: s.p, n: d.length, method: 'seed-paired', test: d.length >= 2 ? 't-test' : null, se: null, mdd: null, strata: pairs.length };
}

function examplePairs(pairs: (readonly [RunRecord, RunRecord])[], metric: string): { seeds: SeedPair[]; correct: [boolean[], boolean[]][] | null } | null {
  const seeds: SeedPair[] = [];
  const correct: [boolean[], boolean[]][] = [];
  let accuracyType = true;
  for (const [x, y] of pairs) {
    let ex: Evidence | null, ey: Evidence | null;
    try {
      ex = loadEvidence(x);
      ey = loadEvidence(y);
    } catch {
      return null; // a damaged or missing sidecar: the seed-level comparison still stands
    }
    if (!ex || !ey || ex.kind !== ey.kind || ex.ids.length !== ey.ids.length || ex.ids.some((id, i) => id !== ey.ids[i])) return null;
    const ma = subsetMetricOf(x, ex, metric), mb = subsetMetricOf(y, ey, metric);
    if (!ma || !mb) return null;
    const all = Int32Array.from(ex.ids, (_, i) => i);
    const va = recordMetric(x, metric), vb = recordMetric(y, metric);
    if (va === null || vb === null || Math.abs(ma(all) - va) > 1e-9 || Math.abs(mb(all) - vb) > 1e-9) return null;
    seeds.push({ n: ex.ids.length, a: ma, b: mb });
    const name = metric === 'main_score' ? x.mainMetric : metric;
    if (name !== 'accuracy' || ex.kind !== 'seq_cls') accuracyType = false;
    else correct.push([(ex.pred as string[]).map((l, i) => l === ex.gold[i]), (ey.pred as string[]).map((l, i) => l === ey.gold[i])]);
  }
  return { seeds, correct: accuracyType ? correct : null };
}

/** Records of `suite` matching a strategy name or a row id `<dataset>/<strategy>` (as the leaderboard's rows). */
function select(records: RunRecord[], suite: string, id: string): RunRecord[] {
  return records.filter((r) => r.suite === suite && (r.strategy === id || `${r.dataset}/${r.strategy}` === id));
}

/**
 * Compare strategy (or leaderboard row `<dataset>/<strategy>`) `a` with `b` in `suite` on
 * `metric` ('main_score' or a metric name): Δ = a − b in the metric's units (whatever its
 * direction), its 95 % CI and p; over test examples when every shared (dataset, seed) has
 * prediction sidecars on both sides, else over seeds. null when either side has no records, or
 * they share no dataset and seed. Records must come from readRecord / loadRecords (their file
 * locates the sidecars); records built in memory compare seed by seed.
 */
export function compareStrategies(records: RunRecord[], suite: string, metric: string, a: string, b: string): Comparison | null {
  const ra = select(records, suite, a), rb = select(records, suite, b);
  if (!ra.length || !rb.length) return null;
  const c = compareRecords(ra, rb, metric);
  return c && { delta: c.delta, ci: c.ci, p: c.p, n: c.n, method: c.method };
}
