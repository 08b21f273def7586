import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { planSweep, presetByName, resolvePhaseConfig, type RunPlan } from '../src/index.js';
import { configDrift, describeDrift, recordDrift } from '../src/plan_drift.js';
import { recordPath } from '../src/runner.js';
import { statusText, sweepStatus } from '../src/sweep_status.js';
import type { RunRecord } from '../src/record.js';
import { makeRecord } from './helpers.js';

const baseDir = new URL('../../../models/tiny-en-base', import.meta.url).pathname;
const plan = planSweep(presetByName('quick'), { suites: ['freezing', 'fewshot'], baseDir });
const freezing = plan.runs.find((r) => r.suite === 'freezing' && r.strategy === 'top_2')!;
const setfit = plan.runs.find((r) => r.suite === 'fewshot' && r.strategy === 'setfit.k8')!;

/** The record a run of today's plan writes: each phase's resolved config, with the places it ran in. */
function recordOf(run: RunPlan, edit?: (phase: string, config: Record<string, unknown>) => void): RunRecord {
  const rec = makeRecord({ suite: run.suite, dataset: run.dataset, strategy: run.strategy, seed: run.seed, score: 0.5 });
  rec.phases = run.phases.map((p) => {
    const config = structuredClone(resolvePhaseConfig(p));
    config.outputDir = `/tmp/somewhere/${run.runId}/${p.name}`;
    (config.model as Record<string, unknown>).init = '/work/models/tiny-en-base';
    edit?.(p.name, config);
    return { ...rec.phases[0]!, name: p.name, command: p.command, dataset: p.dataset, config };
  });
  return rec;
}

/** Every leaf path of a JSON object that is a number, boolean or short non-path string. */
function leaves(v: unknown, prefix = ''): string[] {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
  return typeof v === 'number' || typeof v === 'boolean' ? [prefix] : [];
}

function setAt(o: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts.at(-1)!] = value;
}

test('drift: a record written from today\'s plan has none, wherever it ran and whatever it started from', () => {
  for (const run of [freezing, setfit]) assert.deepEqual(recordDrift(recordOf(run), run), []);
});

test('drift: any setting changed since the record names that setting, with both values', () => {
  for (const run of [freezing, setfit]) {
    const keys = leaves(resolvePhaseConfig(run.phases[0]!)).filter((k) => k !== 'model.init');
    assert.ok(keys.length > 10, `${run.runId}: ${keys.length} numeric settings`);
    fc.assert(fc.property(fc.constantFrom(...keys), (key) => {
      let old: unknown;
      const rec = recordOf(run, (phase, c) => {
        if (phase !== run.phases[0]!.name) return;
        old = key.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], c);
        setAt(c, key, typeof old === 'boolean' ? !old : (old as number) + 1);
      });
      const d = recordDrift(rec, run);
      assert.equal(d.length, 1, `${key}: ${describeDrift(d)}`);
      assert.equal(d[0]!.key, key);
      assert.equal(d[0]!.planned, old);
      assert.equal(d[0]!.phase, run.phases[0]!.name);
    }), { numRuns: 40 });
  }
});

test('drift: a setting the record does not have (added to the trainer later) is not drift; a phase more or less is', () => {
  const keys = leaves(resolvePhaseConfig(freezing.phases[0]!)).filter((k) => k !== 'model.init');
  const rec = recordOf(freezing, (_p, c) => {
    for (const k of keys.slice(0, 5)) {
      const parts = k.split('.');
      let cur = c;
      for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
      delete cur[parts.at(-1)!];
    }
  });
  assert.deepEqual(recordDrift(rec, freezing), []);
  const extra = recordOf(freezing);
  extra.phases.push({ ...extra.phases[0]!, name: 'pretrain' });
  assert.deepEqual(recordDrift(extra, freezing).map((d) => [d.phase, d.key, d.recorded, d.planned]), [['pretrain', '(phase)', 'present', 'absent']]);
  const fewer = recordOf(freezing);
  fewer.phases = [];
  assert.deepEqual(recordDrift(fewer, freezing).map((d) => [d.phase, d.key]), freezing.phases.map((p) => [p.name, '(phase)']));
});

test('drift: absolute paths on both sides are places, not settings; a path against a value is drift', () => {
  assert.deepEqual(configDrift({ data: { train: '/a/x.jsonl' } }, { data: { train: '/b/y.jsonl' } }), []);
  assert.deepEqual(configDrift({ data: { train: 'C:\\a\\x.jsonl' } }, { data: { train: '/b/y.jsonl' } }), []);
  assert.deepEqual(configDrift({ data: { train: '/a/x.jsonl' } }, { data: { train: null } }), [{ key: 'data.train', recorded: '/a/x.jsonl', planned: null }]);
  assert.deepEqual(configDrift({ task: { labels: ['a', 'b'] } }, { task: { labels: ['a', 'b', 'c'] } }), [{ key: 'task.labels', recorded: ['a', 'b'], planned: ['a', 'b', 'c'] }]);
  assert.deepEqual(configDrift({ trainer: { outputDir: '/x', model: { init: 'a' } } }, { trainer: { outputDir: 'y', model: { init: 'b' } } }), []);
});

test('drift: bench status lists the drifted records with the setting that changed', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-drift-'));
  try {
    const put = (path: string, v: unknown) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify(v));
    };
    const other = plan.runs.find((r) => r.suite === 'freezing' && r !== freezing)!;
    put(recordPath(out, freezing.runId), recordOf(freezing, (_p, c) => setAt(c, 'optimizer.lr', 0.123)));
    put(recordPath(out, other.runId), recordOf(other));
    const s = sweepStatus(plan.runs, out);
    assert.equal(s.done, 2);
    assert.equal(s.drifted.length, 1);
    assert.equal(s.drifted[0]!.path, recordPath(out, freezing.runId));
    assert.match(s.drifted[0]!.what, /finetune optimizer\.lr 0\.123 → /);
    assert.match(statusText(s, out, 'quick'), /1 done runs were recorded from another plan/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
