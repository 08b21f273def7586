// The datasets this package ships: name → row kind, files and label set. The builder writes
// exactly these files; the loader and the verifier read this table, never a directory listing.
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

// A null-prototype table: a name like 'constructor' or 'toString' is an unknown dataset, not an
// inherited property.
export const DATASETS: Record<string, DatasetInfo> = Object.assign(Object.create(null) as Record<string, DatasetInfo>, {
  pretrain_en: { name: 'pretrain_en', kind: 'corpus', files: ['corpus.jsonl'],
    description: 'General English (committed sample of pretrain_en_full): WordNet, fortunes, dictionaries, manuals, a Bible, an FAQ.' },
  pretrain_en_full: { name: 'pretrain_en_full', kind: 'corpus', files: ['corpus.jsonl'], onDemand: { build: 'npm run datasets:build -- pretrain_en' },
    description: 'General English, the full corpus (not committed; build it with npm run datasets:build -- pretrain_en).' },
  email: { name: 'email', kind: 'classification', files: SPLIT_FILES, labels: EMAIL_LABELS, corpusFrom: 'train.jsonl',
    description: 'SpamAssassin bodies: easy_ham / hard_ham / spam (binary view: emailBinaryLabel); the corpus is the train split text only.' },
  wn_topic: { name: 'wn_topic', kind: 'classification', files: SPLIT_FILES, labels: WN_TOPIC_LABELS,
    description: 'WordNet definition → lexicographer class (10 classes).' },
  zh_pretrain: { name: 'zh_pretrain', kind: 'corpus', files: ['corpus.jsonl'],
    description: 'Chinese: Song shi (simplified), fortunes-zh prose, zh_CN catalogue strings.' },
  zh_poetry: { name: 'zh_poetry', kind: 'classification', files: SPLIT_FILES, labels: ZH_POETRY_LABELS,
    description: 'Classical Chinese poem (simplified) → genre/dynasty.' },
  en_zh_pairs: { name: 'en_zh_pairs', kind: 'pairs', files: SPLIT_FILES,
    description: 'English ↔ Chinese UI sentences from zh_CN gettext catalogues.' },
  ner_en: { name: 'ner_en', kind: 'ner', files: SPLIT_FILES,
    description: 'Silver BIO PER/LOC/ORG tags on WordNet glosses from gazetteers.' },
  changelog_urgency: { name: 'changelog_urgency', kind: 'classification', files: SPLIT_FILES, labels: URGENCY_LABELS,
    description: 'Debian changelog entry text → urgency low / medium / high.' },
});

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
