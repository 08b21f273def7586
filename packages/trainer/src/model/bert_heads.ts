// The task heads of the GPU BERT (see bert.ts): forward with the loss (fused softmax cross-entropy
// writes the loss gradient in the same pass) and backward down to d(hidden states). Free functions
// over the model (HeadHost), one branch per head kind, mirroring reference.ts:
//   mlm        gather the labelled rows → transform dense + GELU + LayerNorm → tied decoder + bias → CE
//   seq_cls    [CLS] row → pooler dense + tanh (or masked mean) → dropout → classifier → CE
//   token_cls  dropout → classifier on every token → CE (or, with a CRF, the CRF's NLL: crfLoss)
//   embedding  masked mean (+ L2) → cosine similarities of anchors × pairs → MNR (CE, scale 20) or
//              CosineSimilarityLoss

import {
  bias_gelu_backward, bias_gelu_forward, cosine_similarity_backward, crf_backward, crf_forward, crf_viterbi, cosine_similarity_forward, dropout_backward,
  dropout_forward, fill, gather_rows_backward, gather_rows_forward, l2_normalize_backward, l2_normalize_forward,
  linear_backward, linear_forward, mean_pool_backward, mean_pool_forward, softmax_cross_entropy, distill_kl,
  type Binding, type GeluApproximate, type Gpu, type StepEncoder,
} from '@tunebench/kernels';
import type { BertConfig } from './config.js';
import { classifierPrefix, crossEntropyNormalizer, MNR_SCALE, type HeadSpec, type LossOptions } from './heads.js';
import { validateLabels, type ModelBatch } from './batch.js';
import { cosine_mse, tanh_backward, tanh_forward } from './head_kernels.js';
import { checkGoldPaths, crfAllowed, crfParamName, crfSequences, repairIob2, type CrfHeadSpec, type CrfSequences } from './crf_head.js';

export interface LayerActs {
  q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; att: GPUBuffer; lse: GPUBuffer;
  r1: GPUBuffer; ln1: GPUBuffer; mean1: GPUBuffer; rstd1: GPUBuffer;
  f1: GPUBuffer; g: GPUBuffer; r2: GPUBuffer; ln2: GPUBuffer; mean2: GPUBuffer; rstd2: GPUBuffer;
  xa: Map<string, GPUBuffer>;
  /** LoRA dropout: the adapter's dropped-out input per adapted linear (only when lora.dropout > 0). */
  xd: Map<string, GPUBuffer>;
}

export interface Acts {
  B: number; T: number; M: number;
  ids: GPUBuffer; mask: GPUBuffer; types: GPUBuffer; labels: GPUBuffer;
  embSum: GPUBuffer; embLn: GPUBuffer; embMean: GPUBuffer; embRstd: GPUBuffer; embDrop: GPUBuffer;
  layers: LayerActs[];
  // scratch shared by all layers (used one after another)
  sH1: GPUBuffer; sH2: GPUBuffer; dA: GPUBuffer; dB: GPUBuffer; dT: GPUBuffer; dF1: GPUBuffer; dF2: GPUBuffer;
  dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer; datt: GPUBuffer; dxa: GPUBuffer; loraT1: GPUBuffer; loraT2: GPUBuffer;
  clsRows: GPUBuffer;
  /** int8 inference: a linear layer's input quantised per row (packed words) and its row scales. */
  qx?: GPUBuffer; sx?: GPUBuffer;
  head: Map<string, Record<string, GPUBuffer>>;
}

export interface LastForward {
  acts: Acts; head: number; train: boolean; grad: boolean; seed: number; step: number; lossScale: number;
  /** rows of the loss buffer and the divisor of their sum */
  lossRows: number; normalizer: number;
  /** rows × cols of the logits buffer */
  logitRows: number; logitCols: number; logits: GPUBuffer | null;
  lowest: number; mlmRows: number;
  /** classifier input before dropout; similarity scale; embedding loss kind */
  feats?: GPUBuffer; simScale: number; kind?: 'mnr' | 'cosine';
  /** Per-row distillation losses (τ²·KL) when the forward distilled. */
  distillLosses?: GPUBuffer;
}

/**
 * Knowledge distillation on a classifier head (seq_cls, or token_cls without a CRF): the teacher's
 * logits for the same batch (rows × numLabels, e.g. the teacher model's lastLogitsBuffer()) and
 * the loss mix  ceWeight · CE(labels) + kdWeight · τ²·KL(softmax(teacher/τ) ‖ softmax(student/τ)),
 * both averaged over the labelled rows (distill_kl.ts). The KL gradient is added to the
 * cross-entropy's in dlogits, so one classifier backward carries both.
 */
export interface DistillSpec {
  teacherLogits: GPUBuffer;
  temperature: number;
  kdWeight: number;
  ceWeight: number;
}

/** What the heads need from the model (BertModel implements it). */
export interface HeadHost {
  readonly gpu: Gpu;
  readonly config: BertConfig;
  readonly heads: HeadSpec[];
  /** Scratch gradient sink for a frozen bias (≥ max(H, F) floats). */
  readonly sink: GPUBuffer;
  readonly act: GeluApproximate;
  param(name: string): GPUBufferBinding;
  grad(name: string): GPUBufferBinding | null;
  lnF(enc: StepEncoder, name: string, out: Binding, mean: Binding, rstd: Binding, inp: Binding, rows: number): void;
  lnB(enc: StepEncoder, name: string, dinp: Binding, dout: Binding, inp: Binding, mean: Binding, rstd: Binding, rows: number): void;
  headActs(acts: Acts, name: string, sizes: Record<string, number>): Record<string, GPUBuffer>;
  small(data: Float32Array | Int32Array, label: string): GPUBuffer;
  dropSeed(seed: number, site: number): number;
}

const F32_BYTES = 4;

/** Cross-entropy (or focal) over logits with integer targets; returns the normalizer (0 = nothing to learn). */
export function crossEntropyLoss(m: HeadHost, enc: StepEncoder, losses: GPUBuffer, dlogits: GPUBuffer | null, logits: GPUBuffer, targets: GPUBuffer,
  labels: ArrayLike<number>, N: number, V: number, loss: LossOptions, lossScale: number): number {
  const cw = loss.classWeights ?? null;
  const alpha = loss.focalAlpha ?? null;
  const normalizer = crossEntropyNormalizer(labels, N, V, loss);
  if (normalizer <= 0) {
    fill(m.gpu, enc, losses, 0, N);
    if (dlogits) fill(m.gpu, enc, dlogits, 0, N * V);
    return 0;
  }
  softmax_cross_entropy(m.gpu, enc, losses, dlogits, logits, targets, N, V, {
    classWeights: cw ? m.small(Float32Array.from(cw), 'class_weights') : null,
    focalAlpha: alpha ? m.small(Float32Array.from(alpha), 'focal_alpha') : null,
    focalGamma: loss.focalGamma ?? 0,
    normalizer: normalizer / lossScale,
  });
  return normalizer;
}


/**
 * The CRF head's loss (crf_head.ts): the labelled tokens of each row are gathered into CRF
 * sequences, crf_forward writes the per-sequence NLL into h.losses (B rows), and with gradients
 * crf_backward's d emissions are scattered back into h.dlogits (zeros elsewhere) for the usual
 * classifier backward. Returns the loss divisor Σ lengths (0 = nothing to learn).
 */
function crfLoss(m: HeadHost, enc: StepEncoder, acts: Acts, batch: ModelBatch, headIndex: number, spec: CrfHeadSpec, C: number,
  h: Record<string, GPUBuffer>, o: { grad: boolean; lossScale: number }): number {
  const gpu = m.gpu;
  const { B, T, M } = acts;
  const seq = crfSequences(batch.labels, B, T);
  if (seq.count === 0) {
    fill(gpu, enc, h.losses, 0, B);
    if (o.grad) fill(gpu, enc, h.dlogits, 0, M * C);
    return 0;
  }
  const allowedMask = crfAllowed(spec);
  if (allowedMask && spec.labels) repairIob2(seq, spec.labels);
  checkGoldPaths(seq, allowedMask, C, spec.labels);
  const c = m.headActs(acts, `crf${headIndex}`, { rows: M, tags: M, lengths: B, logZ: B, em: M * C, dem: M * C, dcrfSink: (C + 2) * C });
  gpu.write(c.rows, seq.rows);
  gpu.write(c.tags, seq.tags);
  gpu.write(c.lengths, seq.lengths);
  const n = B * seq.S;
  gather_rows_forward(gpu, enc, c.em, h.logits, c.rows, n, C, M);
  const name = crfParamName(m.heads, headIndex);
  const ops = {
    emissions: c.em, tags: c.tags, lengths: c.lengths, lengthValues: seq.lengths, crf: m.param(name),
    allowed: allowedMask ? m.small(Int32Array.from(allowedMask), 'crf_allowed') : null, B, T: seq.S, K: C,
  };
  crf_forward(gpu, enc, { ...ops, losses: h.losses, logZ: c.logZ });
  if (o.grad) {
    crf_backward(gpu, enc, { ...ops, demissions: c.dem, dcrf: m.grad(name) ?? c.dcrfSink, normalizer: seq.count / o.lossScale });
    fill(gpu, enc, h.dlogits, 0, M * C);
    gather_rows_backward(gpu, enc, h.dlogits, c.dem, c.rows, n, C, M);
  }
  return seq.count;
}

/**
 * Viterbi decoding of a CRF head on the device (prediction): `positions[b]` are the tokens of row
 * b's CRF sequence in order (crfPositions: first pieces or every piece). Their emissions are
 * gathered from the last forward's logits (B·T, C) into the compacted layout of crfLoss and
 * crf_viterbi writes the best allowed path per row (−1 past its length). Returns the (B·S) path
 * buffer and the layout to scatter it back with.
 */
export function crfDecodeRecord(m: HeadHost, enc: StepEncoder, st: LastForward, positions: readonly (readonly number[])[]): { path: GPUBuffer; seq: CrfSequences } {
  const gpu = m.gpu;
  const head = m.heads[st.head];
  if (head.kind !== 'token_cls' || !head.crf || !st.logits) throw new Error(`crf decode: heads[${st.head}] of the last forward is not a token_cls head with a CRF`);
  const { B, T, M } = st.acts;
  const C = head.numLabels;
  if (positions.length !== B) throw new Error(`crf decode: ${positions.length} position lists for a batch of ${B} rows`);
  // the sequences crfLoss would build if exactly these tokens carried a label
  const marks = new Int32Array(B * T).fill(-100);
  positions.forEach((ps, b) => {
    let prev = -1;
    for (const t of ps) {
      if (!Number.isInteger(t) || t <= prev || t >= T) throw new Error(`crf decode: row ${b}'s positions must rise strictly within 0…${T - 1}, got ${JSON.stringify(ps)}`);
      marks[b * T + t] = 0;
      prev = t;
    }
  });
  const seq = crfSequences(marks, B, T);
  const c = m.headActs(st.acts, `crf${st.head}`, { rows: M, lengths: B, em: M * C, path: M, score: B });
  gpu.write(c.rows, seq.rows);
  gpu.write(c.lengths, seq.lengths);
  gather_rows_forward(gpu, enc, c.em, st.logits, c.rows, B * seq.S, C, M);
  const allowedMask = crfAllowed(head.crf);
  crf_viterbi(gpu, enc, {
    emissions: c.em, lengths: c.lengths, lengthValues: seq.lengths, crf: m.param(crfParamName(m.heads, st.head)),
    allowed: allowedMask ? m.small(Int32Array.from(allowedMask), 'crf_allowed') : null, B, T: seq.S, K: C, path: c.path, score: c.score,
  });
  return { path: c.path, seq };
}

export function headForward(m: HeadHost, enc: StepEncoder, acts: Acts, batch: ModelBatch, hidden: GPUBuffer, headIndex: number, head: HeadSpec, loss: LossOptions,
  o: { train: boolean; grad: boolean; seed: number; step: number; lossScale: number; lowest: number; distill?: DistillSpec }): LastForward {
  const gpu = m.gpu, cfg = m.config;
  const { B, T, M } = acts;
  const H = cfg.hiddenSize, V = cfg.vocabSize, L = cfg.numLayers;
  const drop = o.train && cfg.hiddenDropout > 0;
  const base = { acts, head: headIndex, train: o.train, grad: o.grad, seed: o.seed, step: o.step, lossScale: o.lossScale, lowest: o.lowest, mlmRows: 0, simScale: 1 };
  const headSite = 1000 + headIndex;
  if (o.distill && !(head.kind === 'seq_cls' || (head.kind === 'token_cls' && !head.crf))) {
    throw new Error(`distill: heads[${headIndex}] is ${head.kind}${head.kind === 'token_cls' ? ' with a CRF' : ''}; distillation works on seq_cls and token_cls (softmax) logits`);
  }
  if (head.kind === 'mlm') {
    validateLabels(batch.labels, M, V, 'mlm');
    const rows: number[] = [];
    for (let i = 0; i < M; i++) if (batch.labels[i] !== -100) rows.push(i);
    const n = rows.length;
    // Logits only for the masked rows (cost ∝ masked rows, not B·T), in buffers sized to this
    // batch's count rounded up, so B·T·V never has to fit one storage binding.
    const maxBinding = gpu.limits.maxStorageBufferBindingSize;
    if (n * V * F32_BYTES > maxBinding) {
      throw new Error(`mlm head: ${n} masked rows × vocabulary ${V} = ${((n * V * F32_BYTES) / 2 ** 20).toFixed(0)} MiB of logits exceeds this adapter's ` +
        `maxStorageBufferBindingSize (${(maxBinding / 2 ** 20).toFixed(0)} MiB); use a smaller batch size or sequence length`);
    }
    const cap = Math.min(M, Math.max(1, Math.floor(maxBinding / (V * F32_BYTES))), Math.ceil(Math.max(n, 1) / 256) * 256);
    const h = m.headActs(acts, 'mlm', { hm: M * H, t1: M * H, t2: M * H, t3: M * H, mean: M, rstd: M, logits: cap * V, dlogits: cap * V, losses: M, rows: M, targets: M, dt3: M * H, dt2: M * H, dt1: M * H, dhm: M * H });
    if (n === 0) {
      return { ...base, lossRows: 0, normalizer: 0, logitRows: 0, logitCols: V, logits: null };
    }
    gpu.write(h.rows, Int32Array.from(rows));
    gpu.write(h.targets, Int32Array.from(rows, (i) => batch.labels[i]));
    gather_rows_forward(gpu, enc, h.hm, hidden, h.rows, n, H, M);
    linear_forward(gpu, enc, h.t1, h.hm, m.param('cls.predictions.transform.dense.weight'), null, n, H, H);
    bias_gelu_forward(gpu, enc, h.t2, h.t1, m.param('cls.predictions.transform.dense.bias'), n, H, m.act);
    m.lnF(enc, 'cls.predictions.transform.LayerNorm', h.t3, h.mean, h.rstd, h.t2, n);
    linear_forward(gpu, enc, h.logits, h.t3, m.param('bert.embeddings.word_embeddings.weight'), m.param('cls.predictions.bias'), n, V, H);
    const targets = Int32Array.from(rows, (i) => batch.labels[i]);
    const normalizer = crossEntropyLoss(m, enc, h.losses, o.grad ? h.dlogits : null, h.logits, h.targets, targets, n, V, loss, o.lossScale);
    return { ...base, lossRows: n, normalizer, logitRows: n, logitCols: V, logits: h.logits, mlmRows: n };
  }
  if (head.kind === 'seq_cls' || head.kind === 'token_cls') {
    const C = head.numLabels;
    const rowsN = head.kind === 'seq_cls' ? B : M;
    validateLabels(batch.labels, rowsN, C, head.kind);
    const cp = classifierPrefix(m.heads, headIndex);
    const h = m.headActs(acts, `cls${headIndex}`, {
      cls: B * H, pre: B * H, pooled: B * H, dropped: rowsN * H, logits: rowsN * C, dlogits: rowsN * C, losses: rowsN, targets: rowsN,
      dfeat: rowsN * H, dfeat2: rowsN * H, dpre: B * H, dcls: B * H,
    });
    gpu.write(h.targets, batch.labels);
    let feats: GPUBuffer;
    if (head.kind === 'token_cls') feats = hidden;
    else if (head.pooling === 'cls') {
      gather_rows_forward(gpu, enc, h.cls, hidden, acts.clsRows, B, H, M);
      linear_forward(gpu, enc, h.pre, h.cls, m.param('bert.pooler.dense.weight'), m.param('bert.pooler.dense.bias'), B, H, H);
      tanh_forward(gpu, enc, h.pooled, h.pre, B * H);
      feats = h.pooled;
    } else {
      mean_pool_forward(gpu, enc, h.pooled, hidden, acts.mask, B, T, H);
      feats = h.pooled;
    }
    if (drop) dropout_forward(gpu, enc, h.dropped, feats, rowsN * H, cfg.hiddenDropout, m.dropSeed(o.seed, headSite), o.step);
    linear_forward(gpu, enc, h.logits, drop ? h.dropped : feats, m.param(`${cp}.weight`), m.param(`${cp}.bias`), rowsN, C, H);
    if (head.kind === 'token_cls' && head.crf) {
      const normalizer = crfLoss(m, enc, acts, batch, headIndex, head.crf, C, h, o);
      return { ...base, lossRows: B, normalizer, logitRows: rowsN, logitCols: C, logits: h.logits, feats };
    }
    const d = o.distill;
    if (d && !(d.ceWeight >= 0 && d.kdWeight >= 0 && d.ceWeight + d.kdWeight > 0 && d.temperature > 0)) {
      throw new Error(`distill: ceWeight (${d.ceWeight}) and kdWeight (${d.kdWeight}) must be ≥ 0 and not both 0, temperature (${d.temperature}) > 0`);
    }
    // With distillation the label loss is weighted by ceWeight (0: computed for the loss value, its gradient overwritten below).
    const ceScale = d && d.ceWeight > 0 ? o.lossScale * d.ceWeight : o.lossScale;
    const normalizer = crossEntropyLoss(m, enc, h.losses, o.grad ? h.dlogits : null, h.logits, h.targets, batch.labels, rowsN, C, loss, ceScale);
    if (!d || normalizer === 0) return { ...base, lossRows: rowsN, normalizer, logitRows: rowsN, logitCols: C, logits: h.logits, feats };
    const kd = m.headActs(acts, `kd${headIndex}`, { losses: rowsN });
    distill_kl(gpu, enc, kd.losses, o.grad ? h.dlogits : null, h.logits, d.teacherLogits, h.targets, rowsN, C, {
      temperature: d.temperature, normalizer, weight: d.kdWeight * o.lossScale, accumulate: d.ceWeight > 0,
    });
    return { ...base, lossRows: rowsN, normalizer, logitRows: rowsN, logitCols: C, logits: h.logits, feats, distillLosses: kd.losses };
  }
  // embedding head: masked mean pooling (+ L2 normalisation) → MNR or cosine loss over pairs
  const h = m.headActs(acts, 'emb', {
    pooled: B * H, norms: B, e: B * H, u: B * H, norms2: B, ua: B * H, ub: B * H, S: B * B, dS: B * B, losses: B, targets: B,
    dua: B * H, dub: B * H, du: B * H, de: B * H, dpooled: B * H,
  });
  mean_pool_forward(gpu, enc, h.pooled, hidden, acts.mask, B, T, H);
  if (head.normalize) l2_normalize_forward(gpu, enc, h.e, h.norms, h.pooled, B, H);
  const e = head.normalize ? h.e : h.pooled;
  if (B % 2 !== 0) {
    if (o.grad) throw new Error(`embedding loss: the batch must hold n anchors then their n pairs (even B), got B = ${B}`);
    return { ...base, lossRows: 0, normalizer: 0, logitRows: B, logitCols: H, logits: e };
  }
  const n = B / 2;
  l2_normalize_forward(gpu, enc, h.u, h.norms2, e, B, H);
  gather_rows_forward(gpu, enc, h.ua, h.u, m.small(Int32Array.from({ length: n }, (_, i) => i), 'rows'), n, H, B);
  gather_rows_forward(gpu, enc, h.ub, h.u, m.small(Int32Array.from({ length: n }, (_, i) => n + i), 'rows'), n, H, B);
  const kind = loss.embeddingLoss ?? 'mnr';
  if (kind === 'mnr') {
    const scale = loss.mnrScale ?? MNR_SCALE;
    cosine_similarity_forward(gpu, enc, h.S, h.ua, h.ub, n, n, H, scale);
    const diag = Int32Array.from({ length: n }, (_, i) => i);
    softmax_cross_entropy(gpu, enc, h.losses, o.grad ? h.dS : null, h.S, m.small(diag, 'mnr_targets'), n, n, { normalizer: n / o.lossScale });
    return { ...base, lossRows: n, normalizer: n, logitRows: B, logitCols: H, logits: e, simScale: scale, kind: 'mnr' };
  }
  if (kind !== 'cosine') throw new Error(`loss.embeddingLoss must be 'mnr' or 'cosine', got ${JSON.stringify(kind)}`);
  const t = loss.cosineTargets;
  if (!t || t.length !== n) throw new Error(`cosine loss: loss.cosineTargets must hold n = ${n} scores, got ${t ? t.length : 'none'}`);
  cosine_similarity_forward(gpu, enc, h.S, h.ua, h.ub, n, n, H, 1);
  gpu.write(h.targets, Float32Array.from(t));
  cosine_mse(gpu, enc, h.losses, h.dS, h.S, h.targets, n, o.lossScale / n);
  return { ...base, lossRows: n, normalizer: n, logitRows: B, logitCols: H, logits: e, simScale: 1, kind: 'cosine' };
}


export function headBackward(m: HeadHost, enc: StepEncoder, st: LastForward, dHidden: GPUBuffer | null): void {
  const gpu = m.gpu, cfg = m.config, acts = st.acts;
  const { B, T, M } = acts;
  const H = cfg.hiddenSize, V = cfg.vocabSize;
  const head = m.heads[st.head];
  const drop = st.train && cfg.hiddenDropout > 0;
  if (head.kind === 'mlm') {
    const n = st.mlmRows;
    if (n === 0) {
      if (dHidden) fill(gpu, enc, dHidden, 0, M * H);
      return;
    }
    const h = acts.head.get('mlm')!;
    const wte = 'bert.embeddings.word_embeddings.weight';
    const tr = 'cls.predictions.transform';
    linear_backward(gpu, enc, h.dt3, m.grad(wte), m.grad('cls.predictions.bias'), h.dlogits, h.t3, m.param(wte), n, V, H);
    m.lnB(enc, `${tr}.LayerNorm`, h.dt2, h.dt3, h.t2, h.mean, h.rstd, n);
    bias_gelu_backward(gpu, enc, h.dt1, m.grad(`${tr}.dense.bias`) ?? m.sink, h.t1, m.param(`${tr}.dense.bias`), h.dt2, n, H, m.act);
    const dW = m.grad(`${tr}.dense.weight`);
    if (dHidden || dW) linear_backward(gpu, enc, dHidden ? h.dhm : null, dW, null, h.dt1, h.hm, m.param(`${tr}.dense.weight`), n, H, H);
    if (dHidden) {
      fill(gpu, enc, dHidden, 0, M * H);
      gather_rows_backward(gpu, enc, dHidden, h.dhm, h.rows, n, H, M);
    }
    return;
  }
  if (head.kind === 'seq_cls' || head.kind === 'token_cls') {
    if (st.normalizer === 0 && !dHidden) return;
    const C = head.numLabels;
    const rowsN = head.kind === 'seq_cls' ? B : M;
    const cp = classifierPrefix(m.heads, st.head);
    const h = acts.head.get(`cls${st.head}`)!;
    const pooler = head.kind === 'seq_cls' && head.pooling === 'cls';
    const poolerTrains = pooler && (m.grad('bert.pooler.dense.weight') !== null || m.grad('bert.pooler.dense.bias') !== null);
    const needFeat = dHidden !== null || poolerTrains;
    const feats = st.feats!;
    const used = drop ? h.dropped : feats;
    // d features (before dropout) → h.dfeat
    const direct = head.kind === 'token_cls' && !drop ? dHidden : h.dfeat;
    linear_backward(gpu, enc, needFeat ? direct : null, m.grad(`${cp}.weight`), m.grad(`${cp}.bias`), h.dlogits, used, m.param(`${cp}.weight`), rowsN, C, H);
    if (!needFeat) return;
    if (drop) {
      const to = head.kind === 'token_cls' ? dHidden! : h.dfeat2;
      dropout_backward(gpu, enc, to, h.dfeat, rowsN * H, cfg.hiddenDropout, m.dropSeed(st.seed, 1000 + st.head), st.step);
    }
    if (head.kind === 'token_cls') return;
    const dPooled = drop ? h.dfeat2 : h.dfeat;
    if (pooler) {
      tanh_backward(gpu, enc, h.dpre, h.pooled, dPooled, B * H);
      linear_backward(gpu, enc, dHidden ? h.dcls : null, m.grad('bert.pooler.dense.weight'), m.grad('bert.pooler.dense.bias'),
        h.dpre, h.cls, m.param('bert.pooler.dense.weight'), B, H, H);
      if (dHidden) {
        fill(gpu, enc, dHidden, 0, M * H);
        gather_rows_backward(gpu, enc, dHidden, h.dcls, acts.clsRows, B, H, M);
      }
    } else if (dHidden) {
      mean_pool_backward(gpu, enc, dHidden, dPooled, acts.mask, B, T, H);
    }
    return;
  }
  // embedding head (no parameters of its own)
  if (!dHidden || st.normalizer === 0) {
    if (dHidden) fill(gpu, enc, dHidden, 0, M * H);
    return;
  }
  const h = acts.head.get('emb')!;
  const n = B / 2;
  cosine_similarity_backward(gpu, enc, h.dua, h.dub, h.dS, h.ua, h.ub, n, n, H, st.simScale);
  fill(gpu, enc, h.du, 0, B * H);
  gather_rows_backward(gpu, enc, h.du, h.dua, m.small(Int32Array.from({ length: n }, (_, i) => i), 'rows'), n, H, B);
  gather_rows_backward(gpu, enc, h.du, h.dub, m.small(Int32Array.from({ length: n }, (_, i) => n + i), 'rows'), n, H, B);
  const e = (head as { normalize: boolean }).normalize ? h.e : h.pooled;
  l2_normalize_backward(gpu, enc, h.de, h.du, h.u, h.norms2, B, H);
  let dPooled = h.de;
  if ((head as { normalize: boolean }).normalize) {
    l2_normalize_backward(gpu, enc, h.dpooled, h.de, e, h.norms, B, H);
    dPooled = h.dpooled;
  }
  mean_pool_backward(gpu, enc, dHidden, dPooled, acts.mask, B, T, H);
}

