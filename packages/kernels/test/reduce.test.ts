// Sentence-embedding reductions: mean pooling, L2 normalisation, cosine-similarity matrix.
// GPU vs float64 reference (fast-check), finite differences of every reference backward,
// PyTorch goldens for the whole pool → normalize → cosine → contrastive-CE chain, and the
// contrastive loss's invariance to a common scale of the embeddings.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose,
  cosine_similarity_backward,
  cosine_similarity_backward_reference,
  cosine_similarity_forward,
  cosine_similarity_forward_reference,
  l2_normalize_backward,
  l2_normalize_backward_reference,
  l2_normalize_forward,
  l2_normalize_forward_reference,
  mean_pool_backward,
  mean_pool_backward_reference,
  mean_pool_forward,
  mean_pool_forward_reference,
  mulberry32,
  poisoned,
  randomF32,
  softmax_cross_entropy,
  softmax_cross_entropy_reference,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

function randomMask(rand: () => number, B: number, T: number): Int32Array {
  const m = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const kind = rand();
    const len = kind < 0.15 ? 0 : kind < 0.3 ? T : 1 + Math.floor(rand() * T); // fully padded, full, partial
    for (let t = 0; t < len; t++) m[b * T + t] = 1;
  }
  return m;
}

// Bounds: a sum of n f32 terms is within n·2⁻²⁴·Σ|terms| (Higham); every bound below is that
// with n the reduced length plus a few roundings for the division / square root.
const U = 2 ** -24;

test('mean pooling forward/backward: GPU vs reference (fully padded rows, T = 1)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 150 }), fc.integer(), fc.boolean(), async (B, T, C, seed, accumulate) => {
      const rand = mulberry32(seed);
      const x = randomF32(rand, B * T * C, -2, 2);
      const mask = randomMask(rand, B, T);
      const dout = randomF32(rand, B * C, -2, 2);
      const d0 = randomF32(rand, B * T * C, -1, 1);
      const X = gpu.buffer(x), M = gpu.buffer(mask), DO = gpu.buffer(dout);
      const O = poisoned(gpu, B * C);
      const DI = accumulate ? gpu.buffer(d0) : poisoned(gpu, B * T * C);
      const enc = gpu.encoder();
      mean_pool_forward(gpu, enc, O, X, M, B, T, C);
      mean_pool_backward(gpu, enc, DI, DO, M, B, T, C, accumulate);
      await enc.submit();
      const out = await gpu.read(O);
      const din = await gpu.read(DI);
      for (const b of [X, M, DO, O, DI]) b.destroy();
      const wo = new Float64Array(B * C);
      mean_pool_forward_reference(wo, x, mask, B, T, C);
      assertAllClose('mean_pool_forward', out, wo, () => (T + 2) * U * 2);
      const wd = accumulate ? Float64Array.from(d0) : new Float64Array(B * T * C);
      mean_pool_backward_reference(wd, dout, mask, B, T, C, accumulate);
      assertAllClose('mean_pool_backward', din, wd, (i) => 4 * U * (Math.abs(wd[i]) + 2));
    }),
    { numRuns: 25 },
  );
});

test('L2 normalize and cosine similarity forward/backward: GPU vs reference (zero rows, N = 1)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 130 }), fc.integer(), fc.double({ min: 0.5, max: 30, noNaN: true }), async (Ba, Bb, C, seed, scale) => {
      const rand = mulberry32(seed);
      const x = randomF32(rand, Ba * C, -2, 2);
      if (Ba > 1) x.fill(0, 0, C); // a zero row (an all-padding sentence)
      const b = randomF32(rand, Bb * C, -1, 1);
      const dy = randomF32(rand, Ba * C, -1, 1);
      const dS = randomF32(rand, Ba * Bb, -1, 1);
      const X = gpu.buffer(x), Bv = gpu.buffer(b), DY = gpu.buffer(dy), DS = gpu.buffer(dS);
      const Y = poisoned(gpu, Ba * C), NR = poisoned(gpu, Ba), DX = poisoned(gpu, Ba * C);
      const S = poisoned(gpu, Ba * Bb), DA = poisoned(gpu, Ba * C), DB = poisoned(gpu, Bb * C);
      const enc = gpu.encoder();
      l2_normalize_forward(gpu, enc, Y, NR, X, Ba, C);
      l2_normalize_backward(gpu, enc, DX, DY, Y, NR, Ba, C);
      cosine_similarity_forward(gpu, enc, S, Y, Bv, Ba, Bb, C, scale);
      cosine_similarity_backward(gpu, enc, DA, DB, DS, Y, Bv, Ba, Bb, C, scale);
      await enc.submit();
      const [y, nr, dx, s, da, db] = await Promise.all([Y, NR, DX, S, DA, DB].map((q) => gpu.read(q)));
      for (const q of [X, Bv, DY, DS, Y, NR, DX, S, DA, DB]) q.destroy();
      const wy = new Float64Array(Ba * C), wn = new Float64Array(Ba), wdx = new Float64Array(Ba * C);
      l2_normalize_forward_reference(wy, wn, x, Ba, C);
      // The backward is compared on the GPU's own forward output (the f32 y), so only the backward's rounding counts.
      l2_normalize_backward_reference(wdx, dy, y, nr, Ba, C);
      assertAllClose('l2 norms', nr, wn, (i) => (C + 2) * U * wn[i]);
      assertAllClose('l2 out', y, wy, () => (C + 4) * U);
      assertAllClose('l2 backward', dx, wdx, (i) => (2 * C + 6) * U * (Math.abs(wdx[i]) + 2 / Math.max(nr[Math.floor(i / C)], 1e-12)) + 0);
      const ws = new Float64Array(Ba * Bb), wda = new Float64Array(Ba * C), wdb = new Float64Array(Bb * C);
      cosine_similarity_forward_reference(ws, y, b, Ba, Bb, C, scale);
      cosine_similarity_backward_reference(wda, wdb, dS, y, b, Ba, Bb, C, scale);
      assertAllClose('cosine S', s, ws, () => (C + 2) * U * scale * Math.sqrt(C));
      assertAllClose('cosine da', da, wda, () => (Bb + 2) * U * scale * Bb);
      assertAllClose('cosine db', db, wdb, () => (Ba + 2) * U * scale * Ba);
    }),
    { numRuns: 25 },
  );
});

test('pooling, L2 and cosine at vec4 widths and odd C; cosine backward accumulating, and with da and db one buffer (self-similarity)', async () => {
  for (const [B, T, C] of [[5, 7, 128], [4, 3, 13]]) {
    const rand = mulberry32(C);
    const x = randomF32(rand, B * T * C, -2, 2), mask = randomMask(rand, B, T), dout = randomF32(rand, B * C, -2, 2);
    const y = randomF32(rand, B * C, -1, 1), dS = randomF32(rand, B * B, -1, 1), d0 = randomF32(rand, B * C, -1, 1), d1 = randomF32(rand, B * C, -1, 1);
    const X = gpu.buffer(x), M = gpu.buffer(mask), DO = gpu.buffer(dout), Y = gpu.buffer(y), DS = gpu.buffer(dS);
    const P = poisoned(gpu, B * C), DX = poisoned(gpu, B * T * C), DA = gpu.buffer(d0), DB = gpu.buffer(d1), DSAME = poisoned(gpu, B * C);
    const enc = gpu.encoder();
    mean_pool_forward(gpu, enc, P, X, M, B, T, C);
    mean_pool_backward(gpu, enc, DX, DO, M, B, T, C);
    cosine_similarity_backward(gpu, enc, DA, DB, DS, Y, Y, B, B, C, 3, true); // both accumulate (into d0, d1)
    cosine_similarity_backward(gpu, enc, DSAME, DSAME, DS, Y, Y, B, B, C, 3);
    const L2Y = poisoned(gpu, B * C), L2N = poisoned(gpu, B), L2DX = gpu.buffer(d0);
    l2_normalize_forward(gpu, enc, L2Y, L2N, DO, B, C);
    l2_normalize_backward(gpu, enc, L2DX, Y, L2Y, L2N, B, C, 1e-12, true); // += into d0
    await enc.submit();
    const [ly, ln, ldx] = await Promise.all([L2Y, L2N, L2DX].map((q) => gpu.read(q)));
    for (const q of [L2Y, L2N, L2DX]) q.destroy();
    const wly = new Float64Array(B * C), wln = new Float64Array(B), wldx = Float64Array.from(d0);
    l2_normalize_forward_reference(wly, wln, dout, B, C);
    l2_normalize_backward_reference(wldx, y, ly, ln, B, C, 1e-12, true);
    assertAllClose(`l2 out C=${C}`, ly, wly, () => (C + 4) * U);
    assertAllClose(`l2 backward += C=${C}`, ldx, wldx, (i) => (2 * C + 6) * U * (Math.abs(wldx[i]) + 2 / ln[Math.floor(i / C)]));
    const [p, dx, da, db, dsame] = await Promise.all([P, DX, DA, DB, DSAME].map((q) => gpu.read(q)));
    for (const q of [X, M, DO, Y, DS, P, DX, DA, DB, DSAME]) q.destroy();
    const wp = new Float64Array(B * C), wdx = new Float64Array(B * T * C);
    mean_pool_forward_reference(wp, x, mask, B, T, C);
    mean_pool_backward_reference(wdx, dout, mask, B, T, C);
    assertAllClose(`mean_pool_forward C=${C}`, p, wp, () => (T + 2) * U * 2);
    assertAllClose(`mean_pool_backward C=${C}`, dx, wdx, (i) => 4 * U * Math.abs(wdx[i]));
    const wda = Float64Array.from(d0), wdb = Float64Array.from(d1);
    cosine_similarity_backward_reference(wda, wdb, dS, y, y, B, B, C, 3, true);
    assertAllClose(`cosine da += C=${C}`, da, wda, () => (B + 4) * U * 3 * B);
    assertAllClose(`cosine db += C=${C}`, db, wdb, () => (B + 4) * U * 3 * B);
    const wsame = new Float64Array(B * C);
    cosine_similarity_backward_reference(wsame, wsame, dS, y, y, B, B, C, 3);
    assertAllClose(`cosine da = db C=${C}`, dsame, wsame, () => (2 * B + 4) * U * 3 * 2 * B);
  }
});

function fdCheck(f: (x: Float64Array) => number, x: Float64Array, g: Float64Array, what: string, tol = 1e-6) {
  const h = 1e-6;
  for (let k = 0; k < x.length; k++) {
    const xp = Float64Array.from(x); xp[k] += h;
    const xm = Float64Array.from(x); xm[k] -= h;
    const fd = (f(xp) - f(xm)) / (2 * h);
    assert.ok(Math.abs(fd - g[k]) <= tol * (1 + Math.abs(g[k])), `${what}[${k}]: finite difference ${fd} vs backward ${g[k]}`);
  }
}

test('finite differences: every reference backward is the derivative of its forward', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer(), (B, T, C, seed) => {
      const rand = mulberry32(seed);
      const mask = randomMask(rand, B, T);
      const x = Float64Array.from({ length: B * T * C }, () => rand() * 2 - 1);
      const gOut = Float64Array.from({ length: B * C }, () => rand() * 2 - 1);
      const pool = (z: Float64Array) => { const o = new Float64Array(B * C); mean_pool_forward_reference(o, z, mask, B, T, C); return o.reduce((s, v, i) => s + v * gOut[i], 0); };
      const dx = new Float64Array(B * T * C);
      mean_pool_backward_reference(dx, gOut, mask, B, T, C);
      fdCheck(pool, x, dx, 'mean_pool');

      const v = Float64Array.from({ length: B * C }, () => rand() * 2 - 1);
      const norm = (z: Float64Array) => { const o = new Float64Array(B * C); l2_normalize_forward_reference(o, new Float64Array(B), z, B, C); return o.reduce((s, q, i) => s + q * gOut[i], 0); };
      const y = new Float64Array(B * C), n = new Float64Array(B), dv = new Float64Array(B * C);
      l2_normalize_forward_reference(y, n, v, B, C);
      l2_normalize_backward_reference(dv, gOut, y, n, B, C);
      fdCheck(norm, v, dv, 'l2_normalize');

      const Bb = 1 + Math.floor(rand() * 4);
      const bm = Float64Array.from({ length: Bb * C }, () => rand() * 2 - 1);
      const gS = Float64Array.from({ length: B * Bb }, () => rand() * 2 - 1);
      const cosA = (z: Float64Array) => { const o = new Float64Array(B * Bb); cosine_similarity_forward_reference(o, z, bm, B, Bb, C, 3); return o.reduce((s, q, i) => s + q * gS[i], 0); };
      const cosB = (z: Float64Array) => { const o = new Float64Array(B * Bb); cosine_similarity_forward_reference(o, y, z, B, Bb, C, 3); return o.reduce((s, q, i) => s + q * gS[i], 0); };
      const da = new Float64Array(B * C), db = new Float64Array(Bb * C);
      cosine_similarity_backward_reference(da, db, gS, y, bm, B, Bb, C, 3);
      fdCheck(cosA, Float64Array.from(y), da, 'cosine da');
      fdCheck(cosB, bm, db, 'cosine db');
    }),
    { numRuns: 40 },
  );
});

interface TorchReduce {
  B: number; T: number; C: number; scale: number; half: number;
  x: number[]; mask: number[]; pooled: number[]; normalized: number[]; S: number[]; loss: number;
  dS: number[]; dnormalized: number[]; dpooled: number[]; dx: number[];
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/reduce_torch.json', import.meta.url), 'utf8')) as { cases: TorchReduce[] };

/** The whole contrastive chain on the GPU: pool → normalize → S = scale·a·bᵀ → CE(target i) → backward to x. */
async function contrastiveGpu(x: Float32Array, mask: Int32Array, B: number, T: number, C: number, half: number, scale: number) {
  const Ba = half, Bb = B > 1 ? B - half : B, bOff = B > 1 ? half : 0;
  const X = gpu.buffer(x), M = gpu.buffer(mask);
  const P = poisoned(gpu, B * C), Y = poisoned(gpu, B * C), NR = poisoned(gpu, B);
  const S = poisoned(gpu, Ba * Bb), L = poisoned(gpu, Ba), DY = poisoned(gpu, B * C), DP = poisoned(gpu, B * C), DX = poisoned(gpu, B * T * C);
  const n = Math.min(Ba, Bb);
  const T_ = gpu.buffer(Int32Array.from({ length: Ba }, (_, i) => (i < n ? i : -100)));
  // a and b are row ranges of Y; the b range must start on a 256-byte boundary, so copy it out.
  const Yb = poisoned(gpu, Bb * C), DYb = poisoned(gpu, Bb * C);
  const enc = gpu.encoder();
  mean_pool_forward(gpu, enc, P, X, M, B, T, C);
  l2_normalize_forward(gpu, enc, Y, NR, P, B, C);
  await enc.submit();
  const yAll = await gpu.read(Y);
  gpu.write(Yb, yAll.subarray(bOff * C, (bOff + Bb) * C));
  const enc2 = gpu.encoder();
  cosine_similarity_forward(gpu, enc2, S, Y, Yb, Ba, Bb, C, scale);
  softmax_cross_entropy(gpu, enc2, L, S, S, T_, Ba, Bb, { normalizer: n }); // in place: S becomes dS/scale-free dlogits
  cosine_similarity_backward(gpu, enc2, DY, DYb, S, Y, Yb, Ba, Bb, C, scale);
  await enc2.submit();
  const dyA = await gpu.read(DY, Float32Array, Ba * C);
  const dyB = await gpu.read(DYb);
  const dyAll = new Float32Array(B * C);
  dyAll.set(dyA);
  if (B > 1) dyAll.set(dyB, bOff * C); else for (let k = 0; k < C; k++) dyAll[k] += dyB[k];
  gpu.write(DY, dyAll);
  const enc3 = gpu.encoder();
  l2_normalize_backward(gpu, enc3, DP, DY, Y, NR, B, C);
  mean_pool_backward(gpu, enc3, DX, DP, M, B, T, C);
  await enc3.submit();
  const losses = await gpu.read(L);
  const out = { pooled: await gpu.read(P), y: yAll, loss: losses.reduce((s, v) => s + v, 0) / n, dx: await gpu.read(DX) };
  for (const q of [X, M, P, Y, NR, S, L, DY, DP, DX, T_, Yb, DYb]) q.destroy();
  return out;
}

test('the contrastive chain on the GPU matches PyTorch (pool, normalize, loss, dx; 1e-5 relative + 1e-5·scale absolute)', async () => {
  for (const tc of golden.cases) {
    const got = await contrastiveGpu(Float32Array.from(tc.x), Int32Array.from(tc.mask), tc.B, tc.T, tc.C, tc.half, tc.scale);
    const what = `torch B=${tc.B} T=${tc.T} C=${tc.C}`;
    assertAllClose(`${what} pooled`, got.pooled, tc.pooled, (i) => 1e-6 * (1 + Math.abs(tc.pooled[i])));
    assertAllClose(`${what} normalized`, got.y, tc.normalized, () => 1e-6);
    assert.ok(Math.abs(got.loss - tc.loss) <= 1e-5 * (1 + tc.loss) * tc.scale, `${what} loss ${got.loss} vs ${tc.loss}`);
    assertAllClose(`${what} dx`, got.dx, tc.dx, (i) => 1e-5 * tc.scale * (1 + Math.abs(tc.dx[i])));
  }
});

test('property: the contrastive loss is invariant to a common positive scale of the embeddings (GPU and reference)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 40 }), fc.integer(), fc.double({ min: 0.01, max: 100, noNaN: true }), async (B, C, seed, k) => {
      const rand = mulberry32(seed);
      const a = randomF32(rand, B * C, -1, 1);
      const b = randomF32(rand, B * C, -1, 1);
      const lossRef = (s: number) => {
        const ya = new Float64Array(B * C), yb = new Float64Array(B * C), S = new Float64Array(B * B), L = new Float64Array(B);
        l2_normalize_forward_reference(ya, new Float64Array(B), Array.from(a, (v) => v * s), B, C);
        l2_normalize_forward_reference(yb, new Float64Array(B), Array.from(b, (v) => v * s), B, C);
        cosine_similarity_forward_reference(S, ya, yb, B, B, C, 20);
        softmax_cross_entropy_reference(L, null, S, Array.from({ length: B }, (_, i) => i), B, B, { normalizer: B });
        return L.reduce((q, v) => q + v, 0) / B;
      };
      assert.ok(Math.abs(lossRef(1) - lossRef(k)) <= 1e-12 * (1 + lossRef(1)));
      const lossGpu = async (s: number) => {
        const A = gpu.buffer(a.map((v) => v * s)), Bv = gpu.buffer(b.map((v) => v * s));
        const YA = poisoned(gpu, B * C), YB = poisoned(gpu, B * C), N1 = poisoned(gpu, B), N2 = poisoned(gpu, B), S = poisoned(gpu, B * B), L = poisoned(gpu, B);
        const T_ = gpu.buffer(Int32Array.from({ length: B }, (_, i) => i));
        const enc = gpu.encoder();
        l2_normalize_forward(gpu, enc, YA, N1, A, B, C);
        l2_normalize_forward(gpu, enc, YB, N2, Bv, B, C);
        cosine_similarity_forward(gpu, enc, S, YA, YB, B, B, C, 20);
        softmax_cross_entropy(gpu, enc, L, null, S, T_, B, B, { normalizer: B });
        await enc.submit();
        const l = await gpu.read(L);
        for (const q of [A, Bv, YA, YB, N1, N2, S, L, T_]) q.destroy();
        return l.reduce((q, v) => q + v, 0) / B;
      };
      const l1 = await lossGpu(1);
      const lk = await lossGpu(k);
      // f32: normalised rows agree to ~C·2⁻²⁴, S to 20·that, the loss to ~1e-4 relative.
      assert.ok(Math.abs(l1 - lk) <= 1e-4 * (1 + l1), `loss ${l1} vs ${lk} at scale ${k}`);
    }),
    { numRuns: 15 },
  );
});

test('bad input fails before any dispatch', () => {
  const enc = gpu.encoder();
  const z = gpu.zeros(64);
  assert.throws(() => mean_pool_forward(gpu, enc, z, z, z, 2, 3, 4), /buffer 'out' holds 16 elements, needs 8|buffer 'inp' holds 16 elements, needs 24/);
  assert.throws(() => l2_normalize_forward(gpu, enc, z, z, z, 0, 4), /dimension rows=0/);
  assert.throws(() => l2_normalize_forward(gpu, enc, z, z, z, 2, 4, 0), /eps=0/);
  assert.throws(() => cosine_similarity_forward(gpu, enc, z, z, z, 3, 3, 3, Number.NaN), /scale=NaN/);
  assert.throws(() => cosine_similarity_backward(gpu, enc, z, z, z, z, z, 5, 5, 5), /needs 25/);
  assert.equal(enc.size, 0);
});
