// The GPU backend records the usual optimizer step (one micro-batch, no EWC term) into one command
// buffer with recordTrainStep, the step the benchmarks time; a step with gradient accumulation or
// EWC goes through its parts (zeroGrads, accumulate, step), each submitted on its own. Both paths
// must train the same bits: weights, Adam's moments and the loss, with dropout, clipping and
// ranges of different Adam step counts (two hyper-parameter buffers) in play. GpuAdamW on its own
// follows the float64 AdamW step by step, also when a step repeats the last hyper-parameters (its
// buffers are written only when they change).
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { adamw_hyperparameters, adamw_update_reference, mulberry32, randomF32, type Gpu } from '@tunebench/kernels';
import { makeConfig, paramSpecs, ParamStore, initParams, type HeadSpec, type ModelBatch } from '../src/model/index.js';
import { GpuBackend } from '../src/train/gpu_backend.js';
import { planStrategy, adamwRanges, trainStepInParts, groupRangesByStep, GpuAdamW, DEFAULT_OPTIMIZER } from '../src/train/index.js';
import type { AdamwRange, TrainStep } from '../src/train/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const shape = { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };
const config = makeConfig(shape, 40, { maxPositions: 16, hiddenDropout: 0.1, attentionDropout: 0.1 });
const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'mean' }];

function batch(seed: number): ModelBatch {
  const B = 4, T = 8;
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 11 + 5 * seed) % 40);
  const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - ((i + seed) % 3) ? 1 : 0));
  return { B, T, inputIds, attentionMask, tokenTypeIds: new Int32Array(B * T), labels: Int32Array.from([seed % 3, 2, 1, 0]) };
}

test('a step recorded in one command buffer trains the same bits as the step in parts', async () => {
  const specs = paramSpecs(config, heads);
  const backends = [0, 1].map(() => {
    const store = new ParamStore(specs);
    initParams(store, 5);
    const be = new GpuBackend(gpu, { config, heads, store, lora: null, loss: {}, maxBatch: 4, maxLength: 8 }, false);
    be.load();
    return be;
  });
  const [whole, parts] = backends;
  try {
    const plan = planStrategy(specs, { name: 'full' });
    for (const be of backends) be.setTrainable(plan.trainable);
    const losses: number[][] = [[], []];
    for (let step = 0; step < 3; step++) {
      // The classifier "unfroze" at step 1: its own Adam count, so a second group of ranges.
      const ranges = adamwRanges(whole.store, plan, 0.01, (n) => (n.startsWith('classifier') && step >= 1 ? step : undefined));
      const s: TrainStep = {
        micro: [{ batch: batch(step), dropoutSeed: 7 + step, step }], ewcLambda: null, ranges,
        hyper: { lr: 3e-3 * (step + 1), step: step + 1, gradScale: 1 }, optimizer: { ...DEFAULT_OPTIMIZER, maxGradNorm: 0.5 },
      };
      await whole.trainStep(s);
      await trainStepInParts(parts, s);
      losses[0].push(await whole.readLoss());
      losses[1].push(await parts.readLoss());
    }
    const [a, b] = [await whole.sync(), await parts.sync()];
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    assert.ok(losses[0].every(Number.isFinite), `losses ${losses[0]}`);
    assert.deepEqual(losses[0], losses[1]);
    assert.equal(Buffer.compare(bytes(whole.store.data), bytes(parts.store.data)), 0, 'weights differ');
    assert.equal(Buffer.compare(bytes(a.m), bytes(b.m)), 0, 'first moments differ');
    assert.equal(Buffer.compare(bytes(a.v), bytes(b.v)), 0, 'second moments differ');
    const init = new ParamStore(specs);
    initParams(init, 5);
    assert.notEqual(Buffer.compare(bytes(init.data), bytes(whole.store.data)), 0, 'the steps changed the weights');
  } finally {
    for (const be of backends) be.destroy();
  }
});

test('GpuAdamW follows the float64 AdamW over steps whose hyper-parameters change, repeat and come back', async () => {
  const n = 300;
  const rand = mulberry32(11);
  const p0 = randomF32(rand, n, -1, 1), g = randomF32(rand, n, -0.5, 0.5);
  const params = gpu.buffer(p0), grads = gpu.buffer(g);
  const adamw = new GpuAdamW(gpu, n);
  const p = Float64Array.from(p0), m = new Float64Array(n), v = new Float64Array(n);
  const optimizer = { ...DEFAULT_OPTIMIZER, maxGradNorm: 0 };
  const { beta1, beta2, eps } = optimizer;
  // [lr, optimizer step, Adam count of the second range]: a repeat (no write), then new values, then old ones again.
  const steps: [number, number, number][] = [[1e-2, 1, 1], [1e-2, 1, 1], [3e-2, 2, 1], [5e-3, 3, 2], [1e-2, 1, 1]];
  try {
    adamw.load();
    for (const [lr, step, second] of steps) {
      const ranges: AdamwRange[] = [
        { offset: 0, length: 100, weightDecay: 0.01, lrScale: 1 },
        { offset: 128, length: 172, weightDecay: 0, lrScale: 0.5, step: second },
      ];
      const hyper = { lr, step, gradScale: 0.5 };
      const enc = gpu.encoder('adamw test');
      adamw.record(enc, { params, grads }, { ranges, hyper, optimizer });
      await enc.submit();
      for (const [t, group] of groupRangesByStep(ranges, step)) {
        const words = adamw_hyperparameters({ lr, beta1, beta2, eps, step: t, gradScale: 0.5 });
        adamw_update_reference(p, g, m, v, words, null, group);
      }
    }
    const got = { p: await gpu.read(params, Float32Array, n), ...(await adamw.read()) };
    for (const [name, want, have] of [['params', p, got.p], ['m', m, got.m], ['v', v, got.v]] as const) {
      for (let i = 0; i < n; i++) {
        const tol = 1e-6 + 1e-5 * Math.abs(want[i]);
        assert.ok(Math.abs(have[i] - want[i]) <= tol, `${name}[${i}]: GPU ${have[i]}, float64 ${want[i]}`);
      }
    }
    assert.ok(got.p.some((x, i) => x !== p0[i]), 'the steps moved the parameters');
    assert.deepEqual(Array.from(got.p.subarray(100, 128)), Array.from(p0.subarray(100, 128)), 'elements outside the ranges never move');
  } finally {
    adamw.destroy();
    params.destroy();
    grads.destroy();
  }
});
