// A dataset directory of the user's own ("bring your own data"): train / dev / test files in JSONL,
// CSV or TSV (with a header), and an optional dataset.json / dataset.yaml card:
//
//   { "kind": "seq_cls", "fields": { "text": "body", "label": "category" },
//     "labels": ["ham", "spam"], "costlyClass": "spam", "language": "en", "name": "mail" }
//
// Rows are mapped to the shipped row kinds (seq_cls → classification {id, text, label}, token_cls →
// ner {id, tokens, tags}, pairs → {id, en, zh} from text / text_pair, corpus → {id, text}) and
// checked the way the shipped datasets are: a bad row ends the load with `file:line: problem`, the
// field named. Without a card the kind and label set are inferred from the train split (and said
// so). Without a dev split, one is carved from train by a seeded, stratified rule that is returned
// (and recorded by the callers). Every file used is hashed (sha256), so two results on "the same"
// data can be told apart.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseCsv } from 'csv-parse/sync';
import { parseDocument } from 'yaml';
import { DatasetError, decodeUtf8 } from './loader.js';
import { rowProblem, type RowKind } from './schema.js';

import { DIR_KINDS, type DirTaskKind } from './card_schema.js';
export { DIR_KINDS, type DirTaskKind };
export const ROW_KIND_OF: Record<DirTaskKind, RowKind> = { seq_cls: 'classification', token_cls: 'ner', pairs: 'pairs', corpus: 'corpus' };
export const CARD_FILES = ['dataset.json', 'dataset.yaml', 'dataset.yml'];
const SPLIT_NAMES = ['train', 'dev', 'test'] as const;
type DirSplit = (typeof SPLIT_NAMES)[number];
const EXTENSIONS = ['jsonl', 'csv', 'tsv'] as const;

export interface DatasetCard {
  name?: string;
  kind?: DirTaskKind;
  /** Column / key names of the row fields (default: the field's own name). */
  fields?: { id?: string; text?: string; text_pair?: string; label?: string; tokens?: string; tags?: string };
  /** The closed label set, in order (label id i = labels[i]); token_cls: the tag set. */
  labels?: string[];
  costlyClass?: string;
  language?: string;
  description?: string;
  /** Dev carving when there is no dev file: share of train and seed (defaults 0.1, 0). */
  devFraction?: number;
  devSeed?: number;
}

export { CARD_SCHEMA } from './card_schema.js';
import { CARD_SCHEMA } from './card_schema.js';

const validateCard = new Ajv({ allErrors: false, strict: true }).compile(CARD_SCHEMA);

export interface DirFile { file: string; sha256: string }

export interface DirRow { id: string; text?: string; label?: string; tokens?: string[]; tags?: string[]; en?: string; zh?: string }

export interface LoadedDir {
  /** Absolute path of the directory. */
  dir: string;
  /** Card name, or the directory's base name. */
  name: string;
  kind: DirTaskKind;
  labels: string[];
  costlyClass: string | null;
  language: string | null;
  /** Whether kind / labels came from the rows (no card, or the card did not say). */
  inferred: { kind: boolean; labels: boolean };
  splits: Record<DirSplit, DirRow[]>;
  /** Every file read (card included), relative to dir, with its sha256. */
  files: DirFile[];
  /** The rule that made the dev split when there was no dev file, or null. */
  devCarved: { rule: string; seed: number; fraction: number; rows: number } | null;
  /** What was inferred or carved, in sentences (the CLI prints them). */
  notes: string[];
}

/** Whether `source` names a dataset directory (a directory holding a train.* file). */
export function isDatasetDir(source: string): boolean {
  try {
    return statSync(source).isDirectory();
  } catch {
    return false;
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The card of `dir` (dataset.json or .yaml), validated, or null when there is none. */
export function readCard(dir: string, files: DirFile[] = []): DatasetCard | null {
  const present = CARD_FILES.filter((f) => existsSync(join(dir, f)));
  if (present.length > 1) throw new Error(`${dir}: both ${present.join(' and ')}; keep one dataset card`);
  if (!present.length) return null;
  const path = join(dir, present[0]!);
  const bytes = readFileSync(path);
  files.push({ file: present[0]!, sha256: sha256(bytes) });
  const text = decodeUtf8(bytes, path);
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new DatasetError(path, e.linePos?.[0]?.line ?? 1, `${present[0]!.endsWith('.json') ? 'JSON' : 'YAML'} syntax error: ${e.message.split('\n')[0]}`);
  }
  const card = doc.toJS() as unknown;
  if (!validateCard(card)) {
    const validate = validateCard;
    const e = validate.errors![0]!;
    const key = e.instancePath.slice(1).replace(/\//g, '.');
    const node = key ? doc.getIn(key.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)), true) as { range?: [number, number] } | undefined : undefined;
    const line = lineAt(text, node?.range?.[0] ?? 0);
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const at = key ? `${key}.${extra}` : extra;
      const known = key === 'fields' ? 'id, text, text_pair, label, tokens, tags' : Object.keys(CARD_SCHEMA.properties).join(', ');
      throw new DatasetError(path, lineOfKey(text, extra, line), `unknown field ${JSON.stringify(at)} (known: ${known})`);
    }
    throw new DatasetError(path, line, `${key || 'card'} ${e.message}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: string[] }).allowedValues.join(', ')})` : ''}`);
  }
  const c = card as DatasetCard;
  if (c.costlyClass !== undefined && c.labels && !c.labels.includes(c.costlyClass)) {
    throw new DatasetError(path, lineOfKey(text, 'costlyClass', 1), `costlyClass ${JSON.stringify(c.costlyClass)} is not one of labels (${c.labels.join(', ')})`);
  }
  return c;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
function lineOfKey(text: string, key: string, fallback: number): number {
  const i = text.split('\n').findIndex((l) => new RegExp(`^\\s*"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*:`).test(l));
  return i >= 0 ? i + 1 : fallback;
}

/** The file of one split (`train.jsonl`, `train.csv` or `train.tsv`), or null; two of them is an error. */
function splitFile(dir: string, split: DirSplit): string | null {
  const found = EXTENSIONS.map((e) => `${split}.${e}`).filter((f) => existsSync(join(dir, f)));
  if (found.length > 1) throw new Error(`${dir}: ${found.join(' and ')} both hold the ${split} split; keep one`);
  return found[0] ?? null;
}

/** A raw record of a file with the line it starts on: JSONL objects, or CSV / TSV rows by header. */
interface RawRecord { line: number; value: Record<string, unknown> }

function readRecords(path: string, text: string): RawRecord[] {
  if (path.endsWith('.jsonl')) {
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.map((l, i) => {
      const line = i + 1;
      if (l.trim() === '') throw new DatasetError(path, line, 'blank line (each line must hold one JSON object)');
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch (e) {
        throw new DatasetError(path, line, `invalid JSON: ${(e as Error).message}`);
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DatasetError(path, line, 'row must be a JSON object');
      return { line, value: v as Record<string, unknown> };
    });
  }
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { columns: true, delimiter: path.endsWith('.tsv') ? '\t' : ',', info: true, skip_empty_lines: false, relax_quotes: false }) as never;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new DatasetError(path, err.lines ?? 1, `${path.endsWith('.tsv') ? 'TSV' : 'CSV'}: ${err.message.replace(/^Invalid Record Length: /, '')}`);
  }
  // info.lines is the line a record ends on; multi-line quoted fields are rare, this is the usual line.
  return rows.map((r) => ({ line: r.info.lines, value: r.record }));
}

function inferKind(keys: string[], f: Required<NonNullable<DatasetCard['fields']>>): DirTaskKind | null {
  const has = (k: string) => keys.includes(k);
  if (has(f.tokens) && has(f.tags)) return 'token_cls';
  if (has(f.text) && has(f.label)) return 'seq_cls';
  if (has(f.text) && has(f.text_pair)) return 'pairs';
  if (has(f.text)) return 'corpus';
  return null;
}

/** Maps one raw record to a row of `kind` with the card's field names, naming a problem with a field. */
function toRow(rec: RawRecord, kind: DirTaskKind, f: Required<NonNullable<DatasetCard['fields']>>, split: DirSplit, path: string, tabular: boolean): DirRow {
  const v = rec.value;
  const used = new Set([f.id, ...(kind === 'seq_cls' ? [f.text, f.label] : kind === 'token_cls' ? [f.tokens, f.tags] : kind === 'pairs' ? [f.text, f.text_pair] : [f.text])]);
  for (const k of Object.keys(v)) {
    if (!used.has(k)) {
      throw new DatasetError(path, rec.line, `unknown field ${JSON.stringify(k)} in a ${kind} row (expected ${[...used].join(', ')}; ` +
        'map other names in dataset.json "fields")');
    }
  }
  const id = v[f.id] === undefined || v[f.id] === '' ? `${split}-${rec.line}` : v[f.id];
  const str = (k: string) => v[k];
  const words = (k: string) => (tabular && typeof v[k] === 'string' ? (v[k] as string).split(/\s+/).filter(Boolean) : v[k]);
  switch (kind) {
    case 'seq_cls': return { id, text: str(f.text), label: str(f.label) } as DirRow;
    case 'token_cls': return { id, tokens: words(f.tokens), tags: words(f.tags) } as DirRow;
    case 'pairs': return { id, en: str(f.text), zh: str(f.text_pair) } as DirRow;
    case 'corpus': return { id, text: str(f.text) } as DirRow;
  }
}

/** The problem of a row mapped to `kind`, named by the user's field names, or null. */
function rowProblemOf(row: DirRow, kind: DirTaskKind, labels: string[] | null, f: Required<NonNullable<DatasetCard['fields']>>): string | null {
  const rename = (p: string) => p
    .replace(/"en"|field en\b/g, (m) => m.replace('en', f.text)).replace(/"zh"|field zh\b/g, (m) => m.replace('zh', f.text_pair))
    .replace(/"text"|field text\b/g, (m) => m.replace('text', f.text)).replace(/"label"|field label\b/g, (m) => m.replace('label', f.label))
    .replace(/"tokens"|field tokens\b/g, (m) => m.replace('tokens', f.tokens)).replace(/"tags"|field tags\b/g, (m) => m.replace('tags', f.tags))
    .replace(/ in a (classification|ner|pairs|corpus) row/, ` in a ${kind} row`);
  if (kind !== 'token_cls') {
    const p = rowProblem(row, ROW_KIND_OF[kind], kind === 'seq_cls' && labels ? labels : undefined);
    return p ? rename(p) : null;
  }
  // token_cls: any tag set (the shipped schema knows only PER / LOC / ORG), same shape checks.
  if (!Array.isArray(row.tokens) || !row.tokens.length || row.tokens.some((t) => typeof t !== 'string' || !/^\S+$/.test(t))) {
    return `field ${f.tokens} must be a non-empty list of words without spaces`;
  }
  if (!Array.isArray(row.tags) || row.tags.some((t) => typeof t !== 'string' || !t)) return `field ${f.tags} must be a list of tags`;
  if (row.tokens.length !== row.tags.length) return `${f.tokens} has ${row.tokens.length} items but ${f.tags} has ${row.tags.length}`;
  if (typeof row.id !== 'string' || !/^[\x21-\x7e]{1,120}$/.test(row.id)) return `field ${f.id} must be printable ASCII without spaces`;
  if (labels) {
    const bad = row.tags.findIndex((t) => !labels.includes(t));
    if (bad >= 0) return `field ${f.tags}.${bad} ${JSON.stringify(row.tags[bad])} is not one of ${labels.join(', ')}`;
  }
  return null;
}

/** Seeded Fisher–Yates order of 0..n-1 (mulberry32): the dev-carving rule must not depend on the trainer. */
function seededOrder(seed: number, n: number): number[] {
  let s = (seed ^ 0x0de5c0de) >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Dev rows carved from train: per label (seq_cls; one group otherwise), the first round(n·fraction)
 * rows of a seeded order, at least 1 of a group of ≥ 2; train keeps the rest, in file order. */
export function carveDev(train: DirRow[], kind: DirTaskKind, fraction: number, seed: number): { train: DirRow[]; dev: DirRow[] } {
  const groups = new Map<string, number[]>();
  train.forEach((r, i) => {
    const key = kind === 'seq_cls' ? r.label ?? '' : '';
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(i);
  });
  const held = new Set<number>();
  for (const [, idx] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const take = idx.length < 2 ? 0 : Math.max(1, Math.round(idx.length * fraction));
    for (const k of seededOrder(seed, idx.length).slice(0, take)) held.add(idx[k]!);
  }
  return { train: train.filter((_, i) => !held.has(i)), dev: train.filter((_, i) => held.has(i)) };
}

const cache = new Map<string, { key: string; value: LoadedDir }>();

/** Loads and validates a dataset directory (cached per process by the files' sizes and times). */
export function loadDatasetDir(dirIn: string): LoadedDir {
  const dir = resolve(dirIn);
  if (!isDatasetDir(dir)) throw new Error(`${dirIn}: not a directory`);
  const stamp = [...CARD_FILES, ...SPLIT_NAMES.flatMap((s) => EXTENSIONS.map((e) => `${s}.${e}`))]
    .map((f) => { try { const s = statSync(join(dir, f)); return `${f}:${s.size}:${s.mtimeMs}`; } catch { return ''; } }).join('|');
  const hit = cache.get(dir);
  if (hit && hit.key === stamp) return hit.value;
  const value = loadUncached(dir);
  cache.set(dir, { key: stamp, value });
  return value;
}

function loadUncached(dir: string): LoadedDir {
  const files: DirFile[] = [];
  const card = readCard(dir, files) ?? {};
  const f = { id: 'id', text: 'text', text_pair: 'text_pair', label: 'label', tokens: 'tokens', tags: 'tags', ...card.fields };
  const notes: string[] = [];
  const trainFile = splitFile(dir, 'train');
  if (!trainFile) {
    throw new Error(`${dir}: missing split train (expected train.jsonl, train.csv or train.tsv${card.kind ? '' : ', and optionally dataset.json'})`);
  }
  const raw: Partial<Record<DirSplit, { file: string; records: RawRecord[] }>> = {};
  for (const split of SPLIT_NAMES) {
    const file = split === 'train' ? trainFile : splitFile(dir, split);
    if (!file) continue;
    const path = join(dir, file);
    const bytes = readFileSync(path);
    files.push({ file, sha256: sha256(bytes) });
    raw[split] = { file, records: readRecords(path, decodeUtf8(bytes, path)) };
  }
  const train = raw.train!;
  if (!train.records.length) throw new DatasetError(join(dir, train.file), 1, 'no rows in the train split');
  let kind = card.kind ?? null;
  if (!kind) {
    kind = inferKind(Object.keys(train.records[0]!.value), f);
    if (!kind) {
      throw new DatasetError(join(dir, train.file), train.records[0]!.line,
        `cannot tell the task kind from the fields ${Object.keys(train.records[0]!.value).join(', ')} (expected ${f.text} [+ ${f.label} | ${f.text_pair}] or ${f.tokens} + ${f.tags}); ` +
        'name them in dataset.json "fields", or set "kind"');
    }
    notes.push(`${basename(dir)}: kind ${kind} inferred from the fields of ${train.file} (set "kind" in dataset.json to fix it)`);
  }
  if (kind !== 'corpus' && !raw.test) throw new Error(`${dir}: missing split test (expected test.jsonl, test.csv or test.tsv; a ${kind} dataset is scored on it)`);
  const tabular = (file: string) => !file.endsWith('.jsonl');
  const mapped: Partial<Record<DirSplit, { file: string; rows: DirRow[]; lines: number[] }>> = {};
  for (const split of SPLIT_NAMES) {
    const r = raw[split];
    if (!r) continue;
    const path = join(dir, r.file);
    mapped[split] = { file: r.file, rows: r.records.map((rec) => toRow(rec, kind!, f, split, path, tabular(r.file))), lines: r.records.map((x) => x.line) };
  }
  let labels: string[] = card.labels ? [...card.labels] : [];
  const labelled = kind === 'seq_cls' || kind === 'token_cls';
  if (labelled && !card.labels) {
    const s = new Set<string>();
    for (const r of mapped.train!.rows) {
      if (kind === 'seq_cls' && typeof r.label === 'string') s.add(r.label);
      if (kind === 'token_cls' && Array.isArray(r.tags)) for (const t of r.tags) if (typeof t === 'string') s.add(t);
    }
    labels = [...s].sort();
    if (kind === 'token_cls' && labels.includes('O')) labels = ['O', ...labels.filter((t) => t !== 'O')];
    notes.push(`${basename(dir)}: label set inferred from ${mapped.train!.file}: ${labels.join(', ')} (list "labels" in dataset.json to fix the set and its order)`);
  }
  // Validate every row; ids unique per split.
  for (const split of SPLIT_NAMES) {
    const m = mapped[split];
    if (!m) continue;
    const path = join(dir, m.file);
    const seen = new Map<string, number>();
    m.rows.forEach((row, i) => {
      const line = m.lines[i]!;
      const p = rowProblemOf(row, kind!, labelled ? labels : null, f);
      if (p) throw new DatasetError(path, line, p);
      const first = seen.get(row.id);
      if (first !== undefined) throw new DatasetError(path, line, `duplicate id ${JSON.stringify(row.id)} (first on line ${first})`);
      seen.set(row.id, line);
    });
  }
  if (labelled && labels.length < 2) throw new Error(`${join(dir, mapped.train!.file)}: found ${labels.length} label(s); classification needs at least 2`);
  if (card.costlyClass !== undefined && !labels.includes(card.costlyClass)) {
    throw new Error(`${dir}: costlyClass ${JSON.stringify(card.costlyClass)} is not one of the labels (${labels.join(', ')})`);
  }
  let trainRows = mapped.train!.rows;
  let devRows = mapped.dev?.rows ?? [];
  let devCarved: LoadedDir['devCarved'] = null;
  if (!mapped.dev && kind !== 'corpus') {
    const fraction = card.devFraction ?? 0.1, seed = card.devSeed ?? 0;
    const carved = carveDev(trainRows, kind, fraction, seed);
    trainRows = carved.train;
    devRows = carved.dev;
    const rule = `no dev file: dev carved from ${mapped.train!.file}, ${fraction * 100}% of each ${kind === 'seq_cls' ? 'label' : 'split'} ` +
      `(at least 1 of a group of 2 or more), seeded order (seed ${seed}); ${devRows.length} dev rows, ${trainRows.length} train rows`;
    devCarved = { rule, seed, fraction, rows: devRows.length };
    notes.push(`${basename(dir)}: ${rule}`);
  }
  return {
    dir,
    name: card.name ?? basename(dir),
    kind,
    labels,
    costlyClass: card.costlyClass ?? null,
    language: card.language ?? null,
    inferred: { kind: !card.kind, labels: labelled && !card.labels },
    splits: { train: trainRows, dev: devRows, test: mapped.test?.rows ?? [] },
    files,
    devCarved,
    notes,
  };
}

/** One hash of a dataset directory's content: sha256 over its files' names and hashes (the
 * directory counterpart of a shipped dataset's manifest entry hash). */
export function datasetDirHash(d: LoadedDir): string {
  return createHash('sha256').update(JSON.stringify({ files: d.files, devCarved: d.devCarved })).digest('hex');
}
