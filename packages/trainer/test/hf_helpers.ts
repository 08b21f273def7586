// Helpers shared by the Hugging Face tests (hf_checkpoint.test.ts: the fixtures of scripts/hf_bert.py;
// hf_transformers.test.ts: the fixtures of scripts/hf_transformers.py, written by transformers itself).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bertReference, toParams64, type ModelBatch } from '../src/model/index.js';
import type { loadModel } from '../src/train/infer.js';

/** A padded batch as the Python scripts write it (row-major B × T). */
export interface HfBatch { B: number; T: number; inputIds: number[]; attentionMask: number[]; tokenTypeIds: number[] }

/** expected.json of a fixture: texts, the reference tokenizer's ids, a padded batch and the reference's float64 outputs. */
export interface Expected {
  architecture: string;
  labels: string[] | null;
  texts: string[];
  pair: [string, string];
  ids: number[][];
  batch: HfBatch;
  outputs: Record<string, number[]>;
}

/** |actual − want| ≤ atol + rtol·|want| element-wise, naming the first element that is not. */
export function close(actual: ArrayLike<number>, want: ArrayLike<number>, what: string, atol = 1e-9, rtol = 1e-8): void {
  assert.equal(actual.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(actual[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!), `${what}[${i}]: ${actual[i]} vs reference ${want[i]}`);
  }
}

/** The fixture's batch as our ModelBatch (labels are placeholders of the head's shape: a forward ignores them). */
export function batchOf(e: { batch: HfBatch }, kind: string): ModelBatch {
  const b = e.batch;
  const labels = kind === 'mlm' ? Int32Array.from(b.inputIds) : kind === 'seq_cls' ? new Int32Array(b.B) : new Int32Array(b.B * b.T);
  return { B: b.B, T: b.T, inputIds: Int32Array.from(b.inputIds), attentionMask: Int32Array.from(b.attentionMask), tokenTypeIds: Int32Array.from(b.tokenTypeIds), labels };
}

/** Our float64 CPU forward of a loaded model on a batch: logits, and the last hidden states. */
export function ourForward(m: ReturnType<typeof loadModel>, batch: ModelBatch) {
  return bertReference(m.config, m.heads, toParams64(m.store), batch, { grads: false, lora: m.lora });
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tb-hf-'));
}
