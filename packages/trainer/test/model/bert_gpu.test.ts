// The GPU model against the float64 reference on random tiny models: loss, logits and every
// parameter gradient, for every head and loss, LoRA, frozen prefixes, the prefix cache and dropout.
// Bound (float32 kernels vs float64): per tensor, max |gpu − ref| ≤ 2e-4 · max(|ref|) + 1e-6;
// loss |gpu − ref| ≤ 1e-4 · |ref| + 1e-6.
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { type Gpu } from '@tunebench/kernels';
import {
  BertModel, bertReference, toParams64, type BertConfig, type HeadSpec, type LoraConfig, type LossOptions, type ModelBatch, type ParamSpec, type ParamStore,
} from '../../src/model/index.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });


async function runGpu(model: BertModel, batch: ModelBatch, head: number, loss: LossOptions | undefined, o: { train?: boolean; cacheKey?: string } = {}) {
  const enc = gpu.encoder();
  model.zeroGrads(enc);
  model.forward(enc, batch, { grad: true, head, loss, ...o });
  model.backward(enc);
  await enc.submit();
  return { loss: await model.readLoss(), logits: await model.readLogits(), grads: await model.readGrads() };
}

function cfg(over: Partial<BertConfig> = {}): BertConfig {
  return tinyConfig({ vocabSize: 23, hiddenSize: 16, intermediateSize: 32, maxPositions: 8, ...over });
}

interface Case { name: string; heads: HeadSpec[]; head?: number; loss?: LossOptions; lora?: LoraConfig; labels: 'token' | 'row' | 'none'; numLabels: number; act?: 'gelu' | 'gelu_tanh' }
const cases: Case[] = [
  { name: 'mlm', heads: [{ kind: 'mlm' }], labels: 'token', numLabels: 23 },
  { name: 'seq_cls cls pooling, gelu_tanh', heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }], labels: 'row', numLabels: 3, act: 'gelu_tanh' },
  { name: 'seq_cls mean pooling, class weights', heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'mean' }], labels: 'row', numLabels: 3, loss: { classWeights: [0.5, 2, 1.5] } },
  { name: 'token_cls focal', heads: [{ kind: 'token_cls', numLabels: 4 }], labels: 'token', numLabels: 4, loss: { focalGamma: 2, focalAlpha: [0.25, 0.5, 1, 0.75] } },
  { name: 'token_cls CRF (labelled tokens with gaps form the sequences)', heads: [{ kind: 'token_cls', numLabels: 4, crf: { constraints: 'none' } }], labels: 'token', numLabels: 4 },
  {
    name: 'token_cls CRF in a multi-task model (heads.1.crf.transitions)', heads: [{ kind: 'seq_cls', numLabels: 2, pooling: 'mean' }, { kind: 'token_cls', numLabels: 3, crf: { constraints: 'none' } }],
    head: 1, labels: 'token', numLabels: 3,
  },
  { name: 'embedding mnr, normalized', heads: [{ kind: 'embedding', normalize: true }], labels: 'none', numLabels: 0 },
  { name: 'embedding cosine', heads: [{ kind: 'embedding', normalize: false }], labels: 'none', numLabels: 0, loss: { embeddingLoss: 'cosine', cosineTargets: [0.9, -0.2] } },
  {
    name: 'LoRA (all targets), multi-task, token_cls head', heads: [{ kind: 'mlm' }, { kind: 'token_cls', numLabels: 3 }], head: 1,
    labels: 'token', numLabels: 3, lora: { r: 2, alpha: 4, dropout: 0, targets: ['query', 'key', 'value', 'attention_output', 'ffn_in', 'ffn_out'] },
  },
];

function refGrads(store: ParamStore, grads: Map<string, Float64Array>): Float64Array {
  const flat = new Float64Array(store.totalSize);
  for (const [n, g] of grads) flat.set(g, store.range(n).offset);
  return flat;
}

for (const c of cases) {
  test(`GPU model = float64 reference: ${c.name}`, async () => {
    const config = cfg({ hiddenAct: c.act ?? 'gelu' });
    const store = randomStore(config, c.heads, c.lora ?? null, 5, 0.3);
    const batch = randomBatch(config, 4, 7, 9, c.labels, c.numLabels);
    const model = new BertModel(gpu, config, c.heads, store, { lora: c.lora });
    try {
      const got = await runGpu(model, batch, c.head ?? 0, c.loss);
      const ref = bertReference(config, c.heads, toParams64(store), batch, { head: c.head ?? 0, loss: c.loss, lora: c.lora });
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-4 * Math.abs(ref.loss) + 1e-6, `loss gpu ${got.loss} vs reference ${ref.loss}`);
      if (c.heads[c.head ?? 0].kind !== 'mlm') tensorClose(got.logits.data, ref.logits, 'logits');
      else {
        // MLM logits: only the labelled rows, in order
        const rows = Array.from(batch.labels.keys()).filter((i) => batch.labels[i] !== -100);
        const V = config.vocabSize;
        const exp = new Float64Array(rows.length * V);
        rows.forEach((r, i) => exp.set(ref.logits.subarray(r * V, (r + 1) * V), i * V));
        tensorClose(got.logits.data, exp, 'logits');
      }
      const flat = refGrads(store, ref.grads!);
      for (const s of store.specs) {
        const { offset, length } = store.range(s.name);
        tensorClose(got.grads.subarray(offset, offset + length), flat.subarray(offset, offset + length), `grad ${s.name}`);
      }
    } finally {
      model.destroy();
    }
  });
}

const strategies: { name: string; trains: (s: ParamSpec) => boolean; lowest: number }[] = [
  { name: 'top layer + head', trains: (s) => s.layer >= 1, lowest: 1 },
  { name: 'FFN only + head (frozen LayerNorms and attention inside trained layers)', trains: (s) => s.module === 'ffn' || s.layer === 2, lowest: 0 },
  { name: 'word embeddings + attention (frozen position/type tables, frozen head)', trains: (s) => s.name.includes('word_embeddings') || s.module === 'attention', lowest: -1 },
];
for (const st of strategies) {
  test(`frozen parameters get no gradient (exact zeros), trained ones match the reference: ${st.name}`, async () => {
    const config = cfg();
    const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];
    const store = randomStore(config, heads, null, 6, 0.3);
    const batch = randomBatch(config, 4, 7, 2, 'row', 3);
    const model = new BertModel(gpu, config, heads, store);
    try {
      model.setTrainable(st.trains);
      assert.equal(model.lowestTrainableLayer, st.lowest);
      const got = await runGpu(model, batch, 0, undefined);
      const ref = bertReference(config, heads, toParams64(store), batch);
      for (const s of store.specs) {
        const { offset, length } = store.range(s.name);
        const g = got.grads.subarray(offset, offset + length);
        if (!st.trains(s)) assert.ok(g.every((v) => v === 0), `${s.name} is frozen but has a gradient`);
        else tensorClose(g, ref.grads!.get(s.name)!, `grad ${s.name}`);
      }
    } finally {
      model.destroy();
    }
  });
}

test('prefix cache: head-only training reuses the cached encoder output instead of rerunning the encoder', async () => {
  const config = cfg();
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3 }];
  const store = randomStore(config, heads, null, 8, 0.3);
  const batch = randomBatch(config, 4, 7, 3, 'token', 3);
  const model = new BertModel(gpu, config, heads, store);
  try {
    model.setTrainable((s) => s.module === 'head');
    assert.equal(model.lowestTrainableLayer, config.numLayers);
    const first = await runGpu(model, batch, 0, undefined, { cacheKey: 'batch-0' });
    const ref = bertReference(config, heads, toParams64(store), batch);
    for (const name of ['classifier.weight', 'classifier.bias']) {
      const { offset, length } = store.range(name);
      tensorClose(first.grads.subarray(offset, offset + length), ref.grads!.get(name)!, `grad ${name}`);
    }
    // Change an encoder weight on the GPU behind the model's back (not via upload(), which clears
    // the cache): a cache hit must not see it, an uncached forward must.
    const changed = store.data.slice();
    const q = store.range('bert.encoder.layer.1.attention.self.query.weight');
    for (let i = q.offset; i < q.offset + q.length; i++) changed[i] += 0.5;
    gpu.write(model.params, changed);
    const hit = await runGpu(model, batch, 0, undefined, { cacheKey: 'batch-0' });
    assert.equal(hit.loss, first.loss, 'cache hit = same loss bits');
    assert.deepEqual(hit.grads, first.grads);
    const miss = await runGpu(model, batch, 0, undefined);
    assert.notEqual(miss.loss, first.loss, 'without the cache the changed encoder is used');
  } finally {
    model.destroy();
  }
});

test('dropout: training mode is seeded (same seed = same bits, other seed differs) and eval mode has none', async () => {
  const config = cfg({ hiddenDropout: 0.1 });
  const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];
  const store = randomStore(config, heads, null, 4, 0.3);
  const batch = randomBatch(config, 4, 7, 1, 'row', 3);
  const model = new BertModel(gpu, config, heads, store);
  try {
    const run = async (train: boolean, seed: number) => {
      const enc = gpu.encoder();
      model.zeroGrads(enc);
      model.forward(enc, batch, { train, seed, step: 3 });
      if (train) model.backward(enc);
      await enc.submit();
      return { loss: await model.readLoss(), grads: await model.readGrads() };
    };
    const a = await run(true, 1), b = await run(true, 1), c = await run(true, 2), e = await run(false, 1);
    assert.equal(a.loss, b.loss);
    assert.deepEqual(a.grads, b.grads);
    assert.notEqual(a.loss, c.loss);
    const ref = bertReference(config, heads, toParams64(store), batch, { grads: false });
    assert.ok(Math.abs(e.loss - ref.loss) <= 1e-4 * ref.loss, `eval loss ${e.loss} vs reference without dropout ${ref.loss}`);
  } finally {
    model.destroy();
  }
});

test('BertModel rejects a store of another shape and bad batches with clear errors', () => {
  const config = cfg();
  const heads: HeadSpec[] = [{ kind: 'mlm' }];
  const store = randomStore(config, [{ kind: 'token_cls', numLabels: 2 }], null, 1);
  assert.throws(() => new BertModel(gpu, config, heads, store), /does not fit this config\/heads\/lora/);
  const ok = new BertModel(gpu, config, heads, randomStore(config, heads, null, 1));
  try {
    const batch = randomBatch(config, 2, 9, 1, 'token', 5);
    assert.throws(() => ok.forward(gpu.encoder(), batch), /exceeds the model's maxPositions 8/);
  } finally {
    ok.destroy();
  }
});

test('activations per (B, T) shape: least recently used shapes are freed and rebuilt correctly', async () => {
  const config = cfg();
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3 }];
  const store = randomStore(config, heads, null, 12, 0.3);
  const model = new BertModel(gpu, config, heads, store, { maxShapes: 1 });
  try {
    const a = randomBatch(config, 2, 5, 1, 'token', 3), b = randomBatch(config, 3, 7, 2, 'token', 3);
    const first = await runGpu(model, a, 0, undefined);
    const other = await runGpu(model, b, 0, undefined);
    const again = await runGpu(model, a, 0, undefined);
    assert.equal(again.loss, first.loss);
    assert.deepEqual(again.grads, first.grads);
    const ref = bertReference(config, heads, toParams64(store), b);
    assert.ok(Math.abs(other.loss - ref.loss) <= 1e-4 * ref.loss);
  } finally {
    model.destroy();
  }
});

test('multi-task: two heads recorded in one step add their gradients, each scaled by its lossScale', async () => {
  const config = cfg();
  const heads: HeadSpec[] = [{ kind: 'mlm' }, { kind: 'token_cls', numLabels: 3 }];
  const store = randomStore(config, heads, null, 14, 0.3);
  const mlmBatch = randomBatch(config, 3, 6, 5, 'token', config.vocabSize);
  const tokBatch = { ...mlmBatch, labels: randomBatch(config, 3, 6, 6, 'token', 3).labels };
  const model = new BertModel(gpu, config, heads, store);
  try {
    const enc = gpu.encoder();
    model.zeroGrads(enc);
    model.forward(enc, mlmBatch, { grad: true, head: 0, lossScale: 0.3 });
    model.backward(enc);
    model.forward(enc, tokBatch, { grad: true, head: 1, lossScale: 0.7 });
    model.backward(enc);
    await enc.submit();
    const grads = await model.readGrads();
    const p = toParams64(store);
    const r0 = bertReference(config, heads, p, mlmBatch, { head: 0 });
    const r1 = bertReference(config, heads, p, tokBatch, { head: 1 });
    for (const s of store.specs) {
      const { offset, length } = store.range(s.name);
      const exp = r0.grads!.get(s.name)!.map((g, i) => 0.3 * g + 0.7 * r1.grads!.get(s.name)![i]);
      tensorClose(grads.subarray(offset, offset + length), exp, `grad ${s.name}`);
    }
  } finally {
    model.destroy();
  }
});

test('two different batches of one shape in one StepEncoder are refused with a clear error', () => {
  const config = cfg();
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3 }];
  const model = new BertModel(gpu, config, heads, randomStore(config, heads, null, 1));
  try {
    const enc = gpu.encoder();
    model.forward(enc, randomBatch(config, 2, 5, 1, 'token', 3));
    model.forward(enc, randomBatch(config, 2, 5, 1, 'token', 3)); // the same batch again is fine
    assert.throws(() => model.forward(enc, randomBatch(config, 2, 5, 2, 'token', 3)), /submit it before recording the next batch/);
    model.forward(gpu.encoder(), randomBatch(config, 2, 5, 2, 'token', 3)); // a new encoder is fine
  } finally {
    model.destroy();
  }
});

test('prefix cache below a trained layer (top layer + head): a cache hit gives the same, reference-equal gradients', async () => {
  const config = cfg({ hiddenDropout: 0.1 });
  const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'mean' }];
  const store = randomStore(config, heads, null, 15, 0.3);
  const batch = randomBatch(config, 4, 7, 8, 'row', 3);
  const model = new BertModel(gpu, config, heads, store);
  try {
    model.setTrainable((s) => s.layer >= 1);
    const first = await runGpu(model, batch, 0, undefined, { cacheKey: 'seven' });
    const hit = await runGpu(model, batch, 0, undefined, { cacheKey: 'seven' });
    assert.deepEqual(hit.grads, first.grads);
    const ref = bertReference(config, heads, toParams64(store), batch);
    for (const s of store.specs.filter((x) => x.layer >= 1)) {
      const { offset, length } = store.range(s.name);
      tensorClose(hit.grads.subarray(offset, offset + length), ref.grads!.get(s.name)!, `grad ${s.name}`);
    }
  } finally {
    model.destroy();
  }
});
