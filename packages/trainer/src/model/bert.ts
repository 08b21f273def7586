// The GPU BERT: explicit forward and backward, layer by layer, on the WGSL kernels of
// @tunebench/kernels (llm.c style: every activation a named, preallocated buffer; no autograd).
// Embeddings and encoder layers are here; the task heads and their losses are in bert_heads.ts.
//
// Memory layout: all parameters in one flat GPU buffer with the ParamStore's layout (each tensor
// 256-byte aligned, bound as a range), gradients in a parallel flat buffer, activations
// preallocated once per (B, T) shape. Nothing is submitted here: forward/backward record into the
// caller's StepEncoder, so a whole training step (zero grads, forward, backward, AdamW) is one
// command buffer. The batch's ids, masks and labels are written (queue.writeBuffer) when forward()
// is called, so submit the encoder before recording the next batch's forward.
//
// Gradient rule (kernels' contract): parameter gradients ADD into `grads` (the trainer zeroes
// them with zeroGrads() at the start of an accumulation cycle), so two forward/backward pairs on
// two heads give the multi-task gradient.
//
// Freezing: setTrainable() says which parameters get gradients. Layers below the lowest trainable
// one run in eval mode (no dropout) and get no backward at all; backward stops at that layer.
// Their output — the input of the lowest trainable layer — depends only on frozen weights and the
// batch, so forward(…, { cacheKey }) keeps it in a GPU buffer per key and later epochs copy it
// back instead of rerunning the frozen prefix (head-only training runs no encoder after epoch 1).
//
// Dropout in training mode, in the layers that train: hidden dropout (HF's hidden_dropout_prob),
// attention-probability dropout (attention_probs_dropout_prob, inside the attention kernel, the
// mask recomputed in the backward from the same (seed, step)), and LoRA dropout (PEFT's
// lora_dropout on the adapter's input). Each site has its own key (dropSeed) so the streams are
// independent. Eval mode applies none of them.

import {
  accumulate as accumulateInto, add_forward, attention_backward, attention_forward, bias_gelu_backward, bias_gelu_forward, copy,
  dropout_backward, dropout_forward, embedding_backward, embedding_forward, fill, layernorm_backward, layernorm_forward,
  int8_linear_forward, linear_backward, linear_forward, lora_adapter_backward, lora_adapter_forward, quantize_rows_int8,
  type AttentionDropout, type Binding, type GeluApproximate, type Gpu, type StepEncoder,
} from '@tunebench/kernels';
import { geluApproximate, validateConfig, type BertConfig } from './config.js';
import { validateHeads, type HeadSpec, type LossOptions } from './heads.js';
import { loraLinearName, paramSpecs, type LoraConfig, type ParamSpec, type ParamStore } from './params.js';
import { validateBatch, type ModelBatch } from './batch.js';
export type { DistillSpec } from './bert_heads.js';
import { crfDecodeRecord, headBackward, headForward, type Acts, type DistillSpec, type HeadHost, type LastForward, type LayerActs } from './bert_heads.js';
import { quantizeModel, type QuantizedLinears } from './int8.js';

const F32 = 4;

export interface BertModelOptions {
  lora?: LoraConfig | null;
  /**
   * Activations are kept for this many (B, T) shapes, least recently used freed first (default 8).
   * Pad to a few bucket lengths: every new shape allocates buffers and bind groups, and the
   * runtime caches bind groups for the life of the device.
   */
  maxShapes?: number;
  /**
   * INT8 inference (int8.ts): the encoder's linear layers run through the int8 kernels with weights
   * quantised from the store (true), or with these quantised weights (an int8 export); eval-mode
   * forward only. Embeddings, LayerNorms and heads stay fp32.
   */
  int8?: boolean | QuantizedLinears;
}

export interface ForwardOptions {
  /** Training mode: dropout on in the trainable layers and the head (default false). */
  train?: boolean;
  /** Compute the loss gradient so that backward() can follow (default: = train). */
  grad?: boolean;
  /** Dropout seed and step (the dropout kernels' counter-based RNG is keyed by both). */
  seed?: number;
  step?: number;
  /** Index into heads of the head whose loss this batch trains (default 0). */
  head?: number;
  loss?: LossOptions;
  /** Multiplies every gradient of this backward (multi-task weights, 1/accumulation steps). */
  lossScale?: number;
  /** Cache the frozen prefix's output for this batch under this key (same key = same batch). */
  cacheKey?: string | number;
  /** Knowledge distillation on a classifier head's logits (bert_heads.ts, DistillSpec). */
  distill?: DistillSpec;
  /**
   * Called by backward() right after the head's backward, with the last encoder layer's output
   * (B·T, H) and its gradient (null when no encoder layer trains): it may ADD an extra term's
   * gradient to dHidden (hidden-state distillation: a projection of the student's states vs the
   * teacher's). Recorded into the same encoder, before the encoder's backward.
   */
  hiddenGrad?: HiddenGradHook;
}

export type HiddenGradHook = (enc: StepEncoder, hidden: GPUBuffer, dHidden: GPUBuffer | null) => void;

export class BertModel implements HeadHost {
  readonly config: BertConfig;
  readonly heads: HeadSpec[];
  readonly store: ParamStore;
  readonly lora: LoraConfig | null;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly gpu: Gpu;
  private trainable: Set<string>;
  private readonly acts = new Map<string, Acts>();
  private readonly prefixCache = new Map<string, GPUBuffer>();
  private readonly smallBuffers = new Map<string, GPUBuffer>();
  private readonly pBind = new Map<string, GPUBufferBinding>();
  private readonly gBind = new Map<string, GPUBufferBinding>();
  /** @internal scratch sinks for the gradients of frozen LayerNorms / biases (HeadHost) */
  readonly sink: GPUBuffer;
  private readonly sink2: GPUBuffer;
  private last: LastForward | null = null;
  /** The last forward's encoder output (the head's input) and its hiddenGrad hook. */
  private lastHidden: GPUBuffer | null = null;
  private lastHook: HiddenGradHook | null = null;
  private readonly maxShapes: number;
  private readonly recorded = new WeakMap<Acts, { enc: StepEncoder; ids: Int32Array; mask: Int32Array; types: Int32Array; heads: Map<number, Int32Array> }>();
  /** Set while recording a layer that trains with LoRA dropout. */
  private loraDrop: { seed: number; step: number } | null = null;
  private readonly loraSites = new Map<string, number>();
  /** INT8 inference: the quantised linear layers (CPU copy) and their GPU buffers; null = fp32. */
  private quantized: QuantizedLinears | null = null;
  private readonly int8Buffers = new Map<string, { q: GPUBuffer; s: GPUBuffer }>();
  private readonly int8FromStore: boolean;

  constructor(gpu: Gpu, config: BertConfig, heads: HeadSpec[], store: ParamStore, opts: BertModelOptions = {}) {
    validateConfig(config);
    validateHeads(heads);
    this.gpu = gpu;
    this.config = config;
    this.heads = heads;
    this.store = store;
    this.lora = opts.lora ?? null;
    this.maxShapes = opts.maxShapes ?? 8;
    if (!Number.isInteger(this.maxShapes) || this.maxShapes < 1) throw new Error(`BertModel: maxShapes must be a positive integer, got ${String(opts.maxShapes)}`);
    const expected = paramSpecs(config, heads, this.lora);
    const names = store.specs.map((s) => s.name);
    for (let i = 0; i < Math.max(expected.length, names.length); i++) {
      const want = expected[i]?.name, got = names[i];
      if (want !== got) {
        throw new Error(`BertModel: the ParamStore does not fit this config/heads/lora: parameter #${i} is '${got ?? '(none)'}', expected '${want ?? '(none)'}'`);
      }
      if (JSON.stringify(expected[i].shape) !== JSON.stringify(store.specs[i].shape)) {
        throw new Error(`BertModel: parameter '${want}' has shape ${JSON.stringify(store.specs[i].shape)}, expected ${JSON.stringify(expected[i].shape)}`);
      }
    }
    this.params = gpu.buffer(store.data, 'bert.params');
    this.grads = gpu.zeros(store.totalSize * F32, 'bert.grads');
    this.trainable = new Set(names);
    this.sink = gpu.zeros(Math.max(config.hiddenSize, config.intermediateSize) * F32, 'bert.grad_sink');
    this.sink2 = gpu.zeros(config.hiddenSize * F32, 'bert.grad_sink2');
    const int8 = opts.int8 ?? false;
    if (int8 && this.lora) throw new Error('BertModel: int8 inference with a LoRA adapter: merge the adapter into the base weights first');
    this.int8FromStore = int8 === true;
    if (int8) this.setQuantized(int8 === true ? quantizeModel(config, store) : int8);
  }

  /** The quantised linear layers (int8 inference), or null for an fp32 model. */
  get int8(): QuantizedLinears | null {
    return this.quantized;
  }

  private setQuantized(q: QuantizedLinears): void {
    for (const b of this.int8Buffers.values()) { b.q.destroy(); b.s.destroy(); }
    this.int8Buffers.clear();
    for (const [name, ql] of q) {
      this.int8Buffers.set(name, { q: this.gpu.buffer(ql.packed, `int8.${name}.q`), s: this.gpu.buffer(ql.scales, `int8.${name}.scales`) });
    }
    this.quantized = q;
  }

  // ------------------------------------------------------------------------------ parameters

  /** Copy store.data to the GPU (after init, loading a checkpoint, resizing). Clears the prefix cache. */
  upload(): void {
    this.gpu.write(this.params, this.store.data);
    this.clearPrefixCache();
    // int8 weights quantised from the store follow it (given ones, from an export, stay)
    if (this.int8FromStore) this.setQuantized(quantizeModel(this.config, this.store));
  }

  /** Copy the GPU parameters back into store.data. */
  async download(): Promise<void> {
    const data = await this.gpu.read(this.params, Float32Array, this.store.totalSize);
    this.store.data.set(data);
  }

  /** The flat gradient buffer, read back (same layout as store.data). */
  async readGrads(): Promise<Float32Array> {
    return this.gpu.read(this.grads, Float32Array, this.store.totalSize);
  }

  /** Which parameters get gradients (default all). Clears the prefix cache. */
  setTrainable(which: Iterable<string> | ((spec: ParamSpec) => boolean)): void {
    const next = new Set<string>();
    if (typeof which === 'function') {
      for (const s of this.store.specs) if (which(s)) next.add(s.name);
    } else {
      for (const n of which) {
        if (!this.store.has(n)) throw new Error(`BertModel.setTrainable: no parameter named '${n}'`);
        next.add(n);
      }
    }
    this.trainable = next;
    this.clearPrefixCache();
  }

  isTrainable(name: string): boolean {
    return this.trainable.has(name);
  }

  /**
   * Where training with this model differs from Hugging Face's BertModel with the same config
   * (empty when it does not): a run log should record these.
   */
  get deviations(): string[] {
    return [];
  }

  /** −1 (embeddings) .. L (heads only); L + 1 when nothing trains. */
  get lowestTrainableLayer(): number {
    let lowest = this.config.numLayers + 1;
    for (const s of this.store.specs) if (this.trainable.has(s.name)) lowest = Math.min(lowest, s.layer);
    return lowest;
  }

  /** A parameter's range of the flat parameter buffer. */
  param(name: string): GPUBufferBinding {
    let b = this.pBind.get(name);
    if (!b) {
      const { offset, length } = this.store.range(name);
      b = { buffer: this.params, offset: offset * F32, size: length * F32 };
      this.pBind.set(name, b);
    }
    return b;
  }

  /** A parameter's gradient range, or null when the parameter is frozen. */
  grad(name: string): GPUBufferBinding | null {
    if (!this.trainable.has(name)) return null;
    let b = this.gBind.get(name);
    if (!b) {
      const { offset, length } = this.store.range(name);
      b = { buffer: this.grads, offset: offset * F32, size: length * F32 };
      this.gBind.set(name, b);
    }
    return b;
  }

  /** Record grads = 0 (all of them). */
  zeroGrads(enc: StepEncoder): void {
    fill(this.gpu, enc, this.grads, 0, this.store.totalSize);
  }

  clearPrefixCache(): void {
    for (const b of this.prefixCache.values()) b.destroy();
    this.prefixCache.clear();
  }

  /** Free the activations of every (B, T) shape (they are rebuilt on the next forward). */
  releaseActivations(): void {
    for (const a of this.acts.values()) this.freeActs(a);
    this.acts.clear();
    this.last = null;
  }

  private freeActs(a: Acts): void {
    if (this.last?.acts === a) this.last = null;
    const free = (v: unknown) => {
      if (v instanceof Map) for (const b of v.values()) (b as GPUBuffer).destroy();
      else if (v && typeof v === 'object' && 'destroy' in v) (v as GPUBuffer).destroy();
    };
    for (const [k, v] of Object.entries(a)) if (k !== 'head' && k !== 'layers') free(v);
    for (const l of a.layers) for (const v of Object.values(l)) free(v);
    for (const h of a.head.values()) for (const v of Object.values(h)) v.destroy();
  }

  destroy(): void {
    this.releaseActivations();
    this.clearPrefixCache();
    for (const b of this.smallBuffers.values()) b.destroy();
    this.params.destroy();
    this.grads.destroy();
    this.sink.destroy();
    this.sink2.destroy();
    for (const b of this.embSinks.values()) b.destroy();
    for (const b of this.int8Buffers.values()) { b.q.destroy(); b.s.destroy(); }
  }

  // ------------------------------------------------------------------------------ activations

  private activations(B: number, T: number): Acts {
    const key = `${B}x${T}`;
    const hit = this.acts.get(key);
    if (hit) {
      // most recently used last
      this.acts.delete(key);
      this.acts.set(key, hit);
      return hit;
    }
    while (this.acts.size >= this.maxShapes) {
      const [oldKey, old] = this.acts.entries().next().value as [string, Acts];
      this.freeActs(old);
      this.acts.delete(oldKey);
    }
    const { hiddenSize: H, intermediateSize: F, numHeads: NH } = this.config;
    const M = B * T;
    const z = (n: number, label: string) => this.gpu.zeros(Math.max(n, 1) * F32, `${label}[${key}]`);
    const layers: LayerActs[] = [];
    for (let l = 0; l < this.config.numLayers; l++) {
      const xa = new Map<string, GPUBuffer>();
      const xd = new Map<string, GPUBuffer>();
      if (this.lora) {
        for (const t of this.lora.targets) {
          xa.set(loraLinearName(l, t), z(M * this.lora.r, `xa.${l}.${t}`));
          if (this.lora.dropout > 0) xd.set(loraLinearName(l, t), z(M * (t === 'ffn_out' ? F : H), `lora_xd.${l}.${t}`));
        }
      }
      layers.push({
        q: z(M * H, 'q'), k: z(M * H, 'k'), v: z(M * H, 'v'), att: z(M * H, 'att'), lse: z(B * NH * T, 'lse'),
        r1: z(M * H, 'r1'), ln1: z(M * H, 'ln1'), mean1: z(M, 'mean1'), rstd1: z(M, 'rstd1'),
        f1: z(M * F, 'f1'), g: z(M * F, 'g'), r2: z(M * H, 'r2'), ln2: z(M * H, 'ln2'), mean2: z(M, 'mean2'), rstd2: z(M, 'rstd2'), xa, xd,
      });
    }
    const clsRows = this.gpu.buffer(Int32Array.from({ length: B }, (_, b) => b * T), `cls_rows[${key}]`);
    const acts: Acts = {
      B, T, M,
      ids: z(M, 'ids'), mask: z(M, 'mask'), types: z(M, 'types'), labels: z(M, 'labels'),
      embSum: z(M * H, 'emb'), embLn: z(M * H, 'emb_ln'), embMean: z(M, 'emb_mean'), embRstd: z(M, 'emb_rstd'), embDrop: z(M * H, 'emb_drop'),
      layers,
      sH1: z(M * H, 'sH1'), sH2: z(M * H, 'sH2'), dA: z(M * H, 'dA'), dB: z(M * H, 'dB'), dT: z(M * H, 'dT'),
      dF1: z(M * F, 'dF1'), dF2: z(M * F, 'dF2'), dq: z(M * H, 'dq'), dk: z(M * H, 'dk'), dv: z(M * H, 'dv'), datt: z(M * H, 'datt'),
      dxa: z(M * (this.lora?.r ?? 1), 'dxa'), clsRows,
      loraT1: z(this.lora && this.lora.dropout > 0 ? M * Math.max(H, F) : 1, 'lora_t1'), loraT2: z(this.lora && this.lora.dropout > 0 ? M * Math.max(H, F) : 1, 'lora_t2'), head: new Map(),
    };
    if (this.quantized) {
      // int8 inference: one row-quantised copy of a linear layer's input at a time (K ≤ max(H, F))
      acts.qx = z(M * Math.ceil(Math.max(H, F) / 4), 'int8_qx');
      acts.sx = z(M, 'int8_sx');
    }
    this.acts.set(key, acts);
    return acts;
  }

  /** @internal (HeadHost) */
  headActs(acts: Acts, name: string, sizes: Record<string, number>): Record<string, GPUBuffer> {
    let h = acts.head.get(name);
    if (!h) {
      h = {};
      acts.head.set(name, h);
    }
    // Sizes may vary per batch (the MLM head's logits follow the number of masked rows): a
    // buffer grows when a batch needs more than it holds, and is kept for later, smaller ones.
    for (const [k, n] of Object.entries(sizes)) {
      const bytes = Math.max(n, 1) * F32;
      if (h[k] && h[k].size >= bytes) continue;
      h[k]?.destroy();
      h[k] = this.gpu.zeros(bytes, `${name}.${k}[${acts.B}x${acts.T}]`);
    }
    return h;
  }

  /** A small f32/i32 buffer with these contents, cached by content (class weights, targets, rows). */
  /** @internal (HeadHost) */
  small(data: Float32Array | Int32Array, label: string): GPUBuffer {
    const key = `${label}:${data instanceof Int32Array ? 'i' : 'f'}:${Array.from(data).join(',')}`;
    let b = this.smallBuffers.get(key);
    if (!b) {
      b = this.gpu.buffer(data, label);
      this.smallBuffers.set(key, b);
    }
    return b;
  }

  /** The input of layer l (l = L: the final hidden states). */
  private xin(acts: Acts, l: number, embDropped: boolean): GPUBuffer {
    return l === 0 ? (embDropped ? acts.embDrop : acts.embLn) : acts.layers[l - 1].ln2;
  }

  /** A distinct dropout site per adapted linear layer. */
  private loraSite(name: string): number {
    let s = this.loraSites.get(name);
    if (s === undefined) {
      s = 5000 + this.loraSites.size;
      this.loraSites.set(name, s);
    }
    return s;
  }

  /**
   * Attention-probability dropout of layer l in training mode (null in eval mode or when p = 0).
   * Site 3000 + l: apart from hidden dropout (0, 1 + 2l, 2 + 2l), the heads (1000 + h) and LoRA
   * (5000 + i), so the masks are independent streams of the one dropout seed.
   */
  private attentionDrop(train: boolean, seed: number, step: number, l: number): AttentionDropout | null {
    const p = this.config.attentionDropout;
    return train && p > 0 ? { p, seed: this.dropSeed(seed, 3000 + l), step } : null;
  }

  /** @internal (HeadHost) */
  dropSeed(seed: number, site: number): number {
    return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(site + 1, 0x85ebca77)) >>> 0;
  }

  // ------------------------------------------------------------------------------ linear layers

  /** out = inp·Wᵀ (+ b) (+ LoRA), for the linear layer with HF name prefix `name`. */
  private linF(enc: StepEncoder, acts: Acts, l: number, name: string, out: Binding, inp: Binding, rows: number, K: number, N: number, bias = true): void {
    const q = this.int8Buffers.get(name);
    if (q) {
      // int8: quantise the input per row, then the integer matmul with the dequantising epilogue
      quantize_rows_int8(this.gpu, enc, acts.qx!, acts.sx!, inp, rows, K);
      int8_linear_forward(this.gpu, enc, out, acts.qx!, acts.sx!, q.q, q.s, bias ? this.param(`${name}.bias`) : null, rows, N, K);
      return;
    }
    linear_forward(this.gpu, enc, out, inp, this.param(`${name}.weight`), bias ? this.param(`${name}.bias`) : null, rows, N, K);
    const xa = l >= 0 ? acts.layers[l]?.xa.get(name) : undefined;
    if (xa && this.lora) {
      const r = this.lora.r;
      const xd = this.loraDrop ? acts.layers[l].xd.get(name) : undefined;
      if (xd && this.loraDrop) {
        dropout_forward(this.gpu, enc, xd, inp, rows * K, this.lora.dropout, this.dropSeed(this.loraDrop.seed, this.loraSite(name)), this.loraDrop.step);
        inp = xd;
      }
      lora_adapter_forward(this.gpu, enc, out, xa, inp, this.param(`${name}.lora_A.weight`), this.param(`${name}.lora_B.weight`), rows, N, K, r, this.lora.alpha / r);
    }
  }

  /** Backward of linF: dinp (overwritten, or += when accumulate) and the parameter gradients that train. */
  private linB(enc: StepEncoder, acts: Acts, l: number, name: string, dinp: Binding | null, dout: Binding, inp: Binding,
    rows: number, K: number, N: number, accumulate: boolean, bias = true): void {
    const dW = this.grad(`${name}.weight`);
    const db = bias ? this.grad(`${name}.bias`) : null;
    if (dinp || dW || db) linear_backward(this.gpu, enc, dinp, dW, db, dout, inp, this.param(`${name}.weight`), rows, N, K, accumulate);
    const xa = l >= 0 ? acts.layers[l]?.xa.get(name) : undefined;
    if (!xa || !this.lora) return;
    const r = this.lora.r, s = this.lora.alpha / r;
    const dA = this.grad(`${name}.lora_A.weight`), dBw = this.grad(`${name}.lora_B.weight`);
    // y += s·(x·Aᵀ)·Bᵀ (x: the input after LoRA dropout): dB, dA and the adapter's part of dinp.
    const xd = this.loraDrop ? acts.layers[l].xd.get(name) : undefined;
    const A = this.param(`${name}.lora_A.weight`), B = this.param(`${name}.lora_B.weight`);
    if (!dinp || !(xd && this.loraDrop)) {
      lora_adapter_backward(this.gpu, enc, dinp, dA, dBw, dout, xd ?? inp, xa, A, B, rows, N, K, r, s, true, acts.dxa);
      return;
    }
    // dinp += dropout_backward(dxa·A): the adapter's input gradient goes through the dropout mask first
    lora_adapter_backward(this.gpu, enc, acts.loraT1, dA, dBw, dout, xd, xa, A, B, rows, N, K, r, s, false, acts.dxa);
    dropout_backward(this.gpu, enc, acts.loraT2, acts.loraT1, rows * K, this.lora.dropout, this.dropSeed(this.loraDrop.seed, this.loraSite(name)), this.loraDrop.step);
    accumulateInto(this.gpu, enc, dinp, acts.loraT2, rows * K);
  }

  /** @internal (HeadHost) */
  lnF(enc: StepEncoder, name: string, out: Binding, mean: Binding, rstd: Binding, inp: Binding, rows: number): void {
    layernorm_forward(this.gpu, enc, out, mean, rstd, inp, this.param(`${name}.weight`), this.param(`${name}.bias`), rows, this.config.hiddenSize, this.config.layerNormEps);
  }

  /** @internal (HeadHost) */
  lnB(enc: StepEncoder, name: string, dinp: Binding, dout: Binding, inp: Binding, mean: Binding, rstd: Binding, rows: number): void {
    // frozen LayerNorm: its parameter gradients go to two scratch sinks (two bindings may not alias)
    layernorm_backward(this.gpu, enc, dinp, this.grad(`${name}.weight`) ?? this.sink, this.grad(`${name}.bias`) ?? this.sink2,
      dout, inp, this.param(`${name}.weight`), mean, rstd, rows, this.config.hiddenSize);
  }

  /** @internal (HeadHost) */
  get act(): GeluApproximate {
    return geluApproximate(this.config.hiddenAct);
  }

  // ------------------------------------------------------------------------------ forward

  /**
   * Record the forward pass of `batch` and the loss of heads[opts.head] (with its gradient when
   * opts.grad). Read the loss with readLoss() after the encoder is submitted.
   */
  forward(enc: StepEncoder, batch: ModelBatch, opts: ForwardOptions = {}): void {
    const cfg = this.config;
    validateBatch(batch, cfg.vocabSize, cfg.maxPositions, cfg.typeVocabSize);
    const train = opts.train ?? false;
    const grad = opts.grad ?? train;
    const headIndex = opts.head ?? 0;
    const head = this.heads[headIndex];
    if (!head) throw new Error(`BertModel.forward: opts.head = ${headIndex}, but the model has ${this.heads.length} heads`);
    if (this.quantized && (train || grad)) throw new Error('BertModel.forward: an int8 model runs inference only (train and grad must be false)');
    const seed = opts.seed ?? 0, step = opts.step ?? 0, lossScale = opts.lossScale ?? 1;
    if (!(lossScale > 0)) throw new Error(`BertModel.forward: lossScale must be > 0, got ${lossScale}`);
    const { B, T } = batch;
    const acts = this.activations(B, T);
    const gpu = this.gpu;
    this.checkOneBatchPerEncoder(enc, acts, batch, headIndex);
    gpu.write(acts.ids, batch.inputIds);
    gpu.write(acts.mask, batch.attentionMask);
    gpu.write(acts.types, batch.tokenTypeIds);
    const M = B * T, H = cfg.hiddenSize, L = cfg.numLayers;
    const lowest = this.lowestTrainableLayer;
    const p = cfg.hiddenDropout;

    // Frozen prefix: its output (the input of layer s) may come from the cache.
    const s = Math.min(Math.max(lowest, 0), L);
    const cacheKey = opts.cacheKey !== undefined && lowest >= 0 ? `${s}:${B}x${T}:${String(opts.cacheKey)}` : null;
    const cached = cacheKey ? this.prefixCache.get(cacheKey) : undefined;
    const embDropped = train && p > 0 && lowest <= -1;
    let first = 0;
    if (cached) {
      copy(gpu, enc, this.xin(acts, s, embDropped), cached, M * H);
      first = s;
    } else {
      const wtt = this.param('bert.embeddings.token_type_embeddings.weight');
      embedding_forward(gpu, enc, acts.embSum, acts.ids, acts.types, this.param('bert.embeddings.word_embeddings.weight'),
        this.param('bert.embeddings.position_embeddings.weight'), wtt, B, T, H, cfg.typeVocabSize);
      this.lnF(enc, 'bert.embeddings.LayerNorm', acts.embLn, acts.embMean, acts.embRstd, acts.embSum, M);
      if (embDropped) dropout_forward(gpu, enc, acts.embDrop, acts.embLn, M * H, p, this.dropSeed(seed, 0), step);
    }
    for (let l = first; l < L; l++) {
      if (cacheKey && !cached && l === s) this.saveCache(enc, cacheKey, this.xin(acts, s, embDropped), M * H);
      this.layerForward(enc, acts, l, this.xin(acts, l, embDropped), train && l >= lowest, seed, step);
    }
    if (cacheKey && !cached && s === L) this.saveCache(enc, cacheKey, this.xin(acts, L, embDropped), M * H);
    const hidden = this.xin(acts, L, embDropped);
    this.last = headForward(this, enc, acts, batch, hidden, headIndex, head, opts.loss ?? {}, { train, grad, seed, step, lossScale, lowest, distill: opts.distill });
    this.lastHidden = hidden;
    this.lastHook = opts.hiddenGrad ?? null;
  }

  /**
   * The batch is written to the GPU when forward() is called (queue.writeBuffer), not when the
   * encoder runs: a second forward of *another* batch of the same shape recorded into the same
   * encoder would overwrite the first one's inputs before either runs. Refuse that (the same batch
   * again, e.g. a second head on the same inputs, is fine).
   */
  private checkOneBatchPerEncoder(enc: StepEncoder, acts: Acts, batch: ModelBatch, head: number): void {
    const prev = this.recorded.get(acts);
    const same = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
    if (prev && prev.enc === enc) {
      const inputsDiffer = !same(prev.ids, batch.inputIds) || !same(prev.mask, batch.attentionMask) || !same(prev.types, batch.tokenTypeIds);
      const labelsDiffer = prev.heads.has(head) && !same(prev.heads.get(head)!, batch.labels);
      if (inputsDiffer || labelsDiffer) {
        throw new Error('BertModel.forward: another batch of the same shape was already recorded into this StepEncoder; ' +
          'submit it before recording the next batch (inputs are written to the GPU when forward() is called)');
      }
      prev.heads.set(head, batch.labels.slice());
      return;
    }
    this.recorded.set(acts, {
      enc, ids: batch.inputIds.slice(), mask: batch.attentionMask.slice(), types: batch.tokenTypeIds.slice(), heads: new Map([[head, batch.labels.slice()]]),
    });
  }

  private saveCache(enc: StepEncoder, key: string, src: GPUBuffer, n: number): void {
    const buf = this.gpu.zeros(n * F32, `prefix_cache:${key}`);
    copy(this.gpu, enc, buf, src, n);
    this.prefixCache.set(key, buf);
  }

  private layerForward(enc: StepEncoder, acts: Acts, l: number, x: GPUBuffer, train: boolean, seed: number, step: number): void {
    const gpu = this.gpu, cfg = this.config;
    const { B, T, M } = acts;
    const H = cfg.hiddenSize, F = cfg.intermediateSize, NH = cfg.numHeads, HS = H / NH;
    const a = acts.layers[l];
    const pre = `bert.encoder.layer.${l}`;
    const drop = train && cfg.hiddenDropout > 0;
    this.loraDrop = train && this.lora && this.lora.dropout > 0 ? { seed, step } : null;
    this.linF(enc, acts, l, `${pre}.attention.self.query`, a.q, x, M, H, H);
    this.linF(enc, acts, l, `${pre}.attention.self.key`, a.k, x, M, H, H);
    this.linF(enc, acts, l, `${pre}.attention.self.value`, a.v, x, M, H, H);
    attention_forward(gpu, enc, a.att, a.lse, a.q, a.k, a.v, acts.mask, B, T, NH, HS, this.attentionDrop(train, seed, step, l));
    this.linF(enc, acts, l, `${pre}.attention.output.dense`, acts.sH1, a.att, M, H, H);
    if (drop) dropout_forward(gpu, enc, acts.sH2, acts.sH1, M * H, cfg.hiddenDropout, this.dropSeed(seed, 1 + 2 * l), step);
    add_forward(gpu, enc, a.r1, drop ? acts.sH2 : acts.sH1, x, M * H);
    this.lnF(enc, `${pre}.attention.output.LayerNorm`, a.ln1, a.mean1, a.rstd1, a.r1, M);
    this.linF(enc, acts, l, `${pre}.intermediate.dense`, a.f1, a.ln1, M, H, F, false);
    bias_gelu_forward(gpu, enc, a.g, a.f1, this.param(`${pre}.intermediate.dense.bias`), M, F, this.act);
    this.linF(enc, acts, l, `${pre}.output.dense`, acts.sH1, a.g, M, F, H);
    if (drop) dropout_forward(gpu, enc, acts.sH2, acts.sH1, M * H, cfg.hiddenDropout, this.dropSeed(seed, 2 + 2 * l), step);
    add_forward(gpu, enc, a.r2, drop ? acts.sH2 : acts.sH1, a.ln1, M * H);
    this.lnF(enc, `${pre}.output.LayerNorm`, a.ln2, a.mean2, a.rstd2, a.r2, M);
    this.loraDrop = null;
  }

  // ------------------------------------------------------------------------------ backward

  /** Record the backward of the last forward (which must have had grad: true). */
  backward(enc: StepEncoder): void {
    const st = this.last;
    if (!st) throw new Error('BertModel.backward: call forward() first');
    if (!st.grad) throw new Error('BertModel.backward: the last forward() ran with grad: false');
    const lowest = st.lowest;
    const cfg = this.config, L = cfg.numLayers, acts = st.acts, gpu = this.gpu;
    const { B, T, M } = acts;
    const H = cfg.hiddenSize;
    if (lowest > L) return;
    const needHidden = lowest < L;
    // head backward → acts.dA = d loss / d hidden (when the encoder trains)
    headBackward(this, enc, st, needHidden ? acts.dA : null);
    if (this.lastHook) this.lastHook(enc, this.lastHidden!, needHidden ? acts.dA : null);
    if (!needHidden) return;
    const embDropped = st.train && cfg.hiddenDropout > 0 && lowest <= -1;
    const stop = Math.max(lowest, 0);
    for (let l = L - 1; l >= stop; l--) {
      const needDx = l > stop || lowest === -1;
      this.layerBackward(enc, acts, l, this.xin(acts, l, embDropped), st.train && l >= lowest, st.seed, st.step, needDx);
    }
    if (lowest !== -1) return;
    // embeddings: dropout, LayerNorm, then scatter into the three tables
    let dEmbLn = acts.dA;
    if (embDropped) {
      dropout_backward(gpu, enc, acts.dT, acts.dA, M * H, cfg.hiddenDropout, this.dropSeed(st.seed, 0), st.step);
      dEmbLn = acts.dT;
    }
    this.lnB(enc, 'bert.embeddings.LayerNorm', acts.dB, dEmbLn, acts.embSum, acts.embMean, acts.embRstd, M);
    const names = ['bert.embeddings.word_embeddings.weight', 'bert.embeddings.position_embeddings.weight', 'bert.embeddings.token_type_embeddings.weight'];
    if (names.some((n) => this.grad(n))) {
      const sinkFor = (n: string) => this.grad(n) ?? this.embeddingSink(n);
      embedding_backward(gpu, enc, sinkFor(names[0]), sinkFor(names[1]), sinkFor(names[2]), acts.dB, acts.ids, acts.types, B, T, H, cfg.vocabSize, cfg.typeVocabSize);
    }
  }

  /** Where a frozen embedding table's gradient goes when another table trains (one sink per table). */
  private readonly embSinks = new Map<string, GPUBuffer>();
  private embeddingSink(name: string): GPUBuffer {
    let b = this.embSinks.get(name);
    if (!b) {
      b = this.gpu.zeros(this.store.range(name).length * F32, `sink:${name}`);
      this.embSinks.set(name, b);
    }
    return b;
  }

  private layerBackward(enc: StepEncoder, acts: Acts, l: number, x: GPUBuffer, train: boolean, seed: number, step: number, needDx: boolean): void {
    const gpu = this.gpu, cfg = this.config;
    const { B, T, M } = acts;
    const H = cfg.hiddenSize, F = cfg.intermediateSize, NH = cfg.numHeads, HS = H / NH;
    const a = acts.layers[l];
    const pre = `bert.encoder.layer.${l}`;
    const drop = train && cfg.hiddenDropout > 0;
    this.loraDrop = train && this.lora && this.lora.dropout > 0 ? { seed, step } : null;
    // acts.dA holds d out; after this layer it holds d x (when needDx).
    this.lnB(enc, `${pre}.output.LayerNorm`, acts.dB, acts.dA, a.r2, a.mean2, a.rstd2, M); // dB = d r2
    let dF2out: GPUBuffer = acts.dB;
    if (drop) {
      dropout_backward(gpu, enc, acts.dT, acts.dB, M * H, cfg.hiddenDropout, this.dropSeed(seed, 2 + 2 * l), step);
      dF2out = acts.dT;
    }
    this.linB(enc, acts, l, `${pre}.output.dense`, acts.dF2, dF2out, a.g, M, F, H, false);
    bias_gelu_backward(gpu, enc, acts.dF1, this.grad(`${pre}.intermediate.dense.bias`) ?? this.sink, a.f1,
      this.param(`${pre}.intermediate.dense.bias`), acts.dF2, M, F, this.act);
    // residual: d ln1 = d r2 + (FFN path), accumulated into dB
    this.linB(enc, acts, l, `${pre}.intermediate.dense`, acts.dB, acts.dF1, a.ln1, M, H, F, true, false);
    this.lnB(enc, `${pre}.attention.output.LayerNorm`, acts.dA, acts.dB, a.r1, a.mean1, a.rstd1, M); // dA = d r1
    let dAo: GPUBuffer = acts.dA;
    if (drop) {
      dropout_backward(gpu, enc, acts.dT, acts.dA, M * H, cfg.hiddenDropout, this.dropSeed(seed, 1 + 2 * l), step);
      dAo = acts.dT;
    }
    this.linB(enc, acts, l, `${pre}.attention.output.dense`, acts.datt, dAo, a.att, M, H, H, false);
    // The same { p, seed, step } as the forward: the kernel recomputes the keep mask from it.
    attention_backward(gpu, enc, acts.dq, acts.dk, acts.dv, acts.datt, a.att, a.lse, a.q, a.k, a.v, acts.mask, B, T, NH, HS, this.attentionDrop(train, seed, step, l));
    // residual: d x = d r1 + the three projections, accumulated into dA
    const dx = needDx ? acts.dA : null;
    this.linB(enc, acts, l, `${pre}.attention.self.query`, dx, acts.dq, x, M, H, H, true);
    this.linB(enc, acts, l, `${pre}.attention.self.key`, dx, acts.dk, x, M, H, H, true);
    this.linB(enc, acts, l, `${pre}.attention.self.value`, dx, acts.dv, x, M, H, H, true);
    this.loraDrop = null;
  }

  // ------------------------------------------------------------------------------ read-back

  /** Mean loss of the last forward (after its encoder was submitted): Σ row losses / normalizer. */
  async readLoss(): Promise<number> {
    const st = this.last;
    if (!st) throw new Error('BertModel.readLoss: no forward yet');
    if (st.lossRows === 0 || st.normalizer === 0) return 0;
    const buf = this.lossBuffer(st);
    const rows = await this.gpu.read(buf, Float32Array, st.lossRows);
    let sum = 0;
    for (const v of rows) sum += v;
    return st.kind === 'cosine' ? sum / st.lossRows : sum / st.normalizer;
  }

  private lossBuffer(st: LastForward): GPUBuffer {
    const head = this.heads[st.head];
    const name = head.kind === 'mlm' ? 'mlm' : head.kind === 'embedding' ? 'emb' : `cls${st.head}`;
    return st.acts.head.get(name)!.losses;
  }

  /**
   * Logits of the last forward: mlm (masked rows in order, V) — only rows with a label ≠ −100 are
   * projected; seq_cls (B, numLabels); token_cls (B·T, numLabels); embedding: the sentence
   * embeddings (B, H) (normalised when the head normalises).
   */
  async readLogits(): Promise<{ data: Float32Array; rows: number; cols: number }> {
    const st = this.last;
    if (!st) throw new Error('BertModel.readLogits: no forward yet');
    if (!st.logits || st.logitRows === 0) return { data: new Float32Array(0), rows: 0, cols: st.logitCols };
    const data = await this.gpu.read(st.logits, Float32Array, st.logitRows * st.logitCols);
    return { data, rows: st.logitRows, cols: st.logitCols };
  }

  /**
   * Viterbi tags of the CRF head for the last forward (prediction; crfDecodeRecord in
   * bert_heads.ts): records the decoding into `enc`; after it is submitted, `read()` returns (B·T)
   * tags, the decoded tag at each of `positions[b]` in row b and −1 at every other token.
   */
  recordCrfDecode(enc: StepEncoder, positions: readonly (readonly number[])[]): { read(): Promise<Int32Array> } {
    const st = this.last;
    if (!st) throw new Error('BertModel.recordCrfDecode: no forward yet');
    const { path, seq } = crfDecodeRecord(this, enc, st, positions);
    const { B, T } = st.acts;
    return {
      read: async () => {
        const p = await this.gpu.read(path, Int32Array, B * seq.S);
        const out = new Int32Array(B * T).fill(-1);
        for (let b = 0; b < B; b++) {
          for (let s = 0; s < seq.lengths[b]; s++) out[seq.rows[b * seq.S + s]] = p[b * seq.S + s];
        }
        return out;
      },
    };
  }

  /**
   * The logits buffer of the last forward, on the device (a distillation teacher's logits are
   * handed to the student's forward this way, with no read-back). Valid until the next forward of
   * the same batch shape.
   */
  lastLogitsBuffer(): { buffer: GPUBuffer; rows: number; cols: number } {
    const st = this.last;
    if (!st || !st.logits) throw new Error('BertModel.lastLogitsBuffer: no forward with logits yet');
    return { buffer: st.logits, rows: st.logitRows, cols: st.logitCols };
  }

  /** The last forward's encoder output (B·T, H) on the device (a distillation teacher's hidden states). */
  lastHiddenBuffer(): GPUBuffer {
    if (!this.last || !this.lastHidden) throw new Error('BertModel.lastHiddenBuffer: no forward yet');
    return this.lastHidden;
  }

  /** Mean distillation loss (τ²·KL) of the last forward that had `distill` (after its encoder was submitted). */
  async readDistillLoss(): Promise<number> {
    const st = this.last;
    if (!st?.distillLosses || !st.normalizer) return Number.NaN;
    const rows = await this.gpu.read(st.distillLosses, Float32Array, st.lossRows);
    let sum = 0;
    for (const v of rows) sum += v;
    return sum / st.normalizer;
  }

  /** The last encoder layer's output (B·T, H) of the last forward. */
  async readHidden(): Promise<Float32Array> {
    const st = this.last;
    if (!st) throw new Error('BertModel.readHidden: no forward yet');
    const L = this.config.numLayers;
    const buf = L > 0 ? st.acts.layers[L - 1].ln2 : st.acts.embLn;
    return this.gpu.read(buf, Float32Array, st.acts.M * this.config.hiddenSize);
  }
}
