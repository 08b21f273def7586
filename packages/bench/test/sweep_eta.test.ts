import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SweepEta, type EtaRun } from '../src/sweep_eta.js';

const run = (suite: string, dataset: string, strategy: string): EtaRun => ({ suite, dataset, strategy });

test('no estimate before a run finished', () => {
  const eta = new SweepEta();
  assert.equal(eta.estimate([run('fewshot', 'email', 'setfit.k8')]), null);
  assert.equal(eta.estimate([]), 0);
});

test('each remaining run is estimated from the finished runs most like it', () => {
  const eta = new SweepEta();
  for (const s of [4, 5, 6]) eta.add(run('fewshot', 'email', 'frozen_lr.k8'), s);
  eta.add(run('fewshot', 'email', 'setfit.k8'), 90);
  eta.add(run('fewshot', 'wn_topic', 'setfit.k8'), 70);
  eta.add(run('ner', 'ner_en', 'crf_first'), 400);
  // same suite, dataset, strategy
  assert.equal(eta.estimateRun(run('fewshot', 'email', 'setfit.k8')), 90);
  assert.equal(eta.estimateRun(run('fewshot', 'email', 'frozen_lr.k8')), 5);
  // same suite and strategy, another dataset
  assert.equal(eta.estimateRun(run('fewshot', 'zh_poetry', 'setfit.k8')), 80);
  // same family (setfit.k16 never ran)
  assert.equal(eta.estimateRun(run('fewshot', 'email', 'setfit.k16')), 80);
  // same suite only
  assert.equal(eta.estimateRun(run('fewshot', 'email', 'full_eda.k8')), (4 + 5 + 6 + 90 + 70) / 5);
  // nothing alike: every finished run
  assert.equal(eta.estimateRun(run('edge', 'wn_topic', 'distilled.fp32')), (4 + 5 + 6 + 90 + 70 + 400) / 6);
  // the old single mean would have said 15 × 95.8 for 15 SetFit runs after these; this says 15 × 80
  const setfits = Array.from({ length: 15 }, (_, i) => run('fewshot', ['email', 'wn_topic', 'zh_poetry'][i % 3]!, 'setfit.k8'));
  assert.equal(eta.estimate(setfits), 5 * 90 + 5 * 70 + 5 * 80);
});

test('bad times are ignored', () => {
  const eta = new SweepEta();
  eta.add(run('a', 'd', 's'), Number.NaN);
  eta.add(run('a', 'd', 's'), -1);
  assert.equal(eta.estimateRun(run('a', 'd', 's')), null);
});

const arbRun = fc.record({ suite: fc.constantFrom('a', 'b'), dataset: fc.constantFrom('x', 'y'), strategy: fc.constantFrom('s.k8', 's.k16', 't') });

test('property: a run estimate lies between the fastest and slowest finished run; the total is the sum of run estimates', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(arbRun, fc.double({ min: 0, max: 1e5, noNaN: true })), { minLength: 1, maxLength: 30 }), fc.array(arbRun, { maxLength: 20 }), (done, todo) => {
      const eta = new SweepEta();
      for (const [r, s] of done) eta.add(r, s);
      const times = done.map(([, s]) => s);
      const lo = Math.min(...times), hi = Math.max(...times);
      let sum = 0;
      for (const r of todo) {
        const e = eta.estimateRun(r)!;
        assert.ok(e >= lo - 1e-9 * hi && e <= hi + 1e-9 * hi, `${e} outside [${lo}, ${hi}]`);
        sum += e;
      }
      const total = eta.estimate(todo)!;
      assert.ok(Math.abs(total - sum) <= 1e-9 * Math.max(1, sum));
    }),
  );
});

test('property: with one kind of run the estimate is the count times the mean', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 50 }), (times, n) => {
      const eta = new SweepEta();
      const r = run('fewshot', 'email', 'setfit.k8');
      for (const s of times) eta.add(r, s);
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      const got = eta.estimate(Array.from({ length: n }, () => r))!;
      assert.ok(Math.abs(got - n * mean) <= 1e-9 * Math.max(1, n * mean));
    }),
  );
});
