// pretrain_en: the prose extraction and cleaning functions (worked examples and fast-check
// properties, no sources needed), and the exclusions on the committed sample (no dev/test text,
// no e-mail text, nothing of a held-out synset) and its relation to the uncommitted full corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { decodeEntities, htmlParagraphs, looksLikeMail, markdownParagraphs, proseProblem, sentences, splitLong, tidy } from '../src/build/prose.js';
import { dictdEntries, dictParagraphs, gcideParagraphs, swordParagraphs } from '../src/build/prose_sources.js';
import { DATASETS_DIR, loadDataset, normalise, readManifest, verifyManifest, SPLITS, type ClassificationRow, type NerRow, type PairRow } from '../src/index.js';

const words = fc.array(fc.stringMatching(/^[A-Za-z]{1,12}[.,!?]?$/u), { minLength: 1, maxLength: 80 });

test('tidy: idempotent, no leading/trailing/double spaces, no zero-width characters', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
    const t = tidy(s);
    assert.equal(tidy(t), t);
    assert.ok(!/^\s|\s$|\s\s|[\u200b\ufeff\u00a0]/u.test(t), JSON.stringify(t));
  }));
});

test('sentences and splitLong: pieces join back to the tidied text and respect the limit', () => {
  assert.deepEqual(sentences('It rained. Then “it snowed!” And (later) 3 more.'), ['It rained.', 'Then “it snowed!”', 'And (later) 3 more.']);
  assert.deepEqual(sentences('e.g. this stays whole.'), ['e.g. this stays whole.']);
  fc.assert(fc.property(words, fc.integer({ min: 13, max: 200 }), (ws, max) => {
    const text = ws.join(' ');
    assert.equal(sentences(text).join(' '), tidy(text));
    const pieces = splitLong(text, max);
    for (const p of pieces) assert.ok(p.length > 0 && p.length <= max, `${p.length} > ${max}`);
    assert.equal(pieces.join(' '), tidy(text)); // every word is ≤ 13 characters ≤ max
  }));
  // A word longer than the limit is cut, and no character is lost.
  const long = `short ${'x'.repeat(25)} end.`;
  const pieces = splitLong(long, 10);
  assert.ok(pieces.every((p) => p.length <= 10));
  assert.equal(pieces.join('').replace(/ /gu, ''), long.replace(/ /gu, ''));
});

test('decodeEntities: numeric references of any code point, common names, unknown names kept', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff), (cp) => {
    assert.equal(decodeEntities(`&#${cp};`), String.fromCodePoint(cp));
    assert.equal(decodeEntities(`&#x${cp.toString(16)};`), String.fromCodePoint(cp));
  }));
  assert.equal(decodeEntities('a &amp; b &lt;c&gt; &ldquo;q&rdquo; &nosuch;'), 'a & b <c> “q” &nosuch;');
});

test('htmlParagraphs: blocks become paragraphs; code, tables, headings, navigation and front matter are dropped', () => {
  const html = `<html><head><title>T</title><style>p{}</style></head><body>
    <div class="navheader">Prev Next</div>
    <h1>Chapter 1</h1>
    <div class="para">Run <code class="command">apt update</code> to refresh the lists &amp; more.</div>
    <pre class="screen">$ apt update\n<b>Hit</b></pre>
    <table><tr><td>cell text</td></tr></table>
    <ul><li><p>First item.</p></li><li>Second<br/>line.</li></ul>
    <div class="titlepage"><div><div>Nested <div>title</div> page</div></div></div>
    <p>Last <em>one</em>.<!-- a comment --></p><img src="x.png"/>
  </body></html>`;
  assert.deepEqual(htmlParagraphs(html), ['Run apt update to refresh the lists & more.', 'First item.', 'Second line.', 'Last one.']);
  // Mallard (GNOME help): <info> holds credits and licence, <screen> holds commands.
  const page = `<?xml version="1.0"?><page xmlns="http://projectmallard.org/1.0/"><info><credit><name>A</name></credit>
    <license><p>Creative Commons Share Alike 3.0</p></license></info><title>Sound</title>
    <p>Open the <gui>Settings</gui> panel.</p><screen>pactl list</screen><note><p>Restart the computer.</p></note></page>`;
  assert.deepEqual(htmlParagraphs(page), ['Open the Settings panel.', 'Restart the computer.']);
});

test('markdownParagraphs: code fences, headings, tables and link syntax are removed; hyphenated line ends are joined', () => {
  const md = ['# Title', '', 'Anarchism is a _political_ theory, see [the FAQ](http://x.org) and **this** co-', 'operative idea.', '',
    '```', 'code();', '```', '', '    indented code', '', '> A quoted', '> passage.', '', '| a | b |', '|---|---|', '', '- a list item here', '[ref]: http://y'].join('\n');
  assert.deepEqual(markdownParagraphs(md), [
    'Anarchism is a political theory, see the FAQ and this co-operative idea.', 'A quoted passage.', 'a list item here',
  ]);
});

test('proseProblem: each rule on a worked example; prose passes', () => {
  const ok = 'The system keeps a copy of every file, so that a lost disk does not lose any data.';
  assert.equal(proseProblem(ok), null);
  assert.equal(proseProblem('Too short.'), 'short');
  assert.equal(proseProblem('Write to me at someone@example.org if the build fails again.'), 'e-mail');
  assert.equal(proseProblem('Subject: the meeting is moved to the other room today.'), 'e-mail');
  assert.equal(proseProblem('Copyright (c) 2011 by the authors, who wrote this text for you.'), 'licence');
  assert.equal(proseProblem('This program comes WITHOUT ANY WARRANTY; see the notes for the details.'), 'licence');
  assert.equal(proseProblem('The home page of the project is at https://example.org for all of you.'), 'url');
  assert.equal(proseProblem('Use the <b>bold</b> tag for the important words in the text.'), 'markup');
  assert.equal(proseProblem('Set x_val = foo(bar) -> baz; then call $HOME/bin/run --force now.'), 'code');
  assert.equal(proseProblem('Name | Size | Date of the file in the listing | Owner.'), 'table or layout');
  assert.equal(proseProblem('1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21'), 'few letters');
  assert.equal(proseProblem('THIS IS ALL WRITTEN IN CAPITAL LETTERS FOR THE HEADER.'), 'capitals');
  assert.equal(proseProblem('Installing the packages from the local mirror for the system'), 'no sentence end');
  assert.equal(proseProblem('Anarchists oppose hierarchy. [Proudhon, What is Property, p. 264]'), null);
  assert.equal(proseProblem('Красная площадь находится в центре города Москвы сегодня.'), 'not English script');
});

test('property: a paragraph with an e-mail address or a mail header line is never kept', () => {
  const user = fc.stringMatching(/^[a-z][a-z0-9.]{0,10}[a-z0-9]$/u);
  const host = fc.stringMatching(/^[a-z]{2,10}\.(org|com|net)$/u);
  fc.assert(fc.property(words, user, host, fc.nat(), (ws, u, h, at) => {
    const parts = [...ws];
    parts.splice(at % (parts.length + 1), 0, `${u}@${h}`);
    const p = parts.join(' ') + '.';
    assert.ok(looksLikeMail(p));
    assert.equal(proseProblem(p, 1), 'e-mail');
  }));
  fc.assert(fc.property(words, fc.constantFrom('From', 'To', 'Subject', 'Reply-To', 'Message-ID'), (ws, h) => {
    assert.ok(looksLikeMail(`${h}: ${ws.join(' ')}`));
  }));
});

test('dictionary readers: dictd index (base64 offsets), GCIDE senses and quotations, WordNet blocks dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dictd-'));
  try {
    const a = 'foo\n  n.\n\n  A {metasyntactic} word used in examples. [Jargon File]\n\n';
    const b = 'bar\n\n  The second entry, about bars.\n';
    const meta = '00-database-info\n  Not an entry.\n';
    const data = meta + a + b;
    const b64 = (n: number): string => {
      const D = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      let s = '';
      do { s = D[n % 64] + s; n = Math.floor(n / 64); } while (n > 0);
      return s;
    };
    writeFileSync(join(dir, 'x.dict.dz'), gzipSync(Buffer.from(data)));
    const idx = [['00-database-info', 0, meta.length], ['bar', meta.length + a.length, b.length], ['foo', meta.length, a.length], ['foobar', meta.length, a.length]];
    writeFileSync(join(dir, 'x.index'), idx.map(([h, o, l]) => `${h}\t${b64(o as number)}\t${b64(l as number)}`).join('\n') + '\n');
    const entries = dictdEntries(join(dir, 'x.dict.dz'), join(dir, 'x.index'));
    assert.deepEqual(entries.map((e) => e.head), ['bar', 'foo']); // metadata skipped, foobar shares foo's entry
    assert.deepEqual(dictParagraphs(entries[1]!.body), ['A metasyntactic word used in examples.']); // the headword block is dropped
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const gcide = [
    'Affect \\Af*fect"\\, v. t. [L. affectus.]', '   1. To act upon; to produce an effect upon.', '      [1913 Webster]', '',
    '            The climate affected their health. --Macaulay.', '      [1913 Webster]', '',
    '   2. a short definition copied from WordNet', '      [WordNet 1.5]', '',
  ].join('\n');
  assert.deepEqual(gcideParagraphs(gcide), ['To act upon; to produce an effect upon.', 'The climate affected their health.']);
});

test('SWORD zText reader: OSIS paragraphs, notes and titles removed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sword-'));
  try {
    const osis = '<div osisID="Gen" type="book" sID="1"/><title type="main">Genesis</title><div sID="2" type="x-p"/><chapter n="1"/>'
      + '<w lemma="x">In</w> the beginning<note type="x">a note</note>, God created.<div eID="2" type="x-p"/><div sID="3" type="x-p"/>The earth was formless.';
    const block = deflateSync(Buffer.from(osis));
    for (const t of ['ot', 'nt']) {
      const bzs = Buffer.alloc(12);
      bzs.writeUInt32LE(0, 0);
      bzs.writeUInt32LE(block.length, 4);
      bzs.writeUInt32LE(osis.length, 8);
      writeFileSync(join(dir, `${t}.bzs`), bzs);
      writeFileSync(join(dir, `${t}.bzz`), block);
    }
    const docs = swordParagraphs(dir);
    assert.equal(docs.length, 2);
    assert.deepEqual(docs[0]!.paragraphs, ['In the beginning, God created.', 'The earth was formless.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the committed sample ----

const sample = loadDataset('pretrain_en', 'corpus');
const lines = sample.flatMap((d) => d.text.split('\n'));

test('pretrain_en sample: rows of ≤ 1,000 characters, unique lines, no e-mail address or mail header', () => {
  assert.ok(sample.length > 2000, `${sample.length} rows`);
  const seen = new Set<string>();
  for (const d of sample) assert.ok(d.text.length <= 1000, `${d.id}: ${d.text.length} characters`);
  for (const l of lines) {
    const k = normalise(l);
    assert.ok(!seen.has(k), `repeated line ${JSON.stringify(l.slice(0, 60))}`);
    seen.add(k);
    assert.ok(!/[\w.+-]+@[\w-]+(\.[\w-]+)+/u.test(l), `e-mail address in ${JSON.stringify(l.slice(0, 80))}`);
    assert.ok(!/^(from|to|cc|subject|reply-to|message-id|received|return-path):\s/iu.test(l), `mail header in ${JSON.stringify(l.slice(0, 80))}`);
  }
});

test('pretrain_en sample: no line equals an e-mail body (any split) or a dev/test text of wn_topic / ner_en (held-out synsets)', () => {
  const held = new Map<string, string>();
  for (const split of SPLITS) for (const r of loadDataset('email', split) as ClassificationRow[]) held.set(normalise(r.text), `email/${split}`);
  for (const name of ['wn_topic', 'ner_en', 'changelog_urgency', 'en_zh_pairs'] as const) {
    for (const split of ['dev', 'test'] as const) {
      for (const r of loadDataset(name, split) as (ClassificationRow | NerRow | PairRow)[]) {
        held.set(normalise('tokens' in r ? r.tokens.join(' ') : 'en' in r ? r.en : r.text), `${name}/${split}`);
      }
    }
  }
  for (const l of lines) {
    const hit = held.get(normalise(l));
    assert.equal(hit, undefined, `${JSON.stringify(l.slice(0, 60))} is a ${hit} text`);
  }
  // Every source contributes to the sample (the sample is a uniform draw of the full rows).
  const manifest = readManifest(join(DATASETS_DIR, 'manifest.json'));
  assert.ok(manifest.datasets.pretrain_en!.sources.length >= 10);
});

test('pretrain_en_full: in the manifest with the same sources; when built, the sample is a subset of its rows', () => {
  const manifest = readManifest(join(DATASETS_DIR, 'manifest.json'));
  const full = manifest.datasets.pretrain_en_full;
  assert.ok(full, 'manifest has pretrain_en_full');
  assert.deepEqual(full.sources, manifest.datasets.pretrain_en!.sources);
  assert.ok(full.files['corpus.jsonl']!.bytes >= 25e6, `full corpus ${full.files['corpus.jsonl']!.bytes} bytes`);
  const path = join(DATASETS_DIR, 'pretrain_en_full', 'corpus.jsonl');
  if (!existsSync(path)) return; // not built here (CI): verify reports it as not built
  const ids = new Map(loadDataset('pretrain_en_full', 'corpus').map((r) => [r.id, r.text]));
  for (const r of sample) assert.equal(ids.get(r.id), r.text, `sample row ${r.id} is not a full-corpus row`);
});

test('on-demand dataset: loading it unbuilt says how to build it; verify lists it as not built, not as a problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ondemand-'));
  try {
    assert.throws(() => loadDataset('pretrain_en_full', 'corpus', dir), /pretrain_en_full is not built .*npm run datasets:build -- pretrain_en/u);
    const m = readManifest(join(DATASETS_DIR, 'manifest.json'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, datasets: { pretrain_en_full: m.datasets.pretrain_en_full } }));
    mkdirSync(join(dir, 'pretrain_en_full'));
    const r = verifyManifest(dir, { only: ['pretrain_en_full'] });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.notBuilt, ['pretrain_en_full/corpus.jsonl']);
    // A file that is present is checked like any other.
    writeFileSync(join(dir, 'pretrain_en_full', 'corpus.jsonl'), '{"id":"x","text":"y"}\n');
    assert.match(verifyManifest(dir, { only: ['pretrain_en_full'] }).problems.join('\n'), /sha256/u);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
