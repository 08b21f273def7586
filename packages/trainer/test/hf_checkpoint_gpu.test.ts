// Hugging Face directories through the GPU model (float32) against scripts/hf_bert.py's float64
// outputs (test/fixtures/hf, see hf_checkpoint.test.ts). Bound: per tensor, max |gpu − torch| ≤
// 2e-4·max|torch| + 1e-6 (tensorClose, the bound of the PyTorch golden tests); predicted
// probabilities within 1e-4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import type { Gpu } from '@tunebench/kernels';
import { BertModel, type ModelBatch } from '../src/model/index.js';
import { loadModel } from '../src/train/infer.js';
import { exportHf } from '../src/train/hf_export.js';
import { tensorClose } from './model/helpers.js';
import { runTrainerCli } from './cli_helpers.js';
import { makeRoundtripCheckpoint, ROUNDTRIP_INPUTS } from './hf_roundtrip.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const FIX = fileURLToPath(new URL('./fixtures/hf/', import.meta.url));
interface Expected { batch: { B: number; T: number; inputIds: number[]; attentionMask: number[]; tokenTypeIds: number[] }; outputs: Record<string, number[]>; texts: string[] }
const expected = (name: string) => JSON.parse(readFileSync(join(FIX, name, 'expected.json'), 'utf8')) as Expected;

function batchOf(e: Pick<Expected, 'batch'>, kind: string): ModelBatch {
  const b = e.batch;
  // mlm: every position labelled, so the GPU head computes every row's logits.
  const labels = kind === 'mlm' ? Int32Array.from(b.inputIds) : kind === 'seq_cls' ? new Int32Array(b.B) : new Int32Array(b.B * b.T);
  return { B: b.B, T: b.T, inputIds: Int32Array.from(b.inputIds), attentionMask: Int32Array.from(b.attentionMask), tokenTypeIds: Int32Array.from(b.tokenTypeIds), labels };
}

async function gpuForward(dir: string, batch: ModelBatch): Promise<{ logits: Float32Array; hidden: Float32Array }> {
  const m = loadModel(dir);
  const model = new BertModel(gpu, m.config, m.heads, m.store);
  try {
    const enc = gpu.encoder();
    model.forward(enc, batch, { grad: false });
    await enc.submit();
    return { logits: (await model.readLogits()).data, hidden: await model.readHidden() };
  } finally {
    model.destroy();
  }
}

for (const name of ['mlm', 'seq_cls', 'base'] as const) {
  test(`GPU: the Hugging Face ${name} fixture's outputs match the script's float64 forward`, async () => {
    const e = expected(name);
    const kind = name === 'base' ? 'embedding' : name;
    const r = await gpuForward(join(FIX, name), batchOf(e, kind));
    if (name === 'base') tensorClose(r.hidden, e.outputs.last_hidden_state!, 'last_hidden_state');
    else tensorClose(r.logits, e.outputs.logits!, 'logits');
  });
}

test('GPU: an exported token-classification checkpoint (LoRA merged) matches the script\'s reading of the committed export', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-hf-gpu-'));
  try {
    makeRoundtripCheckpoint(join(dir, 'src'));
    exportHf(join(dir, 'src'), join(dir, 'hf'));
    const py = JSON.parse(readFileSync(join(FIX, 'roundtrip', 'python_check.json'), 'utf8')) as { outputs: { logits: number[] } };
    const r = await gpuForward(join(dir, 'hf'), batchOf(ROUNDTRIP_INPUTS, 'token_cls'));
    tensorClose(r.logits, py.outputs.logits, 'token logits');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GPU: predict --checkpoint on the Hugging Face classifier: probabilities within 1e-4 of softmax(script logits)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-hf-gpu-'));
  try {
    const e = expected('seq_cls');
    const file = join(dir, 'rows.jsonl');
    writeFileSync(file, e.texts.map((t, i) => JSON.stringify({ id: `r${i}`, text: t })).join('\n') + '\n');
    assert.equal(await runTrainerCli(['predict', '--checkpoint', join(FIX, 'seq_cls'), '--file', file, '--out', join(dir, 'p'), '--backend', 'gpu', '-q']), '');
    const preds = readFileSync(join(dir, 'p', 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { probs: number[] });
    preds.forEach((p, i) => {
      const z = e.outputs.logits!.slice(i * 3, i * 3 + 3);
      const mx = Math.max(...z);
      const ex = z.map((v) => Math.exp(v - mx));
      const s = ex.reduce((a, b) => a + b, 0);
      p.probs.forEach((q, k) => assert.ok(Math.abs(q - ex[k]! / s) <= 1e-4, `row ${i} class ${k}: ${q} vs ${ex[k]! / s}`));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
