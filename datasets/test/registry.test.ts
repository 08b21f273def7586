// The registry is a list of directories: each shipped dataset's entry is read from its card
// (datasets/<name>/dataset.json). The entries must be exactly the table the code used to hold
// (kinds, files, label sets in order, corpus views, on-demand builds), the cards must be valid
// dataset-directory cards (a shipped split dataset loads as a dataset directory with the same
// kind and labels), and a bad card is one clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DATASETS, DATASET_NAMES, DATASETS_DIR, SHIPPED_DATASET_DIRS, SPLIT_FILES, EMAIL_LABELS, WN_TOPIC_LABELS, ZH_POETRY_LABELS, URGENCY_LABELS,
  loadDatasetDir, shippedDatasetInfo,
} from '../src/index.js';

// The table registry.ts held as code before the cards (its bytes moved, unchanged, into the cards).
const BEFORE = {
  pretrain_en: { kind: 'corpus', files: ['corpus.jsonl'], description: 'General English (committed sample of pretrain_en_full): WordNet, fortunes, dictionaries, manuals, a Bible, an FAQ.' },
  pretrain_en_full: { kind: 'corpus', files: ['corpus.jsonl'], onDemand: { build: 'npm run datasets:build -- pretrain_en' }, description: 'General English, the full corpus (not committed; build it with npm run datasets:build -- pretrain_en).' },
  email: { kind: 'classification', files: SPLIT_FILES, labels: EMAIL_LABELS, corpusFrom: 'train.jsonl', description: 'SpamAssassin bodies: easy_ham / hard_ham / spam (binary view: emailBinaryLabel); the corpus is the train split text only.' },
  wn_topic: { kind: 'classification', files: SPLIT_FILES, labels: WN_TOPIC_LABELS, description: 'WordNet definition → lexicographer class (10 classes).' },
  zh_pretrain: { kind: 'corpus', files: ['corpus.jsonl'], description: 'Chinese: Song shi (simplified), fortunes-zh prose, zh_CN catalogue strings.' },
  zh_poetry: { kind: 'classification', files: SPLIT_FILES, labels: ZH_POETRY_LABELS, description: 'Classical Chinese poem (simplified) → genre/dynasty.' },
  en_zh_pairs: { kind: 'pairs', files: SPLIT_FILES, description: 'English ↔ Chinese UI sentences from zh_CN gettext catalogues.' },
  ner_en: { kind: 'ner', files: SPLIT_FILES, description: 'Silver BIO PER/LOC/ORG tags on WordNet glosses from gazetteers.' },
  changelog_urgency: { kind: 'classification', files: SPLIT_FILES, labels: URGENCY_LABELS, description: 'Debian changelog entry text → urgency low / medium / high.' },
};

test('the registry read from the shipped cards is the table it replaced, in the same order', () => {
  assert.deepEqual(DATASET_NAMES, Object.keys(BEFORE));
  assert.deepEqual(SHIPPED_DATASET_DIRS, DATASET_NAMES);
  for (const [name, want] of Object.entries(BEFORE)) {
    const { language, costlyClass, ...got } = DATASETS[name]!;
    assert.deepEqual(got, { name, ...want, files: [...want.files], ...('labels' in want ? { labels: [...want.labels] } : {}) }, name);
    assert.ok(language, `${name}: the card says the language`);
    if (name === 'changelog_urgency') assert.equal(costlyClass, 'high');
  }
  assert.equal(DATASETS.constructor, undefined);
});

test('a shipped split dataset loads as a dataset directory: same kind, same label set in order', () => {
  for (const name of ['wn_topic', 'changelog_urgency']) {
    const d = loadDatasetDir(join(DATASETS_DIR, name));
    assert.equal(d.name, name);
    assert.equal(d.kind, 'seq_cls');
    assert.deepEqual(d.labels, DATASETS[name]!.labels);
    assert.deepEqual(d.files.map((f) => f.file), ['dataset.json', ...SPLIT_FILES]);
  }
});

test('a bad shipped card is one message naming the file', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-registry-'));
  const card = (dir: string, text: string) => { mkdirSync(join(root, dir), { recursive: true }); writeFileSync(join(root, dir, 'dataset.json'), text); };
  card('a', JSON.stringify({ name: 'b', kind: 'seq_cls', description: 'x' }));
  card('c', JSON.stringify({ name: 'c', kind: 'regression', description: 'x' }));
  card('d', JSON.stringify({ name: 'd', kind: 'corpus' }));
  const cases: [string, RegExp][] = [
    ['a', /a\/dataset\.json: names the dataset 'b'; a shipped dataset is named after its directory/],
    ['c', /c\/dataset\.json: \/kind must be equal to one of the allowed values/],
    ['d', /d\/dataset\.json: a shipped dataset's card needs "description"/],
    ['e', /e\/dataset\.json: cannot read the shipped dataset's card \(ENOENT\)/],
  ];
  for (const [dir, re] of cases) assert.throws(() => shippedDatasetInfo(dir, root), (e: Error) => re.test(e.message) && e.message.split('\n').length === 1, dir);
});
