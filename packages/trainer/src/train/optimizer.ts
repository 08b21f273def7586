// AdamW over element ranges of a flat parameter buffer: the CPU reference of what the GPU step
// does (the kernel itself is packages/kernels' adamw), plus gradient clipping and accumulation
// settings.
//
// One optimizer step, as torch.optim.AdamW + torch.nn.utils.clip_grad_norm_:
//   g      ← g / accumSteps                     (the loss of each micro-batch is a mean; summing
//                                                accumSteps of them and dividing gives the mean)
//   norm   = ‖g‖₂ over every trainable range     (frozen parameters do not count)
//   c      = min(1, maxNorm / (norm + 1e-6))      (PyTorch's clip_coef, clamped)
//   p      ← p · (1 − lr·lrScale·wd)
//   m      ← β₁ m + (1 − β₁) c·g ;  v ← β₂ v + (1 − β₂) (c·g)²
//   p      ← p − lr·lrScale · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
// Elements outside the ranges are never read or written.

import type { AdamwRange } from './ranges.js';

export interface OptimizerConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0 or Infinity = no clipping). HF default 1.0. */
  maxGradNorm: number;
  /** Micro-batches per optimizer step. */
  gradAccumSteps: number;
}

/** Hugging Face Trainer's defaults (AdamW torch: betas 0.9/0.999, eps 1e-8, clip 1.0). */
export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  lr: 5e-5,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.0,
  maxGradNorm: 1.0,
  gradAccumSteps: 1,
};

export function validateOptimizer(o: OptimizerConfig): void {
  const bad = (k: string, v: unknown, why: string) => {
    throw new Error(`optimizer.${k}=${String(v)} ${why}`);
  };
  if (!(o.lr >= 0) || !Number.isFinite(o.lr)) bad('lr', o.lr, 'must be a finite number ≥ 0');
  if (!(o.beta1 >= 0 && o.beta1 < 1)) bad('beta1', o.beta1, 'must be in [0, 1)');
  if (!(o.beta2 >= 0 && o.beta2 < 1)) bad('beta2', o.beta2, 'must be in [0, 1)');
  if (!(o.eps > 0)) bad('eps', o.eps, 'must be > 0');
  if (!(o.weightDecay >= 0)) bad('weightDecay', o.weightDecay, 'must be ≥ 0');
  if (!(o.maxGradNorm >= 0)) bad('maxGradNorm', o.maxGradNorm, 'must be ≥ 0 (0 = no clipping)');
  if (!Number.isInteger(o.gradAccumSteps) || o.gradAccumSteps < 1) bad('gradAccumSteps', o.gradAccumSteps, 'must be an integer ≥ 1');
}

/** Σ g² over the ranges, in float64. */
export function gradNormSquaredReference(grads: ArrayLike<number>, ranges: readonly AdamwRange[]): number {
  let s = 0;
  for (const r of ranges) for (let i = r.offset; i < r.offset + r.length; i++) s += grads[i] * grads[i];
  return s;
}

/** PyTorch's clip coefficient for a global norm (1 when no clipping applies). */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * One AdamW step over `ranges` in float64 arithmetic (results rounded to the f32 arrays).
 * `step` counts from 1. `gradScale` multiplies the gradient first (1/accumSteps · clip coefficient).
 */
export function adamwRangesReference(
  params: Float32Array,
  grads: ArrayLike<number>,
  m: Float32Array,
  v: Float32Array,
  ranges: readonly AdamwRange[],
  step: number,
  lr: number,
  o: Pick<OptimizerConfig, 'beta1' | 'beta2' | 'eps'>,
  gradScale = 1,
): void {
  if (!Number.isInteger(step) || step < 1) throw new Error(`adamwRangesReference: step=${step} must be an integer ≥ 1`);
  const bc1 = 1 - o.beta1 ** step;
  const bc2 = 1 - o.beta2 ** step;
  for (const r of ranges) {
    const a = lr * r.lrScale;
    for (let i = r.offset; i < r.offset + r.length; i++) {
      const g = grads[i] * gradScale;
      let p = params[i] * (1 - a * r.weightDecay);
      const mi = o.beta1 * m[i] + (1 - o.beta1) * g;
      const vi = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      p -= (a * (mi / bc1)) / (Math.sqrt(vi / bc2) + o.eps);
      params[i] = p;
      m[i] = mi;
      v[i] = vi;
    }
  }
}
