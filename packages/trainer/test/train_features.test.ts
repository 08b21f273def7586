// Loop features on the float64 reference backend (exact, no GPU, tiny sizes): token
// classification end to end, continued pretraining with a mixed corpus and EWC (a large λ keeps
// the weights near the base model), vocabulary growth from a base checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrainConfig, loadInferConfig } from '../src/config/index.js';
import { runTraining, runInference, backendFactory } from '../src/train/index.js';
import { readCheckpoint } from '../src/checkpoint/index.js';
import type { HeadSpec } from '../src/model/index.js';
import { scratchDir } from './scratch_files.js';

const { dir, write, jsonl } = scratchDir('tb-feat-');
const cpu = backendFactory('cpu');
const SHAPE = { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

// NER: person names after "mr", places after "in".
const NAMES = ['smith', 'jones', 'brown'];
const PLACES = ['paris', 'rome', 'oslo'];
const WORDS = ['the', 'man', 'went', 'to', 'see', 'and', 'met'];
function nerRows(n: number, seed: number) {
  const r = lcg(seed);
  const pick = (a: string[]) => a[Math.floor(r() * a.length)];
  return Array.from({ length: n }, (_, i) => {
    const tokens: string[] = [], tags: string[] = [];
    for (let k = 0; k < 3; k++) {
      const u = r();
      if (u < 0.3) tokens.push('mr', pick(NAMES)), tags.push('O', 'B-PER');
      else if (u < 0.6) tokens.push('in', pick(PLACES)), tags.push('O', 'B-LOC');
      else tokens.push(pick(WORDS)), tags.push('O');
    }
    return { id: `n${seed}-${i}`, tokens, tags };
  });
}
const nerVocab = write('ner_vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'mr', 'in', ...NAMES, ...PLACES, ...WORDS].join('\n') + '\n');

test('token classification: trains, scores entity F1 (seqeval default), predicts word tags', async () => {
  const train = jsonl('ner_train.jsonl', nerRows(64, 1));
  const dev = jsonl('ner_dev.jsonl', nerRows(24, 2));
  const cfg = loadTrainConfig('finetune', {
    file: write('ner.json', JSON.stringify({
      outputDir: join(dir, 'ner'),
      model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
      tokenizer: { vocab: nerVocab },
      data: { train, dev, maxLength: 16 },
      task: { kind: 'token_cls' },
      optimizer: { lr: 1e-2 },
      training: { batchSize: 16, epochs: 10, logEvery: 5 },
    })),
  });
  const r = await runTraining('finetune', cfg, { backend: cpu, progress: false });
  const m = r.metrics as { dev: { f1: number }; labels: string[]; trainLossFirst: number; trainLossLast: number };
  assert.deepEqual(m.labels, ['O', 'B-LOC', 'B-PER']);
  assert.ok(m.trainLossLast < m.trainLossFirst / 2, `loss ${m.trainLossFirst} → ${m.trainLossLast}`);
  assert.ok(m.dev.f1 > 0.8, `dev entity F1 ${m.dev.f1}`);
  await runInference('predict', loadInferConfig('predict', { sets: [`outputDir=${join(dir, 'ner_pred')}`, `checkpoint=${join(dir, 'ner', 'checkpoint')}`, `data.file=${dev}`] }), cpu, { progress: false });
  const preds = readFileSync(join(dir, 'ner_pred', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const gold = nerRows(24, 2);
  assert.equal(preds.length, 24);
  preds.forEach((p, i) => assert.equal(p.tags.length, gold[i].tokens.length));
});

test('token classification with a CRF head (task.crf, BIO): trains, stores crf.transitions and the head spec in the checkpoint, decodes with Viterbi at predict', async () => {
  const train = jsonl('ner_crf_train.jsonl', nerRows(64, 1));
  const dev = jsonl('ner_crf_dev.jsonl', nerRows(24, 2));
  const cfg = loadTrainConfig('finetune', {
    file: write('ner_crf.json', JSON.stringify({
      outputDir: join(dir, 'ner_crf'),
      model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
      tokenizer: { vocab: nerVocab },
      data: { train, dev, maxLength: 16 },
      task: { kind: 'token_cls', crf: true, crfConstraints: 'bio', labels: ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER'] },
      optimizer: { lr: 1e-2 },
      training: { batchSize: 16, epochs: 10, logEvery: 5 },
    })),
  });
  const r = await runTraining('finetune', cfg, { backend: cpu, progress: false });
  const m = r.metrics as { dev: Record<string, number>; trainLossFirst: number; trainLossLast: number };
  assert.ok(m.trainLossLast < m.trainLossFirst / 2, `loss ${m.trainLossFirst} → ${m.trainLossLast}`);
  assert.ok(m.dev.strict_f1 > 0.8, `dev strict entity F1 ${m.dev.strict_f1}`);
  assert.equal(m.dev.main_score, m.dev.strict_f1, 'main_score is the strict micro F1');
  for (const k of ['f1', 'token_accuracy', 'strict_f1_PER', 'strict_f1_LOC', 'confusion_PER_PER']) assert.equal(typeof m.dev[k], 'number', k);
  const ck = readCheckpoint(join(dir, 'ner_crf', 'checkpoint'));
  assert.deepEqual(ck.weights.get('crf.transitions')?.shape, [7, 5]);
  const heads = (ck.config.tunebench as { heads: HeadSpec[] }).heads;
  assert.deepEqual(heads, [{ kind: 'token_cls', numLabels: 5, crf: { constraints: 'bio', labels: ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER'], align: 'first' } }]);
  await runInference('predict', loadInferConfig('predict', { sets: [`outputDir=${join(dir, 'ner_crf_pred')}`, `checkpoint=${join(dir, 'ner_crf', 'checkpoint')}`, `data.file=${dev}`] }), cpu, { progress: false });
  const preds = readFileSync(join(dir, 'ner_crf_pred', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { tags: string[] });
  assert.equal(preds.length, 24);
  for (const p of preds) {
    // Viterbi under BIO constraints never predicts an I-X that does not continue an X entity
    p.tags.forEach((t, i) => { if (t.startsWith('I-')) assert.ok(i > 0 && p.tags[i - 1].slice(2) === t.slice(2) && p.tags[i - 1] !== 'O', p.tags.join(' ')); });
  }
  assert.throws(() => loadTrainConfig('finetune', { file: write('ner_crf_bad.json', JSON.stringify({ outputDir: join(dir, 'x'), tokenizer: { vocab: nerVocab }, data: { train }, task: { kind: 'seq_cls', crf: true } })) }), /task\.crf needs task\.kind token_cls/);
  assert.throws(() => loadTrainConfig('finetune', { file: write('ner_crf_bad2.json', JSON.stringify({ outputDir: join(dir, 'x'), tokenizer: { vocab: nerVocab }, data: { train }, task: { kind: 'token_cls', crf: true, loss: 'focal' } })) }), /task\.loss 'focal' cannot apply/);
});

// Corpora for continued pretraining.
const general = jsonl('general.jsonl', Array.from({ length: 60 }, (_, i) => ({ id: `g${i}`, text: `the man went to see ${NAMES[i % 3]} and met ${PLACES[(i * 2) % 3]}` })));
const domain = jsonl('domain.jsonl', Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, text: `in ${PLACES[i % 3]} mr ${NAMES[(i + 1) % 3]} met mr ${NAMES[i % 3]}` })));
const preCfg = (out: string, extra: object) =>
  loadTrainConfig('pretrain', {
    file: write(`${out}.json`, JSON.stringify({
      outputDir: join(dir, out),
      model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
      tokenizer: { vocab: nerVocab },
      data: { train: domain, maxLength: 16 },
      optimizer: { lr: 1e-2, weightDecay: 0 },
      training: { batchSize: 8, maxSteps: 6, logEvery: 3 },
      ...extra,
    })),
  });

test('continued pretraining: mixed corpus runs; EWC with a large λ keeps the weights near the base model', async () => {
  await runTraining('pretrain', preCfg('base', { data: { train: general, maxLength: 16 }, training: { batchSize: 8, maxSteps: 30, logEvery: 10 } }), { backend: cpu, progress: false });
  const baseCk = readCheckpoint(join(dir, 'base', 'checkpoint'));
  const init = join(dir, 'base', 'checkpoint');
  const drift = (run: string) => {
    const ck = readCheckpoint(join(dir, run, 'checkpoint'));
    let s = 0;
    for (const [name, w] of baseCk.weights) {
      const v = ck.weights.get(name)!.data;
      for (let i = 0; i < v.length; i++) s += (v[i] - w.data[i]) ** 2;
    }
    return Math.sqrt(s);
  };
  const mixed = await runTraining('pretrain', preCfg('mixed', { model: { init, hiddenDropout: 0, attentionDropout: 0 }, data: { train: domain, general, generalRatio: 0.5, maxLength: 16 } }), { backend: cpu, progress: false });
  assert.equal(mixed.steps, 6);
  // With Adam every weight moves by about lr per step whatever its gradient, and weights with
  // F = 0 (rows of tokens the general data lacks) are not held at all, so the pull of EWC shows
  // with a small lr over a longer run (measured here: drift 0.92 without EWC, 0.65 with λ = 1e6;
  // deterministic — float64 reference, fixed seeds).
  const long = { batchSize: 8, maxSteps: 40, logEvery: 10 };
  const opt = { lr: 1e-3, weightDecay: 0, maxGradNorm: 0 };
  await runTraining('pretrain', preCfg('plain', { model: { init, hiddenDropout: 0, attentionDropout: 0 }, data: { train: domain, general, maxLength: 16 }, optimizer: opt, training: long }), { backend: cpu, progress: false });
  await runTraining('pretrain', preCfg('ewc', { model: { init, hiddenDropout: 0, attentionDropout: 0 }, data: { train: domain, general, maxLength: 16 }, optimizer: opt, ewc: { lambda: 1e6, fisherBatches: 4 }, training: long }), { backend: cpu, progress: false });
  const dPlain = drift('plain'), dEwc = drift('ewc');
  assert.ok(dPlain > 0);
  assert.ok(dEwc < 0.8 * dPlain, `EWC drift ${dEwc} vs plain ${dPlain}`);
  assert.match(readFileSync(join(dir, 'ewc', 'log.txt'), 'utf8'), /EWC: diagonal Fisher from 4 batches/);
});

test('vocabulary growth: old embedding rows kept, new rows added, decoder bias grown', async () => {
  const base = readCheckpoint(join(dir, 'base', 'checkpoint'));
  const extended = write('ext_vocab.txt', [...base.vocab!, 'berlin', 'lima'].join('\n') + '\n');
  const r = await runTraining('pretrain', preCfg('grown', { model: { init: join(dir, 'base', 'checkpoint'), hiddenDropout: 0, attentionDropout: 0 }, tokenizer: { vocab: extended, growInit: 'mean' }, training: { batchSize: 8, maxSteps: 1, logEvery: 1 }, optimizer: { lr: 0 } }), { backend: cpu, progress: false });
  const V = base.vocab!.length;
  const H = SHAPE.hiddenSize;
  const w = r.store.get('bert.embeddings.word_embeddings.weight');
  assert.equal(w.length, (V + 2) * H);
  assert.deepEqual(w.subarray(0, V * H), base.weights.get('bert.embeddings.word_embeddings.weight')!.data);
  // 'mean' init: each new row is the mean of the old rows
  for (let j = 0; j < H; j++) {
    let mean = 0;
    for (let i = 0; i < V; i++) mean += w[i * H + j];
    mean /= V;
    assert.ok(Math.abs(w[V * H + j] - mean) < 1e-6 && Math.abs(w[(V + 1) * H + j] - mean) < 1e-6);
  }
  assert.equal(r.store.get('cls.predictions.bias').length, V + 2);
  assert.match(readFileSync(join(dir, 'grown', 'log.txt'), 'utf8'), /vocabulary grown by 2 tokens \(mean init\)/);
  // a vocabulary that reorders old tokens is refused
  const shuffled = write('bad_vocab.txt', [base.vocab![1], base.vocab![0], ...base.vocab!.slice(2), 'x'].join('\n') + '\n');
  await assert.rejects(
    runTraining('pretrain', preCfg('badgrow', { model: { init: join(dir, 'base', 'checkpoint') }, tokenizer: { vocab: shuffled } }), { backend: cpu, progress: false }),
    /not an extension of .*vocab\.txt \(old tokens must keep their ids\)/,
  );
});

test('sentence embeddings (MultipleNegativesRanking on pairs): retrieval of the right pair improves', async () => {
  const EN = ['cat', 'dog', 'sun', 'moon', 'tree', 'rain', 'fire', 'book'];
  const ZH = ['猫', '狗', '日', '月', '树', '雨', '火', '书'];
  const pairs = (n: number, seed: number) => {
    const r = lcg(seed);
    return Array.from({ length: n }, (_, i) => {
      const idx = [0, 1, 2].map(() => Math.floor(r() * EN.length));
      return { id: `p${seed}-${i}`, en: idx.map((k) => EN[k]).join(' '), zh: idx.map((k) => ZH[k]).join('') };
    });
  };
  const vocab = write('pair_vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...EN, ...ZH].join('\n') + '\n');
  const train = jsonl('pairs_train.jsonl', pairs(64, 3));
  const dev = jsonl('pairs_dev.jsonl', pairs(32, 4));
  const cfg = (out: string, steps: number) =>
    loadTrainConfig('finetune', {
      file: write(`${out}.json`, JSON.stringify({
        outputDir: join(dir, out),
        model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
        tokenizer: { vocab },
        data: { train, dev, maxLength: 12 },
        task: { kind: 'embedding', normalize: true },
        optimizer: { lr: 5e-3 },
        training: { batchSize: 16, maxSteps: steps, logEvery: 4 },
      })),
    });
  const before = await runTraining('finetune', cfg('emb0', 1), { backend: cpu, progress: false });
  const after = await runTraining('finetune', cfg('emb', 24), { backend: cpu, progress: false });
  const r0 = (before.metrics as { dev: { recall_at_1: number } }).dev.recall_at_1;
  const m = after.metrics as { dev: { recall_at_1: number; mrr: number }; trainLossFirst: number; trainLossLast: number };
  assert.ok(m.trainLossLast < m.trainLossFirst, `loss ${m.trainLossFirst} → ${m.trainLossLast}`);
  assert.ok(m.dev.recall_at_1 > r0 + 0.2, `recall@1 ${r0} → ${m.dev.recall_at_1}`);
  assert.ok(m.dev.mrr >= m.dev.recall_at_1);
});

test('gradual unfreezing: a layer unfrozen later starts its own Adam step count (first update ≈ lr, as in PyTorch)', async () => {
  const train = jsonl('gu_train.jsonl', nerRows(32, 5).map((r, i) => ({ id: r.id, text: r.tokens.join(' '), label: i % 2 ? 'a' : 'b' })));
  const cfg = (out: string) =>
    loadTrainConfig('finetune', {
      file: write(`${out}.json`, JSON.stringify({
        outputDir: join(dir, out),
        model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
        tokenizer: { vocab: nerVocab },
        data: { train, maxLength: 16 },
        task: { kind: 'seq_cls', pooling: 'mean' },
        strategy: { name: 'gradual_unfreezing', unfreezeUnit: 'step', unfreezeEvery: 2 },
        optimizer: { lr: 1e-3, weightDecay: 0, maxGradNorm: 0 },
        schedule: { name: 'constant' },
        training: { batchSize: 8, maxSteps: 6, logEvery: 1 },
      })),
    });
  const a = await runTraining('finetune', cfg('gu2'), { backend: cpu, progress: false, stopAfterStep: 2 });
  const b = await runTraining('finetune', cfg('gu3'), { backend: cpu, progress: false, stopAfterStep: 3 });
  // Steps 0, 1 train the head only; step 2 (the third) is layer 1's first update.
  const name = 'bert.encoder.layer.1.intermediate.dense.weight';
  const wa = a.store.get(name), wb = b.store.get(name);
  const init = (await runTraining('finetune', cfg('gu0'), { backend: cpu, progress: false, stopAfterStep: 1 })).store.get(name);
  assert.deepEqual(wa, init, 'layer 1 is frozen during steps 0 and 1');
  const ratios = Array.from(wa, (x, i) => Math.abs(wb[i] - x) / 1e-3).filter((r) => r > 0.5).sort((p, q) => p - q);
  assert.ok(ratios.length > wa.length / 2);
  // Adam's first step moves each weight by lr·|g|/(|g| + ε) ≈ lr; with the optimizer's global
  // count (3) it would be 0.639·lr.
  const median = ratios[Math.floor(ratios.length / 2)];
  assert.ok(Math.abs(median - 1) < 1e-3, `median |Δ|/lr = ${median}`);
});

test('weighted cross-entropy: balanced weights n / (k · count) by default, explicit weights checked against the labels', async () => {
  // 24 rows: 18 'b', 6 'a' → balanced weights a = 24 / (2·6) = 2, b = 24 / (2·18) = 0.667
  const train = jsonl('wce.jsonl', nerRows(24, 9).map((r, i) => ({ id: r.id, text: r.tokens.join(' '), label: i % 4 === 0 ? 'a' : 'b' })));
  const cfg = (out: string, task: object) =>
    loadTrainConfig('finetune', {
      file: write(`${out}.json`, JSON.stringify({
        outputDir: join(dir, out),
        model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
        tokenizer: { vocab: nerVocab },
        data: { train, maxLength: 16 },
        task: { kind: 'seq_cls', pooling: 'mean', ...task },
        training: { batchSize: 8, maxSteps: 1, logEvery: 1 },
      })),
    });
  await runTraining('finetune', cfg('wce', { loss: 'weighted_ce' }), { backend: cpu, progress: false });
  assert.match(readFileSync(join(dir, 'wce', 'log.txt'), 'utf8'), /class weights: a 2\.000, b 0\.667/);
  await assert.rejects(runTraining('finetune', cfg('wce2', { loss: 'weighted_ce', classWeights: [1, 2, 3] }), { backend: cpu, progress: false }), /task\.classWeights has 3 weights but there are 2 labels \(a, b\)/);
});

test('resume of continued pretraining (MLM masks, mixed-corpus sampler, EWC) is bit-exact', async () => {
  const init = join(dir, 'base', 'checkpoint');
  const extra = { model: { init, hiddenDropout: 0, attentionDropout: 0 }, data: { train: domain, general, generalRatio: 0.5, maxLength: 16 }, ewc: { lambda: 100, fisherBatches: 2 }, training: { batchSize: 8, maxSteps: 7, logEvery: 1, saveEvery: 2 } };
  const full = await runTraining('pretrain', preCfg('mix_full', extra), { backend: cpu, progress: false });
  const killedCfg = preCfg('mix_killed', extra);
  await runTraining('pretrain', killedCfg, { backend: cpu, progress: false, stopAfterStep: 5 });
  const resumed = await runTraining('pretrain', killedCfg, { backend: cpu, progress: false, resume: true });
  assert.equal(resumed.steps, 7);
  assert.equal(Buffer.compare(Buffer.from(resumed.store.data.buffer), Buffer.from(full.store.data.buffer)), 0);
});
