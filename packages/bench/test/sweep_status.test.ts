import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { planSweep, presetByName } from '../src/index.js';
import { failurePath, recordPath, shardDir } from '../src/runner.js';
import { statusText, sweepStatus } from '../src/sweep_status.js';
import { makeRecord } from './helpers.js';

const baseDir = new URL('../../../models/tiny-en-base', import.meta.url).pathname;

function put(path: string, value: unknown) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

test('status: done / failed / left per suite and dataset, records in records/ or a shard folder, time left from the same strategy\'s records', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-status-'));
  try {
    // quick freezing on wn_topic and email + quick masking: a plan of two suites
    const plan = planSweep(presetByName('quick'), { suites: ['freezing', 'masking'], baseDir });
    const freezing = plan.runs.filter((r) => r.suite === 'freezing' && r.dataset === 'wn_topic');
    assert.ok(freezing.length >= 3);
    const [a, b, c] = freezing;
    const rec = (r: typeof a, wall: number) => ({ ...makeRecord({ suite: r!.suite, dataset: r!.dataset, strategy: r!.strategy, seed: r!.seed, score: 0.5 }), wallTimeS: wall });
    put(recordPath(out, a!.runId), rec(a, 100));
    put(recordPath(shardDir(out, { index: 2, count: 3 }), b!.runId), rec(b, 300)); // a shard's staging folder
    put(failurePath(out, c!.runId), { runId: c!.runId, error: 'boom' });
    put(recordPath(out, 'freezing/wn_topic/not_planned/seed0'), rec(a, 5)); // outside the plan: not counted
    const s = sweepStatus(plan.runs, out);
    const row = s.rows.find((r) => r.suite === 'freezing' && r.dataset === 'wn_topic')!;
    assert.equal(row.planned, freezing.length);
    assert.equal(row.done, 2);
    assert.equal(row.failed, 1);
    assert.equal(row.todo, freezing.length - 2);
    // c has no record of its own strategy: the suite's mean (100 + 300) / 2 ... unless its strategy matches one done
    const perRun = (r: (typeof freezing)[number]) => (r.strategy === a!.strategy ? 100 : r.strategy === b!.strategy ? 300 : 200);
    const expected = freezing.filter((r) => r !== a && r !== b).reduce((t, r) => t + perRun(r), 0);
    assert.ok(Math.abs(row.estimateS! - expected) < 1e-9, `${row.estimateS} vs ${expected}`);
    // masking has no record: unknown, counted apart
    const masking = s.rows.filter((r) => r.suite === 'masking');
    assert.ok(masking.length > 0 && masking.every((r) => r.estimateS === null && r.done === 0));
    assert.equal(s.unestimated, masking.reduce((t, r) => t + r.todo, 0));
    assert.equal(s.planned, plan.runs.length);
    assert.equal(s.done, 2);
    assert.equal(s.todo, plan.runs.length - 2);
    const text = statusText(s, out, 'quick');
    assert.match(text, new RegExp(`${plan.runs.length} runs planned; 2 done, ${plan.runs.length - 2} left \\(1 failed`));
    assert.match(text, /unknown \*/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('status: a corrupt record counts as left (bench run reruns it); an empty folder has no estimate', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-status-'));
  try {
    const plan = planSweep(presetByName('quick'), { suites: ['freezing'], baseDir });
    const r = plan.runs[0]!;
    put(recordPath(out, r.runId), { not: 'a record' });
    const s = sweepStatus(plan.runs, out);
    assert.equal(s.done, 0);
    assert.equal(s.todo, plan.runs.length);
    assert.equal(s.unestimated, plan.runs.length);
    assert.equal(s.estimateS, 0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
