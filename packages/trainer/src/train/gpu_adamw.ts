// AdamW's state on the device for one model, and one optimizer step recorded into a command
// encoder: the clipping norm (global, over every trainable range), then the kernels' adamw_update
// once per group of ranges that share an Adam step count (gradual unfreezing: a parameter
// unfrozen later counts its own steps). Its hyper-parameters (lr from the schedule, bias
// corrections) go into small storage buffers, one per group, so no pipeline or uniform changes
// between steps.
//
// The float64 reference of the same step is ReferenceBackend.step (backend.ts).

import { ADAMW_HYPER_WORDS, adamw_hyperparameters, adamw_update, grad_norm_squared, type Gpu, type StepEncoder } from '@tunebench/kernels';
import { groupRangesByStep, type AdamwRange } from './ranges.js';
import type { OptimizerConfig } from './optimizer.js';
import type { StepHyper } from './backend.js';

const F32 = 4;
const HYPER_BYTES = Math.max(ADAMW_HYPER_WORDS, 16) * F32;

/** The optimizer settings one step reads (weight decay is per range; accumulation is the loop's). */
export type AdamWSettings = Pick<OptimizerConfig, 'beta1' | 'beta2' | 'eps' | 'maxGradNorm'>;

/** One AdamW step: which elements move (ranges, each with its decay, lr scale, step count) and how. */
export interface AdamWStep {
  ranges: readonly AdamwRange[];
  hyper: StepHyper;
  optimizer: AdamWSettings;
}

export class GpuAdamW {
  /** First and second moments, one f32 per parameter in the ParamStore's layout. */
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  private readonly hypers: GPUBuffer[] = [];
  /** The words last written to each hyper buffer: a step with the same hyper-parameters writes nothing. */
  private readonly written: string[] = [];
  private norm: GPUBuffer | null = null;

  constructor(
    private readonly gpu: Gpu,
    readonly size: number,
  ) {
    this.m = gpu.zeros(size * F32, 'adamw.m');
    this.v = gpu.zeros(size * F32, 'adamw.v');
  }

  /** Record one AdamW step over `s.ranges` of `model.params` with the gradients in `model.grads`. */
  record(enc: StepEncoder, model: { params: GPUBuffer; grads: GPUBuffer }, s: AdamWStep): void {
    if (s.ranges.length === 0) return;
    const o = s.optimizer;
    const clip = o.maxGradNorm > 0 && Number.isFinite(o.maxGradNorm);
    const groups = groupRangesByStep(s.ranges, s.hyper.step);
    // The clipping norm is global: over every trainable range, whatever its step count.
    const norm = clip ? (this.norm ??= this.gpu.zeros(64 * F32, 'adamw.grad_norm_sq')) : null;
    if (norm) grad_norm_squared(this.gpu, enc, norm, model.grads, [...groups.values()].flat().sort((a, b) => a.offset - b.offset));
    const { lr, gradScale } = s.hyper;
    const { beta1, beta2, eps } = o;
    let i = 0;
    for (const [t, group] of groups) {
      const words = adamw_hyperparameters({ lr, beta1, beta2, eps, step: t, maxGradNorm: clip ? o.maxGradNorm : 0, gradScale });
      adamw_update(this.gpu, enc, model.params, model.grads, this.m, this.v, this.hyperBuffer(i++, words), norm, group);
    }
  }

  private hyperBuffer(i: number, words: Float32Array): GPUBuffer {
    while (this.hypers.length <= i) this.hypers.push(this.gpu.zeros(HYPER_BYTES, `adamw.hyper${this.hypers.length || ''}`));
    const key = words.join(',');
    if (this.written[i] !== key) {
      this.gpu.write(this.hypers[i], words);
      this.written[i] = key;
    }
    return this.hypers[i];
  }

  /** Replace the moments (zeros when absent). */
  load(m?: Float32Array, v?: Float32Array): void {
    this.gpu.write(this.m, m ?? new Float32Array(this.size));
    this.gpu.write(this.v, v ?? new Float32Array(this.size));
  }

  /** The moments, read back (call after the steps that wrote them were submitted). */
  async read(): Promise<{ m: Float32Array; v: Float32Array }> {
    const m = await this.gpu.read(this.m, Float32Array, this.size);
    const v = await this.gpu.read(this.v, Float32Array, this.size);
    return { m, v };
  }

  destroy(): void {
    for (const b of [this.m, this.v, this.norm, ...this.hypers]) b?.destroy();
  }
}
