// Writes every leaderboard file of an output directory from its records.
import { mkdirSync, readFileSync, existsSync, readdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate, loadRecords, type Aggregate } from '../leaderboard.js';
import type { RunRecord } from '../record.js';
import { skippedName, type SweepPlan } from '../plan.js';
import { htmlReport } from './html.js';
import { evaluateAllClaims } from '../suite_file.js';
import { claimsHtml, loadClaims, writeClaims, DEFAULT_CLAIMS_FILE, type ClaimsReport } from '../claims.js';
import { projectionSection } from './projection.js';
import { longCsv, markdown, mtebJson, wideCsv } from './tables.js';

export * from './tables.js';
export * from './html.js';
export * from './svg.js';

export interface ReportFiles {
  dir: string;
  longCsv: string;
  wideCsv: string;
  markdown: string;
  json: string;
  html: string;
  /** The seed's claims evaluated on the records (claims.ts). */
  claimsJson: string;
  claimsMarkdown: string;
}

function write(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function listFailures(outDir: string): string[] {
  const dir = join(outDir, 'failures');
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.json')) {
        const f = JSON.parse(readFileSync(p, 'utf8')) as { runId: string; error: string };
        out.push(`${f.runId}: ${f.error}`);
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Aggregate the records of `outDir` and write leaderboard/{long.csv, wide.csv, leaderboard.md,
 * results.json, report.html, claims.json, claims.md}; the claims (default: packages/bench/claims.yaml)
 * are loaded first, so a malformed claims file stops before anything is written.
 */
export function writeReports(outDir: string, opts: { resamples?: number; claimsFile?: string } = {}): { files: ReportFiles; rows: Aggregate[]; records: RunRecord[]; markdown: string; claims: ClaimsReport } {
  const claimsFile = loadClaims(opts.claimsFile ?? DEFAULT_CLAIMS_FILE);
  const records = loadRecords(join(outDir, 'records'));
  if (!records.length) throw new Error(`${join(outDir, 'records')}: no run records yet`);
  const rows = aggregate(records, opts);
  // The claims file's, and those of the suite files the records were planned from.
  const claims = evaluateAllClaims(records, claimsFile);
  const generatedAt = new Date().toISOString();
  const preset = records[0]!.preset;
  const dir = join(outDir, 'leaderboard');
  mkdirSync(dir, { recursive: true });
  let skipped: string[] = [];
  const sweepFile = join(outDir, 'sweep.json');
  if (existsSync(sweepFile)) {
    const s = JSON.parse(readFileSync(sweepFile, 'utf8')) as { skippedVariants?: SweepPlan['skipped'] };
    skipped = (s.skippedVariants ?? []).map((x) => `${skippedName(x)}: ${x.reason.split('\n').join(' ')}`);
  }
  // A failure whose run later succeeded has no file any more; list the rest.
  const failures = listFailures(outDir);
  const md = markdown(rows, { preset, records: records.length, generatedAt });
  const files: ReportFiles = {
    dir,
    longCsv: join(dir, 'long.csv'),
    wideCsv: join(dir, 'wide.csv'),
    markdown: join(dir, 'leaderboard.md'),
    json: join(dir, 'results.json'),
    html: join(dir, 'report.html'),
    claimsJson: join(dir, 'claims.json'),
    claimsMarkdown: join(dir, 'claims.md'),
  };
  writeClaims(dir, claims);
  write(files.longCsv, longCsv(records));
  write(files.wideCsv, wideCsv(rows));
  write(files.markdown, md);
  write(files.json, JSON.stringify(mtebJson(rows, { preset, generatedAt }), null, 2) + '\n');
  const extra = projectionSection(outDir, records);
  write(files.html, htmlReport(rows, { preset, records: records.length, generatedAt, failures, skipped, extra, top: claimsHtml(claims) }));
  return { files, rows, records, markdown: md, claims };
}
