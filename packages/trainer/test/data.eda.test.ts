// EDA augmentation (with a synonym map generated here) and class-imbalance samplers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  EDA_STOP_WORDS,
  classCounts,
  eda,
  edaCleanText,
  edaContext,
  edaModeOf,
  jiebaSegmenter,
  loadSynonymMap,
  randomDeletion,
  randomInsertion,
  randomOverSample,
  randomSwap,
  randomUnderSample,
  seededRng,
  synonymReplacement,
  tryLoadSynonymMap,
  type SynonymMap,
} from '../src/data/index.js';

// A synonym map generated for the tests: each content word has 1–3 synonyms.
const CONTENT = ['quick', 'fast', 'rapid', 'dog', 'hound', 'cat', 'feline', 'happy', 'glad', 'big', 'large', 'house', 'home', 'run', 'sprint', 'walk', 'stroll', 'red', 'crimson', 'sky'];
const SYN: SynonymMap = new Map([
  ['quick', ['fast', 'rapid']],
  ['fast', ['quick']],
  ['dog', ['hound', 'domestic_dog']],
  ['cat', ['feline']],
  ['happy', ['glad', 'felicitous']],
  ['big', ['large', 'great']],
  ['house', ['home']],
  ['run', ['sprint', 'go']],
  ['walk', ['stroll']],
  ['red', ['crimson', 'ruby-red']],
  ['the', ['thee']], // a stop word with a synonym: never replaced
]);
const sentence = fc
  .array(fc.constantFrom(...CONTENT, 'the', 'a', 'and', 'is', 'on'), { minLength: 1, maxLength: 20 })
  .map((ws) => ws.join(' '));
const isSynonym = (w: string, s: string) => (SYN.get(w) ?? []).some((x) => x.replace(/[_-]/g, ' ').split(' ').includes(s));

test('EDA: num_aug + 1 sentences, the cleaned original last, seeded', () => {
  fc.assert(
    fc.property(sentence, fc.integer({ min: 0, max: 16 }), fc.integer(), (s, numAug, seed) => {
      const out = eda(s, { synonyms: SYN, rng: seededRng(seed), numAug });
      assert.equal(out[out.length - 1], edaCleanText(s));
      // ⌊n/4⌋ + 1 per technique × 4 ≥ n, so exactly n are kept (n ≥ 1)
      assert.equal(out.length, (numAug >= 1 ? numAug : 0) + 1);
      assert.deepEqual(eda(s, { synonyms: SYN, rng: seededRng(seed), numAug }), out);
      for (const a of out) assert.match(a, /^[a-z ]*$/);
    }),
    { numRuns: 200 },
  );
  assert.equal(edaCleanText("It's a Well-known\tfact: 42 cats!"), 'its a well known fact cats ');
  assert.deepEqual(eda('!!!', { synonyms: SYN, rng: seededRng(1) }), ['']);
});

test('EDA operations: swap keeps the words, deletion keeps a non-empty subsequence, replacement and insertion use synonyms', () => {
  fc.assert(
    fc.property(sentence, fc.integer({ min: 1, max: 4 }), fc.integer(), (s, n, seed) => {
      const words = s.split(' ');
      const ctx = edaContext(SYN, seededRng(seed));
      const swapped = randomSwap(words, n, ctx.rng);
      assert.deepEqual([...swapped].sort(), [...words].sort());
      const del = randomDeletion(words, 0.5, ctx.rng);
      assert.ok(del.length >= 1);
      let k = 0;
      for (const w of words) if (k < del.length && del[k] === w) k++;
      assert.equal(k, del.length, 'deletion output is not a subsequence');
      const rep = synonymReplacement(words, n, ctx);
      // multi-word synonyms ("domestic dog") are re-split, so compare when lengths agree; and as in
      // eda.py, replacements apply one after another ("fast quick": fast → quick, then every quick →
      // fast), so compare only when no word of the sentence is a synonym of another
      const chained = words.some((w) => words.some((v) => v !== w && isSynonym(w, v)));
      if (rep.length === words.length && !chained) {
        const replaced = new Set<string>();
        words.forEach((w, i) => {
          if (rep[i] !== w) {
            assert.ok(!EDA_STOP_WORDS.has(w), `stop word ${w} replaced`);
            assert.ok(isSynonym(w, rep[i]), `${rep[i]} is not a synonym of ${w}`);
            replaced.add(w);
          }
        });
        assert.ok(replaced.size <= n);
        const replaceable = new Set(words.filter((w) => SYN.has(w) && !EDA_STOP_WORDS.has(w)));
        assert.ok(replaced.size >= Math.min(n, replaceable.size), `only ${replaced.size} words replaced`);
      }
      const ins = randomInsertion(words, n, ctx);
      assert.ok(ins.length >= words.length);
      // the original words stay in order
      let j = 0;
      for (const w of ins) if (j < words.length && w === words[j]) j++;
      assert.equal(j, words.length);
    }),
    { numRuns: 300 },
  );
  // eda.py inserts the first synonym of a random word that has synonyms
  const ins = randomInsertion(['cat', 'is', 'on'], 1, edaContext(SYN, seededRng(4)));
  assert.equal(ins.length, 4);
  assert.ok(ins.includes('feline'));
});

// Chinese text (zh_poetry, zh_pretrain): eda.py's a–z cleaning would empty it, so the 'zh' mode works on
// jieba words joined without spaces, with swap and deletion only (the synonym map is English).
const HANZI = ['春', '风', '明', '月', '山', '水', '花', '落', '人', '归', '夜', '雨', '江', '南', '不', '知'];
const chinese = fc
  .array(fc.oneof(fc.constantFrom(...HANZI), fc.constantFrom('，', '。', ' ')), { minLength: 1, maxLength: 40 })
  .map((cs) => cs.join(''))
  .filter((t) => HANZI.some((h) => t.includes(h)));

/** Whether `a` is the concatenation of some of `words`, in order. */
function concatOfSubsequence(a: string, words: string[]): boolean {
  const memo = new Map<string, boolean>();
  const f = (i: number, k: number): boolean => {
    if (k === a.length) return true;
    if (i === words.length) return false;
    const key = `${i},${k}`;
    if (!memo.has(key)) memo.set(key, (a.startsWith(words[i]!, k) && f(i + 1, k + words[i]!.length)) || f(i + 1, k));
    return memo.get(key)!;
  };
  return f(0, 0);
}

test('EDA on Chinese: jieba words without spaces; every copy a swap (same words) or a deletion (a subsequence); seeded', () => {
  assert.equal(edaModeOf('春风又绿江南岸'), 'zh');
  assert.equal(edaModeOf('spring wind, 2 cats'), 'eda');
  assert.equal(edaModeOf('the 长江 river'), 'zh');
  fc.assert(
    fc.property(chinese, fc.integer({ min: 1, max: 9 }), fc.integer(), (text, numAug, seed) => {
      const words = jiebaSegmenter(text.trim()).filter((w) => w.trim().length > 0);
      const out = eda(text, { synonyms: SYN, rng: seededRng(seed), numAug, normalize: 'zh' });
      assert.deepEqual(eda(text, { synonyms: SYN, rng: seededRng(seed), numAug, normalize: 'zh' }), out);
      // ⌊n/2⌋ + 1 per technique × 2 > n: exactly n copies, the original (words joined) last.
      assert.equal(out.length, numAug + 1);
      assert.equal(out[out.length - 1], words.join(''));
      for (const a of out.slice(0, -1)) {
        assert.ok(a.length > 0 && !/\s/u.test(a), `copy ${JSON.stringify(a)}: empty or has whitespace`);
        // A copy is made of the original's words: every character multiset is a sub-multiset.
        const left = [...words.join('')];
        for (const ch of a) {
          const i = left.indexOf(ch);
          assert.ok(i >= 0, `${ch} in ${JSON.stringify(a)} is not from ${JSON.stringify(text)}`);
          left.splice(i, 1);
        }
        // Swap keeps every character; deletion keeps a subsequence of the words.
        if (left.length > 0) assert.ok(concatOfSubsequence(a, words), `${JSON.stringify(a)} is neither a swap nor a subsequence of ${JSON.stringify(words)}`);
      }
    }),
    { numRuns: 150 },
  );
});

test('synonym map loading: missing file → null (tryLoad) or a clear error; malformed → error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'syn-'));
  assert.equal(tryLoadSynonymMap(join(dir, 'nope.json')), null);
  assert.throws(() => loadSynonymMap(join(dir, 'nope.json')), /synonym map not found: .*nope\.json/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"dog": "hound"}');
  assert.throws(() => loadSynonymMap(bad), /bad\.json: the synonyms of "dog" must be a list of strings/);
  writeFileSync(bad, '{not json');
  assert.throws(() => loadSynonymMap(bad), /bad\.json: not valid JSON/);
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ dog: ['hound'], big: ['large', 'great'] }));
  assert.deepEqual(loadSynonymMap(good).get('big'), ['large', 'great']);
  // the default path (datasets/resources/wordnet_synonyms.json) may not exist yet: either is fine, no throw
  const dflt = tryLoadSynonymMap();
  assert.ok(dflt === null || dflt.size > 0);
  assert.throws(() => eda('a b', { synonyms: SYN, rng: seededRng(1), alphaSr: 2 }), /alphaSr must be in \[0, 1\], got 2/);
  assert.throws(() => eda('a b', { synonyms: undefined as never, rng: seededRng(1) }), /options.synonyms must be a Map/);
});

const labelsArb = fc.array(fc.constantFrom(0, 0, 0, 0, 0, 1, 1, 2), { minLength: 1, maxLength: 200 });

test('random over-sampling: every class up to the majority count, originals kept, extras from their own class', () => {
  fc.assert(
    fc.property(labelsArb, fc.integer(), (labels, seed) => {
      const idx = randomOverSample(labels, seededRng(seed));
      const counts = classCounts(labels);
      const max = Math.max(...counts.values());
      assert.deepEqual(Array.from(idx.subarray(0, labels.length)), labels.map((_, i) => i));
      const after = classCounts(Array.from(idx, (i) => labels[i]));
      for (const [k] of counts) assert.equal(after.get(k), max, `class ${k}`);
      assert.deepEqual(randomOverSample(labels, seededRng(seed)), idx);
    }),
    { numRuns: 200 },
  );
  // ratio (two classes): minority to ⌊0.5 · 8⌋ = 4
  const two = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
  const r = randomOverSample(two, seededRng(1), { strategy: 0.5 });
  assert.equal(classCounts(Array.from(r, (i) => two[i])).get(1), 4);
  assert.equal(randomOverSample(['a', 'b', 'b', 'c', 'c', 'c'], seededRng(2), { strategy: 'minority' }).length, 8);
  assert.equal(randomOverSample(['a', 'b'], seededRng(2), { strategy: { a: 5 } }).length, 6);
  assert.throws(() => randomOverSample(two, seededRng(1), { strategy: { 7: 3 } }), /label "7" in the sampling strategy is not among the labels \[0, 1\]/);
  assert.throws(() => randomOverSample(two, seededRng(1), { strategy: { 0: 3 } }), /target 3 for 0 is below its 8 examples/);
  assert.throws(() => randomOverSample([0, 1, 2], seededRng(1), { strategy: 0.5 }), /needs exactly 2 classes, got 3/);
  assert.throws(() => randomOverSample([0, 1], seededRng(1), { strategy: 'most' as never }), /unknown sampling strategy "most"/);
});

test('random under-sampling: every class down to the minority count, without repeats, ascending', () => {
  fc.assert(
    fc.property(labelsArb, fc.integer(), (labels, seed) => {
      const idx = Array.from(randomUnderSample(labels, seededRng(seed)));
      const min = Math.min(...classCounts(labels).values());
      assert.deepEqual(idx, [...new Set(idx)].sort((a, b) => a - b));
      const after = classCounts(idx.map((i) => labels[i]));
      for (const [k] of classCounts(labels)) assert.equal(after.get(k), min);
    }),
    { numRuns: 200 },
  );
  const two = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
  // ratio 0.5: majority to ⌊2 / 0.5⌋ = 4
  const r = randomUnderSample(two, seededRng(1), { strategy: 0.5 });
  assert.equal(classCounts(Array.from(r, (i) => two[i])).get(0), 4);
  assert.throws(() => randomUnderSample(two, seededRng(1), { strategy: { 1: 5 } }), /target 5 for 1 is above its 2 examples/);
  assert.throws(() => randomUnderSample([], seededRng(1)), /no labels/);
});
