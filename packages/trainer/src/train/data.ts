// Data for a run: rows from the shipped datasets (or JSONL files), tokenized once, and turned
// into model batches (ModelBatch: Int32 ids, masks, labels) by the task's collation rule.
//
//   mlm        corpus rows {id, text} → MlmCollator with the run's `masking` section (strategy
//              random / whole_word / span / entity / mixture; HF's 15 % and 80/10/10 by default), a
//              fresh mask per step from a seed derived from (data seed, step, micro-batch), so
//              resume needs no mask state.
//   seq_cls    {id, text, label} → [CLS] text [SEP], label index per row.
//   token_cls  {id, tokens, tags} → word pieces, labels aligned to the first sub-token (or all).
// Rows are tokenized with truncation to data.maxLength; batches are padded to their longest row.

import { existsSync, readFileSync } from 'node:fs';
import { loadDataset, loadJsonl, DATASETS, DATASET_NAMES, isDatasetDir, loadDatasetDir, ROW_KIND_OF, type RowKind, type LoadedDir } from '@tunebench/datasets';
import type { WordPieceTokenizer, Encoding } from '../tokenizer/index.js';
import { MlmCollator, padBatch, alignLabels, seededRng, IGNORE_INDEX, type MaskStrategyName, type MlmOptions } from '../data/index.js';
import type { ModelBatch } from '../model/index.js';
import type { MaskingConfig, MaskingStrategy, TaskKind } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { deriveSeed } from './rng.js';

export interface Example {
  id: string;
  enc: Encoding;
  /** seq_cls: label index (−100 when the label is unknown, e.g. predict). */
  label: number;
  /** token_cls: per-token aligned labels; also the gold word tags for scoring. */
  tokenLabels?: Int32Array;
  tags?: string[];
  text?: string;
  tokens?: string[];
  /** embedding: the positive of the anchor `enc` (its pair). */
  pair?: Encoding;
}

export type Row = { id: string; text?: string; label?: string; tokens?: string[]; tags?: string[]; en?: string; zh?: string };

function kindFor(task: TaskKind): RowKind {
  return task === 'mlm' ? 'corpus' : task === 'token_cls' ? 'ner' : task === 'embedding' ? 'pairs' : 'classification';
}

/**
 * Rows of one split: `source` is a shipped dataset name, a dataset directory (train / dev / test
 * JSONL, CSV or TSV and an optional dataset.json: @tunebench/datasets dirdata.ts) or a JSONL path. For mlm, a classification
 * or NER dataset's rows are read for their text (a dataset's corpus file when it has one).
 */
export function loadRows(source: string, split: 'train' | 'dev' | 'test', task: TaskKind, limit = 0, opts: { unlabelled?: boolean } = {}): Row[] {
  let rows: Row[];
  if (DATASETS[source]) {
    const info = DATASETS[source]!;
    if (task === 'mlm') {
      const useCorpus = info.files.includes('corpus.jsonl') && (split === 'train' || !info.files.includes(`${split}.jsonl`));
      if (useCorpus && split !== 'train') {
        // A corpus has no dev split: hold out nothing here; the caller decides.
        return [];
      }
      rows = loadDataset(source, useCorpus ? 'corpus' : split) as Row[];
      if (info.kind === 'ner') rows = rows.map((r) => ({ id: r.id, text: r.tokens!.join(' ') }));
      if (info.kind === 'pairs') rows = rows.flatMap((r) => [{ id: `${r.id}/en`, text: r.en! }, { id: `${r.id}/zh`, text: r.zh! }]);
    } else {
      if (info.kind !== kindFor(task)) throw new Error(`dataset ${source} holds ${info.kind} rows; task ${task} needs ${kindFor(task)} rows`);
      rows = loadDataset(source, split) as Row[];
    }
  } else if (isDatasetDir(source)) {
    rows = dirRows(loadDatasetDirOnce(source), split, task);
  } else {
    if (!existsSync(source)) {
      throw new Error(`unknown dataset ${JSON.stringify(source)} (known: ${DATASET_NAMES.join(', ')}) and no JSONL file at that path`);
    }
    rows = loadJsonl(source, task === 'mlm' ? 'corpus' : kindFor(task), { unlabelled: opts.unlabelled }) as Row[];
  }
  return limit > 0 ? rows.slice(0, limit) : rows;
}

const announced = new Set<string>();
/** A dataset directory, loaded (cached) and its inferences / dev carving said once per process
 * (on stderr: stdout may be a machine-read record). */
export function loadDatasetDirOnce(source: string): LoadedDir {
  const d = loadDatasetDir(source);
  if (!announced.has(d.dir)) {
    announced.add(d.dir);
    for (const n of d.notes) process.stderr.write(`${n}\n`);
  }
  return d;
}

/** A directory's rows for `task`: its own kind, or its text for masked-LM pretraining. */
function dirRows(d: LoadedDir, split: 'train' | 'dev' | 'test', task: TaskKind): Row[] {
  const rows = d.splits[split] as Row[];
  if (task === 'mlm') {
    if (d.kind === 'corpus' && split !== 'train') return []; // held out by the caller, as for shipped corpora
    if (d.kind === 'token_cls') return rows.map((r) => ({ id: r.id, text: r.tokens!.join(' ') }));
    if (d.kind === 'pairs') return rows.flatMap((r) => [{ id: `${r.id}/en`, text: r.en! }, { id: `${r.id}/zh`, text: r.zh! }]);
    return rows.map((r) => ({ id: r.id, text: r.text! }));
  }
  if (ROW_KIND_OF[d.kind] !== kindFor(task)) throw new Error(`dataset directory ${d.dir} holds ${d.kind} rows; task ${task} needs ${kindFor(task)} rows`);
  return rows;
}

/** The label set a source declares (a dataset directory's card or inferred set; a shipped
 * dataset's closed set), or null. */
export function sourceLabels(source: string, task: TaskKind): string[] | null {
  if (task !== 'seq_cls' && task !== 'token_cls') return null;
  if (DATASETS[source]) return DATASETS[source]!.labels ? [...DATASETS[source]!.labels!] : null;
  if (isDatasetDir(source)) return loadDatasetDirOnce(source).labels;
  return null;
}

/** The files a source was read from, with their sha256 (dataset directories), or null. */
export function sourceFiles(source: string): { dir: string; files: { file: string; sha256: string }[]; devCarved: LoadedDir['devCarved'] } | null {
  if (DATASETS[source] || !isDatasetDir(source)) return null;
  const d = loadDatasetDirOnce(source);
  return { dir: d.dir, files: d.files, devCarved: d.devCarved };
}

/** Label names: given, or the sorted set of the training rows' labels / tags. */
export function labelSet(task: TaskKind, rows: Row[], given: string[]): string[] {
  if (given.length) return given;
  const s = new Set<string>();
  for (const r of rows) {
    if (task === 'seq_cls' && r.label !== undefined) s.add(r.label);
    if (task === 'token_cls') for (const t of r.tags ?? []) s.add(t);
  }
  const out = [...s].sort();
  // BIO: keep 'O' first (id 0), as is usual for NER label lists.
  if (task === 'token_cls' && out.includes('O')) return ['O', ...out.filter((t) => t !== 'O')];
  return out;
}

export function tokenizeRows(
  rows: Row[],
  tok: WordPieceTokenizer,
  task: TaskKind,
  labels: string[],
  maxLength: number,
  opts: { labelAllTokens?: boolean; source?: string } = {},
): Example[] {
  const index = new Map(labels.map((l, i) => [l, i]));
  return rows.flatMap((r, i): Example | Example[] => {
    const where = `${opts.source ?? 'data'} row ${i + 1} (id ${r.id})`;
    if (task === 'token_cls') {
      if (!r.tokens) throw new Error(`${where}: token_cls needs {tokens, tags}`);
      const enc = tok.encodeWords(r.tokens, null, { maxLength });
      const tokenLabels = r.tags ? alignLabels(enc.wordIds, r.tags, labels, opts.labelAllTokens ? 'all' : 'first', where) : new Int32Array(enc.ids.length).fill(IGNORE_INDEX);
      return { id: r.id, enc, label: IGNORE_INDEX, tokenLabels, tags: r.tags, tokens: r.tokens };
    }
    if (task === 'embedding') {
      if (typeof r.en !== 'string' || typeof r.zh !== 'string') throw new Error(`${where}: embedding pairs need {id, en, zh}`);
      return { id: r.id, enc: tok.encode(r.en, null, { maxLength }), pair: tok.encode(r.zh, null, { maxLength }), label: IGNORE_INDEX, text: r.en };
    }
    if (typeof r.text !== 'string') throw new Error(`${where}: expected a "text" field`);
    if (task === 'mlm') return mlmChunks(r, tok, maxLength);
    const enc = tok.encode(r.text, null, { maxLength });
    let label = IGNORE_INDEX;
    if (task === 'seq_cls' && r.label !== undefined) {
      const l = index.get(r.label);
      if (l === undefined) throw new Error(`${where}: label ${JSON.stringify(r.label)} is not in the label set [${labels.join(', ')}]`);
      label = l;
    }
    return { id: r.id, enc, label, text: r.text };
  });
}

export function toModelBatch(b: { batchSize: number; seqLength: number; inputIds: Int32Array; attentionMask: Int32Array; tokenTypeIds: Int32Array }, labels: Int32Array): ModelBatch {
  return { B: b.batchSize, T: b.seqLength, inputIds: b.inputIds, attentionMask: b.attentionMask, tokenTypeIds: b.tokenTypeIds, labels };
}

const COLLATOR_STRATEGY: Record<Exclude<MaskingStrategy, 'mixture'>, MaskStrategyName> = {
  random: 'random',
  whole_word: 'whole-word',
  span: 'span',
  entity: 'entity',
};

/**
 * The entity phrases of masking.gazetteer: inline, or read from a UTF-8 file (one phrase per line;
 * blank lines skipped). Errors name the key and the file.
 */
export function loadGazetteer(g: MaskingConfig['gazetteer']): string[] | undefined {
  if (g === null) return undefined;
  if (Array.isArray(g)) return g;
  let text: string;
  try {
    text = readFileSync(g, 'utf8');
  } catch (e) {
    throw new ConfigError(`masking.gazetteer: cannot read ${g} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const phrases = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!phrases.length) throw new ConfigError(`masking.gazetteer: ${g} holds no phrases (one per line)`);
  return phrases;
}

/**
 * MlmCollator options of the run config's `masking` section (gazetteer files are read here).
 * `forEval` applies masking.evalStrategy ('random': token masking, same probability and fractions).
 */
export function mlmOptionsOf(m: MaskingConfig, forEval = false): MlmOptions {
  if (forEval && m.evalStrategy === 'random') {
    return { probability: m.probability, maskFraction: m.maskFraction, randomFraction: m.randomFraction, strategy: 'random' };
  }
  return {
    probability: m.probability,
    maskFraction: m.maskFraction,
    randomFraction: m.randomFraction,
    strategy: m.strategy === 'mixture'
      ? { mixture: m.mixture.map((x) => ({ strategy: COLLATOR_STRATEGY[x.strategy], weight: x.weight })) }
      : COLLATOR_STRATEGY[m.strategy],
    spanP: m.spanP,
    spanMaxWords: m.spanMaxWords,
    replaceBy: m.replaceBy,
    gazetteer: loadGazetteer(m.gazetteer),
  };
}

/**
 * Collates examples into a model batch for `task`. MLM masks with a seed derived from `maskSeed`,
 * by `masking`: the MlmCollator's options, or just a probability (random masking, 80/10/10).
 */
export class Collator {
  readonly mlm: MlmCollator | null;
  constructor(readonly tok: WordPieceTokenizer, readonly task: TaskKind, masking: number | MlmOptions = 0.15) {
    this.mlm = task === 'mlm' ? new MlmCollator(tok, typeof masking === 'number' ? { probability: masking } : masking) : null;
  }

  collate(examples: readonly Example[], maskSeed: number): ModelBatch {
    const padId = this.tok.specialIds.pad;
    const encs = examples.map((e) => ({ ids: e.enc.ids, tokenTypeIds: e.enc.tokenTypeIds }));
    if (this.mlm) {
      const b = this.mlm.collate(encs, seededRng(maskSeed));
      return toModelBatch(b, b.labels);
    }
    if (this.task === 'embedding') {
      // n anchors then their n positives: the model's MultipleNegativesRanking layout.
      const pairs = examples.map((e) => e.pair ?? e.enc);
      const b = padBatch([...encs, ...pairs.map((p) => ({ ids: p.ids, tokenTypeIds: p.tokenTypeIds }))], { padId });
      return toModelBatch(b, new Int32Array(b.batchSize));
    }
    if (this.task === 'token_cls') {
      const b = padBatch(encs, { padId }, { tokenLabels: examples.map((e) => e.tokenLabels!) });
      return toModelBatch(b, b.labels!);
    }
    const b = padBatch(encs, { padId }, { sequenceLabels: examples.map((e) => e.label) });
    return toModelBatch(b, b.labels ?? new Int32Array(examples.length).fill(IGNORE_INDEX));
  }
}

/** Seed of the MLM mask for optimizer step `step`, micro-batch `micro` (pure: resume needs no state). */
export function maskSeed(dataSeed: number, step: number, micro: number): number {
  return deriveSeed(deriveSeed(dataSeed, 0x4d4c4d), step * 1024 + micro);
}

/** Batches of consecutive examples for evaluation (no shuffling). */
export function* evalBatches(examples: readonly Example[], batchSize: number): Generator<{ start: number; items: Example[] }> {
  for (let i = 0; i < examples.length; i += batchSize) yield { start: i, items: examples.slice(i, i + batchSize) };
}

/**
 * MLM examples from one corpus row: the whole text tokenized, then cut into consecutive pieces of
 * maxLength − 2 tokens, each framed as [CLS] piece [SEP] (like Hugging Face's group_texts, within
 * a row), so long documents are not truncated to their first maxLength tokens.
 */
export function mlmChunks(r: Row, tok: WordPieceTokenizer, maxLength: number): Example[] {
  const ids = tok.tokenizeToIds(r.text ?? '');
  const n = maxLength - 2;
  const out: Example[] = [];
  for (let i = 0; i < Math.max(ids.length, 1); i += n) {
    const piece = [tok.specialIds.cls, ...ids.slice(i, i + n), tok.specialIds.sep];
    const enc = { ids: piece, tokenTypeIds: new Array<number>(piece.length).fill(0) } as unknown as Encoding;
    out.push({ id: out.length ? `${r.id}#${out.length}` : r.id, enc, label: IGNORE_INDEX, text: r.text });
  }
  return out;
}
