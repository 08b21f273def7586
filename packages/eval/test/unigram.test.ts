// The unigram masked-LM baseline must score exactly like mlmScores given the unigram model's own
// log-probabilities as logits (the same masked labels, the same first-maximum argmax).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mlmScores, unigramScores } from '../src/index.js';

const RUNS = { numRuns: 200, seed: 20261207 };

test('unigramScores equals mlmScores over the unigram log-probabilities; excluded ids get no mass', () => {
  const input = fc.integer({ min: 3, max: 12 }).chain((V) => fc.record({
    counts: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: V, maxLength: V }),
    excluded: fc.uniqueArray(fc.integer({ min: 0, max: V - 1 }), { maxLength: V - 2 }),
    picks: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 30 }),
  }));
  fc.assert(fc.property(input, ({ counts, excluded, picks }) => {
    const ex = new Set(excluded);
    const allowed = counts.map((_, v) => v).filter((v) => !ex.has(v));
    const labels = picks.map((p) => allowed[p % allowed.length]);
    const total = allowed.reduce((s, v) => s + counts[v], 0);
    // One row of logits per masked label; the excluded ids get −∞ (probability 0).
    const V = counts.length;
    const logits = new Float64Array(labels.length * V);
    for (let i = 0; i < labels.length; i++) {
      for (let v = 0; v < V; v++) logits[i * V + v] = ex.has(v) ? -Infinity : Math.log((counts[v] + 1) / (total + allowed.length));
    }
    const want = mlmScores(logits, V, labels);
    const got = unigramScores(counts, labels, { exclude: excluded });
    assert.equal(got.count, want.count);
    assert.equal(got.accuracy, want.accuracy);
    assert.ok(Math.abs(got.crossEntropy - want.crossEntropy) < 1e-12, `${got.crossEntropy} vs ${want.crossEntropy}`);
  }), RUNS);
});

test('unigramScores: the most frequent token is always predicted; a label outside counts is refused', () => {
  const s = unigramScores([5, 1, 9, 0], [2, 2, 1, 3]);
  assert.equal(s.accuracy, 0.5);
  // p = (c+1)/(15+4): −(2·ln(10/19) + ln(2/19) + ln(1/19)) / 4
  assert.ok(Math.abs(s.crossEntropy - -(2 * Math.log(10 / 19) + Math.log(2 / 19) + Math.log(1 / 19)) / 4) < 1e-15);
  assert.throws(() => unigramScores([1, 2], [2]), /maskedLabels\[0\]/);
  assert.throws(() => unigramScores([1, 2, 3], [0], { exclude: [0] }), /not a scorable/);
});
