// Costly-class evaluation (train/costly.ts), resampling (train/resample.ts) and their config keys:
// expected cost against a hand-computed fixture, the dev-chosen thresholds (target recall reached
// on dev; lowest dev cost among all thresholds), the Bayes decision, then runs on the float64
// reference backend: costly metrics and main_score = expected cost, weighted CE with equal
// weights = CE, focal α, over/undersampling, and every bad input a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { costByThreshold } from '@tunebench/eval';
import { loadTrainConfig } from '../src/config/index.js';
import { runTraining, backendFactory } from '../src/train/index.js';
import { costlyMetrics, costlySetup, decide, defaultCostMatrix, finalCostlyMetrics, type CostlySetup } from '../src/train/costly.js';
import { resampleAroundClass } from '../src/train/resample.js';
import type { TrainRunConfig } from '../src/config/schema.js';

const LABELS = ['high', 'low', 'medium'];
const task = (over: Partial<TrainRunConfig['task']> = {}): TrainRunConfig['task'] => ({
  ...loadTrainConfig('finetune', { sets: ['outputDir=/nonexistent/x', 'data.dataset=changelog_urgency'] }).task,
  costlyClass: 'high',
  ...over,
});

test('default cost matrix: missing the costly class costs 10, every other error 1, the diagonal 0', () => {
  assert.deepEqual(defaultCostMatrix(3, 0), [[0, 10, 10], [1, 0, 1], [1, 1, 0]]);
  assert.deepEqual(costlySetup(task(), LABELS)!.cost, [[0, 10, 10], [1, 0, 1], [1, 1, 0]]);
  assert.equal(costlySetup(task({ costlyClass: null }), LABELS), null);
});

test('expected cost and the costly metrics equal hand-computed values on a fixture', () => {
  const s = costlySetup(task({ costMatrix: [[0, 10, 8], [1, 0, 2], [3, 1, 0]] }), LABELS)!;
  // truth:      high high high low low medium medium medium
  // predicted:  high low  medium high low  medium low  high
  const yTrue = [0, 0, 0, 1, 1, 2, 2, 2];
  const pred = [0, 1, 2, 0, 1, 2, 1, 0];
  const probs = [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.1, 0.7], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.1, 0.6, 0.3], [0.6, 0.1, 0.3]];
  const m = costlyMetrics(s, { yTrue, probs }, pred);
  // costs: 0 + 10 + 8 + 1 + 0 + 0 + 1 + 3 = 23 over 8 examples
  assert.equal(m.expected_cost, 23 / 8);
  assert.equal(m.main_score, 23 / 8);
  assert.equal(m.costly_recall, 1 / 3); // 1 of 3 highs found
  assert.equal(m.costly_precision, 1 / 3); // 3 high predictions, 1 right
  assert.equal(m.costly_f1, 1 / 3);
  assert.equal(m.accuracy, 3 / 8);
  assert.equal(m.cm_high_low, 1);
  assert.equal(m.cm_medium_high, 1);
  assert.equal(m.cm_low_low, 1);
  // p(high) of the highs: .7 .3 .2; of the others: .5 .1 .1 .1 .6 → AP: ranks .7(+) .6 .5 .3(+) .2(+) ...
  // precision at each positive: 1/1, 2/4, 3/5 → AP = (1 + 0.5 + 0.6) / 3
  assert.ok(Math.abs(m.costly_pr_auc! - 2.1 / 3) < 1e-12);
  // ROC-AUC: pairs (pos, neg) with pos > neg: .7 beats 5; .3 beats 3 (.1 ×3); .2 beats 3 → 11 / 15
  assert.ok(Math.abs(m.costly_roc_auc! - 11 / 15) < 1e-12);
});

test('a split without a costly example reports no recall / PR-AUC / ROC-AUC (never a made-up 0)', () => {
  const s = costlySetup(task(), LABELS)!;
  const m = costlyMetrics(s, { yTrue: [1, 2], probs: [[0.1, 0.8, 0.1], [0.2, 0.2, 0.6]] }, [1, 2]);
  assert.equal(m.expected_cost, 0);
  for (const k of ['costly_recall', 'costly_f1', 'costly_pr_auc', 'costly_roc_auc']) assert.equal(m[k], undefined, k);
});

const scoredArb = fc.integer({ min: 4, max: 40 }).chain((n) => fc.record({
  yTrue: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
  raw: fc.array(fc.tuple(fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true })), { minLength: n, maxLength: n }),
})).map(({ yTrue, raw }) => ({ yTrue: [0, ...yTrue.slice(1)], probs: raw.map((r) => { const s = r[0] + r[1] + r[2]; return r.map((x) => x / s); }) }));

test('threshold moving: the dev-chosen threshold reaches at least the target recall on dev', () => {
  fc.assert(fc.property(scoredArb, fc.double({ min: 0.05, max: 1, noNaN: true }), (dev, target) => {
    const s: CostlySetup = { ...costlySetup(task(), LABELS)!, decision: 'threshold', targetRecall: target };
    const r = finalCostlyMetrics(s, dev, dev);
    assert.ok(r.dev!.costly_recall! >= target - 1e-12, `recall ${r.dev!.costly_recall} < target ${target}`);
    assert.equal(r.details!.threshold, r.dev!.decision_threshold);
  }));
});

test('threshold moving: the lowest-cost threshold costs no more on dev than any other threshold', () => {
  fc.assert(fc.property(scoredArb, fc.array(fc.double({ min: 0, max: 1.01, noNaN: true }), { minLength: 1, maxLength: 8 }), (dev, others) => {
    const s: CostlySetup = { ...costlySetup(task(), LABELS)!, decision: 'threshold', targetRecall: null };
    const r = finalCostlyMetrics(s, dev, null);
    for (const c of costByThreshold(dev.yTrue, dev.probs, 0, s.cost, others)) assert.ok(r.dev!.expected_cost <= c + 1e-12);
    assert.equal(r.test, null);
  }));
});

test('min_cost: each decision minimises Σᵢ pᵢ·cost[i][j]; with a 0/1 cost matrix it is the argmax', () => {
  fc.assert(fc.property(scoredArb, (d) => {
    const s: CostlySetup = { ...costlySetup(task(), LABELS)!, decision: 'min_cost' };
    const pred = decide(s, d.probs, null);
    d.probs.forEach((p, r) => {
      const exp = [0, 1, 2].map((j) => p.reduce((acc, pi, i) => acc + pi * s.cost[i]![j]!, 0));
      assert.ok(exp[pred[r]!]! <= Math.min(...exp) + 1e-12);
    });
    const zeroOne: CostlySetup = { ...s, cost: [[0, 1, 1], [1, 0, 1], [1, 1, 0]] };
    const bayes = decide(zeroOne, d.probs, null), arg = decide({ ...s, decision: 'argmax' }, d.probs, null);
    d.probs.forEach((p, r) => {
      // (near-ties are decided by rounding: 1 − p_j summed as Σ_{i≠j} p_i)
      const sorted = [...p].sort((x, y) => y - x);
      if (sorted[0]! - sorted[1]! > 1e-9) assert.equal(bayes[r], arg[r]);
    });
  }));
});

test('costly setup: bad input is a clear error', () => {
  assert.throws(() => costlySetup(task({ costlyClass: 'urgent' }), LABELS), /task.costlyClass 'urgent' is not one of the labels \(high, low, medium\)/);
  assert.throws(() => costlySetup(task({ costMatrix: [[0, 1], [1, 0]] }), LABELS), /task.costMatrix is 2×2 but there are 3 labels/);
  assert.throws(() => finalCostlyMetrics({ ...costlySetup(task(), LABELS)!, decision: 'threshold', targetRecall: 0.5 }, { yTrue: [1], probs: [[0.2, 0.5, 0.3]] }, null), /dev rows hold no 'high' example/);
  assert.throws(() => finalCostlyMetrics({ ...costlySetup(task(), LABELS)!, decision: 'threshold', targetRecall: null }, null, null), /no labelled dev rows/);
});

test('resampling: oversampling grows the costly class to ratio × the largest other class; undersampling caps the others; seeded', () => {
  const items = [...Array(30).fill(1), ...Array(3).fill(0), ...Array(12).fill(2)].map((label, i) => ({ label, i }));
  const over = resampleAroundClass(items, (e) => e.label, 3, 0, 'oversample', 0.5, 7);
  assert.deepEqual(over.report, { before: [3, 30, 12], after: [15, 30, 12] });
  assert.equal(over.items.filter((e) => e.label === 0).length, 15);
  assert.deepEqual(over.items.slice(0, items.length), items, 'the original examples come first');
  assert.ok(over.items.slice(items.length).every((e) => e.label === 0 && items.includes(e)), 'copies of costly examples');
  assert.deepEqual(resampleAroundClass(items, (e) => e.label, 3, 0, 'oversample', 0.5, 7).items, over.items);
  assert.notDeepEqual(resampleAroundClass(items, (e) => e.label, 3, 0, 'oversample', 0.5, 8).items, over.items);
  const under = resampleAroundClass(items, (e) => e.label, 3, 0, 'undersample', 1, 7);
  assert.deepEqual(under.report.after, [3, 3, 3]);
  assert.deepEqual([0, 1, 2].map((c) => under.items.filter((e) => e.label === c).length), [3, 3, 3]);
  assert.equal(new Set(under.items).size, under.items.length, 'undersampling draws without replacement');
  assert.throws(() => resampleAroundClass(items.filter((e) => e.label !== 0), (e) => e.label, 3, 0, 'oversample', 1, 0), /no example of the costly class/);
  assert.throws(() => resampleAroundClass(items, (e) => e.label, 3, 0, 'oversample', 0, 0), /resampleRatio must be a finite number > 0/);
});

// ---- runs on the float64 reference backend
const dir = mkdtempSync(join(tmpdir(), 'tb-costly-'));
const cpu = backendFactory('cpu');
const CUE = { high: 'urgent', low: 'typo', medium: 'update' } as const;
const FILL = ['the', 'a', 'fix', 'for', 'build', 'new', 'upstream', 'release'];
function rows(n: number, seed: number): object[] {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: n }, (_, i) => {
    const u = r();
    const label = u < 0.1 ? 'high' : u < 0.5 ? 'low' : 'medium';
    const words = Array.from({ length: 3 + Math.floor(r() * 3) }, () => FILL[Math.floor(r() * FILL.length)]!);
    words.splice(Math.floor(r() * words.length), 0, CUE[label]);
    return { id: `c${seed}-${i}`, text: words.join(' '), label };
  });
}
const jsonl = (name: string, data: object[]) => {
  const p = join(dir, name);
  writeFileSync(p, data.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return p;
};
const trainFile = jsonl('train.jsonl', rows(80, 1));
const devFile = jsonl('dev.jsonl', rows(60, 2));
const testFile = jsonl('test.jsonl', rows(60, 3));
const vocabFile = join(dir, 'vocab.txt');
writeFileSync(vocabFile, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Object.values(CUE), ...FILL].join('\n') + '\n');
const cfg = (out: string, t: object = {}, data: object = {}) => {
  const p = join(dir, `${out}.json`);
  writeFileSync(p, JSON.stringify({
    outputDir: join(dir, out),
    model: { shape: { numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
    tokenizer: { vocab: vocabFile },
    data: { train: trainFile, dev: devFile, test: testFile, maxLength: 16, ...data },
    task: { kind: 'seq_cls', labels: LABELS, ...t },
    optimizer: { lr: 1e-2 },
    training: { batchSize: 16, maxSteps: 6, logEvery: 1, evalEvery: 3 },
  }));
  return loadTrainConfig('finetune', { file: p });
};
const metricsOf = (out: string) => JSON.parse(readFileSync(join(dir, out, 'metrics.json'), 'utf8'));

test('a costly-class run: metrics of the class, expected cost as main_score, curves and cost matrix recorded', async () => {
  await runTraining('finetune', cfg('thr', { costlyClass: 'high', decision: 'threshold', targetRecall: 0.9 }), { backend: cpu, progress: false });
  const m = metricsOf('thr');
  assert.equal(m.mainMetric, 'expected_cost');
  for (const split of [m.dev, m.test]) {
    for (const k of ['costly_recall', 'costly_precision', 'costly_f1', 'costly_pr_auc', 'costly_roc_auc', 'macro_f1', 'accuracy', 'expected_cost', 'cm_high_high', 'decision_threshold']) assert.equal(typeof split[k], 'number', k);
    assert.equal(split.main_score, split.expected_cost);
  }
  assert.ok(m.dev.costly_recall >= 0.9, 'the target recall is reached on dev');
  assert.equal(m.main_score, m.test.expected_cost);
  assert.deepEqual(m.costly.costMatrix, [[0, 10, 10], [1, 0, 1], [1, 1, 0]]);
  assert.equal(m.costly.decision, 'threshold');
  assert.equal(m.costly.threshold, m.test.decision_threshold);
  assert.equal(m.costly.costCurve.threshold.length, m.costly.costCurve.cost.length);
  assert.equal(m.costly.confusion.flat().reduce((a: number, b: number) => a + b, 0), m.test.count);
  // The intermediate dev evaluations score argmax decisions with the same cost matrix.
  assert.ok(m.history.some((h: Record<string, number>) => typeof h.dev_expected_cost === 'number'));
  const saved = JSON.parse(readFileSync(join(dir, 'thr', 'config.json'), 'utf8')).config;
  assert.equal(saved.task.costlyClass, 'high');
  assert.equal(saved.task.decision, 'threshold');
});

test('weighted CE with equal class weights trains exactly like CE', async () => {
  await runTraining('finetune', cfg('ce'), { backend: cpu, progress: false });
  await runTraining('finetune', cfg('w1', { loss: 'weighted_ce', classWeights: [1, 1, 1] }), { backend: cpu, progress: false });
  await runTraining('finetune', cfg('w3', { loss: 'weighted_ce', classWeights: [3, 3, 3] }), { backend: cpu, progress: false });
  const ce = metricsOf('ce'), w1 = metricsOf('w1'), w3 = metricsOf('w3');
  assert.deepEqual(w1.dev, ce.dev);
  assert.deepEqual(w1.history.map((h: { loss?: number }) => h.loss), ce.history.map((h: { loss?: number }) => h.loss));
  ce.history.forEach((h: { loss?: number }, i: number) => {
    if (h.loss !== undefined) assert.ok(Math.abs(w3.history[i].loss - h.loss) <= 1e-9 * Math.abs(h.loss), `step ${i}: ${w3.history[i].loss} vs ${h.loss}`);
  });
  assert.equal(w3.dev.accuracy, ce.dev.accuracy);
});

test('sqrt-inverse class weights, focal α, oversampling and undersampling reach the loss and the data', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (l: string) => lines.push(String(l));
  try {
    await runTraining('finetune', cfg('sqrt', { loss: 'weighted_ce', classWeightScheme: 'sqrt_inverse' }), { backend: cpu, progress: true });
    await runTraining('finetune', cfg('focal', { loss: 'focal', focalGamma: 2, focalAlpha: [0.75, 0.25, 0.25] }), { backend: cpu, progress: true });
    await runTraining('finetune', cfg('over', { costlyClass: 'high' }, { resample: 'oversample' }), { backend: cpu, progress: true });
    await runTraining('finetune', cfg('under', { costlyClass: 'high', decision: 'min_cost' }, { resample: 'undersample' }), { backend: cpu, progress: true });
  } finally {
    console.log = log;
  }
  const text = lines.join('\n');
  // 80 rows: counts from the generator; sqrt of n / (3 · count)
  const counts = LABELS.map((l) => rows(80, 1).filter((r) => (r as { label: string }).label === l).length);
  const w = counts.map((c) => Math.sqrt(80 / (3 * c)).toFixed(3));
  assert.match(text, new RegExp(`class weights: high ${w[0]}, low ${w[1]}, medium ${w[2]}`));
  assert.match(text, /focal loss: gamma 2, alpha high 0.75, low 0.25, medium 0.25/);
  assert.match(text, new RegExp(`data.resample oversample \\(ratio 1\\) around 'high': high ${counts[0]}→${counts[2]}, low ${counts[1]}→${counts[1]}, medium ${counts[2]}→${counts[2]}`));
  assert.match(text, new RegExp(`data.resample undersample \\(ratio 1\\) around 'high': high ${counts[0]}→${counts[0]}, low ${counts[1]}→${counts[0]}, medium ${counts[2]}→${counts[0]}`));
  assert.equal(metricsOf('under').costly.decision, 'min_cost');
});

test('config: costly keys without task.costlyClass, and other bad combinations, are clear errors', () => {
  const sets = (...s: string[]) => () => loadTrainConfig('finetune', { sets: ['outputDir=/nonexistent/x', 'data.dataset=changelog_urgency', ...s] });
  assert.throws(sets('task.decision=threshold'), /'task.decision' needs task.costlyClass/);
  assert.throws(sets('data.resample=oversample'), /'data.resample' needs task.costlyClass/);
  assert.throws(sets('task.costlyClass=high', 'task.targetRecall=0.9'), /task.targetRecall is only used by task.decision 'threshold'/);
  assert.throws(sets('task.focalAlpha=[1,2,3]'), /task.focalAlpha is given but task.loss is 'ce'/);
  assert.throws(sets('task.costlyClass=high', 'task.costMatrix=[[0,1],[1,0,1]]'), /task.costMatrix must be square/);
  assert.throws(sets('task.costlyClass=high', 'task.decision=cheapest'), /decision/);
  assert.throws(sets('task.costlyClass=high', 'task.kind=token_cls'), /task.costlyClass needs task.kind seq_cls/);
});

test('a run refuses a costly class or focal α that does not fit its labels', async () => {
  await assert.rejects(runTraining('finetune', cfg('bad1', { costlyClass: 'urgent' }), { backend: cpu, progress: false }), /task.costlyClass 'urgent' is not one of the labels/);
  await assert.rejects(runTraining('finetune', cfg('bad2', { loss: 'focal', focalAlpha: [1, 1] }), { backend: cpu, progress: false }), /task.focalAlpha has 2 values but there are 3 labels/);
});

test('pooled embeddings through the identity-classifier copy reproduce the model: logits = W·pooled + b', async () => {
  const { pooledEmbeddings } = await import('../src/train/embed_resample.js');
  const { ParamStore, paramSpecs, initParams, makeConfig } = await import('../src/model/index.js');
  const { WordPieceTokenizer } = await import('../src/tokenizer/index.js');
  const { Collator, loadRows, tokenizeRows } = await import('../src/train/data.js');
  const tok = WordPieceTokenizer.fromVocabFile(vocabFile, { lowercase: true, modelMaxLength: 16 });
  const config = makeConfig({ numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, tok.vocabSize, { maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 });
  for (const pooling of ['cls', 'mean'] as const) {
    const heads = [{ kind: 'seq_cls' as const, numLabels: 3, pooling }];
    const store = new ParamStore(paramSpecs(config, heads, null));
    initParams(store, 5, 0.2);
    const ex = tokenizeRows(loadRows(devFile, 'dev', 'seq_cls', 12), tok, 'seq_cls', LABELS, 16, { source: 'dev' });
    const collator = new Collator(tok, 'seq_cls', 0.15);
    const X = await pooledEmbeddings(cpu, config, heads[0]!, store, null, collator, ex, 8, 16);
    assert.equal(X.length, ex.length);
    const model = await cpu({ config, heads, store, lora: null, loss: {}, maxBatch: 12, maxLength: 16 });
    model.load();
    const logits = (await model.predict(collator.collate(ex, 0))).logits;
    const w = store.range('classifier.weight'), b = store.range('classifier.bias');
    X.forEach((x, n) => {
      for (let l = 0; l < 3; l++) {
        let z = store.data[b.offset + l]!;
        for (let h = 0; h < 16; h++) z += store.data[w.offset + l * 16 + h]! * x[h]!;
        assert.ok(Math.abs(z - logits[n * 3 + l]!) < 1e-5, `${pooling} row ${n} label ${l}: ${z} vs ${logits[n * 3 + l]}`);
      }
    });
  }
});

test('the softmax head trained on embeddings lowers its loss from the given start and is deterministic', async () => {
  const { trainSoftmaxHead } = await import('../src/train/embed_resample.js');
  const X = [[1, 0], [0.9, 0.2], [0, 1], [0.1, 0.8], [-1, -1], [-0.8, -1.2]];
  const y = [0, 0, 1, 1, 2, 2];
  const a = trainSoftmaxHead(X, y, new Float64Array(6), new Float64Array(3), 3, 200, 0.05);
  assert.ok(Math.abs(a.lossBefore - Math.log(3)) < 1e-12, 'zero weights: loss log 3');
  assert.ok(a.lossAfter < 0.1, `loss after ${a.lossAfter}`);
  assert.deepEqual(trainSoftmaxHead(X, y, new Float64Array(6), new Float64Array(3), 3, 200, 0.05), a);
  const zero = trainSoftmaxHead(X, y, a.W, a.b, 3, 1, 1e-12);
  assert.ok(Math.abs(zero.lossBefore - a.lossAfter) < 1e-12, 'the returned weights are the ones scored');
});

test('SMOTE and Tomek links on pooled embeddings: counts as configured, the classifier retrained, recorded in metrics.json', async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (l: string) => lines.push(String(l));
  try {
    await runTraining('finetune', cfg('smote', { costlyClass: 'high', decision: 'min_cost' }, { embedResample: 'smote', smoteK: 3, embedHeadSteps: 50 }), { backend: cpu, progress: true });
    await runTraining('finetune', cfg('tomek', { costlyClass: 'high' }, { embedResample: 'tomek', embedHeadSteps: 50 }), { backend: cpu, progress: true });
  } finally {
    console.log = log;
  }
  const counts = LABELS.map((l) => rows(80, 1).filter((r) => (r as { label: string }).label === l).length);
  const s = metricsOf('smote').embedResample;
  assert.equal(s.method, 'smote');
  assert.deepEqual(s.before, counts);
  assert.deepEqual(s.after, [counts[2], counts[1], counts[2]], "'high' grows to the largest class (ratio 1)");
  assert.equal(s.k, 3);
  assert.ok(s.headLossAfter < s.headLossBefore);
  const t = metricsOf('tomek').embedResample;
  assert.equal(t.after[0], counts[0], 'Tomek cleaning never drops the costly class');
  assert.ok(t.after[1] <= counts[1] && t.after[2] <= counts[2]);
  assert.match(lines.join('\n'), /data.embedResample smote on pooled embeddings: high \d+→\d+, low \d+→\d+, medium \d+→\d+; classifier retrained \(50 Adam steps, lr 0.01\)/);
  // the checkpoint holds the retrained classifier: the final test scores come from it
  assert.equal(typeof metricsOf('smote').test.expected_cost, 'number');
  const sets = (...x: string[]) => () => loadTrainConfig('finetune', { sets: ['outputDir=/nonexistent/x', 'data.dataset=changelog_urgency', ...x] });
  assert.throws(sets('data.embedResample=smote'), /'data.embedResample' needs task.costlyClass/);
  assert.throws(sets('task.costlyClass=high', 'data.embedResample=smote', 'data.resample=oversample'), /two resamplings of one split; choose one/);
});
