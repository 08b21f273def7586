// The few-shot protocol: pair generation (SetFit), the stratified labelled sample (the same for
// every strategy of a seed), the unlabelled pool (labels never exposed), EDA copies deterministic
// per seed, and the plan of the fewshot suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generatePairs } from '../../src/fewshot/pairs.js';
import { pickPseudoLabels } from '../../src/fewshot/pseudo_labels.js';
import { drawLabelledSample, unlabelledPool, type LabelledRow } from '../../src/fewshot/sample.js';
import { augmentRows } from '@tunebench/trainer';
import { INIT_BASE, planSweep, presetByName, skippedName } from '../../src/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fewshot } from '../../src/suites/fewshot.js';
import { evaluationTexts, mineGlossPairs } from '../../src/fewshot/make_st.js';
import { loadDataset } from '@tunebench/datasets';

/** Labels of a sample: K classes with 2..6 examples each, in a shuffled order. */
const sampleLabels = fc.integer({ min: 2, max: 5 }).chain((K) =>
  fc.array(fc.integer({ min: 2, max: 6 }), { minLength: K, maxLength: K }).chain((counts) =>
    fc.shuffledSubarray(counts.flatMap((c, k) => Array.from({ length: c }, () => `l${k}`)), { minLength: counts.reduce((a, b) => a + b, 0) })));

test('pairs: 2·n·iterations pairs, half positive; positives share the label, negatives do not; never an example with itself; only sample indices', () => {
  fc.assert(
    fc.property(sampleLabels, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (labels, iterations, seed) => {
      const pairs = generatePairs(labels, iterations, seed);
      const n = labels.length;
      assert.equal(pairs.length, 2 * n * iterations);
      assert.equal(pairs.filter((p) => p.target === 1).length, n * iterations);
      for (const p of pairs) {
        assert.ok(Number.isInteger(p.a) && p.a >= 0 && p.a < n && Number.isInteger(p.b) && p.b >= 0 && p.b < n);
        assert.notEqual(p.a, p.b);
        assert.equal(labels[p.a] === labels[p.b], p.target === 1);
      }
      // every example anchors exactly one positive and one negative per iteration
      for (let i = 0; i < n; i++) {
        assert.equal(pairs.filter((p) => p.a === i && p.target === 1).length, iterations);
        assert.equal(pairs.filter((p) => p.a === i && p.target === 0).length, iterations);
      }
      assert.deepEqual(generatePairs(labels, iterations, seed), pairs, 'deterministic for a seed');
    }),
  );
});

test('pairs: a class with one example or a single class is refused', () => {
  assert.throws(() => generatePairs(['a', 'a', 'b'], 1, 0), /label "b" has one example/);
  assert.throws(() => generatePairs(['a', 'a'], 1, 0), /single label/);
});

const rowsArb = fc.integer({ min: 2, max: 4 }).chain((K) =>
  fc.array(fc.record({ text: fc.string({ maxLength: 12 }), k: fc.integer({ min: 0, max: K - 1 }) }), { minLength: 4 * K, maxLength: 60 }).map((rs) => {
    const rows: LabelledRow[] = rs.map((r, i) => ({ id: `r${i}`, text: r.text, label: `c${r.k}` }));
    // every class has ≥ 2 rows
    for (let k = 0; k < K; k++) rows.push({ id: `x${k}a`, text: 'a', label: `c${k}` }, { id: `x${k}b`, text: 'b', label: `c${k}` });
    return { rows, labels: Array.from({ length: K }, (_, k) => `c${k}`) };
  }));

test('sample: stratified (shots per class), drawn from the rows, independent of row order, nested across shots, the same for a seed', () => {
  fc.assert(
    fc.property(rowsArb, fc.integer({ min: 0, max: 1e6 }), ({ rows, labels }, seed) => {
      const minCount = Math.min(...labels.map((l) => rows.filter((r) => r.label === l).length));
      const shots = Math.max(1, Math.min(minCount, 3));
      const s = drawLabelledSample(rows, labels, shots, seed);
      for (const l of labels) assert.equal(s.filter((r) => r.label === l).length, shots);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const r of s) assert.deepEqual(byId.get(r.id), r);
      assert.equal(new Set(s.map((r) => r.id)).size, s.length);
      assert.deepEqual(drawLabelledSample([...rows].reverse(), labels, shots, seed), s, 'row order does not matter');
      if (shots >= 2) {
        const small = drawLabelledSample(rows, labels, shots - 1, seed).map((r) => r.id);
        const big = new Set(s.map((r) => r.id));
        for (const id of small) assert.ok(big.has(id), 'the smaller sample is inside the larger one');
      }
    }),
  );
  assert.throws(() => drawLabelledSample([{ id: '1', text: 't', label: 'a' }, { id: '2', text: 't', label: 'b' }], ['a', 'b'], 2, 0), /fewer than 2 shots/);
});

test('unlabelled pool: the rows outside the sample, as {id, text} only, so no label can be read', () => {
  fc.assert(
    fc.property(rowsArb, fc.integer({ min: 0, max: 1e6 }), ({ rows, labels }, seed) => {
      const s = drawLabelledSample(rows, labels, 2, seed);
      const pool = unlabelledPool(rows, s);
      const taken = new Set(s.map((r) => r.id));
      assert.equal(pool.length + s.length, rows.length);
      for (const p of pool) {
        assert.deepEqual(Object.keys(p).sort(), ['id', 'text']);
        assert.ok(!taken.has(p.id));
        assert.equal((p as unknown as { label?: string }).label, undefined);
        assert.ok(Object.isFrozen(p));
        assert.ok(!JSON.stringify(p).includes('"label"'));
      }
    }),
  );
});

test('EDA copies (the trainer\'s data.augment): deterministic for a seed, N copies per example with its label', () => {
  const sample: LabelledRow[] = [
    { id: 'a', text: 'the quick brown fox jumps over the lazy dog near the river bank', label: 'x' },
    { id: 'b', text: 'please send the quarterly report to the finance team before friday', label: 'y' },
  ];
  const aug = { copies: 3, alphaSr: 0.2, alphaRi: 0.2, alphaRs: 0.2, pRd: 0.2 };
  const one = augmentRows(sample, aug, 7);
  assert.deepEqual(augmentRows(sample, aug, 7), one);
  assert.equal(one.length, 6);
  for (const r of one) assert.equal(r.label, r.id.startsWith('a/') ? 'x' : 'y');
  assert.notDeepEqual(augmentRows(sample, aug, 8).map((r) => r.text), one.map((r) => r.text));
});

test('plan: one fewshot phase per run; every strategy of a seed gets the same sample (dataset, shots, seed); quick = 2 seeds × shots 8, 32', () => {
  const plan = planSweep(presetByName('quick'), { suites: ['fewshot'], baseDir: new URL('../../../../models/tiny-en-base', import.meta.url).pathname, stBaseDir: '/nonexistent/tiny-en-st' });
  assert.ok(plan.runs.length > 0);
  const seeds = new Set(plan.runs.map((r) => r.seed));
  assert.deepEqual([...seeds].sort(), [0, 1]);
  const shots = new Set(plan.runs.map((r) => r.params.shots));
  assert.deepEqual([...shots].sort((a, b) => Number(a) - Number(b)), [8, 32]);
  for (const r of plan.runs) {
    assert.equal(r.phases.length, 1);
    const c = r.phases[0]!.config as { data: { seed: number; shots: number; dataset: string } };
    assert.equal(r.phases[0]!.command, 'fewshot');
    assert.equal(c.data.seed, r.seed);
    assert.equal(c.data.shots, r.params.shots);
    assert.equal(c.data.dataset, r.dataset);
  }
  // the sentence-encoder variants are left out, with the reason, while models/tiny-en-st is missing
  const st = plan.skipped.filter((s) => /_st\./.test(s.strategy));
  assert.ok(st.length > 0 && st.every((s) => /tiny-en-st/.test(s.reason)));
  assert.ok(fewshot.variants.every((v) => /^[a-z0-9_.=-]+$/.test(v.name)));
});

test('plan: few-shot fine-tunes train a fixed number of steps (full preset 200, quick its 100), not the preset\'s epochs over a 32-example sample', () => {
  const baseDir = new URL('../../../../models/tiny-en-base', import.meta.url).pathname;
  for (const [preset, steps] of [['quick', 100], ['full', 200]] as const) {
    const plan = planSweep(presetByName(preset), { suites: ['fewshot'], baseDir, stBaseDir: baseDir });
    const trained = plan.runs.filter((r) => ['full', 'full_eda', 'head_only', 'self_training_full'].includes(String(r.params.method)));
    assert.ok(trained.length > 0, preset);
    for (const r of trained) {
      const c = r.phases[0]!.config as { trainer: { training: { maxSteps: number } } | null };
      assert.equal(c.trainer?.training.maxSteps, steps, `${preset} ${r.runId}`);
    }
    // SetFit and frozen embeddings have no trainer section
    for (const r of plan.runs.filter((r) => ['setfit', 'frozen_lr'].includes(String(r.params.method)))) {
      assert.equal((r.phases[0]!.config as { trainer: unknown }).trainer, null, r.runId);
    }
  }
});

test('plan: zh_poetry starts from its own base (suite.datasetBases); the English-only *_st strategies are left out there only; a missing base leaves its runs out with the command that makes it', () => {
  const baseDir = new URL('../../../../models/tiny-en-base', import.meta.url).pathname;
  const zhBase = mkdtempSync(join(tmpdir(), 'tunebench-zh-base-'));
  try {
    writeFileSync(join(zhBase, 'model.safetensors'), '');
    const def = fewshot.datasetBases!.zh_poetry!;
    const withBase = { ...fewshot, datasetBases: { zh_poetry: { ...def, base: zhBase } } };
    const plan = planSweep(presetByName('quick'), { suiteDefs: [withBase], baseDir, stBaseDir: baseDir });
    const zh = plan.runs.filter((r) => r.dataset === 'zh_poetry');
    assert.ok(zh.length > 0);
    for (const r of zh) {
      assert.equal(r.datasetBase, zhBase);
      assert.equal(r.params.base, zhBase);
      assert.equal((r.phases[0]!.config as { model: { init: string } }).model.init, zhBase);
      assert.ok(!/_st\./.test(r.strategy), r.runId);
    }
    // Elsewhere: the sweep's base ('$base', filled in by the runner) and the *_st strategies run.
    const en = plan.runs.filter((r) => r.dataset !== 'zh_poetry');
    assert.ok(en.some((r) => /_st\./.test(r.strategy)));
    for (const r of en) assert.equal(r.datasetBase, undefined);
    assert.ok(en.filter((r) => !/_st\./.test(r.strategy)).every((r) => (r.phases[0]!.config as { model: { init: string } }).model.init === INIT_BASE));
    const left = plan.skipped.filter((s) => s.dataset === 'zh_poetry');
    assert.deepEqual(left.map((s) => s.strategy).sort(), def.exclude!.variants.filter((v) => /\.k(8|32)$/.test(v)).sort());
    assert.equal(skippedName(left[0]!), `fewshot/zh_poetry/${left[0]!.strategy}`);

    const missing = { ...fewshot, datasetBases: { zh_poetry: { ...def, base: 'models/no-such-base' } } };
    const p2 = planSweep(presetByName('quick'), { suiteDefs: [missing], baseDir, stBaseDir: baseDir });
    assert.equal(p2.runs.filter((r) => r.dataset === 'zh_poetry').length, 0);
    assert.equal(p2.runs.length, en.length);
    const why = p2.skipped.filter((s) => s.dataset === 'zh_poetry' && !def.exclude!.variants.includes(s.strategy));
    assert.equal(why.length, zh.length / 2); // one note per strategy, 2 seeds each
    for (const s of why) assert.match(s.reason, /models\/no-such-base, which does not exist \(made by `bash scripts\/make-zh-base\.sh`\)/);
  } finally {
    rmSync(zhBase, { recursive: true, force: true });
  }
});

test('pseudo-labels: eligible rows reach the threshold and take their argmax; topPerClass keeps the most confident of each class, at most that many; pool order', () => {
  const probsArb = fc.integer({ min: 1, max: 5 }).chain((K) => fc.tuple(fc.constant(K), fc.array(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: K, maxLength: K }), { minLength: 0, maxLength: 40 })));
  fc.assert(fc.property(probsArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 6 }), ([K, raw], threshold, top) => {
    // Rows of K probabilities with ties (integer weights, normalised).
    const rows = raw.map((w) => { const s = w.reduce((a, b) => a + b, 0); return w.map((x) => (s === 0 ? 1 / K : x / s)); });
    const flat = rows.flat();
    const picks = pickPseudoLabels(flat, K, threshold, top);
    const argmax = (r: number[]) => r.indexOf(Math.max(...r));
    const eligible = rows.map((r, i) => ({ i, k: argmax(r), c: Math.max(...r) })).filter((e) => e.c >= threshold);
    for (let j = 1; j < picks.length; j++) assert.ok(picks[j - 1]!.index < picks[j]!.index, 'pool order');
    for (const p of picks) {
      assert.equal(p.label, argmax(rows[p.index]!));
      assert.equal(p.confidence, Math.max(...rows[p.index]!));
      assert.ok(p.confidence >= threshold);
    }
    if (top === 0) assert.deepEqual(picks.map((p) => p.index), eligible.map((e) => e.i));
    for (let k = 0; k < K; k++) {
      const mine = picks.filter((p) => p.label === k);
      const all = eligible.filter((e) => e.k === k);
      assert.equal(mine.length, top === 0 ? all.length : Math.min(top, all.length));
      // No eligible row of the class left out is more confident than one kept.
      const minKept = Math.min(...mine.map((p) => p.confidence));
      for (const e of all) if (!mine.some((p) => p.index === e.i)) assert.ok(e.c <= minKept);
    }
  }), { numRuns: 300 });
  assert.throws(() => pickPseudoLabels([0.5, 0.5, 1], 2, 0), /not rows of 2 classes/);
});

test('plan: self-training rounds add the k most confident pool rows per class (topPerClass = shots)', () => {
  const plan = planSweep(presetByName('quick'), { suites: ['fewshot'], baseDir: new URL('../../../../models/tiny-en-base', import.meta.url).pathname, stBaseDir: '/nonexistent/tiny-en-st' });
  const st = plan.runs.filter((r) => r.params.method === 'self_training' || r.params.method === 'self_training_full');
  assert.ok(st.length > 0);
  for (const r of st) {
    const c = r.phases[0]!.config as { selfTraining: { rounds: number; threshold: number; topPerClass: number } };
    assert.deepEqual(c.selfTraining, { rounds: 2, threshold: 0, topPerClass: r.params.shots });
    assert.equal(r.params.top_per_class, r.params.shots);
  }
});

test('tiny-en-st pairs: mined from wn_topic train only, no dev/test text of any dataset, held-out pairs disjoint from training pairs', () => {
  const { train, heldout } = mineGlossPairs();
  assert.ok(train.length > 1000 && heldout.length > 100);
  const avoid = evaluationTexts();
  const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();
  const trainIds = new Set(loadDataset('wn_topic', 'train').map((r) => r.id));
  const heldIds = new Set(heldout.map((p) => p.id));
  for (const p of [...train, ...heldout]) {
    assert.ok(trainIds.has(p.id), `${p.id} is not a wn_topic train row`);
    assert.ok(!avoid.has(norm(p.zh)), `${p.id}: its gloss is an evaluation text`);
  }
  for (const p of train) assert.ok(!heldIds.has(p.id));
});
