// Learning-rate schedules, matching Hugging Face transformers' optimization.py exactly.
//
// Convention (as in HF with a LambdaLR scheduler stepped after each optimizer step): optimizer
// step k (0-based) uses lr = base · λ(k). So with warmup the very first update uses λ(0) = 0,
// as it does in HF; the schedule reaches the full rate at k = warmup.
//   linear  (get_linear_schedule_with_warmup):   λ(k) = k / max(1, W)                    for k < W
//                                               = max(0, (T − k) / max(1, T − W))        after
//   cosine  (get_cosine_schedule_with_warmup, num_cycles = 0.5):
//                                           λ(k) = k / max(1, W)                          for k < W
//                                               = max(0, ½ (1 + cos(π · 2·0.5 · p))),  p = (k − W) / max(1, T − W)
//   constant_with_warmup: λ(k) = k / max(1, W) for k < W, then 1.
//   constant: 1.

export const SCHEDULE_NAMES = ['linear', 'cosine', 'constant', 'constant_with_warmup'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

export interface ScheduleConfig {
  name: ScheduleName;
  /** Peak learning rate. */
  lr: number;
  /** Warmup optimizer steps W. */
  warmupSteps: number;
  /** Total optimizer steps T (the run's length). */
  totalSteps: number;
  /** Cosine cycles (HF default 0.5: one half-cosine from peak to 0). */
  numCycles?: number;
}

export function validateSchedule(c: ScheduleConfig): void {
  if (!(SCHEDULE_NAMES as readonly string[]).includes(c.name)) {
    throw new Error(`unknown schedule '${c.name}'; valid schedules: ${SCHEDULE_NAMES.join(', ')}`);
  }
  if (!(c.lr >= 0) || !Number.isFinite(c.lr)) throw new Error(`schedule: lr=${c.lr} must be a finite number ≥ 0`);
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) throw new Error(`schedule: warmupSteps=${c.warmupSteps} must be an integer ≥ 0`);
  if (!Number.isInteger(c.totalSteps) || c.totalSteps < 1) throw new Error(`schedule: totalSteps=${c.totalSteps} must be an integer ≥ 1`);
}

/** The multiplier λ(step) of the schedule (HF's lr_lambda). */
export function lrLambda(c: ScheduleConfig, step: number): number {
  const W = c.warmupSteps;
  const T = c.totalSteps;
  if (c.name === 'constant') return 1;
  if (step < W) return step / Math.max(1, W);
  switch (c.name) {
    case 'constant_with_warmup':
      return 1;
    case 'linear':
      return Math.max(0, (T - step) / Math.max(1, T - W));
    case 'cosine': {
      const cycles = c.numCycles ?? 0.5;
      const p = (step - W) / Math.max(1, T - W);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * p)));
    }
  }
  throw new Error(`unknown schedule '${c.name}'`);
}

/** Learning rate used by optimizer step `step` (0-based). */
export function learningRate(c: ScheduleConfig, step: number): number {
  return c.lr * lrLambda(c, step);
}

/** Warmup steps from either an absolute count or a ratio of the total (HF's warmup_ratio: ceil). */
export function warmupStepsFor(totalSteps: number, warmupSteps?: number, warmupRatio?: number): number {
  if (warmupSteps !== undefined && warmupSteps > 0) return warmupSteps;
  if (warmupRatio !== undefined && warmupRatio > 0) return Math.ceil(totalSteps * warmupRatio);
  return 0;
}
