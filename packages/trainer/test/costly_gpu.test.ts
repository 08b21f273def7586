// The costly-class pieces on the GPU backend: the pooled embeddings read through the
// identity-classifier copy of the GPU model reproduce its logits (W·pooled + b), and a short
// fine-tune with SMOTE on the embeddings and a dev-chosen threshold runs end to end.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig } from '../src/config/index.js';
import { runTraining, backendFactory, closeBackends } from '../src/train/index.js';
import { pooledEmbeddings } from '../src/train/embed_resample.js';
import { ParamStore, paramSpecs, initParams, makeConfig } from '../src/model/index.js';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { Collator, loadRows, tokenizeRows } from '../src/train/data.js';

after(() => closeBackends());
const gpu = backendFactory('gpu');
const dir = mkdtempSync(join(tmpdir(), 'tb-costly-gpu-'));
const LABELS = ['high', 'low', 'medium'];
const CUE: Record<string, string> = { high: 'urgent', low: 'typo', medium: 'update' };
const FILL = ['the', 'a', 'fix', 'for', 'build', 'new', 'upstream', 'release'];
function rows(n: number, seed: number): { id: string; text: string; label: string }[] {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: n }, (_, i) => {
    const u = r();
    const label = u < 0.1 ? 'high' : u < 0.5 ? 'low' : 'medium';
    const words = Array.from({ length: 3 + Math.floor(r() * 3) }, () => FILL[Math.floor(r() * FILL.length)]!);
    words.splice(Math.floor(r() * words.length), 0, CUE[label]!);
    return { id: `g${seed}-${i}`, text: words.join(' '), label };
  });
}
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const jsonl = (name: string, data: object[]) => write(name, data.map((x) => JSON.stringify(x)).join('\n') + '\n');
const trainFile = jsonl('train.jsonl', rows(80, 1));
const devFile = jsonl('dev.jsonl', rows(60, 2));
const vocabFile = write('vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Object.values(CUE), ...FILL].join('\n') + '\n');

test('GPU: pooled embeddings through the identity-classifier copy reproduce the model: logits = W·pooled + b', async () => {
  const tok = WordPieceTokenizer.fromVocabFile(vocabFile, { lowercase: true, modelMaxLength: 16 });
  const config = makeConfig({ numLayers: 1, hiddenSize: 32, numHeads: 2, intermediateSize: 64 }, tok.vocabSize, { maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 });
  for (const pooling of ['cls', 'mean'] as const) {
    const heads = [{ kind: 'seq_cls' as const, numLabels: 3, pooling }];
    const store = new ParamStore(paramSpecs(config, heads, null));
    initParams(store, 5, 0.2);
    const ex = tokenizeRows(loadRows(devFile, 'dev', 'seq_cls', 16), tok, 'seq_cls', LABELS, 16, { source: 'dev' });
    const collator = new Collator(tok, 'seq_cls', 0.15);
    const X = await pooledEmbeddings(gpu, config, heads[0]!, store, null, collator, ex, 16, 16);
    const model = await gpu({ config, heads, store, lora: null, loss: {}, maxBatch: 16, maxLength: 16 });
    try {
      model.load();
      const logits = (await model.predict(collator.collate(ex, 0))).logits;
      const w = store.range('classifier.weight'), b = store.range('classifier.bias');
      X.forEach((x, n) => {
        for (let l = 0; l < 3; l++) {
          let z = store.data[b.offset + l]!;
          for (let h = 0; h < 32; h++) z += store.data[w.offset + l * 32 + h]! * x[h]!;
          assert.ok(Math.abs(z - logits[n * 3 + l]!) < 1e-4 * (1 + Math.abs(z)), `${pooling} row ${n} label ${l}: ${z} vs ${logits[n * 3 + l]}`);
        }
      });
    } finally {
      model.destroy();
    }
  }
});

test('GPU: SMOTE on the embeddings and a dev-chosen threshold, end to end', async () => {
  const p = write('smote.json', JSON.stringify({
    outputDir: join(dir, 'smote'),
    model: { shape: { numLayers: 1, hiddenSize: 32, numHeads: 2, intermediateSize: 64 }, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
    tokenizer: { vocab: vocabFile },
    data: { train: trainFile, dev: devFile, test: devFile, maxLength: 16, embedResample: 'smote', smoteK: 3, embedHeadSteps: 50 },
    task: { kind: 'seq_cls', labels: LABELS, costlyClass: 'high', decision: 'threshold' },
    optimizer: { lr: 1e-2 },
    training: { batchSize: 16, maxSteps: 4, logEvery: 2 },
  }));
  await runTraining('finetune', loadTrainConfig('finetune', { file: p }), { backend: gpu, progress: false });
  const m = JSON.parse(readFileSync(join(dir, 'smote', 'metrics.json'), 'utf8'));
  assert.equal(m.embedResample.method, 'smote');
  assert.ok(m.embedResample.headLossAfter < m.embedResample.headLossBefore);
  assert.equal(m.main_score, m.test.expected_cost);
  assert.equal(typeof m.test.decision_threshold, 'number');
});

test('GPU: `score` of a fine-tuned checkpoint under another decision rule gives, bit for bit, what the fine-tune gives with that rule (training never reads it); it refuses a checkpoint without the heads', async () => {
  const base = (name: string, decision: string, extra: Record<string, unknown> = {}) => ({
    outputDir: join(dir, name),
    model: { shape: { numLayers: 1, hiddenSize: 32, numHeads: 2, intermediateSize: 64 }, maxPositions: 16 },
    tokenizer: { vocab: vocabFile },
    data: { train: trainFile, dev: devFile, test: devFile, maxLength: 16, ...extra },
    task: { kind: 'seq_cls', labels: LABELS, costlyClass: 'high', decision },
    optimizer: { lr: 1e-2 },
    training: { batchSize: 16, maxSteps: 6, logEvery: 3 },
  });
  const metricsOf = (name: string) => JSON.parse(readFileSync(join(dir, name, 'metrics.json'), 'utf8'));
  const run = (cfg: object, scoreOnly = false) => runTraining('finetune', loadTrainConfig('finetune', { file: write(`${(cfg as { outputDir: string }).outputDir.split('/').pop()}.json`, JSON.stringify(cfg)) }), { backend: gpu, progress: false, scoreOnly });
  for (const [decision, extra] of [['threshold', {}], ['min_cost', {}], ['argmax', {}], ['threshold', { embedResample: 'smote', smoteK: 3, embedHeadSteps: 20 }]] as const) {
    const tag = `${decision}${Object.keys(extra).length ? '-smote' : ''}`;
    await run(base(`direct-${tag}`, decision, extra));
    await run(base(`trained-${tag}`, 'argmax', extra));
    await run({ ...base(`scored-${tag}`, decision, extra), model: { ...base('x', decision).model, init: join(dir, `trained-${tag}`, 'checkpoint') } }, true);
    const direct = metricsOf(`direct-${tag}`), scored = metricsOf(`scored-${tag}`);
    assert.deepEqual(scored.test, direct.test, `${tag}: test metrics`);
    assert.deepEqual(scored.dev, direct.dev, `${tag}: dev metrics`);
    assert.deepEqual(scored.costly, direct.costly, `${tag}: costly details`);
    assert.equal(readFileSync(join(dir, `scored-${tag}`, 'test_predictions.jsonl'), 'utf8'), readFileSync(join(dir, `direct-${tag}`, 'test_predictions.jsonl'), 'utf8'));
    assert.equal(scored.steps, 0);
    assert.equal(scored.tokens, 0);
    assert.equal(scored.scoreOnly, true);
  }
  // Nothing to score, or a checkpoint without this task's heads (a masked-LM pretraining's).
  await assert.rejects(run({ ...base('scored-noinit', 'argmax'), model: { ...base('x', 'argmax').model, init: null } }, true), /scores model\.init/);
  const pre = { outputDir: join(dir, 'pre'), model: base('x', 'argmax').model, tokenizer: { vocab: vocabFile }, data: { train: jsonl('corpus.jsonl', rows(40, 3).map((r) => ({ id: r.id, text: r.text }))), maxLength: 16 }, task: { kind: 'mlm' }, training: { batchSize: 16, maxSteps: 2, logEvery: 1 } };
  await runTraining('pretrain', loadTrainConfig('pretrain', { file: write('pre.json', JSON.stringify(pre)) }), { backend: gpu, progress: false });
  await assert.rejects(run({ ...base('scored-nohead', 'argmax'), model: { ...base('x', 'argmax').model, init: join(dir, 'pre', 'checkpoint') } }, true), /has no .*classifier\.weight.*not trained for this task's heads/);
});
