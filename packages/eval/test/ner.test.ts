// NER entity extraction and scoring. Strict-mode expectations are copied from seqeval's own
// tests (github.com/chakki-works/seqeval, tests/test_scheme.py: test_iob2_tokens,
// test_iob2_tokens_without_tag, test_iobes_tokens, test_iobes_tokens_without_tag; seqeval writes
// (type, start, end-exclusive), converted here to inclusive ends). Default-mode cases follow
// conlleval's chunk rules (seqeval's get_entities), worked out in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MISSED, nerConfusion, nerScores, sentenceEntities, SPURIOUS, type NerScheme } from '../src/index.js';

const spans = (tags: string[], mode: 'default' | 'strict', scheme: NerScheme = 'IOB2') =>
  sentenceEntities(tags, { mode, scheme }).map((e) => [e.type, e.start, e.end + 1]);

test('strict IOB2 entities = seqeval test_iob2_tokens', () => {
  const cases: [string[], [string, number, number][]][] = [
    [[], []], [['B-PER'], [['PER', 0, 1]]], [['I-PER'], []], [['O'], []], [['O', 'I-PER'], []],
    [['O', 'B-PER'], [['PER', 1, 2]]], [['I-PER', 'O'], []], [['I-PER', 'I-PER'], []], [['I-PER', 'I-ORG'], []],
    [['I-PER', 'B-PER'], [['PER', 1, 2]]], [['I-PER', 'B-ORG'], [['ORG', 1, 2]]], [['B-PER', 'O'], [['PER', 0, 1]]],
    [['B-PER', 'I-PER'], [['PER', 0, 2]]], [['B-PER', 'I-ORG'], [['PER', 0, 1]]],
    [['B-PER', 'B-PER'], [['PER', 0, 1], ['PER', 1, 2]]], [['B-PER', 'B-ORG'], [['PER', 0, 1], ['ORG', 1, 2]]],
    // without a type: '_'
    [['B'], [['_', 0, 1]]], [['I'], []], [['O', 'I'], []], [['I', 'B'], [['_', 1, 2]]], [['B', 'I'], [['_', 0, 2]]],
    [['B', 'B'], [['_', 0, 1], ['_', 1, 2]]],
  ];
  for (const [tags, expected] of cases) assert.deepEqual(spans(tags, 'strict'), expected, JSON.stringify(tags));
});

test('strict IOBES entities = seqeval test_iobes_tokens', () => {
  const cases: [string[], [string, number, number][]][] = [
    [['O'], []], [['I-PER'], []], [['B-PER'], []], [['E-PER'], []], [['S-PER'], [['PER', 0, 1]]],
    [['O', 'S-PER'], [['PER', 1, 2]]], [['I-PER', 'E-PER'], []], [['I-PER', 'S-PER'], [['PER', 1, 2]]],
    [['B-PER', 'I-PER'], []], [['B-PER', 'B-PER'], []], [['B-PER', 'E-PER'], [['PER', 0, 2]]], [['B-PER', 'E-ORG'], []],
    [['B-PER', 'S-PER'], [['PER', 1, 2]]], [['E-PER', 'S-PER'], [['PER', 1, 2]]], [['S-PER', 'O'], [['PER', 0, 1]]],
    [['S-PER', 'I-PER'], [['PER', 0, 1]]], [['S-PER', 'E-PER'], [['PER', 0, 1]]],
    [['S-PER', 'S-PER'], [['PER', 0, 1], ['PER', 1, 2]]], [['B', 'E'], [['_', 0, 2]]], [['S', 'B'], [['_', 0, 1]]],
    [['B-X', 'I-X', 'I-X', 'E-X'], [['X', 0, 4]]], [['B-X', 'I-Y', 'E-X'], []],
  ];
  for (const [tags, expected] of cases) assert.deepEqual(spans(tags, 'strict', 'IOBES'), expected, JSON.stringify(tags));
});

test('default (conlleval) entities: seqeval test_get_entities and hand-worked cases', () => {
  // seqeval tests/test_metrics.py test_get_entities: [('MISC', 3, 5), ('PER', 7, 8)] (inclusive ends)
  assert.deepEqual(
    sentenceEntities(['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O', 'B-PER', 'I-PER']).map((e) => [e.type, e.start, e.end]),
    [['MISC', 3, 5], ['PER', 7, 8]],
  );
  // I after O starts a chunk; an I of another type ends the chunk and starts a new one
  assert.deepEqual(spans(['I-PER', 'I-PER', 'O'], 'default'), [['PER', 0, 2]]);
  assert.deepEqual(spans(['B-PER', 'I-LOC', 'O'], 'default'), [['PER', 0, 1], ['LOC', 1, 2]]);
  assert.deepEqual(spans(['B-PER', 'I-LOC', 'O'], 'strict'), [['PER', 0, 1]]);
  // B after I ends and starts; B after B of the same type too
  assert.deepEqual(spans(['I-X', 'B-X', 'I-X'], 'default'), [['X', 0, 1], ['X', 1, 3]]);
  assert.deepEqual(spans(['B-X', 'B-X'], 'default'), [['X', 0, 1], ['X', 1, 2]]);
  // IOBES in default mode: E and S end chunks; I after E starts a new one
  assert.deepEqual(spans(['S-PER', 'B-LOC', 'E-LOC', 'O'], 'default'), [['PER', 0, 1], ['LOC', 1, 3]]);
  assert.deepEqual(spans(['B-X', 'E-X', 'I-X'], 'default'), [['X', 0, 2], ['X', 2, 3]]);
  // a chunk running to the end of the sentence is closed there
  assert.deepEqual(spans(['O', 'B-X', 'I-X'], 'default'), [['X', 1, 3]]);
});

test('entities do not cross sentences', () => {
  const gold = [['B-X', 'I-X'], ['I-X', 'O']];
  const r = nerScores(gold, gold);
  assert.equal(r.micro.support, 2);
  assert.equal(r.micro.f1, 1);
  const pred = [['B-X', 'I-X'], ['O', 'O']];
  const s = nerScores(gold, pred);
  assert.deepEqual([s.micro.correct, s.micro.predicted, s.micro.support], [1, 1, 2]);
  assert.equal(s.micro.recall, 0.5);
});

test('per-type, micro, macro and weighted scores from counts', () => {
  // gold: PER(0-1), LOC(3), LOC(5); pred: PER(0-1) ✓, LOC(3) ✓, ORG(5) ✗
  const gold = [['B-PER', 'I-PER', 'O', 'B-LOC', 'O', 'B-LOC']];
  const pred = [['B-PER', 'I-PER', 'O', 'B-LOC', 'O', 'B-ORG']];
  const r = nerScores(gold, pred);
  assert.deepEqual(Object.keys(r.perType), ['LOC', 'ORG', 'PER']);
  assert.deepEqual([r.perType.LOC.precision, r.perType.LOC.recall], [1, 0.5]);
  assert.deepEqual([r.perType.ORG.precision, r.perType.ORG.recall, r.perType.ORG.f1, r.perType.ORG.support], [0, 0, 0, 0]);
  assert.deepEqual([r.micro.precision, r.micro.recall], [2 / 3, 2 / 3]);
  assert.ok(Math.abs(r.macro.f1 - (2 / 3 + 0 + 1) / 3) < 1e-15);
  assert.ok(Math.abs(r.weighted.f1 - ((2 / 3) * 2 + 1 * 1) / 3) < 1e-15);
});

test('properties: perfect prediction scores 1 in both modes; scores lie in [0, 1]; sentence order does not matter', () => {
  const tag = fc.constantFrom('O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC');
  const sentence = fc.array(tag, { minLength: 1, maxLength: 8 });
  fc.assert(fc.property(fc.array(fc.tuple(sentence, fc.array(tag, { minLength: 8, maxLength: 8 })), { minLength: 1, maxLength: 6 }), (pairs) => {
    const gold = pairs.map(([g]) => g);
    const pred = pairs.map(([g, p]) => p.slice(0, g.length));
    for (const mode of ['default', 'strict'] as const) {
      const self = nerScores(gold, gold, { mode });
      if (self.micro.support > 0) assert.equal(self.micro.f1, 1);
      const r = nerScores(gold, pred, { mode });
      for (const v of [r.micro.precision, r.micro.recall, r.micro.f1, r.macro.f1, r.weighted.f1]) assert.ok(v >= 0 && v <= 1);
      const rev = nerScores([...gold].reverse(), [...pred].reverse(), { mode });
      assert.equal(rev.micro.f1, r.micro.f1);
    }
  }), { seed: 6, numRuns: 200 });
});

test('bad input: unknown tags, E-/S- tags in strict IOB2, mismatched sentence lengths, empty input', () => {
  assert.throws(() => nerScores([['B-PER', 'X-PER']], [['O', 'O']]), /nerScores: gold\[0\]\[1\] = "X-PER" is not a valid/);
  assert.throws(() => nerScores([['BPER']], [['O']]), /gold\[0\]\[0\] = "BPER"/);
  assert.throws(() => nerScores([['S-PER']], [['O']], { mode: 'strict' }), /not a valid IOB2 tag/);
  assert.throws(() => nerScores([['B-PER', 'O']], [['O']]), /sentence 0: 'gold\[0\]' has 2 tags but 'pred\[0\]' has 1/);
  assert.throws(() => nerScores([['O']], [['O'], ['O']]), /'gold' has 1 entries but 'pred' has 2/);
  assert.throws(() => nerScores([], []), /'gold' is empty/);
  assert.throws(() => nerScores([['O']], [['O']], { mode: 'lenient' as never }), /'mode' must be 'default' or 'strict'/);
});

test('nerConfusion: worked example — right type, wrong type, missed, spurious, and a wrong span (missed + spurious)', () => {
  const gold = [['B-PER', 'I-PER', 'O', 'B-LOC', 'O', 'B-ORG', 'O', 'B-LOC', 'I-LOC']];
  const pred = [['B-PER', 'I-PER', 'O', 'B-ORG', 'O', 'O', 'B-PER', 'B-LOC', 'O']];
  assert.deepEqual(nerConfusion(gold, pred, { mode: 'strict' }), {
    PER: { PER: 1 },
    LOC: { ORG: 1, [MISSED]: 1 }, // LOC 3..3 predicted as ORG; LOC 7..8 predicted only as 7..7
    ORG: { [MISSED]: 1 },
    [SPURIOUS]: { PER: 1, LOC: 1 },
  });
});

test('nerConfusion agrees with nerScores: row sums = gold support, diagonal = correct, column sums = predicted (both modes)', () => {
  const tag = fc.constantFrom('O', 'O', 'O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }).chain((lens) =>
      fc.tuple(fc.tuple(...lens.map((n) => fc.array(tag, { minLength: n, maxLength: n }))), fc.tuple(...lens.map((n) => fc.array(tag, { minLength: n, maxLength: n }))))),
    fc.constantFrom<'default' | 'strict'>('default', 'strict'),
    ([gold, pred], mode) => {
      const c = nerConfusion(gold, pred, { mode });
      const s = nerScores(gold, pred, { mode });
      for (const [type, sc] of Object.entries(s.perType)) {
        const row = c[type] ?? {};
        assert.equal(Object.values(row).reduce((a, x) => a + x, 0), sc.support, `gold ${type} row sum`);
        assert.equal(row[type] ?? 0, sc.correct, `${type} diagonal`);
        const col = Object.values(c).reduce((a, r) => a + (r[type] ?? 0), 0);
        assert.equal(col, sc.predicted, `pred ${type} column sum`);
      }
    }),
    { numRuns: 200 },
  );
});
