// `tunebench bench verify --out DIR --sample K [--seed S]`: reruns K records of a finished sweep,
// drawn at random (mulberry32(S), default S = 0), from the phase configs stored in the records,
// and checks that their scores come back.
//
// Each phase of a drawn record runs again as a child process (`tunebench <command> --config`, as
// the sweep ran it) in a fresh directory, with its recorded, resolved config; a phase that
// started from an earlier phase of the run (model.init …/<phase>/checkpoint) starts from the
// rerun's copy of it, and the base model is the record's (the sweep's own DIR/base/checkpoint, or
// the shipped model, whose sha256 must still be the recorded one).
//
// What is compared: every metric of the record that the rerun's scored split reports (main_score
// included), every phase's main_score, and, when the record has a prediction sidecar, the
// predicted label of every test example.
//   same adapter (the rerun's device string equals the record's adapter): bit-identical — the
//     trainer is deterministic (every random draw is a function of a recorded seed), so any
//     difference is a bug or a changed input;
//   another adapter (e.g. GPU record, float64 CPU rerun): |Δ| ≤ tolerance, default 0.02 absolute
//     on every metric (two test examples in a hundred; float32 and float64 training drift apart
//     over the steps, so a few predictions may flip), and predictions are not compared.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { mulberry32 } from '@tunebench/eval';
import { TEST_PREDICTIONS_FILE } from '@tunebench/trainer';
import { loadEvidence } from './evidence.js';
import { loadRecords } from './leaderboard.js';
import { repoRoot } from './plan.js';
import type { RunRecord } from './record.js';

export const DEFAULT_VERIFY_TOLERANCE = 0.02;

export interface VerifyCheck {
  runId: string;
  what: string;
  recorded: number | string;
  rerun: number | string | null;
  ok: boolean;
}

export interface VerifyResult {
  runId: string;
  sameAdapter: boolean;
  recordAdapter: string;
  rerunAdapter: string;
  tolerance: number;
  checks: VerifyCheck[];
  ok: boolean;
  error: string | null;
}

/** K distinct records drawn with mulberry32(seed) (a partial Fisher–Yates shuffle of the runIds, sorted). */
export function sampleRecords(records: RunRecord[], k: number, seed: number): RunRecord[] {
  const sorted = [...records].sort((a, b) => a.runId.localeCompare(b.runId));
  const rng = mulberry32(seed);
  const n = Math.min(k, sorted.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng() * (sorted.length - i));
    [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
  }
  return sorted.slice(0, n);
}

const fileSha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/**
 * The base checkpoint a recorded init path stood for, in this checkout: found, and with the
 * recorded hash. A run scored from its dataset's own base (record.datasetBase, e.g. zh_poetry's
 * Chinese-capable base) started from that one, not from the sweep's baseModel.
 */
export function resolveBase(init: string, rec: RunRecord, outDir: string): string {
  const base = rec.datasetBase ?? rec.baseModel;
  const candidates = [init, ...(rec.datasetBase ? [] : [join(outDir, 'base', 'checkpoint')])];
  if (base?.source && !base.source.startsWith('pretrained by')) candidates.push(resolve(repoRoot, base.source));
  for (const c of candidates) {
    if (!existsSync(join(c, 'model.safetensors'))) continue;
    if (base?.sha256 && fileSha256(join(c, 'model.safetensors')) !== base.sha256) continue;
    return c;
  }
  throw new Error(`${rec.runId}: its base model (${init}; sha256 ${base?.sha256?.slice(0, 12) ?? 'unknown'}…) is not here with the recorded hash`);
}

const scoreOf = (m: Record<string, unknown>): number | null => {
  const s = (m.test as { main_score?: number } | null)?.main_score ?? (m.dev as { main_score?: number } | null)?.main_score ?? (m.main_score as number | null);
  return typeof s === 'number' ? s : null;
};

/** Rerun one record's phases in `workDir`; the checks against the record. */
export function verifyRecord(rec: RunRecord, outDir: string, workDir: string, opts: { backend: 'cpu' | 'gpu'; tolerance?: number; childCommand?: string[]; log?: (l: string) => void }): VerifyResult {
  const tolerance = opts.tolerance ?? DEFAULT_VERIFY_TOLERANCE;
  const log = opts.log ?? (() => {});
  const res: VerifyResult = { runId: rec.runId, sameAdapter: false, recordAdapter: rec.adapter, rerunAdapter: '', tolerance, checks: [], ok: false, error: null };
  const [exe, ...pre] = opts.childCommand ?? [process.execPath, join(repoRoot, 'bin', 'tunebench.mjs')];
  const metricsOf = new Map<string, Record<string, unknown>>();
  try {
    for (const phase of rec.phases) {
      const dir = join(workDir, phase.name);
      const cfg = structuredClone(phase.config) as Record<string, unknown> & { model?: { init?: unknown } };
      cfg.outputDir = dir;
      const init = cfg.model?.init;
      if (typeof init === 'string' && init) {
        // …/<phase>/checkpoint of this run, or …/cache/phases/<key>/checkpoint when the sweep took
        // that earlier phase from the phase cache: the rerun's own copy of that phase either way.
        const parent = basename(dirname(init));
        const from = rec.phases.find((p) => p.name === parent)?.name ?? rec.phases.find((p) => p.cacheKey === parent)?.name;
        if (basename(init) === 'checkpoint' && from && metricsOf.has(from)) cfg.model!.init = join(workDir, from, 'checkpoint');
        else cfg.model!.init = resolveBase(init, rec, outDir);
      }
      mkdirSync(workDir, { recursive: true });
      const cfgFile = `${dir}.config.json`;
      writeFileSync(cfgFile, JSON.stringify(cfg, null, 2) + '\n');
      log(`  ${rec.runId}: ${phase.name} (${phase.command}) …`);
      const r = spawnSync(exe!, [...pre, phase.command, '--config', cfgFile, '--backend', opts.backend], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`${phase.name} phase failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
      const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
      metricsOf.set(phase.name, m);
    }
    const ft = metricsOf.get('finetune') ?? [...metricsOf.values()].at(-1)!;
    res.rerunAdapter = String(ft.device ?? 'unknown');
    res.sameAdapter = res.rerunAdapter === rec.adapter;
    const close = (a: number, b: number) => (res.sameAdapter ? Object.is(a, b) : Math.abs(a - b) <= tolerance);
    for (const phase of rec.phases) {
      if (phase.main_score === null) continue;
      const s = scoreOf(metricsOf.get(phase.name)!);
      res.checks.push({ runId: rec.runId, what: `${phase.name} main_score`, recorded: phase.main_score, rerun: s, ok: s !== null && close(phase.main_score, s) });
    }
    const scored = ((ft.test ?? ft.dev) ?? {}) as Record<string, unknown>;
    const main = typeof scored[rec.mainMetric] === 'number' ? scored[rec.mainMetric] as number : scored.main_score as number | undefined;
    res.checks.push({ runId: rec.runId, what: `main_score (${rec.mainMetric})`, recorded: rec.metrics.main_score, rerun: main ?? null, ok: typeof main === 'number' && close(rec.metrics.main_score, main) });
    for (const [k, v] of Object.entries(rec.metrics)) {
      if (k === 'main_score' || typeof v !== 'number' || typeof scored[k] !== 'number') continue;
      res.checks.push({ runId: rec.runId, what: k, recorded: v, rerun: scored[k] as number, ok: close(v, scored[k] as number) });
    }
    // Bit-identical reruns predict the same label for every test example.
    const ev = res.sameAdapter ? loadEvidence(rec) : null;
    const ftDir = join(workDir, 'finetune');
    if (ev && existsSync(join(ftDir, TEST_PREDICTIONS_FILE))) {
      const lines = readFileSync(join(ftDir, TEST_PREDICTIONS_FILE), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { id: string; pred: string | string[] });
      const differ = lines.length !== ev.ids.length ? -1 : lines.filter((l, i) => l.id !== ev.ids[i] || JSON.stringify(l.pred) !== JSON.stringify(ev.pred[i])).length;
      res.checks.push({ runId: rec.runId, what: 'test predictions', recorded: `${ev.ids.length} examples`, rerun: differ < 0 ? `${lines.length} examples` : differ ? `${differ} differ` : 'identical', ok: differ === 0 });
    }
    res.ok = res.checks.length > 0 && res.checks.every((c) => c.ok);
  } catch (e) {
    res.error = (e as Error).message;
  }
  return res;
}

/** Rerun `sample` random records of the sweep in `outDir`. */
export function verifySweep(outDir: string, opts: { sample: number; seed?: number; runs?: string[]; backend?: 'cpu' | 'gpu'; tolerance?: number; keep?: boolean; childCommand?: string[]; log?: (l: string) => void }): VerifyResult[] {
  const records = loadRecords(join(outDir, 'records'));
  if (!records.length) throw new Error(`${outDir}/records: no records to verify`);
  // Named runs (--run), else a random draw.
  const missing = (opts.runs ?? []).filter((id) => !records.some((r) => r.runId === id));
  if (missing.length) throw new Error(`${outDir}/records has no record of ${missing.join(', ')}`);
  const picked = opts.runs?.length ? records.filter((r) => opts.runs!.includes(r.runId)) : sampleRecords(records, opts.sample, opts.seed ?? 0);
  const work = mkdtempSync(join(tmpdir(), 'tunebench-verify-'));
  const out: VerifyResult[] = [];
  try {
    for (const rec of picked) {
      // The backend the record was made on, unless told otherwise (the CPU reference names itself 'cpu …').
      const backend = opts.backend ?? (/cpu/i.test(rec.adapter) ? 'cpu' : 'gpu');
      opts.log?.(`verify ${rec.runId} (recorded on ${rec.adapter}; rerun on the ${backend} backend)`);
      out.push(verifyRecord(rec, outDir, join(work, rec.runId), { backend, tolerance: opts.tolerance, childCommand: opts.childCommand, log: opts.log }));
    }
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    else opts.log?.(`rerun directories kept in ${work}`);
  }
  return out;
}

/** The verification as a Markdown table, one line per check, with the verdict under it. */
export function verifyTable(results: VerifyResult[]): string {
  const f = (x: number | string | null) => (typeof x === 'number' ? String(x) : x ?? '–');
  const lines = ['| run | check | recorded | rerun | ok |', '|---|---|---|---|---|'];
  for (const r of results) {
    if (r.error) lines.push(`| ${r.runId} | rerun | – | ${r.error.replace(/\|/g, '\\|')} | **FAILED** |`);
    for (const c of r.checks) lines.push(`| ${c.runId} | ${c.what} | ${f(c.recorded)} | ${f(c.rerun)} | ${c.ok ? 'yes' : '**NO**'} |`);
  }
  lines.push('');
  for (const r of results) {
    const how = r.sameAdapter ? `bit-identical on the same adapter (${r.recordAdapter})` : `|Δ| ≤ ${r.tolerance} (recorded on ${r.recordAdapter}, rerun on ${r.rerunAdapter || 'unknown'})`;
    lines.push(`${r.ok ? 'reproduced' : 'NOT reproduced'}: ${r.runId}: ${how}`);
  }
  return lines.join('\n');
}
