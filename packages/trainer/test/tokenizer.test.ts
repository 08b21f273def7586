// Worked examples for the BERT tokenizer, checked by hand against Hugging Face's BERT tokenizer
// tests (tests/models/bert/test_tokenization_bert.py) and BERT's rules; vocab.txt IO; bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  WordPieceTokenizer,
  basicNormalize,
  basicTokenize,
  cleanUpTokenizationSpaces,
  parseVocab,
  resolveBasicOptions,
} from '../src/tokenizer/index.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const words = (text: string, o = {}) => basicTokenize(text, resolveBasicOptions(o)).map((w) => w.text);

test('basic tokenizer: lowercase, accents, punctuation, whitespace, CJK (HF test cases)', () => {
  assert.deepEqual(words(' \tHeLLo!how  \n Are yoU?  '), ['hello', '!', 'how', 'are', 'you', '?']);
  assert.deepEqual(words('H\u00E9llo'), ['hello']);
  // lowercase without accent stripping keeps ä
  assert.deepEqual(words(' \tHäLLo!how  \n Are yoU?  ', { lowercase: true, stripAccents: false }), ['hällo', '!', 'how', 'are', 'you', '?']);
  assert.deepEqual(words(' \tHäLLo!how  \n Are yoU?  ', { lowercase: true, stripAccents: true }), ['hallo', '!', 'how', 'are', 'you', '?']);
  // cased: nothing changes but the splitting
  assert.deepEqual(words(' \tHäLLo!how  \n Are yoU?  ', { lowercase: false }), ['HäLLo', '!', 'how', 'Are', 'yoU', '?']);
  // every CJK character is a word
  assert.deepEqual(words('ah\u535A\u63A8zz'), ['ah', '\u535A', '\u63A8', 'zz']);
  // control characters vanish (they do not split a word); NUL and U+FFFD too; tab/newline split
  assert.deepEqual(words('he\u0005llo\u0000 w\uFFFDor\u200Bld\tx'), ['hello', 'world', 'x']);
  // ASCII symbols that are not Unicode punctuation still split ($ + < = > ^ ` | ~)
  assert.deepEqual(words('a$b+c<d=e>f^g`h|i~j'), 'a $ b + c < d = e > f ^ g ` h | i ~ j'.split(' '));
  // Unicode punctuation (P*) splits; symbols (S*) like emoji do not
  assert.deepEqual(words('«hi»—ok…😀x'), ['«', 'hi', '»', '—', 'ok', '…', '😀x']);
  // combining accent written separately (e + U+0301) is dropped with the accent stripping
  assert.deepEqual(words('Cafe\u0301'), ['cafe']);
  assert.equal(basicNormalize('  Hello,   WORLD!  '), 'hello , world !');
});

// HF's test_wordpiece_tokenizer vocabulary.
const HF_VOCAB = ['[UNK]', '[CLS]', '[SEP]', 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing', ',', '[PAD]', '[MASK]'];

test('WordPiece: greedy longest-match-first, [UNK] for an uncovered word (HF test cases)', () => {
  const tok = WordPieceTokenizer.fromVocab(HF_VOCAB);
  assert.deepEqual(tok.tokenize(''), []);
  assert.deepEqual(tok.tokenize('unwanted running'), ['un', '##want', '##ed', 'runn', '##ing']);
  assert.deepEqual(tok.tokenize('unwantedX running'), ['[UNK]', 'runn', '##ing']);
  // full pipeline: lowercase, accent stripped, punctuation split (HF test_full_tokenizer)
  assert.deepEqual(tok.tokenize('UNwant\u00E9d,running'), ['un', '##want', '##ed', ',', 'runn', '##ing']);
  assert.deepEqual(tok.tokenizeToIds('UNwant\u00E9d,running'), [7, 4, 5, 10, 8, 9]);
});

test('WordPiece: words over 100 code points are [UNK], exactly 100 are split', () => {
  const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', '##a', '😀', '##😀']);
  assert.deepEqual(tok.tokenize('a'.repeat(101)), ['[UNK]']);
  const hundred = tok.tokenize('a'.repeat(100));
  assert.equal(hundred.length, 100);
  assert.deepEqual(hundred.slice(0, 2), ['a', '##a']);
  // the limit counts code points, not UTF-16 units: 100 emoji = 200 units, still split
  assert.equal(tok.tokenize('😀'.repeat(100)).length, 100);
  assert.deepEqual(tok.tokenize('😀'.repeat(101)), ['[UNK]']);
});

test('encode: [CLS]/[SEP], token types, word ids, offsets (HF test_offsets_with_special_characters, uncased)', () => {
  const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', ',', 'na', '##i', '##ve', 'allen', '##nl', '##p', 'sentence', '.']);
  const text = 'A, naïve [MASK] AllenNLP sentence.';
  const e = tok.encode(text);
  assert.deepEqual(e.tokens, ['[CLS]', 'a', ',', 'na', '##i', '##ve', '[MASK]', 'allen', '##nl', '##p', 'sentence', '.', '[SEP]']);
  assert.deepEqual(e.offsets, [[0, 0], [0, 1], [1, 2], [3, 5], [5, 6], [6, 8], [9, 15], [16, 21], [21, 23], [23, 24], [25, 33], [33, 34], [0, 0]]);
  assert.deepEqual(e.wordIds, [null, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, null]);
  assert.deepEqual(e.tokenTypeIds, new Array(13).fill(0));
  assert.deepEqual(e.attentionMask, new Array(13).fill(1));
  assert.deepEqual(e.specialTokensMask, [1, ...new Array(11).fill(0), 1]);
  // pair: second text has token type 1 and its own word ids and offsets
  const p = tok.encode('a.', 'Sentence');
  assert.deepEqual(p.tokens, ['[CLS]', 'a', '.', '[SEP]', 'sentence', '[SEP]']);
  assert.deepEqual(p.tokenTypeIds, [0, 0, 0, 0, 1, 1]);
  assert.deepEqual(p.wordIds, [null, 0, 1, null, 0, null]);
  assert.deepEqual(p.sequenceIds, [null, 0, 0, null, 1, null]);
  assert.deepEqual(p.offsets[4], [0, 8]);
  assert.deepEqual(tok.encode('a', null, { addSpecialTokens: false }).tokens, ['a']);
});

test('offsets survive characters that normalisation drops or expands', () => {
  const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'cafe', 'i', '##x', 'x', '😀']);
  // "Cafe" + combining acute: the stripped mark belongs to no token's span (as HF's Rust tokenizer)
  const e = tok.encode('Cafe\u0301 😀x', null, { addSpecialTokens: false });
  assert.deepEqual(e.tokens, ['cafe', '😀', '##x']);
  assert.deepEqual(e.offsets, [[0, 4], [6, 8], [8, 9]]);
  // İ lowercases to i + U+0307 (stripped: NFD first, then lowercase → i)
  assert.deepEqual(tok.encode('İx', null, { addSpecialTokens: false }).offsets, [[0, 1], [1, 2]]);
});

test('Chinese with an English-only vocabulary: one [UNK] per character', () => {
  const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'i', 'love', 'beijing']);
  const e = tok.encode('I love 北京!');
  assert.deepEqual(e.tokens, ['[CLS]', 'i', 'love', '[UNK]', '[UNK]', '[UNK]', '[SEP]']);
  assert.deepEqual(e.offsets.slice(3, 6), [[7, 8], [8, 9], [9, 10]]);
  assert.deepEqual(e.wordIds, [null, 0, 1, 2, 3, 4, null]);
});

test('truncation: longest_first cuts the longer text first, then halves the budget (HF fast tokenizer)', () => {
  const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', 'b']);
  const a = 'a a a a';
  const b = 'b b';
  // 4 + 2 + 3 specials = 9 tokens; to 7 (budget 4 for text): the longer text is cut to 4 − 2 = 2
  let e = tok.encode(a, b, { maxLength: 7 });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', 'a', '[SEP]', 'b', 'b', '[SEP]']);
  assert.equal(e.numTruncated, 2);
  // to 6 (budget 3): 2 + 2 > 3, so split the budget: ⌊3/2⌋ = 1 and the odd token to the longer text
  e = tok.encode(a, b, { maxLength: 6 });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', 'a', '[SEP]', 'b', '[SEP]']);
  // equal lengths, odd budget: the extra token goes to the second text
  e = tok.encode('a a a', 'b b b', { maxLength: 6 });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', '[SEP]', 'b', 'b', '[SEP]']);
  e = tok.encode(a, b, { maxLength: 8, truncation: 'only_second' });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', 'a', 'a', 'a', '[SEP]', 'b', '[SEP]']);
  assert.throws(() => tok.encode(a, b, { maxLength: 7, truncation: 'only_second' }), /cannot truncate the second text by 2 tokens \(it has 2\)/);
  e = tok.encode(a, b, { maxLength: 7, truncation: 'only_first' });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', 'a', '[SEP]', 'b', 'b', '[SEP]']);
  e = tok.encode(a, null, { maxLength: 4 });
  assert.deepEqual(e.tokens, ['[CLS]', 'a', 'a', '[SEP]']);
  assert.deepEqual(e.wordIds, [null, 0, 1, null]);
});

test('decode: joins "##" pieces, optional special skipping and HF clean-up', () => {
  const tok = WordPieceTokenizer.fromVocab(HF_VOCAB);
  const e = tok.encode('UNwant\u00E9d,running');
  assert.equal(tok.decode(e.ids), '[CLS] unwanted , running [SEP]');
  assert.equal(tok.decode(e.ids, { skipSpecialTokens: true }), 'unwanted , running');
  assert.equal(tok.decode(e.ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: true }), 'unwanted, running');
  assert.equal(cleanUpTokenizationSpaces("i do n't know . it 's"), "i don't know. it's");
});

test('vocab.txt: write then read gives the same tokenizer; ids are line numbers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vocab-'));
  const path = join(dir, 'vocab.txt');
  const tok = WordPieceTokenizer.fromVocab(HF_VOCAB);
  tok.saveVocab(path);
  const text = readFileSync(path, 'utf8');
  assert.equal(text, HF_VOCAB.join('\n') + '\n');
  const back = WordPieceTokenizer.fromVocabFile(path);
  assert.deepEqual(back.vocab.tokens, HF_VOCAB);
  assert.equal(back.tokenToId('un'), 7);
  // CRLF files are read too
  assert.deepEqual(parseVocab('[PAD]\r\n[UNK]\r\n'), ['[PAD]', '[UNK]']);
});

test('bad input: clear errors naming file, line, token, field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vocab-bad-'));
  assert.throws(() => WordPieceTokenizer.fromVocabFile(join(dir, 'missing.txt')), /vocabulary file not found: .*missing\.txt/);
  const dup = join(dir, 'dup.txt');
  writeFileSync(dup, '[PAD]\n[UNK]\nhello\nhello\n');
  assert.throws(() => WordPieceTokenizer.fromVocabFile(dup), /dup\.txt:4: duplicate token "hello" \(first on line 3\)/);
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '[PAD]\n\n[UNK]\n');
  assert.throws(() => WordPieceTokenizer.fromVocabFile(empty), /empty\.txt:2: empty line/);
  writeFileSync(empty, '');
  assert.throws(() => WordPieceTokenizer.fromVocabFile(empty), /empty\.txt: the vocabulary file is empty/);
  const noMask = join(dir, 'nomask.txt');
  writeFileSync(noMask, '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n');
  assert.throws(() => WordPieceTokenizer.fromVocabFile(noMask), /nomask\.txt: special token \[MASK\] \(mask\) is not in the vocabulary/);
  assert.throws(
    () => WordPieceTokenizer.fromVocab(HF_VOCAB, { specialTokens: { bos: '[CLS]' } as never }),
    /unknown special token role 'bos' \(expected one of pad, unk, cls, sep, mask\)/,
  );
  assert.throws(() => WordPieceTokenizer.fromVocab(HF_VOCAB, { specialTokens: { mask: '<mask>' } }), /special token <mask> \(mask\) is not in the vocabulary/);
  assert.throws(() => WordPieceTokenizer.fromVocab(['[PAD]', 'a', 'a']), /duplicate token "a" at id 2 \(first at id 1\)/);
  const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a']);
  assert.throws(() => tok.encode('a a a a', null, { maxLength: 4, truncation: false }), /6 tokens is more than maxLength 4 \(text "a a a a"\)/);
  const small = WordPieceTokenizer.fromVocab([...SPECIALS, 'a'], { modelMaxLength: 5 });
  assert.throws(() => small.encode('a a a a'), /6 tokens is more than the model's maximum 5/);
  assert.throws(() => tok.encode('a', 'a', { maxLength: 3 }), /maxLength must be an integer ≥ 5/);
  assert.throws(() => tok.tokenToId('zzz'), /token "zzz" is not in the vocabulary/);
  assert.throws(() => tok.decode([99]), /token id 99 is outside the vocabulary \(size 6\)/);
});
