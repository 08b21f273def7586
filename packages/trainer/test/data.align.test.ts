// NER label alignment (first sub-token / all sub-tokens) and its inverse, over random words
// (including words that produce no token and words cut by truncation); padding and bucketing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { alignLabels, collateClassification, collateNer, lengthBuckets, nerBatchWordLabels, padBatch, seededRng, wordLabelsFromPredictions, wordPredictions } from '../src/data/index.js';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-MISC']; // no I-MISC: B-MISC pieces keep B-MISC
const tok = WordPieceTokenizer.fromVocab([
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'a', 'b', 'c', 'ab', '##a', '##b', '##c', '##ab', '中', '国', '.', ',', 'é', 'e', '##e',
]);
const word = fc
  .array(fc.constantFrom('a', 'b', 'c', 'A', 'é', '中', '国', '.', ',', '😀', '\u0301', '\u0005', ' '), { maxLength: 7 })
  .map((cs) => cs.join(''));
const sentence = fc.array(fc.tuple(word, fc.constantFrom(...LABELS)), { maxLength: 15 });

test('alignment round trip: word labels → token labels → word labels; −100 exactly where it should be', () => {
  fc.assert(
    fc.property(sentence, fc.constantFrom('first', 'all'), fc.option(fc.integer({ min: 3, max: 20 })), (pairs, mode, maxLength) => {
      const words = pairs.map((p) => p[0]);
      const labels = pairs.map((p) => p[1]);
      const e = tok.encodeWords(words, null, maxLength === null ? {} : { maxLength });
      const aligned = alignLabels(e.wordIds, labels, LABELS, mode as 'first' | 'all');
      assert.equal(aligned.length, e.ids.length);
      // −100: specials, plus the non-first pieces in 'first' mode
      e.wordIds.forEach((w, t) => {
        const first = w !== null && (t === 0 || e.wordIds[t - 1] !== w);
        const ignored = w === null || (mode === 'first' && !first);
        assert.equal(aligned[t] === -100, ignored, `token ${t} (word ${w}, first ${first})`);
        if (w !== null && first) assert.equal(LABELS[aligned[t]], labels[w]);
        if (w !== null && !first && mode === 'all') {
          const want = labels[w].startsWith('B-') && LABELS.includes('I-' + labels[w].slice(2)) ? 'I-' + labels[w].slice(2) : labels[w];
          assert.equal(LABELS[aligned[t]], want);
        }
      });
      // inverse map from the aligned labels gives back every word that kept a token
      const back = wordLabelsFromPredictions(e.wordIds, aligned, words.length, LABELS, 'O');
      const hasToken = new Set(e.wordIds.filter((w) => w !== null));
      words.forEach((_, i) => assert.equal(back[i], hasToken.has(i) ? labels[i] : 'O', `word ${i}`));
      const ids = wordPredictions(e.wordIds, aligned, words.length);
      words.forEach((_, i) => assert.equal(ids[i] === -1, !hasToken.has(i)));
    }),
    { numRuns: 500 },
  );
});

test('alignment worked example (HF token-classification course)', () => {
  const t = WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'eu', 'rejects', 'german', 'call', 'hu', '##ber', '##t', 'lon', '##don']);
  const words = ['EU', 'rejects', 'German', 'call', 'Hubert', 'London'];
  const labels = ['B-ORG', 'O', 'B-MISC', 'O', 'B-PER', 'B-LOC'];
  const set = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
  const e = t.encodeWords(words);
  assert.deepEqual(e.tokens, ['[CLS]', 'eu', 'rejects', 'german', 'call', 'hu', '##ber', '##t', 'lon', '##don', '[SEP]']);
  assert.deepEqual(Array.from(alignLabels(e.wordIds, labels, set, 'first')), [-100, 3, 0, 7, 0, 1, -100, -100, 5, -100, -100]);
  assert.deepEqual(Array.from(alignLabels(e.wordIds, labels, set, 'all')), [-100, 3, 0, 7, 0, 1, 2, 2, 5, 6, -100]);
  // token predictions → word labels take the first piece
  const preds = [0, 3, 0, 7, 0, 1, 2, 0, 6, 6, 0];
  assert.deepEqual(wordLabelsFromPredictions(e.wordIds, preds, words.length, set), ['B-ORG', 'O', 'B-MISC', 'O', 'B-PER', 'I-LOC']);
});

test('alignment bad input: a label not in the label set, word ids beyond the labels, bad mode', () => {
  assert.throws(
    () => alignLabels([null, 0, 1, null], ['O', 'B-ORGG'], LABELS, 'first', 'train.jsonl line 12'),
    /train\.jsonl line 12: label "B-ORGG" of word 1 is not in the label set \[O, B-PER, I-PER, B-LOC, I-LOC, B-MISC\]/,
  );
  assert.throws(() => alignLabels([null, 0, 3, null], ['O', 'O'], LABELS), /token 2 belongs to word 3, but there are 2 word labels/);
  assert.throws(() => alignLabels([0], ['O'], LABELS, 'last' as never), /mode must be 'first' or 'all'/);
  assert.throws(() => alignLabels([0], ['O'], ['O', 'O']), /duplicate label "O" at index 1/);
  assert.throws(() => wordLabelsFromPredictions([0], [17], 1, LABELS), /predicted label id 17 is outside the label list \(6 labels\)/);
});

test('padBatch: Int32Array [B, T], padding ids / mask / −100 labels, padTo and multiples', () => {
  const examples = [{ ids: [2, 5, 6, 3], tokenTypeIds: [0, 0, 0, 0] }, { ids: [2, 7, 3, 8, 9, 3], tokenTypeIds: [0, 0, 0, 1, 1, 1] }];
  const b = padBatch(examples, { padId: 0, padToMultipleOf: 4 }, { tokenLabels: [[-100, 1, 2, -100], [-100, 3, -100, 4, 5, -100]] });
  assert.equal(b.seqLength, 8);
  assert.deepEqual(Array.from(b.inputIds), [2, 5, 6, 3, 0, 0, 0, 0, 2, 7, 3, 8, 9, 3, 0, 0]);
  assert.deepEqual(Array.from(b.attentionMask), [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(b.tokenTypeIds), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(b.labels!), [-100, 1, 2, -100, -100, -100, -100, -100, -100, 3, -100, 4, 5, -100, -100, -100]);
  assert.deepEqual(b.labelShape, [2, 8]);
  const s = padBatch(examples, { padId: 0, padTo: 10 }, { sequenceLabels: [1, 0] });
  assert.equal(s.seqLength, 10);
  assert.deepEqual(Array.from(s.labels!), [1, 0]);
  assert.deepEqual(s.labelShape, [2]);
  assert.throws(() => padBatch(examples, { padId: 0, padTo: 5 }), /example 1 has 6 tokens, more than padTo 5/);
  assert.throws(() => padBatch(examples, { padId: 0 }, { tokenLabels: [[1, 2, 3, 4], [1]] }), /example 1 has 6 tokens but 1 labels/);
  assert.throws(() => padBatch([], { padId: 0 }), /no examples/);
});

test('lengthBuckets: every index exactly once; seeded; sorted full batches never pad more than unsorted ones', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 128 }), { maxLength: 300 }), fc.integer({ min: 1, max: 32 }), fc.integer(), (lengths, batchSize, seed) => {
      const padding = (batches: number[][]) => batches.reduce((acc, b) => acc + b.length * Math.max(...b.map((i) => lengths[i])) - b.reduce((a, i) => a + lengths[i], 0), 0);
      for (const rng of [undefined, seededRng(seed)]) {
        const batches = lengthBuckets(lengths, { batchSize, rng, poolBatches: 4 });
        const all = batches.flat().sort((x, y) => x - y);
        assert.deepEqual(all, lengths.map((_, i) => i));
        assert.ok(batches.every((b) => b.length >= 1 && b.length <= batchSize));
        assert.equal(batches.filter((b) => b.length < batchSize).length <= (rng ? Math.ceil(lengths.length / (batchSize * 4)) : 1), true);
      }
      const again = lengthBuckets(lengths, { batchSize, rng: seededRng(seed) });
      assert.deepEqual(again, lengthBuckets(lengths, { batchSize, rng: seededRng(seed) }));
      const dropped = lengthBuckets(lengths, { batchSize, dropLast: true });
      assert.ok(dropped.every((b) => b.length === batchSize));
      assert.equal(dropped.flat().length, Math.floor(lengths.length / batchSize) * batchSize);
      // with full batches only, sorting then cutting minimises the sum of batch maxima, so padding
      // (with a partial last batch the optimum may put the longest example there instead)
      if (lengths.length % batchSize !== 0) return;
      const sorted = lengthBuckets(lengths, { batchSize });
      const inOrder: number[][] = [];
      for (let i = 0; i < lengths.length; i += batchSize) inOrder.push(lengths.slice(i, i + batchSize).map((_, k) => i + k));
      assert.ok(padding(sorted) <= padding(inOrder));
    }),
    { numRuns: 200 },
  );
});

test('collateNer / collateClassification: aligned, padded Int32Array batches; predictions back to word labels', () => {
  const examples = [
    { words: ['ab', 'c', '中国'], labels: ['B-PER', 'O', 'B-LOC'] },
    { words: ['a', 'abc'], labels: ['O', 'B-MISC'] },
  ];
  const batch = collateNer(tok, examples, LABELS, { mode: 'all', padToMultipleOf: 4 });
  assert.equal(batch.batchSize, 2);
  assert.equal(batch.seqLength, 8);
  // [CLS] ab c 中 国 [SEP] | [CLS] a ab ##c [SEP]
  assert.deepEqual(Array.from(batch.labels), [-100, 1, 0, 3, 4, -100, -100, -100, -100, 0, 5, 5, -100, -100, -100, -100]);
  assert.deepEqual(batch.numWords, [3, 2]);
  const preds = Array.from(batch.labels, (l) => (l < 0 ? 0 : l));
  assert.deepEqual(nerBatchWordLabels(batch, preds, LABELS), [['B-PER', 'O', 'B-LOC'], ['O', 'B-MISC']]);
  assert.throws(() => collateNer(tok, [{ words: ['a', 'b'], labels: ['O'] }], LABELS, { where: (i) => `train.jsonl line ${i + 1}` }), /train\.jsonl line 1: 2 words but 1 labels/);
  assert.throws(() => collateNer(tok, [{ words: ['a'], labels: ['B-XYZ'] }], LABELS), /example 0: label "B-XYZ" of word 0 is not in the label set/);
  const cls = collateClassification(tok, ['ab c', ['a', 'b c']], [1, 0], { padTo: 8 });
  assert.deepEqual(Array.from(cls.labels!), [1, 0]);
  assert.deepEqual(Array.from(cls.tokenTypeIds), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
  assert.throws(() => collateClassification(tok, ['a'], [0.5]), /label 0 is 0.5, expected an integer class id/);
});
