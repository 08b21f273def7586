// The float64 CPU reference of the whole BERT (embeddings, post-LN encoder layers, every head and
// loss), forward and backward, written plainly: it is the specification the GPU model is tested
// against, and it is checked itself by finite differences and against PyTorch (test/model_*.ts).
// Dropout is off (eval mode everywhere); LoRA dropout too.

import type { BertConfig } from './config.js';
import { validateConfig } from './config.js';
import { classifierPrefix, MNR_SCALE, validateHeads, type HeadSpec, type LossOptions } from './heads.js';
import type { LoraConfig, ParamStore } from './params.js';
import { validateBatch, validateLabels, type ModelBatch } from './batch.js';

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
// Building blocks (all row-major).

/** y (M, N) = x (M, K) · Wᵀ (W is (N, K), Hugging Face layout) + b. */
function linearF(x: Float64Array, W: Float64Array, b: Float64Array | null, M: number, K: number, N: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = b ? b[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * W[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

/** Backward of linearF: returns dx; dW += dyᵀ·x, db += Σ_rows dy. */
function linearB(
  dy: Float64Array, x: Float64Array, W: Float64Array, dW: Float64Array | null, db: Float64Array | null,
  M: number, K: number, N: number,
): Float64Array {
  const dx = new Float64Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const g = dy[m * N + n];
      if (g === 0) continue;
      if (db) db[n] += g;
      for (let k = 0; k < K; k++) {
        dx[m * K + k] += g * W[n * K + k];
        if (dW) dW[n * K + k] += g * x[m * K + k];
      }
    }
  }
  return dx;
}

interface LnCache { xhat: Float64Array; rstd: Float64Array }

function layerNormF(x: Float64Array, w: Float64Array, b: Float64Array, M: number, C: number, eps: number): { y: Float64Array; cache: LnCache } {
  const y = new Float64Array(M * C);
  const xhat = new Float64Array(M * C);
  const rstd = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[m * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[m * C + c] - mean) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    rstd[m] = r;
    for (let c = 0; c < C; c++) {
      const h = (x[m * C + c] - mean) * r;
      xhat[m * C + c] = h;
      y[m * C + c] = h * w[c] + b[c];
    }
  }
  return { y, cache: { xhat, rstd } };
}

function layerNormB(dy: Float64Array, cache: LnCache, w: Float64Array, dw: Float64Array, db: Float64Array, M: number, C: number): Float64Array {
  const dx = new Float64Array(M * C);
  for (let m = 0; m < M; m++) {
    let sumG = 0;
    let sumGX = 0;
    for (let c = 0; c < C; c++) {
      const i = m * C + c;
      const g = dy[i] * w[c];
      sumG += g;
      sumGX += g * cache.xhat[i];
      dw[c] += dy[i] * cache.xhat[i];
      db[c] += dy[i];
    }
    const r = cache.rstd[m];
    for (let c = 0; c < C; c++) {
      const i = m * C + c;
      dx[i] = r * (dy[i] * w[c] - sumG / C - (cache.xhat[i] * sumGX) / C);
    }
  }
  return dx;
}

/** erf to ~1e-15: Taylor series for |x| < 3, continued fraction for erfc beyond. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))), evaluated bottom-up.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  return x > 0 ? 1 - erfc : erfc - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu and its derivative: 'gelu' = x·Φ(x) (exact, erf); 'gelu_tanh' = the tanh approximation. */
export function geluValue(x: number, act: BertConfig['hiddenAct']): number {
  if (act === 'gelu') return 0.5 * x * (1 + erf(x / Math.SQRT2));
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export function geluGrad(x: number, act: BertConfig['hiddenAct']): number {
  if (act === 'gelu') return 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
  const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

interface AttnCache { probs: Float64Array }

/** Multi-head attention with a key-padding mask; q, k, v, out (B, T, C), probs (B, NH, T, T). */
function attentionF(q: Float64Array, k: Float64Array, v: Float64Array, mask: Int32Array, B: number, T: number, NH: number, HS: number) {
  const C = NH * HS;
  const out = new Float64Array(B * T * C);
  const probs = new Float64Array(B * NH * T * T);
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < T; i++) {
        const p = probs.subarray(((b * NH + h) * T + i) * T, ((b * NH + h) * T + i + 1) * T);
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          if (mask[b * T + j] === 0) { p[j] = -Infinity; continue; }
          let s = 0;
          for (let d = 0; d < HS; d++) s += q[(b * T + i) * C + h * HS + d] * k[(b * T + j) * C + h * HS + d];
          p[j] = s * scale;
          if (p[j] > max) max = p[j];
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          p[j] = mask[b * T + j] === 0 ? 0 : Math.exp(p[j] - max);
          sum += p[j];
        }
        for (let j = 0; j < T; j++) p[j] /= sum;
        for (let d = 0; d < HS; d++) {
          let s = 0;
          for (let j = 0; j < T; j++) s += p[j] * v[(b * T + j) * C + h * HS + d];
          out[(b * T + i) * C + h * HS + d] = s;
        }
      }
    }
  }
  return { out, cache: { probs } as AttnCache };
}

function attentionB(dout: Float64Array, cache: AttnCache, q: Float64Array, k: Float64Array, v: Float64Array, B: number, T: number, NH: number, HS: number) {
  const C = NH * HS;
  const dq = new Float64Array(B * T * C);
  const dk = new Float64Array(B * T * C);
  const dv = new Float64Array(B * T * C);
  const scale = 1 / Math.sqrt(HS);
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < T; i++) {
        const p = cache.probs.subarray(((b * NH + h) * T + i) * T, ((b * NH + h) * T + i + 1) * T);
        const oi = (b * T + i) * C + h * HS;
        let dot = 0;
        for (let j = 0; j < T; j++) {
          const vj = (b * T + j) * C + h * HS;
          let s = 0;
          for (let d = 0; d < HS; d++) {
            s += dout[oi + d] * v[vj + d];
            dv[vj + d] += p[j] * dout[oi + d];
          }
          dp[j] = s;
          dot += p[j] * s;
        }
        for (let j = 0; j < T; j++) {
          const ds = p[j] * (dp[j] - dot) * scale;
          if (ds === 0) continue;
          const kj = (b * T + j) * C + h * HS;
          for (let d = 0; d < HS; d++) {
            dq[oi + d] += ds * k[kj + d];
            dk[kj + d] += ds * q[oi + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}

/**
 * Cross-entropy over rows of `logits` (N, C) with −100 = ignored, optional class weights (PyTorch's
 * weighted mean) and focal modulation (γ, per-class α). Returns the mean loss and dlogits.
 */
export function crossEntropyReference(
  logits: Float64Array, labels: ArrayLike<number>, N: number, C: number, opts: LossOptions = {},
): { loss: number; dlogits: Float64Array } {
  const gamma = opts.focalGamma ?? 0;
  const cw = opts.classWeights ?? null;
  const alpha = opts.focalAlpha ?? null;
  if (cw && cw.length !== C) throw new Error(`classWeights has ${cw.length} entries, the head has ${C} classes`);
  if (alpha && alpha.length !== C) throw new Error(`focalAlpha has ${alpha.length} entries, the head has ${C} classes`);
  if (!(gamma >= 0)) throw new Error(`focalGamma must be >= 0, got ${gamma}`);
  const dlogits = new Float64Array(N * C);
  const rowLoss = new Float64Array(N);
  let normalizer = 0;
  for (let n = 0; n < N; n++) {
    const y = labels[n];
    if (y === -100) continue;
    const row = logits.subarray(n * C, (n + 1) * C);
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, row[c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(row[c] - max);
    const lse = max + Math.log(sum);
    const logpt = row[y] - lse;
    const pt = Math.exp(logpt);
    const w = (cw ? cw[y] : 1) * (alpha ? alpha[y] : 1);
    normalizer += cw ? cw[y] : 1;
    // loss = −w (1−pt)^γ log pt ;  dloss/dlogpt = −w [(1−pt)^γ − γ (1−pt)^(γ−1) pt log pt]
    const oneMinus = 1 - pt;
    const mod = gamma === 0 ? 1 : oneMinus ** gamma;
    rowLoss[n] = -w * mod * logpt;
    const dLogpt = gamma === 0 ? -w : -w * (mod - (oneMinus > 0 ? gamma * oneMinus ** (gamma - 1) * pt * logpt : 0));
    // d logpt / d z_c = δ(c, y) − p_c
    for (let c = 0; c < C; c++) {
      const p = Math.exp(row[c] - lse);
      dlogits[n * C + c] = dLogpt * ((c === y ? 1 : 0) - p);
    }
  }
  let loss = 0;
  if (normalizer > 0) {
    for (let n = 0; n < N; n++) loss += rowLoss[n];
    loss /= normalizer;
    for (let i = 0; i < dlogits.length; i++) dlogits[i] /= normalizer;
  }
  return { loss, dlogits };
}

/** Masked mean over tokens: (B, T, C) → (B, C); sentence-transformers clamps the count at 1e-9. */
function meanPoolF(h: Float64Array, mask: Int32Array, B: number, T: number, C: number): Float64Array {
  const out = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += mask[b * T + t];
    for (let t = 0; t < T; t++) {
      if (!mask[b * T + t]) continue;
      for (let c = 0; c < C; c++) out[b * C + c] += h[(b * T + t) * C + c] / Math.max(n, 1e-9);
    }
  }
  return out;
}

function meanPoolB(d: Float64Array, mask: Int32Array, B: number, T: number, C: number): Float64Array {
  const dh = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += mask[b * T + t];
    for (let t = 0; t < T; t++) {
      if (!mask[b * T + t]) continue;
      for (let c = 0; c < C; c++) dh[(b * T + t) * C + c] = d[b * C + c] / Math.max(n, 1e-9);
    }
  }
  return dh;
}

/** Row-wise L2 normalisation (norm clamped at 1e-12 like torch.nn.functional.normalize). */
function l2NormF(x: Float64Array, N: number, C: number): { y: Float64Array; norms: Float64Array } {
  const y = new Float64Array(N * C);
  const norms = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[n * C + c] ** 2;
    norms[n] = Math.max(Math.sqrt(s), 1e-12);
    for (let c = 0; c < C; c++) y[n * C + c] = x[n * C + c] / norms[n];
  }
  return { y, norms };
}

function l2NormB(dy: Float64Array, y: Float64Array, norms: Float64Array, N: number, C: number): Float64Array {
  const dx = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dy[n * C + c] * y[n * C + c];
    for (let c = 0; c < C; c++) dx[n * C + c] = (dy[n * C + c] - y[n * C + c] * dot) / norms[n];
  }
  return dx;
}

/**
 * Embedding losses on e (2n, C): rows 0..n−1 anchors, n..2n−1 their pairs. Returns loss and de.
 */
export function embeddingLossReference(e: Float64Array, rows: number, C: number, opts: LossOptions): { loss: number; de: Float64Array } {
  if (rows % 2 !== 0) throw new Error(`embedding loss: the batch must hold n anchors then n pairs (even B), got B = ${rows}`);
  const n = rows / 2;
  const { y: u, norms } = l2NormF(e, rows, C);
  const du = new Float64Array(rows * C);
  let loss: number;
  const kind = opts.embeddingLoss ?? 'mnr';
  if (kind === 'mnr') {
    const scale = opts.mnrScale ?? MNR_SCALE;
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += u[i * C + c] * u[(n + j) * C + c];
        S[i * n + j] = scale * s;
      }
    }
    const labels = Array.from({ length: n }, (_, i) => i);
    const ce = crossEntropyReference(S, labels, n, n);
    loss = ce.loss;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const g = ce.dlogits[i * n + j] * scale;
        for (let c = 0; c < C; c++) {
          du[i * C + c] += g * u[(n + j) * C + c];
          du[(n + j) * C + c] += g * u[i * C + c];
        }
      }
    }
  } else if (kind === 'cosine') {
    const t = opts.cosineTargets;
    if (!t || t.length !== n) throw new Error(`cosine loss: cosineTargets must hold n = ${n} scores, got ${t ? t.length : 'none'}`);
    loss = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += u[i * C + c] * u[(n + i) * C + c];
      const r = s - t[i];
      loss += (r * r) / n;
      const g = (2 * r) / n;
      for (let c = 0; c < C; c++) {
        du[i * C + c] += g * u[(n + i) * C + c];
        du[(n + i) * C + c] += g * u[i * C + c];
      }
    }
  } else {
    throw new Error(`embeddingLoss must be 'mnr' or 'cosine', got ${JSON.stringify(kind)}`);
  }
  return { loss, de: l2NormB(du, u, norms, rows, C) };
}

// ---------------------------------------------------------------------------------------------
// The model.

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
  const H = config.hiddenSize, F = config.intermediateSize, NH = config.numHeads, HS = H / NH, M = B * T, V = config.vocabSize;
  const eps = config.layerNormEps, act = config.hiddenAct;
  const loraScale = opts.lora ? opts.lora.alpha / opts.lora.r : 0;

  const P = (name: string): Float64Array => {
    const v = params.get(name);
    if (!v) throw new Error(`bertReference: missing parameter '${name}'`);
    return v;
  };
  const grads: Params64 = new Map();
  for (const [k, v] of params) grads.set(k, new Float64Array(v.length));
  const G = (name: string) => (wantGrads ? grads.get(name)! : null);

  // A linear layer by HF name prefix, with its LoRA adapter when one exists.
  interface LinCache { x: Float64Array; xa: Float64Array | null }
  const lin = (name: string, x: Float64Array, rows: number, K: number, N: number): { y: Float64Array; c: LinCache } => {
    const y = linearF(x, P(`${name}.weight`), P(`${name}.bias`), rows, K, N);
    let xa: Float64Array | null = null;
    if (params.has(`${name}.lora_A.weight`)) {
      const r = opts.lora!.r;
      xa = linearF(x, P(`${name}.lora_A.weight`), null, rows, K, r);
      const up = linearF(xa, P(`${name}.lora_B.weight`), null, rows, r, N);
      for (let i = 0; i < y.length; i++) y[i] += loraScale * up[i];
    }
    return { y, c: { x, xa } };
  };
  const linBack = (name: string, dy: Float64Array, c: LinCache, rows: number, K: number, N: number): Float64Array => {
    const dx = linearB(dy, c.x, P(`${name}.weight`), G(`${name}.weight`), G(`${name}.bias`), rows, K, N);
    if (c.xa) {
      const r = opts.lora!.r;
      const dyS = dy.map((v) => v * loraScale);
      const dxa = linearB(dyS, c.xa, P(`${name}.lora_B.weight`), G(`${name}.lora_B.weight`), null, rows, r, N);
      const dx2 = linearB(dxa, c.x, P(`${name}.lora_A.weight`), G(`${name}.lora_A.weight`), null, rows, K, r);
      for (let i = 0; i < dx.length; i++) dx[i] += dx2[i];
    }
    return dx;
  };
  const ln = (name: string, x: Float64Array, rows: number) => layerNormF(x, P(`${name}.weight`), P(`${name}.bias`), rows, H, eps);
  const lnBack = (name: string, dy: Float64Array, c: LnCache, rows: number) =>
    wantGrads ? layerNormB(dy, c, P(`${name}.weight`), G(`${name}.weight`)!, G(`${name}.bias`)!, rows, H) : dy;

  // Embeddings: word + position + token type, then LayerNorm.
  const wte = P('bert.embeddings.word_embeddings.weight');
  const wpe = P('bert.embeddings.position_embeddings.weight');
  const wtt = P('bert.embeddings.token_type_embeddings.weight');
  const emb = new Float64Array(M * H);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const m = b * T + t, id = batch.inputIds[m], tt = batch.tokenTypeIds[m];
      for (let c = 0; c < H; c++) emb[m * H + c] = wte[id * H + c] + wpe[t * H + c] + wtt[tt * H + c];
    }
  }
  const embLn = ln('bert.embeddings.LayerNorm', emb, M);

  // Encoder layers (post-LN): x → attention → +x → LN → FFN → + → LN.
  const layerCaches: Array<Record<string, unknown>> = [];
  let x: Float64Array = embLn.y;
  for (let l = 0; l < config.numLayers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const q = lin(`${p}.attention.self.query`, x, M, H, H);
    const k = lin(`${p}.attention.self.key`, x, M, H, H);
    const v = lin(`${p}.attention.self.value`, x, M, H, H);
    const att = attentionF(q.y, k.y, v.y, batch.attentionMask, B, T, NH, HS);
    const ao = lin(`${p}.attention.output.dense`, att.out, M, H, H);
    const r1 = ao.y.map((val, i) => val + x[i]);
    const ln1 = ln(`${p}.attention.output.LayerNorm`, r1, M);
    const f1 = lin(`${p}.intermediate.dense`, ln1.y, M, H, F);
    const g = f1.y.map((val) => geluValue(val, act));
    const f2 = lin(`${p}.output.dense`, g, M, F, H);
    const r2 = f2.y.map((val, i) => val + ln1.y[i]);
    const ln2 = ln(`${p}.output.LayerNorm`, r2, M);
    layerCaches.push({ q, k, v, att, ao, ln1, f1, f2, ln2 });
    x = ln2.y;
  }
  const hidden = x;

  // Head forward + loss → d hidden.
  let loss: number;
  let logits: Float64Array;
  let dHidden: Float64Array = new Float64Array(M * H);
  if (head.kind === 'mlm') {
    validateLabels(batch.labels, M, V, 'mlm');
    const t1 = lin('cls.predictions.transform.dense', hidden, M, H, H);
    const t2 = t1.y.map((val) => geluValue(val, act));
    const t3 = ln('cls.predictions.transform.LayerNorm', t2, M);
    logits = linearF(t3.y, wte, P('cls.predictions.bias'), M, H, V);
    const ce = crossEntropyReference(logits, batch.labels, M, V, lossOpts);
    loss = ce.loss;
    if (wantGrads) {
      const dt3 = linearB(ce.dlogits, t3.y, wte, G('bert.embeddings.word_embeddings.weight'), G('cls.predictions.bias'), M, H, V);
      const dt2 = lnBack('cls.predictions.transform.LayerNorm', dt3, t3.cache, M);
      const dt1 = dt2.map((d, i) => d * geluGrad(t1.y[i], act));
      dHidden = linBack('cls.predictions.transform.dense', dt1, t1.c, M, H, H);
    }
  } else if (head.kind === 'seq_cls') {
    validateLabels(batch.labels, B, head.numLabels, 'seq_cls');
    const cp = classifierPrefix(heads, headIndex);
    let pooledIn: Float64Array;
    let pool: ReturnType<typeof lin> | null = null;
    let pooled: Float64Array;
    if (head.pooling === 'cls') {
      pooledIn = new Float64Array(B * H);
      for (let b = 0; b < B; b++) pooledIn.set(hidden.subarray(b * T * H, b * T * H + H), b * H);
      pool = lin('bert.pooler.dense', pooledIn, B, H, H);
      pooled = pool.y.map(Math.tanh);
    } else {
      pooled = meanPoolF(hidden, batch.attentionMask, B, T, H);
    }
    const cl = lin(cp, pooled, B, H, head.numLabels);
    logits = cl.y;
    const ce = crossEntropyReference(logits, batch.labels, B, head.numLabels, lossOpts);
    loss = ce.loss;
    if (wantGrads) {
      const dPooled = linBack(cp, ce.dlogits, cl.c, B, H, head.numLabels);
      if (head.pooling === 'cls') {
        const dPre = dPooled.map((d, i) => d * (1 - pooled[i] * pooled[i]));
        const dIn = linBack('bert.pooler.dense', dPre, pool!.c, B, H, H);
        for (let b = 0; b < B; b++) dHidden.set(dIn.subarray(b * H, b * H + H), b * T * H);
      } else {
        dHidden = meanPoolB(dPooled, batch.attentionMask, B, T, H);
      }
    }
  } else if (head.kind === 'token_cls') {
    validateLabels(batch.labels, M, head.numLabels, 'token_cls');
    const cp = classifierPrefix(heads, headIndex);
    const cl = lin(cp, hidden, M, H, head.numLabels);
    logits = cl.y;
    const ce = crossEntropyReference(logits, batch.labels, M, head.numLabels, lossOpts);
    loss = ce.loss;
    if (wantGrads) dHidden = linBack(cp, ce.dlogits, cl.c, M, H, head.numLabels);
  } else {
    const pooled = meanPoolF(hidden, batch.attentionMask, B, T, H);
    const nrm = head.normalize ? l2NormF(pooled, B, H) : null;
    logits = nrm ? nrm.y : pooled;
    const el = embeddingLossReference(logits, B, H, lossOpts);
    loss = el.loss;
    if (wantGrads) {
      const dPooled = nrm ? l2NormB(el.de, nrm.y, nrm.norms, B, H) : el.de;
      dHidden = meanPoolB(dPooled, batch.attentionMask, B, T, H);
    }
  }

  if (!wantGrads) return { loss, logits, hidden, grads: null };

  // Encoder backward, top layer first.
  let dx: Float64Array = dHidden;
  for (let l = config.numLayers - 1; l >= 0; l--) {
    const p = `bert.encoder.layer.${l}`;
    const c = layerCaches[l] as {
      q: ReturnType<typeof lin>; k: ReturnType<typeof lin>; v: ReturnType<typeof lin>; att: ReturnType<typeof attentionF>;
      ao: ReturnType<typeof lin>; ln1: ReturnType<typeof layerNormF>; f1: ReturnType<typeof lin>; f2: ReturnType<typeof lin>;
      ln2: ReturnType<typeof layerNormF>;
    };
    const dr2 = lnBack(`${p}.output.LayerNorm`, dx, c.ln2.cache, M);
    const dg = linBack(`${p}.output.dense`, dr2, c.f2.c, M, F, H);
    const df1 = dg.map((d, i) => d * geluGrad(c.f1.y[i], act));
    const dln1 = linBack(`${p}.intermediate.dense`, df1, c.f1.c, M, H, F);
    for (let i = 0; i < dln1.length; i++) dln1[i] += dr2[i];
    const dr1 = lnBack(`${p}.attention.output.LayerNorm`, dln1, c.ln1.cache, M);
    const dctx = linBack(`${p}.attention.output.dense`, dr1, c.ao.c, M, H, H);
    const { dq, dk, dv } = attentionB(dctx, c.att.cache, c.q.y, c.k.y, c.v.y, B, T, NH, HS);
    const dxq = linBack(`${p}.attention.self.query`, dq, c.q.c, M, H, H);
    const dxk = linBack(`${p}.attention.self.key`, dk, c.k.c, M, H, H);
    const dxv = linBack(`${p}.attention.self.value`, dv, c.v.c, M, H, H);
    const next = new Float64Array(M * H);
    for (let i = 0; i < next.length; i++) next[i] = dr1[i] + dxq[i] + dxk[i] + dxv[i];
    dx = next;
  }
  const dEmb = lnBack('bert.embeddings.LayerNorm', dx, embLn.cache, M);
  const dwte = G('bert.embeddings.word_embeddings.weight')!;
  const dwpe = G('bert.embeddings.position_embeddings.weight')!;
  const dwtt = G('bert.embeddings.token_type_embeddings.weight')!;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const m = b * T + t, id = batch.inputIds[m], tt = batch.tokenTypeIds[m];
      for (let c = 0; c < H; c++) {
        dwte[id * H + c] += dEmb[m * H + c];
        dwpe[t * H + c] += dEmb[m * H + c];
        dwtt[tt * H + c] += dEmb[m * H + c];
      }
    }
  }
  return { loss, logits, hidden, grads };
}

/**
 * One AdamW step in float64, as torch.optim.AdamW: p ← p·(1 − lr·wd); m, v moments; p ← p − lr·m̂/(√v̂ + ε).
 * `decay(name)` says whether the parameter gets weight decay. `step` counts from 1.
 */
export function adamwReference(
  params: Params64, grads: Params64, m: Params64, v: Params64, step: number,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decay: (name: string) => boolean },
): void {
  const bc1 = 1 - o.beta1 ** step, bc2 = 1 - o.beta2 ** step;
  for (const [name, p] of params) {
    const g = grads.get(name)!;
    if (!m.has(name)) m.set(name, new Float64Array(p.length));
    if (!v.has(name)) v.set(name, new Float64Array(p.length));
    const mm = m.get(name)!, vv = v.get(name)!;
    const wd = o.decay(name) ? o.weightDecay : 0;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - o.lr * wd;
      mm[i] = o.beta1 * mm[i] + (1 - o.beta1) * g[i];
      vv[i] = o.beta2 * vv[i] + (1 - o.beta2) * g[i] * g[i];
      p[i] -= (o.lr / bc1) * mm[i] / (Math.sqrt(vv[i]) / Math.sqrt(bc2) + o.eps);
    }
  }
}
