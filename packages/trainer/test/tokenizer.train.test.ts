// WordPiece training, vocabulary extension (English → Chinese), embedding-row initialisation and
// the fertility report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  WordPieceTokenizer,
  choleskyLower,
  embeddingCovariance,
  embeddingMean,
  extendVocabulary,
  fertilityReport,
  growEmbeddings,
  initAddedRows,
  trainWordPiece,
} from '../src/tokenizer/index.js';
import { seededRng } from '../src/data/index.js';
import { randNormal } from '../src/data/rng.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

test('training, worked by hand: alphabet, "##" alphabet, then the most frequent pair', () => {
  const corpus = ['ab ab ab ac'];
  // specials; alphabet a b c; "##" alphabet ##b ##c; pairs (a, ##b) × 3, (a, ##c) × 1
  const t10 = trainWordPiece(corpus, { vocabSize: 10 });
  assert.deepEqual(t10.vocab.tokens, [...SPECIALS, 'a', 'b', 'c', '##b', '##c']);
  const t11 = trainWordPiece(corpus, { vocabSize: 11 });
  assert.deepEqual(t11.vocab.tokens.slice(10), ['ab']);
  const t12 = trainWordPiece(corpus, { vocabSize: 12 });
  assert.deepEqual(t12.vocab.tokens.slice(10), ['ab', 'ac']);
  // minFrequency 2 stops before the pair seen once
  assert.deepEqual(trainWordPiece(corpus, { vocabSize: 12, minFrequency: 2 }).vocab.tokens.slice(10), ['ab']);
  // "##a" never occurs in the corpus, so "ca" has no cover
  assert.deepEqual(t12.tokenize('ab ac ca'), ['ab', 'ac', '[UNK]']);
  // three-symbol words: "abc" ×2 → (a,##b)=2, (##b,##c)=2: tie → smaller (left id, right id) first
  const t = trainWordPiece(['abc abc'], { vocabSize: 12 });
  assert.deepEqual(t.vocab.tokens.slice(10), ['ab', 'abc']);
});

test('training is deterministic and independent of corpus order; lowercase and accents follow the options', () => {
  const rng = seededRng(7);
  const syll = ['ka', 'to', 'ri', 'mu', 'sen', 'dal', 'vo', 'ne'];
  const corpus = Array.from({ length: 300 }, () =>
    Array.from({ length: 6 }, () => Array.from({ length: 1 + Math.floor(rng() * 3) }, () => syll[Math.floor(rng() * syll.length)]).join('')).join(' '),
  );
  const a = trainWordPiece(corpus, { vocabSize: 120 });
  const b = trainWordPiece([...corpus].reverse(), { vocabSize: 120 });
  assert.deepEqual(a.vocab.tokens, b.vocab.tokens);
  assert.equal(a.vocabSize, 120);
  // every corpus word is covered (no [UNK]) by the trained vocabulary
  for (const line of corpus.slice(0, 50)) assert.ok(!a.tokenize(line).includes('[UNK]'));
  // frequent syllable pairs become whole tokens
  assert.ok(a.vocab.has('ka') && a.vocab.has('sen'));
  const cased = trainWordPiece(['Café CAFÉ café'], { vocabSize: 40, lowercase: false });
  assert.ok(cased.vocab.has('C') && cased.vocab.has('##É'));
  const uncased = trainWordPiece(['Café CAFÉ café'], { vocabSize: 40 });
  assert.ok(!uncased.vocab.has('C') && !uncased.vocab.has('##é') && uncased.vocab.has('cafe'));
});

// An "English" base tokenizer and a Chinese corpus.
const EN = [
  'the cat sat on the mat', 'the dog ate the bone', 'a bird sang in the tree', 'we read books at night',
  'running and jumping are fun', 'she wanted to go home', 'they played music all day', 'the river runs to the sea',
];
const ZH = ['我爱北京', '北京欢迎你', '我们爱中国', '中国人民', '北京是中国的首都', '你好世界'];

test('vocabulary extension, worked by hand: a Chinese sentence before and after', () => {
  const base = trainWordPiece(EN, { vocabSize: 200 });
  const before = base.encode('我爱北京 the cat');
  assert.deepEqual(before.tokens, ['[CLS]', '[UNK]', '[UNK]', '[UNK]', '[UNK]', 'the', 'cat', '[SEP]']);

  const ext = extendVocabulary(base, { corpus: ['我爱北京', '北京欢迎你'], vocabSize: 1000 });
  // the Chinese alphabet sorted by code point: 京 4EAC, 你 4F60, 北 5317, 我 6211, 欢 6B22, 爱 7231, 迎 8FCE
  // (no "##中"-style tokens: a CJK character is always a word of its own)
  assert.deepEqual(ext.addedTokens, ['京', '你', '北', '我', '欢', '爱', '迎']);
  const n = base.vocabSize;
  assert.deepEqual(ext.addedIds, [n, n + 1, n + 2, n + 3, n + 4, n + 5, n + 6]);
  const after = ext.tokenizer.encode('我爱北京 the cat');
  assert.deepEqual(after.tokens, ['[CLS]', '我', '爱', '北', '京', 'the', 'cat', '[SEP]']);
  assert.deepEqual(after.ids.slice(1, 5), [n + 3, n + 5, n + 2, n]);
  assert.deepEqual(after.ids.slice(5), before.ids.slice(5));
  // under the old tokenizer each new character was [UNK]
  assert.deepEqual(ext.newTokenPieces, ext.addedTokens.map(() => [base.specialIds.unk]));
  assert.deepEqual(Array.from(ext.oldToNew), Array.from({ length: n }, (_, i) => i));
  assert.equal(ext.skipped.existing, 5); // the special tokens
  // a "##中" token could never match (CJK characters are always whole words): dropped if offered
  const offered = extendVocabulary(base, { tokens: ['##中', '中国', '中'] });
  assert.deepEqual(offered.addedTokens, ['中']);
  assert.equal(offered.skipped.unreachable, 2);
});

test('vocabulary extension: new tokens pieces under the old tokenizer; only-new-characters filter', () => {
  const base = WordPieceTokenizer.fromVocab([...SPECIALS, 'caf', 'c', 'a', 'f', '##a', '##f', '##e', 'e', '##s']);
  const ext = extendVocabulary(base, { tokens: ['café', '##é', 'cafes', 'é', 'caf'] });
  assert.deepEqual(ext.addedTokens, ['café', '##é', 'é']);
  assert.deepEqual(ext.skipped, { existing: 1, oldCharactersOnly: 1, unreachable: 0, overLimit: 0 });
  // "café" under the old vocabulary: "caf" then no cover for "##é" → the whole word is [UNK]
  assert.deepEqual(ext.newTokenPieces, [[base.specialIds.unk], [base.specialIds.unk], [base.specialIds.unk]]);
  const all = extendVocabulary(base, { tokens: ['cafes', 'fa'] }, { onlyNewCharacters: false });
  assert.deepEqual(all.addedTokens, ['cafes', 'fa']);
  assert.deepEqual(all.newTokenPieces.map((p) => p.map((id) => base.idToToken(id))), [['caf', '##e', '##s'], ['f', '##a']]);
  const capped = extendVocabulary(base, { tokens: ['café', '##é', 'é', 'ü'] }, { maxNewTokens: 2 });
  assert.deepEqual(capped.addedTokens, ['café', '##é']);
  assert.equal(capped.skipped.overLimit, 2);
  // the merged tokenizer keeps the base tokenizer's normalisation options
  assert.equal(ext.tokenizer.basic.lowercase, true);
});

test('property: an extended vocabulary tokenizes the old language exactly as before', () => {
  const base = trainWordPiece(EN, { vocabSize: 150 });
  const ext = extendVocabulary(base, { corpus: [...ZH, 'café naïve façade über', 'ça va très bien'], vocabSize: 400 }, { onlyNewCharacters: true });
  assert.ok(ext.addedTokens.length > 10);
  const oldChars = [...new Set(EN.join('').replaceAll(' ', ''))];
  const mixed = [...oldChars, ' ', ' ', '.', ...'我爱北京中国你好', 'é', 'ç', 'ü', '😀'];
  const oldText = fc.array(fc.constantFrom(...oldChars, ' ', ' ', ' ', ',', '!'), { maxLength: 60 }).map((a) => a.join(''));
  const anyText = fc.array(fc.constantFrom(...mixed), { maxLength: 60 }).map((a) => a.join(''));
  fc.assert(
    fc.property(oldText, (s) => {
      assert.deepEqual(ext.tokenizer.encode(s).ids, base.encode(s).ids);
    }),
    { numRuns: 300 },
  );
  // mixed text: every word the old tokenizer covered (no [UNK]) keeps its pieces
  fc.assert(
    fc.property(anyText, (s) => {
      for (const w of base.basicWords(s)) {
        const old = base.wordPieceIds(w.text);
        if (!old.includes(base.specialIds.unk)) assert.deepEqual(ext.tokenizer.wordPieceIds(w.text), old, `word ${w.text}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('fertility: English vocabulary on Chinese is all [UNK]; extension brings it to 1 token per character', () => {
  const base = trainWordPiece(EN, { vocabSize: 200 });
  const en = fertilityReport(base, EN);
  assert.equal(en.unkTokens, 0);
  assert.equal(en.texts, EN.length);
  assert.equal(en.words, EN.join(' ').split(' ').length);
  assert.equal(en.characters, EN.join('').replaceAll(' ', '').length);
  assert.ok(en.tokensPerWord >= 1);
  const zhBefore = fertilityReport(base, ZH);
  const chars = ZH.join('').length;
  assert.deepEqual(
    { characters: zhBefore.characters, words: zhBefore.words, tokens: zhBefore.tokens, unkTokens: zhBefore.unkTokens, unkRate: zhBefore.unkRate, unkWordRate: zhBefore.unkWordRate },
    { characters: chars, words: chars, tokens: chars, unkTokens: chars, unkRate: 1, unkWordRate: 1 },
  );
  const ext = extendVocabulary(base, { corpus: ZH, vocabSize: 1000 });
  const zhAfter = fertilityReport(ext.tokenizer, ZH);
  assert.equal(zhAfter.unkRate, 0);
  assert.equal(zhAfter.tokensPerCharacter, 1);
  const empty = fertilityReport(base, []);
  assert.equal(empty.tokensPerCharacter, 0);
});

test('embedding init: mean, sub-token average, and normal draws (checked against direct float64 sums)', () => {
  const rows = 7;
  const cols = 5;
  const rng = seededRng(3);
  const old = Float32Array.from({ length: rows * cols }, () => rng() * 2 - 1);
  const mean = Array.from({ length: cols }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += old[r * cols + c];
    return s / rows;
  });
  const grown = growEmbeddings(old, rows, cols, 3, { method: 'mean' });
  assert.equal(grown.length, (rows + 3) * cols);
  assert.deepEqual(grown.subarray(0, rows * cols), old);
  for (let r = rows; r < rows + 3; r++) for (let c = 0; c < cols; c++) assert.ok(Math.abs(grown[r * cols + c] - mean[c]) <= 1e-6);
  const sub = initAddedRows(old, rows, cols, 2, { method: 'subtoken', pieces: [[1, 4, 4], []] });
  for (let c = 0; c < cols; c++) {
    const want = (old[1 * cols + c] + 2 * old[4 * cols + c]) / 3;
    assert.ok(Math.abs(sub[c] - want) <= 1e-6, 'average of the pieces (repeats count twice)');
    assert.ok(Math.abs(sub[cols + c] - mean[c]) <= 1e-6, 'no pieces: the mean');
  }
  const nrm = initAddedRows(old, rows, cols, 400, { method: 'normal', rng: seededRng(1) });
  let ss = 0;
  for (const v of nrm) ss += v * v;
  const std = Math.sqrt(ss / nrm.length);
  // 2000 draws of N(0, 0.02²): sample std within ±10 % (≈ 6 standard errors)
  assert.ok(Math.abs(std - 0.02) < 0.002, `std ${std}`);
  assert.throws(() => initAddedRows(old, rows, cols, 1, { method: 'subtoken', pieces: [[9]] }), /piece id 9 of new row 0 is outside the old matrix \(7 rows\)/);
  assert.throws(() => initAddedRows(old, rows, cols + 1, 1, { method: 'mean' }), /expected rows·cols = 7·6 = 42/);
});

test("embedding init: 'subtoken' gives tokens without an informative piece (none, or only [UNK]) the mean + seeded N(0, std²) noise; other rows stay the exact piece average", () => {
  const rows = 6, cols = 4, unk = 1;
  const g = seededRng(5);
  const old = Float32Array.from({ length: rows * cols }, () => g() * 2 - 1);
  const mean = embeddingMean(old, rows, cols);
  const pieces = [[unk], [2, 3], [unk], [], [unk, unk]];
  const out = initAddedRows(old, rows, cols, pieces.length, { method: 'subtoken', pieces, unkId: unk, fallback: { rng: seededRng(9), std: 0.02 } });
  // The same stream by hand: fallback rows draw in row order (rows 0, 2, 3, 4), one value per column.
  const z = seededRng(9);
  for (const r of [0, 2, 3, 4]) for (let c = 0; c < cols; c++) assert.equal(out[r * cols + c], Math.fround(mean[c] + 0.02 * randNormal(z)), `row ${r} col ${c}`);
  for (let c = 0; c < cols; c++) assert.equal(out[cols + c], Math.fround((old[2 * cols + c] + old[3 * cols + c]) / 2));
  // Distinct new characters now start distinct (they were all the [UNK] row).
  assert.notDeepEqual(out.subarray(0, cols), out.subarray(2 * cols, 3 * cols));
  // Without a fallback: the plain mean for them; without unkId, [UNK] is an ordinary piece (the exact rule).
  const plain = initAddedRows(old, rows, cols, 2, { method: 'subtoken', pieces: [[unk], []], unkId: unk });
  for (let c = 0; c < cols; c++) for (const r of [0, 1]) assert.equal(plain[r * cols + c], Math.fround(mean[c]));
  const exact = initAddedRows(old, rows, cols, 1, { method: 'subtoken', pieces: [[unk]] });
  assert.deepEqual(exact, old.subarray(unk * cols, (unk + 1) * cols));
  // Reproducible for a seed, different for another.
  const again = initAddedRows(old, rows, cols, pieces.length, { method: 'subtoken', pieces, unkId: unk, fallback: { rng: seededRng(9), std: 0.02 } });
  assert.deepEqual(again, out);
  const other = initAddedRows(old, rows, cols, pieces.length, { method: 'subtoken', pieces, unkId: unk, fallback: { rng: seededRng(10), std: 0.02 } });
  assert.notDeepEqual(other.subarray(0, cols), out.subarray(0, cols));
  assert.throws(() => initAddedRows(old, rows, cols, 1, { method: 'subtoken', pieces: [[unk]], unkId: unk, fallback: { rng: seededRng(1), std: -1 } }), /fallback std must be ≥ 0/);
});

test('embedding init: mean + noise draws from N(mean, s·Σ) (HF mean_resizing, s = 1e-9 by default)', () => {
  const rows = 400;
  const cols = 3;
  const rng = seededRng(11);
  // correlated columns: x, x + small noise, independent
  const old = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const x = rng() * 2 - 1;
    old[r * cols] = x;
    old[r * cols + 1] = 0.5 * x + 0.3 * (rng() - 0.5);
    old[r * cols + 2] = rng();
  }
  const mu = embeddingMean(old, rows, cols);
  const cov = embeddingCovariance(old, rows, cols, mu);
  // the covariance against a direct two-pass float64 computation
  for (let i = 0; i < cols; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += (old[r * cols + i] - mu[i]) * (old[r * cols + j] - mu[j]);
      assert.ok(Math.abs(cov[i * cols + j] - s / rows) < 1e-12);
    }
  const l = choleskyLower(cov, cols)!;
  for (let i = 0; i < cols; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += l[i * cols + k] * l[j * cols + k];
      assert.ok(Math.abs(s - cov[i * cols + j]) < 1e-12, 'L·Lᵀ = Σ');
    }
  // scale 1: 20000 draws; sample mean within 5 standard errors, sample covariance within 5 % of the largest entry
  const n = 20000;
  const draws = initAddedRows(old, rows, cols, n, { method: 'mean-noise', rng: seededRng(5), covarianceScale: 1 });
  const dm = embeddingMean(draws, n, cols);
  const dc = embeddingCovariance(draws, n, cols, dm);
  for (let i = 0; i < cols; i++) assert.ok(Math.abs(dm[i] - mu[i]) < 5 * Math.sqrt(cov[i * cols + i] / n));
  const maxCov = Math.max(...cov);
  for (let k = 0; k < cols * cols; k++) assert.ok(Math.abs(dc[k] - cov[k]) < 0.05 * maxCov, `cov[${k}] ${dc[k]} vs ${cov[k]}`);
  // HF's default scale 1e-9: the new rows are the mean up to ~√1e-9 · σ
  const tiny = initAddedRows(old, rows, cols, 10, { method: 'mean-noise', rng: seededRng(5) });
  for (let k = 0; k < tiny.length; k++) assert.ok(Math.abs(tiny[k] - mu[k % cols]) < 1e-4);
  // not positive definite (a constant column): falls back to the mean, as HF
  const flat = Float32Array.from(old);
  for (let r = 0; r < rows; r++) flat[r * cols + 2] = 0.25;
  const fb = initAddedRows(flat, rows, cols, 2, { method: 'mean-noise', rng: seededRng(5), covarianceScale: 1 });
  const fm = embeddingMean(flat, rows, cols);
  for (let k = 0; k < fb.length; k++) assert.ok(Math.abs(fb[k] - fm[k % cols]) < 1e-6);
});
