// One few-shot phase of each method, in-process on the float64 CPU reference backend with a tiny
// random encoder (1 layer, 16 wide): the same labelled sample for every method of a seed, the
// separation numbers and PCA projection of setfit, self-training rounds, EDA copies in the
// fine-tune's training file, and a metrics.json the sweep runner can read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hfConfig, initParams, loadRows, makeConfig, paramSpecs, ParamStore, WordPieceTokenizer, writeCheckpoint, type HeadSpec } from '@tunebench/trainer';
import { DATASETS } from '@tunebench/datasets';
import { runFewshotPhase } from '../../src/fewshot/phase.js';
import { openEncoder, embed, closeEncoder, contrastiveTrain } from '../../src/fewshot/encoder.js';
import { generatePairs } from '../../src/fewshot/pairs.js';
import { buildRecord, checkRecord, planSweep, presetByName } from '../../src/index.js';
import { createHash } from 'node:crypto';

const root = mkdtempSync(join(tmpdir(), 'tunebench-fewshot-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function tinyEncoder(): string {
  const dir = join(root, 'encoder');
  if (existsSync(dir)) return dir;
  const texts = loadRows('email', 'train', 'seq_cls', 300).map((r) => r.text!);
  const tok = WordPieceTokenizer.train(texts, { vocabSize: 200, minFrequency: 1, lowercase: true });
  const config = makeConfig({ numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, tok.vocabSize, { maxPositions: 32 });
  const heads: HeadSpec[] = [{ kind: 'mlm' }];
  const store = new ParamStore(paramSpecs(config, heads, null));
  initParams(store, 3, config.initializerRange);
  writeCheckpoint(dir, store, { config: hfConfig(config, { heads, task: { kind: 'mlm' }, labels: [], tokenizer: { lowercase: true } }), vocab: [...tok.vocab.tokens] });
  return dir;
}

const base = (method: string, name: string, extra: Record<string, unknown> = {}) => ({
  outputDir: join(root, name),
  method,
  model: { init: tinyEncoder() },
  data: { dataset: 'email', labels: [...(DATASETS.email?.labels ?? [])], shots: 3, seed: 5, maxLength: 16, maxEvalRows: 12, poolRows: 20 },
  batchSize: 4,
  ...extra,
});
const quiet = { log: () => {} };

test('every method of a seed sees the same labelled sample; metrics.json has what the runner reads', async () => {
  const setfit = { iterations: 1, loss: 'cosine', maxSteps: 2, lr: 1e-3 };
  const runs = [
    await runFewshotPhase(base('frozen_lr', 'frozen'), 'cpu', quiet),
    await runFewshotPhase(base('setfit', 'setfit', { setfit }), 'cpu', quiet),
    await runFewshotPhase(base('setfit', 'setfit-mnr', { setfit: { ...setfit, loss: 'mnr' }, head: { C: 0.5 } }), 'cpu', quiet),
    await runFewshotPhase(base('self_training', 'self', { setfit, selfTraining: { rounds: 2, threshold: 0.2 } }), 'cpu', quiet),
    await runFewshotPhase(base('finetune', 'ft-eda', { trainer: { training: { maxSteps: 2, batchSize: 4 }, strategy: { name: 'full' } }, data: { ...base('x', 'x').data, augment: { copies: 2 } } }), 'cpu', quiet),
  ];
  const ids = runs[0]!.sampleIds as string[];
  assert.equal(ids.length, 9);
  for (const [i, r] of runs.entries()) {
    assert.deepEqual(r.sampleIds, ids);
    const t = r.test as Record<string, number>;
    assert.ok(t.main_score >= 0 && t.main_score <= 1);
    assert.equal(t.count, 12);
    // Per-example test predictions (the record's evidence sidecar), whose accuracy is the phase's.
    const dir = join(root, ['frozen', 'setfit', 'setfit-mnr', 'self', 'ft-eda'][i]!);
    const lines = readFileSync(join(dir, 'test_predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { gold: string; pred: string });
    assert.equal(lines.length, 12);
    assert.equal(lines.filter((l) => l.gold === l.pred).length / 12, t.accuracy);
  }
  const [frozen, cos, mnr, self, ft] = runs as Record<string, any>[];
  assert.equal(frozen.steps, 0);
  assert.ok(Math.abs(frozen.test.separation_silhouette_frozen) <= 1);
  for (const r of [cos, mnr]) {
    assert.equal(r.steps, 2);
    for (const k of ['silhouette_before', 'silhouette_after', 'centroid_acc_before', 'centroid_acc_after']) assert.ok(Math.abs(r.test[`separation_${k}`]) <= 1, k);
  }
  // before the contrastive step the encoder is the frozen one: the same separation as frozen_lr's
  assert.ok(Math.abs(cos.test.separation_silhouette_before - frozen.test.separation_silhouette_frozen) < 1e-12);
  const proj = JSON.parse(readFileSync(join(root, 'setfit', 'projection.json'), 'utf8'));
  assert.equal(proj.before.points.length, 12);
  assert.equal(proj.after.points[0].length, 2);
  assert.ok(self.test.pseudo_labelled_round1 >= 0 && self.test.pseudo_labelled_round2 <= 20);
  assert.equal(self.test.pool_rows, 20);
  // The sample goes to the trainer as is; its data.augment adds the EDA copies (2 per row).
  assert.equal(ft.trainRows, 9 * 3);
  const trainFile = readFileSync(join(root, 'ft-eda', 'train.jsonl'), 'utf8').trim().split('\n');
  assert.equal(trainFile.length, 9);
  const trainerCfg = JSON.parse(readFileSync(join(root, 'ft-eda', 'trainer.config.json'), 'utf8'));
  assert.equal(trainerCfg.data.augment.copies, 2);
});

test('self-training on full fine-tuning: rounds of pool predictions above the threshold, a fresh fine-tune each round on sample + pseudo-labels, labels never read', async () => {
  const trainer = { training: { maxSteps: 2, batchSize: 4 }, strategy: { name: 'full' }, optimizer: { lr: 1e-2 } };
  // threshold 0: every pool row is pseudo-labelled; 1.01 is above any probability, so none is.
  const all = await runFewshotPhase(base('self_training', 'self-full', { trainer, selfTraining: { rounds: 2, threshold: 0 } }), 'cpu', quiet) as Record<string, any>;
  const none = await runFewshotPhase(base('self_training', 'self-full-none', { trainer, selfTraining: { rounds: 1, threshold: 1 } }), 'cpu', quiet) as Record<string, any>;
  const ft = await runFewshotPhase(base('finetune', 'ft-plain', { trainer }), 'cpu', quiet) as Record<string, any>;
  assert.equal(all.test.pool_rows, 20);
  assert.equal(all.test.pseudo_labelled_round1, 20);
  assert.equal(all.test.pseudo_labelled_round2, 20);
  assert.equal(all.steps, 3 * 2, 'three trainings of 2 steps: the teacher and one student per round');
  assert.equal(all.trainRows, 9 + 20);
  assert.deepEqual(all.sampleIds, ft.sampleIds);
  // Each round trains on the sample + the pool rows with the previous model's predicted labels.
  const sampleIds = new Set(all.sampleIds as string[]);
  for (const round of [1, 2]) {
    const rows = readFileSync(join(root, 'self-full', `round${round}`, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 29);
    const preds = new Map(readFileSync(join(root, 'self-full', `round${round}`, 'predict', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => { const p = JSON.parse(l); return [p.id, p.label]; }));
    for (const r of rows) if (!sampleIds.has(r.id)) assert.equal(r.label, preds.get(r.id), `round ${round}: ${r.id} carries the predicted label`);
  }
  // The pool file the model predicts holds no label.
  for (const l of readFileSync(join(root, 'self-full', 'pool.jsonl'), 'utf8').trim().split('\n')) assert.deepEqual(Object.keys(JSON.parse(l)).sort(), ['id', 'text']);
  // Nothing above the threshold: the student trains on the sample alone, from the same base and seeds as the plain fine-tune.
  assert.equal(none.test.pseudo_labelled_round1, 0);
  assert.equal(none.test.main_score, ft.test.main_score);
  await assert.rejects(runFewshotPhase(base('self_training', 'bad', { trainer, setfit: { iterations: 1 }, selfTraining: { rounds: 1, threshold: 0.5 } }), 'cpu', quiet), /one teacher/);
  await assert.rejects(runFewshotPhase(base('frozen_lr', 'bad2', { data: { ...base('x', 'x').data, augment: { copies: 2 } } }), 'cpu', quiet), /data.augment applies to fine-tuning/);
});

test('the contrastive step on the reference backend lowers the cosine loss of its pairs', async () => {
  const enc = await openEncoder(tinyEncoder(), { backend: 'cpu', maxLength: 16, batchSize: 4 });
  try {
    const texts = ['free money now', 'win a prize today', 'meeting at noon', 'agenda for the meeting'];
    const pairs = generatePairs(['s', 's', 'h', 'h'], 2, 1);
    const cos = (X: Float64Array, i: number, j: number) => { let s = 0; for (let d = 0; d < 16; d++) s += X[i * 16 + d] * X[j * 16 + d]; return s; };
    const loss = (X: Float64Array) => pairs.reduce((s, p) => s + (cos(X, p.a, p.b) - p.target) ** 2, 0) / pairs.length;
    const before = loss(await embed(enc, texts));
    await contrastiveTrain(enc, texts, pairs, { loss: 'cosine', epochs: 10, lr: 5e-3, weightDecay: 0, seed: 0, maxSteps: 0 });
    const after = loss(await embed(enc, texts));
    assert.ok(after < before, `pair loss ${before} → ${after}`);
  } finally {
    closeEncoder(enc);
  }
});

test('a fewshot phase becomes a valid run record (runner.buildRecord) with the separation numbers in its metrics', async () => {
  const plan = planSweep(presetByName('micro'), { suites: ['fewshot'], strategies: ['setfit.k8'] });
  const run = plan.runs.find((r) => r.strategy === 'setfit.k8')!;
  const cfg = { ...(run.phases[0]!.config as Record<string, any>) };
  cfg.model = { init: tinyEncoder() };
  cfg.data = { ...cfg.data, shots: 3, maxEvalRows: 10 };
  cfg.outputDir = join(root, 'record');
  const metrics = await runFewshotPhase(cfg, 'cpu', quiet);
  const rec = buildRecord(run, plan, new Map([['finetune', { dir: cfg.outputDir, metrics, config: cfg, source: 'ran' as const }]]), { gitRevision: null, baseModel: null });
  assert.equal(rec.phases[0]!.command, 'fewshot');
  assert.equal(rec.metrics.main_score, (metrics.test as { main_score: number }).main_score);
  for (const k of ['separation_silhouette_before', 'separation_silhouette_after', 'separation_centroid_acc_before', 'separation_centroid_acc_after']) assert.equal(typeof rec.metrics[k], 'number', k);
  assert.equal(rec.params.shots, 8);
  checkRecord(rec, 'fewshot record');
  // A run planned from a dataset's own base (suite.datasetBases) names that base by content.
  const own = buildRecord({ ...run, datasetBase: tinyEncoder() }, plan, new Map([['finetune', { dir: cfg.outputDir, metrics, config: cfg, source: 'ran' as const }]]), { gitRevision: null, baseModel: null });
  assert.equal(own.datasetBase!.source, tinyEncoder());
  assert.equal(own.datasetBase!.sha256, createHash('sha256').update(readFileSync(join(tinyEncoder(), 'model.safetensors'))).digest('hex'));
  checkRecord(own, 'fewshot record with its own base');
});
