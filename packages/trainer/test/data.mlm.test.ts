// Masked-LM collator properties: binomial mask rate, 80/10/10 proportions, whole words never
// split (English "##" groups and jieba's Chinese words), specials and padding never masked,
// seeded determinism; span, entity and mixture strategies; bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WordPieceTokenizer, trainWordPiece, type Encoding } from '../src/tokenizer/index.js';
import { MlmCollator, jiebaSegmenter, seededRng } from '../src/data/index.js';

const SYL = ['ka', 'to', 'ri', 'mu', 'sen', 'dal', 'vo', 'ne', 'qua', 'zi', 'lor', 'pe'];
const ZH = ['我爱北京天安门', '北京欢迎你', '我们爱中国', '中国人民站起来了', '北京是中国的首都', '你好世界', '今天天气很好', '我们一起学习'];
function makeText(rng: () => number, nWords: number): string {
  const parts: string[] = [];
  for (let i = 0; i < nWords; i++) {
    const r = rng();
    if (r < 0.15) parts.push(ZH[Math.floor(rng() * ZH.length)]);
    else if (r < 0.2) parts.push(['!', ',', '😀', 'é'][Math.floor(rng() * 4)]);
    else parts.push(Array.from({ length: 1 + Math.floor(rng() * 4) }, () => SYL[Math.floor(rng() * SYL.length)]).join(''));
  }
  return parts.join(' ');
}
const corpusRng = seededRng(42);
const corpus = Array.from({ length: 400 }, () => makeText(corpusRng, 12));
// A small vocabulary, so long words split into several "##" pieces.
const tok = trainWordPiece(corpus, { vocabSize: 90 });
const encodings = (seed: number, n: number, words = 30): Encoding[] => {
  const r = seededRng(seed);
  return Array.from({ length: n }, () => tok.encode(makeText(r, words), null, { maxLength: 128 }));
};
const isSpecial = (id: number) => tok.isSpecialId(id);

/** |k − n·q| ≤ z·√(n·q·(1−q)) + 1: a z-sigma binomial bound. */
function assertBinomial(what: string, k: number, n: number, q: number, z = 5) {
  const bound = z * Math.sqrt(n * q * (1 - q)) + 1;
  assert.ok(Math.abs(k - n * q) <= bound, `${what}: ${k} of ${n}, expected ${(n * q).toFixed(1)} ± ${bound.toFixed(1)}`);
}

test('random masking: masked count within binomial bounds of p; 80/10/10 within bounds; specials never chosen', () => {
  const encs = encodings(1, 200);
  fc.assert(
    fc.property(fc.integer(), fc.constantFrom(0.1, 0.15, 0.3), (seed, p) => {
      const c = new MlmCollator(tok, { probability: p });
      const rng = seededRng(seed);
      let n = 0;
      let chosen = 0;
      let masked = 0;
      let changed = 0;
      for (const e of encs) {
        const m = c.maskSequence(e.ids, rng);
        e.ids.forEach((id, t) => {
          if (isSpecial(id)) {
            assert.equal(m.labels[t], -100, 'special token chosen');
            assert.equal(m.inputIds[t], id);
            return;
          }
          n++;
          if (m.labels[t] === -100) {
            assert.equal(m.inputIds[t], id, 'an unchosen token changed');
            return;
          }
          assert.equal(m.labels[t], id, 'label is the original id');
          chosen++;
          if (m.inputIds[t] === tok.specialIds.mask) masked++;
          else if (m.inputIds[t] !== id) {
            changed++;
            assert.ok(!isSpecial(m.inputIds[t]), 'random replacement drew a special token');
          }
        });
      }
      assertBinomial('chosen', chosen, n, p);
      assertBinomial('[MASK]', masked, chosen, 0.8);
      // a random draw equal to the original counts as unchanged: P(changed) = 0.1·(1 − 1/V')
      const vNonSpecial = tok.vocabSize - 5;
      assertBinomial('random', changed, chosen, 0.1 * (1 - 1 / vNonSpecial));
    }),
    { numRuns: 12 },
  );
});

test('replacement shares are configurable (100 % [MASK]; 50/50 random/keep)', () => {
  const encs = encodings(2, 100);
  const all = new MlmCollator(tok, { maskFraction: 1, randomFraction: 0 });
  const rng = seededRng(9);
  let chosen = 0;
  let changed = 0;
  for (const e of encs) {
    const m = all.maskSequence(e.ids, rng);
    m.labels.forEach((l, t) => {
      if (l !== -100) assert.equal(m.inputIds[t], tok.specialIds.mask);
    });
  }
  const half = new MlmCollator(tok, { maskFraction: 0, randomFraction: 0.5, probability: 0.5 });
  for (const e of encs) {
    const m = half.maskSequence(e.ids, rng);
    m.labels.forEach((l, t) => {
      if (l === -100) return;
      chosen++;
      assert.notEqual(m.inputIds[t], tok.specialIds.mask);
      if (m.inputIds[t] !== l) changed++;
    });
  }
  assertBinomial('random at 50 %', changed, chosen, 0.5 * (1 - 1 / (tok.vocabSize - 5)));
});

/** Positions of each word (by the encoding's word ids) and of each jieba word inside CJK runs. */
function wordGroups(e: Encoding): number[][] {
  const groups = new Map<number, number[]>();
  e.wordIds.forEach((w, t) => {
    if (w === null || isSpecial(e.ids[t])) return;
    if (!groups.has(w)) groups.set(w, []);
    groups.get(w)!.push(t);
  });
  return [...groups.values()];
}
function jiebaGroups(e: Encoding): number[][] {
  const out: number[][] = [];
  const isCjk = (t: number) => /^\p{Script=Han}$/u.test(e.tokens[t]);
  for (let t = 0; t < e.ids.length; ) {
    if (!isCjk(t)) {
      t++;
      continue;
    }
    let u = t;
    while (u < e.ids.length && isCjk(u)) u++;
    let k = t;
    for (const w of jiebaSegmenter(e.tokens.slice(t, u).join(''))) {
      const len = [...w].length;
      out.push(Array.from({ length: len }, (_, i) => k + i));
      k += len;
    }
    t = u;
  }
  return out;
}

for (const strategy of ['whole-word', 'span', 'entity'] as const) {
  test(`${strategy} masking never splits a word (English "##" groups, Chinese jieba words); budget round(n·p)`, () => {
    const gazetteer = ['kato', 'senvo ne', '北京', '中国人民'];
    const c = new MlmCollator(tok, { strategy, gazetteer, spanMaxWords: 10 });
    const encs = encodings(3, 60);
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 59 }), (seed, which) => {
        const e = encs[which];
        const m = c.maskSequence(e.ids, seededRng(seed));
        const chosen = (t: number) => m.labels[t] !== -100;
        for (const g of [...wordGroups(e), ...jiebaGroups(e)]) {
          const k = g.filter(chosen).length;
          assert.ok(k === 0 || k === g.length, `word at ${g} partly masked (${k} of ${g.length})`);
        }
        e.ids.forEach((id, t) => {
          if (isSpecial(id)) assert.ok(!chosen(t));
          if (chosen(t)) assert.equal(m.labels[t], id);
        });
        const n = e.ids.filter((id) => !isSpecial(id)).length;
        const budget = Math.max(1, Math.round(n * 0.15));
        const count = Array.from(m.labels).filter((l) => l !== -100).length;
        const longest = Math.max(...wordGroups(e).map((g) => g.length), ...jiebaGroups(e).map((g) => g.length));
        if (strategy === 'span') assert.ok(count <= budget + longest - 1, `span: ${count} > ${budget} + ${longest - 1}`);
        else assert.ok(count <= budget, `${count} > budget ${budget}`);
        // it reaches the budget unless no remaining word fits (every word is at most `longest` long)
        assert.ok(count >= budget - longest + 1, `${count} far below budget ${budget}`);
      }),
      { numRuns: 150 },
    );
  });
}

test('entity masking masks gazetteer matches first, word-aligned only', () => {
  const small = WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'vo', 'ka', 'to', '##to', 'x']);
  // 40 one-token words; budget round(40·0.15) = 6; the entity "ka to" occurs once, as whole words
  const text = Array.from({ length: 38 }, () => 'vo').join(' ') + ' ka to';
  const e = small.encode(text);
  const c = new MlmCollator(small, { strategy: 'entity', gazetteer: ['ka to', 'vo vo vo vo vo vo vo'] });
  assert.deepEqual(e.tokens.slice(-3), ['ka', 'to', '[SEP]']);
  const pos = e.ids.length - 3;
  for (let seed = 0; seed < 20; seed++) {
    const m = c.maskSequence(e.ids, seededRng(seed));
    // the 7-word phrase is over budget (6), so the 2-word entity is the one taken whole
    assert.ok(m.labels[pos] !== -100 && m.labels[pos + 1] !== -100, `seed ${seed}: entity not masked`);
    assert.equal(Array.from(m.labels).filter((l) => l !== -100).length, 6);
  }
  // "kato" is one word (ka ##to): the gazetteer entry "ka" must not match its first piece alone;
  // only the random fill (about 6 of 40 tokens) can pick the word
  const e2 = small.encode(Array.from({ length: 38 }, () => 'vo').join(' ') + ' kato');
  assert.deepEqual(e2.tokens.slice(-3), ['ka', '##to', '[SEP]']);
  const c2 = new MlmCollator(small, { strategy: 'entity', gazetteer: ['ka'] });
  let hits = 0;
  for (let seed = 0; seed < 40; seed++) if (c2.maskSequence(e2.ids, seededRng(seed)).labels[e2.ids.length - 3] !== -100) hits++;
  assert.ok(hits < 40, 'a non-matching gazetteer entry was treated as an entity');
});

test('span lengths follow the truncated geometric distribution (SpanBERT: p = 0.2, 1..10, mean 3.8)', () => {
  const c = new MlmCollator(tok, { strategy: 'span' });
  const rng = seededRng(123);
  const n = 40000;
  const counts = new Array(11).fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const l = c.spanLength(rng);
    counts[l]++;
    sum += l;
  }
  const w = Array.from({ length: 10 }, (_, k) => 0.2 * 0.8 ** k);
  const z = w.reduce((a, b) => a + b, 0);
  assert.equal(counts[0], 0);
  for (let k = 1; k <= 10; k++) assertBinomial(`length ${k}`, counts[k], n, w[k - 1] / z);
  const mean = w.reduce((a, q, k) => a + (k + 1) * q, 0) / z;
  assert.ok(Math.abs(mean - 3.8) < 0.01, `analytic mean ${mean}`); // SpanBERT reports 3.8
  assert.ok(Math.abs(sum / n - mean) < 0.05, `sample mean ${sum / n}`);
});

test('Chinese whole-word masking uses jieba words', () => {
  const e = tok.encode('我爱北京天安门');
  const c = new MlmCollator(tok, { strategy: 'whole-word' });
  const units = c.wordUnits(e.ids).map((u) => u.map((t) => e.tokens[t]).join(''));
  assert.deepEqual(units, ['我', '爱', '北京', '天安门']);
  const noZh = new MlmCollator(tok, { strategy: 'whole-word', chineseWords: false });
  assert.deepEqual(noZh.wordUnits(e.ids).length, 7);
});

test('mixture picks strategies by weight; same seed gives the same batch; padding is never masked', () => {
  const c = new MlmCollator(tok, { strategy: { mixture: [{ strategy: 'random', weight: 1 }, { strategy: 'whole-word', weight: 3 }] } });
  const encs = encodings(4, 400, 8);
  const b1 = c.collate(encs, seededRng(77));
  const b2 = c.collate(encs, seededRng(77));
  assert.deepEqual(b1.inputIds, b2.inputIds);
  assert.deepEqual(b1.labels, b2.labels);
  assert.deepEqual(b1.strategies, b2.strategies);
  const ww = b1.strategies.filter((s) => s === 'whole-word').length;
  assertBinomial('whole-word share', ww, encs.length, 0.75);
  const T = b1.seqLength;
  assert.equal(T, Math.max(...encs.map((e) => e.ids.length)));
  assert.deepEqual(b1.labelShape, [encs.length, T]);
  encs.forEach((e, b) => {
    for (let t = e.ids.length; t < T; t++) {
      assert.equal(b1.inputIds[b * T + t], tok.specialIds.pad);
      assert.equal(b1.attentionMask[b * T + t], 0);
      assert.equal(b1.labels[b * T + t], -100);
    }
    for (let t = 0; t < e.ids.length; t++) assert.equal(b1.attentionMask[b * T + t], 1);
  });
  // already padded input: [PAD] positions are never chosen
  const padded = [...encs[0].ids, tok.specialIds.pad, tok.specialIds.pad];
  for (let s = 0; s < 50; s++) {
    const m = new MlmCollator(tok, { probability: 1 }).maskSequence(padded, seededRng(s));
    assert.equal(m.labels[padded.length - 1], -100);
  }
  const b3 = c.collate(encs, seededRng(78));
  assert.notDeepEqual(b3.labels, b1.labels);
});

test('unit-level replacement: a whole word is [MASK]ed, replaced or kept together', () => {
  const c = new MlmCollator(tok, { strategy: 'whole-word', replaceBy: 'unit', probability: 0.5 });
  for (const e of encodings(5, 50)) {
    const m = c.maskSequence(e.ids, seededRng(e.ids.length));
    for (const g of wordGroups(e)) {
      if (m.labels[g[0]] === -100) continue;
      const masks = g.filter((t) => m.inputIds[t] === tok.specialIds.mask).length;
      assert.ok(masks === 0 || masks === g.length, 'word partly [MASK]ed');
    }
  }
});

test('random Unicode text (CJK, emoji, combining marks, controls, empty): every strategy leaves specials alone, never splits a word, is seeded', () => {
  const pool = ['ka', 'to', 'sen', 'é', 'e\u0301', '北京', '中国人', '😀', '👩\u200D💻', '\u0301', '\u0005', ' ', ' ', '.', '!', '«', '[MASK]', ''];
  const text = fc.array(fc.oneof(fc.constantFrom(...pool), fc.string({ unit: 'binary', maxLength: 2 })), { maxLength: 30 }).map((a) => a.join(''));
  const collators = (['random', 'whole-word', 'span', 'entity'] as const).map((strategy) => new MlmCollator(tok, { strategy, gazetteer: ['北京', 'kato'], probability: 0.3 }));
  fc.assert(
    fc.property(text, fc.integer({ min: 0, max: 3 }), fc.integer(), (s, which, seed) => {
      const e = tok.encode(s, null, { maxLength: 256 });
      const c = collators[which];
      const m = c.maskSequence(e.ids, seededRng(seed));
      assert.deepEqual(c.maskSequence(e.ids, seededRng(seed)), m, 'same seed, same mask');
      e.ids.forEach((id, t) => {
        if (isSpecial(id)) {
          assert.equal(m.labels[t], -100);
          assert.equal(m.inputIds[t], id);
        } else if (m.labels[t] === -100) assert.equal(m.inputIds[t], id);
        else assert.equal(m.labels[t], id);
      });
      if (which > 0) {
        for (const g of [...wordGroups(e), ...jiebaGroups(e)]) {
          const k = g.filter((t) => m.labels[t] !== -100).length;
          assert.ok(k === 0 || k === g.length, `word at ${g} partly masked`);
        }
      }
      if (e.ids.every(isSpecial)) assert.ok(m.labels.every((l) => l === -100), 'nothing maskable, nothing masked');
    }),
    { numRuns: 300 },
  );
});

test('bad input: unknown strategy, bad rates, out-of-vocabulary id, entity without gazetteer', () => {
  assert.throws(() => new MlmCollator(tok, { strategy: 'sentence' as never }), /unknown masking strategy 'sentence' \(expected random, whole-word, span, entity\)/);
  assert.throws(() => new MlmCollator(tok, { probability: 1.5 }), /probability must be in \[0, 1\], got 1.5/);
  assert.throws(() => new MlmCollator(tok, { maskFraction: 0.9, randomFraction: 0.2 }), /maskFraction \+ randomFraction must be ≤ 1/);
  assert.throws(() => new MlmCollator(tok, { strategy: 'entity' }), /needs a gazetteer/);
  assert.throws(() => new MlmCollator(tok, { strategy: { mixture: [{ strategy: 'random', weight: -1 }] } }), /mixture weights must be ≥ 0/);
  assert.throws(() => new MlmCollator(tok).maskSequence([2, 99999, 3], seededRng(1)), /token id 99999 at position 1 is outside the vocabulary/);
  assert.throws(() => new MlmCollator(tok, { strategy: 'whole-word' }).maskSequence([2, -4, 3], seededRng(1)), /token id -4 at position 1/);
});
