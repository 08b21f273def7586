// `--dataset <directory>` (bring your own data) through finetune, evaluate and pretrain on the float64
// reference backend: a directory holding the first rows of wn_topic — as JSONL or CSV, with a card
// naming the closed label set — trains to exactly the metrics of the shipped dataset capped to the
// same rows; without a card, exactly those of the same rows given as JSONL files. Records carry the
// sha256 of every file read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadDataset, WN_TOPIC_LABELS } from '@tunebench/datasets';
import { loadTrainConfig, loadInferConfig } from '../src/config/index.js';
import { runTraining, runInference, backendFactory } from '../src/train/index.js';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'tb-dsdir-'));
const cpu = backendFactory('cpu');
const SHAPE = { numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };
const NTRAIN = 40, NEVAL = 16;
const rows = { train: loadDataset('wn_topic', 'train').slice(0, NTRAIN), dev: loadDataset('wn_topic', 'dev').slice(0, NEVAL), test: loadDataset('wn_topic', 'test').slice(0, NEVAL) };
const jsonl = (rs: object[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const cell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const csv = (rs: { id: string; text: string; label: string }[]) => ['id,text,label', ...rs.map((r) => `${r.id},${cell(r.text)},${r.label}`)].join('\n') + '\n';
function dir(name: string, files: Record<string, string>): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, c] of Object.entries(files)) writeFileSync(join(d, f), c);
  return d;
}
const vocab = join(root, 'vocab.txt');
writeFileSync(vocab, WordPieceTokenizer.train(rows.train.map((r) => r.text), { vocabSize: 300, minFrequency: 1 }).vocab.tokens.join('\n') + '\n');
const card = JSON.stringify({ kind: 'seq_cls', labels: [...WN_TOPIC_LABELS], language: 'en' });

async function finetune(out: string, data: object, task: object = { kind: 'seq_cls' }) {
  const cfg = loadTrainConfig('finetune', {
    file: (() => {
      const p = join(root, `${out}.json`);
      writeFileSync(p, JSON.stringify({
        outputDir: join(root, out),
        model: { shape: SHAPE, maxPositions: 32, hiddenDropout: 0, attentionDropout: 0 },
        tokenizer: { vocab },
        data: { maxLength: 24, maxTrainRows: NTRAIN, maxEvalRows: NEVAL, ...data },
        task,
        optimizer: { lr: 1e-3 },
        training: { batchSize: 8, maxSteps: 3, logEvery: 1 },
      }));
      return p;
    })(),
  });
  return (await runTraining('finetune', cfg, { backend: cpu, progress: false })).metrics as Record<string, unknown>;
}
const scores = (m: Record<string, unknown>) => ({ dev: m.dev, test: m.test, main: m.main_score, labels: m.labels, loss: m.trainLossLast });

test('a dataset directory (JSONL or CSV, with a card) trains exactly like the shipped dataset; evaluate reads it too', async () => {
  const shipped = await finetune('shipped', { dataset: 'wn_topic' }, { kind: 'seq_cls', labels: [...WN_TOPIC_LABELS] });
  const asJsonl = dir('wn_jsonl', { 'dataset.json': card, 'train.jsonl': jsonl(rows.train), 'dev.jsonl': jsonl(rows.dev), 'test.jsonl': jsonl(rows.test) });
  const asCsv = dir('wn_csv', { 'dataset.json': card, 'train.csv': csv(rows.train), 'dev.csv': csv(rows.dev), 'test.csv': csv(rows.test) });
  for (const d of [asJsonl, asCsv]) {
    const m = await finetune(`ft_${d.split('/').pop()}`, { dataset: d });
    assert.deepEqual(scores(m), scores(shipped), d);
    const files = (m.datasetFiles as { files: { file: string; sha256: string }[] }).files;
    assert.deepEqual(files.map((f) => f.file).sort(), ['dataset.json', ...['dev', 'test', 'train'].map((s) => `${s}.${d === asCsv ? 'csv' : 'jsonl'}`)].sort());
    for (const f of files) assert.equal(f.sha256, createHash('sha256').update(readFileSync(join(d, f.file))).digest('hex'));
  }
  assert.equal(shipped.datasetFiles, null);
  const ev = async (out: string, dataset: string) => (await runInference('evaluate', loadInferConfig('evaluate', {
    sets: [`outputDir=${join(root, out)}`, `checkpoint=${join(root, 'shipped', 'checkpoint')}`, `data.dataset=${dataset}`, 'data.split=test', `data.maxRows=${NEVAL}`],
  }), cpu, { progress: false }));
  const a = await ev('ev_shipped', 'wn_topic'), b = await ev('ev_dir', asCsv);
  assert.deepEqual(b.metrics, a.metrics);
  assert.ok(b.datasetFiles);
});

test('without a card: labels inferred from train, the same run as the same rows given as JSONL files', async () => {
  const plain = (rs: typeof rows.train) => jsonl(rs.map(({ id, text, label }) => ({ id, text, label })));
  const labelled = new Set(rows.train.map((r) => r.label));
  const keep = (rs: typeof rows.train) => rs.filter((r) => labelled.has(r.label));
  const d = dir('wn_nocard', { 'train.jsonl': plain(rows.train), 'dev.jsonl': plain(keep(rows.dev)), 'test.jsonl': plain(keep(rows.test)) });
  const fromDir = await finetune('nocard_dir', { dataset: d });
  const fromFiles = await finetune('nocard_files', { train: join(d, 'train.jsonl'), dev: join(d, 'dev.jsonl'), test: join(d, 'test.jsonl') });
  assert.deepEqual(scores(fromDir), scores(fromFiles));
  assert.deepEqual(fromDir.labels, [...labelled].sort());
});

test('pretrain on a corpus directory (CSV, text column only): kind inferred, files hashed', async () => {
  const d = dir('corpus_csv', { 'train.csv': ['text', ...loadDataset('pretrain_en', 'corpus').slice(0, 60).map((r) => cell(r.text))].join('\n') + '\n' });
  const cfg = loadTrainConfig('pretrain', {
    sets: [`outputDir=${join(root, 'pt')}`, `data.dataset=${d}`, `tokenizer.vocab=${vocab}`, 'model.shape={"numLayers":1,"hiddenSize":16,"numHeads":2,"intermediateSize":32}',
      'model.maxPositions=32', 'data.maxLength=24', 'training.batchSize=8', 'training.maxSteps=2'],
  });
  const m = (await runTraining('pretrain', cfg, { backend: cpu, progress: false })).metrics as Record<string, unknown>;
  assert.equal(m.steps, 2);
  assert.deepEqual((m.datasetFiles as { files: { file: string }[] }).files.map((f) => f.file), ['train.csv']);
});
