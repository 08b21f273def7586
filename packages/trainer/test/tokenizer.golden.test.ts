// The tokenizer against Hugging Face's own Rust tokenizer (BertTokenizerFast's pipeline) on 300
// random Unicode texts, uncased and cased: tokens, ids, word ids and offsets must all be equal.
// Fixture made by test/tokenizer/fixtures/make_hf_golden.mjs (tokenizers@0.23.2, Node bindings;
// offsets converted from code points to UTF-16 indices).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';

interface GoldenCase {
  lowercase: boolean;
  text: string;
  tokens: string[];
  ids: number[];
  wordIds: (number | null)[];
  offsets: [number, number][];
}
const golden = JSON.parse(readFileSync(new URL('./tokenizer/fixtures/hf_bert_golden.json', import.meta.url), 'utf8')) as {
  vocab: string[];
  cases: GoldenCase[];
};

test('matches Hugging Face tokenizers (BertNormalizer + BertPreTokenizer + WordPiece) on 600 cases', () => {
  const uncased = WordPieceTokenizer.fromVocab(golden.vocab);
  const cased = WordPieceTokenizer.fromVocab(golden.vocab, { lowercase: false });
  assert.equal(golden.cases.length, 600);
  for (const [k, c] of golden.cases.entries()) {
    const tok = c.lowercase ? uncased : cased;
    const e = tok.encode(c.text, null, { maxLength: 100_000 });
    const where = `case ${k} (lowercase ${c.lowercase}) ${JSON.stringify(c.text)}`;
    assert.deepEqual(e.tokens, c.tokens, `${where}: tokens`);
    assert.deepEqual(e.ids, c.ids, `${where}: ids`);
    assert.deepEqual(e.wordIds, c.wordIds, `${where}: word ids`);
    assert.deepEqual(e.offsets, c.offsets, `${where}: offsets`);
  }
});
