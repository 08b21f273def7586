// The float64 CPU reference of the whole BERT (embeddings, post-LN encoder layers, every head and
// loss), forward and backward: the specification the GPU model (bert.ts, bert_heads.ts) is tested
// against. As llm.c's train_gpt2.c is built from its layer functions, it is built from the layers'
// own float64 references (the kernels' *_reference functions in @tunebench/kernels and
// head_kernels.ts's), so each operation has one definition; this file only wires them together:
// parameter names, shapes, what the backward keeps from the forward, where gradients add up.
// It is checked by central finite differences of its own loss (test/model/reference.test.ts) and
// against PyTorch in float64 (test/model/golden_reference.test.ts, fixtures from
// scripts/golden_bert.py). Dropout is off (eval mode everywhere); LoRA dropout too.

import {
  accumulate_reference, adamw_hyperparameters64, adamw_update_reference, add_forward_reference,
  attention_backward_reference, attention_forward_reference, cosine_similarity_backward_reference,
  cosine_similarity_forward_reference, embedding_backward_reference, embedding_forward_reference,
  gather_rows_backward_reference, gather_rows_forward_reference, gelu_backward_reference, gelu_forward_reference,
  l2_normalize_backward_reference, l2_normalize_forward_reference, layernorm_backward_reference,
  layernorm_forward_reference, linear_backward_reference, linear_forward_reference, lora_backward_reference,
  lora_forward_reference, mean_pool_backward_reference, mean_pool_forward_reference, softmax_cross_entropy_reference,
} from '@tunebench/kernels';
import type { BertConfig } from './config.js';
import { geluApproximate, validateConfig } from './config.js';
import { classifierPrefix, crossEntropyNormalizer, MNR_SCALE, validateHeads, type HeadSpec, type LossOptions } from './heads.js';
import type { LoraConfig, ParamStore } from './params.js';
import { validateBatch, validateLabels, type ModelBatch } from './batch.js';
import { crfAllowed, crfLossReference, crfParamName } from './crf_head.js';
import { cosine_mse_reference, tanh_backward_reference, tanh_forward_reference } from './head_kernels.js';
import { int8_linear_reference, type QuantizedLinears } from './int8.js';

export type Params64 = Map<string, Float64Array>;

/** Copy a ParamStore (or any name → values map) into float64 arrays. */
export function toParams64(p: ParamStore | Map<string, ArrayLike<number>>): Params64 {
  const out: Params64 = new Map();
  if (p instanceof Map) for (const [k, v] of p) out.set(k, Float64Array.from(v));
  else for (const s of p.specs) out.set(s.name, Float64Array.from(p.get(s.name)));
  return out;
}

export interface ReferenceOptions {
  lora?: LoraConfig | null;
  /** Index into `heads` of the head whose loss is computed (default 0). */
  head?: number;
  loss?: LossOptions;
  /** Compute gradients (default true). */
  grads?: boolean;
  /**
   * INT8 inference (int8.ts): these linear layers run quantised (int8_linear_reference) instead of
   * in float64; forward only (grads must be false), no LoRA adapter on them.
   */
  int8?: QuantizedLinears | null;
}

export interface ReferenceResult {
  loss: number;
  /** mlm (B·T, V); seq_cls (B, L); token_cls (B·T, L); embedding: the (pooled, maybe normalised) embeddings (B, H). */
  logits: Float64Array;
  /** Last encoder layer's output (B·T, H). */
  hidden: Float64Array;
  /** d loss / d parameter for every parameter (zeros where it does not reach). */
  grads: Params64 | null;
}

// ---------------------------------------------------------------------------------------------
// Losses: the kernels' per-row references, reduced as the GPU heads reduce them.

/**
 * Cross-entropy over rows of `logits` (N, C), −100 = ignored, with class weights (PyTorch's
 * weighted mean) and focal modulation (γ, per-class α): softmax_cross_entropy_reference's row
 * losses summed and divided by crossEntropyNormalizer. Returns the mean loss and dlogits.
 */
export function crossEntropyReference(
  logits: Float64Array, labels: ArrayLike<number>, N: number, C: number, opts: LossOptions = {},
): { loss: number; dlogits: Float64Array } {
  const normalizer = crossEntropyNormalizer(labels, N, C, opts);
  const dlogits = new Float64Array(N * C);
  if (normalizer <= 0) return { loss: 0, dlogits };
  const losses = new Float64Array(N);
  softmax_cross_entropy_reference(losses, dlogits, logits, labels, N, C, {
    classWeights: opts.classWeights ?? null, focalAlpha: opts.focalAlpha ?? null, focalGamma: opts.focalGamma ?? 0, normalizer,
  });
  let loss = 0;
  for (let i = 0; i < N; i++) loss += losses[i];
  return { loss: loss / normalizer, dlogits };
}

/**
 * Embedding losses on e (2n, C): rows 0..n−1 anchors, n..2n−1 their pairs. As the GPU head: u = the
 * rows L2-normalised, S = scale·u_anchors·u_pairsᵀ, then MNR (cross-entropy with target i) or
 * CosineSimilarityLoss (mean of (S_ii − target_i)², scale 1). Returns the loss and de.
 */
export function embeddingLossReference(e: Float64Array, rows: number, C: number, opts: LossOptions): { loss: number; de: Float64Array } {
  if (rows % 2 !== 0) throw new Error(`embedding loss: the batch must hold n anchors then n pairs (even B), got B = ${rows}`);
  const n = rows / 2;
  const u = new Float64Array(rows * C);
  const norms = new Float64Array(rows);
  l2_normalize_forward_reference(u, norms, e, rows, C);
  const anchors = u.subarray(0, n * C), pairs = u.subarray(n * C);
  const S = new Float64Array(n * n);
  let loss: number, dS: Float64Array, scale: number;
  const kind = opts.embeddingLoss ?? 'mnr';
  if (kind === 'mnr') {
    scale = opts.mnrScale ?? MNR_SCALE;
    cosine_similarity_forward_reference(S, anchors, pairs, n, n, C, scale);
    const ce = crossEntropyReference(S, Int32Array.from({ length: n }, (_, i) => i), n, n);
    loss = ce.loss;
    dS = ce.dlogits;
  } else if (kind === 'cosine') {
    const t = opts.cosineTargets;
    if (!t || t.length !== n) throw new Error(`cosine loss: cosineTargets must hold n = ${n} scores, got ${t ? t.length : 'none'}`);
    scale = 1;
    cosine_similarity_forward_reference(S, anchors, pairs, n, n, C, scale);
    const losses = new Float64Array(n);
    dS = new Float64Array(n * n);
    cosine_mse_reference(losses, dS, S, t, n, 1 / n);
    loss = 0;
    for (let i = 0; i < n; i++) loss += losses[i];
    loss /= n;
  } else {
    throw new Error(`embeddingLoss must be 'mnr' or 'cosine', got ${JSON.stringify(kind)}`);
  }
  const du = new Float64Array(rows * C);
  cosine_similarity_backward_reference(du.subarray(0, n * C), du.subarray(n * C), dS, anchors, pairs, n, n, C, scale);
  const de = new Float64Array(rows * C);
  l2_normalize_backward_reference(de, du, u, norms, rows, C);
  return { loss, de };
}

// ---------------------------------------------------------------------------------------------
// The model.

/** What the backward of a linear layer needs: its input, and the adapter's x·Aᵀ when it has LoRA. */
interface LinearCache { x: Float64Array; xa: Float64Array | null }
interface LinearOut { y: Float64Array; c: LinearCache }
interface LayerNormCache { x: Float64Array; mean: Float64Array; rstd: Float64Array }
interface LayerNormOut { y: Float64Array; c: LayerNormCache }
interface LayerCache {
  q: LinearOut; k: LinearOut; v: LinearOut; att: Float64Array; lse: Float64Array; ao: LinearOut;
  ln1: LayerNormOut; f1: LinearOut; f2: LinearOut; ln2: LayerNormOut;
}

/**
 * Forward (and backward) of BERT with `heads[opts.head]`'s loss on `batch`, in float64.
 * `params` holds every parameter of paramSpecs(config, heads, lora) by name.
 */
export function bertReference(
  config: BertConfig, heads: HeadSpec[], params: Params64, batch: ModelBatch, opts: ReferenceOptions = {},
): ReferenceResult {
  validateConfig(config);
  validateHeads(heads);
  validateBatch(batch, config.vocabSize, config.maxPositions, config.typeVocabSize);
  const headIndex = opts.head ?? 0;
  const head = heads[headIndex];
  if (!head) throw new Error(`bertReference: opts.head = ${headIndex} but there are ${heads.length} heads`);
  const wantGrads = opts.grads ?? true;
  const lossOpts = opts.loss ?? {};
  const { B, T } = batch;
  const mask = batch.attentionMask;
  const H = config.hiddenSize, F = config.intermediateSize, NH = config.numHeads, HS = H / NH, M = B * T, V = config.vocabSize;
  const approximate = geluApproximate(config.hiddenAct);
  const loraScale = opts.lora ? opts.lora.alpha / opts.lora.r : 0;

  const P = (name: string): Float64Array => {
    const v = params.get(name);
    if (!v) throw new Error(`bertReference: missing parameter '${name}'`);
    return v;
  };
  const grads: Params64 = new Map();
  for (const [k, v] of params) grads.set(k, new Float64Array(v.length));
  /** The gradient of a parameter (the backward runs only when gradients are wanted). */
  const G = (name: string): Float64Array => grads.get(name)!;

  // A linear layer by HF name prefix, with its LoRA adapter when one exists.
  const loraRank = (name: string): number => {
    if (!opts.lora) throw new Error(`bertReference: '${name}' has a LoRA adapter but opts.lora is not set`);
    return opts.lora.r;
  };
  const lin = (name: string, x: Float64Array, rows: number, K: number, N: number): LinearOut => {
    const y = new Float64Array(rows * N);
    const A = params.get(`${name}.lora_A.weight`);
    const ql = opts.int8?.get(name);
    if (ql) {
      if (wantGrads) throw new Error(`bertReference: '${name}' is quantised (opts.int8): the int8 forward has no backward; pass grads: false`);
      if (A) throw new Error(`bertReference: '${name}' has a LoRA adapter; merge it into the base weight before quantising`);
      if (ql.N !== N || ql.K !== K) throw new Error(`bertReference: quantised '${name}' is (${ql.N}, ${ql.K}), the layer is (${N}, ${K})`);
      int8_linear_reference(y, x, ql, P(`${name}.bias`), rows);
      return { y, c: { x, xa: null } };
    }
    if (!A) {
      linear_forward_reference(y, x, P(`${name}.weight`), P(`${name}.bias`), rows, N, K);
      return { y, c: { x, xa: null } };
    }
    const r = loraRank(name);
    const xa = new Float64Array(rows * r);
    lora_forward_reference(y, xa, x, P(`${name}.weight`), P(`${name}.bias`), A, P(`${name}.lora_B.weight`), rows, N, K, r, loraScale);
    return { y, c: { x, xa } };
  };
  const linBack = (name: string, dy: Float64Array, c: LinearCache, rows: number, K: number, N: number): Float64Array => {
    const dx = new Float64Array(rows * K);
    const W = P(`${name}.weight`);
    if (!c.xa) {
      linear_backward_reference(dx, G(`${name}.weight`), G(`${name}.bias`), dy, c.x, W, rows, N, K);
      return dx;
    }
    // With an adapter: the base weight's and bias's gradients as without one, dx through W and the adapter.
    linear_backward_reference(null, G(`${name}.weight`), G(`${name}.bias`), dy, c.x, W, rows, N, K);
    lora_backward_reference(dx, G(`${name}.lora_A.weight`), G(`${name}.lora_B.weight`), dy, c.x, c.xa, W,
      P(`${name}.lora_A.weight`), P(`${name}.lora_B.weight`), rows, N, K, loraRank(name), loraScale);
    return dx;
  };
  const ln = (name: string, x: Float64Array, rows: number): LayerNormOut => {
    const y = new Float64Array(rows * H), mean = new Float64Array(rows), rstd = new Float64Array(rows);
    layernorm_forward_reference(y, mean, rstd, x, P(`${name}.weight`), P(`${name}.bias`), rows, H, config.layerNormEps);
    return { y, c: { x, mean, rstd } };
  };
  const lnBack = (name: string, dy: Float64Array, c: LayerNormCache, rows: number): Float64Array => {
    const dx = new Float64Array(rows * H);
    layernorm_backward_reference(dx, G(`${name}.weight`), G(`${name}.bias`), dy, c.x, P(`${name}.weight`), c.mean, c.rstd, rows, H);
    return dx;
  };
  const gelu = (x: Float64Array): Float64Array => {
    const y = new Float64Array(x.length);
    gelu_forward_reference(y, x, x.length, approximate);
    return y;
  };
  const geluBack = (dy: Float64Array, x: Float64Array): Float64Array => {
    const dx = new Float64Array(x.length);
    gelu_backward_reference(dx, x, dy, x.length, approximate);
    return dx;
  };
  const add = (a: Float64Array, b: Float64Array): Float64Array => {
    const y = new Float64Array(a.length);
    add_forward_reference(y, a, b, a.length);
    return y;
  };

  // Embeddings: word + position + token type, then LayerNorm.
  const wteName = 'bert.embeddings.word_embeddings.weight';
  const wte = P(wteName);
  const emb = new Float64Array(M * H);
  embedding_forward_reference(emb, batch.inputIds, batch.tokenTypeIds, wte, P('bert.embeddings.position_embeddings.weight'),
    P('bert.embeddings.token_type_embeddings.weight'), B, T, H, config.typeVocabSize);
  const embLn = ln('bert.embeddings.LayerNorm', emb, M);

  // Encoder layers (post-LN): x → attention → +x → LN → FFN → + → LN.
  const layerCaches: LayerCache[] = [];
  let x: Float64Array = embLn.y;
  for (let l = 0; l < config.numLayers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const q = lin(`${p}.attention.self.query`, x, M, H, H);
    const k = lin(`${p}.attention.self.key`, x, M, H, H);
    const v = lin(`${p}.attention.self.value`, x, M, H, H);
    const att = new Float64Array(M * H), lse = new Float64Array(B * NH * T);
    attention_forward_reference(att, lse, q.y, k.y, v.y, mask, B, T, NH, HS);
    const ao = lin(`${p}.attention.output.dense`, att, M, H, H);
    const ln1 = ln(`${p}.attention.output.LayerNorm`, add(ao.y, x), M);
    const f1 = lin(`${p}.intermediate.dense`, ln1.y, M, H, F);
    const f2 = lin(`${p}.output.dense`, gelu(f1.y), M, F, H);
    const ln2 = ln(`${p}.output.LayerNorm`, add(f2.y, ln1.y), M);
    layerCaches.push({ q, k, v, att, lse, ao, ln1, f1, f2, ln2 });
    x = ln2.y;
  }
  const hidden = x;

  // Head forward + loss → d hidden.
  let loss: number;
  let logits: Float64Array;
  const dHidden = new Float64Array(M * H);
  if (head.kind === 'mlm') {
    validateLabels(batch.labels, M, V, 'mlm');
    const t1 = lin('cls.predictions.transform.dense', hidden, M, H, H);
    const t3 = ln('cls.predictions.transform.LayerNorm', gelu(t1.y), M);
    logits = new Float64Array(M * V);
    linear_forward_reference(logits, t3.y, wte, P('cls.predictions.bias'), M, V, H);
    const ce = crossEntropyReference(logits, batch.labels, M, V, lossOpts);
    loss = ce.loss;
    if (wantGrads) {
      // The tied decoder's backward on the labelled rows only (the others have zero dlogits), as
      // the GPU head runs it: the other rows would cost B·T·V·H for nothing.
      const rows: number[] = [];
      for (let i = 0; i < M; i++) if (batch.labels[i] !== -100) rows.push(i);
      const n = rows.length;
      const dt3 = new Float64Array(M * H);
      if (n > 0) {
        const dl = new Float64Array(n * V), t3n = new Float64Array(n * H), dt3n = new Float64Array(n * H);
        gather_rows_forward_reference(dl, ce.dlogits, rows, n, V, M);
        gather_rows_forward_reference(t3n, t3.y, rows, n, H, M);
        linear_backward_reference(dt3n, G(wteName), G('cls.predictions.bias'), dl, t3n, wte, n, V, H);
        gather_rows_backward_reference(dt3, dt3n, rows, n, H, M);
      }
      const dt2 = lnBack('cls.predictions.transform.LayerNorm', dt3, t3.c, M);
      dHidden.set(linBack('cls.predictions.transform.dense', geluBack(dt2, t1.y), t1.c, M, H, H));
    }
  } else if (head.kind === 'seq_cls') {
    validateLabels(batch.labels, B, head.numLabels, 'seq_cls');
    const cp = classifierPrefix(heads, headIndex);
    const clsRows = Int32Array.from({ length: B }, (_, b) => b * T);
    const pooled = new Float64Array(B * H);
    let pool: LinearOut | null = null;
    if (head.pooling === 'cls') {
      const cls = new Float64Array(B * H);
      gather_rows_forward_reference(cls, hidden, clsRows, B, H, M);
      pool = lin('bert.pooler.dense', cls, B, H, H);
      tanh_forward_reference(pooled, pool.y, B * H);
    } else {
      mean_pool_forward_reference(pooled, hidden, mask, B, T, H);
    }
    const cl = lin(cp, pooled, B, H, head.numLabels);
    logits = cl.y;
    const ce = crossEntropyReference(logits, batch.labels, B, head.numLabels, lossOpts);
    loss = ce.loss;
    if (wantGrads) {
      const dPooled = linBack(cp, ce.dlogits, cl.c, B, H, head.numLabels);
      if (pool) {
        const dPre = new Float64Array(B * H);
        tanh_backward_reference(dPre, pooled, dPooled, B * H);
        gather_rows_backward_reference(dHidden, linBack('bert.pooler.dense', dPre, pool.c, B, H, H), clsRows, B, H, M);
      } else {
        mean_pool_backward_reference(dHidden, dPooled, mask, B, T, H);
      }
    }
  } else if (head.kind === 'token_cls') {
    validateLabels(batch.labels, M, head.numLabels, 'token_cls');
    const cp = classifierPrefix(heads, headIndex);
    const cl = lin(cp, hidden, M, H, head.numLabels);
    logits = cl.y;
    if (head.crf) {
      // CRF head: NLL of the gold tag paths over the labelled tokens (crf_head.ts)
      const name = crfParamName(heads, headIndex);
      const r = crfLossReference(logits, batch.labels, B, T, head.numLabels, P(name), crfAllowed(head.crf), head.crf.labels);
      loss = r.loss;
      if (wantGrads) {
        G(name).set(r.dcrf);
        dHidden.set(linBack(cp, r.dlogits, cl.c, M, H, head.numLabels));
      }
    } else {
      const ce = crossEntropyReference(logits, batch.labels, M, head.numLabels, lossOpts);
      loss = ce.loss;
      if (wantGrads) dHidden.set(linBack(cp, ce.dlogits, cl.c, M, H, head.numLabels));
    }
  } else {
    const pooled = new Float64Array(B * H);
    mean_pool_forward_reference(pooled, hidden, mask, B, T, H);
    let e = pooled;
    const norms = new Float64Array(B);
    if (head.normalize) {
      e = new Float64Array(B * H);
      l2_normalize_forward_reference(e, norms, pooled, B, H);
    }
    logits = e;
    const el = embeddingLossReference(e, B, H, lossOpts);
    loss = el.loss;
    if (wantGrads) {
      let dPooled = el.de;
      if (head.normalize) {
        dPooled = new Float64Array(B * H);
        l2_normalize_backward_reference(dPooled, el.de, e, norms, B, H);
      }
      mean_pool_backward_reference(dHidden, dPooled, mask, B, T, H);
    }
  }

  if (!wantGrads) return { loss, logits, hidden, grads: null };

  // Encoder backward, top layer first.
  let dx: Float64Array = dHidden;
  for (let l = config.numLayers - 1; l >= 0; l--) {
    const p = `bert.encoder.layer.${l}`;
    const c = layerCaches[l];
    const dr2 = lnBack(`${p}.output.LayerNorm`, dx, c.ln2.c, M);
    const dg = linBack(`${p}.output.dense`, dr2, c.f2.c, M, F, H);
    const dln1 = linBack(`${p}.intermediate.dense`, geluBack(dg, c.f1.y), c.f1.c, M, H, F);
    accumulate_reference(dln1, dr2, M * H);
    const dr1 = lnBack(`${p}.attention.output.LayerNorm`, dln1, c.ln1.c, M);
    const dctx = linBack(`${p}.attention.output.dense`, dr1, c.ao.c, M, H, H);
    const dq = new Float64Array(M * H), dk = new Float64Array(M * H), dv = new Float64Array(M * H);
    attention_backward_reference(dq, dk, dv, dctx, c.att, c.lse, c.q.y, c.k.y, c.v.y, mask, B, T, NH, HS);
    // the residual's gradient plus the three projections'
    const next = dr1;
    accumulate_reference(next, linBack(`${p}.attention.self.query`, dq, c.q.c, M, H, H), M * H);
    accumulate_reference(next, linBack(`${p}.attention.self.key`, dk, c.k.c, M, H, H), M * H);
    accumulate_reference(next, linBack(`${p}.attention.self.value`, dv, c.v.c, M, H, H), M * H);
    dx = next;
  }
  const dEmb = lnBack('bert.embeddings.LayerNorm', dx, embLn.c, M);
  embedding_backward_reference(G(wteName), G('bert.embeddings.position_embeddings.weight'), G('bert.embeddings.token_type_embeddings.weight'),
    dEmb, batch.inputIds, batch.tokenTypeIds, B, T, H, V, config.typeVocabSize);
  return { loss, logits, hidden, grads };
}

/**
 * One AdamW step in float64, as torch.optim.AdamW (the kernels' adamw_update_reference on each
 * parameter, hyper-parameters unrounded). `decay(name)` says whether the parameter gets weight
 * decay. `step` counts from 1.
 */
export function adamwReference(
  params: Params64, grads: Params64, m: Params64, v: Params64, step: number,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decay: (name: string) => boolean },
): void {
  const hyper = adamw_hyperparameters64({ lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, step });
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (!g) throw new Error(`adamwReference: no gradient for parameter '${name}'`);
    if (!m.has(name)) m.set(name, new Float64Array(p.length));
    if (!v.has(name)) v.set(name, new Float64Array(p.length));
    const weightDecay = o.decay(name) ? o.weightDecay : 0;
    adamw_update_reference(p, g, m.get(name)!, v.get(name)!, hyper, null, [{ offset: 0, length: p.length, weightDecay }]);
  }
}
