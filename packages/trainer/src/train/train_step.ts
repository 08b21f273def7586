// One training step of the GPU model, recorded into one command encoder:
//
//   zeroGrads → forward (train mode: dropout keyed by seed and step, the loss and its gradient)
//             → backward (parameter gradients) → AdamW over the trainable ranges (gpu_adamw.ts)
//
// The training loop's GPU backend runs its steps through recordTrainStep (gpu_backend.ts; a step
// with gradient accumulation or an EWC term records the same phases in parts), and so do the
// benchmarks: the encoder-layer yardstick (src/bench/encoder_layer.ts) and bench's perf case, tfjs
// comparison and profiler. What they time is the step that training runs.

import type { Gpu, StepEncoder } from '@tunebench/kernels';
import { BertModel, type ForwardOptions } from '../model/bert.js';
import type { BertConfig } from '../model/config.js';
import type { HeadSpec, LossOptions } from '../model/heads.js';
import { initParams, mulberry32, ParamStore, paramSpecs, type ParamSpec } from '../model/params.js';
import type { ModelBatch } from '../model/batch.js';
import { GpuAdamW, type AdamWStep } from './gpu_adamw.js';
import type { AdamwRange } from './ranges.js';
import type { MicroBatch } from './backend.js';

/** The forward options of a training micro-batch: train mode, dropout keyed by (dropoutSeed, step), loss gradient on. */
export function trainingForward(micro: Omit<MicroBatch, 'batch'>, loss?: LossOptions): ForwardOptions {
  return { train: true, seed: micro.dropoutSeed, step: micro.step, loss, cacheKey: micro.cacheKey };
}

/** Where the phases of a recorded step end, in dispatches (a profile labels each dispatch with its phase). */
export interface StepPhases {
  /** zeroGrads and the forward. */
  forwardEnd: number;
  backwardEnd: number;
}

/** Record one training step (zeroGrads → forward → backward → AdamW) of `model` on `micro.batch` into `enc`. */
export function recordTrainStep(
  enc: StepEncoder, model: BertModel, adamw: GpuAdamW, micro: MicroBatch, update: AdamWStep, loss?: LossOptions,
): StepPhases {
  model.zeroGrads(enc);
  model.forward(enc, micro.batch, trainingForward(micro, loss));
  const forwardEnd = enc.size;
  model.backward(enc);
  const backwardEnd = enc.size;
  adamw.record(enc, model, update);
  return { forwardEnd, backwardEnd };
}

/** A model with fresh parameters, its AdamW state and ranges: what a benchmark of the training step trains. */
export interface TrainingModel {
  store: ParamStore;
  model: BertModel;
  adamw: GpuAdamW;
  ranges: AdamwRange[];
  destroy(): void;
}

/**
 * A model to train from fresh parameters (initParams with `initSeed`, default 1): the parameters
 * `trains` selects (default all) get gradients and one AdamW range each, with `weightDecay` (0 on
 * biases and LayerNorm weights). The training loop builds its ranges from a strategy plan instead
 * (adamwRanges: merged where contiguous, with lr scales and step counts).
 */
export function newTrainingModel(
  gpu: Gpu, config: BertConfig, heads: HeadSpec[], o: { weightDecay: number; trains?: (spec: ParamSpec) => boolean; initSeed?: number },
): TrainingModel {
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, o.initSeed ?? 1, config.initializerRange);
  const model = new BertModel(gpu, config, heads, store);
  if (o.trains) model.setTrainable(o.trains);
  const trains = o.trains ?? (() => true);
  const rangeOf = (s: ParamSpec) => ({ ...store.range(s.name), weightDecay: s.noDecay ? 0 : o.weightDecay, lrScale: 1 });
  const ranges = store.specs.filter(trains).map(rangeOf);
  const adamw = new GpuAdamW(gpu, store.totalSize);
  return {
    store, model, adamw, ranges,
    destroy() {
      model.destroy();
      adamw.destroy();
    },
  };
}

/**
 * A (B, T) batch of random token ids in [1, vocab), every position real, drawn from mulberry32(seed)
 * (all ids first, then the labels): labels 'mlm' puts a random id on 15 % of the tokens (−100 on the
 * others); a number n gives every token a class in [0, n).
 */
export function syntheticBatch(B: number, T: number, vocab: number, labels: 'mlm' | number, seed: number): ModelBatch {
  const rand = mulberry32(seed);
  const n = B * T;
  const inputIds = Int32Array.from({ length: n }, () => 1 + Math.floor(rand() * (vocab - 1)));
  const label = labels === 'mlm' ? () => (rand() < 0.15 ? Math.floor(rand() * vocab) : -100) : () => Math.floor(rand() * labels);
  const attentionMask = new Int32Array(n).fill(1);
  return { B, T, inputIds, attentionMask, tokenTypeIds: new Int32Array(n), labels: Int32Array.from({ length: n }, label) };
}
