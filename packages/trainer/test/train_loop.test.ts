// The training loop end to end on the float64 reference backend (exact, no GPU): loss goes down
// and dev accuracy beats the majority class; a run killed mid-way and resumed ends with the same
// weights bit for bit; pretrain → finetune from that checkpoint → evaluate → predict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig, loadInferConfig } from '../src/config/index.js';
import { runTraining, runInference, backendFactory } from '../src/train/index.js';
import { readCheckpoint } from '../src/checkpoint/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-loop-'));
const cpu = backendFactory('cpu');

// A small sentiment-like task: the label is decided by which cue words a sentence has; filler
// words are shared. Seeded, so the files are the same every run.
const POS = ['good', 'great', 'fine', 'nice'];
const NEG = ['bad', 'awful', 'poor', 'sad'];
const FILL = ['the', 'a', 'film', 'was', 'very', 'and', 'plot', 'acting', 'it', 'is'];
function rand(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
function makeRows(n: number, seed: number, posShare: number) {
  const r = rand(seed);
  const pick = (a: string[]) => a[Math.floor(r() * a.length)];
  return Array.from({ length: n }, (_, i) => {
    const pos = r() < posShare;
    const words = Array.from({ length: 3 + Math.floor(r() * 4) }, () => pick(FILL));
    words.splice(Math.floor(r() * words.length), 0, pick(pos ? POS : NEG));
    return { id: `r${seed}-${i}`, text: words.join(' '), label: pos ? 'pos' : 'neg' };
  });
}
const jsonl = (name: string, rows: object[]) => {
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
};
const trainFile = jsonl('train.jsonl', makeRows(96, 1, 0.5));
const devFile = jsonl('dev.jsonl', makeRows(40, 2, 0.6));
const vocabFile = join(dir, 'vocab.txt');
writeFileSync(vocabFile, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...POS, ...NEG, ...FILL].join('\n') + '\n');

const SHAPE = { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };
const base = (out: string, extra: object = {}) => ({
  outputDir: join(dir, out),
  model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
  tokenizer: { vocab: vocabFile },
  data: { train: trainFile, dev: devFile, maxLength: 16 },
  task: { kind: 'seq_cls', pooling: 'mean' },
  optimizer: { lr: 1e-2, weightDecay: 0.01 },
  schedule: { name: 'linear', warmupSteps: 2 },
  training: { batchSize: 16, epochs: 8, logEvery: 2, evalEvery: 0 },
  ...extra,
});
const cfgFile = (name: string, obj: object) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(obj));
  return p;
};

test('finetune (cpu reference): the loss goes down and dev accuracy beats the majority class', async () => {
  const cfg = loadTrainConfig('finetune', { file: cfgFile('ft.json', base('ft')) });
  const r = await runTraining('finetune', cfg, { backend: cpu, progress: false });
  const m = r.metrics as { trainLossFirst: number; trainLossLast: number; dev: { accuracy: number }; majorityBaseline: { dev: number }; steps: number };
  assert.equal(m.steps, 48); // 8 epochs × ceil(96 / 16)
  assert.ok(m.trainLossLast < m.trainLossFirst * 0.7, `loss ${m.trainLossFirst} → ${m.trainLossLast}`);
  assert.ok(m.majorityBaseline.dev >= 0.5 && m.majorityBaseline.dev < 0.8);
  assert.ok(m.dev.accuracy > m.majorityBaseline.dev + 0.1, `dev accuracy ${m.dev.accuracy} vs majority ${m.majorityBaseline.dev}`);
  // The run directory holds the resolved config, the log, metrics and a loadable checkpoint.
  for (const f of ['config.json', 'log.txt', 'metrics.json', 'checkpoint/model.safetensors', 'checkpoint/vocab.txt', 'checkpoint/optimizer.safetensors', 'checkpoint/trainer_state.json']) {
    assert.ok(existsSync(join(r.runDir, f)), f);
  }
  assert.match(readFileSync(join(r.runDir, 'log.txt'), 'utf8'), /step 48\/48 epoch \d+ loss \d\.\d{4} lr/);
  const ck = readCheckpoint(join(r.runDir, 'checkpoint'));
  assert.deepEqual((ck.config.tunebench as { labels: string[] }).labels, ['neg', 'pos']);

  // evaluate + predict the checkpoint
  const ev = await runInference('evaluate', loadInferConfig('evaluate', { sets: [`outputDir=${join(dir, 'ev')}`, `checkpoint=${join(r.runDir, 'checkpoint')}`, `data.file=${devFile}`] }), cpu, { progress: false });
  assert.equal((ev.metrics as { accuracy: number }).accuracy, m.dev.accuracy);
  await runInference('predict', loadInferConfig('predict', { sets: [`outputDir=${join(dir, 'pr')}`, `checkpoint=${join(r.runDir, 'checkpoint')}`, `data.file=${devFile}`] }), cpu, { progress: false });
  const preds = readFileSync(join(dir, 'pr', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(preds.length, 40);
  const gold = readFileSync(devFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const acc = preds.filter((p, i) => p.id === gold[i].id && p.label === gold[i].label).length / 40;
  assert.equal(acc, m.dev.accuracy);
  for (const p of preds) assert.ok(Math.abs(p.probs[0] + p.probs[1] - 1) < 1e-6);
});

test('resume: killed after step 5 (checkpoint at 4), resumed, ends bit-identical to an uninterrupted run', async () => {
  const extra = { training: { batchSize: 8, maxSteps: 8, logEvery: 1, saveEvery: 2, evalEvery: 0 }, optimizer: { lr: 3e-3, weightDecay: 0.01, gradAccumSteps: 2 }, strategy: { name: 'top_k', k: 1 } };
  const full = await runTraining('finetune', loadTrainConfig('finetune', { file: cfgFile('full.json', base('full', extra)) }), { backend: cpu, progress: false });
  const cfgK = loadTrainConfig('finetune', { file: cfgFile('killed.json', base('killed', extra)) });
  await runTraining('finetune', cfgK, { backend: cpu, progress: false, stopAfterStep: 5 });
  const mid = readCheckpoint(join(dir, 'killed', 'checkpoint'));
  assert.equal((mid.trainerState as { step: number }).step, 4);
  await assert.rejects(runTraining('finetune', cfgK, { backend: cpu, progress: false }), /already holds a run; use --resume/);
  const resumed = await runTraining('finetune', cfgK, { backend: cpu, progress: false, resume: true });
  assert.equal(resumed.steps, 8);
  assert.equal(Buffer.compare(Buffer.from(resumed.store.data.buffer), Buffer.from(full.store.data.buffer)), 0, 'final weights differ');
  const a = readFileSync(join(dir, 'full', 'checkpoint', 'optimizer.safetensors'));
  const b = readFileSync(join(dir, 'killed', 'checkpoint', 'optimizer.safetensors'));
  assert.equal(Buffer.compare(a, b), 0, 'optimizer state differs');
  // a changed hyper-parameter cannot sneak into a resumed run
  const changed = loadTrainConfig('finetune', { file: cfgFile('killed.json', base('killed', { ...extra, optimizer: { lr: 1e-3, gradAccumSteps: 2 } })) });
  await assert.rejects(runTraining('finetune', changed, { backend: cpu, progress: false, resume: true }), /optimizer\.lr: 0\.003 → 0\.001/);
});

test('pretrain (trained WordPiece vocab) → finetune from the checkpoint: encoder loaded, new head initialised', async () => {
  const corpus = jsonl('corpus.jsonl', makeRows(120, 7, 0.5).map(({ id, text }) => ({ id, text })));
  const pre = await runTraining(
    'pretrain',
    loadTrainConfig('pretrain', {
      file: cfgFile('pre.json', {
        outputDir: join(dir, 'pre'),
        model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
        tokenizer: { vocabSize: 40, minFrequency: 1 },
        data: { train: corpus, maxLength: 16 },
        optimizer: { lr: 5e-3 },
        training: { batchSize: 16, maxSteps: 6, logEvery: 3 },
      }),
    }),
    { backend: cpu, progress: false },
  );
  const pm = pre.metrics as { dev: { accuracy: number; perplexity: number }; vocabSize: number };
  // 40 requested; WordPiece keeps the whole alphabet (and its ## forms) even past the target, as HF does.
  assert.ok(pm.vocabSize >= 40 && pm.vocabSize < 60, `vocab ${pm.vocabSize}`);
  assert.ok(Number.isFinite(pm.dev.perplexity), JSON.stringify(pm.dev));
  assert.ok(Number.isFinite(pm.dev.perplexity));
  const pck = readCheckpoint(join(dir, 'pre', 'checkpoint'));
  assert.equal(pck.vocab!.length, pm.vocabSize);
  const ft = await runTraining(
    'finetune',
    loadTrainConfig('finetune', { file: cfgFile('ft2.json', { ...base('ft2'), model: { init: join(dir, 'pre', 'checkpoint'), hiddenDropout: 0, attentionDropout: 0 }, tokenizer: {}, training: { batchSize: 16, maxSteps: 2, logEvery: 1 }, strategy: { name: 'head_only' } }) }),
    { backend: cpu, progress: false },
  );
  // head_only: every encoder weight equals the pretrained one
  for (const [name, w] of pck.weights) {
    if (name.startsWith('cls.')) continue;
    assert.deepEqual(ft.store.get(name), w.data, name);
  }
  assert.ok(ft.store.has('classifier.weight'));
  assert.match(readFileSync(join(dir, 'ft2', 'log.txt'), 'utf8'), /new: classifier\.weight, classifier\.bias; unused: cls\.predictions\.bias, cls\.predictions\.transform/);
});
