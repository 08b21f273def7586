// Through the training loop: LoRA-only continued pretraining → a run initialised from its
// checkpoint starts from the merged weights W + (α/r)·B·A (not the frozen base W): a head-only
// fine-tune keeps them exactly; a LoRA fine-tune on top freezes them and trains a fresh adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig } from '../src/config/index.js';
import { runTraining, backendFactory, mergeInitAdapter } from '../src/train/index.js';
import { readCheckpoint } from '../src/checkpoint/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-initlora-loop-'));
const cpu = backendFactory('cpu');
const WORDS = ['the', 'a', 'film', 'was', 'very', 'good', 'bad', 'plot', 'acting', 'it', 'is', 'and'];
function rows(n: number, seed: number) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: n }, (_, i) => {
    const words = Array.from({ length: 4 + Math.floor(r() * 4) }, () => WORDS[Math.floor(r() * WORDS.length)]);
    return { id: `r${i}`, text: words.join(' '), label: words.includes('good') ? 'pos' : 'neg' };
  });
}
const write = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const data = write('train.jsonl', rows(64, 3).map((r) => JSON.stringify(r)).join('\n') + '\n');
const corpus = write('corpus.jsonl', rows(64, 3).map(({ id, text }) => JSON.stringify({ id, text })).join('\n') + '\n');
const vocab = write('vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS].join('\n') + '\n');
const LORA = { r: 2, alpha: 4, dropout: 0, targets: ['query', 'value'] };

test('LoRA pretrain → fine-tunes start from the merged weights (head-only keeps them, LoRA trains a fresh adapter)', async () => {
  try {
    await runTraining('pretrain', loadTrainConfig('pretrain', { file: write('pre.json', JSON.stringify({
      outputDir: join(dir, 'pre'),
      model: { shape: { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
      tokenizer: { vocab },
      data: { train: corpus, maxLength: 16 },
      optimizer: { lr: 2e-2 },
      strategy: { name: 'lora' },
      lora: LORA,
      training: { batchSize: 16, maxSteps: 4, logEvery: 2 },
    })) }), { backend: cpu, progress: false });
    const pck = readCheckpoint(join(dir, 'pre', 'checkpoint'));
    const B = pck.weights.get('bert.encoder.layer.0.attention.self.query.lora_B.weight')!;
    assert.ok(B.data.some((v) => v !== 0), 'the pretraining trained the adapter (B ≠ 0)');
    const { weights: merged } = mergeInitAdapter(pck);
    const q = 'bert.encoder.layer.0.attention.self.query.weight';
    assert.ok(merged.get(q)!.data.some((v, i) => v !== pck.weights.get(q)!.data[i]), 'the merge changes W');

    const ft = (name: string, extra: object) => runTraining('finetune', loadTrainConfig('finetune', { file: write(`${name}.json`, JSON.stringify({
      outputDir: join(dir, name),
      model: { init: join(dir, 'pre', 'checkpoint'), hiddenDropout: 0, attentionDropout: 0 },
      data: { train: data, maxLength: 16 },
      task: { kind: 'seq_cls', pooling: 'mean' },
      optimizer: { lr: 1e-2 },
      training: { batchSize: 16, maxSteps: 2, logEvery: 1 },
      ...extra,
    })) }), { backend: cpu, progress: false });

    const plain = await ft('ft_head', { strategy: { name: 'head_only' } });
    for (const [n, w] of merged) {
      if (n.startsWith('cls.')) continue;
      assert.deepEqual(plain.store.get(n), w.data, n);
    }
    assert.ok(!plain.store.specs.some((s) => s.name.includes('.lora_')));
    assert.match(readFileSync(join(dir, 'ft_head', 'log.txt'), 'utf8'), /merged the LoRA adapter of .*pre\/checkpoint \(r 2, alpha 4, targets query, value\) into its base weights/);

    const again = await ft('ft_lora', { strategy: { name: 'lora' }, lora: LORA });
    for (const [n, w] of merged) {
      if (n.startsWith('cls.')) continue;
      assert.deepEqual(again.store.get(n), w.data, `${n} (frozen under LoRA)`);
    }
    const ck = readCheckpoint(join(dir, 'ft_lora', 'checkpoint'));
    const A0 = ck.weights.get('bert.encoder.layer.0.attention.self.query.lora_A.weight')!.data;
    assert.notDeepEqual(A0, pck.weights.get('bert.encoder.layer.0.attention.self.query.lora_A.weight')!.data, 'a fresh adapter, not the pretrained one');
    assert.match(readFileSync(join(dir, 'ft_lora', 'log.txt'), 'utf8'), /into its base weights: .*; this run trains a fresh adapter on top/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
