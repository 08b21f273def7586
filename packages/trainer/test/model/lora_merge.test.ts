// LoRA: the merged plain model gives the same logits as the unmerged adapter (eval mode), on the
// float64 reference (|Δ| ≤ 1e-6·max|logit|, the merge rounds W to float32 once) and on the GPU
// (per tensor ≤ 2e-4·max|logit|).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openGpu } from '@tunebench/kernels';
import { BertModel, bertReference, mergeLora, toParams64, type HeadSpec, type LoraConfig } from '../../src/model/index.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './helpers.js';

const lora: LoraConfig = { r: 3, alpha: 6, dropout: 0, targets: ['query', 'value', 'ffn_in', 'ffn_out'] };
const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 4, pooling: 'cls' }];

test('mergeLora: merged model = adapter model (reference and GPU)', async () => {
  const config = tinyConfig({ vocabSize: 19, hiddenSize: 16, intermediateSize: 24 });
  const store = randomStore(config, heads, lora, 21, 0.3);
  const merged = mergeLora(store, config, heads, lora);
  assert.ok(!merged.specs.some((s) => s.name.includes('lora_')), 'no adapter left');
  const batch = randomBatch(config, 3, 6, 4, 'row', 4);
  const a = bertReference(config, heads, toParams64(store), batch, { lora, grads: false });
  const b = bertReference(config, heads, toParams64(merged), batch, { grads: false });
  tensorClose(b.logits, a.logits, 'reference logits', 1e-6, 1e-9);
  // the adapter is not a no-op here (B ≠ 0): without it the logits differ
  const base = bertReference(config, heads, toParams64(mergeLora(randomStoreZeroB(store), config, heads, lora)), batch, { grads: false });
  assert.ok(base.logits.some((v, i) => Math.abs(v - a.logits[i]) > 1e-3), 'adapter changes the logits');

  const gpu = await openGpu();
  const m1 = new BertModel(gpu, config, heads, store, { lora });
  const m2 = new BertModel(gpu, config, heads, merged);
  try {
    const logits = async (m: BertModel) => {
      const enc = gpu.encoder();
      m.forward(enc, batch);
      await enc.submit();
      return (await m.readLogits()).data;
    };
    tensorClose(await logits(m2), await logits(m1), 'GPU logits');
    tensorClose(await logits(m1), a.logits, 'GPU adapter logits vs reference');
  } finally {
    m1.destroy();
    m2.destroy();
    gpu.destroy();
  }
});

function randomStoreZeroB(store: ReturnType<typeof randomStore>) {
  const copy = new (store.constructor as typeof import('../../src/model/index.js').ParamStore)(store.specs, store.data.slice());
  for (const s of copy.specs) if (s.name.endsWith('lora_B.weight')) copy.get(s.name).fill(0);
  return copy;
}
