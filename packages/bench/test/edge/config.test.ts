// The edge phase's config (validation, clear errors), the task sampling shares and the single-task
// budget split (pure functions, fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkEdgeConfig, samplingShares } from '../../src/edge/config.js';
import { pickByShare } from '../../src/edge/net.js';
import { singleTaskSteps } from '../../src/edge/phase.js';
import { edgePhaseConfig, EDGE_SIZES } from '../../src/edge/plan_phase.js';
import { PRESETS } from '../../src/index.js';

const TASKS = [
  { name: 'topic', kind: 'seq_cls', dataset: 'wn_topic' },
  { name: 'ner', kind: 'token_cls', dataset: 'ner_en' },
  { name: 'search', kind: 'embedding', dataset: 'wn_gloss_pairs' },
];
const ok = () => ({ outputDir: '/tmp/x', mode: 'multi', model: { init: 'models/tiny-en-base' }, multi: { tasks: structuredClone(TASKS) } });

test('a minimal config gets every default filled in', () => {
  const c = checkEdgeConfig(ok());
  assert.equal(c.multi.sampling, 'temperature');
  assert.equal(c.multi.samplingTemperature, 2);
  assert.deepEqual(c.multi.tasks.map((t) => t.weight), [1, 1, 1]);
  assert.deepEqual(c.variants, ['fp32', 'int8', 'onnx', 'onnx_int8']);
  assert.equal(c.ortThreads, 1);
  assert.equal(c.model.fromScratch, false);
  assert.equal(c.model.shape, null);
  assert.equal(c.distill, null);
  assert.equal(c.training.steps, 100);
});

test('bad configs are errors that name the source and the field', () => {
  const bad = (patch: (c: Record<string, any>) => void, re: RegExp) => {
    const c: Record<string, any> = ok();
    patch(c);
    assert.throws(() => checkEdgeConfig(c, 'my.json'), (e: Error) => /^my\.json: /.test(e.message) && re.test(e.message), re.source);
  };
  bad((c) => { c.mode = 'joint'; }, /\/mode must be equal to one of the allowed values \(single, multi, distill\)/);
  bad((c) => { c.multi.tasks[0].kind = 'mlm'; }, /\/multi\/tasks\/0\/kind/);
  bad((c) => { c.multi.tasks[1].weight = 0; }, /\/multi\/tasks\/1\/weight must be > 0/);
  bad((c) => { c.multi.tasks[2].name = 'topic'; }, /\/multi\/tasks\/2\/name 'topic' is used twice/);
  bad((c) => { c.multi.tasks.push({ name: 'search2', kind: 'embedding', dataset: 'wn_gloss_pairs' }); }, /2 embedding tasks/);
  bad((c) => { c.multi.tasks = []; }, /\/multi\/tasks must NOT have fewer than 1 items/);
  bad((c) => { c.multi.sampling = 'round_robin'; }, /\/multi\/sampling/);
  bad((c) => { c.multi.samplingTemperature = 0.5; }, /\/multi\/samplingTemperature must be >= 1/);
  bad((c) => { c.multi.lossWeights = [1, 2]; }, /must NOT have additional properties: lossWeights/);
  bad((c) => { c.mode = 'distill'; }, /mode distill needs a "distill" section/);
  bad((c) => { c.distill = { teacher: { model: { init: 'x' } } }; }, /only read in mode distill/);
  bad((c) => { c.mode = 'distill'; c.distill = { teacher: { model: { init: 'x' } }, kdWeight: 0, ceWeight: 0 }; }, /kdWeight and ceWeight are both 0/);
  bad((c) => { c.mode = 'distill'; c.distill = { teacher: { model: { init: 'x' } }, temperature: 0 }; }, /\/distill\/temperature must be > 0/);
  bad((c) => { c.model.shape = { numLayers: 2, hiddenSize: 30, numHeads: 4, intermediateSize: 8 }; }, /\/model\/shape hiddenSize 30 is not divisible by numHeads 4/);
  bad((c) => { c.variants = ['int4']; }, /\/variants\/0 must be equal to one of the allowed values \(fp32, int8, onnx, onnx_int8\)/);
  bad((c) => { c.variants = ['int8', 'int8']; }, /\/variants must NOT have duplicate items/);
  bad((c) => { c.variants = []; }, /\/variants must NOT have fewer than 1 items/);
  bad((c) => { c.ortThreads = -1; }, /\/ortThreads must be >= 0/);
});

test('sampling shares: a distribution; proportional to rows, uniform, and temperature p ∝ n^(1/T) (T = 1 proportional, T → ∞ uniform)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 100000 }), { minLength: 1, maxLength: 6 }), fc.double({ min: 1, max: 50, noNaN: true }), (rows, T) => {
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const prop = samplingShares(rows, 'proportional', T);
    const unif = samplingShares(rows, 'uniform', T);
    const temp = samplingShares(rows, 'temperature', T);
    for (const p of [prop, unif, temp]) {
      assert.ok(Math.abs(sum(p) - 1) < 1e-12);
      assert.ok(p.every((x) => x > 0));
    }
    const total = sum(rows);
    rows.forEach((n, i) => {
      assert.ok(Math.abs(prop[i]! - n / total) < 1e-12);
      assert.ok(Math.abs(unif[i]! - 1 / rows.length) < 1e-12);
    });
    const one = samplingShares(rows, 'temperature', 1);
    rows.forEach((_, i) => assert.ok(Math.abs(one[i]! - prop[i]!) < 1e-12));
    // p_i / p_j = (n_i / n_j)^(1/T); the largest task loses share and the smallest gains as T grows.
    rows.forEach((n, i) => rows.forEach((m, j) => assert.ok(Math.abs(Math.log(temp[i]! / temp[j]!) - Math.log(n / m) / T) < 1e-9)));
    const big = rows.indexOf(Math.max(...rows)), small = rows.indexOf(Math.min(...rows));
    const hotter = samplingShares(rows, 'temperature', T * 2);
    assert.ok(hotter[big]! <= temp[big]! + 1e-12 && temp[big]! <= prop[big]! + 1e-12);
    assert.ok(hotter[small]! >= temp[small]! - 1e-12 && temp[small]! >= prop[small]! - 1e-12);
    const far = samplingShares(rows, 'temperature', 1e9);
    rows.forEach((_, i) => assert.ok(Math.abs(far[i]! - 1 / rows.length) < 1e-6));
  }));
  assert.throws(() => samplingShares([3, 0], 'proportional', 1), /task 1 has 0 training rows/);
});

test('pickByShare draws each task with its share; single-task steps split the budget by share', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 500 }), (w, steps) => {
    const s = w.reduce((a, b) => a + b, 0);
    const p = w.map((x) => x / s);
    // u ∈ [0, 1) on a fine grid: the fraction of u picking task i is its share
    const n = 20000;
    const counts = new Array(p.length).fill(0);
    for (let k = 0; k < n; k++) counts[pickByShare(p, (k + 0.5) / n)]++;
    p.forEach((pi, i) => assert.ok(Math.abs(counts[i] / n - pi) <= 1 / n + 1e-9, `task ${i}: ${counts[i] / n} vs ${pi}`));
    const st = singleTaskSteps(steps, p);
    assert.ok(st.every((x) => Number.isInteger(x) && x >= 1));
    // rounding moves each model by at most half a step (or up to 1 for a share under one step)
    st.forEach((x, i) => assert.ok(Math.abs(x - steps * p[i]!) <= Math.max(0.5, 1 - steps * p[i]!) + 1e-9));
  }));
});

test('the planned phase configs of every preset validate; small students and teachers train from scratch with the base vocabulary', () => {
  for (const preset of Object.values(PRESETS)) {
    for (const mode of ['single', 'multi', 'distill'] as const) {
      for (const student of ['base', 'small'] as const) {
        const raw = edgePhaseConfig({ mode, student, deploy: 'fp32' }, 3, preset, '$base');
        const c = checkEdgeConfig({ ...raw, outputDir: '/tmp/x' }, `${preset.name} ${mode} ${student}`);
        assert.equal(c.data.seed, 3);
        assert.equal(c.model.fromScratch, student === 'small');
        assert.deepEqual(c.model.shape, student === 'small' ? EDGE_SIZES[preset.name].small : null);
        if (c.distill) {
          assert.equal(c.distill.teacher.model.fromScratch, true);
          assert.deepEqual(c.distill.teacher.model.shape, EDGE_SIZES[preset.name].teacher.shape);
        }
      }
    }
  }
  // The shapes: the teacher of quick/full is `mini` (L4 H256), the small student L2 H64.
  assert.deepEqual(EDGE_SIZES.quick.teacher.shape, { numLayers: 4, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 });
  assert.deepEqual(EDGE_SIZES.full.small, { numLayers: 2, hiddenSize: 64, numHeads: 2, intermediateSize: 256 });
});
