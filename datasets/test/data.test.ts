// Checks on the shipped data: the manifest (datasets:verify), no text in two splits, no test or
// dev text in any pretraining corpus, and the label leaks named in the cards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DATASETS, DATASET_NAMES, DATASETS_DIR, loadDataset, loadSynonyms, normalise, verifyManifest, SPLITS,
  type ClassificationRow, type NerRow, type PairRow, type Split,
} from '../src/index.js';
import { mentionsLemma } from '../src/build/wn_topic.js';

const LABELLED = DATASET_NAMES.filter((n) => DATASETS[n]!.kind !== 'corpus');

/** The texts of a row that must not be shared across splits (both sides of a pair). */
function textsOf(name: string, row: ClassificationRow | NerRow | PairRow): string[] {
  if ('tokens' in row) return [row.tokens.join(' ')];
  if ('en' in row) return [row.en, row.zh];
  return [row.text];
}

const cache = new Map<string, (ClassificationRow | NerRow | PairRow)[]>();
function rows(name: string, split: Split): (ClassificationRow | NerRow | PairRow)[] {
  const k = `${name}/${split}`;
  if (!cache.has(k)) cache.set(k, loadDataset(name, split) as (ClassificationRow | NerRow | PairRow)[]);
  return cache.get(k)!;
}

test('datasets:verify — every file matches manifest.json (sha256, bytes, rows, labels, schema)', () => {
  const r = verifyManifest(DATASETS_DIR);
  assert.deepEqual(r.problems, []);
  assert.ok(r.rows > 60_000, `only ${r.rows} rows`);
  assert.ok(r.bytes < 30_000_000, `datasets hold ${r.bytes} bytes, the budget is 30 MB`);
});

test('no normalised text is in two splits of any dataset', () => {
  for (const name of LABELLED) {
    const where = new Map<string, Split>();
    for (const split of SPLITS) {
      for (const row of rows(name, split)) {
        for (const t of textsOf(name, row)) {
          const k = normalise(t);
          const prev = where.get(k);
          assert.ok(prev === undefined || prev === split, `${name}: ${JSON.stringify(t.slice(0, 60))} is in ${prev} and ${split}`);
          where.set(k, split);
        }
      }
    }
    assert.ok(rows(name, 'test').length > 100, `${name}: test split has ${rows(name, 'test').length} rows`);
  }
});

test('no pretraining corpus line or document equals a dev/test text of any dataset', () => {
  const held = new Map<string, string>();
  for (const name of LABELLED) {
    for (const split of ['dev', 'test'] as const) for (const row of rows(name, split)) for (const t of textsOf(name, row)) held.set(normalise(t), `${name}/${split}`);
  }
  for (const name of ['pretrain_en', 'zh_pretrain', 'email'] as const) {
    const corpus = loadDataset(name, 'corpus');
    assert.ok(corpus.length > 1000, `${name} corpus has ${corpus.length} rows`);
    // pretrain_en and zh_pretrain hold one unit per line; an email body is one unit.
    for (const doc of corpus) {
      for (const unit of name === 'email' ? [doc.text] : [doc.text, ...doc.text.split('\n')]) {
        const hit = held.get(normalise(unit));
        assert.equal(hit, undefined, `${name} corpus row ${doc.id} contains ${JSON.stringify(unit.slice(0, 60))} from ${hit}`);
      }
    }
  }
});

test('email corpus is exactly the train split text (continued pretraining never sees dev/test)', () => {
  const corpus = loadDataset('email', 'corpus');
  const train = loadDataset('email', 'train');
  assert.deepEqual(corpus, train.map((r) => ({ id: r.id, text: r.text })));
  const report = /^[\s>]*(X-Spam-[\w-]+|SPAM):/mu; // SpamAssassin's verdict, when quoted in a body
  for (const split of SPLITS) for (const r of rows('email', split) as ClassificationRow[]) assert.ok(!report.test(r.text), `email ${r.id} holds a SpamAssassin report line`);
});

test('wn_topic: no input contains a lemma of its own synset', () => {
  const headwords = JSON.parse(readFileSync(join(DATASETS_DIR, 'wn_topic', 'headwords.json'), 'utf8')) as Record<string, string[]>;
  let checked = 0;
  for (const split of SPLITS) {
    for (const r of rows('wn_topic', split) as ClassificationRow[]) {
      const lemmas = headwords[r.id];
      assert.ok(lemmas && lemmas.length > 0, `wn_topic ${r.id} has no headword entry`);
      for (const l of lemmas) assert.ok(!mentionsLemma(r.text, l), `wn_topic ${r.id}: ${JSON.stringify(r.text)} contains its headword ${l}`);
      checked++;
    }
  }
  assert.equal(checked, Object.keys(headwords).length);
});

test('changelog_urgency: no header, trailer or urgency= in the text; packages never span splits', () => {
  const pkgSplit = new Map<string, Split>();
  for (const split of SPLITS) {
    const rs = rows('changelog_urgency', split) as ClassificationRow[];
    assert.ok(rs.some((r) => r.label === 'high'), `changelog_urgency/${split} has no high row`);
    for (const r of rs) {
      assert.ok(!/urgency\s*=/iu.test(r.text), `${r.id}: urgency= in text`);
      assert.ok(!/^\S+ \([^)]+\) [^;]+;/mu.test(r.text), `${r.id}: header line in text`);
      assert.ok(!/^ ?-- .+<[^>]+> {1,2}\w{3}, /mu.test(r.text), `${r.id}: trailer line in text`);
      const pkg = r.id.slice(0, r.id.indexOf('/'));
      const prev = pkgSplit.get(pkg);
      assert.ok(prev === undefined || prev === split, `package ${pkg} is in ${prev} and ${split}`);
      pkgSplit.set(pkg, split);
    }
  }
});

test('zh_poetry / zh_pretrain: simplified script, no ANSI escapes, no fortunes-zh attribution', () => {
  // Common characters whose traditional form differs from the simplified one.
  const traditional = /[們國詩為與東風無來時長雲聲門開見馬書說對後裡歸樓愛萬舊鳥緑綠飛]/u;
  for (const split of SPLITS) {
    for (const r of rows('zh_poetry', split) as ClassificationRow[]) assert.ok(!traditional.test(r.text), `zh_poetry ${r.id} has traditional characters: ${r.text.slice(0, 30)}`);
  }
  for (const doc of loadDataset('zh_pretrain', 'corpus')) {
    assert.ok(!doc.text.includes('\x1b'), `zh_pretrain ${doc.id}: ANSI escape`);
    assert.ok(!/(^|\s)(--|——)\s*\S*《/mu.test(doc.text), `zh_pretrain ${doc.id}: attribution line`);
  }
});

test('ner_en: every type occurs in every split; synonym map is lemma → distinct other words', () => {
  for (const split of SPLITS) {
    const tags = new Set((rows('ner_en', split) as NerRow[]).flatMap((r) => r.tags));
    for (const t of ['B-PER', 'B-LOC', 'B-ORG', 'I-LOC']) assert.ok(tags.has(t), `ner_en/${split} has no ${t}`);
  }
  const syn = loadSynonyms();
  assert.ok(syn.size > 10_000);
  assert.deepEqual(syn.get('car')?.slice(0, 2), ['auto', 'automobile']);
  for (const [k, v] of syn) {
    assert.ok(v.length > 0 && !v.includes(k) && new Set(v).size === v.length, `synonyms of ${k}: ${v.join(', ')}`);
  }
});

test('jieba dictionary from @node-rs/jieba: "word freq POS" lines', async () => {
  const { jiebaDictPath } = await import('../src/index.js');
  const lines = readFileSync(jiebaDictPath(), 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length > 300_000, `${lines.length} words`);
  for (const l of lines.slice(0, 1000)) assert.match(l, /^\S+ \d+ [a-z]+$/u);
});
