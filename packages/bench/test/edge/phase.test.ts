// Edge phases on the GPU (lavapipe in CI) with tiny shapes from random weights and the shipped base
// model's vocabulary, a few steps each: what metrics.json holds (per-task scores, their mean,
// parameters, size on disk, ms per example, steps and tokens), the single-task budget split, the
// distillation teacher, the deployable model on disk, determinism, refused inputs, and the run
// record the sweep runner builds from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import type { Gpu } from '@tunebench/kernels';
import { readCheckpoint } from '@tunebench/trainer';
import { runEdgePhase, singleTaskSteps } from '../../src/edge/phase.js';
import { EDGE_VARIANTS, samplingShares } from '../../src/edge/config.js';
import { buildRecord, planSweep, presetByName, repoRoot } from '../../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const root = mkdtempSync(join(tmpdir(), 'tunebench-edge-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const BASE = join(repoRoot, 'models', 'tiny-en-base');
const TINY = { numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };
const TEACHER = { numLayers: 1, hiddenSize: 32, numHeads: 2, intermediateSize: 64 };
const TASKS = [
  { name: 'topic', kind: 'seq_cls', dataset: 'wn_topic' },
  { name: 'ner', kind: 'token_cls', dataset: 'ner_en', weight: 2 },
  { name: 'search', kind: 'embedding', dataset: 'wn_gloss_pairs' },
];
const quiet = { log: () => {} };
const cfg = (name: string, mode: string, extra: Record<string, unknown> = {}) => ({
  outputDir: join(root, name),
  mode,
  model: { init: BASE, shape: TINY, fromScratch: true },
  multi: { tasks: TASKS, sampling: 'proportional' },
  training: { steps: 5, batchSize: 4, lr: 1e-3 },
  data: { maxLength: 16, maxTrainRows: 30, maxEvalRows: 8, seed: 1 },
  latencyBatches: 1,
  // fp32 only unless a test asks for more: the deployment variants have their own tests below
  variants: ['fp32'],
  ...extra,
});
const SCORES = ['topic_accuracy', 'ner_strict_f1', 'search_recall_at_1'];
/** How far an int8 task score may be from fp32's on 8 test rows a task (one flipped row of 8 is 0.125). */
const INT8_TOL = 0.25;
/** The scores compared across variants: the main ones and graded ones that are not 0 after a few steps. */
const COMPARED = [...SCORES, 'search_mrr', 'ner_token_accuracy', 'topic_macro_f1'];

function checkCommon(m: Record<string, any>, dir: string, models: string[]): void {
  const t = m.test as Record<string, number>;
  assert.deepEqual(m.variants, { fp32: t });
  for (const k of SCORES) assert.ok(t[k]! >= 0 && t[k]! <= 1, `${k} = ${t[k]}`);
  assert.ok(Math.abs(t.main_score! - SCORES.reduce((s, k) => s + t[k]!, 0) / 3) < 1e-12, 'main_score = mean of the task scores');
  for (const k of ['topic', 'ner', 'search']) assert.ok(t[`ms_per_example_${k}`]! > 0);
  assert.ok(Math.abs(t.ms_per_example! - (t.ms_per_example_topic! + t.ms_per_example_ner! + t.ms_per_example_search!) / 3) < 1e-9);
  // size on disk: the deployable files written under models/
  const bytes = models.reduce((s, n) => s + statSync(join(dir, 'models', n, 'model.safetensors')).size, 0);
  assert.equal(t.size_mb, bytes / 1e6);
  assert.deepEqual((m.models as { name: string }[]).map((x) => x.name), models);
  assert.equal(t.params, (m.models as { params: number }[]).reduce((s, x) => s + x.params, 0));
  assert.equal(m.totalParams, t.params);
  assert.equal(m.tokens, (m.models as { tokens: number }[]).reduce((s, x) => s + x.tokens, 0));
  assert.equal(t.train_tokens, m.tokens);
  assert.equal(m.mainMetric, 'mean_task_score');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')), JSON.parse(JSON.stringify(m)));
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).command, 'edge');
}

test('multi: one encoder, three heads; every step trains one sampled task; the model on disk holds the three heads and reloads', async () => {
  const m = await runEdgePhase(cfg('multi', 'multi'), { ...quiet, gpu }) as Record<string, any>;
  checkCommon(m, join(root, 'multi'), ['multitask']);
  assert.equal(m.steps, 5);
  const byTask = m.models[0].stepsByTask as Record<string, number>;
  assert.equal(Object.values(byTask).reduce((a, b) => a + b, 0), 5);
  const shares = m.shares as Record<string, number>;
  assert.ok(Math.abs(Object.values(shares).reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const ck = readCheckpoint(join(root, 'multi', 'models', 'multitask'));
  assert.equal((ck.config.tunebench as { heads: unknown[] }).heads.length, 3);
  assert.ok(ck.weights.has('heads.0.classifier.weight') && ck.weights.has('heads.1.classifier.weight'), 'one classifier per classification task');
  assert.equal(ck.config.hidden_size, 16);
  assert.ok(ck.vocab && ck.vocab.length > 1000, 'the vocabulary ships with the model');
  // the same config and seed give the same model, bit for bit
  const again = await runEdgePhase(cfg('multi-again', 'multi'), { ...quiet, gpu }) as Record<string, any>;
  for (const k of SCORES) assert.equal(again.test[k], m.test[k], k);
  assert.deepEqual(readFileSync(join(root, 'multi-again', 'models', 'multitask', 'model.safetensors')), readFileSync(join(root, 'multi', 'models', 'multitask', 'model.safetensors')));
  await assert.rejects(runEdgePhase(cfg('multi', 'multi'), { ...quiet, gpu }), /already holds a finished phase/);
});

test('every deployment variant from one training: the fp32 row is the fp32-only phase\'s, the others score the same weights, each sized by its own file', async () => {
  const m = await runEdgePhase(cfg('variants', 'multi', { variants: [...EDGE_VARIANTS] }), { ...quiet, gpu }) as Record<string, any>;
  const dir = join(root, 'variants');
  // the fp32-only phase of the same config (the multi test's, or run here when that test is skipped)
  const onlyDir = join(root, 'multi');
  const only = existsSync(join(onlyDir, 'metrics.json'))
    ? JSON.parse(readFileSync(join(onlyDir, 'metrics.json'), 'utf8'))
    : await runEdgePhase(cfg('multi', 'multi'), { ...quiet, gpu }) as Record<string, any>;
  // trained once, as without the variants: the same steps, losses and weights, bit for bit
  assert.equal(m.steps, 5);
  assert.deepEqual(m.history, only.history);
  assert.deepEqual(readFileSync(join(dir, 'models', 'multitask', 'model.safetensors')), readFileSync(join(onlyDir, 'models', 'multitask', 'model.safetensors')));
  assert.deepEqual(Object.keys(m.variants), [...EDGE_VARIANTS]);
  assert.deepEqual(m.test, m.variants.fp32);
  const timing = (k: string) => k.startsWith('ms_per_example');
  for (const [k, x] of Object.entries(only.variants.fp32 as Record<string, number>)) if (!timing(k)) assert.equal(m.variants.fp32[k], x, `fp32 ${k}`);
  const files: Record<string, string> = {
    fp32: join('models', 'multitask', 'model.safetensors'), int8: join('models', 'multitask.int8', 'model.int8.safetensors'),
    onnx: join('models', 'multitask.onnx'), onnx_int8: join('models', 'multitask.int8.onnx'),
  };
  const fp = m.variants.fp32 as Record<string, number>;
  for (const v of EDGE_VARIANTS) {
    const t = m.variants[v] as Record<string, number>;
    // the same columns as fp32 (a task's loss only where the runtime computes it: not ONNX Runtime's graph)
    const noLoss = (o: Record<string, number>) => Object.keys(o).filter((k) => !k.endsWith('_loss')).sort();
    assert.deepEqual(noLoss(t), noLoss(fp), `${v}: the same columns as fp32`);
    assert.ok(Math.abs(t.main_score! - SCORES.reduce((s, k) => s + t[k]!, 0) / 3) < 1e-12, `${v} main_score`);
    for (const k of SCORES) assert.ok(t[k]! >= 0 && t[k]! <= 1, `${v} ${k} = ${t[k]}`);
    assert.equal(t.params, fp.params);
    assert.equal(t.train_tokens, fp.train_tokens);
    for (const k of ['topic', 'ner', 'search']) assert.ok(t[`ms_per_example_${k}`]! > 0, `${v} ms_per_example_${k}`);
    assert.equal(t.size_mb, statSync(join(dir, files[v]!)).size / 1e6, `${v}: size of ${files[v]}`);
    assert.deepEqual(m.models[0].files[v], { path: files[v], bytes: t.size_mb! * 1e6 });
    assert.equal(typeof m.runtimes[v], 'string');
    if (process.env.EDGE_VARIANTS_DEBUG) console.log(v, COMPARED.map((k) => t[k]), t.size_mb, t.ms_per_example);
  }
  assert.ok(m.variants.int8.size_mb < fp.size_mb! && m.variants.onnx_int8.size_mb < m.variants.onnx.size_mb);
  // ONNX Runtime computes the fp32 model's outputs (≤ 1e-3 relative, deploy.test.ts): the same
  // predictions, so the same scores; int8 moves outputs by < 2 %: on these 8 test rows per task a
  // near-tie may flip, so each int8 score is within INT8_TOL of fp32's. After 5 steps the main
  // scores may all be 0, so the graded ones (MRR, token accuracy, macro F1) are compared too.
  for (const k of COMPARED) {
    assert.ok(Math.abs(m.variants.onnx[k] - fp[k]!) < 1e-9, `onnx ${k}: ${m.variants.onnx[k]} vs fp32 ${fp[k]}`);
    assert.ok(Math.abs(m.variants.onnx_int8[k] - m.variants.int8[k]) < 1e-9, `onnx_int8 ${k}: ${m.variants.onnx_int8[k]} vs int8 ${m.variants.int8[k]}`);
    assert.ok(Math.abs(m.variants.int8[k] - fp[k]!) <= INT8_TOL, `int8 ${k}: ${m.variants.int8[k]} vs fp32 ${fp[k]}`);
  }
});

test('single: three models, each trained for its share of the steps, together the parameters of three', async () => {
  const m = await runEdgePhase(cfg('single', 'single', { training: { steps: 9, batchSize: 4, lr: 1e-3 } }), { ...quiet, gpu }) as Record<string, any>;
  checkCommon(m, join(root, 'single'), ['topic', 'ner', 'search']);
  // proportional shares of the (capped, so equal) training rows
  const shares = samplingShares([30, 30, 30], 'proportional', 1);
  assert.deepEqual((m.models as { steps: number }[]).map((x) => x.steps), singleTaskSteps(9, shares));
  assert.equal(m.steps, 9);
  for (const x of m.models as { name: string; stepsByTask: Record<string, number> }[]) assert.deepEqual(Object.keys(x.stepsByTask), [x.name]);
});

test('distill: a teacher trained first (scores recorded), the student learns from its logits on the classifier heads and its hidden states on every task', async () => {
  const distill = { teacher: { model: { init: BASE, shape: TEACHER, fromScratch: true }, training: { steps: 4, batchSize: 4, lr: 1e-3 } }, temperature: 2, kdWeight: 0.7, ceWeight: 0.3, hiddenMse: { weight: 0.5 } };
  const m = await runEdgePhase(cfg('distill', 'distill', { distill, training: { steps: 8, batchSize: 4, lr: 1e-3 }, multi: { tasks: TASKS, sampling: 'uniform' } }), { ...quiet, gpu }) as Record<string, any>;
  checkCommon(m, join(root, 'distill'), ['student']);
  assert.equal(m.teacher.steps, 4);
  assert.ok(m.teacher.params > m.totalParams, 'the teacher is the larger model');
  for (const k of SCORES) assert.equal(typeof m.teacher.scores[k], 'number');
  const h = m.history as { task: string; kd?: number; hidden?: number }[];
  for (const x of h) {
    if (x.task === 'search') assert.equal(x.kd, undefined, 'no teacher signal on the embedding head');
    else assert.ok(Number.isFinite(x.kd) && x.kd! >= 0, `kd ${x.kd}`);
    assert.ok(Number.isFinite(x.hidden) && x.hidden! > 0, 'hidden-state MSE on every task');
  }
  // the teacher is not deployed: its weights are not counted in size_mb
  assert.equal(m.test.size_mb, statSync(join(root, 'distill', 'models', 'student', 'model.safetensors')).size / 1e6);
});

test('refused: a teacher with another vocabulary, an embedding task on other data', async () => {
  const other = join(root, 'other-vocab');
  cpSync(BASE, other, { recursive: true });
  const vocab = readFileSync(join(other, 'vocab.txt'), 'utf8').split('\n');
  vocab[vocab.length - 2] = 'zzzz-not-in-the-base';
  writeFileSync(join(other, 'vocab.txt'), vocab.join('\n'));
  const distill = { teacher: { model: { init: other, shape: TEACHER, fromScratch: true } } };
  await assert.rejects(runEdgePhase(cfg('bad-vocab', 'distill', { distill }), { ...quiet, gpu }), /another vocabulary than \/model\/init/);
  const tasks = [TASKS[0], { name: 'search', kind: 'embedding', dataset: 'en_zh_pairs' }];
  await assert.rejects(runEdgePhase(cfg('bad-pairs', 'multi', { multi: { tasks } }), { ...quiet, gpu }), /embedding task's dataset must be 'wn_gloss_pairs'/);
  await assert.rejects(runEdgePhase(cfg('bad-shape', 'multi', { model: { init: BASE, shape: TINY } }), { ...quiet, gpu }), /set fromScratch: true/);
});

test('an edge phase becomes valid run records, one per deployment variant: each row takes its variant\'s scores, parameters and size', async () => {
  const plan = planSweep(presetByName('micro'), { suites: ['edge'], strategies: ['multitask.fp32', 'multitask.int8'] });
  const run = plan.runs.find((r) => r.strategy === 'multitask.fp32')!;
  const run8 = plan.runs.find((r) => r.strategy === 'multitask.int8')!;
  assert.equal(run.deploy, 'fp32');
  assert.equal(run8.deploy, 'int8');
  // the rows of one model run the same phase (equal configs: the phase cache trains it once)
  assert.deepEqual(run8.phases[0]!.config, run.phases[0]!.config);
  const c = { ...(run.phases[0]!.config as Record<string, any>) };
  assert.deepEqual(c.variants, [...EDGE_VARIANTS]);
  Object.assign(c, { outputDir: join(root, 'record'), model: { init: BASE, shape: TINY, fromScratch: true }, training: { ...c.training, steps: 3, batchSize: 4 }, data: { ...c.data, maxTrainRows: 20, maxEvalRows: 6 }, variants: ['fp32', 'int8'] });
  const metrics = await runEdgePhase(c, { ...quiet, gpu });
  const outcomes = new Map([['finetune', { dir: c.outputDir, metrics, config: c, source: 'ran' as const }]]);
  for (const [r, v] of [[run, 'fp32'], [run8, 'int8']] as const) {
    const rec = buildRecord(r, plan, outcomes, { gitRevision: null, baseModel: null });
    const t = (metrics.variants as Record<string, Record<string, number>>)[v]!;
    assert.equal(rec.phases[0]!.command, 'edge');
    assert.equal(rec.mainMetric, 'mean_task_score');
    assert.equal(rec.metrics.main_score, t.main_score);
    for (const k of [...SCORES, 'params', 'size_mb', 'ms_per_example', 'train_tokens']) assert.equal(rec.metrics[k], t[k], `${v} ${k}`);
    assert.equal(rec.totalParams, t.params);
    assert.equal(rec.params.deploy, v);
  }
  // a row whose deployment variant the phase did not score is an error, not a silent fp32
  const runOnnx = { ...run, deploy: 'onnx' };
  assert.throws(() => buildRecord(runOnnx, plan, outcomes, { gitRevision: null, baseModel: null }), /scored no deployment variant 'onnx' \(has: fp32, int8\)/);
});
