// testPredictionLines: the finetune run directory's per-example test predictions (read by the bench
// runner's evidence sidecars): labelled examples only, in order, with the decision the metrics
// counted (a costly-class rule's decisions replace the argmax), tags for token_cls, none for MLM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testPredictionLines, type EvalResult, type Example } from '../src/index.js';

const ex = (id: string, label: number, tags?: string[]): Example => ({ id, label, tags, enc: {} as Example['enc'] });

test('seq_cls: one line per labelled example, gold and predicted names, rounded probabilities; costly decisions win', () => {
  const labels = ['neg', 'pos'];
  const examples = [ex('a', 0), ex('b', -100), ex('c', 1)];
  const r: EvalResult = {
    metrics: {},
    predictions: [
      { id: 'a', label: 'pos', probs: [0.4, 0.6] },
      { id: 'b', label: 'neg', probs: [0.9, 0.1] },
      { id: 'c', label: 'pos', probs: [1 / 3, 2 / 3] },
    ],
  };
  const lines = testPredictionLines('seq_cls', labels, examples, r)!.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { id: 'a', gold: 'neg', pred: 'pos', probs: [0.4, 0.6] },
    { id: 'c', gold: 'pos', pred: 'pos', probs: [0.333333, 0.666667] },
  ]);
  const decided = testPredictionLines('seq_cls', labels, examples, r, Int32Array.from([0, 0]))!.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(decided.map((l) => l.pred), ['neg', 'neg'], 'the decisions index the labelled examples');
});

test('token_cls: gold and predicted word tags; MLM and embedding write nothing', () => {
  const r: EvalResult = { metrics: {}, predictions: [{ id: 's1', tags: ['B-PER', 'O'] }, { id: 's2', tags: ['O'] }] };
  const text = testPredictionLines('token_cls', ['O', 'B-PER', 'I-PER'], [ex('s1', -100, ['B-PER', 'I-PER']), ex('s2', -100)], r)!;
  assert.deepEqual(text.trim().split('\n').map((l) => JSON.parse(l)), [{ id: 's1', gold: ['B-PER', 'I-PER'], pred: ['B-PER', 'O'] }]);
  assert.equal(testPredictionLines('mlm', [], [ex('x', -100)], { metrics: {}, predictions: [] }), null);
  assert.equal(testPredictionLines('embedding', [], [ex('x', -100)], { metrics: {}, predictions: [{ id: 'x', embedding: [1] }] }), null);
});
