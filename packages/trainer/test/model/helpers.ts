// Shared helpers of the model tests: tiny configs, random parameters and batches (all seeded).
import assert from 'node:assert/strict';
import type { Gpu } from '@tunebench/kernels';
import { mulberry32, gaussian, ParamStore, paramSpecs, type BertModel, type BertConfig, type HeadSpec, type LoraConfig, type ModelBatch } from '../../src/model/index.js';

export function tinyConfig(over: Partial<BertConfig> = {}): BertConfig {
  return {
    vocabSize: 13, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 12, maxPositions: 9, typeVocabSize: 2,
    hiddenDropout: 0, attentionDropout: 0, layerNormEps: 1e-12, initializerRange: 0.02, hiddenAct: 'gelu', ...over,
  };
}

/** Every parameter random (scale `s`, LayerNorm weights around 1) so that no gradient is trivially 0. */
export function randomStore(config: BertConfig, heads: HeadSpec[], lora: LoraConfig | null, seed: number, s = 0.4): ParamStore {
  const store = new ParamStore(paramSpecs(config, heads, lora));
  const g = gaussian(mulberry32(seed));
  for (const spec of store.specs) {
    const v = store.get(spec.name);
    for (let i = 0; i < v.length; i++) v[i] = (spec.init === 'ones' ? 1 : 0) + s * g();
  }
  return store;
}

/** A batch with right padding: row b has length T − (b mod 3) (at least 2). */
export function randomBatch(
  config: BertConfig, B: number, T: number, seed: number, labels: 'token' | 'row' | 'none', numLabels: number,
): ModelBatch {
  const rand = mulberry32(seed);
  const n = B * T;
  const inputIds = new Int32Array(n), attentionMask = new Int32Array(n), tokenTypeIds = new Int32Array(n);
  const lab = new Int32Array(labels === 'row' ? B : labels === 'token' ? n : 0);
  for (let b = 0; b < B; b++) {
    const len = Math.max(2, T - (b % 3));
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const real = t < len;
      inputIds[i] = real ? Math.floor(rand() * config.vocabSize) : 0;
      attentionMask[i] = real ? 1 : 0;
      tokenTypeIds[i] = real && t >= len / 2 ? 1 : 0;
      if (labels === 'token') lab[i] = real && rand() < 0.6 ? Math.floor(rand() * numLabels) : -100;
    }
    if (labels === 'row') lab[b] = b === 1 ? -100 : Math.floor(rand() * numLabels);
  }
  if (labels === 'token' && !lab.some((y) => y !== -100)) lab[0] = 0;
  return { B, T, inputIds, attentionMask, tokenTypeIds, labels: lab };
}

/** Per tensor: max |actual − expected| ≤ rel · max|expected| + abs. */
export function tensorClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 2e-4, abs = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= rel * max + abs, `${what}[${i}]: gpu ${actual[i]} vs reference ${expected[i]} (tensor max ${max})`);
  }
}

/**
 * Directional derivative of the training-mode loss along the gradient, by central differences:
 * (L(θ + εu) − L(θ − εu)) / 2ε with u = g/‖g‖ and the dropout masks fixed by (seed 7, step 2).
 * For a correct backward it equals ‖g‖. Restores the parameters afterwards.
 */
export async function directionalDerivative(gpu: Gpu, model: BertModel, batch: ModelBatch, head = 0) {
  const opts = { train: true, seed: 7, step: 2, head };
  let enc = gpu.encoder();
  model.zeroGrads(enc);
  model.forward(enc, batch, opts);
  model.backward(enc);
  await enc.submit();
  const g = await model.readGrads();
  let norm = 0;
  for (const v of g) norm += v * v;
  norm = Math.sqrt(norm);
  const eps = 1e-2;
  const lossAt = async (sign: number) => {
    const p = model.store.data.slice();
    for (let i = 0; i < p.length; i++) p[i] += (sign * eps * g[i]) / norm;
    gpu.write(model.params, p);
    enc = gpu.encoder();
    model.forward(enc, batch, { ...opts, grad: false });
    await enc.submit();
    return model.readLoss();
  };
  const lp = await lossAt(1), lm = await lossAt(-1);
  gpu.write(model.params, model.store.data);
  return { numeric: (lp - lm) / (2 * eps), norm };
}
