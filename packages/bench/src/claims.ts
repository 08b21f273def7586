// The seed's claims, checked against a sweep's records. A claim (packages/bench/claims.yaml) names
// its question, suite and one or more tests; a test compares strategies of the suite on a metric
// and says on which side of a threshold the effect should lie. For each claim and each dataset of
// its suite that the records hold, every test gets an effect, a 95 % CI, a p-value and a verdict:
//
//   supported     every value of the CI satisfies the claim (e.g. CI of Δ entirely > 0)
//   contradicted  no value of the CI satisfies it (entirely on the other side)
//   inconclusive  the CI straddles the threshold (or there is no CI: one seed)
//   no data       the suite, a strategy or the metric is not in the records (never an error)
//
// and the claim's verdict is the conjunction: contradicted if any test is, else no data if any
// test lacks data, else supported if all are, else inconclusive.
//
// Effects and intervals, per kind of test:
//   difference          Δ = mean(a − b): compareStrategies (evidence.ts) — its CI and p as they come.
//   ratio               R = mean(a) / mean(b) over the (dataset, seed) pairs both have, 95 % CI by
//                       Fieller's theorem on the paired values: the θ whose paired t test of
//                       a − θ·b does not reject at 5 % (exact under normal seed noise, unlike the
//                       delta method, and asymmetric as a ratio's interval should be); unbounded
//                       when mean(b) is not clearly away from 0. p is compareStrategies' (H0: a = b,
//                       i.e. R = 1).
//   spread (Q137)       per seed s: SD_a(s) − SD_b(s), the sample SDs of the metric across the
//                       strategies matching pattern a (resp. b) at seed s, on the seeds where every
//                       such strategy has a value; with `pairBy` only strategies whose param value
//                       (e.g. lr) occurs in both groups count, so neither group spans a wider range.
//                       Effect = mean over seeds, t interval over seeds, p of the one-sample t test
//                       (H0: equal spread). SDs, not variances: same units as the metric, and the
//                       per-seed differences are closer to normal than variance differences.
//   trainable_fraction  trainableParams / totalParams of strategy a (no sampling noise: the
//                       "interval" is the range over its records, p none).
//
// The p column is always that of "no difference between a and b" (two-sided); the verdict comes
// from the interval against the claim's own threshold.

import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { studentTQuantile } from '@tunebench/eval';
import { compareStrategies, metricOf, seedPairs, tSummary } from './evidence.js';
import type { RunRecord } from './record.js';
import { SUITES } from './suites/index.js';
import { lineOf } from './suites/from_file.js';
import { CLAIM_KEYS, CLAIM_SCHEMA, CLAIM_TEST_KEYS } from './claim_schema.js';
import { repoRoot } from './plan.js';
import { esc } from './report/svg.js';

/** The claims shipped with tunebench (packages/bench/claims.yaml; the same path from src/ and dist/). */
export const DEFAULT_CLAIMS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'claims.yaml');

export type Side = '>' | '>=' | '<' | '<=' | 'within';
export type CompareKind = 'difference' | 'ratio' | 'spread' | 'trainable_fraction';
export type ClaimVerdict = 'supported' | 'contradicted' | 'inconclusive' | 'no data';

export interface ClaimTest {
  label?: string;
  compare: CompareKind;
  /** A key of the records' metrics; main_score (the suite's main metric) by default. */
  metric: string;
  /** Strategy (difference, ratio, trainable_fraction) or glob pattern of strategies (spread). */
  a: string;
  b?: string;
  /** spread: count only strategies whose value of this param occurs in both groups. */
  pairBy?: string;
  claim: Side;
  threshold: number;
}

export interface Claim {
  id: string;
  question: string;
  text: string;
  suite: string;
  /** Only these datasets (default: every dataset of the suite in the records). */
  datasets?: string[];
  tests: ClaimTest[];
}

export interface ClaimsFile {
  file: string;
  sha256: string;
  claims: Claim[];
}

export interface TestResult {
  label: string;
  compare: CompareKind;
  metric: string;
  a: string;
  b: string | null;
  claim: Side;
  threshold: number;
  verdict: ClaimVerdict;
  /** Δ, ratio, SD difference or fraction (see the header); null without data. */
  effect: number | null;
  /** 95 % CI of the effect; ±Infinity where unbounded; null without data. */
  ci: [number, number] | null;
  p: number | null;
  n: number;
  method: string | null;
  /** Why there is no data, or why the interval is what it is. */
  note: string | null;
}

export interface ClaimResult {
  id: string;
  question: string;
  text: string;
  suite: string;
  dataset: string | null;
  verdict: ClaimVerdict;
  tests: TestResult[];
}

export interface ClaimsReport {
  claimsFile: string;
  claimsSha256: string;
  records: number;
  results: ClaimResult[];
  /** Suite files whose claims were evaluated too (their runs' records name them), and why any was not. */
  suiteFiles?: { file: string; sha256: string; claims: string[] }[];
  notes?: string[];
}

// ---------------------------------------------------------------------------------------------
// The file: YAML or JSON, validated by ajv; every error names the file, line, claim id and field.

const TEST_KEYS = CLAIM_TEST_KEYS;

/** The JSON schema of a claims file. */
export const CLAIMS_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'tunebench/claims-file',
  type: 'object',
  additionalProperties: false,
  required: ['claims'],
  properties: {
    claims: { type: 'array', minItems: 1, items: CLAIM_SCHEMA },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validate = ajv.compile(CLAIMS_SCHEMA);

export class ClaimsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClaimsFileError';
  }
}

/** '*' matches any run of characters; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function problemOf(e: ErrorObject): { path: (string | number)[]; problem: string; keyOnly?: boolean } {
  const path: (string | number)[] = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const known = path.length === 0 ? ['claims'] : path.length === 2 ? CLAIM_KEYS : TEST_KEYS;
      return { path: [...path, extra], problem: `unknown key ${JSON.stringify(extra)} (known: ${known.join(', ')})`, keyOnly: true };
    }
    case 'required':
      return { path, problem: `missing key ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}` };
    case 'enum':
      return { path, problem: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    default:
      return { path, problem: e.message ?? 'is invalid' };
  }
}

/** A parsed claim with its tests checked (b where the comparison needs it, pairBy only for a
 * spread, a positive 'within' threshold) and, when the suite's strategy names are known, every
 * strategy (or spread pattern) it names found among them. `fail` gets the path under the claim. */
export function checkClaim(c: Omit<Claim, 'tests'> & { tests: (Omit<ClaimTest, 'metric'> & { metric?: string })[] }, names: string[] | null, fail: (p: (string | number)[], problem: string) => never): Claim {
  const tests = c.tests.map((t, j): ClaimTest => {
    const at = (k: string) => ['tests', j, k];
    const needsB = t.compare !== 'trainable_fraction';
    if (needsB && t.b === undefined) fail(['tests', j], `missing key "b" (a ${t.compare} compares a with b)`);
    if (!needsB && t.b !== undefined) fail(at('b'), 'trainable_fraction takes one strategy (a), not b');
    if (t.pairBy !== undefined && t.compare !== 'spread') fail(at('pairBy'), 'pairBy applies to compare: spread only');
    if (t.claim === 'within' && !(t.threshold > 0)) fail(at('threshold'), `'within' needs a positive threshold (|effect| < threshold), got ${t.threshold}`);
    if (t.compare === 'ratio' && t.claim === 'within') fail(at('claim'), "'within' is for differences (|a − b| < threshold)");
    if (names) {
      for (const k of needsB ? (['a', 'b'] as const) : (['a'] as const)) {
        const v = t[k]!;
        if (t.compare === 'spread') {
          const m = names.filter((x) => globToRegExp(v).test(x));
          if (m.length < 2) fail(at(k), `pattern '${v}' matches ${m.length} strategies of suite '${c.suite}' (a spread needs at least 2; strategies: ${names.join(', ')})`);
        } else if (!names.includes(v)) {
          fail(at(k), `'${v}' is not a strategy of suite '${c.suite}' (known: ${names.join(', ')})`);
        }
      }
    }
    return { ...t, metric: t.metric ?? 'main_score' };
  });
  return { ...c, tests };
}

/** Parses and validates a claims file. Strategy names of a built-in suite are checked against it;
 * a suite that is not built in is allowed (its claims evaluate to "no data" unless records exist). */
export function loadClaims(path: string = DEFAULT_CLAIMS_FILE): ClaimsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClaimsFileError(`${path}: cannot read the claims file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ClaimsFileError(`${path}:${e.linePos?.[0]?.line ?? 1}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as { claims?: { id?: unknown }[] } | null;
  // "claim 'id' (claims[i])" for a path under claims[i], so the message says which claim.
  const fail = (p: (string | number)[], problem: string, keyOnly = false): never => {
    const line = lineOf(doc, lc, p, keyOnly);
    if (p[0] === 'claims' && typeof p[1] === 'number') {
      const id = raw?.claims?.[p[1]]?.id;
      const who = `claim ${typeof id === 'string' ? `'${id}' ` : ''}(claims[${p[1]}])`;
      const field = p.slice(2).map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('').replace(/^\./, '');
      throw new ClaimsFileError(`${path}:${line}: ${who}${field ? `: ${field}` : ''}: ${problem}`);
    }
    throw new ClaimsFileError(`${path}:${line}: ${p.join('.') || '(file)'}: ${problem}`);
  };
  if (!validate(raw)) {
    const { path: p, problem, keyOnly } = problemOf(validate.errors![0]!);
    fail(p, problem, keyOnly);
  }
  const claims = (raw as { claims: (Omit<Claim, 'tests'> & { tests: (Omit<ClaimTest, 'metric'> & { metric?: string })[] })[] }).claims;
  const seen = new Map<string, number>();
  const out: Claim[] = claims.map((c, i) => {
    if (seen.has(c.id)) fail(['claims', i, 'id'], `duplicate id (also claims[${seen.get(c.id)}])`);
    seen.set(c.id, i);
    const suite = SUITES[c.suite];
    return checkClaim(c, suite ? suite.variants.map((v) => v.name) : null, (p, problem) => fail(['claims', i, ...p], problem));
  });
  return { file: path, sha256: createHash('sha256').update(text).digest('hex'), claims: out };
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

/** The verdict of an interval against `side threshold` (see the header). */
export function verdictOf(ci: [number, number], side: Side, t: number): ClaimVerdict {
  const [lo, hi] = ci;
  const all = side === '>' ? lo > t : side === '>=' ? lo >= t : side === '<' ? hi < t : side === '<=' ? hi <= t : lo > -t && hi < t;
  const none = side === '>' ? hi <= t : side === '>=' ? hi < t : side === '<' ? lo >= t : side === '<=' ? lo > t : hi <= -t || lo >= t;
  return all ? 'supported' : none ? 'contradicted' : 'inconclusive';
}

/** Fieller's 95 % interval of mean(a) / mean(b) for paired values (see the header). */
export function fiellerRatio(a: number[], b: number[]): { ratio: number; ci: [number, number] } {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  const ratio = ma / mb;
  if (n < 2) return { ratio, ci: [-Infinity, Infinity] };
  let saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < n; i++) {
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
    sab += (a[i]! - ma) * (b[i]! - mb);
  }
  const t2n = studentTQuantile(0.975, n - 1) ** 2 / n;
  saa /= n - 1; sbb /= n - 1; sab /= n - 1;
  // (ma − θ·mb)² ≤ t²/n · (saa − 2θ·sab + θ²·sbb)  ⇔  A θ² − 2 B θ + C ≤ 0
  const A = mb * mb - t2n * sbb;
  const B = ma * mb - t2n * sab;
  const C = ma * ma - t2n * saa;
  const disc = B * B - A * C;
  // mean(b) not clearly away from 0: the set is unbounded (a union of rays, or everything).
  if (!(A > 0)) return { ratio, ci: [-Infinity, Infinity] };
  // With A > 0 the estimate ma/mb always lies inside (its t is 0), so disc ≥ 0: a negative one is rounding.
  const r = Math.sqrt(Math.max(0, disc));
  return { ratio, ci: [(B - r) / A, (B + r) / A] };
}

function noData(base: Omit<TestResult, 'verdict' | 'effect' | 'ci' | 'p' | 'n' | 'method' | 'note'>, note: string): TestResult {
  return { ...base, verdict: 'no data', effect: null, ci: null, p: null, n: 0, method: null, note };
}

/** Strategies of the records matching a spread pattern, with their `pairBy` value. */
function spreadGroup(recs: RunRecord[], pattern: string, pairBy: string | undefined): Map<string, string | null> {
  const re = globToRegExp(pattern);
  const out = new Map<string, string | null>();
  for (const r of recs) if (re.test(r.strategy) && !out.has(r.strategy)) out.set(r.strategy, pairBy === undefined ? null : JSON.stringify(r.params[pairBy] ?? null));
  return out;
}

const sd = (xs: number[]) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

function evaluateTest(recs: RunRecord[], suite: string, t: ClaimTest): TestResult {
  const base = { label: labelOf(t), compare: t.compare, metric: t.metric, a: t.a, b: t.b ?? null, claim: t.claim, threshold: t.threshold };
  const withMetric = (s: string) => recs.filter((r) => r.strategy === s && metricOf(r, t.metric) !== null);
  const missing = (s: string): string | null => {
    if (!recs.some((r) => r.strategy === s)) return `no records of strategy '${s}'`;
    if (!withMetric(s).length) return `the records of '${s}' have no metric '${t.metric}'`;
    return null;
  };
  const finish = (effect: number, ci: [number, number], p: number | null, n: number, method: string, note: string | null = null): TestResult => {
    const bounded = Number.isFinite(ci[0]) && Number.isFinite(ci[1]);
    return { ...base, verdict: verdictOf(ci, t.claim, t.threshold), effect, ci, p, n, method, note: note ?? (bounded ? null : n < 2 ? 'one seed: no interval' : 'interval unbounded') };
  };

  if (t.compare === 'trainable_fraction') {
    const m = recs.some((r) => r.strategy === t.a) ? null : `no records of strategy '${t.a}'`;
    if (m) return noData(base, m);
    const f = recs.filter((r) => r.strategy === t.a).map((r) => r.trainableParams / r.totalParams);
    return finish(f.reduce((s, x) => s + x, 0) / f.length, [Math.min(...f), Math.max(...f)], null, f.length, 'exact (record parameter counts)', 'no sampling noise: the interval is the range over records');
  }

  if (t.compare === 'spread') {
    const ga = spreadGroup(recs, t.a, t.pairBy), gb = spreadGroup(recs, t.b!, t.pairBy);
    if (t.pairBy !== undefined) {
      const va = new Set(ga.values()), vb = new Set(gb.values());
      for (const [s, v] of ga) if (!vb.has(v)) ga.delete(s);
      for (const [s, v] of gb) if (!va.has(v)) gb.delete(s);
    }
    for (const [g, pat] of [[ga, t.a], [gb, t.b!]] as const) {
      if (g.size < 2) return noData(base, `${g.size} strateg${g.size === 1 ? 'y' : 'ies'} matching '${pat}'${t.pairBy ? ` at ${t.pairBy} values both groups share` : ''} in the records (a spread needs at least 2)`);
    }
    const strategies = [...ga.keys(), ...gb.keys()];
    const value = new Map(recs.map((r) => [`${r.strategy}\u0000${r.seed}`, metricOf(r, t.metric)]));
    const seeds = [...new Set(recs.map((r) => r.seed))].sort((x, y) => x - y)
      .filter((s) => strategies.every((st) => typeof value.get(`${st}\u0000${s}`) === 'number'));
    if (!seeds.length) return noData(base, `no seed has '${t.metric}' for every one of ${strategies.join(', ')}`);
    const d = seeds.map((s) => sd([...ga.keys()].map((st) => value.get(`${st}\u0000${s}`)!)) - sd([...gb.keys()].map((st) => value.get(`${st}\u0000${s}`)!)));
    const ts = tSummary(d);
    return finish(ts.mean, ts.ci, ts.p, d.length, `seed-paired SD difference (${ga.size} vs ${gb.size} strategies)`);
  }

  const m = missing(t.a) ?? missing(t.b!);
  if (m) return noData(base, m);
  const cmp = compareStrategies(recs, suite, t.metric, t.a, t.b!);
  if (!cmp) return noData(base, `no seed has '${t.metric}' for both '${t.a}' and '${t.b}'`);
  if (t.compare === 'difference') return finish(cmp.delta, cmp.ci, cmp.p, cmp.n, cmp.method);
  const pairs = seedPairs(recs, suite, t.metric, t.a, t.b!);
  if (pairs.every((x) => x.b === 0)) return noData(base, `'${t.b}' scores 0 on '${t.metric}': no ratio`);
  const f = fiellerRatio(pairs.map((x) => x.a), pairs.map((x) => x.b));
  return finish(f.ratio, f.ci, cmp.p, pairs.length, 'seed-paired (Fieller ratio CI)');
}

const labelOf = (t: ClaimTest) => (t.label ? `${t.label}: ${describeTest(t)}` : describeTest(t));

/** "top_2 / full ≥ 0.9", "Δ(head_only − full) < 0" ... */
export function describeTest(t: ClaimTest): string {
  const side = t.claim === '>=' ? '≥' : t.claim === '<=' ? '≤' : t.claim;
  const on = t.metric === 'main_score' ? '' : ` [${t.metric}]`;
  switch (t.compare) {
    case 'difference': return t.claim === 'within' ? `|${t.a} − ${t.b}| < ${t.threshold}${on}` : `${t.a} − ${t.b} ${side} ${t.threshold}${on}`;
    case 'ratio': return `${t.a} / ${t.b} ${side} ${t.threshold}${on}`;
    case 'spread': return `SD(${t.a}) − SD(${t.b})${t.pairBy ? ` at shared ${t.pairBy}` : ''} ${side} ${t.threshold}${on}`;
    case 'trainable_fraction': return `trainable share of ${t.a} ${side} ${t.threshold}`;
  }
}

function combine(tests: TestResult[]): ClaimVerdict {
  if (tests.some((t) => t.verdict === 'contradicted')) return 'contradicted';
  if (tests.some((t) => t.verdict === 'no data')) return 'no data';
  if (tests.every((t) => t.verdict === 'supported')) return 'supported';
  return 'inconclusive';
}

/** Every claim on every dataset of its suite in `records` (one "no data" result when there is none). */
export function evaluateClaims(records: RunRecord[], file: ClaimsFile): ClaimsReport {
  const results: ClaimResult[] = [];
  for (const c of file.claims) {
    const recs = records.filter((r) => r.suite === c.suite);
    const head = { id: c.id, question: c.question, text: c.text, suite: c.suite };
    const order = SUITES[c.suite]?.datasets ?? [];
    const present = [...new Set(recs.map((r) => r.dataset))].sort((x, y) => ((order.indexOf(x) + 1 || 1e9) - (order.indexOf(y) + 1 || 1e9)) || x.localeCompare(y));
    const datasets = c.datasets ?? present;
    if (!recs.length || !datasets.length) {
      const why = !SUITES[c.suite] && !recs.length ? `no suite '${c.suite}' in this tunebench and no records of it` : `suite '${c.suite}' was not run (no records)`;
      results.push({ ...head, dataset: null, verdict: 'no data', tests: c.tests.map((t) => noData({ label: labelOf(t), compare: t.compare, metric: t.metric, a: t.a, b: t.b ?? null, claim: t.claim, threshold: t.threshold }, why)) });
      continue;
    }
    for (const d of datasets) {
      const dr = recs.filter((r) => r.dataset === d);
      const tests = dr.length
        ? c.tests.map((t) => evaluateTest(dr, c.suite, t))
        : c.tests.map((t) => noData({ label: labelOf(t), compare: t.compare, metric: t.metric, a: t.a, b: t.b ?? null, claim: t.claim, threshold: t.threshold }, `no records of suite '${c.suite}' on dataset '${d}'`));
      results.push({ ...head, dataset: d, verdict: combine(tests), tests });
    }
  }
  // The shipped file by its repository path, so a committed claims.json does not name a machine's folders.
  const rel = relative(repoRoot, file.file);
  return { claimsFile: rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file.file, claimsSha256: file.sha256, records: records.length, results };
}

// ---------------------------------------------------------------------------------------------
// Output: claims.json (±Infinity as null), claims.md, the report's HTML section.

const num = (x: number | null | undefined, kind: CompareKind, signed = false): string => {
  if (x === null || x === undefined) return '–';
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '−∞';
  const s = kind === 'ratio' ? x.toFixed(3) : kind === 'trainable_fraction' ? x.toPrecision(3) : x.toFixed(4);
  return signed && x > 0 ? `+${s}` : s.replace('-', '−');
};
const pText = (p: number | null) => (p === null ? '–' : p < 0.001 ? '< 0.001' : p.toFixed(3));
const ciText = (t: TestResult) => (t.ci ? `[${num(t.ci[0], t.compare)}, ${num(t.ci[1], t.compare)}]` : '–');
const effectText = (t: TestResult) => {
  const tag = t.compare === 'ratio' ? 'ratio ' : t.compare === 'trainable_fraction' ? 'share ' : t.compare === 'spread' ? 'ΔSD ' : 'Δ ';
  return t.effect === null ? '–' : `${tag}${num(t.effect, t.compare, t.compare !== 'ratio' && t.compare !== 'trainable_fraction')}`;
};

export function claimsJson(r: ClaimsReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

/** One Markdown row per test: claim, question, dataset, verdict, test, effect, CI, p, n, method, note. */
export function claimsMarkdown(r: ClaimsReport): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '## What the evidence says',
    '',
    `The seed's claims (${r.results.length} claim × dataset results from ${r.records} records; claims file sha256 ${r.claimsSha256.slice(0, 12)}…). ` +
      'Verdict: **supported** when the 95 % CI of the effect lies entirely on the claimed side of the threshold, **contradicted** when entirely on the other, ' +
      'else **inconclusive**; **no data** when the suite, a strategy or the metric was not run. p: two-sided, H0 "a and b score the same".',
    '',
    '| claim | question | dataset | verdict | test | test verdict | effect | 95 % CI | p | n | method | note |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of r.results) {
    c.tests.forEach((t, i) => {
      lines.push(`| ${i === 0 ? `\`${c.id}\`` : ''} | ${i === 0 ? c.question : ''} | ${i === 0 ? c.dataset ?? '–' : ''} | ${i === 0 ? `**${c.verdict}**` : ''} | ${cell(t.label)} | ${t.verdict} | ${effectText(t)} | ${ciText(t)} | ${pText(t.p)} | ${t.n} | ${t.method ?? '–'} | ${cell(t.note ?? '')} |`);
    });
  }
  lines.push('', ...[...new Map(r.results.map((c) => [`${c.suite}/${c.id}`, c])).values()].map((c) => `- \`${c.id}\` (${c.question}, suite ${c.suite}): ${c.text}`));
  for (const f of r.suiteFiles ?? []) lines.push(`- claims of suite file ${f.file} (sha256 ${f.sha256.slice(0, 12)}…): ${f.claims.join(', ')}`);
  for (const n of r.notes ?? []) lines.push(`- ${n}`);
  lines.push('');
  return lines.join('\n');
}

const VERDICT_CLASS: Record<ClaimVerdict, string> = { supported: 'v-supported', contradicted: 'v-contradicted', inconclusive: 'v-inconclusive', 'no data': 'v-nodata' };

/** The "What the evidence says" section at the top of report.html. */
export function claimsHtml(r: ClaimsReport): string {
  const rows = r.results.flatMap((c) => c.tests.map((t, i) => {
    const first = i === 0;
    const span = c.tests.length > 1 ? ` rowspan="${c.tests.length}"` : '';
    const lead = first
      ? `<td${span} class="claim"><code>${esc(c.id)}</code><br><span class="meta">${esc(c.text)}${r.suiteFiles ? ` (suite ${esc(c.suite)})` : ''}</span></td><td${span}>${esc(c.question)}</td><td${span}>${esc(c.dataset ?? '–')}</td><td${span} class="${VERDICT_CLASS[c.verdict]}">${esc(c.verdict)}</td>`
      : '';
    // Cells carry classes: the leaderboard tables are the report's only bare <tr><td> rows.
    return `<tr class="claim-test">${lead}<td class="test">${esc(t.label)}</td><td class="${VERDICT_CLASS[t.verdict]}">${esc(t.verdict)}</td><td class="num">${esc(effectText(t))}</td><td class="num">${esc(ciText(t))}</td><td class="num">${esc(pText(t.p))}</td><td>${t.n}</td><td class="method">${esc(t.method ?? '–')}${t.note ? `<br><span class="meta">${esc(t.note)}</span>` : ''}</td></tr>`;
  }));
  const count = (v: ClaimVerdict) => r.results.filter((c) => c.verdict === v).length;
  return `<section id="claims" class="claims">
<h2>What the evidence says</h2>
<p>The seed's claims checked against these records: ${count('supported')} supported, ${count('contradicted')} contradicted, ${count('inconclusive')} inconclusive, ${count('no data')} without data (claim × dataset). <span class="meta">A test is supported when the 95 % CI of its effect lies entirely on the claimed side of the threshold, contradicted when it lies entirely on the other side; a claim needs all its tests. p: two-sided, H0 “a and b score the same”. Claims file sha256 <code>${esc(r.claimsSha256.slice(0, 16))}…</code>.</span></p>
<table class="claims"><thead><tr><th>claim</th><th>question</th><th>dataset</th><th>verdict</th><th>test</th><th>test verdict</th><th>effect</th><th>95 % CI</th><th>p</th><th>n</th><th>method</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>${[...(r.suiteFiles ?? []).map((f) => `claims of suite file ${f.file} (sha256 ${f.sha256.slice(0, 12)}…): ${f.claims.join(', ')}`), ...(r.notes ?? [])].map((n) => `\n<p class="meta">${esc(n)}</p>`).join('')}
</section>`;
}

/** Write `text` to `path` through a temporary file and a rename (a reader never sees half a file). */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* not created */ }
    throw e;
  }
}

/** Write leaderboard/claims.json and leaderboard/claims.md of an output directory. */
export function writeClaims(leaderboardDir: string, r: ClaimsReport): { json: string; markdown: string } {
  const files = { json: join(leaderboardDir, 'claims.json'), markdown: join(leaderboardDir, 'claims.md') };
  // Both texts first: an exception while formatting leaves the old files as they were.
  const json = claimsJson(r), md = claimsMarkdown(r);
  writeFileAtomic(files.json, json);
  writeFileAtomic(files.markdown, md);
  return files;
}
