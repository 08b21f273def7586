// The GPU backend: BertModel (src/model/bert.ts) + the kernels' AdamW over the trainable ranges.
//
// Per micro-batch one command buffer: (zero grads,) forward, backward — submitted before the next
// batch's forward, because BertModel writes the batch's ids into its buffers when forward() is
// recorded. The optimizer step (grad norm, clipping, AdamW) is one more command buffer; its
// hyper-parameters (lr from the schedule, bias corrections) go into a small storage buffer, so no
// pipeline or uniform changes between steps. The only read-backs are the loss (every logEvery
// steps: the last micro-batch's mean loss), evaluation logits and checkpoints.

import { openGpu, adamw_hyperparameters, adamw_update, grad_norm_squared, copy, fill, ADAMW_HYPER_WORDS, type Gpu, type StepEncoder } from '@tunebench/kernels';
import { BertModel } from '../model/bert.js';
import type { ModelBatch } from '../model/index.js';
import type { Prediction, StepHyper, TrainBackend } from './backend.js';
import { groupRangesByStep, type AdamwRange } from './ranges.js';
import type { OptimizerConfig } from './optimizer.js';
import type { BackendArgs } from './loop.js';
import { ewc_fisher_accumulate, ewc_penalty_backward } from './ewc.js';

const F32 = 4;

export class GpuBackend implements TrainBackend {
  readonly model: BertModel;
  readonly device: string;
  private readonly m: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly hyper: GPUBuffer;
  private readonly norm: GPUBuffer;
  private fisher: GPUBuffer | null = null;
  private anchor: GPUBuffer | null = null;
  private pending: StepEncoder | null = null;
  private readonly N: number;

  constructor(readonly gpu: Gpu, readonly a: BackendArgs, private readonly ownsGpu: boolean) {
    this.model = new BertModel(gpu, a.config, a.heads, a.store, { lora: a.lora });
    this.N = a.store.totalSize;
    this.m = gpu.zeros(this.N * F32, 'adamw.m');
    this.v = gpu.zeros(this.N * F32, 'adamw.v');
    this.hyper = gpu.zeros(Math.max(ADAMW_HYPER_WORDS, 16) * F32, 'adamw.hyper');
    this.norm = gpu.zeros(64 * F32, 'adamw.grad_norm_sq');
    const info = gpu.adapterInfo;
    this.device = `webgpu: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ')}`;
  }

  get store() {
    return this.a.store;
  }
  get config() {
    return this.a.config;
  }
  get heads() {
    return this.a.heads;
  }

  private enc(): StepEncoder {
    return (this.pending ??= this.gpu.encoder('train_step'));
  }

  private async flush(): Promise<void> {
    const e = this.pending;
    this.pending = null;
    if (e) await e.submit();
  }

  setTrainable(names: readonly string[]): void {
    this.model.setTrainable(names);
  }

  zeroGrads(): void {
    this.model.zeroGrads(this.enc());
  }

  async accumulate(batch: ModelBatch, o: { dropoutSeed: number; step: number; cacheKey?: string }): Promise<void> {
    const enc = this.enc();
    this.model.forward(enc, batch, { train: true, seed: o.dropoutSeed, step: o.step, loss: this.a.loss, cacheKey: o.cacheKey });
    this.model.backward(enc);
    await this.flush();
  }

  async readLoss(): Promise<number> {
    await this.flush();
    return this.model.readLoss();
  }

  beginFisher(): void {
    this.fisher ??= this.gpu.zeros(this.N * F32, 'ewc.fisher');
    this.anchor ??= this.gpu.zeros(this.N * F32, 'ewc.anchor');
    const enc = this.enc();
    fill(this.gpu, enc, this.fisher, 0, this.N);
    copy(this.gpu, enc, this.anchor, this.model.params, this.N);
  }

  async accumulateFisher(scale: number): Promise<void> {
    if (!this.fisher) throw new Error('accumulateFisher before beginFisher');
    ewc_fisher_accumulate(this.gpu, this.enc(), this.fisher, this.model.grads, this.N, scale);
    await this.flush();
  }

  async addEwcGradient(lambda: number): Promise<void> {
    if (!this.fisher || !this.anchor) throw new Error('EWC gradient before a Fisher estimate');
    ewc_penalty_backward(this.gpu, this.enc(), this.model.grads, this.model.params, this.anchor, this.fisher, this.N, lambda);
  }

  async step(ranges: readonly AdamwRange[], h: StepHyper, o: OptimizerConfig): Promise<void> {
    if (ranges.length === 0) return;
    const clip = o.maxGradNorm > 0 && Number.isFinite(o.maxGradNorm);
    const groups = groupRangesByStep(ranges, h.step);
    const enc = this.enc();
    // The clipping norm is global: over every trainable range, whatever its step count.
    if (clip) grad_norm_squared(this.gpu, enc, this.norm, this.model.grads, [...groups.values()].flat().sort((a, b) => a.offset - b.offset));
    let i = 0;
    for (const [t, group] of groups) {
      const hyper = this.hyperBuffer(i++);
      this.gpu.write(hyper, adamw_hyperparameters({ lr: h.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, step: t, maxGradNorm: clip ? o.maxGradNorm : 0, gradScale: h.gradScale }));
      adamw_update(this.gpu, enc, this.model.params, this.model.grads, this.m, this.v, hyper, clip ? this.norm : null, group);
    }
    await this.flush();
  }

  private readonly hypers: GPUBuffer[] = [];
  private hyperBuffer(i: number): GPUBuffer {
    if (i === 0) return this.hyper;
    while (this.hypers.length < i) this.hypers.push(this.gpu.zeros(Math.max(ADAMW_HYPER_WORDS, 16) * F32, `adamw.hyper${this.hypers.length + 1}`));
    return this.hypers[i - 1];
  }

  async predict(batch: ModelBatch): Promise<Prediction> {
    const hasLabels = batch.labels.some((l) => l !== -100);
    const b = hasLabels || this.heads[0].kind === 'mlm' ? batch : { ...batch, labels: new Int32Array(batch.labels.length) };
    this.model.forward(this.enc(), b, { train: false, grad: false });
    await this.flush();
    const logits = await this.model.readLogits();
    return { logits: logits.data, loss: hasLabels ? await this.model.readLoss() : Number.NaN };
  }

  async sync(): Promise<{ m: Float32Array; v: Float32Array }> {
    await this.flush();
    await this.model.download();
    const m = await this.gpu.read(this.m, Float32Array, this.N);
    const v = await this.gpu.read(this.v, Float32Array, this.N);
    return { m, v };
  }

  load(m?: Float32Array, v?: Float32Array): void {
    this.model.upload();
    this.gpu.write(this.m, m ?? new Float32Array(this.N));
    this.gpu.write(this.v, v ?? new Float32Array(this.N));
  }

  destroy(): void {
    this.model.destroy();
    for (const b of [this.m, this.v, this.hyper, this.norm, this.fisher, this.anchor, ...this.hypers]) b?.destroy();
    if (this.ownsGpu) this.gpu.destroy();
  }
}

let shared: Gpu | null = null;

/** A GPU backend on the process's device (opened once; kept for the process's life). */
export async function createGpuBackend(a: BackendArgs): Promise<TrainBackend> {
  shared ??= await openGpu();
  return new GpuBackend(shared, a, false);
}

/** Destroy the shared device (the CLI calls this when a command ends, so the process can exit). */
export function closeSharedGpu(): void {
  shared?.destroy();
  shared = null;
}
