// `tunebench bench merge --out DIR [SRC...]`: joins the records of sharded sweeps into one output
// directory. A source is a sweep's output directory: its records/ and the staging folders of the
// shards that ran in it (shards/<i>of<n>/records/, runner.ts), so shards on separate disks
// (`merge --out all shard1 shard2`) and shards sharing one folder (`merge --out DIR`, the sources
// default to DIR) merge the same way. Every record is validated. Two records of one run (same
// runId) with different results are an error naming both files: the shards overlapped, or a run
// was repeated with another config or code. Nothing is written unless every record agrees.
// A record's prediction sidecars (evidence.ts) come with it: its predictions file beside it, and
// the gold labels file it names (content-addressed, so shards share it); both are checked against
// the sha256 in the record before they are copied, and before the record is written.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readRecord, recordFileOf, RecordError, type RunRecord } from './record.js';
import { recordPath, tempPathFor } from './runner.js';
import { loadEvidence } from './evidence.js';

function copyAtomic(src: string, dst: string): void {
  mkdirSync(dirname(dst), { recursive: true });
  const tmp = tempPathFor(dst);
  copyFileSync(src, tmp);
  renameSync(tmp, dst);
}

/** Copy the sidecars of `rec` (read from its source file) next to `dst`, the record's new path. */
function copySidecars(rec: RunRecord, dst: string): void {
  const ref = rec.predictions;
  const src = recordFileOf(rec);
  if (src && rec.projection) copyAtomic(resolve(dirname(src), rec.projection.file), resolve(dirname(dst), rec.projection.file));
  if (!ref || !src) return;
  loadEvidence(rec); // throws, naming the file, when a sidecar is missing or its hash differs
  copyAtomic(resolve(dirname(src), ref.file), resolve(dirname(dst), ref.file));
  const gold = resolve(dirname(dst), ref.gold);
  if (!existsSync(gold)) copyAtomic(resolve(dirname(src), ref.gold), gold);
}

/** What two honest runs of one plan entry agree on: everything but when, where and how fast
 * (createdAt, wall times, tokens/s, paths of run directories and of the base model, cache
 * provenance, adapter and git revision). Two records of one run whose results differ conflict. */
export function recordResults(rec: RunRecord): unknown {
  return {
    runId: rec.runId, suite: rec.suite, preset: rec.preset, strategy: rec.strategy, params: rec.params, dataset: rec.dataset,
    manifestHash: rec.manifestHash, split: rec.split, seed: rec.seed, mainMetric: rec.mainMetric, metrics: rec.metrics,
    trainableParams: rec.trainableParams, totalParams: rec.totalParams, tokens: rec.tokens, baseModel: rec.baseModel?.sha256 ?? null,
    phases: rec.phases.map((p) => [p.name, p.command, p.dataset, p.steps, p.tokens, p.main_score, p.trainableParams, p.totalParams]),
    curve: rec.curve, costly: (rec as { costly?: unknown }).costly ?? null,
  };
}

/** The record files (.json) under a records/ folder, sorted. */
function recordFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The records/ folders a source stands for: its own and its shards' staging folders'. */
export function sourceRecordDirs(src: string, outDir?: string): string[] {
  const dirs: string[] = [];
  const own = join(resolve(src), 'records');
  // The destination's own records/ is what the merge writes, not a source.
  if (existsSync(own) && (!outDir || resolve(src) !== resolve(outDir))) dirs.push(own);
  const shards = join(resolve(src), 'shards');
  if (existsSync(shards)) {
    for (const name of readdirSync(shards).sort()) {
      const d = join(shards, name, 'records');
      if (/^\d+of\d+$/.test(name) && existsSync(d)) dirs.push(d);
    }
  }
  return dirs;
}

export function mergeRecords(outDir: string, sources: string[]): { copied: number; identical: number } {
  if (!sources.length) throw new Error('merge: give at least one source output directory');
  const out = resolve(outDir);
  // Gather first: every record of every source, by run; a conflict refuses the whole merge.
  const byRun = new Map<string, { rec: RunRecord; path: string; key: string }>();
  for (const src of sources) {
    const dirs = sourceRecordDirs(src, out);
    if (!dirs.length) {
      if (resolve(src) === out && existsSync(join(out, 'records'))) continue; // merging a folder into itself: nothing staged
      throw new RecordError(`merge: ${src} has neither records/ nor shards/<i>of<n>/records/ (is it a sweep's output directory?)`);
    }
    for (const dir of dirs) {
      for (const path of recordFiles(dir)) {
        const rec = readRecord(path);
        const key = JSON.stringify(recordResults(rec));
        const seen = byRun.get(rec.runId);
        if (!seen) byRun.set(rec.runId, { rec, path, key });
        else if (seen.key !== key) throw conflict(rec.runId, seen.path, path);
      }
    }
  }
  let copied = 0, identical = 0;
  const toWrite: { dst: string; rec: RunRecord }[] = [];
  for (const { rec, path, key } of byRun.values()) {
    const dst = recordPath(out, rec.runId);
    if (existsSync(dst)) {
      if (resolve(dst) === resolve(path)) { identical++; continue; }
      if (JSON.stringify(recordResults(readRecord(dst))) !== key) throw conflict(rec.runId, dst, path);
      identical++;
      continue;
    }
    toWrite.push({ dst, rec });
  }
  // Every sidecar is checked before anything is written.
  for (const { rec } of toWrite) if (rec.predictions) loadEvidence(rec);
  for (const { dst, rec } of toWrite) {
    mkdirSync(dirname(dst), { recursive: true });
    copySidecars(rec, dst);
    const tmp = tempPathFor(dst);
    writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n');
    renameSync(tmp, dst);
    copied++;
  }
  return { copied, identical };
}

function conflict(runId: string, a: string, b: string): RecordError {
  return new RecordError(`merge: ${runId} was produced twice with different results: ${a} and ${b} (the shards overlapped, or the run was repeated with another config or code); remove the wrong one and merge again`);
}
