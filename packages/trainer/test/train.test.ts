// Schedules (hand-computed values of Hugging Face's schedules), clipping, early stopping, seeded
// samplers and their resumable state, and the EWC kernels against their float64 references.
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomF32, mulberry32, assertAllClose, type Gpu } from '@tunebench/kernels';
import {
  learningRate,
  lrLambda,
  validateSchedule,
  warmupStepsFor,
  clipCoefficient,
  gradNormSquaredReference,
  adamwRangesReference,
  EarlyStopping,
  EpochSampler,
  MixedSampler,
  permutation,
  StatefulRng,
  ewc_fisher_accumulate,
  ewc_fisher_accumulate_reference,
  ewc_penalty_backward,
  ewc_penalty_backward_reference,
  ewc_penalty_reference,
  type ScheduleConfig,
} from '../src/train/index.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('linear schedule with warmup: values worked by hand (W = 2, T = 10, lr = 1e-3)', () => {
  const c: ScheduleConfig = { name: 'linear', lr: 1e-3, warmupSteps: 2, totalSteps: 10 };
  // k < W: k/W ; then (T − k)/(T − W)
  const want = [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0, 0];
  want.forEach((w, k) => close(learningRate(c, k), 1e-3 * w));
});

test('cosine schedule with warmup: values worked by hand (W = 2, T = 10)', () => {
  const c: ScheduleConfig = { name: 'cosine', lr: 1, warmupSteps: 2, totalSteps: 10 };
  close(lrLambda(c, 0), 0);
  close(lrLambda(c, 1), 0.5);
  close(lrLambda(c, 2), 1);
  close(lrLambda(c, 4), 0.5 * (1 + Math.SQRT1_2)); // progress 1/4: ½(1 + cos π/4)
  close(lrLambda(c, 6), 0.5); // progress 1/2
  close(lrLambda(c, 8), 0.5 * (1 - Math.SQRT1_2));
  close(lrLambda(c, 10), 0);
  // past T the half-cosine continues (as in HF): progress 9/8 → ½(1 + cos 9π/8) ≈ 0.0381
  close(lrLambda(c, 11), 0.5 * (1 + Math.cos((Math.PI * 9) / 8)));
  // num_cycles = 1: back up to 1 at the end
  close(lrLambda({ ...c, numCycles: 1 }, 10), 1);
});

test('constant schedules, warmup from a ratio (ceil, as HF), and validation', () => {
  close(lrLambda({ name: 'constant', lr: 1, warmupSteps: 5, totalSteps: 10 }, 0), 1);
  const cw: ScheduleConfig = { name: 'constant_with_warmup', lr: 1, warmupSteps: 4, totalSteps: 10 };
  close(lrLambda(cw, 1), 0.25);
  close(lrLambda(cw, 9), 1);
  assert.equal(warmupStepsFor(101, undefined, 0.1), 11);
  assert.equal(warmupStepsFor(100, 7, 0.5), 7);
  assert.equal(warmupStepsFor(100), 0);
  // W = 0: linear starts at the full rate
  close(lrLambda({ name: 'linear', lr: 1, warmupSteps: 0, totalSteps: 4 }, 0), 1);
  assert.throws(() => validateSchedule({ name: 'step' as 'linear', lr: 1, warmupSteps: 0, totalSteps: 3 }), /unknown schedule 'step'; valid schedules: linear, cosine/);
  assert.throws(() => validateSchedule({ name: 'linear', lr: 1, warmupSteps: -1, totalSteps: 3 }), /warmupSteps=-1/);
});

test('schedules are within [0, 1], reach 1 at the end of warmup, and linear/cosine never increase from W to T', () => {
  fc.assert(
    fc.property(fc.constantFrom('linear', 'cosine' as const), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 200 }), (name, W, T) => {
      const c: ScheduleConfig = { name: name as 'linear' | 'cosine', lr: 1, warmupSteps: W, totalSteps: Math.max(T, W + 1) };
      let prev = Infinity;
      for (let k = 0; k <= c.totalSteps; k++) {
        const l = lrLambda(c, k);
        assert.ok(l >= 0 && l <= 1 + 1e-15);
        if (k >= W) {
          assert.ok(l <= prev + 1e-12);
          prev = l;
        }
      }
      close(lrLambda(c, W), 1);
    }),
  );
});

test('gradient clipping: PyTorch clip coefficient, norm over the ranges only, accumulation scale', () => {
  assert.equal(clipCoefficient(0.5, 1), 1);
  close(clipCoefficient(4, 1), 1 / (4 + 1e-6));
  assert.equal(clipCoefficient(1e9, 0), 1); // 0 = off
  const g = Float32Array.from([3, 4, 100, 12]);
  assert.equal(gradNormSquaredReference(g, [{ offset: 0, length: 2, weightDecay: 0, lrScale: 1 }, { offset: 3, length: 1, weightDecay: 0, lrScale: 1 }]), 169);
  // With Adam, a uniform gradient scale (accumulation 1/n) changes the step only through ε:
  // with ε = 0 the first step is lr·sign(g), whatever the scale.
  const p1 = new Float32Array([1, 1]), p2 = new Float32Array([1, 1]);
  const r = [{ offset: 0, length: 2, weightDecay: 0, lrScale: 1 }];
  adamwRangesReference(p1, [2, -3], new Float32Array(2), new Float32Array(2), r, 1, 0.1, { beta1: 0.9, beta2: 0.999, eps: 0 });
  adamwRangesReference(p2, [2, -3], new Float32Array(2), new Float32Array(2), r, 1, 0.1, { beta1: 0.9, beta2: 0.999, eps: 0 }, 0.25);
  assert.deepEqual([...p1], [Math.fround(0.9), Math.fround(1.1)]);
  assert.deepEqual([...p1], [...p2]);
  // decoupled weight decay with lrScale: p ← p(1 − lr·s·wd) − lr·s·sign(g)
  const p3 = new Float32Array([2]);
  adamwRangesReference(p3, [1], new Float32Array(1), new Float32Array(1), [{ offset: 0, length: 1, weightDecay: 0.5, lrScale: 0.5 }], 1, 0.1, { beta1: 0.9, beta2: 0.999, eps: 0 });
  assert.equal(p3[0], Math.fround(2 * (1 - 0.05 * 0.5) - 0.05));
});

test('early stopping: patience, minDelta, mode, NaN never improves, state restores', () => {
  const es = new EarlyStopping({ patience: 2, mode: 'max', minDelta: 0.01 });
  assert.deepEqual(es.update(0.5, 10), { improved: true, stop: false });
  assert.deepEqual(es.update(0.505, 20), { improved: false, stop: false }); // within minDelta
  assert.deepEqual(es.update(0.6, 30), { improved: true, stop: false });
  assert.deepEqual(es.update(Number.NaN, 40), { improved: false, stop: false });
  const saved = JSON.parse(JSON.stringify(es.state));
  assert.deepEqual(es.update(0.59, 50), { improved: false, stop: true });
  assert.equal(es.state.bestStep, 30);
  const es2 = new EarlyStopping({ patience: 2, mode: 'max', minDelta: 0.01 });
  es2.restore(saved);
  assert.deepEqual(es2.update(0.59, 50), { improved: false, stop: true });
  const lo = new EarlyStopping({ patience: 1, mode: 'min' });
  lo.update(1.0, 1);
  assert.equal(lo.update(0.9, 2).improved, true);
  assert.equal(lo.update(0.95, 3).stop, true);
  assert.throws(() => new EarlyStopping({ patience: 0, mode: 'max' }), /patience=0/);
});

test('epoch sampler: each epoch is a permutation, epochs differ, and a restored sampler continues identically', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer(), fc.integer({ min: 0, max: 100 }), (n, seed, cut) => {
      const a = new EpochSampler(n, seed);
      const seen = a.batch(n);
      assert.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
      const b = new EpochSampler(n, seed);
      b.batch(cut);
      const state = JSON.parse(JSON.stringify(b.state));
      const rest = b.batch(50);
      const c = new EpochSampler(n, seed);
      c.restore(state);
      assert.deepEqual(c.batch(50), rest);
    }),
  );
  assert.notDeepEqual([...permutation(1, 0, 50)], [...permutation(1, 1, 50)]);
  assert.deepEqual([...permutation(1, 3, 50)], [...permutation(1, 3, 50)]);
});

test('mixed-corpus sampler: general fraction close to the ratio, seeded, resumable', () => {
  const s = new MixedSampler(100, 300, 0.25, 42);
  let general = 0;
  const N = 4000;
  for (let i = 0; i < N; i++) if (s.next().source === 'general') general++;
  // Binomial(4000, 0.25): sd ≈ 27.4; allow 5 sd.
  assert.ok(Math.abs(general - 1000) < 5 * 27.4, `general ${general}`);
  const a = new MixedSampler(10, 20, 0.5, 7);
  for (let i = 0; i < 13; i++) a.next();
  const st = JSON.parse(JSON.stringify(a.state));
  const next = Array.from({ length: 30 }, () => a.next());
  const b = new MixedSampler(10, 20, 0.5, 7);
  b.restore(st);
  assert.deepEqual(Array.from({ length: 30 }, () => b.next()), next);
  const only = new MixedSampler(0, 5, 0, 1);
  for (let i = 0; i < 20; i++) assert.equal(only.next().source, 'domain');
  assert.throws(() => new MixedSampler(10, 10, 1.5, 1), /generalRatio=1\.5/);
  assert.throws(() => new MixedSampler(0, 10, 0.5, 1), /general corpus is empty/);
  const r = new StatefulRng(5);
  r.next();
  const r2 = new StatefulRng(0);
  r2.state = r.state;
  assert.equal(r.next(), r2.next());
});

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

test('EWC kernels match their float64 references (Fisher accumulation, penalty gradient)', async () => {
  for (const N of [1, 7, 256, 1000, 300_001]) {
    const rand = mulberry32(N);
    const g1 = randomF32(rand, N), g2 = randomF32(rand, N), p = randomF32(rand, N), a = randomF32(rand, N), g0 = randomF32(rand, N);
    const F = gpu.zeros(N * 4), G1 = gpu.buffer(g1), G2 = gpu.buffer(g2), P = gpu.buffer(p), A = gpu.buffer(a), G0 = gpu.buffer(g0);
    const enc = gpu.encoder();
    ewc_fisher_accumulate(gpu, enc, F, G1, N, 0.5);
    ewc_fisher_accumulate(gpu, enc, F, G2, N, 0.5);
    ewc_penalty_backward(gpu, enc, G0, P, A, F, N, 3);
    await enc.submit();
    const fisher = new Float64Array(N);
    ewc_fisher_accumulate_reference(fisher, g1, N, 0.5);
    ewc_fisher_accumulate_reference(fisher, g2, N, 0.5);
    const gotF = await gpu.read(F);
    // two f32 roundings per accumulation: |err| ≤ 4·2⁻²⁴·|F|
    assertAllClose(`fisher N=${N}`, gotF, fisher, (i) => 4 * 2 ** -24 * Math.abs(fisher[i]) + 1e-30);
    const want = Float64Array.from(g0);
    ewc_penalty_backward_reference(want, p, a, gotF, N, 3);
    const got = await gpu.read(G0);
    assertAllClose(`penalty grad N=${N}`, got, want, (i) => 5 * 2 ** -24 * (Math.abs(g0[i]) + Math.abs(3 * gotF[i] * (p[i] - a[i]))) + 1e-30);
    for (const b of [F, G1, G2, P, A, G0]) b.destroy();
  }
  // the penalty is λ/2 Σ F d², and its gradient is what the kernel adds: check by finite differences
  const p = [0.3, -1.2], a = [0.1, 0.4], f = [2, 0.5];
  const h = 1e-6;
  const gr = new Float64Array(2);
  ewc_penalty_backward_reference(gr, p, a, f, 2, 0.7);
  for (let i = 0; i < 2; i++) {
    const up = [...p], dn = [...p];
    up[i] += h;
    dn[i] -= h;
    close((ewc_penalty_reference(up, a, f, 2, 0.7) - ewc_penalty_reference(dn, a, f, 2, 0.7)) / (2 * h), gr[i], 1e-8);
  }
  const enc = gpu.encoder();
  const small = gpu.zeros(16);
  assert.throws(() => ewc_penalty_backward(gpu, enc, small, small, small, small, 8, 1), /ewc_penalty_backward: buffer 'grads' holds 4 elements, needs 8/);
  assert.throws(() => ewc_penalty_backward(gpu, enc, small, small, small, small, 4, -1), /lambda=-1/);
  assert.equal(enc.size, 0);
});
