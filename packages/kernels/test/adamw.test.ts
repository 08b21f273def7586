// AdamW over ranges + deterministic gradient norm + clipping: GPU vs float64 reference per step,
// frozen elements bit-identical, determinism, PyTorch goldens (5 steps of torch.optim.AdamW with
// parameter groups and a changing lr; clip_grad_norm_), bad input.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  adamw_hyperparameters,
  adamw_hyperparameters64,
  adamw_update,
  adamw_update_reference,
  assertAllClose,
  grad_norm_squared,
  grad_norm_squared_reference,
  mulberry32,
  poisoned,
  randomF32,
  setAdamwScalarOnly,
  type AdamWRange,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

function randomRanges(rand: () => number, total: number): AdamWRange[] {
  const ranges: AdamWRange[] = [];
  let at = Math.floor(rand() * 5);
  while (at < total) {
    const len = 1 + Math.floor(rand() * Math.min(9000, total - at));
    if (rand() < 0.7) ranges.push({ offset: at, length: Math.min(len, total - at), weightDecay: rand() < 0.5 ? 0 : rand() * 0.1, lrScale: rand() < 0.5 ? 1 : 0.1 + rand() });
    at += len + Math.floor(rand() * 50);
  }
  if (ranges.length === 0) ranges.push({ offset: 0, length: Math.max(1, Math.min(total, 3)), weightDecay: 0.01 });
  return ranges;
}

function inRanges(ranges: AdamWRange[], total: number): Uint8Array {
  const mark = new Uint8Array(total);
  for (const r of ranges) mark.fill(1, r.offset, r.offset + r.length);
  return mark;
}

test('GPU matches the float64 reference step by step; elements outside the ranges keep their bits', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 20000 }), fc.integer(), fc.boolean(), fc.constantFrom(1, 0.25), async (total, seed, clip, gradScale) => {
      const rand = mulberry32(seed);
      const ranges = randomRanges(rand, total);
      const mark = inRanges(ranges, total);
      const p0 = randomF32(rand, total, -1, 1);
      const P = gpu.buffer(p0), M = gpu.buffer(new Float32Array(total)), Vb = gpu.buffer(new Float32Array(total));
      // Gradients outside the ranges are NaN: reading one would poison the norm and the update.
      const g = randomF32(rand, total, -2, 2).map((x, i) => (mark[i] ? x : Number.NaN));
      const G = gpu.buffer(g);
      const H = gpu.zeros(40), NS = poisoned(gpu, 1);
      let state: { p: Float32Array; m: Float32Array; v: Float32Array } = { p: p0, m: new Float32Array(total), v: new Float32Array(total) };
      for (let step = 1; step <= 3; step++) {
        const hyper = adamw_hyperparameters({ lr: 1e-3 * (1 + rand()), beta1: 0.9, beta2: 0.999, eps: 1e-8, step, maxGradNorm: clip ? 0.5 : 0, gradScale });
        gpu.write(H, hyper);
        const enc = gpu.encoder();
        if (clip) grad_norm_squared(gpu, enc, NS, G, ranges);
        adamw_update(gpu, enc, P, G, M, Vb, H, clip ? NS : null, ranges);
        await enc.submit();
        const got = { p: await gpu.read(P), m: await gpu.read(M), v: await gpu.read(Vb) };
        const ns = clip ? await gpu.read(NS) : null;
        // Reference from the GPU's previous state, so the bound covers one step's rounding.
        const ref = { p: Float64Array.from(state.p), m: Float64Array.from(state.m), v: Float64Array.from(state.v) };
        const refNs = new Float64Array(1);
        grad_norm_squared_reference(refNs, g, ranges);
        if (ns) assert.ok(Math.abs(ns[0] - refNs[0]) <= 1e-5 * refNs[0], `norm² ${ns[0]} vs ${refNs[0]}`);
        // The update uses the GPU's norm (already checked above) so clipping decisions agree.
        adamw_update_reference(ref.p, g, ref.m, ref.v, hyper, ns, ranges);
        // Bounds: m, v within 4 ulps; p within 4 ulps of |p| plus 1e-5 of the Adam step lr/bc1·|m|/denom.
        assertAllClose(`step ${step} m`, got.m, ref.m, (i) => 2 ** -21 * Math.abs(ref.m[i]) + 1e-30);
        assertAllClose(`step ${step} v`, got.v, ref.v, (i) => 2 ** -21 * Math.abs(ref.v[i]) + 1e-38);
        assertAllClose(`step ${step} params`, got.p, ref.p, (i) => 2 ** -21 * Math.abs(ref.p[i]) + 1e-5 * Math.abs(ref.p[i] - state.p[i]) + 1e-12);
        const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
        const [gp, gm, gv, sp, sm, sv] = [got.p, got.m, got.v, state.p, state.m, state.v].map(bits);
        for (let i = 0; i < total; i++) {
          if (mark[i]) continue;
          assert.ok(gp[i] === sp[i] && gm[i] === sm[i] && gv[i] === sv[i], `element ${i} outside the ranges changed`);
        }
        state = got;
      }
      for (const b of [P, M, Vb, G, H, NS]) b.destroy();
    }),
    { numRuns: 20 },
  );
});

test('an update spanning several dispatches (1.2M elements, > 256 chunks) matches the reference, frozen gap untouched', async () => {
  const rand = mulberry32(8);
  const total = 1_200_000;
  const ranges: AdamWRange[] = [{ offset: 0, length: 700_001, weightDecay: 0.01 }, { offset: 700_100, length: 499_900, weightDecay: 0, lrScale: 0.5 }];
  const p0 = randomF32(rand, total), g = randomF32(rand, total);
  const P = gpu.buffer(p0), G = gpu.buffer(g), M = gpu.zeros(total * 4), Vb = gpu.zeros(total * 4), H = gpu.zeros(40);
  const hyper = adamw_hyperparameters({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 });
  gpu.write(H, hyper);
  const enc = gpu.encoder();
  adamw_update(gpu, enc, P, G, M, Vb, H, null, ranges);
  await enc.submit();
  const got = await gpu.read(P);
  for (const b of [P, G, M, Vb, H]) b.destroy();
  const ref = Float64Array.from(p0);
  adamw_update_reference(ref, g, new Float64Array(total), new Float64Array(total), hyper, null, ranges);
  assertAllClose('params', got, ref, (i) => 2 ** -21 * Math.abs(ref[i]) + 1e-5 * Math.abs(ref[i] - p0[i]) + 1e-12);
  for (let i = 700_001; i < 700_100; i++) assert.equal(got[i], p0[i]);
});

test('vec4 path (4-aligned bodies + 1–3-element heads/tails) = the all-scalar path bit for bit, bindings at a 256-byte offset, nothing outside the ranges touched', async () => {
  // Fixed small ranges that exercise every edge shape (head only, tail only, both, inside one
  // vec4, adjacent ranges sharing a vec4), then random ones.
  const fixed: AdamWRange[] = [
    { offset: 1, length: 2, weightDecay: 0.1 }, { offset: 3, length: 1, weightDecay: 0 }, { offset: 6, length: 5, weightDecay: 0.02 },
    { offset: 11, length: 9, weightDecay: 0, lrScale: 0.5 }, { offset: 24, length: 4, weightDecay: 0.01 }, { offset: 30, length: 4107, weightDecay: 0.01 },
  ];
  const cases: [number, AdamWRange[]][] = [[4200, fixed]];
  const rand = mulberry32(77);
  for (let k = 0; k < 6; k++) {
    const total = 1 + Math.floor(rand() * 30000);
    cases.push([total, randomRanges(rand, total)]);
  }
  const lead = 64; // elements before the bound range (256 bytes), poisoned
  for (const [total, ranges] of cases) {
    const mark = inRanges(ranges, total);
    const p0 = randomF32(rand, lead + total, -1, 1);
    const g = randomF32(rand, lead + total, -2, 2).map((x, i) => (i >= lead && mark[i - lead] ? x : Number.NaN));
    const m0 = randomF32(rand, lead + total, -0.1, 0.1);
    const v0 = randomF32(rand, lead + total, 0, 0.01);
    const runs: { p: Uint32Array; m: Uint32Array; v: Uint32Array; ns: number }[] = [];
    for (const scalar of [true, false]) {
      const P = gpu.buffer(p0), G = gpu.buffer(g), M = gpu.buffer(m0), Vb = gpu.buffer(v0), H = gpu.zeros(40), NS = poisoned(gpu, 1);
      const at = (b: GPUBuffer) => ({ buffer: b, offset: lead * 4, size: total * 4 });
      gpu.write(H, adamw_hyperparameters({ lr: 3e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, step: 4, maxGradNorm: 1 }));
      setAdamwScalarOnly(scalar);
      try {
        const enc = gpu.encoder();
        grad_norm_squared(gpu, enc, NS, at(G), ranges);
        // No clipping here, so the update's bits do not depend on the norm's summation order.
        adamw_update(gpu, enc, at(P), at(G), at(M), at(Vb), H, null, ranges);
        await enc.submit();
      } finally {
        setAdamwScalarOnly(false);
      }
      const u = async (b: GPUBuffer) => new Uint32Array((await gpu.read(b)).buffer);
      runs.push({ p: await u(P), m: await u(M), v: await u(Vb), ns: (await gpu.read(NS))[0] });
      for (const b of [P, G, M, Vb, H, NS]) b.destroy();
    }
    const [sc, v4] = runs;
    const refNs = new Float64Array(1);
    grad_norm_squared_reference(refNs, g.subarray(lead), ranges);
    // The two norms add in different orders: each within 30·2⁻²⁴ relative of the float64 sum.
    for (const ns of [sc.ns, v4.ns]) assert.ok(Math.abs(ns - refNs[0]) <= 30 * 2 ** -24 * refNs[0], `total=${total}: norm² ${ns} vs ${refNs[0]}`);
    const orig = [p0, m0, v0].map((a) => new Uint32Array(a.buffer));
    for (let i = 0; i < lead + total; i++) {
      const inside = i >= lead && mark[i - lead] === 1;
      for (const [k, name] of [[0, 'p'], [1, 'm'], [2, 'v']] as const) {
        const a = sc[name][i], b = v4[name][i];
        if (!inside) assert.ok(a === orig[k][i] && b === orig[k][i], `total=${total}: ${name}[${i}] outside the ranges changed`);
        else assert.equal(b, a, `total=${total}: ${name}[${i}] vec4 vs scalar`);
      }
    }
  }
});

test('grad_norm_squared is deterministic (same bits over repeated runs, 1.1M elements)', async () => {
  const rand = mulberry32(3);
  const total = 1_100_003;
  const g = randomF32(rand, total, -1, 1);
  const ranges = [{ offset: 5, length: 600_000, weightDecay: 0 }, { offset: 700_000, length: 400_003, weightDecay: 0 }];
  const G = gpu.buffer(g);
  const outs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const O = poisoned(gpu, 1);
    const enc = gpu.encoder();
    grad_norm_squared(gpu, enc, O, G, ranges);
    await enc.submit();
    outs.push((await gpu.read(O))[0]);
    O.destroy();
  }
  G.destroy();
  const ref = new Float64Array(1);
  grad_norm_squared_reference(ref, g, ranges);
  assert.equal(new Set(outs).size, 1, `runs differ: ${outs}`);
  // Bound: tree of depth ~log2(n) f32 additions → ≤ 30·2⁻²⁴ relative for positive terms.
  assert.ok(Math.abs(outs[0] - ref[0]) <= 30 * 2 ** -24 * ref[0], `${outs[0]} vs ${ref[0]}`);
});

interface TorchAdamW {
  sizes: number[]; weightDecay: number[]; lrScale: number[]; frozen: number; beta1: number; beta2: number; eps: number;
  init: number[][]; steps: { lr: number; grads: number[][]; params: number[][] }[];
}
interface TorchClip { sizes: number[]; grads: number[][]; maxNorm: number; totalNorm: number; clipped: number[][] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/adamw_torch.json', import.meta.url), 'utf8')) as { adamw: TorchAdamW; clip: TorchClip };

test('5 steps match torch.optim.AdamW (param groups = ranges with lrScale, frozen tensor untouched, lr changed each step)', async () => {
  const t = golden.adamw;
  // Lay the tensors out with gaps, as a flat parameter store would (offsets 64-element aligned).
  const offsets: number[] = [];
  let at = 0;
  for (const n of t.sizes) {
    offsets.push(at);
    at += Math.ceil(n / 64) * 64 + 64;
  }
  const total = at;
  const ranges: AdamWRange[] = t.sizes
    .map((n, i) => ({ offset: offsets[i], length: n, weightDecay: t.weightDecay[i], lrScale: t.lrScale[i] }))
    .filter((_, i) => i !== t.frozen);
  const p = new Float32Array(total).fill(7);
  t.init.forEach((vals, i) => p.set(vals, offsets[i]));
  const P = gpu.buffer(p), M = gpu.zeros(total * 4), Vb = gpu.zeros(total * 4), G = gpu.zeros(total * 4), H = gpu.zeros(40);
  for (let s = 0; s < t.steps.length; s++) {
    const st = t.steps[s];
    const g = new Float32Array(total);
    st.grads.forEach((vals, i) => g.set(vals, offsets[i]));
    gpu.write(G, g);
    gpu.write(H, adamw_hyperparameters({ lr: st.lr, beta1: t.beta1, beta2: t.beta2, eps: t.eps, step: s + 1 }));
    const enc = gpu.encoder();
    adamw_update(gpu, enc, P, G, M, Vb, H, null, ranges);
    await enc.submit();
    const got = await gpu.read(P);
    st.params.forEach((want, i) => {
      // Bound: torch runs the same f32 ops in a slightly different order: 8 ulps of |p| + 1e-6·lr.
      assertAllClose(`step ${s + 1} tensor ${i}`, got.subarray(offsets[i], offsets[i] + want.length), want, (k) => 2 ** -20 * Math.abs(want[k]) + 1e-6 * st.lr);
    });
  }
  const final = await gpu.read(P);
  assert.deepEqual(Array.from(final.subarray(offsets[t.frozen], offsets[t.frozen] + t.sizes[t.frozen])), t.init[t.frozen].map((x) => Math.fround(x)));
  for (const b of [P, M, Vb, G, H]) b.destroy();
});

test('clipping matches torch.nn.utils.clip_grad_norm_ (norm and the clipped gradient inside the update)', async () => {
  const c = golden.clip;
  const g = Float32Array.from(c.grads.flat());
  const ranges: AdamWRange[] = [{ offset: 0, length: c.sizes[0], weightDecay: 0 }, { offset: c.sizes[0], length: c.sizes[1], weightDecay: 0 }];
  const G = gpu.buffer(g), NS = poisoned(gpu, 1), P = gpu.zeros(g.length * 4), M = gpu.zeros(g.length * 4), Vb = gpu.zeros(g.length * 4), H = gpu.zeros(40);
  // With β1 = 0 and a first step, m after the update equals the clipped gradient exactly.
  gpu.write(H, adamw_hyperparameters({ lr: 0, beta1: 0, beta2: 0.5, eps: 1e-8, step: 1, maxGradNorm: c.maxNorm }));
  const enc = gpu.encoder();
  grad_norm_squared(gpu, enc, NS, G, ranges);
  adamw_update(gpu, enc, P, G, M, Vb, H, NS, ranges);
  await enc.submit();
  const ns = await gpu.read(NS);
  assert.ok(Math.abs(Math.sqrt(ns[0]) - c.totalNorm) <= 1e-6 * c.totalNorm, `norm ${Math.sqrt(ns[0])} vs torch ${c.totalNorm}`);
  const want = c.clipped.flat();
  assertAllClose('clipped gradient', await gpu.read(M), want, (i) => 2 ** -21 * Math.abs(want[i]));
  for (const b of [G, NS, P, M, Vb, H]) b.destroy();
});

test('adamw_hyperparameters64 holds the words unrounded (1 − β in float64), adamw_hyperparameters their f32 rounding', () => {
  const h = { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3, maxGradNorm: 1.5, gradScale: 0.25 };
  const want = [3e-4, 0.9, 0.999, 1e-8, 1 - 0.9 ** 3, Math.sqrt(1 - 0.999 ** 3), 1.5, 0.25, 1 - 0.9, 1 - 0.999];
  assert.deepEqual(Array.from(adamw_hyperparameters64(h)), want);
  assert.deepEqual(Array.from(adamw_hyperparameters(h)), want.map((x) => Math.fround(x)));
  assert.throws(() => adamw_hyperparameters64({ ...h, beta2: 1 }), /beta2=1/);
});

test('bad input fails before any dispatch', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(400);
  const h = gpu.zeros(40);
  assert.throws(() => adamw_update(gpu, enc, b, b, b, b, h, null, []), /ranges must be a non-empty array/);
  assert.throws(() => adamw_update(gpu, enc, b, b, b, b, h, null, [{ offset: 0, length: 10, weightDecay: 0 }, { offset: 5, length: 3, weightDecay: 0 }]), /overlaps/);
  assert.throws(() => adamw_update(gpu, enc, b, b, b, b, h, null, [{ offset: 90, length: 20, weightDecay: 0 }]), /buffer 'params' holds 100 elements, needs 110/);
  assert.throws(() => adamw_update(gpu, enc, b, b, b, b, gpu.zeros(32), null, [{ offset: 0, length: 2, weightDecay: 0 }]), /hyper/);
  assert.throws(() => adamw_update(gpu, enc, b, b, b, b, h, null, [{ offset: 0, length: 2, weightDecay: -1 }]), /weightDecay=-1/);
  assert.throws(() => grad_norm_squared(gpu, enc, b, b, [{ offset: 1.5, length: 2, weightDecay: 0 }]), /offset=1.5/);
  assert.throws(() => adamw_hyperparameters({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 0 }), /step=0/);
  assert.equal(enc.size, 0);
});
