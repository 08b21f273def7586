// Resampling on the encoder's pooled embeddings (data.embedResample), after fine-tuning:
//   1. the pooled embedding of every training example (the vector the classifier reads: the
//      pooler's tanh output for `cls` pooling, the masked mean for `mean`), read through a second
//      model that shares every weight but has an H×H identity classifier, so its logits ARE the
//      pooled vectors — no backend needs a new entry point;
//   2. SMOTE of the costly class (up to data.resampleRatio × the largest other class, k =
//      data.smoteK minority neighbours) or Tomek-link cleaning (the members of every link that
//      are not of the costly class are dropped), @tunebench/eval's imbalanced-learn equivalents;
//   3. the classifier (weight L×H, bias L) retrained on the resampled embeddings: softmax
//      regression from the fine-tuned classifier, full-batch Adam in float64 for
//      data.embedHeadSteps steps at data.embedHeadLr, seeded by nothing random (deterministic).
// The new classifier goes back into the store, so the checkpoint and the final dev / test scores
// are those of the resampled head on the same encoder.

import { smote, tomekClean } from '@tunebench/eval';
import { ParamStore, paramSpecs, classifierPrefix, type BertConfig, type HeadSpec, type LoraConfig } from '../model/index.js';
import { ConfigError } from '../config/load.js';
import type { TrainBackend } from './backend.js';
import { evalBatches, maskSeed, type Collator, type Example } from './data.js';
import type { BackendFactory } from './loop.js';

export type EmbedResampleMethod = 'none' | 'smote' | 'tomek';

export interface EmbedResampleReport {
  method: Exclude<EmbedResampleMethod, 'none'>;
  /** Per label: examples before / after resampling. */
  before: number[];
  after: number[];
  /** SMOTE: the k used (data.smoteK, or fewer when the class has fewer than k + 1 examples). */
  k: number | null;
  headSteps: number;
  headLr: number;
  /** Mean cross-entropy of the classifier on the resampled embeddings, before and after its retraining. */
  headLossBefore: number;
  headLossAfter: number;
}

/** Pooled embeddings (N × H) of `examples` through a copy of the model whose classifier is the identity. */
export async function pooledEmbeddings(
  factory: BackendFactory, config: BertConfig, head: Extract<HeadSpec, { kind: 'seq_cls' }>, store: ParamStore, lora: LoraConfig | null,
  collator: Collator, examples: readonly Example[], batchSize: number, maxLength: number,
): Promise<number[][]> {
  const H = config.hiddenSize;
  const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: H, pooling: head.pooling }];
  const specs = paramSpecs(config, heads, lora);
  const feat = new ParamStore(specs);
  const cp = classifierPrefix(heads, 0);
  for (const s of specs) {
    const dst = feat.range(s.name);
    if (s.name === `${cp}.weight`) {
      for (let i = 0; i < H; i++) feat.data[dst.offset + i * H + i] = 1;
    } else if (s.name === `${cp}.bias`) {
      // zeros
    } else {
      const src = store.range(s.name);
      if (src.length !== dst.length) throw new Error(`pooledEmbeddings: ${s.name} has ${src.length} values in the model, ${dst.length} in the feature copy`);
      feat.data.set(store.data.subarray(src.offset, src.offset + src.length), dst.offset);
    }
  }
  const backend: TrainBackend = await factory({ config, heads, store: feat, lora, loss: {}, maxBatch: batchSize, maxLength });
  try {
    backend.load();
    const out: number[][] = [];
    let bi = 0;
    for (const { items } of evalBatches(examples, batchSize)) {
      // Labels only need to be valid class indices of the H-way identity head (no loss is used).
      const batch = collator.collate(items.map((e) => ({ ...e, label: 0 })), maskSeed(0, 1 << 20, bi++));
      const p = await backend.predict(batch);
      for (let b = 0; b < items.length; b++) out.push(Array.from(p.logits.subarray(b * H, (b + 1) * H)));
    }
    return out;
  } finally {
    backend.destroy();
  }
}

/** Softmax regression by full-batch Adam from (W, b); returns the new weights and the losses before / after. */
export function trainSoftmaxHead(X: number[][], y: number[], W: Float64Array, b: Float64Array, L: number, steps: number, lr: number): { W: Float64Array; b: Float64Array; lossBefore: number; lossAfter: number } {
  const N = X.length, H = X[0]?.length ?? 0;
  if (!N) throw new ConfigError('data.embedResample: no training embeddings to train the classifier on');
  W = Float64Array.from(W);
  b = Float64Array.from(b);
  const mW = new Float64Array(W.length), vW = new Float64Array(W.length), mB = new Float64Array(L), vB = new Float64Array(L);
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const lossAndGrad = (gW: Float64Array | null, gB: Float64Array | null): number => {
    let loss = 0;
    const z = new Float64Array(L);
    for (let n = 0; n < N; n++) {
      const x = X[n]!;
      let m = -Infinity;
      for (let l = 0; l < L; l++) {
        let s = b[l]!;
        for (let h = 0; h < H; h++) s += W[l * H + h]! * x[h]!;
        z[l] = s;
        m = Math.max(m, s);
      }
      let sum = 0;
      for (let l = 0; l < L; l++) sum += Math.exp(z[l]! - m);
      loss += m + Math.log(sum) - z[y[n]!]!;
      if (!gW || !gB) continue;
      for (let l = 0; l < L; l++) {
        const g = (Math.exp(z[l]! - m) / sum - (l === y[n] ? 1 : 0)) / N;
        gB[l] += g;
        for (let h = 0; h < H; h++) gW[l * H + h] += g * x[h]!;
      }
    }
    return loss / N;
  };
  const lossBefore = lossAndGrad(null, null);
  for (let t = 1; t <= steps; t++) {
    const gW = new Float64Array(W.length), gB = new Float64Array(L);
    lossAndGrad(gW, gB);
    const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
    for (let i = 0; i < W.length; i++) {
      mW[i] = b1 * mW[i]! + (1 - b1) * gW[i]!;
      vW[i] = b2 * vW[i]! + (1 - b2) * gW[i]! ** 2;
      W[i] -= (lr * mW[i]! / c1) / (Math.sqrt(vW[i]! / c2) + eps);
    }
    for (let i = 0; i < L; i++) {
      mB[i] = b1 * mB[i]! + (1 - b1) * gB[i]!;
      vB[i] = b2 * vB[i]! + (1 - b2) * gB[i]! ** 2;
      b[i] -= (lr * mB[i]! / c1) / (Math.sqrt(vB[i]! / c2) + eps);
    }
  }
  return { W, b, lossBefore, lossAfter: lossAndGrad(null, null) };
}

export interface EmbedResampleArgs {
  method: EmbedResampleMethod;
  factory: BackendFactory;
  config: BertConfig;
  heads: HeadSpec[];
  store: ParamStore;
  lora: LoraConfig | null;
  collator: Collator;
  trainEx: readonly Example[];
  labels: string[];
  costlyClass: string | null;
  ratio: number;
  smoteK: number;
  steps: number;
  lr: number;
  seed: number;
  batchSize: number;
  maxLength: number;
  log: (line: string) => void;
}

/**
 * Resample the training embeddings and retrain the classifier in `store` (its weights must be
 * current: sync the backend first, load it again after). Returns what was done, or null for 'none'.
 */
export async function embedResampleHead(a: EmbedResampleArgs): Promise<EmbedResampleReport | null> {
  if (a.method === 'none') return null;
  const head = a.heads[0];
  if (!head || head.kind !== 'seq_cls') throw new ConfigError(`data.embedResample '${a.method}' needs a seq_cls task`);
  const cls = a.costlyClass === null ? -1 : a.labels.indexOf(a.costlyClass);
  if (cls < 0) throw new ConfigError(`data.embedResample '${a.method}' needs task.costlyClass to be one of the labels (${a.labels.join(', ')})`);
  const L = a.labels.length, H = a.config.hiddenSize;
  const ex = a.trainEx.filter((e) => e.label >= 0 && e.label < L);
  const y = ex.map((e) => e.label);
  const before = a.labels.map((_, l) => y.filter((v) => v === l).length);
  const X = await pooledEmbeddings(a.factory, a.config, head, a.store, a.lora, a.collator, ex, Math.max(a.batchSize, 8), a.maxLength);
  let Xr: number[][], yr: number[], k: number | null = null;
  if (a.method === 'smote') {
    const n = before[cls]!;
    if (n < 2) throw new ConfigError(`data.embedResample 'smote': the training rows hold ${n} '${a.costlyClass}' example(s); SMOTE needs at least 2 (use more training rows)`);
    k = Math.min(a.smoteK, n - 1);
    if (k < a.smoteK) a.log(`data.embedResample smote: '${a.costlyClass}' has ${n} training examples, so k = ${k} neighbours (data.smoteK ${a.smoteK})`);
    const target = Math.ceil(a.ratio * Math.max(0, ...before.filter((_, i) => i !== cls)));
    const r = smote(X, y, { targetClass: cls, k, nSamples: Math.max(0, target - n), seed: a.seed });
    Xr = r.X;
    yr = r.y;
  } else {
    const r = tomekClean(X, y, { removeClasses: a.labels.map((_, i) => i).filter((i) => i !== cls) });
    Xr = r.kept.map((i) => X[i]!);
    yr = r.kept.map((i) => y[i]!);
  }
  const after = a.labels.map((_, l) => yr.filter((v) => v === l).length);
  const cp = classifierPrefix(a.heads, 0);
  const wr = a.store.range(`${cp}.weight`), br = a.store.range(`${cp}.bias`);
  if (wr.length !== L * H || br.length !== L) throw new Error(`embedResampleHead: ${cp} has ${wr.length} + ${br.length} values, expected ${L}×${H} + ${L}`);
  const W0 = Float64Array.from(a.store.data.subarray(wr.offset, wr.offset + wr.length));
  const b0 = Float64Array.from(a.store.data.subarray(br.offset, br.offset + br.length));
  const t = trainSoftmaxHead(Xr, yr, W0, b0, L, a.steps, a.lr);
  a.store.data.set(Float32Array.from(t.W), wr.offset);
  a.store.data.set(Float32Array.from(t.b), br.offset);
  a.log(`data.embedResample ${a.method} on pooled embeddings: ${a.labels.map((l, i) => `${l} ${before[i]}→${after[i]}`).join(', ')}; classifier retrained (${a.steps} Adam steps, lr ${a.lr}): loss ${t.lossBefore.toFixed(4)} → ${t.lossAfter.toFixed(4)}`);
  return { method: a.method, before, after, k, headSteps: a.steps, headLr: a.lr, headLossBefore: t.lossBefore, headLossAfter: t.lossAfter };
}

/** The stage as the training loop runs it: weights to the host, resample and retrain the head, weights back to the device. */
export async function embedResampleStage(backend: TrainBackend, a: EmbedResampleArgs): Promise<EmbedResampleReport | null> {
  if (a.method === 'none') return null;
  const { m, v } = await backend.sync();
  const r = await embedResampleHead(a);
  backend.load(m, v);
  return r;
}
