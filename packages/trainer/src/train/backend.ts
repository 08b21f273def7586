// What the training loop needs from a model, and the float64 CPU backend.
//
// The loop (loop.ts) is written against TrainBackend so the same code drives the GPU model
// (gpu_backend.ts: BertModel + the AdamW kernel) and the float64 reference model (this file),
// which is exact and slow: it runs the loop's own tests (resume equivalence, strategies, CLI) at
// tiny sizes without depending on GPU numerics, and serves as the spec of one training step.
//
// One optimizer step = zeroGrads → accumulate × gradAccumSteps → (EWC term) → step(ranges, ...):
// trainStep() runs all of it (trainStepInParts below; the GPU backend records the usual step,
// one micro-batch and no EWC term, into one command buffer with recordTrainStep).

import type { BertConfig, HeadSpec, LoraConfig, LossOptions, ModelBatch, ParamStore } from '../model/index.js';
import { bertReference, crfAllowed, crfDecode, crfParamName, quantizeModel, toParams64, type QuantizedLinears } from '../model/index.js';
import { groupRangesByStep, type AdamwRange } from './ranges.js';
import { adamwRangesReference, clipCoefficient, gradNormSquaredReference, type OptimizerConfig } from './optimizer.js';
import { ewc_fisher_accumulate_reference, ewc_penalty_backward_reference } from './ewc.js';
import type { AdamWStep } from './gpu_adamw.js';

export interface StepHyper {
  lr: number;
  /** Optimizer step counting from 1 (bias correction). */
  step: number;
  /** 1 / gradAccumSteps. */
  gradScale: number;
}

/** One micro-batch of a training step, with the dropout seed and the loop's step that key its dropout. */
export interface MicroBatch {
  batch: ModelBatch;
  dropoutSeed: number;
  /** The loop's step (from 0): with dropoutSeed, the key of the dropout masks. */
  step: number;
  /** Same key = same batch: the frozen prefix's output may be cached under it. */
  cacheKey?: string;
}

/** One optimizer step: the micro-batches whose gradients add up, the EWC weight (null: none), then AdamW. */
export interface TrainStep extends AdamWStep {
  micro: MicroBatch[];
  ewcLambda: number | null;
  optimizer: OptimizerConfig;
}

export interface Prediction {
  /** seq_cls: (B, numLabels); token_cls: (B·T, numLabels); mlm: (rows, V) for the masked rows only; embedding: (B, H). */
  logits: Float32Array;
  /** Mean loss of the batch (NaN when the batch has no labels). */
  loss: number;
  /**
   * token_cls with a CRF, when `crfPositions` were given: (B·T) Viterbi tags, the best allowed path
   * over each row's positions (crf_head.ts) at those tokens and −1 at every other token.
   */
  crfPaths?: Int32Array;
}

export interface PredictOptions {
  /** A CRF head's sequences to decode: per row, the tokens in order (crfPositions). */
  crfPositions?: readonly (readonly number[])[];
}

export interface TrainBackend {
  readonly store: ParamStore;
  readonly config: BertConfig;
  readonly heads: HeadSpec[];
  /** Human-readable device, e.g. 'cpu float64 reference' or the adapter description. */
  readonly device: string;
  /** Which parameters get gradients (the strategy plan's trainable set); frozen layers below the lowest trainable one run in eval mode. */
  setTrainable(names: readonly string[]): void;
  zeroGrads(): void;
  /** One optimizer step (zeroGrads → accumulate each micro-batch → EWC term → step), no read-back. */
  trainStep(s: TrainStep): Promise<void>;
  /** Forward + backward of one micro-batch; parameter gradients are ADDED; the loss is accumulated for readLoss. */
  accumulate(batch: ModelBatch, opts: Omit<MicroBatch, 'batch'>): Promise<void>;
  /** Mean of the micro-batch losses accumulated since the last call (waits for the device). */
  readLoss(): Promise<number>;
  /** The parameter gradients of the last step, flat in the store's layout (waits for the device). */
  readGradients(): Promise<Float32Array | Float64Array>;
  /** EWC: add λ·F·(θ − θ*) to the gradients. */
  addEwcGradient(lambda: number): Promise<void>;
  /** EWC: start a Fisher estimate (θ* := current weights, F := 0). */
  beginFisher(): void;
  /** EWC: F += scale · grads² (call after accumulate on a general-data batch). */
  accumulateFisher(scale: number): Promise<void>;
  /** AdamW on the ranges (clipping by the global norm over all of them; per-range step counts); no read-back. */
  step(ranges: readonly AdamwRange[], hyper: StepHyper, o: OptimizerConfig): Promise<void>;
  /** Forward only, eval mode. */
  predict(batch: ModelBatch, opts?: PredictOptions): Promise<Prediction>;
  /** Weights (store.data) and optimizer moments to the host. */
  sync(): Promise<{ m: Float32Array; v: Float32Array }>;
  /** Replace weights (from store.data) and moments (resume / load). */
  load(m?: Float32Array, v?: Float32Array): void;
  destroy(): void;
}

/** One optimizer step through a backend's parts: zeroGrads → accumulate per micro-batch → EWC term → AdamW. */
export async function trainStepInParts(b: TrainBackend, s: TrainStep): Promise<void> {
  b.zeroGrads();
  for (const m of s.micro) await b.accumulate(m.batch, m);
  if (s.ewcLambda !== null) await b.addEwcGradient(s.ewcLambda);
  await b.step(s.ranges, s.hyper, s.optimizer);
}

/** The float64 reference model as a backend (no dropout: the reference runs in eval mode). */
export class ReferenceBackend implements TrainBackend {
  readonly device = 'cpu (float64 reference model; no dropout)';
  private grads: Float64Array;
  private m: Float32Array;
  private v: Float32Array;
  private lossSum = 0;
  private lossCount = 0;
  private fisher: Float64Array | null = null;
  private anchor: Float32Array | null = null;

  constructor(
    readonly config: BertConfig,
    readonly heads: HeadSpec[],
    readonly store: ParamStore,
    readonly lora: LoraConfig | null = null,
    readonly loss: LossOptions = {},
    /** INT8 inference (predict only): true = quantise the store's weights at the first predict, or these quantised weights. */
    private int8: boolean | QuantizedLinears = false,
  ) {
    this.grads = new Float64Array(store.totalSize);
    this.m = new Float32Array(store.totalSize);
    this.v = new Float32Array(store.totalSize);
  }

  setTrainable(): void {
    // The reference computes every gradient; AdamW's ranges decide what moves.
  }

  trainStep(s: TrainStep): Promise<void> {
    return trainStepInParts(this, s);
  }

  zeroGrads(): void {
    this.grads.fill(0);
  }

  async accumulate(batch: ModelBatch): Promise<void> {
    if (this.int8 !== false) throw new Error('ReferenceBackend: an int8 backend runs inference only');
    const r = bertReference(this.config, this.heads, toParams64(this.store), batch, { lora: this.lora, loss: this.loss });
    for (const [name, g] of r.grads!) {
      const off = this.store.range(name).offset;
      for (let i = 0; i < g.length; i++) this.grads[off + i] += g[i];
    }
    this.lossSum += r.loss;
    this.lossCount++;
  }

  async readGradients(): Promise<Float64Array> {
    return this.grads;
  }

  async readLoss(): Promise<number> {
    const l = this.lossCount ? this.lossSum / this.lossCount : Number.NaN;
    this.lossSum = 0;
    this.lossCount = 0;
    return l;
  }

  beginFisher(): void {
    this.fisher = new Float64Array(this.store.totalSize);
    this.anchor = this.store.data.slice();
  }

  async accumulateFisher(scale: number): Promise<void> {
    if (!this.fisher) throw new Error('accumulateFisher before beginFisher');
    ewc_fisher_accumulate_reference(this.fisher, this.grads, this.store.totalSize, scale);
  }

  async addEwcGradient(lambda: number): Promise<void> {
    if (!this.fisher || !this.anchor) throw new Error('EWC gradient before a Fisher estimate');
    ewc_penalty_backward_reference(this.grads, this.store.data, this.anchor, this.fisher, this.store.totalSize, lambda);
  }

  async step(ranges: readonly AdamwRange[], h: StepHyper, o: OptimizerConfig): Promise<void> {
    // One global norm over every trainable range, then Adam per group of equal step counts.
    const norm = Math.sqrt(gradNormSquaredReference(this.grads, ranges)) * h.gradScale;
    const clip = clipCoefficient(norm, o.maxGradNorm);
    for (const [t, group] of groupRangesByStep(ranges, h.step)) {
      adamwRangesReference(this.store.data, this.grads, this.m, this.v, group, t, h.lr, o, h.gradScale * clip);
    }
  }

  async predict(batch: ModelBatch, o: PredictOptions = {}): Promise<Prediction> {
    const hasLabels = batch.labels.some((l) => l !== -100);
    // Unlabelled rows (predict): score against label 0 and drop the loss.
    // (a CRF head keeps the −100s: its sequences are the labelled tokens, and a dummy gold path of
    // label 0 could be one its BIO constraints forbid)
    const crfHead = this.heads[0].kind === 'token_cls' && this.heads[0].crf !== undefined;
    const b = hasLabels || this.heads[0].kind === 'mlm' || crfHead ? batch : { ...batch, labels: new Int32Array(batch.labels.length) };
    if (this.int8 === true) this.int8 = quantizeModel(this.config, this.store);
    const int8 = this.int8 === false ? null : this.int8;
    const r = bertReference(this.config, this.heads, toParams64(this.store), b, { lora: this.lora, loss: this.loss, grads: false, int8 });
    const logits = Float32Array.from(r.logits);
    const head = this.heads[0];
    if (head.kind !== 'token_cls' || !head.crf || !o.crfPositions) return { logits, loss: hasLabels ? r.loss : Number.NaN };
    // Viterbi on the host in float64 (the GPU backend runs crf_viterbi)
    const K = head.numLabels, T = batch.T, crf = this.store.get(crfParamName(this.heads, 0)), allowed = crfAllowed(head.crf);
    const crfPaths = new Int32Array(batch.B * T).fill(-1);
    o.crfPositions.forEach((positions, b) => {
      const path = crfDecode(logits.subarray(b * T * K, (b + 1) * T * K), positions, crf, allowed, K);
      positions.forEach((t, s) => (crfPaths[b * T + t] = path[s]));
    });
    return { logits, loss: hasLabels ? r.loss : Number.NaN, crfPaths };
  }

  async sync(): Promise<{ m: Float32Array; v: Float32Array }> {
    return { m: this.m.slice(), v: this.v.slice() };
  }

  load(m?: Float32Array, v?: Float32Array): void {
    if (m) this.m.set(m);
    if (v) this.v.set(v);
  }

  destroy(): void {}
}
