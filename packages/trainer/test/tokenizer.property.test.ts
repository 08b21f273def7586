// Property tests for the tokenizer over random Unicode text: CJK, emoji (with skin tones and
// ZWJ), combining marks, control characters, exotic whitespace, punctuation, empty strings, and
// arbitrary code points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WordPieceTokenizer, basicNormalize, type Encoding } from '../src/tokenizer/index.js';

const POOL = [
  'a', 'b', 'c', 'x', 'y', 'Q', 'é', 'É', 'ß', 'İ', 'ﬁ', 'ŉ', 'Σ', 'ς', 'ǅ', 'ø',
  '中', '国', '人', '北', '京', '𠀀', '豈',
  '😀', '👍🏽', '👩\u200D💻', '\uFE0F', '\u0301', '\u0308', '\u20DD',
  ' ', '  ', '\t', '\n', '\r\n', '\u3000', '\u00A0', '\u2028',
  '.', ',', '!', '?', '-', '$', '«', '»', '…', '#', '##', '[', ']',
  '\u0005', '\u200B', '\u0000', '\uFFFD', '\u00AD',
];
const text = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...POOL) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

// A vocabulary that covers every normalised character of the pool (alone and as "##"), plus a
// few multi-character pieces so words split in interesting places.
function poolVocab(lowercase: boolean): string[] {
  const chars = new Set<string>();
  for (const p of POOL) for (const w of basicNormalize(p, { lowercase }).split(' ')) for (const ch of w) chars.add(ch);
  const v = new Set(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  for (const ch of chars) {
    v.add(ch);
    v.add('##' + ch);
  }
  for (const t of ['ab', '##ab', 'abc', '##bc', 'xy', '##xyx', 'ee', '##ss', 'fi', '##ço']) v.add(t);
  return [...v];
}
const uncased = WordPieceTokenizer.fromVocab(poolVocab(true));
const cased = WordPieceTokenizer.fromVocab(poolVocab(false), { lowercase: false });
const tokenizers = [uncased, cased];
const RUNS = { numRuns: 400 };

test('offsets point at the characters each token came from', () => {
  fc.assert(
    fc.property(text, fc.constantFrom(0, 1), (s, which) => {
      const tok = tokenizers[which];
      const e = tok.encode(s, null, { addSpecialTokens: false });
      let prevStart = 0;
      e.tokens.forEach((t, k) => {
        const [a, b] = e.offsets[k];
        assert.ok(0 <= a && a < b && b <= s.length, `token ${k} ${t}: offsets [${a}, ${b}) outside 0..${s.length}`);
        assert.ok(a >= prevStart, `token ${k}: offsets go backwards`);
        prevStart = a;
        const source = basicNormalize(s.slice(a, b), tok.basic).replaceAll(' ', '');
        if (t === '[UNK]') assert.ok(source.length > 0, `[UNK] at ${k} covers no characters`);
        else {
          const body = t.startsWith('##') ? t.slice(2) : t;
          assert.ok(source.includes(body), `token ${JSON.stringify(t)} not found in its source ${JSON.stringify(s.slice(a, b))} → ${JSON.stringify(source)}`);
        }
      });
      // the pieces of one word tile it: between consecutive pieces there are only removed characters
      // (controls, stripped combining marks), which belong to no token, as in Hugging Face
      for (let k = 1; k < e.tokens.length; k++) {
        if (e.wordIds[k] !== e.wordIds[k - 1]) continue;
        const gap = e.offsets[k][0] > e.offsets[k - 1][1] ? s.slice(e.offsets[k - 1][1], e.offsets[k][0]) : '';
        assert.equal(basicNormalize(gap, tok.basic), '', `pieces ${k - 1}, ${k} of one word leave a gap of kept characters ${JSON.stringify(gap)}`);
      }
    }),
    RUNS,
  );
});

test('no empty tokens; word ids are non-decreasing, start at 0 and skip none', () => {
  fc.assert(
    fc.property(text, text, fc.constantFrom(0, 1), (s, p, which) => {
      const tok = tokenizers[which];
      const e = tok.encode(s, p);
      for (const t of e.tokens) assert.ok(t.length > 0 && t !== '##', `empty token ${JSON.stringify(t)}`);
      for (const seq of [0, 1]) {
        const ws = e.wordIds.filter((_, k) => e.sequenceIds[k] === seq) as number[];
        for (let k = 1; k < ws.length; k++) assert.ok(ws[k] === ws[k - 1] || ws[k] === ws[k - 1] + 1, `word ids jump: ${ws}`);
        if (ws.length) assert.equal(ws[0], 0);
        const nWords = tok.basicWords(seq === 0 ? s : p).length;
        assert.equal(ws.length ? ws[ws.length - 1] + 1 : 0, nWords, 'one word id per basic word');
      }
      // framing
      assert.equal(e.tokens[0], '[CLS]');
      assert.equal(e.tokens.filter((t, k) => t === '[SEP]' && e.specialTokensMask[k] === 1).length, 2);
      const firstSep = e.specialTokensMask.indexOf(1, 1);
      e.tokenTypeIds.forEach((tt, k) => assert.equal(tt, k <= firstSep ? 0 : 1));
    }),
    RUNS,
  );
});

test('decode(encode(x)) is the basic-normalised x whenever no [UNK] appears', () => {
  let checked = 0;
  fc.assert(
    fc.property(text, fc.constantFrom(0, 1), (s, which) => {
      const tok = tokenizers[which];
      const e = tok.encode(s);
      if (e.tokens.includes('[UNK]')) return;
      checked++;
      assert.equal(tok.decode(e.ids, { skipSpecialTokens: true }), basicNormalize(s, tok.basic));
    }),
    RUNS,
  );
  assert.ok(checked > 100, `only ${checked} of ${RUNS.numRuns} cases had no [UNK]; the property was barely tested`);
});

test('truncation keeps a prefix of each text and respects maxLength', () => {
  fc.assert(
    fc.property(text, text, fc.integer({ min: 5, max: 40 }), fc.constantFrom('longest_first', 'only_first', 'only_second'), (s, p, maxLength, mode) => {
      const full = uncased.encode(s, p, { maxLength: 10_000 });
      let e: Encoding;
      try {
        e = uncased.encode(s, p, { maxLength, truncation: mode as 'longest_first' });
      } catch (err) {
        // only_first / only_second cannot always cut enough from one text: that must be an error
        assert.match((err as Error).message, /cannot truncate the (first|second) text/);
        assert.notEqual(mode, 'longest_first');
        return;
      }
      assert.ok(e.ids.length <= maxLength);
      assert.equal(e.ids.length, Math.min(full.ids.length, maxLength));
      assert.equal(e.numTruncated, full.ids.length - e.ids.length);
      for (const seq of [0, 1]) {
        const got = e.ids.filter((_, k) => e.sequenceIds[k] === seq);
        const want = full.ids.filter((_, k) => full.sequenceIds[k] === seq);
        assert.deepEqual(got, want.slice(0, got.length), `sequence ${seq} is not a prefix`);
      }
    }),
    RUNS,
  );
});

test('pre-split words: word ids index the input words, the same pieces as encoding the joined text', () => {
  const word = fc.stringMatching(/^[abcxyé中国😀.,!?-]{1,8}$/u);
  fc.assert(
    fc.property(fc.array(word, { maxLength: 12 }), (words) => {
      const e = uncased.encodeWords(words);
      const flat = uncased.encode(words.join(' '));
      assert.deepEqual(e.ids, flat.ids);
      // each input word's tokens carry its index
      words.forEach((w, i) => {
        const own = uncased.encode(w, null, { addSpecialTokens: false }).ids;
        const got = e.ids.filter((_, k) => e.wordIds[k] === i);
        assert.deepEqual(got, own);
      });
    }),
    RUNS,
  );
});
