// Attention-probability dropout (HF's attention_probs_dropout_prob) in the GPU model's training
// mode. Properties:
//   - the mask is a pure function of (dropout seed, step): same seed/step → the same bits, another
//     seed or step → another output;
//   - training mode with p > 0 changes the output; eval mode ignores p exactly (bit-identical to a
//     model whose config has attentionDropout = 0);
//   - the backward is the gradient of the dropped-out forward: the directional derivative along the
//     gradient, (L(θ + εu) − L(θ − εu)) / 2ε with u = g/‖g‖, equals ‖g‖ within 2 % (ε = 1e-2 in
//     float32, as in dropout_grad.test.ts);
//   - the attention mask is its own stream: with hidden dropout on too, turning attention dropout
//     on still changes the output (the streams are not the same mask).
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { type Gpu } from '@tunebench/kernels';
import { BertModel, type BertConfig, type HeadSpec } from '../../src/model/index.js';
import type { ModelBatch } from '../../src/model/index.js';
import { randomBatch, randomStore, tinyConfig, directionalDerivative } from './helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];

function configWith(over: Partial<BertConfig>): BertConfig {
  return tinyConfig({ vocabSize: 17, hiddenSize: 16, intermediateSize: 24, maxPositions: 12, ...over });
}

async function hidden(model: BertModel, batch: ReturnType<typeof randomBatch>, opts: { train: boolean; seed?: number; step?: number }) {
  const enc = gpu.encoder();
  model.forward(enc, batch, { ...opts, grad: false });
  await enc.submit();
  return { hidden: await model.readHidden(), loss: await model.readLoss() };
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = bits(a), y = bits(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

test('attention dropout: same (seed, step) → same bits; another seed or step → another output', async () => {
  const config = configWith({ attentionDropout: 0.3 });
  const model = new BertModel(gpu, config, heads, randomStore(config, heads, null, 11, 0.3));
  try {
    const batch = randomBatch(config, 3, 10, 4, 'row', 3);
    const a = await hidden(model, batch, { train: true, seed: 5, step: 3 });
    const b = await hidden(model, batch, { train: true, seed: 5, step: 3 });
    assert.ok(sameBits(a.hidden, b.hidden), 'same seed and step: bit-identical hidden states');
    const c = await hidden(model, batch, { train: true, seed: 6, step: 3 });
    const d = await hidden(model, batch, { train: true, seed: 5, step: 4 });
    assert.ok(!sameBits(a.hidden, c.hidden), 'another seed: another output');
    assert.ok(!sameBits(a.hidden, d.hidden), 'another step: another output');
    assert.deepEqual(model.deviations, [], 'no deviation from HF training is reported any more');
  } finally {
    model.destroy();
  }
});

test('attention dropout: training mode changes the output, eval mode is exact (p ignored)', async () => {
  const store = randomStore(configWith({}), heads, null, 12, 0.3);
  const withDrop = new BertModel(gpu, configWith({ attentionDropout: 0.3 }), heads, store);
  const without = new BertModel(gpu, configWith({ attentionDropout: 0 }), heads, store);
  try {
    const batch = randomBatch(withDrop.config, 3, 10, 9, 'row', 3);
    const evalDrop = await hidden(withDrop, batch, { train: false });
    const evalPlain = await hidden(without, batch, { train: false });
    assert.ok(sameBits(evalDrop.hidden, evalPlain.hidden), 'eval mode: bit-identical to attentionDropout = 0');
    const trainPlain = await hidden(without, batch, { train: true, seed: 1, step: 1 });
    assert.ok(sameBits(trainPlain.hidden, evalPlain.hidden), 'p = 0 and no hidden dropout: training mode = eval mode');
    const trainDrop = await hidden(withDrop, batch, { train: true, seed: 1, step: 1 });
    let maxDiff = 0;
    for (let i = 0; i < trainDrop.hidden.length; i++) maxDiff = Math.max(maxDiff, Math.abs(trainDrop.hidden[i] - evalDrop.hidden[i]));
    // LayerNorm output is O(1); a dropped 30 % of the probabilities moves it well above rounding.
    assert.ok(maxDiff > 1e-3, `p = 0.3 in training mode changes the hidden states (max |Δ| ${maxDiff})`);
  } finally {
    withDrop.destroy();
    without.destroy();
  }
});

test('attention dropout is a stream of its own: with hidden dropout on, adding it changes the output', async () => {
  const store = randomStore(configWith({}), heads, null, 13, 0.3);
  const hiddenOnly = new BertModel(gpu, configWith({ hiddenDropout: 0.2 }), heads, store);
  const both = new BertModel(gpu, configWith({ hiddenDropout: 0.2, attentionDropout: 0.2 }), heads, store);
  try {
    const batch = randomBatch(both.config, 3, 10, 2, 'row', 3);
    const a = await hidden(hiddenOnly, batch, { train: true, seed: 3, step: 0 });
    const b = await hidden(both, batch, { train: true, seed: 3, step: 0 });
    assert.ok(!sameBits(a.hidden, b.hidden));
  } finally {
    hiddenOnly.destroy();
    both.destroy();
  }
});

const directional = (model: BertModel, batch: ModelBatch, head = 0) => directionalDerivative(gpu, model, batch, head);

for (const [name, over, kind] of [
  ['seq_cls, attention dropout only', { attentionDropout: 0.25 }, 'seq_cls'],
  ['token_cls, attention + hidden dropout', { attentionDropout: 0.2, hiddenDropout: 0.1 }, 'token_cls'],
] as const) {
  test(`attention dropout (${name}): the backward is the gradient of the dropped-out forward`, async () => {
    const config = configWith(over);
    const hs: HeadSpec[] = kind === 'seq_cls' ? heads : [{ kind: 'token_cls', numLabels: 3 }];
    const model = new BertModel(gpu, config, hs, randomStore(config, hs, null, 3, 0.3));
    try {
      const batch = randomBatch(config, 4, 8, 5, kind === 'seq_cls' ? 'row' : 'token', 3);
      const { numeric, norm } = await directional(model, batch);
      assert.ok(norm > 0);
      assert.ok(Math.abs(numeric - norm) <= 0.02 * norm, `directional derivative ${numeric} vs ‖g‖ ${norm}`);
    } finally {
      model.destroy();
    }
  });
}
