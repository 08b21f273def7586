// The GPU backend: BertModel (src/model/bert.ts) + the kernels' AdamW over the trainable ranges
// (gpu_adamw.ts).
//
// The usual optimizer step (one micro-batch, no EWC term) is one command buffer recorded by
// recordTrainStep (train_step.ts). With gradient accumulation each micro-batch's forward and
// backward is a command buffer of its own, submitted before the next batch's forward, because
// BertModel writes the batch's ids into its buffers when forward() is recorded; the optimizer step
// (grad norm, clipping, AdamW) follows in one more. The only read-backs are the loss (every
// logEvery steps: the last micro-batch's mean loss), evaluation logits and checkpoints.

import { openGpu, copy, fill, hasDot4I8Packed, type Gpu, type StepEncoder } from '@tunebench/kernels';
import { BertModel } from '../model/bert.js';
import { type ModelBatch } from '../model/index.js';
import { trainStepInParts, type MicroBatch, type Prediction, type PredictOptions, type StepHyper, type TrainBackend, type TrainStep } from './backend.js';
import type { AdamwRange } from './ranges.js';
import type { OptimizerConfig } from './optimizer.js';
import type { BackendArgs } from './loop.js';
import { ewc_fisher_accumulate, ewc_penalty_backward } from './ewc.js';
import { GpuAdamW } from './gpu_adamw.js';
import { recordTrainStep, trainingForward } from './train_step.js';

const F32 = 4;

export class GpuBackend implements TrainBackend {
  readonly model: BertModel;
  readonly adamw: GpuAdamW;
  readonly device: string;
  private fisher: GPUBuffer | null = null;
  private anchor: GPUBuffer | null = null;
  private pending: StepEncoder | null = null;
  private readonly N: number;

  constructor(readonly gpu: Gpu, readonly a: BackendArgs, private readonly ownsGpu: boolean) {
    this.model = new BertModel(gpu, a.config, a.heads, a.store, { lora: a.lora, int8: a.int8 });
    this.N = a.store.totalSize;
    this.adamw = new GpuAdamW(gpu, this.N);
    const info = gpu.adapterInfo;
    this.device = `webgpu: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ')}${a.int8 ? ` (int8 linear layers, ${hasDot4I8Packed(gpu) ? 'dot4I8Packed' : 'extractBits fallback'})` : ''}`;
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

  async trainStep(s: TrainStep): Promise<void> {
    if (s.micro.length !== 1 || s.ewcLambda !== null) return trainStepInParts(this, s);
    recordTrainStep(this.enc(), this.model, this.adamw, s.micro[0], s, this.a.loss);
    await this.flush();
  }

  zeroGrads(): void {
    this.model.zeroGrads(this.enc());
  }

  async accumulate(batch: ModelBatch, o: Omit<MicroBatch, 'batch'>): Promise<void> {
    const enc = this.enc();
    this.model.forward(enc, batch, trainingForward(o, this.a.loss));
    this.model.backward(enc);
    await this.flush();
  }

  async readLoss(): Promise<number> {
    await this.flush();
    return this.model.readLoss();
  }

  async readGradients(): Promise<Float32Array> {
    await this.flush();
    return this.model.readGrads();
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

  async step(ranges: readonly AdamwRange[], hyper: StepHyper, optimizer: OptimizerConfig): Promise<void> {
    if (ranges.length === 0) return;
    this.adamw.record(this.enc(), this.model, { ranges, hyper, optimizer });
    await this.flush();
  }

  async predict(batch: ModelBatch, o: PredictOptions = {}): Promise<Prediction> {
    const hasLabels = batch.labels.some((l) => l !== -100);
    // (a CRF head keeps the −100s: its sequences are the labelled tokens, and a dummy gold path of
    // label 0 could be one its BIO constraints forbid)
    const crfHead = this.heads[0].kind === 'token_cls' && this.heads[0].crf !== undefined;
    const b = hasLabels || this.heads[0].kind === 'mlm' || crfHead ? batch : { ...batch, labels: new Int32Array(batch.labels.length) };
    const enc = this.enc();
    this.model.forward(enc, b, { train: false, grad: false });
    // a CRF head decodes on the device (crf_viterbi) in the same submit
    const decode = crfHead && o.crfPositions ? this.model.recordCrfDecode(enc, o.crfPositions) : null;
    await this.flush();
    const logits = await this.model.readLogits();
    const loss = hasLabels ? await this.model.readLoss() : Number.NaN;
    if (!decode) return { logits: logits.data, loss };
    return { logits: logits.data, loss, crfPaths: await decode.read() };
  }

  async sync(): Promise<{ m: Float32Array; v: Float32Array }> {
    await this.flush();
    await this.model.download();
    return this.adamw.read();
  }

  load(m?: Float32Array, v?: Float32Array): void {
    this.model.upload();
    this.adamw.load(m, v);
  }

  destroy(): void {
    this.model.destroy();
    this.adamw.destroy();
    for (const b of [this.fisher, this.anchor]) b?.destroy();
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
