// Word-level NER metrics of token_cls evaluation (evaluate.ts nerMetrics): strict IOB2 main_score,
// lenient F1, per-type keys for every type of the label set, word accuracy, confusion counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nerMetrics } from '../src/train/evaluate.js';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];

test('nerMetrics worked example: strict vs lenient, per type, word accuracy, confusion (zeros included)', () => {
  const gold = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['O', 'B-LOC', 'I-LOC']];
  // sentence 0: PER right; LOC predicted as I-LOC (lenient: a LOC chunk; strict: no entity)
  // sentence 1: LOC span right but typed PER
  const pred = [['B-PER', 'I-PER', 'O', 'I-LOC'], ['O', 'B-PER', 'I-PER']];
  const m = nerMetrics(gold, pred, LABELS);
  assert.equal(m.main_score, m.strict_f1);
  // strict: 1 correct of 2 predicted (PER, PER) and 3 gold → P 1/2, R 1/3
  assert.ok(Math.abs(m.strict_precision - 1 / 2) < 1e-12 && Math.abs(m.strict_recall - 1 / 3) < 1e-12);
  // lenient: predicted PER, LOC, PER: 2 correct of 3, gold 3
  assert.ok(Math.abs(m.f1 - 2 / 3) < 1e-12);
  assert.equal(m.strict_f1_ORG, 0);
  assert.equal(m.support_LOC, 2);
  assert.equal(m.token_accuracy, 4 / 7);
  assert.equal(m.confusion_PER_PER, 1);
  assert.equal(m.confusion_LOC_PER, 1);
  assert.equal(m.confusion_LOC_missed, 1);
  assert.equal(m.confusion_spurious_PER, 0);
  assert.equal(m.confusion_ORG_ORG, 0, 'types of the label set that never occur still get their keys');
});

test('nerMetrics: tags outside IOB2 (IOBES) are scored in the lenient mode only', () => {
  const m = nerMetrics([['S-PER', 'O']], [['S-PER', 'O']], ['O', 'S-PER']);
  assert.equal(m.f1, 1);
  assert.equal(m.main_score, 1);
  assert.equal(m.strict_f1, undefined);
});
