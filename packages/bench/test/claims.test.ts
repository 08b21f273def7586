// The claims (claims.yaml, claims.ts) and the seed-paired comparison (evidence.ts) on synthetic
// records built to be clearly supported / contradicted / inconclusive / without data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { studentTQuantile } from '@tunebench/eval';
import {
  benchClaims, claimsJson, compareStrategies, evaluateClaims, fiellerRatio, loadClaims, verdictOf, writeReports,
  type ClaimsFile, type ClaimResult, type RunRecord,
} from '../src/index.js';
import { makeRecord } from './helpers.js';

const SEEDS = [0, 1, 2, 3, 4];
const shipped = loadClaims();

/** Records of one strategy, one per seed, with main_score = scores[i] (and extra metrics). */
function recs(suite: string, dataset: string, strategy: string, scores: number[], extra: (i: number) => Record<string, number> = () => ({}), trainable?: number): RunRecord[] {
  return scores.map((score, i) => {
    const r = makeRecord({ suite, dataset, strategy, seed: SEEDS[i]!, score, ...(trainable !== undefined ? { trainable } : {}) });
    Object.assign(r.metrics, extra(i));
    return r;
  });
}

const byId = (results: ClaimResult[], id: string, dataset?: string) => {
  const r = results.find((x) => x.id === id && (dataset === undefined || x.dataset === dataset));
  assert.ok(r, `no result for ${id}${dataset ? ` on ${dataset}` : ''}`);
  return r;
};

function claimsFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tb-claims-'));
  const f = join(dir, 'claims.yaml');
  writeFileSync(f, yaml);
  return f;
}

test('compareStrategies (seed-paired) equals scipy.stats.ttest_rel: Δ, 95 % CI and p', () => {
  const rs = [...recs('freezing', 'wn_topic', 'top_2', [0.81, 0.84, 0.80, 0.86]), ...recs('freezing', 'wn_topic', 'full', [0.78, 0.80, 0.79, 0.81])];
  const c = compareStrategies(rs, 'freezing', 'main_score', 'top_2', 'full')!;
  // scipy 1.17.1: ttest_rel(a, b) → p 0.031874195103556976, CI (0.0053246911620398844, 0.05967530883796006)
  assert.equal(c.method, 'seed-paired');
  assert.equal(c.n, 4);
  assert.ok(Math.abs(c.delta - 0.0325) < 1e-12);
  assert.ok(Math.abs(c.ci[0] - 0.0053246911620398844) < 1e-9 && Math.abs(c.ci[1] - 0.05967530883796006) < 1e-9, `${c.ci}`);
  assert.ok(Math.abs(c.p! - 0.031874195103556976) < 1e-9, `${c.p}`);
  // Pairs only on shared seeds; a strategy without records → null; one pair → no interval.
  assert.equal(compareStrategies(rs, 'freezing', 'main_score', 'top_2', 'lora_r8'), null);
  const one = compareStrategies(rs.filter((r) => r.seed === 0), 'freezing', 'main_score', 'top_2', 'full')!;
  assert.deepEqual([one.n, one.ci[0], one.ci[1], one.p], [1, -Infinity, Infinity, null]);
  // Datasets are never pooled into one pair: each (dataset, seed) is its own pair.
  const two = [...rs, ...recs('freezing', 'email', 'top_2', [0.5]), ...recs('freezing', 'email', 'full', [0.5])];
  assert.equal(compareStrategies(two, 'freezing', 'main_score', 'top_2', 'full')!.n, 5);
});

test('verdictOf: all of the CI on the claimed side → supported, none of it → contradicted, else inconclusive', () => {
  assert.equal(verdictOf([0.01, 0.05], '>', 0), 'supported');
  assert.equal(verdictOf([-0.05, -0.01], '>', 0), 'contradicted');
  assert.equal(verdictOf([-0.01, 0.05], '>', 0), 'inconclusive');
  assert.equal(verdictOf([0, 0.05], '>', 0), 'inconclusive');
  assert.equal(verdictOf([0, 0.05], '>=', 0), 'supported');
  assert.equal(verdictOf([-0.05, 0], '>=', 0), 'inconclusive');
  assert.equal(verdictOf([0.85, 0.89], '<=', 0.9), 'supported');
  assert.equal(verdictOf([0.91, 0.95], '<=', 0.9), 'contradicted');
  assert.equal(verdictOf([-0.01, 0.015], 'within', 0.02), 'supported');
  assert.equal(verdictOf([0.02, 0.04], 'within', 0.02), 'contradicted');
  assert.equal(verdictOf([-0.03, -0.025], 'within', 0.02), 'contradicted');
  assert.equal(verdictOf([0.01, 0.03], 'within', 0.02), 'inconclusive');
  assert.equal(verdictOf([-Infinity, Infinity], '<', 0), 'inconclusive');
  // Mirror law: a < t on the CI is a > t on the negated CI.
  fc.assert(fc.property(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), (lo, w, t) => {
    assert.equal(verdictOf([lo, lo + w], '<', t), verdictOf([-(lo + w), -lo], '>', -t));
    assert.equal(verdictOf([lo, lo + w], '<=', t), verdictOf([-(lo + w), -lo], '>=', -t));
  }));
});

test("fiellerRatio: θ is in the interval exactly when the paired t test of a − θ·b does not reject at 5 %", () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.double({ min: 0.5, max: 0.9, noNaN: true }), fc.double({ min: 0.5, max: 0.9, noNaN: true })), { minLength: 3, maxLength: 8 }),
    fc.double({ min: 0.3, max: 2, noNaN: true }),
    (pairs, theta) => {
      const a = pairs.map((p) => p[0]), b = pairs.map((p) => p[1]);
      const { ratio, ci } = fiellerRatio(a, b);
      const n = a.length;
      assert.ok(Math.abs(ratio - a.reduce((s, x) => s + x, 0) / b.reduce((s, x) => s + x, 0)) < 1e-12);
      const d = a.map((x, i) => x - theta * b[i]!);
      const m = d.reduce((s, x) => s + x, 0) / n;
      const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
      if (!(sd > 1e-9)) return;
      const tStat = Math.abs(m / (sd / Math.sqrt(n)));
      const crit = studentTQuantile(0.975, n - 1);
      if (Math.abs(tStat - crit) < 1e-6) return; // on the boundary: rounding decides
      const inside = theta >= ci[0] && theta <= ci[1];
      // (An unbounded set — mean(b) not clearly away from 0 — cannot happen with b in [0.5, 0.9].)
      assert.ok(Number.isFinite(ci[0]) && Number.isFinite(ci[1]), `${ci}`);
      assert.equal(inside, tStat < crit, `θ ${theta}, CI ${ci}, t ${tStat} vs ${crit}`);
    },
  ));
  // No noise in the ratio: a zero-width interval at the ratio.
  assert.deepEqual(fiellerRatio([0.5, 0.4375, 0.375], [1, 0.875, 0.75]), { ratio: 0.5, ci: [0.5, 0.5] });
  // mean(b) indistinguishable from 0: unbounded.
  assert.deepEqual(fiellerRatio([0.5, 0.6, 0.4], [0.1, -0.1, 0.02]).ci, [-Infinity, Infinity]);
});

/** Freezing records on wn_topic (and email): full ≈ 0.80; top_2, head_only, lora_r8 as given. */
function freezing(o: { top2: number[]; head: number[]; lora: number[]; loraTrainable?: number; dataset?: string }): RunRecord[] {
  const ds = o.dataset ?? 'wn_topic';
  return [
    ...recs('freezing', ds, 'full', [0.80, 0.82, 0.79, 0.81, 0.80], () => ({}), 100000),
    ...recs('freezing', ds, 'top_2', o.top2, () => ({}), 20000),
    ...recs('freezing', ds, 'head_only', o.head, () => ({}), 1000),
    ...recs('freezing', ds, 'lora_r8', o.lora, () => ({}), o.loraTrainable ?? 2000),
  ];
}

test('shipped claims on records built to be clearly supported', () => {
  const rs = freezing({ top2: [0.78, 0.80, 0.775, 0.79, 0.785], head: [0.50, 0.53, 0.49, 0.51, 0.52], lora: [0.795, 0.818, 0.789, 0.811, 0.802] });
  const rep = evaluateClaims(rs, shipped);
  const top2 = byId(rep.results, 'q130_top2_90pct_of_full');
  assert.equal(top2.verdict, 'supported');
  assert.equal(top2.dataset, 'wn_topic');
  assert.equal(top2.tests[0]!.method, 'seed-paired (Fieller ratio CI)');
  assert.ok(top2.tests[0]!.ci![0] > 0.9 && top2.tests[0]!.effect! < 1);
  assert.equal(byId(rep.results, 'q130_head_only_below_full').verdict, 'supported');
  const lora = byId(rep.results, 'q130_lora_r8_near_full');
  assert.equal(lora.verdict, 'supported', JSON.stringify(lora.tests));
  assert.equal(lora.tests[1]!.effect, 0.02); // 2000 / 100000 trainable
  assert.equal(lora.tests[1]!.p, null);
});

test('shipped claims on records built to be clearly contradicted', () => {
  const rs = freezing({ top2: [0.40, 0.45, 0.41, 0.42, 0.44], head: [0.90, 0.91, 0.92, 0.90, 0.93], lora: [0.70, 0.71, 0.69, 0.70, 0.72] });
  const rep = evaluateClaims(rs, shipped);
  assert.equal(byId(rep.results, 'q130_top2_90pct_of_full').verdict, 'contradicted');
  assert.equal(byId(rep.results, 'q130_head_only_below_full').verdict, 'contradicted');
  // LoRA: 10 points below full (the first test contradicts) → the claim is contradicted.
  const lora = byId(rep.results, 'q130_lora_r8_near_full');
  assert.deepEqual([lora.verdict, lora.tests[0]!.verdict, lora.tests[1]!.verdict], ['contradicted', 'contradicted', 'supported']);
  // Too many trainable parameters alone also contradicts.
  const big = evaluateClaims(freezing({ top2: [0.8, 0.8, 0.8, 0.8, 0.8], head: [0.5, 0.5, 0.5, 0.5, 0.5], lora: [0.80, 0.82, 0.79, 0.81, 0.80], loraTrainable: 30000 }), shipped);
  assert.equal(byId(big.results, 'q130_lora_r8_near_full').tests[1]!.verdict, 'contradicted');
});

test('shipped claims on records built to be inconclusive (noise larger than the effect; one seed)', () => {
  const rs = freezing({ top2: [0.60, 0.95, 0.55, 0.99, 0.70], head: [0.85, 0.70, 0.88, 0.72, 0.83], lora: [0.77, 0.85, 0.76, 0.84, 0.80] });
  const rep = evaluateClaims(rs, shipped);
  for (const id of ['q130_top2_90pct_of_full', 'q130_head_only_below_full', 'q130_lora_r8_near_full']) {
    assert.equal(byId(rep.results, id).verdict, 'inconclusive', `${id}: ${JSON.stringify(byId(rep.results, id).tests)}`);
  }
  // One seed: an effect but no interval → inconclusive, said so.
  const one = evaluateClaims(rs.filter((r) => r.seed === 0), shipped);
  const h = byId(one.results, 'q130_head_only_below_full');
  assert.equal(h.verdict, 'inconclusive');
  assert.equal(h.tests[0]!.note, 'one seed: no interval');
  assert.equal(h.tests[0]!.p, null);
});

test('no data, never an error: a suite not run, a strategy or a metric missing, an unknown suite', () => {
  const rs = freezing({ top2: [0.8, 0.8, 0.8, 0.8, 0.8], head: [0.5, 0.5, 0.5, 0.5, 0.5], lora: [0.8, 0.8, 0.8, 0.8, 0.8] });
  const rep = evaluateClaims(rs, shipped);
  // Every shipped claim has a result; those of suites without records say so.
  assert.deepEqual([...new Set(rep.results.map((r) => r.id))].sort(), shipped.claims.map((c) => c.id).sort());
  const dom = byId(rep.results, 'q135_continued_beats_direct');
  assert.deepEqual([dom.verdict, dom.dataset], ['no data', null]);
  assert.match(dom.tests[0]!.note!, /suite 'domain' was not run/);
  // Nothing at all: every claim is "no data".
  assert.ok(evaluateClaims([], shipped).results.every((r) => r.verdict === 'no data'));
  // A strategy missing (micro preset: no lora_r8 → no top_2 either).
  const micro = evaluateClaims(rs.filter((r) => r.strategy === 'full' || r.strategy === 'head_only'), shipped);
  const t2 = byId(micro.results, 'q130_top2_90pct_of_full');
  assert.equal(t2.verdict, 'no data');
  assert.match(t2.tests[0]!.note!, /no records of strategy 'top_2'/);
  // A metric missing (costly_recall is left out when the test split has no costly example).
  const costly = [...recs('costly', 'changelog_urgency', 'ce', [0.3, 0.3, 0.3]), ...recs('costly', 'changelog_urgency', 'ce.threshold', [0.2, 0.2, 0.2], () => ({ costly_recall: 0.5 }))];
  const q141 = byId(evaluateClaims(costly, shipped).results, 'q141_remedies_raise_costly_recall');
  assert.equal(q141.verdict, 'no data');
  assert.match(q141.tests[2]!.note!, /the records of 'ce' have no metric 'costly_recall'/);
  // A suite no tunebench has: the claim loads and evaluates to no data.
  const f = loadClaims(claimsFile(`claims:\n  - id: mt_helps\n    question: Q139\n    text: multi-task helps\n    suite: multitask\n    tests:\n      - { compare: difference, a: shared, b: single, claim: '>', threshold: 0 }\n`));
  const mt = evaluateClaims(rs, f).results[0]!;
  assert.equal(mt.verdict, 'no data');
  assert.match(mt.tests[0]!.note!, /no suite 'multitask'/);
});

test('a claim is evaluated per dataset; contradicted beats no data in a conjunction; no data beats supported', () => {
  const rs = [
    ...freezing({ top2: [0.78, 0.80, 0.775, 0.79, 0.785], head: [0.5, 0.53, 0.49, 0.51, 0.52], lora: [0.8, 0.82, 0.79, 0.81, 0.8] }),
    ...freezing({ dataset: 'email', top2: [0.40, 0.45, 0.41, 0.42, 0.44], head: [0.5, 0.53, 0.49, 0.51, 0.52], lora: [0.8, 0.82, 0.79, 0.81, 0.8] }),
  ];
  const rep = evaluateClaims(rs, shipped);
  assert.deepEqual(rep.results.filter((r) => r.id === 'q130_top2_90pct_of_full').map((r) => [r.dataset, r.verdict]), [['wn_topic', 'supported'], ['email', 'contradicted']]);
  // Q135 "scratch loses to both": one test contradicted, the other without data.
  const dom = [
    ...recs('domain', 'email', 'a_base_finetune', [0.70, 0.71, 0.69, 0.70, 0.72]),
    ...recs('domain', 'email', 'c_scratch', [0.80, 0.81, 0.82, 0.80, 0.83]),
  ];
  const q = byId(evaluateClaims(dom, shipped).results, 'q135_scratch_loses_to_both');
  assert.deepEqual([q.verdict, q.tests[0]!.verdict, q.tests[1]!.verdict], ['contradicted', 'contradicted', 'no data']);
  const dom2 = [...recs('domain', 'email', 'a_base_finetune', [0.80, 0.81, 0.82, 0.80, 0.83]), ...recs('domain', 'email', 'c_scratch', [0.60, 0.61, 0.59, 0.60, 0.62])];
  const q2 = byId(evaluateClaims(dom2, shipped).results, 'q135_scratch_loses_to_both');
  assert.deepEqual([q2.verdict, q2.tests[0]!.verdict, q2.tests[1]!.verdict], ['no data', 'supported', 'no data']);
});

test('Q137 spread: SD across fine-tuning LRs vs across pretraining LRs, per seed, at the LRs both stages ran', () => {
  const lr = (stage: string, name: string, v: number, scores: number[]) =>
    scores.map((s, i) => { const r = makeRecord({ suite: 'sensitivity', dataset: 'email', strategy: name, seed: i, score: s, params: { stage, lr: v } }); return r; });
  const base = [
    ...lr('finetune', 'ft_lr_3e-5', 3e-5, [0.40, 0.42, 0.41]),
    ...lr('finetune', 'ft_lr_3e-4', 3e-4, [0.80, 0.81, 0.79]),
    ...lr('pretrain', 'pt_lr_3e-5', 3e-5, [0.78, 0.80, 0.79]),
    ...lr('pretrain', 'pt_lr_3e-4', 3e-4, [0.79, 0.80, 0.81]),
  ];
  const r1 = byId(evaluateClaims(base, shipped).results, 'q137_finetune_lr_matters_more');
  assert.equal(r1.verdict, 'supported', JSON.stringify(r1.tests));
  assert.equal(r1.tests[0]!.n, 3);
  // Seed 0 by hand: SD(0.40, 0.80) − SD(0.78, 0.79) = (0.40 − 0.01)/√2.
  const d0 = (0.40 - 0.01) / Math.SQRT2, d1 = (0.39 - 0.0) / Math.SQRT2, d2 = (0.38 - 0.02) / Math.SQRT2;
  assert.ok(Math.abs(r1.tests[0]!.effect! - (d0 + d1 + d2) / 3) < 1e-12);
  // A fine-tuning LR the pretraining stage did not run is left out (pairBy: lr): same result.
  const wider = [...base, ...lr('finetune', 'ft_lr_1e-3', 1e-3, [0.1, 0.9, 0.2])];
  assert.equal(byId(evaluateClaims(wider, shipped).results, 'q137_finetune_lr_matters_more').tests[0]!.effect, r1.tests[0]!.effect);
  // The reverse world: contradicted.
  const flat = base.map((r) => ({ ...r, metrics: { ...r.metrics, main_score: r.strategy.startsWith('ft') ? 0.8 + r.seed * 0.001 + (r.strategy.endsWith('5') ? 0.01 : 0) : r.metrics.main_score * (r.strategy.endsWith('5') ? 0.5 : 1) } }));
  assert.equal(byId(evaluateClaims(flat, shipped).results, 'q137_finetune_lr_matters_more').verdict, 'contradicted');
  // micro: one pretraining LR → no data, with the reason.
  const micro = base.filter((r) => r.strategy !== 'pt_lr_3e-4');
  const m = byId(evaluateClaims(micro, shipped).results, 'q137_finetune_lr_matters_more');
  assert.equal(m.verdict, 'no data');
  assert.match(m.tests[0]!.note!, /a spread needs at least 2/);
});

test('the shipped claims file covers the questions of issue 22 and names real strategies', () => {
  const qs = new Set(shipped.claims.map((c) => c.question));
  for (const q of ['Q130', 'Q131–Q133', 'Q134', 'Q135', 'Q136', 'Q137', 'Q138', 'Q140', 'Q141']) assert.ok(qs.has(q), `no claim of ${q}`);
  assert.ok(shipped.claims.every((c) => c.tests.every((t) => t.metric.length > 0)));
  assert.equal(new Set(shipped.claims.map((c) => c.id)).size, shipped.claims.length);
});

test('a malformed claims file ends with an error naming the file, line, claim id and field', () => {
  const good = `claims:\n  - id: c1\n    question: Q130\n    text: t\n    suite: freezing\n    tests:\n      - { compare: difference, a: head_only, b: full, claim: '<', threshold: 0 }\n`;
  assert.equal(loadClaims(claimsFile(good)).claims[0]!.tests[0]!.metric, 'main_score');
  const cases: [string, RegExp][] = [
    [good.replace('a: head_only', 'a: head_onyl'), /claims\.yaml:7: claim 'c1' \(claims\[0\]\): tests\[0\]\.a: 'head_onyl' is not a strategy of suite 'freezing' \(known: head_only, /],
    [good.replace("claim: '<'", "claim: 'less'"), /:7: claim 'c1' \(claims\[0\]\): tests\[0\]\.claim: must be one of ">", ">=", "<", "<=", "within"/],
    [good.replace('threshold: 0 }', 'threshold: 0, metirc: f1 }'), /:7: claim 'c1' \(claims\[0\]\): tests\[0\]\.metirc: unknown key "metirc" \(known: label, compare, metric/],
    [good.replace('    suite: freezing\n', ''), /:2: claim 'c1' \(claims\[0\]\): missing key "suite"/],
    [good.replace(', b: full', ''), /claim 'c1' \(claims\[0\]\): tests\[0\]: missing key "b"/],
    [good.replace('threshold: 0 }', "threshold: '0' }"), /claim 'c1' \(claims\[0\]\): tests\[0\]\.threshold: must be number/],
    [good + good.replace('claims:\n', ''), /:8: claim 'c1' \(claims\[1\]\): id: duplicate id \(also claims\[0\]\)/],
    [good.replace("compare: difference, a: head_only, b: full, claim: '<', threshold: 0", "compare: difference, a: head_only, b: full, claim: within, threshold: 0"), /tests\[0\]\.threshold: 'within' needs a positive threshold/],
    [good.replace("compare: difference, a: head_only, b: full", "compare: spread, a: 'lora_*', b: full"), /tests\[0\]\.b: pattern 'full' matches 1 strategies/],
    [good.replace('question: Q130', 'question: about freezing'), /claim 'c1' \(claims\[0\]\): question: must match pattern/],
    ['claims:\n  - id: c1\n    question: [Q130\n', /claims\.yaml:\d+: YAML syntax error/],
  ];
  for (const [text, re] of cases) assert.throws(() => loadClaims(claimsFile(text)), re, text);
  assert.throws(() => loadClaims('/nonexistent/claims.yaml'), /\/nonexistent\/claims\.yaml: cannot read the claims file \(ENOENT\)/);
});

function sweepDir(rs: RunRecord[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tb-claims-out-'));
  for (const r of rs) {
    const p = join(dir, 'records', ...r.runId.split('/')) + '.json';
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, JSON.stringify(r));
  }
  return dir;
}

test('bench claims writes leaderboard/claims.{json,md} atomically; a bad claims file leaves the old ones and no temp file', () => {
  const rs = freezing({ top2: [0.78, 0.80, 0.775, 0.79, 0.785], head: [0.5, 0.53, 0.49, 0.51, 0.52], lora: [0.795, 0.818, 0.789, 0.811, 0.802] });
  const dir = sweepDir(rs);
  const lb = join(dir, 'leaderboard');
  mkdirSync(lb, { recursive: true });
  writeFileSync(join(lb, 'claims.json'), 'OLD');
  writeFileSync(join(lb, 'claims.md'), 'OLD');
  assert.throws(() => benchClaims(dir, claimsFile('claims: []\n')), /claims: must NOT have fewer than 1 items/);
  assert.equal(readFileSync(join(lb, 'claims.json'), 'utf8'), 'OLD');
  assert.equal(readFileSync(join(lb, 'claims.md'), 'utf8'), 'OLD');
  const out = benchClaims(dir);
  assert.deepEqual(readdirSync(lb).sort(), ['claims.json', 'claims.md']);
  const json = JSON.parse(readFileSync(out.json, 'utf8')) as { results: ClaimResult[]; records: number };
  assert.equal(json.records, rs.length);
  assert.equal((json as unknown as { claimsFile: string }).claimsFile, 'packages/bench/claims.yaml');
  assert.equal(byId(json.results, 'q130_top2_90pct_of_full').verdict, 'supported');
  // ±∞ (no interval) is written as null, never as a bare Infinity that JSON cannot read.
  const inf = claimsJson(evaluateClaims(rs.filter((r) => r.seed === 0), shipped));
  assert.ok(!/Infinity/.test(inf) && /"ci": \[\n\s+null,\n\s+null\n\s+\]/.test(inf));
  const md = readFileSync(out.markdown, 'utf8');
  assert.match(md, /^## What the evidence says/);
  assert.match(md, /\| `q130_top2_90pct_of_full` \| Q130 \| wn_topic \| \*\*supported\*\* \| top_2 \/ full ≥ 0\.9 \| supported \| ratio 0\.9\d\d \| \[0\.9\d\d, 0\.9\d\d\] \| /);
  assert.match(md, /\| `q135_continued_beats_direct` \| Q135 \| – \| \*\*no data\*\* \|/);
});

test("every leaderboard build writes the claims and puts 'What the evidence says' at the top of report.html", () => {
  const rs = freezing({ top2: [0.78, 0.80, 0.775, 0.79, 0.785], head: [0.5, 0.53, 0.49, 0.51, 0.52], lora: [0.795, 0.818, 0.789, 0.811, 0.802] });
  const dir = sweepDir(rs);
  const rep = writeReports(dir, { resamples: 200 });
  assert.ok(existsSync(rep.files.claimsJson) && existsSync(rep.files.claimsMarkdown));
  const html = readFileSync(rep.files.html, 'utf8');
  const at = html.indexOf('<h2>What the evidence says</h2>');
  assert.ok(at > 0 && at < html.indexOf('<section id="freezing-wn_topic"'), 'the claims come before the first suite');
  assert.match(html, /<td rowspan="2" class="v-supported">supported<\/td><td class="test">score within 2 points: \|lora_r8 − full\| &lt; 0\.02<\/td>/);
  // One dataset in the records: one result per shipped claim.
  assert.equal(rep.claims.results.length, shipped.claims.length);
});

test('a claims file given to writeReports is used; a malformed one stops before any leaderboard file is written', () => {
  const rs = freezing({ top2: [0.78, 0.80, 0.775, 0.79, 0.785], head: [0.5, 0.53, 0.49, 0.51, 0.52], lora: [0.8, 0.8, 0.8, 0.8, 0.8] });
  const dir = sweepDir(rs);
  assert.throws(() => writeReports(dir, { claimsFile: claimsFile('claims:\n  - id: x\n') }), /claim 'x' \(claims\[0\]\): missing key "question"/);
  assert.ok(!existsSync(join(dir, 'leaderboard')));
  const one: ClaimsFile = loadClaims(claimsFile(`claims:\n  - id: only\n    question: Q130\n    text: t\n    suite: freezing\n    tests:\n      - { compare: difference, a: head_only, b: full, claim: '<', threshold: 0 }\n`));
  const rep = writeReports(dir, { resamples: 100, claimsFile: one.file });
  assert.deepEqual(rep.claims.results.map((r) => [r.id, r.verdict]), [['only', 'supported']]);
});
