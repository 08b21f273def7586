// Edge phases on the GPU (lavapipe in CI) with tiny shapes from random weights and the shipped base
// model's vocabulary, a few steps each: what metrics.json holds (per-task scores, their mean,
// parameters, size on disk, ms per example, steps and tokens), the single-task budget split, the
// distillation teacher, the deployable model on disk, determinism, refused inputs, and the run
// record the sweep runner builds from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import type { Gpu } from '@tunebench/kernels';
import { readCheckpoint } from '@tunebench/trainer';
import { runEdgePhase, singleTaskSteps } from '../../src/edge/phase.js';
import { samplingShares } from '../../src/edge/config.js';
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
  ...extra,
});
const SCORES = ['topic_accuracy', 'ner_strict_f1', 'search_recall_at_1'];

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

test('an edge phase becomes a valid run record: the row\'s deployment variant, per-task scores, parameters and size', async () => {
  const plan = planSweep(presetByName('micro'), { suites: ['edge'], strategies: ['multitask.fp32'] });
  const run = plan.runs.find((r) => r.strategy === 'multitask.fp32')!;
  assert.equal(run.deploy, 'fp32');
  const c = { ...(run.phases[0]!.config as Record<string, any>) };
  Object.assign(c, { outputDir: join(root, 'record'), model: { init: BASE, shape: TINY, fromScratch: true }, training: { ...c.training, steps: 3, batchSize: 4 }, data: { ...c.data, maxTrainRows: 20, maxEvalRows: 6 } });
  const metrics = await runEdgePhase(c, { ...quiet, gpu });
  const rec = buildRecord(run, plan, new Map([['finetune', { dir: c.outputDir, metrics, config: c, source: 'ran' as const }]]), { gitRevision: null, baseModel: null });
  const t = metrics.test as Record<string, number>;
  assert.equal(rec.phases[0]!.command, 'edge');
  assert.equal(rec.mainMetric, 'mean_task_score');
  assert.equal(rec.metrics.main_score, t.main_score);
  for (const k of [...SCORES, 'params', 'size_mb', 'ms_per_example', 'train_tokens']) assert.equal(rec.metrics[k], t[k], k);
  assert.equal(rec.totalParams, t.params);
  assert.equal(rec.params.deploy, 'fp32');
  // a row whose deployment variant the phase did not score is an error, not a silent fp32
  assert.throws(() => buildRecord({ ...run, deploy: 'int8' }, plan, new Map([['finetune', { dir: c.outputDir, metrics, config: c, source: 'ran' as const }]]), { gitRevision: null, baseModel: null }), /scored no deployment variant 'int8' \(has: fp32\)/);
});
