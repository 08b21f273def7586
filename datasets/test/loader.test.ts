// The loader must accept exactly the documented row shapes and name file:line and the field for
// anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DatasetError, loadDataset, loadJsonl, parseJsonl } from '../src/index.js';
import type { RowKind } from '../src/index.js';

function problem(content: string, kind: RowKind, labels?: readonly string[]): string {
  try {
    parseJsonl(content, 'x.jsonl', kind, { labels });
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected the content to be rejected');
}

const good = '{"id":"a","text":"hello","label":"x"}\n';

test('valid rows of each kind load, typed, in file order', () => {
  assert.deepEqual(parseJsonl(`${good}{"id":"b","text":"bye","label":"y"}\n`, 'x.jsonl', 'classification'),
    [{ id: 'a', text: 'hello', label: 'x' }, { id: 'b', text: 'bye', label: 'y' }]);
  assert.deepEqual(parseJsonl('{"id":"n1","tokens":["John","Smith","ran"],"tags":["B-PER","I-PER","O"]}', 'x', 'ner'),
    [{ id: 'n1', tokens: ['John', 'Smith', 'ran'], tags: ['B-PER', 'I-PER', 'O'] }]);
  assert.deepEqual(parseJsonl('{"id":"p","en":"Open the file.","zh":"打开文件。"}\n', 'x', 'pairs'),
    [{ id: 'p', en: 'Open the file.', zh: '打开文件。' }]);
  assert.deepEqual(parseJsonl('{"id":"c","text":"line one\\nline two"}\n', 'x', 'corpus'),
    [{ id: 'c', text: 'line one\nline two' }]);
  assert.deepEqual(parseJsonl('', 'x', 'corpus'), []);
});

test('malformed lines are reported as file:line: what is wrong', () => {
  assert.match(problem(`${good}{"id":"b","text":"t","label":}\n`, 'classification'), /^x\.jsonl:2: invalid JSON/);
  assert.match(problem(`${good}\n${good}`, 'classification'), /^x\.jsonl:2: blank line/);
  assert.match(problem('{"id":"a","text":"t"}\n', 'classification'), /^x\.jsonl:1: missing field "label"/);
  assert.match(problem('{"id":"a","text":"t","label":"x","extra":1}\n', 'classification'), /^x\.jsonl:1: unexpected field "extra"/);
  assert.match(problem('{"id":"a","text":5,"label":"x"}\n', 'classification'), /^x\.jsonl:1: field text must be string/);
  assert.match(problem('{"id":"a","text":"   ","label":"x"}\n', 'classification'), /^x\.jsonl:1: field text must match/);
  assert.match(problem('{"id":"has space","text":"t","label":"x"}\n', 'classification'), /^x\.jsonl:1: field id/);
  assert.match(problem('[1,2]\n', 'corpus'), /^x\.jsonl:1: row must be object/);
  assert.match(problem(`${good}${good}`, 'classification'), /^x\.jsonl:2: duplicate id "a" \(first on line 1\)/);
  assert.match(problem(good, 'classification', ['y', 'z']), /^x\.jsonl:1: field label "x" is not one of y, z/);
  assert.match(problem('{"id":"p","en":"a","zh":""}\n', 'pairs'), /^x\.jsonl:1: field zh must NOT have fewer than 1 characters/);
});

test('NER rows: tag set, equal lengths and BIO order are checked', () => {
  assert.match(problem('{"id":"n","tokens":["a","b"],"tags":["O"]}', 'ner'), /^x\.jsonl:1: tokens has 2 items but tags has 1/);
  assert.match(problem('{"id":"n","tokens":["a"],"tags":["B-MISC"]}', 'ner'), /^x\.jsonl:1: field tags\.0 must be one of O, B-PER/);
  assert.match(problem('{"id":"n","tokens":["a","b"],"tags":["O","I-LOC"]}', 'ner'), /^x\.jsonl:1: tags\.1 is I-LOC but follows O/);
  assert.match(problem('{"id":"n","tokens":["a","b"],"tags":["B-PER","I-LOC"]}', 'ner'), /tags\.1 is I-LOC but follows B-PER/);
  assert.match(problem('{"id":"n","tokens":["a b"],"tags":["O"]}', 'ner'), /^x\.jsonl:1: field tokens\.0 must match/);
});

test('loadJsonl names the path; loadDataset rejects unknown names and splits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-loader-'));
  const path = join(dir, 'bad.jsonl');
  writeFileSync(path, `${good}{"id":"b","text":"t","label":"x"}\n{"id":"c"}\n`);
  assert.throws(() => loadJsonl(path, 'classification'), (e: Error) => e.message === `${path}:3: missing field "text" in a classification row`);
  assert.throws(() => loadJsonl(join(dir, 'none.jsonl'), 'corpus'), /none\.jsonl: cannot read \(ENOENT\)/);
  assert.throws(() => loadDataset('nope', 'train'), /unknown dataset "nope"/);
  assert.throws(() => loadDataset('pretrain_en', 'train'), /dataset pretrain_en has no train file/);
});

test('property: any valid classification rows survive serialise → parse unchanged', () => {
  const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /\S/u.test(s));
  fc.assert(fc.property(fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,10}$/), text, label: fc.constantFrom('a', 'b') }),
    { selector: (r) => r.id, maxLength: 20 }), (rows) => {
    const content = rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
    assert.deepEqual(parseJsonl(content, 'p.jsonl', 'classification', { labels: ['a', 'b'] }), rows.map((r) => ({ id: r.id, text: r.text, label: r.label })));
  }), { seed: 7, numRuns: 100 });
});

test('verifyManifest names a changed file, its sha256, row count and label counts', async () => {
  const { cpSync, readFileSync: read, writeFileSync: write } = await import('node:fs');
  const { verifyManifest, DATASETS_DIR } = await import('../src/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'tb-verify-'));
  cpSync(join(DATASETS_DIR, 'manifest.json'), join(dir, 'manifest.json'));
  cpSync(join(DATASETS_DIR, 'wn_topic'), join(dir, 'wn_topic'), { recursive: true });
  assert.deepEqual(verifyManifest(dir, { only: ['wn_topic'] }).problems, []);
  const dev = join(dir, 'wn_topic', 'dev.jsonl');
  const lines = read(dev, 'utf8').split('\n');
  const first = JSON.parse(lines[0]!) as { label: string };
  const other = first.label === 'noun.animal' ? 'noun.plant' : 'noun.animal';
  lines[0] = JSON.stringify({ ...first, label: other });
  write(dev, lines.join('\n')); // same row count, one label changed
  const problems = verifyManifest(dir, { only: ['wn_topic'] }).problems.join('\n');
  assert.match(problems, /wn_topic\/dev\.jsonl: sha256 .* differs from the manifest/);
  assert.match(problems, new RegExp(`wn_topic/dev\\.jsonl: label ${first.label.replace('.', '\\.')} has \\d+ rows, manifest says \\d+`));
  write(dev, '{"id":"x","text":"t","label":"noun.animal"}\n{"id":"x"}\n');
  const p2 = verifyManifest(dir, { only: ['wn_topic'] }).problems.join('\n');
  assert.match(p2, /wn_topic\/dev\.jsonl: 2 rows, manifest says \d+/);
  assert.match(p2, /wn_topic\/dev\.jsonl:2: missing field "text"/);
});
