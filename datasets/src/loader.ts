// Reads JSONL rows, validating every line; a malformed line ends the load with
// `file:line: what is wrong`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rowProblem, type RowKind, type RowOf } from './schema.js';
import { DATASETS, fileFor } from './registry.js';
import type { Split } from './text.js';

/** datasets/ (the folder that holds the built data), resolved from this file. */
export const DATASETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export class DatasetError extends Error {
  constructor(readonly file: string, readonly line: number, readonly problem: string) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'DatasetError';
  }
}

export interface LoadOptions {
  /** Closed label set (classification): a row with another label is an error. */
  labels?: readonly string[];
  /** Rows may lack their label (classification `label`, NER `tags`): text to predict on. */
  unlabelled?: boolean;
}

/** Offset of the first byte of `bytes` that is not part of a well-formed UTF-8 sequence
 * (overlong forms, surrogates and code points above U+10FFFF are ill-formed, as for
 * TextDecoder's fatal mode), or -1 when all of it is UTF-8. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) { i++; continue; }
    // Length of the sequence and the allowed range of its second byte (Unicode table 3-7).
    let n: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 2;
    else if (b >= 0xe0 && b <= 0xef) { n = 3; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 4; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else return i;
    if (i + n > bytes.length) return i;
    const b1 = bytes[i + 1]!;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k < n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += n;
  }
  return -1;
}

/** Decodes a file's bytes as UTF-8, refusing bytes that are not (`file:line: invalid UTF-8 at
 * byte N`, N counted from 0 in the file) instead of replacing them silently. A leading byte-order
 * mark is dropped, as most tools do. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (bytes[i] === 0x0a) line++;
    throw new DatasetError(file, line, `invalid UTF-8 at byte ${bad} (0x${bytes[bad]!.toString(16).padStart(2, '0')})`);
  }
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parses JSONL text (the content of `file`, which is used only in messages). Every line must be
 * one JSON object of the given kind; ids must be unique; a final newline is allowed, blank lines
 * elsewhere are not. */
export function parseJsonl<K extends RowKind>(content: string, file: string, kind: K, opts: LoadOptions = {}): RowOf[K][] {
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
  const lines = content.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const rows: RowOf[K][] = [];
  const ids = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (line.trim() === '') throw new DatasetError(file, lineNo, 'blank line (each line must hold one JSON object)');
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(file, lineNo, `invalid JSON: ${(e as Error).message}`);
    }
    const problem = rowProblem(row, kind, opts.labels, opts.unlabelled);
    if (problem) throw new DatasetError(file, lineNo, problem);
    const id = (row as { id: string }).id;
    const first = ids.get(id);
    if (first !== undefined) throw new DatasetError(file, lineNo, `duplicate id ${JSON.stringify(id)} (first on line ${first})`);
    ids.set(id, lineNo);
    rows.push(row as RowOf[K]);
  }
  return rows;
}

/** Loads and validates a JSONL file of one row kind. */
export function loadJsonl<K extends RowKind>(path: string, kind: K, opts: LoadOptions = {}): RowOf[K][] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseJsonl(decodeUtf8(bytes, path), path, kind, opts);
}

/** Path of a dataset file, e.g. datasetPath('wn_topic', 'test'). */
export function datasetPath(name: string, split: Split | 'corpus', root = DATASETS_DIR): string {
  return join(root, name, fileFor(name, split));
}

type KindOf<N extends string> = N extends 'pretrain_en' | 'pretrain_en_full' | 'zh_pretrain' ? 'corpus'
  : N extends 'ner_en' ? 'ner' : N extends 'en_zh_pairs' ? 'pairs' : 'classification';

/** Loads one split of a shipped dataset with its row kind and closed label set, e.g.
 * `loadDataset('email', 'train')` → ClassificationRow[]; `loadDataset('email', 'corpus')` →
 * the email pretraining corpus (train-split bodies only); `loadDataset('pretrain_en', 'corpus')`. */
export function loadDataset(name: string, split: 'corpus', root?: string): RowOf['corpus'][];
export function loadDataset<N extends string>(name: N, split: Split, root?: string): RowOf[KindOf<N>][];
export function loadDataset<N extends string>(name: N, split: Split | 'corpus', root?: string): RowOf[KindOf<N>][];
export function loadDataset(name: string, split: Split | 'corpus', root = DATASETS_DIR): RowOf[RowKind][] {
  const info = DATASETS[name];
  const path = datasetPath(name, split, root);
  if (info?.onDemand && !existsSync(path)) {
    throw new Error(`dataset ${name} is not built (it is not committed): run \`${info.onDemand.build}\` to build ${path}`);
  }
  if (split === 'corpus' && info!.corpusFrom) {
    // A corpus view of a labelled split: same ids and text, no label.
    return loadJsonl(path, 'classification', { labels: info!.labels }).map((r) => ({ id: r.id, text: r.text }));
  }
  const kind = split === 'corpus' ? 'corpus' : info!.kind;
  return loadJsonl(path, kind, { labels: split === 'corpus' ? undefined : info!.labels });
}
