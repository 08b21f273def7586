// distill_kl: GPU vs float64 reference (fast-check), loss-math properties of the reference (KL ≥ 0,
// = 0 when student = teacher, gradient rows sum to 0, τ → the τ² scaling), finite differences of
// the reference backward, a PyTorch golden, accumulate mode, bad input.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { assertAllClose, distill_kl, distill_kl_reference, mulberry32, poisoned, randomF32, type DistillKlOptions, type Gpu } from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

interface Case { N: number; C: number; student: Float32Array; teacher: Float32Array; targets: Int32Array }

function makeCase(N: number, C: number, seed: number, ignoredFrac: number, spread = 4): Case {
  const rand = mulberry32(seed);
  const student = randomF32(rand, N * C, -spread, spread);
  const teacher = randomF32(rand, N * C, -spread, spread);
  const targets = Int32Array.from({ length: N }, () => (rand() < ignoredFrac ? -100 : Math.floor(rand() * C)));
  return { N, C, student, teacher, targets };
}

const kept = (c: Case) => Math.max(1, c.targets.filter((t) => t !== -100).length);

function reference(c: Case, o: DistillKlOptions, d0?: Float32Array) {
  const losses = new Float64Array(c.N);
  const dlogits = d0 ? Float64Array.from(d0) : new Float64Array(c.N * c.C);
  distill_kl_reference(losses, dlogits, c.student, c.teacher, c.targets, c.N, c.C, o);
  return { losses, dlogits };
}

async function runGpu(c: Case, o: DistillKlOptions, d0?: Float32Array, grad = true) {
  const S = gpu.buffer(c.student), Tc = gpu.buffer(c.teacher), Tg = gpu.buffer(c.targets);
  const losses = poisoned(gpu, c.N);
  const dl = grad ? (d0 ? gpu.buffer(d0) : poisoned(gpu, c.N * c.C)) : null;
  const enc = gpu.encoder();
  distill_kl(gpu, enc, losses, dl, S, Tc, Tg, c.N, c.C, o);
  await enc.submit();
  const out = { losses: await gpu.read(losses), dlogits: dl ? await gpu.read(dl) : null };
  for (const b of [S, Tc, Tg, losses, dl]) b?.destroy();
  return out;
}

// Error bounds: the GPU computes both log-softmaxes in f32 (exp/log ~1 ulp of values of magnitude
// |x|/τ ≤ spread/τ), and the loss is τ² · a sum of C terms p·(lp − lq): absolute error ≲
// τ²·C·2⁻²³·(|x|/τ + 1)·4 → 1e-6·τ²·(1 + spread/τ)·C/8 + relative 1e-5. Gradient entries are
// weight·τ·(q − p)/normalizer with q, p off by a few ulps: 1e-6·|weight|·τ·(1 + spread/τ)/normalizer.
function bounds(c: Case, o: DistillKlOptions, spread: number) {
  const tau = o.temperature;
  const lossB = (x: number) => 1e-6 * tau * tau * (1 + spread / tau) * Math.max(1, c.C / 8) + 1e-5 * Math.abs(x);
  const gradB = (x: number) => (1e-6 * Math.abs(o.weight ?? 1) * tau * (1 + spread / tau) * 4) / o.normalizer + 1e-6 * Math.abs(x);
  return { lossB, gradB };
}

test('GPU matches the float64 reference: random shapes, temperatures, weights, ignored rows; write and accumulate', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 150 }), fc.integer({ min: 1, max: 40 }), fc.integer(), fc.constantFrom(0.5, 1, 2, 4, 7.5),
      fc.constantFrom(1, 0.3, -0.7), fc.boolean(), fc.constantFrom(0, 0.3),
      async (N, C, seed, temperature, weight, accumulate, ignored) => {
        const spread = 6;
        const c = makeCase(N, C, seed, ignored, spread);
        const o = { temperature, weight, accumulate, normalizer: kept(c) };
        const d0 = accumulate ? randomF32(mulberry32(seed ^ 0x77), N * C) : undefined;
        const got = await runGpu(c, o, d0);
        const ref = reference(c, o, d0);
        const { lossB, gradB } = bounds(c, o, spread);
        const what = `N=${N} C=${C} τ=${temperature} w=${weight} acc=${accumulate}`;
        assertAllClose(`${what} losses`, got.losses, ref.losses, (i) => lossB(ref.losses[i]));
        assertAllClose(`${what} dlogits`, got.dlogits!, ref.dlogits, (i) => gradB(ref.dlogits[i]));
      },
    ),
    { numRuns: 40 },
  );
});

test('losses only (dlogits null) match the reference and write nothing else', async () => {
  const c = makeCase(70, 9, 3, 0.2);
  const o = { temperature: 2, normalizer: kept(c) };
  const got = await runGpu(c, o, undefined, false);
  const ref = reference(c, o);
  assertAllClose('losses', got.losses, ref.losses, (i) => bounds(c, o, 4).lossB(ref.losses[i]));
});

test('reference: KL ≥ 0, = 0 when the student equals the teacher, gradient rows sum to 0, ignored rows are zero', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 2, max: 20 }), fc.integer(), fc.double({ min: 0.2, max: 10, noNaN: true }), (N, C, seed, tau) => {
      const c = makeCase(N, C, seed, 0.25);
      const o = { temperature: tau, normalizer: kept(c) };
      const r = reference(c, o);
      for (let i = 0; i < N; i++) {
        assert.ok(r.losses[i] >= -1e-12, `loss ${i} = ${r.losses[i]} < 0`);
        let s = 0;
        for (let j = 0; j < C; j++) s += r.dlogits[i * C + j];
        assert.ok(Math.abs(s) < 1e-12, `gradient row ${i} sums to ${s}`);
        if (c.targets[i] === -100) {
          assert.equal(r.losses[i], 0);
          for (let j = 0; j < C; j++) assert.equal(r.dlogits[i * C + j], 0);
        }
      }
      const same = reference({ ...c, teacher: c.student }, o);
      for (let i = 0; i < N * C; i++) assert.ok(Math.abs(same.dlogits[i]) < 1e-12);
      for (let i = 0; i < N; i++) assert.ok(Math.abs(same.losses[i]) < 1e-12);
      // Shifting a row of logits by a constant changes neither softmax.
      const shifted = reference({ ...c, student: c.student.map((x, k) => x + (Math.floor(k / C) % 3) - 1) }, o);
      for (let i = 0; i < N; i++) assert.ok(Math.abs(shifted.losses[i] - r.losses[i]) <= 1e-5 * (1 + r.losses[i]));
    }),
    { numRuns: 60 },
  );
});

test('reference: at high temperature τ²·KL → Σ (s − t − mean(s − t))² / (2C) (the logit-matching limit, Hinton et al. §2.1)', () => {
  const c = makeCase(6, 5, 11, 0, 1);
  const tau = 1000;
  const r = reference(c, { temperature: tau, normalizer: 6 });
  for (let i = 0; i < c.N; i++) {
    const d = Array.from({ length: c.C }, (_, j) => c.student[i * c.C + j] - c.teacher[i * c.C + j]);
    const mean = d.reduce((a, b) => a + b, 0) / c.C;
    const limit = d.reduce((a, b) => a + (b - mean) ** 2, 0) / (2 * c.C);
    assert.ok(Math.abs(r.losses[i] - limit) <= 1e-3 * (1 + limit), `row ${i}: ${r.losses[i]} vs ${limit}`);
  }
});

test('reference backward matches finite differences of the mean loss (× weight)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 9 }), fc.integer(), fc.constantFrom(0.7, 1, 3), fc.constantFrom(1, 0.4), (N, C, seed, tau, weight) => {
      const c = makeCase(N, C, seed, 0.2, 3);
      const normalizer = kept(c);
      const o = { temperature: tau, weight, normalizer };
      const s = Float64Array.from(c.student);
      const mean = (x: Float64Array) => {
        const losses = new Float64Array(N);
        distill_kl_reference(losses, null, x, c.teacher, c.targets, N, C, o);
        return (weight * losses.reduce((a, b) => a + b, 0)) / normalizer;
      };
      const dl = new Float64Array(N * C);
      distill_kl_reference(new Float64Array(N), dl, s, c.teacher, c.targets, N, C, o);
      const h = 1e-5;
      for (let k = 0; k < N * C; k++) {
        const p = s.slice(); p[k] += h;
        const m = s.slice(); m[k] -= h;
        const fd = (mean(p) - mean(m)) / (2 * h);
        assert.ok(Math.abs(fd - dl[k]) <= 1e-6 + 1e-5 * Math.abs(fd), `element ${k}: analytic ${dl[k]} vs finite difference ${fd}`);
      }
    }),
    { numRuns: 40 },
  );
});

interface TorchCase { N: number; C: number; temperature: number; weight: number; student: number[]; teacher: number[]; targets: number[]; normalizer: number; losses: number[]; mean: number; dstudent: number[] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/distill_kl_torch.json', import.meta.url), 'utf8')) as { cases: TorchCase[] };

test('GPU and reference match PyTorch F.kl_div(log_softmax(s/τ), softmax(t/τ))·τ² (ignored rows, weight, autograd gradient)', async () => {
  assert.ok(golden.cases.length >= 4);
  for (const tc of golden.cases) {
    const c: Case = { N: tc.N, C: tc.C, student: Float32Array.from(tc.student), teacher: Float32Array.from(tc.teacher), targets: Int32Array.from(tc.targets) };
    const o = { temperature: tc.temperature, weight: tc.weight, normalizer: tc.normalizer };
    assert.equal(kept(c), tc.normalizer, 'normalizer convention: the number of non-ignored rows');
    const what = `torch N=${tc.N} C=${tc.C} τ=${tc.temperature}`;
    const ref = reference(c, o);
    // The reference is float64 on the same f32 inputs: agreement to rounding.
    assertAllClose(`${what} reference losses`, ref.losses, tc.losses, (i) => 1e-10 * (1 + Math.abs(tc.losses[i])));
    assertAllClose(`${what} reference dstudent`, ref.dlogits, tc.dstudent, (i) => 1e-12 * (1 + Math.abs(tc.dstudent[i])));
    const got = await runGpu(c, o);
    const { lossB, gradB } = bounds(c, o, 15);
    assertAllClose(`${what} GPU losses`, got.losses, tc.losses, (i) => lossB(tc.losses[i]));
    assertAllClose(`${what} GPU dstudent`, got.dlogits!, tc.dstudent, (i) => gradB(tc.dstudent[i]));
  }
});

test('bad input fails before any dispatch, naming the argument', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  const o = { temperature: 2, normalizer: 1 };
  assert.throws(() => distill_kl(gpu, enc, b, b, b, b, b, 0, 4, o), /dimension N=0/);
  assert.throws(() => distill_kl(gpu, enc, b, b, b, b, b, 4, 5, o), /buffer 'student' holds 16 elements, needs 20/);
  assert.throws(() => distill_kl(gpu, enc, b, b, b, b, b, 2, 2, { temperature: 0, normalizer: 1 }), /temperature=0/);
  assert.throws(() => distill_kl(gpu, enc, b, b, b, b, b, 2, 2, { temperature: 1, normalizer: 0 }), /normalizer=0/);
  assert.throws(() => distill_kl_reference(new Float64Array(2), null, [1, 2], [1, 2, 3, 4], [0, 0], 2, 2, o), /array 'student' has 2 elements, needs 4/);
  assert.equal(enc.size, 0);
});
