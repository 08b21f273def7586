// `tunebench bench status`: how far a sweep that runs in pieces has come. For the runs a plan
// (suites, preset, filters) would make in an output folder: per suite and dataset, how many have a
// record (in records/ or a shard's staging folder), how many failed last time (a failures/ file and
// no record), how many are left, and an estimate of the time they need from the records' own wall
// times (sweep_eta.ts: the finished runs most like each remaining one), and which done runs were
// recorded from another plan than today's (plan_drift.ts). Reads files only.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunPlan } from './plan.js';
import { readRecord } from './record.js';
import { describeDrift, recordDrift } from './plan_drift.js';
import { failurePath, recordPath } from './runner.js';
import { SweepEta, formatSeconds } from './sweep_eta.js';

export interface StatusRow {
  suite: string;
  dataset: string;
  planned: number;
  done: number;
  failed: number;
  todo: number;
  /** Seconds the runs left need; null when no run of this suite has a record yet (runs of other
   * suites say little: a few-shot run takes seconds, an edge distillation many minutes). */
  estimateS: number | null;
}

export interface SweepStatus {
  rows: StatusRow[];
  planned: number;
  done: number;
  failed: number;
  todo: number;
  /** Seconds the left runs of the suites with records need. */
  estimateS: number;
  /** Left runs of suites with no record yet: not in estimateS. */
  unestimated: number;
  /** Done runs whose record was made from another plan than today's (plan_drift.ts): path and where it differs. */
  drifted: { path: string; what: string }[];
}

/** Where a run's record may be: the folder's records/, or a shard's staging folder. */
function recordPaths(outDir: string, runId: string): string[] {
  const shards = join(outDir, 'shards');
  const staged = existsSync(shards) ? readdirSync(shards).map((d) => recordPath(join(shards, d), runId)) : [];
  return [recordPath(outDir, runId), ...staged];
}

export function sweepStatus(runs: readonly RunPlan[], outDir: string): SweepStatus {
  const eta = new SweepEta();
  const done = new Set<string>();
  const drifted: SweepStatus['drifted'] = [];
  for (const run of runs) {
    for (const path of recordPaths(outDir, run.runId)) {
      if (!existsSync(path)) continue;
      try {
        const rec = readRecord(path);
        eta.add(rec, rec.wallTimeS);
        done.add(run.runId);
        const d = recordDrift(rec, run);
        if (d.length) drifted.push({ path, what: describeDrift(d) });
        break;
      } catch {
        // unreadable: `bench run` moves it aside and reruns the run, so it counts as left
      }
    }
  }
  const rows = new Map<string, StatusRow>();
  for (const run of runs) {
    const key = `${run.suite}\0${run.dataset}`;
    const row = rows.get(key) ?? { suite: run.suite, dataset: run.dataset, planned: 0, done: 0, failed: 0, todo: 0, estimateS: 0 };
    rows.set(key, row);
    row.planned++;
    if (done.has(run.runId)) {
      row.done++;
      continue;
    }
    row.todo++;
    if (existsSync(failurePath(outDir, run.runId))) row.failed++;
    const m = eta.match(run);
    if (!m || m.from !== 'suite') row.estimateS = null;
    else if (row.estimateS !== null) row.estimateS += m.seconds;
  }
  const list = [...rows.values()];
  const sum = (f: (r: StatusRow) => number) => list.reduce((a, r) => a + f(r), 0);
  return {
    rows: list, planned: sum((r) => r.planned), done: sum((r) => r.done), failed: sum((r) => r.failed), todo: sum((r) => r.todo),
    estimateS: sum((r) => r.estimateS ?? 0), unestimated: sum((r) => (r.estimateS === null ? r.todo : 0)), drifted,
  };
}

export function statusText(s: SweepStatus, outDir: string, preset: string): string {
  const est = (x: number | null, todo: number) => (todo === 0 ? '–' : x === null ? 'unknown *' : formatSeconds(x));
  const head = ['suite', 'dataset', 'done', 'planned', 'failed', 'left', 'time left'];
  const body = s.rows.map((r) => [r.suite, r.dataset, String(r.done), String(r.planned), String(r.failed), String(r.todo), est(r.estimateS, r.todo)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `${outDir}: ${preset} preset, ${s.planned} runs planned; ${s.done} done, ${s.todo} left${s.failed ? ` (${s.failed} failed last time: failures/)` : ''}`,
    '',
    line(head),
    ...body.map(line),
    '',
    `time left at the pace of this folder's records: ${s.todo - s.unestimated ? formatSeconds(s.estimateS) : '–'} for ${s.todo - s.unestimated} runs (each from the records of the same suite, dataset and strategy, else the closest: same strategy family, same suite)` +
      (s.unestimated ? `, plus ${s.unestimated} runs of suites with no record yet` : ''),
  ];
  if (s.unestimated) out.push('* unknown: no run of that suite has a record here yet (other suites\' runs say little: they differ 100× in cost)');
  if (s.drifted.length) {
    out.push('', `${s.drifted.length} done runs were recorded from another plan than today's (recorded → planned); delete a record to rerun it under today's plan:`);
    for (const d of s.drifted) out.push(`  ${d.path}: ${d.what}`);
  }
  if (s.todo) out.push(`continue: tunebench bench run --preset ${preset} --out ${outDir} (the same suites and filters)`);
  return out.join('\n');
}
