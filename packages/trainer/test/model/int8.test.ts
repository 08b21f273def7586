// INT8 inference (src/model/int8.ts): the quantised weights and their packing, the float64
// reference of the quantised forward against the fp32 reference, and the GPU int8 forward
// (bert.ts, int8 kernels) against the float64 int8 reference, for every head kind on padded batches.
//
// Bounds. GPU int8 vs float64 int8 reference: both quantise the same weights and sum exactly in
// integers; they differ by the f32 rounding of the fp32 parts (embeddings, attention, LayerNorm,
// GELU, the scales) and, rarely, by an activation that f32 and f64 round to neighbouring int8
// values — one quantum is ≤ 1/254 of the row's max, so per tensor max |gpu − ref| ≤ 2e-3 · max|ref| + 1e-5.
// int8 reference vs fp32 reference: quantisation error, bounded loosely (≤ 10 % of the tensor's
// max) and required to be non-zero (the int8 path really runs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import type { Gpu } from '@tunebench/kernels';
import {
  BertModel, bertReference, dequantizeLinear, int8LinearNames, int8Values, packInt8, quantizeLinear, quantizeModel, toParams64,
  type HeadSpec, type ModelBatch,
} from '../../src/model/index.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

test('quantizeLinear: |W − s·q| ≤ s/2 per element, int8 values round-trip through packInt8 (any K)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 11 }), fc.integer(), (N, K, seed) => {
    let s = seed >>> 0;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const w = Float32Array.from({ length: N * K }, rand);
    const ql = quantizeLinear(w, N, K);
    const deq = dequantizeLinear(ql);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) assert.ok(Math.abs(deq[n * K + k] - w[n * K + k]) <= ql.scales[n] / 2 + 1e-7, `W[${n},${k}]`);
    }
    const q = int8Values(ql);
    assert.ok(q.every((v) => v >= -127 && v <= 127));
    const back = packInt8(q, ql.scales, N, K);
    assert.deepEqual(back.packed, ql.packed);
  }));
});

test('int8LinearNames: the six linear layers of every encoder layer, all quantised by quantizeModel', () => {
  const config = tinyConfig();
  const store = randomStore(config, [{ kind: 'mlm' }], null, 1);
  const names = int8LinearNames(config);
  assert.equal(names.length, 6 * config.numLayers);
  const q = quantizeModel(config, store);
  assert.deepEqual([...q.keys()], names);
  assert.equal(q.get('bert.encoder.layer.1.intermediate.dense')!.N, config.intermediateSize);
});

const cases: { name: string; heads: HeadSpec[]; labels: 'token' | 'row' | 'none'; numLabels: number }[] = [
  { name: 'mlm', heads: [{ kind: 'mlm' }], labels: 'token', numLabels: 23 },
  { name: 'seq_cls cls pooling', heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }], labels: 'row', numLabels: 3 },
  { name: 'seq_cls mean pooling', heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'mean' }], labels: 'row', numLabels: 3 },
  { name: 'token_cls', heads: [{ kind: 'token_cls', numLabels: 4 }], labels: 'token', numLabels: 4 },
  { name: 'embedding, normalized', heads: [{ kind: 'embedding', normalize: true }], labels: 'none', numLabels: 0 },
];

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The reference's MLM logits are (B·T, V): keep the labelled rows, as the GPU head returns them. */
function labelledRows(logits: Float64Array, batch: ModelBatch, V: number): Float64Array {
  const rows = Array.from(batch.labels.keys()).filter((i) => batch.labels[i] !== -100);
  const out = new Float64Array(rows.length * V);
  rows.forEach((r, i) => out.set(logits.subarray(r * V, (r + 1) * V), i * V));
  return out;
}

for (const c of cases) {
  test(`int8 GPU forward = float64 int8 reference, and int8 ≈ fp32: ${c.name}`, async () => {
    const config = tinyConfig({ vocabSize: 23, hiddenSize: 16, intermediateSize: 36, maxPositions: 8 });
    const store = randomStore(config, c.heads, null, 5, 0.3);
    const batch = randomBatch(config, 4, 7, 9, c.labels, c.numLabels);
    const q = quantizeModel(config, store);
    const ref8 = bertReference(config, c.heads, toParams64(store), batch, { grads: false, int8: q });
    const ref32 = bertReference(config, c.heads, toParams64(store), batch, { grads: false });
    const isMlm = c.heads[0].kind === 'mlm';
    const exp8 = isMlm ? labelledRows(ref8.logits, batch, config.vocabSize) : ref8.logits;
    const exp32 = isMlm ? labelledRows(ref32.logits, batch, config.vocabSize) : ref32.logits;
    let diff = 0;
    for (let i = 0; i < exp8.length; i++) diff = Math.max(diff, Math.abs(exp8[i] - exp32[i]));
    assert.ok(diff > 1e-6, 'the int8 reference equals the fp32 one: nothing was quantised');
    assert.ok(diff <= 0.1 * maxAbs(exp32), `int8 vs fp32 reference: max diff ${diff}, tensor max ${maxAbs(exp32)}`);
    const model = new BertModel(gpu, config, c.heads, store, { int8: true });
    try {
      const enc = gpu.encoder();
      model.forward(enc, batch, { train: false, grad: false });
      await enc.submit();
      const got = await model.readLogits();
      tensorClose(got.data, exp8, 'int8 logits', 2e-3, 1e-5);
      await assert.rejects(async () => model.forward(gpu.encoder(), batch, { train: true }), /inference only/);
    } finally {
      model.destroy();
    }
  });
}

test('bertReference with int8 refuses gradients', () => {
  const config = tinyConfig();
  const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 2, pooling: 'cls' }];
  const store = randomStore(config, heads, null, 3);
  const batch = randomBatch(config, 2, 5, 1, 'row', 2);
  assert.throws(() => bertReference(config, heads, toParams64(store), batch, { int8: quantizeModel(config, store) }), /no backward/);
});
