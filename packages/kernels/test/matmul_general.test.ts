// matmul (general), linear_forward/backward and bias_backward on the GPU against their float64
// references, for every variant forced explicitly; the references' backward against finite
// differences; bad input rejected before anything is recorded.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertAllClose,
  bias_backward,
  bias_backward_reference,
  linear_backward,
  linear_backward_reference,
  linear_forward,
  linear_forward_reference,
  matmul,
  matmul_reference,
  matmulVariantFor,
  mulberry32,
  openGpu,
  poisoned,
  probeSubgroupSize,
  randomF32,
  subgroupMatmulUsable,
  type Gpu,
  type MatmulShape,
  type MatmulVariant,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests(async (g) => {
  gpu = g;
  await probeSubgroupSize(gpu);
});

const U = 2 ** -24; // unit roundoff of f32

// Per-element bound for out = alpha·Σ_k x_k·y_k + bias + old: the worst-case error of a K-term f32
// dot product is K·u·Σ|x_k·y_k| (Higham); we allow 2·(K+2)·u times the magnitude of every term
// that enters the element (products scaled by |alpha|, bias, old value), plus a tiny floor.
function magnitudes(a: ArrayLike<number>, b: ArrayLike<number>, bias: ArrayLike<number> | null, old: ArrayLike<number> | null, s: MatmulShape): Float64Array {
  const ones = new Float64Array(span(s, 'out'));
  const absA = Float64Array.from(a, Math.abs);
  const absB = Float64Array.from(b, Math.abs);
  matmul_reference(ones, absA, absB, bias ? Float64Array.from(bias, Math.abs) : null, { ...s, alpha: Math.abs(s.alpha ?? 1), accumulate: false });
  if (old && s.accumulate) for (let i = 0; i < ones.length; i++) ones[i] += Math.abs(old[i]);
  return ones;
}

function span(s: MatmulShape, which: 'a' | 'b' | 'out'): number {
  const batch = s.batch ?? 1;
  const one = which === 'a' ? s.M * s.K : which === 'b' ? s.K * s.N : s.M * s.N;
  const stride = which === 'a' ? (s.strideA ?? one) : which === 'b' ? (s.strideB ?? one) : (s.strideOut ?? one);
  return (batch - 1) * stride + one;
}

function variants(): MatmulVariant[] {
  const v: MatmulVariant[] = ['register', 'tiled', 'naive'];
  if (subgroupMatmulUsable(gpu)) v.unshift('subgroup');
  return v;
}

async function checkMatmul(s: MatmulShape, withBias: boolean, seed: number, variant: MatmulVariant, maxDispatchFlops?: number) {
  const rand = mulberry32(seed);
  const a = randomF32(rand, span(s, 'a'), -2, 2);
  const b = randomF32(rand, span(s, 'b'), -2, 2);
  const bias = withBias ? randomF32(rand, s.N) : null;
  const nOut = span(s, 'out');
  // Accumulating needs real old values; overwriting starts from NaN so an unwritten element fails.
  // Gaps between strided batch items must stay untouched (NaN in, NaN out).
  const old = s.accumulate ? randomF32(rand, nOut) : new Float32Array(nOut).fill(Number.NaN);
  const A = gpu.buffer(a, 'a');
  const B = gpu.buffer(b, 'b');
  const BIAS = bias ? gpu.buffer(bias, 'bias') : null;
  const OUT = s.accumulate ? gpu.buffer(old, 'out') : poisoned(gpu, nOut, 'out');
  const enc = gpu.encoder();
  matmul(gpu, enc, { ...s, out: OUT, a: A, b: B, bias: BIAS, variant, maxDispatchFlops });
  await enc.submit();
  const got = await gpu.read(OUT, Float32Array, nOut);
  const want = Float64Array.from(old);
  matmul_reference(want, a, b, bias, s);
  for (const x of [A, B, BIAS, OUT]) x?.destroy();
  const mag = magnitudes(a, b, bias, old, s);
  assertAllClose(`${variant} ${JSON.stringify(s)}${withBias ? ' +bias' : ''}`, got, want, (i) => 2 * (s.K + 2) * U * mag[i] + 1e-30);
}

// 1, small primes, and sizes around and past the tiles (8, 16, 64, 512 columns).
const dim = fc.oneof(
  fc.constant(1),
  fc.constantFrom(2, 3, 5, 7, 13, 17, 31, 61, 67, 127),
  fc.integer({ min: 1, max: 140 }),
);

const shapeArb = fc
  .record({
    M: dim,
    N: dim,
    K: dim,
    transA: fc.boolean(),
    transB: fc.boolean(),
    accumulate: fc.boolean(),
    alpha: fc.oneof(fc.constant(1), fc.double({ min: -2, max: 2, noNaN: true })),
    batch: fc.integer({ min: 1, max: 3 }),
    gapA: fc.constantFrom(0, 3, 4),
    gapB: fc.constantFrom(0, 5, 8),
    gapOut: fc.constantFrom(0, 7),
    shareB: fc.boolean(),
  })
  .map((r): MatmulShape => ({
    M: r.M,
    N: r.N,
    K: r.K,
    transA: r.transA,
    transB: r.transB,
    accumulate: r.accumulate,
    alpha: Math.fround(r.alpha),
    batch: r.batch,
    strideA: r.M * r.K + r.gapA,
    // strideB = 0: one B for every batch item (a weight shared across heads).
    strideB: r.shareB ? 0 : r.K * r.N + r.gapB,
    strideOut: r.M * r.N + r.gapOut,
  }));

for (const variant of ['subgroup', 'register', 'tiled', 'naive'] as const) {
  test(`matmul '${variant}' matches the float64 reference (random shapes, layouts, batches, alpha, bias, accumulate)`, async (t) => {
    if (!variants().includes(variant)) {
      t.skip('no 8-lane subgroups on this device');
      return;
    }
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.boolean(), fc.integer(), async (s, withBias, seed) => {
        await checkMatmul(s, withBias, seed, variant);
      }),
      { numRuns: variant === 'naive' ? 15 : 30, seed: 0x6d61746d },
    );
  });
}

test('matmul splits large problems into several dispatches without changing the result', async () => {
  for (const variant of variants()) {
    for (const accumulate of [false, true]) {
      // A budget of one tile's work forces a split over rows and over batch items.
      const s: MatmulShape = { M: 70, N: 72, K: 33, batch: 3, accumulate, transA: accumulate };
      await checkMatmul(s, true, 11, variant, 2 * 72 * 33 * 4);
      const enc = gpu.encoder();
      const big = gpu.zeros(3 * 70 * 72 * 4);
      const out = gpu.zeros(3 * 70 * 72 * 4);
      matmul(gpu, enc, { ...s, out, a: big, b: big, variant, maxDispatchFlops: 2 * 72 * 33 * 4 });
      assert.ok(enc.size > 3, `${variant}: expected a split, got ${enc.size} dispatch(es)`);
      big.destroy();
      out.destroy();
    }
  }
});

test('matmul variants at BERT shapes agree with the reference (QKV 256×384×128 Aᵀ-free, weight grad 128×96×300 Aᵀ)', async () => {
  for (const variant of variants().filter((v) => v !== 'naive')) {
    await checkMatmul({ M: 256, N: 384, K: 128, transB: true }, true, 3, variant);
    await checkMatmul({ M: 128, N: 96, K: 300, transA: true, accumulate: true }, false, 4, variant);
  }
});

test('K a multiple of 1024 (the vec4-A walk of the subgroup variant): ragged M and N, batches with gaps, split dispatches', async () => {
  for (const variant of variants().filter((v) => v !== 'naive')) {
    await checkMatmul({ M: 19, N: 12, K: 1024, batch: 2, strideA: 19 * 1024 + 4, strideB: 1024 * 12 + 8, strideOut: 19 * 12 + 3, accumulate: true, alpha: 0.5 }, true, 21, variant);
    await checkMatmul({ M: 33, N: 5, K: 2048, transB: true }, false, 22, variant);
    await checkMatmul({ M: 40, N: 70, K: 1024 }, true, 23, variant, 2 * 70 * 1024 * 16);
  }
});

// The subgroup variant uses 24-row tiles, or 16 where 24 would pad M by over 5 % more rows or A is
// walked as vec4: 23, 24, 47, 71, 143 take 24 rows (ragged or exact), 25, 49, 121 take 16.
test('row counts at the edges of the subgroup row tiles (24 and 16 rows): every layout, K on both walks of A', async () => {
  for (const variant of variants().filter((v) => v !== 'naive')) {
    let seed = 40;
    for (const M of [23, 24, 25, 47, 49, 71, 121, 143]) {
      for (const [transA, transB] of [[false, false], [true, false], [false, true]] as const) {
        await checkMatmul({ M, N: 72, K: 37, transA, transB, accumulate: transA }, true, seed++, variant);
      }
    }
    // vec4 walk of A (K % 1024 == 0) with a ragged last row tile.
    await checkMatmul({ M: 49, N: 64, K: 1024 }, false, seed++, variant);
  }
});

test('several A·Bᵀ products in one encoder share the Bᵀ scratch buffer without clobbering each other', async () => {
  for (const variant of variants()) {
    const rand = mulberry32(21);
    const shapes = [
      { M: 20, N: 24, K: 16 },
      { M: 9, N: 64, K: 12 }, // a larger Bᵀ: the scratch may grow between the two recordings
      { M: 20, N: 24, K: 16 },
    ];
    const data = shapes.map((s) => ({ s, a: randomF32(rand, s.M * s.K), b: randomF32(rand, s.N * s.K) }));
    const bufs = data.map((d) => ({ A: gpu.buffer(d.a), B: gpu.buffer(d.b), OUT: poisoned(gpu, d.s.M * d.s.N) }));
    const enc = gpu.encoder();
    data.forEach((d, i) => matmul(gpu, enc, { ...d.s, transB: true, out: bufs[i].OUT, a: bufs[i].A, b: bufs[i].B, variant }));
    await enc.submit();
    for (const [i, d] of data.entries()) {
      const want = new Float64Array(d.s.M * d.s.N);
      matmul_reference(want, d.a, d.b, null, { ...d.s, transB: true });
      const mag = magnitudes(d.a, d.b, null, null, { ...d.s, transB: true });
      assertAllClose(`${variant} product ${i}`, await gpu.read(bufs[i].OUT), want, (j) => 2 * (d.s.K + 2) * U * mag[j]);
    }
    for (const b of bufs) for (const x of Object.values(b)) x.destroy();
  }
});

test('the default variant follows the adapter (subgroup on lavapipe with 8-lane subgroups)', () => {
  const v = matmulVariantFor(gpu);
  if (!gpu.adapterInfo.isSoftware) assert.equal(v, 'tiled');
  else assert.equal(v, subgroupMatmulUsable(gpu) ? 'subgroup' : 'register');
});

test('a device without subgroups falls back to the register variant and refuses a forced subgroup one', async () => {
  const plain = await openGpu({ disableFeatures: ['subgroups'] });
  try {
    assert.equal(subgroupMatmulUsable(plain), false);
    if (plain.adapterInfo.isSoftware) assert.equal(matmulVariantFor(plain), 'register');
    const x = plain.zeros(64);
    const y = plain.zeros(64);
    assert.throws(
      () => matmul(plain, plain.encoder(), { out: y, a: x, b: x, M: 2, N: 2, K: 2, variant: 'subgroup' }),
      /needs the 'subgroups' feature|needs 8-lane subgroups/,
    );
    assert.equal(await probeSubgroupSize(plain), 0);
  } finally {
    plain.destroy();
  }
});

// ---------------------------------------------------------------------------------------------
// Linear layer and bias gradient.

test('linear_forward / linear_backward / bias_backward match their references (random shapes)', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, fc.boolean(), fc.boolean(), fc.integer(), async (M, N, K, withBias, accumulateDinp, seed) => {
      const rand = mulberry32(seed);
      const inp = randomF32(rand, M * K, -2, 2);
      const weight = randomF32(rand, N * K, -1, 1);
      const bias = withBias ? randomF32(rand, N) : null;
      const dout = randomF32(rand, M * N, -1, 1);
      // Parameter gradients start from values (+= is part of the contract); dinp too when accumulating.
      const dweight0 = randomF32(rand, N * K);
      const dbias0 = randomF32(rand, N);
      const dinp0 = randomF32(rand, M * K);
      const INP = gpu.buffer(inp), W = gpu.buffer(weight), BIAS = bias ? gpu.buffer(bias) : null;
      const DOUT = gpu.buffer(dout), OUT = poisoned(gpu, M * N);
      const DINP = accumulateDinp ? gpu.buffer(dinp0) : poisoned(gpu, M * K);
      const DW = gpu.buffer(dweight0), DB = gpu.buffer(dbias0);
      const enc = gpu.encoder();
      linear_forward(gpu, enc, OUT, INP, W, BIAS, M, N, K);
      linear_backward(gpu, enc, DINP, DW, DB, DOUT, INP, W, M, N, K, accumulateDinp);
      await enc.submit();
      const [out, dinp, dw, db] = [await gpu.read(OUT), await gpu.read(DINP), await gpu.read(DW), await gpu.read(DB)];
      for (const x of [INP, W, BIAS, DOUT, OUT, DINP, DW, DB]) x?.destroy();

      const wantOut = new Float64Array(M * N);
      linear_forward_reference(wantOut, inp, weight, bias, M, N, K);
      const wantDinp = Float64Array.from(dinp0);
      const wantDw = Float64Array.from(dweight0);
      const wantDb = Float64Array.from(dbias0);
      linear_backward_reference(wantDinp, wantDw, wantDb, dout, inp, weight, M, N, K, accumulateDinp);
      // Magnitude bounds: |inp|≤2, |w|≤1, |dout|≤1, |bias|,|old|≤1, so each term is ≤ 2.
      assertAllClose('linear_forward', out, wantOut, () => 2 * (K + 2) * U * (2 * K + 1));
      assertAllClose('linear_backward dinp', dinp, wantDinp, () => 2 * (N + 2) * U * (N + 1));
      assertAllClose('linear_backward dweight', dw, wantDw, () => 2 * (M + 2) * U * (2 * M + 1));
      assertAllClose('linear_backward dbias', db, wantDb, () => 2 * (M + 2) * U * (M + 1));
    }),
    { numRuns: 25, seed: 0x6c696e },
  );
});

test('linear_backward with only some gradients (frozen weight, no bias) touches only those', async () => {
  const M = 9, N = 10, K = 11;
  const rand = mulberry32(5);
  const inp = gpu.buffer(randomF32(rand, M * K)), w = gpu.buffer(randomF32(rand, N * K)), dout = gpu.buffer(randomF32(rand, M * N));
  const dinp = poisoned(gpu, M * K);
  const enc = gpu.encoder();
  linear_backward(gpu, enc, dinp, null, null, dout, inp, w, M, N, K);
  assert.equal(enc.size, 1);
  await enc.submit();
  assert.ok((await gpu.read(dinp)).every(Number.isFinite));
});

test('bias_backward adds column sums, the same bits every run, with many row blocks (M = 65573)', async () => {
  const M = 2 ** 22 / 64 + 37; // taller than one dispatch's share of rows when N = 64
  const N = 64;
  const rand = mulberry32(9);
  const dout = randomF32(rand, M * N);
  const start = randomF32(rand, N);
  const DOUT = gpu.buffer(dout);
  const runs: Float32Array[] = [];
  for (let r = 0; r < 2; r++) {
    const DB = gpu.buffer(start);
    const enc = gpu.encoder();
    bias_backward(gpu, enc, DB, DOUT, M, N);
    await enc.submit();
    runs.push(await gpu.read(DB));
    DB.destroy();
  }
  DOUT.destroy();
  assert.deepEqual(runs[0], runs[1]);
  const want = Float64Array.from(start);
  bias_backward_reference(want, dout, M, N);
  assertAllClose('bias_backward', runs[0], want, () => 2 * (M + 2) * U * (M + 1));
});

test('bias_backward: vec4 and scalar paths, one and several row blocks, dout bound as a range', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 700 }), fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(4, 8, 64, 132)), fc.integer(), async (M, N, seed) => {
      const rand = mulberry32(seed);
      const dout = randomF32(rand, M * N, -2, 2);
      const start = randomF32(rand, N);
      // dout at byte offset 256 of a larger buffer (a range, as the trainer's flat stores bind it).
      const DOUT = poisoned(gpu, 64 + M * N);
      gpu.write(DOUT, dout, 256);
      const DB = gpu.buffer(start);
      const enc = gpu.encoder();
      bias_backward(gpu, enc, DB, { buffer: DOUT, offset: 256, size: M * N * 4 }, M, N);
      await enc.submit();
      const got = await gpu.read(DB);
      DOUT.destroy();
      DB.destroy();
      const want = Float64Array.from(start);
      bias_backward_reference(want, dout, M, N);
      const mag = new Float64Array(N);
      for (let i = 0; i < M * N; i++) mag[i % N] += Math.abs(dout[i]);
      assertAllClose(`bias_backward M=${M} N=${N}`, got, want, (j) => 2 * (M + 2) * U * (mag[j] + Math.abs(start[j])));
    }),
    { numRuns: 25 },
  );
});

// ---------------------------------------------------------------------------------------------
// The references' gradients against central finite differences (float64, the reference is the spec).

test('linear_backward_reference is the gradient of linear_forward_reference (finite differences)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (M, N, K, seed) => {
      const rand = mulberry32(seed);
      const r = (n: number) => Float64Array.from({ length: n }, () => rand() * 2 - 1);
      const inp = r(M * K), weight = r(N * K), bias = r(N), g = r(M * N);
      // L = Σ g ⊙ linear(inp, weight, bias): dL/dout = g.
      const loss = () => {
        const out = new Float64Array(M * N);
        linear_forward_reference(out, inp, weight, bias, M, N, K);
        return out.reduce((s, v, i) => s + v * g[i], 0);
      };
      const dinp = new Float64Array(M * K), dw = new Float64Array(N * K), db = new Float64Array(N);
      linear_backward_reference(dinp, dw, db, g, inp, weight, M, N, K);
      const h = 1e-6;
      for (const [x, grad, what] of [[inp, dinp, 'dinp'], [weight, dw, 'dweight'], [bias, db, 'dbias']] as const) {
        for (let i = 0; i < x.length; i++) {
          const keep = x[i];
          x[i] = keep + h;
          const up = loss();
          x[i] = keep - h;
          const down = loss();
          x[i] = keep;
          const fd = (up - down) / (2 * h);
          assert.ok(Math.abs(fd - grad[i]) <= 1e-7 * (1 + Math.abs(fd)), `${what}[${i}]: fd ${fd} vs ${grad[i]}`);
        }
      }
    }),
    { numRuns: 30, seed: 0x6664 },
  );
});

test('matmul_reference worked example: Aᵀ·B with alpha, bias and accumulate', () => {
  // a stored (K=2, M=2) = [[1,2],[3,4]] → op(a) = [[1,3],[2,4]]; b (2×2) = [[5,6],[7,8]].
  // op(a)·b = [[26,30],[38,44]]; ·0.5 = [[13,15],[19,22]]; + bias [1,-1]; + old [1,1,1,1].
  const out = new Float64Array([1, 1, 1, 1]);
  matmul_reference(out, [1, 2, 3, 4], [5, 6, 7, 8], [1, -1], { M: 2, N: 2, K: 2, transA: true, alpha: 0.5, accumulate: true });
  assert.deepEqual(Array.from(out), [15, 15, 21, 22]);
});

// ---------------------------------------------------------------------------------------------
// Bad input: a clear error before anything is recorded.

test('matmul, linear_* and bias_backward reject bad input before recording anything', () => {
  const enc = gpu.encoder();
  const small = gpu.zeros(16); // 4 elements
  const big = gpu.zeros(4096);
  const big2 = gpu.zeros(4096);
  const mm = (extra: Partial<Parameters<typeof matmul>[2]>) => () =>
    matmul(gpu, enc, { out: big2, a: big, b: big, M: 2, N: 2, K: 2, ...extra });
  assert.throws(mm({ M: 0 }), /matmul: dimension M=0 must be a positive integer/);
  assert.throws(mm({ K: 1.5 }), /dimension K=1.5/);
  assert.throws(mm({ batch: -1 }), /dimension batch=-1/);
  assert.throws(mm({ N: Number.NaN }), /dimension N=NaN/);
  assert.throws(mm({ a: small, M: 3 }), /matmul: buffer 'a' holds 4 elements, needs 6/);
  assert.throws(mm({ b: small, batch: 2 }), /buffer 'b' holds 4 elements, needs 8/);
  assert.throws(mm({ out: small, batch: 2, strideOut: 5 }), /buffer 'out' holds 4 elements, needs 9/);
  assert.throws(mm({ bias: gpu.zeros(4), N: 3 }), /buffer 'bias' holds 1 elements, needs 3/);
  assert.throws(mm({ strideA: -4 }), /strideA=-4 must be a non-negative integer/);
  assert.throws(mm({ batch: 2, strideOut: 3 }), /strideOut=3 < M·N=4/);
  assert.throws(mm({ alpha: Number.POSITIVE_INFINITY }), /alpha=Infinity must be a finite number/);
  assert.throws(mm({ variant: 'fast' as MatmulVariant }), /unknown variant 'fast'/);
  assert.throws(mm({ out: big, a: big }), /matmul: 'out' overlaps 'a'/);
  const flat = gpu.zeros(2048);
  assert.throws(mm({ out: { buffer: flat, offset: 256, size: 256 }, a: { buffer: flat, offset: 0, size: 512 }, b: small }), /'out' overlaps 'a'/);
  // Disjoint ranges of one buffer are fine (a flat parameter store).
  matmul(gpu, gpu.encoder(), { out: { buffer: flat, offset: 512, size: 16 }, a: { buffer: flat, offset: 0, size: 16 }, b: small, M: 2, N: 2, K: 2 });
  assert.throws(() => linear_forward(gpu, enc, big, big, small, null, 2, 3, 2), /linear_forward: buffer 'weight' holds 4 elements, needs 6/);
  assert.throws(() => linear_backward(gpu, enc, big, big, small, big, big, big, 2, 8, 2), /linear_backward: buffer 'dbias' holds 4 elements, needs 8/);
  assert.throws(() => linear_backward(gpu, enc, null, null, null, big, big, big, 2, 0, 2), /linear_backward: dimension N=0/);
  assert.throws(() => bias_backward(gpu, enc, small, big, 2, 5), /bias_backward: buffer 'dbias' holds 4 elements, needs 5/);
  assert.throws(() => bias_backward(gpu, enc, big, small, 3, 2), /bias_backward: buffer 'dout' holds 4 elements, needs 6/);
  assert.throws(() => matmul_reference(new Float64Array(3), [1, 2, 3, 4], [1, 2, 3, 4], null, { M: 2, N: 2, K: 2 }), /matmul_reference: array 'out' has 3 elements, needs 4/);
  assert.equal(enc.size, 0);
});
