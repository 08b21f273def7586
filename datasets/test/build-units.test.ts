// Worked examples and properties for the builder's parsing and splitting steps (no sources or
// network needed: every input is written here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readMo, writeMo } from '../src/build/mo.js';
import { normaliseMessage } from '../src/build/en_zh_pairs.js';
import { parseChangelog } from '../src/build/changelog.js';
import { stripHtml, tidyBody } from '../src/build/email.js';
import { buildGazetteer, tagTokens, tokenize } from '../src/build/ner_en.js';
import { cleanZhFortune, zhClauses } from '../src/build/zh.js';
import { splitFortunes } from '../src/build/pretrain_en.js';
import { parseDataLine, type Synset } from '../src/build/wordnet.js';
import { mentionsLemma } from '../src/build/wn_topic.js';
import { dedupeLabelled, packLines, splitByHash, splitGroupsBalanced } from '../src/build/common.js';
import { normalise, splitOf, stripAnsi, truncate, sha256Hex } from '../src/text.js';

test('.mo reader: round trip, context and plural separators, big-endian files, bad magic', () => {
  const entries = [
    { msgid: '', msgstr: 'Content-Type: text/plain; charset=UTF-8\n' },
    { msgid: 'Open the file', msgstr: '打开文件' },
    { msgid: 'menu\x04Quit', msgstr: '退出' },
    { msgid: 'one file\0%d files', msgstr: '%d 个文件' },
  ];
  const got = readMo(writeMo(entries));
  assert.equal(got.length, 4);
  const byId = new Map(got.map((e) => [e.msgid, e]));
  assert.deepEqual(byId.get('Open the file'), { context: null, msgid: 'Open the file', msgidPlural: null, msgstr: ['打开文件'] });
  assert.deepEqual(byId.get('Quit'), { context: 'menu', msgid: 'Quit', msgidPlural: null, msgstr: ['退出'] });
  assert.deepEqual(byId.get('one file'), { context: null, msgid: 'one file', msgidPlural: '%d files', msgstr: ['%d 个文件'] });
  // The same catalogue with every uint32 of the header and tables byte-swapped reads the same.
  const le = writeMo(entries.slice(1, 2));
  const be = new Uint8Array(le);
  const v = new DataView(be.buffer);
  const lv = new DataView(le.buffer);
  for (let off = 0; off < 28 + 16; off += 4) v.setUint32(off, lv.getUint32(off, true), false);
  assert.deepEqual(readMo(be), readMo(le));
  assert.throws(() => readMo(new Uint8Array(40), 'x.mo'), /x\.mo: not a \.mo file/);
  assert.throws(() => readMo(new Uint8Array(8), 'y.mo'), /y\.mo: too short/);
});

test('catalogue messages: placeholders and accelerators normalised on both sides', () => {
  assert.equal(normaliseMessage('Cannot open _file %s: %1$lu bytes (100%%)'), 'Cannot open file %s: %s bytes (100%)');
  assert.equal(normaliseMessage('无法打开文件(_F) %s'), '无法打开文件 %s');
  assert.equal(normaliseMessage('~Insert $(ARG1) into %PRODUCTNAME and {0} or $2'), 'Insert %s into %s and %s or %s');
  assert.equal(normaliseMessage('&Save  as…'), 'Save as…');
});

test('Debian changelog: header and trailer never reach the body; indentation removed', () => {
  const text = [
    'foo (1.2-1) unstable; urgency=high',
    '',
    '  * Fix CVE-2024-0001 (Closes: #1).',
    '    - second line',
    '',
    ' -- Jane Doe <jane@example.org>  Mon, 01 Jan 2024 10:00:00 +0000',
    '',
    'foo (1.1-1) unstable; urgency=low',
    '',
    '  * Initial release.',
    '',
    ' -- Jane Doe <jane@example.org>  Sun, 31 Dec 2023 10:00:00 +0000',
  ].join('\n');
  assert.deepEqual(parseChangelog(text), [
    { source: 'foo', version: '1.2-1', urgency: 'high', body: '* Fix CVE-2024-0001 (Closes: #1).\n  - second line' },
    { source: 'foo', version: '1.1-1', urgency: 'low', body: '* Initial release.' },
  ]);
});

test('email HTML: scripts, styles and tags removed, entities decoded, whitespace tidied', () => {
  const html = '<html><head><style>p{}</style></head><body><p>Save&nbsp;50&#37; &amp; more</p><script>x()</script><br>Now &#x263A;</body></html>';
  assert.equal(tidyBody(stripHtml(html)), 'Save 50% & more\n\nNow ☺');
});

test('NER: tokenizer keeps abbreviations, gazetteer longest match, ambiguous names drop the sentence', () => {
  assert.deepEqual(tokenize('a city in St. Louis, near the U.S. border.'), ['a', 'city', 'in', 'St.', 'Louis', ',', 'near', 'the', 'U.S.', 'border', '.']);
  const syn = (lexname: string, lemmas: string[], instance = true): Synset =>
    ({ key: `noun:${lemmas[0]}`, pos: 'noun', offset: '0', lexname, lemmas, pointers: instance ? [['@i', 'noun:1']] : [], definition: '', examples: [] });
  const g = buildGazetteer([
    syn('noun.location', ['New York', 'New York City']), syn('noun.location', ['York']), syn('noun.person', ['Lincoln', 'Abraham Lincoln']),
    syn('noun.location', ['Lincoln']), syn('noun.group', ['Red Cross']), syn('noun.act', ['mark'], false),
  ], ['John', 'Mark'], ['Ohio']);
  assert.ok(!g.firstNames.has('Mark'), 'a first name that is a common word is dropped');
  assert.deepEqual(tagTokens(tokenize('John Smith moved from New York City to Ohio with the Red Cross'), g),
    ['B-PER', 'I-PER', 'O', 'O', 'B-LOC', 'I-LOC', 'I-LOC', 'O', 'B-LOC', 'O', 'O', 'B-ORG', 'I-ORG']);
  assert.equal(tagTokens(tokenize('born in Lincoln'), g), null);
  assert.deepEqual(tagTokens(tokenize('Mark the page'), g), ['O', 'O', 'O']);
});

test('fortunes: % separators; fortunes-zh colour escapes and attribution removed', () => {
  assert.deepEqual(splitFortunes('one\n%\ntwo\nlines\n%\nthree\n'), ['one', 'two\nlines', 'three']);
  const entry = '国破山河在，城春草木深。\n\n\x1b[33m    -- \x1b[32m杜甫《春望》\x1b[m';
  assert.equal(cleanZhFortune(entry), '国破山河在，城春草木深。');
  assert.equal(stripAnsi('a\x1b[;mb\x1b[\n34;1mc\x1b'), 'abc');
  assert.deepEqual(zhClauses('白日依山尽，黄河入海流。欲穷千里目'), ['白日依山尽', '黄河入海流', '欲穷千里目']);
});

test('WordNet data line: lemmas, lexname, pointers, definition and examples', () => {
  const line = '01767949 02 v 02 apprentice 0 learn_(a) 0 001 @ 02418686 v 0000 01 + 08 00 | be or work as an apprentice; "She apprenticed with the great master"; "he learned"  ';
  const s = parseDataLine(line, 'verb');
  assert.deepEqual([s.key, s.lexname, s.lemmas, s.pointers, s.definition, s.examples],
    ['verb:01767949', 'adv.all', ['apprentice', 'learn'], [['@', 'verb:02418686']], 'be or work as an apprentice',
      ['She apprenticed with the great master', 'he learned']]);
  assert.ok(mentionsLemma('a young dog', 'dog') && mentionsLemma('two Dogs', 'dog') && !mentionsLemma('a doghouse', 'dog'));
  assert.ok(mentionsLemma('made of ice cream', 'ice cream') && !mentionsLemma('iced creamery', 'ice cream'));
});

test('property: truncate keeps whole code points, never exceeds the limit, and keeps short text', () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 1, max: 60 }), (s, max) => {
    const t = truncate(s, max);
    assert.ok(Array.from(t).length <= max);
    assert.ok(s.startsWith(t.trimEnd()) || s.startsWith(t));
    if (Array.from(s).length <= max) assert.equal(t, s);
  }), { seed: 11, numRuns: 300 });
});

test('property: packLines keeps every line in order and respects the length bound', () => {
  fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z ]{1,30}$/), { maxLength: 50 }), fc.integer({ min: 10, max: 100 }), (lines, max) => {
    const docs = packLines(lines, max);
    assert.deepEqual(docs.flatMap((d) => d.split('\n')), lines);
    for (const d of docs) assert.ok(d.length <= max || !d.includes('\n'));
  }), { seed: 3, numRuns: 200 });
});

test('splits: hash split is close to 80/10/10, deterministic, and keyed only by the text', () => {
  const counts = { train: 0, dev: 0, test: 0 };
  for (let i = 0; i < 20000; i++) counts[splitOf(sha256Hex(`x${i}`))]++;
  // Binomial sd for p = 0.1, n = 20000 is 42: allow 5 sd.
  assert.ok(Math.abs(counts.dev - 2000) < 210 && Math.abs(counts.test - 2000) < 210, JSON.stringify(counts));
  const items = Array.from({ length: 300 }, (_, i) => ({ text: `Text ${i}`, label: i % 3 ? 'a' : 'b' }));
  const a = splitByHash(items, 's', (x) => normalise(x.text));
  const b = splitByHash([...items].reverse(), 's', (x) => normalise(x.text));
  assert.deepEqual(a, b, 'input order does not matter');
  const c = splitByHash(items, 'other-seed', (x) => normalise(x.text));
  assert.notDeepEqual(a.test, c.test, 'the seed changes the split');
});

test('dedupe drops texts seen with two labels; grouped split never cuts a group and spreads the rare label', () => {
  const r = dedupeLabelled([{ text: 'A  b', label: 'x' }, { text: 'a b', label: 'x' }, { text: 'c', label: 'x' }, { text: 'C', label: 'y' }, { text: 'd', label: 'y' }]);
  assert.deepEqual(r.kept.map((x) => x.text), ['A  b', 'd']);
  assert.equal(r.duplicates, 1);
  assert.equal(r.conflicting, 2);
  const items = Array.from({ length: 2000 }, (_, i) => ({ g: `pkg${i % 97}`, label: i % 25 === 0 ? 'high' : 'low', i }));
  const s = splitGroupsBalanced(items, 'seed', (x) => x.g, 'high');
  const groupsOf = (xs: typeof items): Set<string> => new Set(xs.map((x) => x.g));
  for (const [p, q] of [['train', 'dev'], ['train', 'test'], ['dev', 'test']] as const) {
    for (const g of groupsOf(s[p])) assert.ok(!groupsOf(s[q]).has(g), `group ${g} in ${p} and ${q}`);
  }
  assert.equal(s.train.length + s.dev.length + s.test.length, items.length);
  for (const k of ['dev', 'test'] as const) {
    assert.ok(s[k].length > 120 && s[k].length < 300, `${k} has ${s[k].length} rows`);
    assert.ok(s[k].some((x) => x.label === 'high'), `${k} has no high row`);
  }
});
