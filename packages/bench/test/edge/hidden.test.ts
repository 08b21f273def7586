// Hidden-state distillation (edge/net.ts HiddenProjection through BertModel's hiddenGrad hook):
// the gradient the hook adds to the student's encoder is the gradient of
//   CE + weight · mean over real tokens of (W h − h_teacher)²
// (checked by central differences of that total loss along the gradient), and dW is that loss's
// gradient in W (checked against the float64 formula on the read-back hidden states).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import { mulberry32, randomF32, type Gpu } from '@tunebench/kernels';
import { BertModel, gaussian, paramSpecs, ParamStore, type BertConfig, type HeadSpec, type ModelBatch } from '@tunebench/trainer';
import { HiddenProjection } from '../../src/edge/net.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const config: BertConfig = {
  vocabSize: 23, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 8, typeVocabSize: 2,
  hiddenDropout: 0, attentionDropout: 0, layerNormEps: 1e-12, initializerRange: 0.02, hiddenAct: 'gelu',
};
const HEADS: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];

function batchOf(B: number, T: number, seed: number): ModelBatch {
  const rand = mulberry32(seed);
  const n = B * T;
  const attentionMask = Int32Array.from({ length: n }, (_, i) => (i % T < T - (Math.floor(i / T) % 3) ? 1 : 0));
  const inputIds = Int32Array.from({ length: n }, (_, i) => (attentionMask[i] ? 1 + Math.floor(rand() * (config.vocabSize - 1)) : 0));
  return { B, T, inputIds, attentionMask, tokenTypeIds: new Int32Array(n), labels: Int32Array.from({ length: B }, () => Math.floor(rand() * 3)) };
}

test('hidden-state MSE through a learned projection: encoder gradient = d(CE + weight·MSE) by central differences; dW = the float64 formula', async () => {
  const store = new ParamStore(paramSpecs(config, HEADS));
  const g0 = gaussian(mulberry32(4));
  for (const s of store.specs) store.get(s.name).set(Array.from({ length: store.get(s.name).length }, () => (s.init === 'ones' ? 1 : 0) + 0.3 * g0()));
  const model = new BertModel(gpu, config, HEADS, store);
  const batch = batchOf(3, 6, 8);
  const M = batch.B * batch.T, Hs = config.hiddenSize, Ht = 12, weight = 0.8;
  const teacherData = randomF32(mulberry32(9), M * Ht, -1.5, 1.5);
  const teacher = gpu.buffer(teacherData);
  const hp = new HiddenProjection(gpu, Hs, Ht, weight, 17);
  const W = await gpu.read(hp.W, Float32Array, Ht * Hs);

  let enc = gpu.encoder();
  model.zeroGrads(enc);
  const hook = hp.hook(enc, teacher, batch.attentionMask, 1);
  model.forward(enc, batch, { grad: true, hiddenGrad: hook });
  model.backward(enc);
  await enc.submit();
  const g = await model.readGrads();
  const dW = await gpu.read(hp.dW, Float32Array, Ht * Hs);
  const hidden = await model.readHidden();
  const mseGpu = await hp.readLoss();

  const real = Array.from(batch.attentionMask).filter((m) => m !== 0).length;
  const mseOf = (h: Float32Array) => {
    let s = 0;
    for (let i = 0; i < M; i++) {
      if (!batch.attentionMask[i]) continue;
      for (let a = 0; a < Ht; a++) {
        let p = 0;
        for (let k = 0; k < Hs; k++) p += W[a * Hs + k]! * h[i * Hs + k]!;
        s += (p - teacherData[i * Ht + a]!) ** 2;
      }
    }
    return s / (real * Ht);
  };
  assert.ok(Math.abs(mseGpu - mseOf(hidden)) <= 1e-5 * (1 + mseOf(hidden)), `MSE ${mseGpu} vs ${mseOf(hidden)}`);
  // dW = weight · 2 Σ_real (W h − t) hᵀ / (real · Ht)
  const ref = new Float64Array(Ht * Hs);
  for (let i = 0; i < M; i++) {
    if (!batch.attentionMask[i]) continue;
    for (let a = 0; a < Ht; a++) {
      let p = 0;
      for (let k = 0; k < Hs; k++) p += W[a * Hs + k]! * hidden[i * Hs + k]!;
      const r = (2 * weight * (p - teacherData[i * Ht + a]!)) / (real * Ht);
      for (let k = 0; k < Hs; k++) ref[a * Hs + k] += r * hidden[i * Hs + k]!;
    }
  }
  const maxRef = Math.max(...Array.from(ref, Math.abs));
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(dW[i]! - ref[i]!) <= 1e-4 * maxRef + 1e-7, `dW[${i}] ${dW[i]} vs ${ref[i]}`);

  // Central differences of the total loss along u = g / ‖g‖: equals ‖g‖ when the gradient is right.
  const total = async (params: Float32Array) => {
    gpu.write(model.params, params);
    enc = gpu.encoder();
    model.forward(enc, batch, {});
    await enc.submit();
    return (await model.readLoss()) + weight * mseOf(await model.readHidden());
  };
  let norm = 0;
  for (const v of g) norm += v * v;
  norm = Math.sqrt(norm);
  const eps = 1e-2;
  const p0 = store.data.slice();
  const plus = await total(Float32Array.from(p0, (x, i) => x + (eps * g[i]!) / norm));
  const minus = await total(Float32Array.from(p0, (x, i) => x - (eps * g[i]!) / norm));
  gpu.write(model.params, p0);
  const fd = (plus - minus) / (2 * eps);
  assert.ok(Math.abs(fd - norm) <= 2e-2 * norm, `directional derivative ${fd} vs ‖g‖ ${norm}`);
  // and without the hook the gradient differs (the term is really there)
  enc = gpu.encoder();
  model.zeroGrads(enc);
  model.forward(enc, batch, { grad: true });
  model.backward(enc);
  await enc.submit();
  const plain = await model.readGrads();
  let diff = 0;
  for (let i = 0; i < g.length; i++) diff = Math.max(diff, Math.abs(g[i]! - plain[i]!));
  assert.ok(diff > 1e-4, `the hidden term changed the gradients by at most ${diff}`);
  hp.destroy();
  teacher.destroy();
  model.destroy();
});
