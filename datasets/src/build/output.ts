// Writes built rows as JSONL (one JSON.stringify per line, fixed key order, '\n' endings) and
// describes each file for the manifest. Files are written to a temp name and renamed, so an
// interrupted build never leaves a half-written file behind.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RowKind } from '../schema.js';
import { sha256Hex } from '../text.js';

export interface FileEntry {
  kind: RowKind;
  rows: number;
  bytes: number;
  sha256: string;
  labels?: Record<string, number>;
  sources: string[];
}

export function writeAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export function jsonlOf(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

export function labelCounts(rows: readonly { label?: string; tags?: string[] }[]): Record<string, number> | undefined {
  const counts: Record<string, number> = {};
  let any = false;
  for (const r of rows) {
    if (r.label !== undefined) {
      counts[r.label] = (counts[r.label] ?? 0) + 1;
      any = true;
    } else if (r.tags) {
      // NER: count entity mentions (B- tags) per type.
      for (const t of r.tags) if (t.startsWith('B-')) { counts[t.slice(2)] = (counts[t.slice(2)] ?? 0) + 1; any = true; }
    }
  }
  if (!any) return undefined;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function writeRows(root: string, rel: string, kind: RowKind, rows: readonly object[], sources: string[]): FileEntry {
  const content = jsonlOf(rows);
  writeAtomic(join(root, rel), content);
  const bytes = Buffer.byteLength(content);
  const entry: FileEntry = { kind, rows: rows.length, bytes, sha256: sha256Hex(content), sources: [...sources].sort() };
  const labels = labelCounts(rows as { label?: string; tags?: string[] }[]);
  if (labels) entry.labels = labels;
  return entry;
}

/** Markdown table of label counts per split. */
export function countsTable(files: Record<string, FileEntry>): string {
  const names = Object.keys(files);
  const labels = [...new Set(names.flatMap((f) => Object.keys(files[f]!.labels ?? {})))].sort();
  const head = `| file | rows | bytes |${labels.map((l) => ` ${l} |`).join('')}`;
  const sep = `|---|---:|---:|${labels.map(() => '---:|').join('')}`;
  const body = names.map((f) => {
    const e = files[f]!;
    return `| ${f} | ${e.rows} | ${e.bytes} |${labels.map((l) => ` ${e.labels?.[l] ?? 0} |`).join('')}`;
  });
  return [head, sep, ...body].join('\n');
}
