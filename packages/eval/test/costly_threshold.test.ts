// Cost against threshold and the threshold of least cost (costly.ts): a hand-computed fixture,
// properties on random data, and clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { costByThreshold, expectedCost, predictWithThreshold, thresholdForMinCost } from '../src/index.js';

const COST = [[0, 10], [1, 0]]; // class 0 is costly: a miss costs 10, a false alarm 1

test('costByThreshold: hand-computed on a fixture', () => {
  const yTrue = [0, 0, 1, 1, 1];
  const probs = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.1, 0.9]];
  // t = 0.5: predict 0 for rows 0, 2 → miss row 1 (10), false alarm row 2 (1) → 11 / 5
  // t = 0.25: rows 0, 1, 2 → false alarm row 2 → 1 / 5
  // t = 0.95: none → misses rows 0, 1 → 20 / 5
  // t = 0: every row → 3 false alarms → 3 / 5
  assert.deepEqual(costByThreshold(yTrue, probs, 0, COST, [0.5, 0.25, 0.95, 0]), [11 / 5, 1 / 5, 20 / 5, 3 / 5]);
  const best = thresholdForMinCost(yTrue, probs, 0, COST);
  assert.deepEqual(best, { threshold: 0.3, cost: 1 / 5 });
  // never predicting the costly class can be the best choice
  assert.deepEqual(thresholdForMinCost([1, 1], [[0.6, 0.4], [0.2, 0.8]], 0, COST), { threshold: Infinity, cost: 0 });
});

test('thresholdForMinCost: no threshold costs less on the same data; its cost is that of its decisions', () => {
  const row = fc.tuple(fc.integer({ min: 0, max: 1 }), fc.double({ min: 0, max: 1, noNaN: true }));
  fc.assert(fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), fc.array(fc.double({ min: -0.1, max: 1.1, noNaN: true }), { maxLength: 10 }), (rows, ts) => {
    const yTrue = rows.map((r) => r[0]);
    const probs = rows.map((r) => [r[1], 1 - r[1]]);
    const best = thresholdForMinCost(yTrue, probs, 0, COST);
    for (const c of costByThreshold(yTrue, probs, 0, COST, ts)) assert.ok(best.cost <= c + 1e-12);
    assert.equal(best.cost, expectedCost(yTrue, predictWithThreshold(probs, 0, best.threshold), COST));
  }));
});

test('costByThreshold / thresholdForMinCost: bad input is a clear error', () => {
  assert.throws(() => costByThreshold([0, 2], [[0.5, 0.5], [0.5, 0.5]], 0, COST, [0.5]), /yTrue\[1\] = 2 is not a class index in \[0, 2\)/);
  assert.throws(() => costByThreshold([0], [[0.5, 0.5]], 0, [[0, 1, 1], [1, 0, 1], [1, 1, 0]], [0.5]), /probs/);
  assert.throws(() => thresholdForMinCost([0], [[0.5, 0.5]], 2, COST), /'cls' = 2 is not a column index in \[0, 2\)/);
});
