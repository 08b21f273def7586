// ONNX export (src/export/onnx.ts) checked by ONNX Runtime (onnxruntime-node, CPU): every head's
// output on padded batches equals the float64 reference forward (model/reference.ts, what the GPU
// model is tested against), fp32 and quantised (MatMulInteger = the int8 reference).
//
// Bounds, per output tensor: fp32: max |ort − ref| ≤ 1e-4 · max|ref| + 1e-5 (float32 vs float64).
// quantised: ≤ 2e-3 · max|ref| + 1e-5 (as the GPU int8 test: an activation that float32 and
// float64 round to neighbouring int8 values moves an output by one quantum).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bertReference, quantizeModel, toParams64, type BertConfig, type HeadSpec, type ModelBatch } from '../src/model/index.js';
import { buildOnnxModel, decodeOnnx, encodeOnnx, exportOnnx, onnxHeadOutputs } from '../src/export/onnx.js';
import { ortRun, ortSession } from '../src/export/ort.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './model/helpers.js';

/** The batch with labels fitting head `h` (the reference checks them; the loss is not compared). */
function withLabels(batch: ModelBatch, h: HeadSpec): ModelBatch {
  const M = batch.B * batch.T;
  if (h.kind === 'seq_cls') return { ...batch, labels: new Int32Array(batch.B) };
  if (h.kind === 'embedding') return { ...batch, labels: new Int32Array(batch.B) };
  return { ...batch, labels: Int32Array.from({ length: M }, (_, i) => (i % 3 === 0 ? 1 : -100)) };
}

const models: { name: string; config: BertConfig; heads: HeadSpec[] }[] = [
  {
    name: 'mlm + seq_cls (cls pooling) + token_cls + embedding (normalised), gelu',
    config: tinyConfig({ vocabSize: 23, hiddenSize: 16, intermediateSize: 36, maxPositions: 9 }),
    heads: [{ kind: 'mlm' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, { kind: 'token_cls', numLabels: 4 }, { kind: 'embedding', normalize: true }],
  },
  {
    name: 'seq_cls (mean pooling) + embedding (not normalised), gelu_tanh, 3 layers',
    config: tinyConfig({ vocabSize: 19, hiddenSize: 12, numHeads: 3, numLayers: 3, intermediateSize: 20, maxPositions: 9, hiddenAct: 'gelu_tanh' }),
    heads: [{ kind: 'seq_cls', numLabels: 2, pooling: 'mean' }, { kind: 'embedding', normalize: false }],
  },
];

for (const m of models) {
  for (const quantized of [false, true]) {
    test(`ONNX Runtime = float64 reference on padded batches, every head${quantized ? ' (quantised, MatMulInteger)' : ''}: ${m.name}`, async () => {
      const store = randomStore(m.config, m.heads, null, 11, 0.3);
      const q = quantized ? quantizeModel(m.config, store) : null;
      const bytes = encodeOnnx(buildOnnxModel(m.config, m.heads, store, { quantized }));
      const session = await ortSession(bytes);
      const names = onnxHeadOutputs(m.heads);
      // two shapes through the same session: the batch and sequence axes are dynamic (even B: the
      // reference's embedding loss pairs rows)
      for (const [B, T, seed] of [[4, 7, 3], [6, 9, 4]] as const) {
        const batch = randomBatch(m.config, B, T, seed, 'none', 0);
        assert.ok(batch.attentionMask.some((v) => v === 0), 'the batch is padded');
        const out = await ortRun(session, batch);
        const rel = quantized ? 2e-3 : 1e-4;
        m.heads.forEach((h, i) => {
          const ref = bertReference(m.config, m.heads, toParams64(store), withLabels(batch, h), { head: i, grads: false, int8: q });
          tensorClose(out[names[i]!]!, ref.logits, `${names[i]} (B ${B}, T ${T})`, rel, 1e-5);
          if (i === 0) tensorClose(out.last_hidden_state!, ref.hidden, `last_hidden_state (B ${B}, T ${T})`, rel, 1e-5);
        });
      }
      await session.release();
    });
  }
}

test('the ONNX file: opset 17, int64 inputs with dynamic batch/sequence axes, int8 initializers when quantised; exportOnnx writes it', async () => {
  const m = models[0]!;
  const store = randomStore(m.config, m.heads, null, 2, 0.3);
  const model = decodeOnnx(encodeOnnx(buildOnnxModel(m.config, m.heads, store, { quantized: true })));
  assert.equal(Number(model.opsetImport[0]!.version), 17);
  assert.deepEqual(model.graph!.input!.map((i) => i.name), ['input_ids', 'attention_mask', 'token_type_ids']);
  for (const i of model.graph!.input!) assert.deepEqual(i.type!.tensorType!.shape!.dim!.map((d) => d.dimParam), ['batch', 'sequence']);
  const int8 = model.graph!.initializer!.filter((t) => t.dataType === 3);
  assert.equal(int8.length, 6 * m.config.numLayers);
  assert.equal(model.graph!.node!.filter((n) => n.opType === 'MatMulInteger').length, 6 * m.config.numLayers);
  // through a checkpoint directory (the CLI's path)
  const dir = mkdtempSync(join(tmpdir(), 'tb-onnx-'));
  try {
    const { writeCheckpoint, hfConfig } = await import('../src/checkpoint/index.js');
    const vocab = Array.from({ length: m.config.vocabSize }, (_, i) => (i < 5 ? ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'][i]! : `w${i}`));
    writeCheckpoint(join(dir, 'ck'), store, {
      config: hfConfig(m.config, { heads: m.heads, task: { kind: 'seq_cls' }, labels: ['a', 'b', 'c'] }), vocab,
    });
    const r = await exportOnnx(join(dir, 'ck'), join(dir, 'model.onnx'));
    assert.equal(statSync(r.path).size, r.bytes);
    assert.deepEqual(r.outputs, ['mlm_logits', 'seq_cls_logits', 'token_cls_logits', 'sentence_embedding']);
    const s = await ortSession(r.path);
    assert.deepEqual([...s.outputNames].sort(), ['last_hidden_state', ...r.outputs].sort());
    await s.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
