// The loader on bytes a user's file may hold: invalid UTF-8 is refused at its line and byte, a
// byte-order mark is skipped, unlabelled rows load only when asked, dataset names are looked up as
// own keys; and any bytes at all either load or fail with an error naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DatasetError, firstInvalidUtf8, loadDataset, loadJsonl, parseJsonl } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-bytes-'));
const enc = (s: string) => new TextEncoder().encode(s);

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

test('invalid UTF-8 is refused with file:line and the byte offset', () => {
  const head = enc('{"id":"a","text":"fine"}\n{"id":"b","text":"caf');
  const bytes = new Uint8Array([...head, 0xe9, ...enc('"}\n')]); // Latin-1 é
  const p = file('latin1.jsonl', bytes);
  assert.throws(() => loadJsonl(p, 'corpus'), (e: unknown) => e instanceof DatasetError &&
    e.message === `${p}:2: invalid UTF-8 at byte ${head.length} (0xe9)`);
});

test('firstInvalidUtf8 agrees with a fatal TextDecoder on any bytes', () => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    let ok = true;
    try { decoder.decode(bytes); } catch { ok = false; }
    const bad = firstInvalidUtf8(bytes);
    assert.equal(bad < 0, ok);
    // The prefix before the reported byte is valid UTF-8.
    if (bad >= 0) decoder.decode(bytes.subarray(0, bad));
  }), { numRuns: 3000 });
  // Well-formed text of any code points is accepted.
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => firstInvalidUtf8(enc(s)) === -1));
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
  for (const b of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80]]) {
    assert.equal(firstInvalidUtf8(new Uint8Array(b)), 0, `bytes ${b}`);
  }
});

test('a byte-order mark at the start is skipped, not read as part of the first line', () => {
  const p = file('bom.jsonl', new Uint8Array([0xef, 0xbb, 0xbf, ...enc('{"id":"a","text":"hello"}\n')]));
  assert.deepEqual(loadJsonl(p, 'corpus'), [{ id: 'a', text: 'hello' }]);
  assert.deepEqual(parseJsonl('\ufeff{"id":"a","text":"hello"}\n', 'x', 'corpus'), [{ id: 'a', text: 'hello' }]);
});

test('unlabelled rows load only when asked, and labels present are still checked', () => {
  const rows = '{"id":"a","text":"no label"}\n{"id":"b","text":"has one","label":"x"}\n';
  assert.throws(() => parseJsonl(rows, 'u.jsonl', 'classification'), /u\.jsonl:1: missing field "label"/);
  assert.deepEqual(parseJsonl(rows, 'u.jsonl', 'classification', { unlabelled: true }).map((r) => r.id), ['a', 'b']);
  assert.throws(() => parseJsonl(rows, 'u.jsonl', 'classification', { unlabelled: true, labels: ['y'] }), /u\.jsonl:2: field label "x" is not one of y/);
  assert.deepEqual(parseJsonl('{"id":"n","tokens":["John","ran"]}\n', 'n.jsonl', 'ner', { unlabelled: true }), [{ id: 'n', tokens: ['John', 'ran'] }]);
  assert.throws(() => parseJsonl('{"id":"n","tokens":["John","ran"]}\n', 'n.jsonl', 'ner'), /n\.jsonl:1: missing field "tags"/);
});

test('dataset names that are Object properties are unknown datasets', () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.throws(() => loadDataset(name, 'train'), new RegExp(`unknown dataset ${JSON.stringify(name).replace(/[_$]/g, '\\$&')} \\(known: `));
  }
});

test('fuzz: any bytes either load or fail with an error naming the file (never a crash or a silent change)', () => {
  const row = fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,8}$/), text: fc.string({ minLength: 1, unit: 'grapheme' }) });
  // Valid files, then damaged: truncated, bytes flipped, bytes inserted.
  const damaged = fc.tuple(fc.uniqueArray(row, { selector: (r) => r.id, minLength: 1, maxLength: 6 }), fc.nat(), fc.uint8Array({ maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 2 }))
    .map(([rows, at, junk, cut, how]) => {
      const good = enc(rows.filter((r) => /\S/.test(r.text)).map((r) => JSON.stringify(r)).join('\n') + '\n');
      const i = good.length ? at % good.length : 0;
      if (how === 0) return good.subarray(0, cut % (good.length + 1));
      if (how === 1) return new Uint8Array([...good.subarray(0, i), ...junk, ...good.subarray(i)]);
      const b = good.slice();
      junk.forEach((v, k) => { if (i + k < b.length) b[i + k] = v; });
      return b;
    });
  let n = 0;
  fc.assert(fc.property(fc.oneof(damaged, fc.uint8Array({ maxLength: 80 })), (bytes) => {
    const p = file(`fuzz${n++ % 4}.jsonl`, bytes);
    let rows;
    try {
      rows = loadJsonl(p, 'corpus');
    } catch (e) {
      assert.ok(e instanceof DatasetError, `not a DatasetError: ${String(e)}`);
      assert.ok(e.message.startsWith(`${p}:`), e.message);
      return;
    }
    // Loaded: the rows are exactly what the bytes say (strict UTF-8, BOM dropped).
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    assert.deepEqual(rows, text.split('\n').filter((l, k, all) => !(k === all.length - 1 && l === '')).map((l) => JSON.parse(l)));
  }), { numRuns: 400 });
});
