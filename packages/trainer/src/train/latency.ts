// Inference latency of a backend: milliseconds per example of predict() over given batches, after
// a warm-up (the first call of a shape compiles pipelines and allocates activations). What the
// `edge` suite and `tunebench evaluate --int8` report beside the scores.
//
// "Per example" = per sequence encoded (batch.B rows; an embedding batch of n pairs holds 2n), the
// predict() call's full cost: upload, forward, read-back of the logits. Wall-clock time, so the
// machine's load is part of it: compare backends measured in one process, one after the other.

import type { ModelBatch } from '../model/index.js';
import type { TrainBackend } from './backend.js';

export interface LatencyResult {
  /** Median over the repeats of (time of one pass over the batches) / examples in them. */
  msPerExample: number;
  /** Every repeat's ms per example (the spread says how noisy the machine was). */
  samples: number[];
  examples: number;
  batches: number;
}

/** Time `predict` (any function from a batch to a promise) over `batches`: `warmup` untimed passes, then `repeats` timed ones. */
export async function measureLatency(
  predict: (b: ModelBatch) => Promise<unknown>, batches: readonly ModelBatch[], opts: { warmup?: number; repeats?: number } = {},
): Promise<LatencyResult> {
  if (batches.length === 0) throw new Error('measureLatency: no batches');
  const warmup = opts.warmup ?? 1, repeats = opts.repeats ?? 3;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`measureLatency: repeats must be a positive integer, got ${repeats}`);
  const examples = batches.reduce((n, b) => n + b.B, 0);
  for (let w = 0; w < warmup; w++) for (const b of batches) await predict(b);
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (const b of batches) await predict(b);
    samples.push((performance.now() - t0) / examples);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { msPerExample: sorted[Math.floor(sorted.length / 2)]!, samples, examples, batches: batches.length };
}

/** measureLatency of a backend's predict(). */
export function backendLatency(backend: TrainBackend, batches: readonly ModelBatch[], opts: { warmup?: number; repeats?: number } = {}): Promise<LatencyResult> {
  return measureLatency((b) => backend.predict(b), batches, opts);
}
