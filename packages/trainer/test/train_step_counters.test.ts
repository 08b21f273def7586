// The structural counters (kernels/src/counters.ts) of the tiny training step — dispatches,
// submits, compiles, bytes bound, FLOPs, workgroups, allocations, uploads, readbacks, and the
// dispatches of every kernel — must equal the committed values in
// fixtures/train_step_counters.json exactly. These counts do not depend on the machine's load, so
// a change that doubles the dispatches of a step, compiles a pipeline every step or reads back
// every step fails here instead of hiding in timing noise.
//
// The counts depend on the kernel variants the adapter gets (subgroups or not), so the file keeps
// one entry per feature signature. After an intended change (or on a new adapter), regenerate with
//
//   UPDATE_COUNTERS=1 nice -n 19 node --import tsx --import ./scripts/fc-seed.mjs --expose-gc \
//     --test packages/trainer/test/train_step_counters.test.ts
//
// from the repository root, and commit the file with the reason in the message (git diff shows
// which kernel moved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import { countersDelta, type GpuCounters, type Gpu } from '@tunebench/kernels';
import { makeConfig, type HeadSpec } from '../src/model/index.js';
import { DEFAULT_OPTIMIZER, newTrainingModel, recordTrainStep, syntheticBatch, type AdamWStep } from '../src/train/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const FILE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'train_step_counters.json');

/** The perf benchmark's training step (bench/src/perf/cases.ts: 2 layers, 128 wide, MLM), at a small batch. */
const B = 4, T = 16, V = 2048;
const config = makeConfig({ numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 }, V, { maxPositions: 128, hiddenDropout: 0.1, attentionDropout: 0.1 });
const heads: HeadSpec[] = [{ kind: 'mlm' }];

interface Expected {
  what: string;
  signatures: Record<string, { firstStep: GpuCounters; laterStep: GpuCounters }>;
}

test('the tiny training step has exactly the committed structural counts', async () => {
  const signature = [...gpu.features].sort().join('+') || 'no-features';
  const { model, adamw, ranges, destroy } = newTrainingModel(gpu, config, heads, { weightDecay: 0.01 });
  const batch = syntheticBatch(B, T, V, 'mlm', 7);
  const update: AdamWStep = { ranges, hyper: { lr: 1e-4, step: 1, gradScale: 1 }, optimizer: { ...DEFAULT_OPTIMIZER } };
  const step = async (n: number) => {
    const before = gpu.snapshotCounters();
    const enc = gpu.encoder('counted step');
    recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step: n }, update);
    await enc.submit();
    await model.readLoss(); // what the training loop does every step: one readback
    await gpu.sync();
    return countersDelta(gpu.snapshotCounters(), before);
  };
  let got: Expected['signatures'][string];
  try {
    const firstStep = await step(1);
    const laterStep = await step(2);
    got = { firstStep, laterStep };
  } finally {
    destroy();
  }
  // Properties that hold whatever the committed numbers are.
  assert.equal(got.laterStep.pipelinesCompiled, 0, 'a repeated step compiles nothing');
  // (buffersCreated is not 0 on a later step: uniforms holding the step number (dropout keys,
  // Adam's step) are new content each step, and Gpu.uniform caches them by content; the committed
  // value pins how many.)
  assert.deepEqual(Object.keys(got.laterStep.kernels).sort(), Object.keys(got.firstStep.kernels).sort());

  if (process.env.UPDATE_COUNTERS) {
    let old: Expected = { what: '', signatures: {} };
    try { old = JSON.parse(readFileSync(FILE, 'utf8')) as Expected; } catch { /* first time */ }
    old.what = `structural counters of one training step (B${B} T${T}, 2L H128 V${V} MLM) as packages/trainer/test/train_step_counters.test.ts counts them; regenerate with UPDATE_COUNTERS=1 (see that file)`;
    old.signatures[signature] = got;
    mkdirSync(dirname(FILE), { recursive: true });
    writeFileSync(FILE + '.tmp', JSON.stringify(old, null, 1) + '\n');
    renameSync(FILE + '.tmp', FILE);
    return;
  }
  const expected = (JSON.parse(readFileSync(FILE, 'utf8')) as Expected).signatures[signature];
  assert.ok(expected, `${FILE}: no entry for adapter features '${signature}'; regenerate with UPDATE_COUNTERS=1 (see the header of this test)`);
  for (const which of ['firstStep', 'laterStep'] as const) {
    const e = expected[which], g = got[which];
    for (const [k, v] of Object.entries(e)) {
      if (k === 'kernels') continue;
      assert.equal(g[k as keyof GpuCounters], v, `${which}.${k}: ${String(g[k as keyof GpuCounters])}, committed ${String(v)}`);
    }
    // Kernel by kernel, so a failure names the kernels whose work changed.
    const names = [...new Set([...Object.keys(e.kernels), ...Object.keys(g.kernels)])].sort();
    const moved = names.filter((n) => JSON.stringify(e.kernels[n] ?? null) !== JSON.stringify(g.kernels[n] ?? null));
    assert.deepEqual(moved, [], `${which}: kernels whose counts changed: ${moved.map((n) => `${n} ${JSON.stringify(e.kernels[n] ?? null)} → ${JSON.stringify(g.kernels[n] ?? null)}`).join('; ')}`);
  }
});
