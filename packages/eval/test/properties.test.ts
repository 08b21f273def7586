// fast-check properties of the classification and ranking metrics. Each property is exact
// (integer counts) or holds to 1e-12, the rounding of sums of ≤ 60 terms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  accuracy, averagePrecisionScore, classificationReport, expectedCalibrationError, matthewsCorrcoef, perClassScores,
  precisionRecallF1, rocAucScore,
} from '../src/index.js';

const RUNS = { numRuns: 300, seed: 20261128 };
const EPS = 1e-12;

/** Paired labels over k classes, n ≥ 1. */
const labelled = fc.integer({ min: 2, max: 5 }).chain((k) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: k - 1 }), fc.integer({ min: 0, max: k - 1 })), { minLength: 1, maxLength: 60 }));

function permute<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

test('classification scores lie in their ranges; MCC in [-1, 1]', () => {
  fc.assert(fc.property(labelled, fc.constantFrom(0, 1), (pairs, zd) => {
    const t = pairs.map((p) => p[0]);
    const p = pairs.map((q) => q[1]);
    const rep = classificationReport(t, p, { zeroDivision: zd as 0 | 1 });
    for (const s of [...rep.perClass, rep.macro, rep.micro, rep.weighted]) {
      for (const v of [s.precision, s.recall, s.f1]) assert.ok(v >= 0 && v <= 1, `${v}`);
    }
    // F1, a harmonic mean, lies between min(P, R) and max(P, R), per class and micro
    for (const s of [...rep.perClass, rep.micro]) {
      assert.ok(s.f1 <= Math.max(s.precision, s.recall) + EPS);
      if (s.precision + s.recall > 0) assert.ok(s.f1 >= Math.min(s.precision, s.recall) - EPS);
    }
    const mcc = matthewsCorrcoef(t, p);
    assert.ok(mcc >= -1 - EPS && mcc <= 1 + EPS);
  }), RUNS);
});

test('perfect prediction: accuracy, every F1 and MCC are 1 (MCC 0 when only one class occurs)', () => {
  fc.assert(fc.property(labelled, (pairs) => {
    const t = pairs.map((p) => p[0]);
    assert.equal(accuracy(t, t), 1);
    for (const avg of ['macro', 'micro', 'weighted'] as const) assert.equal(precisionRecallF1(t, t, { average: avg }).f1, 1);
    assert.equal(matthewsCorrcoef(t, t), new Set(t).size > 1 ? 1 : 0);
  }), RUNS);
});

test('macro-F1 = mean of per-class F1; weighted = support-weighted mean; micro-F1 = accuracy over all labels', () => {
  fc.assert(fc.property(labelled, (pairs) => {
    const t = pairs.map((p) => p[0]);
    const p = pairs.map((q) => q[1]);
    const per = perClassScores(t, p);
    const mean = per.reduce((s, c) => s + c.f1, 0) / per.length;
    assert.ok(Math.abs(precisionRecallF1(t, p, { average: 'macro' }).f1 - mean) <= EPS);
    const w = per.reduce((s, c) => s + c.f1 * c.support, 0) / t.length;
    assert.ok(Math.abs(precisionRecallF1(t, p, { average: 'weighted' }).f1 - w) <= EPS);
    assert.ok(Math.abs(precisionRecallF1(t, p, { average: 'micro' }).f1 - accuracy(t, p)) <= EPS);
  }), RUNS);
});

test('permuting the examples changes no score', () => {
  fc.assert(fc.property(labelled, fc.integer(), (pairs, seed) => {
    const shuffled = permute(pairs, seed);
    const f = (ps: [number, number][]) => {
      const t = ps.map((p) => p[0]);
      const p = ps.map((q) => q[1]);
      const r = classificationReport(t, p);
      return [r.accuracy, r.macro.f1, r.micro.f1, r.weighted.f1, matthewsCorrcoef(t, p)];
    };
    const a = f(pairs);
    const b = f(shuffled);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= EPS));
  }), RUNS);
});

/** Binary labels with at least one of each class, and scores (some tied). */
const scored = fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 20 })), { minLength: 2, maxLength: 60 })
  .filter((xs) => xs.some((x) => x[0] === 1) && xs.some((x) => x[0] === 0))
  .map((xs) => ({ y: xs.map((x) => x[0]), s: xs.map((x) => x[1] / 20) }));

test('ROC-AUC and AP lie in [0, 1]; a perfect ranking scores 1; AUC(−s) = 1 − AUC(s); permutation invariant', () => {
  fc.assert(fc.property(scored, fc.integer(), ({ y, s }, seed) => {
    const auc = rocAucScore(y, s);
    const ap = averagePrecisionScore(y, s);
    assert.ok(auc >= 0 && auc <= 1 && ap >= 0 && ap <= 1);
    const perfect = y.map((v) => v); // score = label: every positive above every negative
    assert.equal(rocAucScore(y, perfect), 1);
    assert.equal(averagePrecisionScore(y, perfect), 1);
    assert.ok(Math.abs(rocAucScore(y, s.map((v) => -v)) - (1 - auc)) <= EPS);
    const idx = permute(y.map((_, i) => i), seed);
    assert.ok(Math.abs(rocAucScore(idx.map((i) => y[i]), idx.map((i) => s[i])) - auc) <= EPS);
    assert.ok(Math.abs(averagePrecisionScore(idx.map((i) => y[i]), idx.map((i) => s[i])) - ap) <= EPS);
    // a constant score ranks nothing: AUC 0.5, AP = prevalence
    const prevalence = y.filter((v) => v === 1).length / y.length;
    assert.equal(rocAucScore(y, y.map(() => 0.3)), 0.5);
    assert.ok(Math.abs(averagePrecisionScore(y, y.map(() => 0.3)) - prevalence) <= EPS);
  }), RUNS);
});

test('multiclass one-vs-rest: perfect probabilities give AUC = AP = 1', () => {
  fc.assert(fc.property(fc.integer({ min: 3, max: 5 }).chain((k) => fc.tuple(fc.constant(k), fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: k, maxLength: 30 }))), ([k, ys]) => {
    const y = [...Array.from({ length: k }, (_, i) => i), ...ys];
    const probs = y.map((c) => Array.from({ length: k }, (_, j) => (j === c ? 0.9 : 0.1 / (k - 1))));
    assert.ok(Math.abs(rocAucScore(y, probs) - 1) <= EPS);
    assert.ok(Math.abs(averagePrecisionScore(y, probs) - 1) <= EPS);
  }), RUNS);
});

test('ECE lies in [0, 1], is 0 for one-hot correct predictions and equals mean confidence gap with one bin', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 40 }), (xs) => {
    const probs = xs.map(([p]) => [p / 100, 1 - p / 100]);
    const y = xs.map((x) => x[1]);
    const ece = expectedCalibrationError(probs, y);
    assert.ok(ece >= 0 && ece <= 1);
    assert.equal(expectedCalibrationError(y.map((c) => (c === 0 ? [1, 0] : [0, 1])), y), 0);
    // one bin: |accuracy − mean confidence|
    let acc = 0, conf = 0;
    probs.forEach((row, i) => { const k = row[0] >= row[1] ? 0 : 1; conf += row[k]; if (k === y[i]) acc++; });
    assert.ok(Math.abs(expectedCalibrationError(probs, y, { nBins: 1 }) - Math.abs(acc - conf) / y.length) <= EPS);
  }), RUNS);
});
