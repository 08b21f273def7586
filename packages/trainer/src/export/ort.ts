// ONNX Runtime (onnxruntime-node, CPU execution provider) on our exported models: a session, one
// batch through it, and latency per example (latency.ts's measure, so the numbers compare with the
// WebGPU backend's). The `edge` suite's ONNX rows (bench edge/deploy.ts) run sessions from
// ortSession on ortFeeds, timed by the edge phase's own loop, the one that times its WebGPU rows.

import * as ort from 'onnxruntime-node';
import type { ModelBatch } from '../model/index.js';
import { measureLatency, type LatencyResult } from '../train/latency.js';
import { ONNX_INPUTS } from './onnx.js';

export type OrtSession = ort.InferenceSession;

/** A CPU session on an .onnx file or its bytes. `threads`: intra-op threads (default: ONNX Runtime's choice). */
export async function ortSession(model: string | Uint8Array, opts: { threads?: number } = {}): Promise<OrtSession> {
  const o: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (opts.threads) o.intraOpNumThreads = opts.threads;
  return typeof model === 'string' ? ort.InferenceSession.create(model, o) : ort.InferenceSession.create(model, o);
}

/** The int64 input tensors of a batch. */
export function ortFeeds(batch: ModelBatch): Record<string, ort.Tensor> {
  const t = (a: Int32Array) => new ort.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), [batch.B, batch.T]);
  const feeds: Record<(typeof ONNX_INPUTS)[number], ort.Tensor> = {
    input_ids: t(batch.inputIds), attention_mask: t(batch.attentionMask), token_type_ids: t(batch.tokenTypeIds),
  };
  return feeds;
}

/** Run one batch; every output as a flat Float32Array by name. */
export async function ortRun(session: OrtSession, batch: ModelBatch): Promise<Record<string, Float32Array>> {
  const res = await session.run(ortFeeds(batch));
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(res)) out[k] = v.data as Float32Array;
  return out;
}

/** ms per example (per sequence) of session.run over `batches` (warm-up pass first). */
export function ortLatency(session: OrtSession, batches: readonly ModelBatch[], opts: { warmup?: number; repeats?: number } = {}): Promise<LatencyResult> {
  return measureLatency((b) => session.run(ortFeeds(b)), batches, opts);
}
