// masked_mse: GPU vs float64 reference (fast-check), properties of the reference (padding rows
// count nothing, zero at pred = target), finite differences of the reference backward, a PyTorch
// golden (F.mse_loss over the kept rows), bad input.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { assertAllClose, masked_mse, masked_mse_reference, mulberry32, poisoned, randomF32, type Gpu, type MaskedMseOptions } from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

interface Case { M: number; D: number; pred: Float32Array; target: Float32Array; mask: Int32Array }
function makeCase(M: number, D: number, seed: number, padFrac: number): Case {
  const rand = mulberry32(seed);
  return { M, D, pred: randomF32(rand, M * D, -3, 3), target: randomF32(rand, M * D, -3, 3), mask: Int32Array.from({ length: M }, () => (rand() < padFrac ? 0 : 1)) };
}
const normalizerOf = (c: Case) => Math.max(1, c.mask.filter((m) => m !== 0).length) * c.D;

function reference(c: Case, o: MaskedMseOptions) {
  const losses = new Float64Array(c.M), dpred = new Float64Array(c.M * c.D);
  masked_mse_reference(losses, dpred, c.pred, c.target, c.mask, c.M, c.D, o);
  return { losses, dpred };
}

async function runGpu(c: Case, o: MaskedMseOptions, grad = true) {
  const P = gpu.buffer(c.pred), Tg = gpu.buffer(c.target), Mk = gpu.buffer(c.mask);
  const losses = poisoned(gpu, c.M), dp = grad ? poisoned(gpu, c.M * c.D) : null;
  const enc = gpu.encoder();
  masked_mse(gpu, enc, losses, dp, P, Tg, Mk, c.M, c.D, o);
  await enc.submit();
  const out = { losses: await gpu.read(losses), dpred: dp ? await gpu.read(dp) : null };
  for (const b of [P, Tg, Mk, losses, dp]) b?.destroy();
  return out;
}

// Bounds: row sums of D squares of values ≤ 6 in f32: relative 1e-6·D; gradients are one
// subtraction and a scale: 2 ulps.
test('GPU matches the float64 reference: random shapes, padding, weights; losses only too', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 130 }), fc.integer({ min: 1, max: 70 }), fc.integer(), fc.constantFrom(0, 0.3), fc.constantFrom(1, 0.25, 3), fc.boolean(),
      async (M, D, seed, pad, weight, grad) => {
        const c = makeCase(M, D, seed, pad);
        const o = { normalizer: normalizerOf(c), weight };
        const got = await runGpu(c, o, grad);
        const ref = reference(c, o);
        const what = `M=${M} D=${D} w=${weight}`;
        assertAllClose(`${what} losses`, got.losses, ref.losses, (i) => 1e-6 * D * (1 + ref.losses[i]!));
        if (grad) assertAllClose(`${what} dpred`, got.dpred!, ref.dpred, (i) => 3e-7 * (1 + Math.abs(ref.dpred[i]!)));
      }),
    { numRuns: 40 },
  );
});

test('reference: padding rows count nothing, zero loss and gradient where pred = target', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 12 }), fc.integer(), (M, D, seed) => {
    const c = makeCase(M, D, seed, 0.4);
    const r = reference(c, { normalizer: normalizerOf(c) });
    for (let i = 0; i < M; i++) {
      if (c.mask[i] === 0) {
        assert.equal(r.losses[i], 0);
        for (let j = 0; j < D; j++) assert.equal(r.dpred[i * D + j], 0);
      } else assert.ok(r.losses[i]! >= 0);
    }
    const same = reference({ ...c, target: c.pred }, { normalizer: normalizerOf(c) });
    assert.ok(same.losses.every((x) => x === 0) && same.dpred.every((x) => x === 0));
  }));
});

test('reference backward matches finite differences of the weighted mean loss', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer(), fc.constantFrom(1, 0.5), (M, D, seed, weight) => {
    const c = makeCase(M, D, seed, 0.3);
    const o = { normalizer: normalizerOf(c), weight };
    const p = Float64Array.from(c.pred);
    const mean = (x: Float64Array) => {
      const l = new Float64Array(M);
      masked_mse_reference(l, null, x, c.target, c.mask, M, D, o);
      return (weight * l.reduce((a, b) => a + b, 0)) / o.normalizer;
    };
    const d = reference(c, o).dpred;
    const h = 1e-5;
    for (let k = 0; k < M * D; k++) {
      const a = p.slice(); a[k] += h;
      const b = p.slice(); b[k] -= h;
      const fd = (mean(a) - mean(b)) / (2 * h);
      assert.ok(Math.abs(fd - d[k]!) <= 1e-7 + 1e-6 * Math.abs(fd), `element ${k}: ${d[k]} vs ${fd}`);
    }
  }));
});

const golden = JSON.parse(readFileSync(new URL('./fixtures/masked_mse_torch.json', import.meta.url), 'utf8')) as {
  cases: { M: number; D: number; weight: number; pred: number[]; target: number[]; mask: number[]; normalizer: number; losses: number[]; dpred: number[] }[];
};

test('GPU and reference match PyTorch weight · F.mse_loss(pred[mask], target[mask]) and its autograd gradient', async () => {
  assert.ok(golden.cases.length >= 3);
  for (const tc of golden.cases) {
    const c: Case = { M: tc.M, D: tc.D, pred: Float32Array.from(tc.pred), target: Float32Array.from(tc.target), mask: Int32Array.from(tc.mask) };
    assert.equal(normalizerOf(c), tc.normalizer, 'normalizer convention: (kept rows) · D');
    const o = { normalizer: tc.normalizer, weight: tc.weight };
    const ref = reference(c, o);
    assertAllClose(`M=${tc.M} D=${tc.D} reference losses`, ref.losses, tc.losses, (i) => 1e-12 * (1 + tc.losses[i]!));
    assertAllClose(`M=${tc.M} D=${tc.D} reference dpred`, ref.dpred, tc.dpred, (i) => 1e-14 + 1e-12 * Math.abs(tc.dpred[i]!));
    const got = await runGpu(c, o);
    assertAllClose(`M=${tc.M} D=${tc.D} GPU losses`, got.losses, tc.losses, (i) => 1e-6 * tc.D * (1 + tc.losses[i]!));
    assertAllClose(`M=${tc.M} D=${tc.D} GPU dpred`, got.dpred!, tc.dpred, (i) => 3e-7 * (1 + Math.abs(tc.dpred[i]!)));
  }
});

test('bad input fails before any dispatch, naming the argument', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  assert.throws(() => masked_mse(gpu, enc, b, b, b, b, b, 0, 4, { normalizer: 1 }), /dimension M=0/);
  assert.throws(() => masked_mse(gpu, enc, b, b, b, b, b, 4, 5, { normalizer: 1 }), /buffer 'pred' holds 16 elements, needs 20/);
  assert.throws(() => masked_mse(gpu, enc, b, b, b, b, b, 2, 2, { normalizer: 0 }), /normalizer=0/);
  assert.equal(enc.size, 0);
});
