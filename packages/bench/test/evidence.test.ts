// Per-example evidence (evidence.ts): prediction sidecars written by the runner beside each record
// (fake trainer with FAKE_PREDICTIONS), read back and hash-checked, carried by the phase cache and
// by `bench merge`; comparisons paired over examples (and seed-paired without sidecars); the
// leaderboard's Holm-adjusted p and MDD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { holm, mcnemarExact } from '@tunebench/eval';
import {
  aggregate, compareRecords, compareStrategies, loadEvidence, loadRecords, mergeRecords, PRESETS, planSweep, predictionsFile, readRecord, recordPath,
  runSweep, writeReports, type RunRecord,
} from '../src/index.js';
import { makeRecord } from './helpers.js';

const fake = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'tunebench-evidence-'));

async function sweep(outDir: string, env: Record<string, string> = { FAKE_PREDICTIONS: '1' }) {
  const p = planSweep(PRESETS.micro, { suites: ['freezing'] }); // full (baseline), head_only, lora_r4 × seeds 0, 1
  const lines: string[] = [];
  const s = await runSweep(p, { outDir, backend: 'cpu', childCommand: [process.execPath, fake], env, log: (l) => lines.push(l) });
  return { s, lines };
}

test('each record names its predictions and the gold labels, hashed; both read back and agree with the record', async () => {
  const out = tmp();
  const { s } = await sweep(out);
  assert.equal(s.done, 6);
  const recs = loadRecords(join(out, 'records'));
  const gold = readdirSync(join(out, 'gold'));
  assert.equal(gold.length, 1, 'one gold file for wn_topic test, shared by every run');
  for (const r of recs) {
    assert.ok(r.predictions, r.runId);
    assert.equal(r.predictions!.kind, 'seq_cls');
    assert.equal(r.predictions!.count, 100);
    assert.ok(existsSync(predictionsFile(out, r.runId)));
    const ev = loadEvidence(r)!;
    const acc = (ev.pred as string[]).filter((p, i) => p === ev.gold[i]).length / ev.ids.length;
    assert.equal(acc, r.metrics.accuracy);
    assert.deepEqual(ev.ids.slice(0, 2), ['row0', 'row1']);
  }
  // A changed sidecar is caught by its hash.
  const r0 = recs[0]!;
  const f = predictionsFile(out, r0.runId);
  const text = gunzipSync(readFileSync(f)).toString('utf8');
  writeFileSync(f, gzipSync(text.replace('"y":0', '"y":1')));
  assert.throws(() => loadEvidence(readRecord(recordPath(out, r0.runId))), /sha256 of its content differs/);
  rmSync(out, { recursive: true, force: true });
});

test('paired over examples: Δ equals the seed-level Δ, McNemar p from the pooled discordant pairs, Holm over the suite', async () => {
  const out = tmp();
  await sweep(out);
  const recs = loadRecords(join(out, 'records'));
  const c = compareStrategies(recs, 'freezing', 'accuracy', 'head_only', 'full')!;
  assert.equal(c.method, 'paired-bootstrap');
  assert.equal(c.n, 200);
  const by = (s: string) => recs.filter((r) => r.strategy === s).sort((a, b) => a.seed - b.seed);
  const seedDelta = (by('head_only')[0]!.metrics.accuracy! - by('full')[0]!.metrics.accuracy! + by('head_only')[1]!.metrics.accuracy! - by('full')[1]!.metrics.accuracy!) / 2;
  assert.ok(Math.abs(c.delta - seedDelta) < 1e-12);
  assert.ok(c.ci[0] <= c.delta && c.delta <= c.ci[1]);
  // McNemar from the pooled discordant pairs of both seeds
  let b = 0, cc = 0;
  for (const seed of [0, 1]) {
    const x = loadEvidence(by('head_only')[seed]!)!, y = loadEvidence(by('full')[seed]!)!;
    x.ids.forEach((_, i) => {
      const ax = x.pred[i] === x.gold[i], by_ = y.pred[i] === y.gold[i];
      if (ax && !by_) b++;
      if (!ax && by_) cc++;
    });
  }
  assert.equal(c.p, mcnemarExact(b, cc).pValue);
  // row ids '<dataset>/<strategy>' name the same rows; a missing side gives null
  assert.deepEqual(compareStrategies(recs, 'freezing', 'accuracy', 'wn_topic/head_only', 'wn_topic/full'), c);
  assert.equal(compareStrategies(recs, 'freezing', 'accuracy', 'nope', 'full'), null);
  assert.equal(compareStrategies(recs, 'no_such_suite', 'accuracy', 'head_only', 'full'), null);
  // The leaderboard uses the same comparison and Holm-adjusts the suite's p values.
  const rows = aggregate(recs, { resamples: 300 });
  const cmp = rows.filter((r) => r.vsBaseline);
  assert.equal(cmp.length, 2);
  for (const r of cmp) {
    assert.equal(r.vsBaseline!.method, 'paired-bootstrap');
    assert.equal(r.vsBaseline!.test, 'mcnemar-exact');
    assert.equal(r.vsBaseline!.examples, 200);
    assert.ok(r.vsBaseline!.mdd! > 0);
  }
  const adj = holm(cmp.map((r) => r.vsBaseline!.p!));
  cmp.forEach((r, i) => assert.equal(r.vsBaseline!.pHolm, adj[i]));
  const rep = writeReports(out, { resamples: 300 });
  assert.match(rep.markdown, /McNemar exact over 200 examples/);
  assert.match(rep.markdown, /Minimum detectable difference of the freezing suite: \d\.\d{4}/);
  const wide = readFileSync(rep.files.wideCsv, 'utf8');
  assert.match(wide.split('\n')[0]!, /comparison,p_test,p,p_holm,paired_examples,mdd/);
  assert.match(readFileSync(rep.files.html, 'utf8'), /minimum detectable difference of the suite/);
  rmSync(out, { recursive: true, force: true });
});

test('records without sidecars still load and compare seed by seed (paired t); one seed without sidecars has no CI and no p', () => {
  const recs: RunRecord[] = [];
  for (const seed of [0, 1, 2]) {
    recs.push(makeRecord({ strategy: 'full', seed, score: 0.8 + seed * 0.01 }));
    recs.push(makeRecord({ strategy: 'head_only', seed, score: 0.7 + seed * 0.01 }));
  }
  const c = compareStrategies(recs, 'freezing', 'main_score', 'head_only', 'full')!;
  assert.equal(c.method, 'seed-paired');
  assert.equal(c.n, 3);
  assert.ok(Math.abs(c.delta + 0.1) < 1e-12);
  // every seed differs by the same 0.1: a zero-width interval and p = 0 (tSummary's convention)
  assert.ok(Math.abs(c.ci[0] + 0.1) < 1e-12 && Math.abs(c.ci[1] + 0.1) < 1e-12);
  assert.equal(c.p, 0);
  const one = compareRecords(recs.filter((r) => r.seed === 0 && r.strategy === 'head_only'), recs.filter((r) => r.seed === 0 && r.strategy === 'full'), 'accuracy')!;
  assert.equal(one.p, null);
  assert.deepEqual(one.ci, [-Infinity, Infinity]);
  assert.equal(one.method, 'seed-paired');
  const rows = aggregate(recs, { resamples: 200 });
  assert.equal(rows.find((r) => r.strategy === 'head_only')!.vsBaseline!.method, 'seed-paired');
});

test('the phase cache and bench merge carry the sidecars', async () => {
  const a = tmp(), merged = tmp(), c = tmp();
  await sweep(a);
  const m = mergeRecords(merged, [a]);
  assert.equal(m.copied, 6);
  const recs = loadRecords(join(merged, 'records'));
  for (const r of recs) assert.ok(loadEvidence(r), `${r.runId} has its evidence in the merged folder`);
  assert.equal(readdirSync(join(merged, 'gold')).length, 1);
  // Phase cache: a run whose finetune phase is a cache hit still gets its sidecar. Remove a record,
  // its sidecar and its run directory: the sweep reruns the run, its finetune from the cache.
  const id = recs.find((r) => r.strategy === 'head_only' && r.seed === 0)!.runId;
  const before = readRecord(recordPath(a, id));
  rmSync(recordPath(a, id));
  rmSync(predictionsFile(a, id));
  rmSync(join(a, 'runs', id), { recursive: true, force: true });
  const again = await sweep(a);
  assert.equal(again.s.phases.cached, 1);
  const after = readRecord(recordPath(a, id));
  assert.equal(after.predictions!.sha256, before.predictions!.sha256);
  assert.ok(loadEvidence(after));
  // a record whose sidecar was lost is an error naming it, and nothing is merged
  rmSync(predictionsFile(a, id));
  assert.throws(() => mergeRecords(c, [a]), /predictions file .* is missing/);
  assert.ok(!existsSync(join(c, 'records')) || loadRecords(join(c, 'records')).length === 0);
  for (const d of [a, merged, c]) rmSync(d, { recursive: true, force: true });
});
