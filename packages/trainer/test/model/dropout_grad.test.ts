// Training mode (hidden dropout, LoRA dropout) has no float64 reference of its own, so its backward
// is checked against its own forward: with the dropout masks fixed by (seed, step), the directional
// derivative along the gradient, (L(θ + εu) − L(θ − εu)) / 2ε with u = g/‖g‖, must equal ‖g‖.
// Bound: within 2 % (ε = 1e-2 on float32; the measured error is far smaller).
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { type Gpu } from '@tunebench/kernels';
import { BertModel, type HeadSpec, type LoraConfig } from '../../src/model/index.js';
import type { ModelBatch } from '../../src/model/index.js';
import { randomBatch, randomStore, tinyConfig, directionalDerivative } from './helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const directional = (model: BertModel, batch: ModelBatch, head = 0) => directionalDerivative(gpu, model, batch, head);

test('hidden dropout: the backward is the gradient of the dropped-out forward', async () => {
  const config = tinyConfig({ vocabSize: 17, hiddenSize: 16, intermediateSize: 24, hiddenDropout: 0.2 });
  const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];
  const model = new BertModel(gpu, config, heads, randomStore(config, heads, null, 3, 0.3));
  try {
    const { numeric, norm } = await directional(model, randomBatch(config, 4, 6, 5, 'row', 3));
    assert.ok(Math.abs(numeric - norm) <= 0.02 * norm, `directional derivative ${numeric} vs ‖g‖ ${norm}`);
  } finally {
    model.destroy();
  }
});

test('LoRA dropout (+ hidden dropout, token_cls): the backward is the gradient of the dropped-out forward', async () => {
  const config = tinyConfig({ vocabSize: 17, hiddenSize: 16, intermediateSize: 24, hiddenDropout: 0.1 });
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3 }];
  const lora: LoraConfig = { r: 2, alpha: 4, dropout: 0.3, targets: ['query', 'value', 'ffn_out'] };
  const model = new BertModel(gpu, config, heads, randomStore(config, heads, lora, 4, 0.3), { lora });
  try {
    model.setTrainable((s) => s.module === 'lora' || s.module === 'head');
    const batch = randomBatch(config, 4, 6, 6, 'token', 3);
    const { numeric, norm } = await directional(model, batch);
    assert.ok(norm > 0, 'LoRA parameters get a gradient');
    assert.ok(Math.abs(numeric - norm) <= 0.02 * norm, `directional derivative ${numeric} vs ‖g‖ ${norm}`);
    // and the LoRA dropout is really applied: another seed gives another loss
    const run = async (seed: number) => {
      const enc = gpu.encoder();
      model.forward(enc, batch, { train: true, seed, step: 2 });
      await enc.submit();
      return model.readLoss();
    };
    assert.notEqual(await run(1), await run(2));
  } finally {
    model.destroy();
  }
});
