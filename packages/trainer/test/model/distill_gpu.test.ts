// Knowledge distillation through BertModel.forward's `distill` option (bert_heads.ts DistillSpec):
// on seq_cls and token_cls heads of a multi-task model, the gradient of
//   ceWeight · CE(labels) + kdWeight · τ²·KL(teacher ‖ student)
// is linear in the two weights, its cross-entropy part equals the plain forward's, its KL part
// reaches the classifier bias as Σ_rows of distill_kl_reference's dlogits, the reported
// distillation loss is the reference's mean, and the teacher logits can come straight from
// another model's lastLogitsBuffer(). Heads without softmax logits refuse it.
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { distill_kl_reference, mulberry32, randomF32, type Gpu } from '@tunebench/kernels';
import { BertModel, classifierPrefix, type DistillSpec, type HeadSpec, type ModelBatch } from '../../src/model/index.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const config = tinyConfig({ vocabSize: 23, hiddenSize: 16, intermediateSize: 32, maxPositions: 8 });
const HEADS: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, { kind: 'token_cls', numLabels: 4 }, { kind: 'embedding', normalize: true }];

async function grads(model: BertModel, batch: ModelBatch, head: number, distill?: DistillSpec, lossScale = 1) {
  const enc = gpu.encoder();
  model.zeroGrads(enc);
  model.forward(enc, batch, { grad: true, head, distill, lossScale });
  model.backward(enc);
  await enc.submit();
  return { g: await model.readGrads(), logits: (await model.readLogits()).data, kd: distill ? await model.readDistillLoss() : NaN };
}

for (const [head, labels, C] of [[0, 'row', 3], [1, 'token', 4]] as const) {
  test(`distillation on ${HEADS[head]!.kind}: gradients linear in (ceWeight, kdWeight), CE part = plain forward, KL part = reference (τ = 2.5, lossScale 0.7)`, async () => {
    const model = new BertModel(gpu, config, HEADS, randomStore(config, HEADS, null, 3, 0.3));
    const batch = randomBatch(config, 4, 7, 11, labels, C);
    const rows = labels === 'row' ? batch.B : batch.B * batch.T;
    const teacherData = randomF32(mulberry32(5 + head), rows * C, -3, 3);
    const teacherLogits = gpu.buffer(teacherData);
    const T = 2.5, s = 0.7;
    const spec = (ceWeight: number, kdWeight: number): DistillSpec => ({ teacherLogits, temperature: T, ceWeight, kdWeight });
    const plain = await grads(model, batch, head, undefined, s);
    const ce = await grads(model, batch, head, spec(1, 0), s);
    const kd = await grads(model, batch, head, spec(0, 1), s);
    const mix = await grads(model, batch, head, spec(0.3, 0.9), s);
    tensorClose(ce.g, plain.g, 'ceWeight 1, kdWeight 0 = no distillation', 1e-6, 1e-9);
    tensorClose(mix.g, Array.from(ce.g, (x, i) => 0.3 * x + 0.9 * kd.g[i]!), '0.3·CE + 0.9·KD', 2e-5, 1e-8);
    // The KL gradient reaches the classifier bias as the sum over rows of d loss / d logits.
    const labelled = Array.from(batch.labels).filter((y) => y !== -100).length;
    const losses = new Float64Array(rows), dl = new Float64Array(rows * C);
    distill_kl_reference(losses, dl, plain.logits, teacherData, batch.labels, rows, C, { temperature: T, normalizer: labelled, weight: s });
    const bias = new Float64Array(C);
    for (let r = 0; r < rows; r++) for (let j = 0; j < C; j++) bias[j] += dl[r * C + j]!;
    const r = model.store.range(`${classifierPrefix(HEADS, head)}.bias`);
    tensorClose(kd.g.subarray(r.offset, r.offset + r.length), bias, 'classifier bias gradient of the KL term', 1e-4, 1e-7);
    const meanKd = losses.reduce((a, b) => a + b, 0) / labelled;
    assert.ok(Math.abs(kd.kd - meanKd) <= 1e-5 * (1 + meanKd), `distillation loss ${kd.kd} vs reference ${meanKd}`);
    // and the encoder below gets it too
    const w = model.store.range('bert.encoder.layer.0.attention.self.query.weight');
    assert.ok(kd.g.subarray(w.offset, w.offset + w.length).some((x) => Math.abs(x) > 0), 'the KL term trains the shared encoder');
    teacherLogits.destroy();
    model.destroy();
  });
}

test('the teacher logits can be another model\'s lastLogitsBuffer(); a student equal to its teacher gets no KL gradient', async () => {
  const store = randomStore(config, HEADS, null, 9, 0.3);
  const teacher = new BertModel(gpu, config, HEADS, store);
  const student = new BertModel(gpu, config, HEADS, randomStore(config, HEADS, null, 9, 0.3));
  const batch = randomBatch(config, 3, 6, 2, 'token', 4);
  const enc = gpu.encoder();
  student.zeroGrads(enc);
  teacher.forward(enc, batch, { head: 1 });
  student.forward(enc, batch, { head: 1, grad: true, distill: { teacherLogits: teacher.lastLogitsBuffer().buffer, temperature: 3, ceWeight: 0, kdWeight: 1 } });
  student.backward(enc);
  await enc.submit();
  const g = await student.readGrads();
  assert.ok(g.every((x) => Math.abs(x) < 1e-6), `max |gradient| ${Math.max(...Array.from(g, Math.abs))}`);
  assert.ok(Math.abs(await student.readDistillLoss()) < 1e-6);
  teacher.destroy();
  student.destroy();
});

test('distillation on a head without softmax logits, or without weights, is refused', () => {
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3, crf: { constraints: 'none' } }, { kind: 'embedding', normalize: true }, { kind: 'seq_cls', numLabels: 2, pooling: 'mean' }];
  const model = new BertModel(gpu, config, heads, randomStore(config, heads, null, 1, 0.3));
  const t = gpu.zeros(4 * 64);
  const d = { teacherLogits: t, temperature: 2, ceWeight: 0.5, kdWeight: 0.5 };
  assert.throws(() => model.forward(gpu.encoder(), randomBatch(config, 2, 5, 1, 'token', 3), { head: 0, grad: true, distill: d }), /heads\[0\] is token_cls with a CRF/);
  assert.throws(() => model.forward(gpu.encoder(), randomBatch(config, 2, 5, 1, 'none', 0), { head: 1, grad: true, distill: d }), /heads\[1\] is embedding/);
  assert.throws(() => model.forward(gpu.encoder(), randomBatch(config, 2, 5, 1, 'row', 2), { head: 2, grad: true, distill: { ...d, ceWeight: 0, kdWeight: 0 } }), /not both 0/);
  model.destroy();
});
