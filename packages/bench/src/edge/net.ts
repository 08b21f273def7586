// One encoder with one head per task on the WebGPU model (BertModel), and what the edge phase does
// with it: train it on several tasks (hard parameter sharing), optionally distilling a teacher's
// classifier logits; score each task; time inference; write it to disk.
//
// A training step (trainNet) samples ONE task (by its share), collates a batch of that task, and
// records into one command encoder: zero grads → (teacher forward, eval mode, the same head) →
// student forward of that task's head with lossScale = the task's weight (and the distillation
// mix on classifier heads: bert_heads.ts DistillSpec / kernels distill_kl) → backward through the
// shared encoder → AdamW over every parameter. Heads of the other tasks get no gradient that step
// (zero), so AdamW's weight decay and moments still move them a little — as in PyTorch, where a
// multi-task step with one task's loss leaves the others' .grad at zero.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  BertModel, bertConfigFromHf, deriveSeed, EpochSampler, evaluateExamples, gaussian, GpuAdamW, hfConfig, initParams, learningRate, loadWeights, makeConfig,
  mulberry32, paramSpecs, ParamStore, readCheckpoint, WordPieceTokenizer, writeCheckpoint,
  type AdamwRange, type BertConfig, type HeadSpec, type ModelBatch, type TrainBackend,
} from '@tunebench/trainer';
import { fill, linear_backward, linear_forward, masked_mse, type Gpu, type StepEncoder } from '@tunebench/kernels';
import type { ModelSpec, TrainingSpec } from './config.js';
import type { TaskData } from './tasks.js';

export interface EdgeNet {
  gpu: Gpu;
  config: BertConfig;
  heads: HeadSpec[];
  store: ParamStore;
  model: BertModel;
  adamw: GpuAdamW;
  /** Where its initial weights came from (said in the log and metrics). */
  init: string;
}

/** Head tensors of a checkpoint that a fresh multi-task model does not take (the MLM head, other classifiers). */
const isHeadTensor = (n: string) => n.startsWith('cls.') || n.startsWith('classifier') || n.startsWith('heads.') || n.startsWith('crf');

/** The tokenizer of a checkpoint directory (its vocab.txt; lower-casing as it was trained). */
export function tokenizerOf(dir: string): { tok: WordPieceTokenizer; ckptConfig: Record<string, unknown> } {
  const ck = readCheckpoint(dir);
  if (!ck.vocab) throw new Error(`${dir} has no vocab.txt`);
  const tb = ck.config.tunebench as { tokenizer?: { lowercase?: boolean }; lora?: unknown } | undefined;
  if (tb?.lora) throw new Error(`${dir}: a LoRA checkpoint; the edge suite needs a plain encoder (merge the adapter first)`);
  const config = bertConfigFromHf(ck.config, join(dir, 'config.json')) as BertConfig;
  return { tok: WordPieceTokenizer.fromVocab(ck.vocab, { lowercase: tb?.tokenizer?.lowercase ?? true, source: join(dir, 'vocab.txt'), modelMaxLength: config.maxPositions }), ckptConfig: ck.config };
}

/**
 * A model for `heads` from `spec`: the checkpoint's encoder weights (heads freshly initialised),
 * or (fromScratch) seeded random weights of `spec.shape` with the checkpoint's vocabulary size.
 */
export function openNet(gpu: Gpu, spec: ModelSpec, heads: HeadSpec[], seed: number, where: string): EdgeNet {
  const ck = readCheckpoint(spec.init);
  const base = bertConfigFromHf(ck.config, join(spec.init, 'config.json')) as BertConfig;
  const shape = spec.shape ?? { numLayers: base.numLayers, hiddenSize: base.hiddenSize, numHeads: base.numHeads, intermediateSize: base.intermediateSize };
  const same = shape.numLayers === base.numLayers && shape.hiddenSize === base.hiddenSize && shape.numHeads === base.numHeads && shape.intermediateSize === base.intermediateSize;
  if (!same && !spec.fromScratch) {
    throw new Error(`${where}: shape L${shape.numLayers} H${shape.hiddenSize} differs from ${spec.init} (L${base.numLayers} H${base.hiddenSize}); ` +
      'set fromScratch: true to train that shape from random weights with its vocabulary');
  }
  const config = makeConfig(shape, base.vocabSize, { maxPositions: base.maxPositions, typeVocabSize: base.typeVocabSize, hiddenAct: base.hiddenAct, layerNormEps: base.layerNormEps });
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, seed, config.initializerRange);
  if (!spec.fromScratch) {
    // The encoder from the checkpoint; the heads (and a pooler the checkpoint lacks) start fresh.
    loadWeights(store, ck.weights, { source: spec.init, allowMissing: (n) => !n.startsWith('bert.') || n.startsWith('bert.pooler.'), allowUnexpected: isHeadTensor });
  }
  const model = new BertModel(gpu, config, heads, store);
  model.setTrainable(() => true);
  return { gpu, config, heads, store, model, adamw: new GpuAdamW(gpu, store.totalSize), init: spec.fromScratch ? `random (seed ${seed}), vocabulary of ${spec.init}` : spec.init };
}

export function closeNet(n: EdgeNet): void {
  n.model.destroy();
  n.adamw.destroy();
}

export interface Teacher {
  net: EdgeNet;
  temperature: number;
  kdWeight: number;
  ceWeight: number;
  /** Hidden-state distillation through a learned projection (null: logits only). */
  hidden: HiddenProjection | null;
}

/**
 * Hidden-state distillation (TinyBERT's hidden loss, on the last layer): the student's last hidden
 * states h_s (M, H_s) through a learned projection W (H_t × H_s, no bias) against the teacher's
 * h_t (M, H_t): weight · mean over real tokens and features of (W h_s − h_t)² (masked_mse). Its
 * gradient is added to the student's d hidden (BertModel's hiddenGrad hook) and to dW; W has its
 * own AdamW state and is not part of the deployed model.
 */
export class HiddenProjection {
  readonly W: GPUBuffer;
  readonly dW: GPUBuffer;
  readonly adamw: GpuAdamW;
  private readonly scratch = new Map<number, { proj: GPUBuffer; dproj: GPUBuffer; losses: GPUBuffer; mask: GPUBuffer }>();
  private last: { losses: GPUBuffer; rows: number; normalizer: number } | null = null;

  constructor(readonly gpu: Gpu, readonly Hs: number, readonly Ht: number, readonly weight: number, seed: number) {
    const g = gaussian(mulberry32(seed));
    // Xavier-like scale so W h_s starts at the size of h (LayerNorm outputs, ~unit variance)
    const w = Float32Array.from({ length: Ht * Hs }, () => g() / Math.sqrt(Hs));
    this.W = gpu.buffer(w, 'edge.hidden_proj');
    this.dW = gpu.zeros(Ht * Hs * 4, 'edge.hidden_proj.grad');
    this.adamw = new GpuAdamW(gpu, Ht * Hs);
  }

  private buffers(M: number) {
    let b = this.scratch.get(M);
    if (!b) {
      b = { proj: this.gpu.zeros(M * this.Ht * 4), dproj: this.gpu.zeros(M * this.Ht * 4), losses: this.gpu.zeros(M * 4), mask: this.gpu.zeros(M * 4) };
      this.scratch.set(M, b);
    }
    return b;
  }

  /** The student's hiddenGrad hook for one batch (attention mask of its rows) against the teacher's hidden states; zeroes dW first. */
  hook(enc: StepEncoder, teacherHidden: GPUBuffer, mask: Int32Array, lossScale: number): (enc: StepEncoder, hidden: GPUBuffer, dHidden: GPUBuffer | null) => void {
    const M = mask.length, { Hs, Ht, gpu } = this;
    const b = this.buffers(M);
    gpu.write(b.mask, mask);
    fill(gpu, enc, this.dW, 0, Ht * Hs);
    let real = 0;
    for (const m of mask) real += m !== 0 ? 1 : 0;
    const normalizer = Math.max(1, real) * Ht;
    this.last = { losses: b.losses, rows: M, normalizer };
    return (e, hidden, dHidden) => {
      linear_forward(gpu, e, b.proj, hidden, this.W, null, M, Ht, Hs);
      masked_mse(gpu, e, b.losses, b.dproj, b.proj, teacherHidden, b.mask, M, Ht, { normalizer, weight: this.weight * lossScale });
      linear_backward(gpu, e, dHidden, this.dW, null, b.dproj, hidden, this.W, M, Ht, Hs, true);
    };
  }

  /** Mean hidden-state MSE of the last batch (after its encoder was submitted). */
  async readLoss(): Promise<number> {
    if (!this.last) return Number.NaN;
    const l = await this.gpu.read(this.last.losses, Float32Array, this.last.rows);
    return l.reduce((a, b) => a + b, 0) / this.last.normalizer;
  }

  destroy(): void {
    for (const b of [this.W, this.dW, ...[...this.scratch.values()].flatMap((s) => [s.proj, s.dproj, s.losses, s.mask])]) b.destroy();
    this.adamw.destroy();
  }
}

export interface TrainReport {
  steps: number;
  /** Real (non-padding) tokens the model read, per task and in all. */
  tokens: number;
  tokensByTask: Record<string, number>;
  stepsByTask: Record<string, number>;
  /** (step, task, loss [, distillation loss] [, hidden-state MSE]) every logEvery steps. */
  history: { step: number; task: string; loss: number; kd?: number; hidden?: number }[];
  wallTimeS: number;
}

/** Pick an index by probabilities `p` with a uniform draw u ∈ [0, 1). */
export function pickByShare(p: readonly number[], u: number): number {
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i];
    if (u < acc) return i;
  }
  return p.length - 1;
}

function realTokens(b: ModelBatch): number {
  let n = 0;
  for (let i = 0; i < b.attentionMask.length; i++) n += b.attentionMask[i];
  return n;
}

/**
 * Train `net` for `steps` optimizer steps on `tasks` (head i = tasks[i]), one task per step drawn
 * with probabilities `shares` (a seeded stream), AdamW with linear warmup/decay and clipping at 1.
 * `teacher`: distil its logits on the seq_cls / token_cls heads (its heads must be the same tasks).
 */
export async function trainNet(net: EdgeNet, tasks: TaskData[], shares: number[], steps: number, t: TrainingSpec, seed: number,
  o: { teacher?: Teacher | null; log?: (l: string) => void; logEvery?: number } = {}): Promise<TrainReport> {
  if (tasks.length !== net.heads.length || shares.length !== tasks.length) throw new Error(`trainNet: ${tasks.length} tasks, ${net.heads.length} heads, ${shares.length} shares`);
  const teacher = o.teacher ?? null;
  if (teacher && teacher.net.heads.some((h, i) => h.kind !== net.heads[i]!.kind)) throw new Error('trainNet: the teacher\'s heads are not the student\'s tasks');
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const logEvery = o.logEvery ?? Math.max(1, Math.floor(steps / 10));
  const draw = mulberry32(deriveSeed(seed, 0x7a5c));
  const samplers = tasks.map((d, i) => new EpochSampler(d.train.length, deriveSeed(seed, 0x5a3 + i)));
  const { store } = net;
  const ranges: AdamwRange[] = store.specs.map((s) => ({ ...store.range(s.name), weightDecay: s.noDecay ? 0 : t.weightDecay, lrScale: 1 }));
  const sched = { name: 'linear' as const, lr: t.lr, warmupSteps: Math.ceil(t.warmupRatio * steps), totalSteps: steps };
  const optimizer = { beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1 };
  const report: TrainReport = { steps, tokens: 0, tokensByTask: {}, stepsByTask: {}, history: [], wallTimeS: 0 };
  for (const d of tasks) {
    report.tokensByTask[d.task.name] = 0;
    report.stepsByTask[d.task.name] = 0;
  }
  for (let step = 0; step < steps; step++) {
    const i = pickByShare(shares, draw());
    const d = tasks[i]!;
    const batch = d.collator.collate(samplers[i]!.batch(t.batchSize).map((j) => d.train[j]!), deriveSeed(seed, step));
    const enc = net.gpu.encoder('edge_step');
    net.model.zeroGrads(enc);
    let distill, hiddenGrad;
    const hp = teacher?.hidden ?? null;
    if (teacher && (d.task.kind !== 'embedding' || hp)) {
      teacher.net.model.forward(enc, batch, { head: i, train: false, grad: false });
      if (d.task.kind !== 'embedding') {
        distill = { teacherLogits: teacher.net.model.lastLogitsBuffer().buffer, temperature: teacher.temperature, kdWeight: teacher.kdWeight, ceWeight: teacher.ceWeight };
      }
      if (hp) hiddenGrad = hp.hook(enc, teacher.net.model.lastHiddenBuffer(), batch.attentionMask, d.task.weight);
    }
    net.model.forward(enc, batch, { head: i, train: true, seed: deriveSeed(seed, 0xd0), step, lossScale: d.task.weight, distill, hiddenGrad });
    net.model.backward(enc);
    const hyper = { lr: learningRate(sched, step), step: step + 1, gradScale: 1 };
    net.adamw.record(enc, net.model, { ranges, hyper, optimizer });
    if (hp) hp.adamw.record(enc, { params: hp.W, grads: hp.dW }, { ranges: [{ offset: 0, length: hp.Ht * hp.Hs, weightDecay: 0, lrScale: 1 }], hyper, optimizer });
    await enc.submit();
    const n = realTokens(batch);
    report.tokens += n;
    report.tokensByTask[d.task.name]! += n;
    report.stepsByTask[d.task.name]! += 1;
    if ((step + 1) % logEvery === 0 || step === steps - 1) {
      const loss = await net.model.readLoss();
      const kd = distill ? await net.model.readDistillLoss() : undefined;
      const hidden = hiddenGrad ? await hp!.readLoss() : undefined;
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step + 1} (task ${d.task.name}): loss ${loss}`);
      report.history.push({ step: step + 1, task: d.task.name, loss, ...(kd !== undefined ? { kd } : {}), ...(hidden !== undefined ? { hidden } : {}) });
      log(`step ${step + 1}/${steps} task ${d.task.name} loss ${loss.toFixed(4)}${kd !== undefined ? ` kd ${kd.toFixed(4)}` : ''}${hidden !== undefined ? ` hidden ${hidden.toFixed(4)}` : ''}`);
    }
  }
  await net.model.download();
  report.wallTimeS = (Date.now() - t0) / 1000;
  return report;
}

/**
 * One deployed form of a model (edge/deploy.ts: the fp32 or INT8 WebGPU model, an ONNX Runtime
 * session): run a batch through head `head` and return its output as the GPU model's readLogits
 * gives it (seq_cls (B, C), token_cls (B·T, C), embedding (B, H)), and the loss when it has one.
 */
export type HeadRunner = (batch: ModelBatch, head: number) => Promise<{ logits: Float32Array; loss: number }>;

/** A BertModel (fp32, or INT8 when built with int8 weights) as a HeadRunner: eval-mode forward, logits read back. */
export function gpuRunner(gpu: Gpu, model: BertModel): HeadRunner {
  return async (batch, head) => {
    const enc = gpu.encoder('edge_predict');
    model.forward(enc, batch, { head, train: false, grad: false });
    await enc.submit();
    const { data } = await model.readLogits();
    return { logits: data, loss: await model.readLoss() };
  };
}

/** The evaluator's view of head `i` (evaluateExamples needs predict, heads[0], config). */
function headBackend(net: EdgeNet, i: number, run: HeadRunner): TrainBackend {
  const predict = (batch: ModelBatch) => run(batch, i);
  return { heads: [net.heads[i]!], config: net.config, store: net.store, device: 'webgpu', predict } as unknown as TrainBackend;
}

/**
 * Test metrics of each task (evaluateExamples: accuracy; word-level strict entity F1; Recall@1 of
 * pair retrieval), through `run` (default: the trained fp32 model on the GPU).
 */
export async function scoreTasks(net: EdgeNet, tasks: TaskData[], heads: number[], batchSize: number, run: HeadRunner = gpuRunner(net.gpu, net.model)): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (let k = 0; k < tasks.length; k++) {
    const d = tasks[k]!;
    const r = await evaluateExamples(headBackend(net, heads[k]!, run), d.collator, d.task.kind, d.labels, d.test, batchSize);
    out[d.task.name] = r.metrics;
  }
  return out;
}

/**
 * Milliseconds per example of inference through `run` (default: the fp32 model on this adapter):
 * the test batches of each task (batch size B), forward in eval mode + reading the outputs back
 * (what a deployment waits for), after one warm-up batch (pipelines compiled, buffers allocated,
 * ONNX Runtime's first-run allocations). An example is one input sequence (a pair task's batch of
 * n pairs embeds 2n sentences). Every deployment variant is timed by this same loop on the same
 * batches, so the rows compare.
 */
export async function latencyPerExample(net: EdgeNet, d: TaskData, head: number, batchSize: number, batches: number, run: HeadRunner = gpuRunner(net.gpu, net.model)): Promise<number> {
  const batchAt = (k: number) => {
    const items = Array.from({ length: batchSize }, (_, j) => d.test[(k * batchSize + j) % d.test.length]!);
    return d.collator.collate(items, 0);
  };
  await run(batchAt(0), head);
  let rows = 0;
  const t0 = performance.now();
  for (let k = 1; k <= batches; k++) {
    const batch = batchAt(k);
    await run(batch, head);
    rows += batch.B;
  }
  return (performance.now() - t0) / rows;
}

/** Write the model's weights and config (no optimizer state: a deployable artefact) atomically; returns model.safetensors' size in bytes. */
export function saveNet(net: EdgeNet, dir: string, vocab: string[], record: Record<string, unknown>): number {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeCheckpoint(tmp, net.store, { config: hfConfig(net.config, { heads: net.heads, ...record }, 'BertModel'), vocab });
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return statSync(join(dir, 'model.safetensors')).size;
}
