// The datasets this package ships: a list of directories (SHIPPED_DATASET_DIRS), each with its
// card (datasets/<name>/dataset.json: kind, label set in order, language, description — the format
// of a dataset directory of your own, dirdata.ts) and its README. DATASETS (name → row kind, files,
// label set) is read from those cards when the package loads. The builder writes exactly these
// files; the loader and the verifier read this table, never a directory listing.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { CARD_SCHEMA, type DirTaskKind } from './card_schema.js';
import type { RowKind } from './schema.js';
import type { Split } from './text.js';

export interface DatasetInfo {
  name: string;
  kind: RowKind;
  /** Files under datasets/<name>/ that hold rows: the three splits, or corpus.jsonl. */
  files: string[];
  /** Closed label set for classification datasets (rows with another label are rejected). */
  labels?: readonly string[];
  description: string;
  /** A corpus that is a view of another file (email: the train split's text, unlabelled), so
   * the same text is not shipped twice. */
  corpusFrom?: string;
  /** Built on demand and not committed (git-ignored): the manifest records its hash, verify
   * checks it only when it is present, and loading it before it is built says how to build it. */
  onDemand?: { build: string };
  language?: string;
  /** The class whose misses cost most (changelog_urgency: high). */
  costlyClass?: string;
}

export const SPLIT_FILES = ['train.jsonl', 'dev.jsonl', 'test.jsonl'];
export const NER_TYPES = ['PER', 'LOC', 'ORG'] as const;
export const NER_TAGS = ['O', ...NER_TYPES.flatMap((t) => [`B-${t}`, `I-${t}`])] as const;

export const WN_TOPIC_LABELS = [
  'noun.animal', 'noun.artifact', 'noun.body', 'noun.food', 'noun.location',
  'noun.person', 'noun.plant', 'noun.substance', 'verb.communication', 'verb.motion',
] as const;
export const EMAIL_LABELS = ['easy_ham', 'hard_ham', 'spam'] as const;
export const ZH_POETRY_LABELS = ['song_ci', 'song_shi', 'tang_shi', 'yuan_qu'] as const;
export const URGENCY_LABELS = ['high', 'low', 'medium'] as const;

/** The 2-class view of the email labels: hard_ham is ham that looks like spam. */
export function emailBinaryLabel(label: string): 'ham' | 'spam' {
  if (label === 'spam') return 'spam';
  if (label === 'easy_ham' || label === 'hard_ham') return 'ham';
  throw new Error(`emailBinaryLabel: unknown email label ${JSON.stringify(label)} (expected one of ${EMAIL_LABELS.join(', ')})`);
}

/** The shipped datasets, in the order they are listed: directories under datasets/, each with a dataset.json card. */
export const SHIPPED_DATASET_DIRS = ['pretrain_en', 'pretrain_en_full', 'email', 'wn_topic', 'zh_pretrain', 'zh_poetry', 'en_zh_pairs', 'ner_en', 'changelog_urgency'];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROW_KIND: Record<DirTaskKind, RowKind> = { seq_cls: 'classification', token_cls: 'ner', pairs: 'pairs', corpus: 'corpus' };
const validateCard = new Ajv({ allErrors: false, strict: true }).compile(CARD_SCHEMA);

interface ShippedCard { name: string; kind: DirTaskKind; labels?: string[]; description: string; language?: string; costlyClass?: string; corpusFrom?: string; onDemand?: { build: string } }

/** A shipped dataset's entry, from its card: a corpus is corpus.jsonl, anything else the three splits. */
export function shippedDatasetInfo(dir: string, root: string = ROOT): DatasetInfo {
  const path = join(root, dir, 'dataset.json');
  let card: ShippedCard;
  try {
    card = JSON.parse(readFileSync(path, 'utf8')) as ShippedCard;
  } catch (e) {
    throw new Error(`${path}: cannot read the shipped dataset's card (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!validateCard(card)) throw new Error(`${path}: ${validateCard.errors![0]!.instancePath || 'card'} ${validateCard.errors![0]!.message}`);
  for (const k of ['name', 'kind', 'description'] as const) if (card[k] === undefined) throw new Error(`${path}: a shipped dataset's card needs "${k}"`);
  if (card.name !== dir) throw new Error(`${path}: names the dataset '${card.name}'; a shipped dataset is named after its directory`);
  return {
    name: card.name,
    kind: ROW_KIND[card.kind],
    files: card.kind === 'corpus' ? ['corpus.jsonl'] : SPLIT_FILES,
    ...(card.labels ? { labels: card.labels } : {}),
    description: card.description,
    ...(card.corpusFrom ? { corpusFrom: card.corpusFrom } : {}),
    ...(card.onDemand ? { onDemand: card.onDemand } : {}),
    ...(card.language ? { language: card.language } : {}),
    ...(card.costlyClass ? { costlyClass: card.costlyClass } : {}),
  };
}

// A null-prototype table: a name like 'constructor' or 'toString' is an unknown dataset, not an
// inherited property.
export const DATASETS: Record<string, DatasetInfo> = Object.assign(Object.create(null) as Record<string, DatasetInfo>,
  Object.fromEntries(SHIPPED_DATASET_DIRS.map((d) => [d, shippedDatasetInfo(d)])));

export const DATASET_NAMES = Object.keys(DATASETS);

/** The file a split name refers to ('corpus' → corpus.jsonl). */
export function fileFor(name: string, split: Split | 'corpus'): string {
  const info = DATASETS[name];
  if (!info) throw new Error(`unknown dataset ${JSON.stringify(name)} (known: ${DATASET_NAMES.join(', ')})`);
  const file = split === 'corpus' && info.corpusFrom ? info.corpusFrom : `${split}.jsonl`;
  if (!info.files.includes(file)) {
    throw new Error(`dataset ${name} has no ${split} file (it has ${info.files.join(', ')})`);
  }
  return file;
}
