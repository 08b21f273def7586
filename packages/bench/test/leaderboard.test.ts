// Aggregation over seeds, the paired comparison with the baseline, the Pareto front, record
// validation and the CSV / Markdown / JSON writers, on synthetic records with known answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { permutationTest } from '@tunebench/eval';
import { aggregate, exactSignFlip, paretoFront, checkRecord, readRecord, writeReports, longCsv, wideCsv, RECORD_SCHEMA_VERSION } from '../src/index.js';
import { makeRecord } from './helpers.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

function worked() {
  const full = [0.8, 0.82, 0.78], head = [0.7, 0.71, 0.69];
  return [
    ...full.map((s, seed) => makeRecord({ strategy: 'full', seed, score: s, trainable: 100000, tokens: 9000 })),
    ...head.map((s, seed) => makeRecord({ strategy: 'head_only', seed, score: s, trainable: 1000, tokens: 9000 })),
  ];
}

test('aggregate: mean, sample std, bootstrap CI over seeds and the paired comparison (worked example)', () => {
  const rows = aggregate(worked(), { resamples: 2000 });
  assert.deepEqual(rows.map((r) => r.strategy), ['full', 'head_only']);
  const [full, head] = rows;
  close(full!.mean, 0.8);
  close(full!.std!, 0.02, 1e-12); // deviations ±0.02, 0 → sqrt(0.0008 / 2)
  close(head!.mean, 0.7);
  close(head!.std!, 0.01);
  // A bootstrap interval of the mean of 3 values lies within their range and around the mean.
  assert.ok(full!.ciLo! >= 0.78 - 1e-12 && full!.ciLo! <= 0.8 && full!.ciHi! >= 0.8 && full!.ciHi! <= 0.82 + 1e-12);
  assert.ok(full!.isBaseline && !head!.isBaseline);
  assert.equal(full!.vsBaseline, null);
  // Δ = −0.1 on every seed pair (−0.10, −0.11, −0.09); all 3 signs agree → exact sign-flip p = 2/8.
  close(head!.vsBaseline!.delta, -0.1, 1e-12);
  close(head!.vsBaseline!.pPermutation!, 0.25);
  assert.ok(head!.vsBaseline!.lo >= -0.11 - 1e-12 && head!.vsBaseline!.hi <= -0.09 + 1e-12);
  assert.equal(head!.vsBaseline!.seeds, 3);
  // mean learning curve over seeds
  assert.deepEqual(head!.curve.map((p) => p.step), [5, 10]);
  close(head!.curve[1]!.dev_main_score!, 0.7);
  close(head!.metrics.macro_f1!, 0.35);
});

test('one seed: no std, no CI, no significance (not a fake zero)', () => {
  const rows = aggregate([makeRecord({ strategy: 'full', seed: 0, score: 0.8 }), makeRecord({ strategy: 'top_1', seed: 0, score: 0.7 })]);
  for (const r of rows) {
    assert.equal(r.std, null);
    assert.equal(r.ciLo, null);
    assert.equal(r.vsBaseline, null);
  }
});

test('exact sign-flip p agrees with the Monte-Carlo permutation test of @tunebench/eval', () => {
  // Scores on a 0.01 grid (as metrics are): exact ties between sign patterns happen and must be
  // counted alike by both (relative slack 1e-12); arbitrary doubles near 1e-300 are not scores.
  const score = fc.integer({ min: 0, max: 100 }).map((x) => x / 100);
  fc.assert(fc.property(fc.array(fc.tuple(score, score), { minLength: 2, maxLength: 8 }), (pairs) => {
    const a = pairs.map((p) => p[0]), b = pairs.map((p) => p[1]);
    const exact = exactSignFlip(a, b);
    const mc = permutationTest(a, b, { resamples: 20000, seed: 1 }).pValue;
    assert.ok(Math.abs(exact - mc) < 0.03, `exact ${exact} vs Monte Carlo ${mc}`);
    assert.ok(exact >= 2 / 2 ** a.length - 1e-12 || a.every((x, i) => x === b[i]));
  }), { numRuns: 40 });
});

test('Pareto front: nothing on it is dominated, everything off it is', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 50 })), { minLength: 1, maxLength: 30 }), (pts) => {
    const items = pts.map(([c, s], i) => ({ c, s, i }));
    const front = paretoFront(items, (x) => x.c, (x) => x.s);
    const dominates = (p: typeof items[0], q: typeof items[0]) => p.c <= q.c && p.s >= q.s && (p.c < q.c || p.s > q.s);
    for (const f of front) assert.ok(!items.some((x) => dominates(x, f)));
    for (const x of items) if (!front.includes(x)) assert.ok(items.some((y) => dominates(y, x)));
    assert.ok(front.length >= 1);
  }));
});

test('records: another schema version, another benchmark set, a missing field are clear errors', () => {
  const r = makeRecord({ strategy: 'full', seed: 0, score: 0.5 });
  assert.doesNotThrow(() => checkRecord(r, 'r.json'));
  assert.throws(() => checkRecord({ ...r, schemaVersion: RECORD_SCHEMA_VERSION + 1 }, 'r.json'), /r\.json: record schema version 2; this tunebench reads version 1/);
  assert.throws(() => checkRecord({ ...r, benchmark: 'tunebench-perf' }, 'r.json'), /r\.json: a record of benchmark set "tunebench-perf"/);
  const { tokens: _t, ...noTokens } = r;
  assert.throws(() => checkRecord(noTokens, 'r.json'), /r\.json: invalid run record: .*tokens/);
  assert.throws(() => checkRecord({ ...r, metrics: { accuracy: 1 } }, 'r.json'), /main_score/);
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-rec-'));
  writeFileSync(join(dir, 'bad.json'), '{"schemaVersion": 1,');
  assert.throws(() => readRecord(join(dir, 'bad.json')), /bad\.json: not JSON/);
  rmSync(dir, { recursive: true, force: true });
  // aggregate refuses mixed presets, duplicated seeds and different dataset versions
  assert.throws(() => aggregate([r, makeRecord({ strategy: 'full', seed: 1, score: 0.5, preset: 'full' })]), /several presets/);
  assert.throws(() => aggregate([r, r]), /two records of freezing\/wn_topic\/full\/seed0/);
  assert.throws(() => aggregate([r, makeRecord({ strategy: 'full', seed: 1, score: 0.5, hash: 'b'.repeat(64) })]), /different versions of dataset wn_topic/);
});

test('CSV long / wide, Markdown and MTEB-like JSON from an output directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-rep-'));
  const recs = worked();
  for (const r of recs) {
    const p = join(dir, 'records', `${r.runId}.json`);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, JSON.stringify(r));
  }
  const rep = writeReports(dir, { resamples: 500 });
  const long = readFileSync(rep.files.longCsv, 'utf8').trim().split('\n');
  assert.equal(long[0], 'suite,dataset,strategy,seed,split,metric,value,trainable_params,total_params,tokens,wall_time_s,preset,manifest_sha256,git_revision');
  assert.equal(long.length, 1 + 6 * 3, 'one row per run × metric (main_score, accuracy, macro_f1)');
  assert.ok(long.includes(`freezing,wn_topic,head_only,1,test,main_score,0.71,1000,100000,9000,10,quick,${'a'.repeat(64)},0123456789abcdef0123456789abcdef01234567`));
  const wide = readFileSync(rep.files.wideCsv, 'utf8').trim().split('\n');
  assert.equal(wide.length, 3);
  const head = wide[0]!.split(',');
  const row = wide[2]!.split(',');
  assert.equal(row[head.indexOf('strategy')], 'head_only');
  close(Number(row[head.indexOf('main_score_mean')]), 0.7, 1e-9);
  close(Number(row[head.indexOf('delta_vs_baseline')]), -0.1, 1e-9);
  close(Number(row[head.indexOf('p_permutation')]), 0.25, 1e-12);
  assert.equal(longCsv(recs), readFileSync(rep.files.longCsv, 'utf8'));
  assert.equal(wideCsv(rep.rows), readFileSync(rep.files.wideCsv, 'utf8'));
  const md = readFileSync(rep.files.markdown, 'utf8');
  assert.match(md, /\| full \(baseline\) \| 0\.8000 ± 0\.0200 ★ best \|/);
  assert.match(md, /\| head_only \| 0\.7000 ± 0\.0100 \| .* \| -0\.1000 \[/);
  const json = JSON.parse(readFileSync(rep.files.json, 'utf8'));
  const h = json.results.find((x: { model_name: string }) => x.model_name === 'freezing/head_only');
  assert.equal(h.task_name, 'wn_topic');
  close(h.scores.test[0].main_score, 0.7, 1e-12);
  assert.deepEqual(h.scores.test[0].seeds, [0, 1, 2]);
  rmSync(dir, { recursive: true, force: true });
});
