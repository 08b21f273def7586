// The MLM head's logits follow the number of masked rows of each batch: buffers grow when a batch
// of the same (B, T) shape has more masked rows than any before, and later, smaller batches reuse
// them. Loss and logits are compared with the float64 reference after every batch.
// Bound as in bert_gpu.test.ts: loss |gpu − ref| ≤ 1e-4·|ref| + 1e-6; logits per tensor 2e-4·max + 1e-6.
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { type Gpu } from '@tunebench/kernels';
import { BertModel, bertReference, mulberry32, toParams64, type HeadSpec } from '../../src/model/index.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

test('MLM batches of one shape with 3, 300 and 40 masked rows match the reference', async () => {
  const config = tinyConfig({ vocabSize: 29, hiddenSize: 16, intermediateSize: 32, maxPositions: 80 });
  const heads: HeadSpec[] = [{ kind: 'mlm' }];
  const store = randomStore(config, heads, null, 5);
  const model = new BertModel(gpu, config, heads, store);
  model.upload();
  const B = 4, T = 80;
  for (const [seed, masked] of [[1, 3], [2, 300], [3, 40]] as const) {
    const batch = randomBatch(config, B, T, seed, 'token', config.vocabSize);
    // Keep exactly `masked` labelled rows among the real tokens (randomly chosen, seeded).
    const rand = mulberry32(seed * 77);
    const real = Array.from({ length: B * T }, (_, i) => i).filter((i) => batch.attentionMask[i] === 1);
    for (let i = real.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [real[i], real[j]] = [real[j], real[i]];
    }
    batch.labels.fill(-100);
    for (const i of real.slice(0, masked)) batch.labels[i] = Math.floor(rand() * config.vocabSize);
    const enc = gpu.encoder();
    model.forward(enc, batch, { head: 0 });
    await enc.submit();
    const ref = bertReference(config, heads, toParams64(store), batch, { head: 0 });
    const loss = await model.readLoss();
    assert.ok(Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss) + 1e-6, `loss ${loss} vs reference ${ref.loss} (${masked} masked rows)`);
    const logits = await model.readLogits();
    assert.equal(logits.rows, masked);
    // The GPU returns the labelled rows only, in row order; the reference has every row.
    const V = config.vocabSize;
    const rows = Array.from({ length: B * T }, (_, i) => i).filter((i) => batch.labels[i] !== -100);
    const want = new Float64Array(rows.length * V);
    rows.forEach((r, k) => want.set(ref.logits.subarray(r * V, (r + 1) * V), k * V));
    tensorClose(logits.data, want, `logits with ${masked} masked rows`);
  }
  model.destroy();
});
