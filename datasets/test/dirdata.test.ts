// Dataset directories (dirdata.ts): the same rows from JSONL, CSV and TSV, with and without a
// card; inference and dev carving; and one clear `file:line: problem` message per bad directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadDatasetDir, carveDev, DatasetError, loadDataset, WN_TOPIC_LABELS, type DirRow } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'tb-dirdata-'));
let n = 0;
function dir(files: Record<string, string>): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  for (const [f, content] of Object.entries(files)) writeFileSync(join(d, f), content);
  return d;
}
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const csv = (rows: { id: string; text: string; label: string }[], sep = ',') =>
  ['id,text,label'.replace(/,/g, sep), ...rows.map((r) => [r.id, sep === ',' ? csvCell(r.text) : r.text, r.label].join(sep))].join('\n') + '\n';

const wn = (split: 'train' | 'dev' | 'test', k: number) => loadDataset('wn_topic', split).slice(0, k);
const TRAIN = wn('train', 40), DEV = wn('dev', 12), TEST = wn('test', 12);
// Dev / test rows whose label occurs in TRAIN (an inferred label set is train's).
const inTrain = (rs: typeof TRAIN) => rs.filter((r) => TRAIN.some((t) => t.label === r.label));

test('a directory in JSONL, CSV and TSV, with a card, gives the shipped rows, labels and order', () => {
  const card = JSON.stringify({ kind: 'seq_cls', labels: [...WN_TOPIC_LABELS], language: 'en', costlyClass: 'noun.person' });
  const tsvSafe = (rs: typeof TRAIN) => rs.map((r) => ({ ...r, text: r.text.replace(/\t/g, ' ') }));
  const dirs = [
    dir({ 'dataset.json': card, 'train.jsonl': jsonl(TRAIN), 'dev.jsonl': jsonl(DEV), 'test.jsonl': jsonl(TEST) }),
    dir({ 'dataset.yaml': `kind: seq_cls\nlanguage: en\ncostlyClass: noun.person\nlabels:\n${WN_TOPIC_LABELS.map((l) => `  - ${l}`).join('\n')}\n`,
      'train.csv': csv(TRAIN), 'dev.csv': csv(DEV), 'test.csv': csv(TEST) }),
    dir({ 'dataset.json': card, 'train.tsv': csv(tsvSafe(TRAIN), '\t'), 'dev.tsv': csv(tsvSafe(DEV), '\t'), 'test.tsv': csv(tsvSafe(TEST), '\t') }),
  ];
  for (const d of dirs) {
    const l = loadDatasetDir(d);
    assert.equal(l.kind, 'seq_cls');
    assert.deepEqual(l.labels, [...WN_TOPIC_LABELS]);
    assert.deepEqual(l.inferred, { kind: false, labels: false });
    assert.equal(l.costlyClass, 'noun.person');
    assert.equal(l.devCarved, null);
    const expect = d === dirs[2] ? tsvSafe : (x: typeof TRAIN) => x;
    assert.deepEqual(l.splits.train, expect(TRAIN));
    assert.deepEqual(l.splits.dev, expect(DEV));
    assert.deepEqual(l.splits.test, expect(TEST));
    // Every file read is hashed (the card included).
    assert.equal(l.files.length, 4);
    for (const f of l.files) assert.equal(f.sha256, createHash('sha256').update(readFileSync(join(d, f.file))).digest('hex'));
  }
});

test('without a card: kind and label set inferred and said; renamed fields through the card', () => {
  const d = dir({ 'train.jsonl': jsonl(TRAIN.map(({ text, label }) => ({ text, label }))), 'test.jsonl': jsonl(inTrain(TEST)), 'dev.jsonl': jsonl(inTrain(DEV)) });
  const l = loadDatasetDir(d);
  assert.equal(l.kind, 'seq_cls');
  assert.deepEqual(l.labels, [...new Set(TRAIN.map((r) => r.label))].sort());
  assert.deepEqual(l.inferred, { kind: true, labels: true });
  assert.ok(l.notes.some((s) => /kind seq_cls inferred/.test(s)) && l.notes.some((s) => /label set inferred/.test(s)));
  // Rows without an id get split-line ids.
  assert.equal(l.splits.train[0]!.id, 'train-1');

  const renamed = dir({
    'dataset.json': JSON.stringify({ fields: { text: 'body', label: 'category' } }),
    'train.csv': 'body,category\nhello there,a\nbye now,b\n', 'test.csv': 'body,category\nhi,a\n', 'dev.csv': 'body,category\nso long,b\n',
  });
  const r = loadDatasetDir(renamed);
  assert.equal(r.kind, 'seq_cls');
  assert.deepEqual(r.splits.train, [{ id: 'train-2', text: 'hello there', label: 'a' }, { id: 'train-3', text: 'bye now', label: 'b' }]);

  const ner = dir({
    'train.csv': 'tokens,tags\nmr smith went,O B-PER O\nin rome,O B-LOC\n', 'test.jsonl': jsonl([{ id: 't1', tokens: ['mr', 'jones'], tags: ['O', 'B-PER'] }]),
  });
  const nl = loadDatasetDir(ner);
  assert.equal(nl.kind, 'token_cls');
  assert.deepEqual(nl.labels, ['O', 'B-LOC', 'B-PER']);
  assert.deepEqual(nl.splits.train.concat(nl.splits.dev).map((x) => x.tokens!.length).sort(), [2, 3]);
});

test('no dev file: a seeded, stratified carve of train, printed and recorded', () => {
  const d = dir({ 'train.jsonl': jsonl(TRAIN), 'test.jsonl': jsonl(inTrain(TEST)) });
  const l = loadDatasetDir(d);
  assert.ok(l.devCarved && /dev carved from train.jsonl, 10% of each label/.test(l.devCarved.rule));
  assert.equal(l.splits.train.length + l.splits.dev.length, TRAIN.length);
  assert.equal(l.devCarved!.rows, l.splits.dev.length);
  assert.ok(l.notes.includes(`${d.split('/').pop()}: ${l.devCarved!.rule}`));
});

test('carveDev: a partition of train, per-label shares, deterministic by seed', () => {
  fc.assert(fc.property(
    fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 80 }), fc.double({ min: 0.05, max: 0.5, noNaN: true }), fc.nat(1000),
    (labels, fraction, seed) => {
      const rows: DirRow[] = labels.map((label, i) => ({ id: `r${i}`, text: 'x', label }));
      const { train, dev } = carveDev(rows, 'seq_cls', fraction, seed);
      assert.deepEqual([...train, ...dev].map((r) => r.id).sort(), rows.map((r) => r.id).sort());
      for (const lab of ['a', 'b', 'c']) {
        const nl = labels.filter((x) => x === lab).length;
        const want = nl < 2 ? 0 : Math.max(1, Math.round(nl * fraction));
        assert.equal(dev.filter((r) => r.label === lab).length, want);
      }
      assert.deepEqual(carveDev(rows, 'seq_cls', fraction, seed), { train, dev });
    }));
});

test('bad directories: one clear message each (file:line, field)', () => {
  const t = jsonl(TRAIN.slice(0, 4));
  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing train split', { 'test.jsonl': t }, /missing split train \(expected train\.jsonl, train\.csv or train\.tsv/],
    ['missing test split', { 'train.jsonl': t }, /missing split test/],
    ['unknown field', { 'train.jsonl': t, 'test.jsonl': jsonl([{ id: 'x', text: 'hi', label: 'noun.body', note: 'n' }]) },
      /test\.jsonl:1: unknown field "note" in a seq_cls row/],
    ['label not in the set', { 'dataset.json': JSON.stringify({ labels: [...WN_TOPIC_LABELS] }), 'train.jsonl': t, 'test.csv': 'id,text,label\nx,hi,noun.body\ny,ho,noun.cheese\n' },
      /test\.csv:3: field label "noun\.cheese" is not one of noun\.animal/],
    ['unseen label (inferred set)', { 'train.jsonl': jsonl([{ id: 'a', text: 'x', label: 'p' }, { id: 'b', text: 'y', label: 'q' }]), 'test.jsonl': jsonl([{ id: 'c', text: 'z', label: 'r' }]) },
      /test\.jsonl:1: field label "r" is not one of p, q/],
    ['unknown card field', { 'dataset.json': '{\n  "kind": "seq_cls",\n  "lables": ["a", "b"]\n}\n', 'train.jsonl': t, 'test.jsonl': t },
      /dataset\.json:3: unknown field "lables"/],
    ['card YAML syntax error', { 'dataset.yaml': 'kind: seq_cls\nlabels: [a, b\n', 'train.jsonl': t, 'test.jsonl': t }, /dataset\.yaml:\d+: YAML syntax error/],
    ['bad kind', { 'dataset.yaml': 'kind: regression\n', 'train.jsonl': t, 'test.jsonl': t }, /dataset\.yaml:1: kind must be equal to one of the allowed values \(seq_cls, token_cls, pairs, corpus\)/],
    ['CSV with a short row', { 'train.csv': 'text,label\na,b\nc\n', 'test.jsonl': t }, /train\.csv:3: CSV/],
    ['missing field', { 'train.jsonl': t, 'test.jsonl': jsonl([{ id: 'x', text: 'hi' }]) }, /test\.jsonl:1: missing field "label" in a seq_cls row/],
    ['two train files', { 'train.jsonl': t, 'train.csv': 'text,label\n', 'test.jsonl': t }, /train\.jsonl and train\.csv both hold the train split/],
    ['fields that say no kind', { 'train.jsonl': jsonl([{ body: 'x' }]), 'test.jsonl': t }, /train\.jsonl:1: cannot tell the task kind from the fields body/],
  ];
  for (const [what, files, re] of cases) {
    const d = dir(files);
    assert.throws(() => loadDatasetDir(d), (e: Error) => {
      assert.match(e.message, re, what);
      // One message naming the file: no stack-like chains of causes.
      assert.equal(e.message.split('\n').length, 1, what);
      if (e instanceof DatasetError) assert.ok(e.file.startsWith(d), what);
      return true;
    }, what);
  }
});
