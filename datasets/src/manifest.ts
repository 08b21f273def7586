// manifest.json: what the builder wrote (sha256, bytes, rows, label counts, sources per file),
// and verifyManifest, which checks the files on disk against it (run by `npm run
// datasets:verify` and by the datasets tests).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileEntry } from './build/output.js';
import { parseJsonl } from './loader.js';
import { DATASETS, DATASET_NAMES } from './registry.js';
import { sha256Hex } from './text.js';

export const MANIFEST_FILE = 'manifest.json';

export interface Manifest {
  format: 1;
  about: string;
  datasets: Record<string, { sources: string[]; files: Record<string, FileEntry>; extra?: Record<string, { bytes: number; sha256: string }> }>;
  resources: Record<string, { bytes: number; sha256: string; entries: number; sources: string[] }>;
  tools?: string[];
}

export function readManifest(path: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`${path}: cannot read the manifest (${(e as Error).message})`);
  }
  if (m.format !== 1 || typeof m.datasets !== 'object' || typeof m.resources !== 'object') {
    throw new Error(`${path}: not a format-1 datasets manifest`);
  }
  return m;
}

export interface VerifyReport {
  files: number; rows: number; bytes: number; problems: string[];
  /** Files of on-demand datasets (not committed) that are not built here: not a problem. */
  notBuilt: string[];
  /** Bytes of on-demand files that are built here (checked, but not part of `bytes`, which is
   * what the repository holds and what the 30 MB budget limits). */
  onDemandBytes: number;
}

/** Checks every file listed in the manifest: present, same sha256 and byte count, same number of
 * rows, every row valid for its kind (and label set), label counts equal. Also checks that every
 * registered dataset and file is in the manifest. `validateRows: false` skips the row parse;
 * `only` restricts the check to some datasets (and skips resources). */
export function verifyManifest(root: string, opts: { validateRows?: boolean; only?: string[] } = {}): VerifyReport {
  const manifestPath = join(root, MANIFEST_FILE);
  const m = readManifest(manifestPath);
  const report: VerifyReport = { files: 0, rows: 0, bytes: 0, problems: [], notBuilt: [], onDemandBytes: 0 };
  const problem = (s: string): void => { report.problems.push(s); };
  const selected = (n: string): boolean => !opts.only || opts.only.includes(n);
  for (const name of DATASET_NAMES.filter(selected)) {
    const entry = m.datasets[name];
    if (!entry) { problem(`${manifestPath}: dataset ${name} is missing`); continue; }
    for (const f of DATASETS[name]!.files) if (!entry.files[f]) problem(`${manifestPath}: ${name}/${f} is missing`);
  }
  for (const [name, entry] of Object.entries(m.datasets).filter(([n]) => selected(n))) {
    const info = DATASETS[name];
    if (!info) { problem(`${manifestPath}: unknown dataset ${name}`); continue; }
    for (const [file, fe] of Object.entries(entry.files)) {
      const path = join(root, name, file);
      if (!existsSync(path) && info.onDemand) { report.notBuilt.push(`${name}/${file}`); continue; }
      if (!existsSync(path)) { problem(`${path}: missing (listed in the manifest)`); continue; }
      const buf = readFileSync(path);
      report.files++;
      if (info.onDemand) report.onDemandBytes += buf.length;
      else report.bytes += buf.length;
      if (buf.length !== fe.bytes) problem(`${path}: ${buf.length} bytes, manifest says ${fe.bytes}`);
      const sha = sha256Hex(buf);
      if (sha !== fe.sha256) problem(`${path}: sha256 ${sha.slice(0, 16)}… differs from the manifest's ${fe.sha256.slice(0, 16)}…`);
      const text = buf.toString('utf8');
      const lines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines !== fe.rows) problem(`${path}: ${lines} rows, manifest says ${fe.rows}`);
      report.rows += lines;
      if (opts.validateRows !== false) {
        try {
          const rows = parseJsonl(text, path, fe.kind, { labels: fe.kind === 'classification' ? info.labels : undefined });
          if (fe.kind === 'classification') {
            const counts: Record<string, number> = {};
            for (const r of rows as { label: string }[]) counts[r.label] = (counts[r.label] ?? 0) + 1;
            for (const l of new Set([...Object.keys(counts), ...Object.keys(fe.labels ?? {})])) {
              if ((counts[l] ?? 0) !== (fe.labels?.[l] ?? 0)) problem(`${path}: label ${l} has ${counts[l] ?? 0} rows, manifest says ${fe.labels?.[l] ?? 0}`);
            }
          }
        } catch (e) {
          problem((e as Error).message);
        }
      }
    }
    for (const [file, x] of Object.entries(entry.extra ?? {})) {
      const path = join(root, name, file);
      if (!existsSync(path)) { problem(`${path}: missing (listed in the manifest)`); continue; }
      const buf = readFileSync(path);
      report.files++;
      report.bytes += buf.length;
      if (sha256Hex(buf) !== x.sha256) problem(`${path}: sha256 differs from the manifest`);
    }
  }
  for (const [rel, x] of Object.entries(opts.only ? {} : m.resources)) {
    const path = join(root, rel);
    if (!existsSync(path)) { problem(`${path}: missing (listed in the manifest)`); continue; }
    const buf = readFileSync(path);
    report.files++;
    report.bytes += buf.length;
    if (sha256Hex(buf) !== x.sha256) problem(`${path}: sha256 differs from the manifest`);
  }
  return report;
}
