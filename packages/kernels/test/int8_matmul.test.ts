// INT8: quantization (GPU vs reference, reconstruction bound through dequantize_int8_reference),
// packed integer matmul with dot4I8Packed and with the fallback (exact integer sums), error against
// fp32 (reported and bounded), bad input. Weights are quantised on the GPU with quantize_rows_int8 on
// their rows (per output channel; there is no separate weight launcher).
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertAllClose,
  dequantize_int8_reference,
  hasDot4I8Packed,
  int8_linear_forward,
  int8_linear_forward_reference,
  int8At,
  linear_forward_reference,
  mulberry32,
  openGpu,
  poisoned,
  quantize_rows_int8,
  quantize_rows_int8_reference,
  quantizeVariant,
  randomF32,
  setQuantizeVariant,
  subgroupMatmulUsable,
  type Gpu,
  type QuantizeVariant,
} from '../src/index.js';

let gpu: Gpu;
/** Quantization variants this device runs ('subgroup': 8 lanes per row, lavapipe's default; 'rows': any adapter). */
let variants: QuantizeVariant[] = ['rows'];
gpuForTests((g) => {
  gpu = g;
  if (subgroupMatmulUsable(gpu)) variants = ['subgroup', 'rows'];
}, () => setQuantizeVariant(null));

const U = 2 ** -24;

async function quantizeGpu(x: Float32Array, rows: number, K: number, variant?: QuantizeVariant) {
  const K4 = Math.ceil(K / 4);
  const X = gpu.buffer(x), Q = gpu.buffer(new Uint32Array(rows * K4).fill(0xdeadbeef)), S = poisoned(gpu, rows);
  const enc = gpu.encoder();
  setQuantizeVariant(variant ?? null);
  try {
    quantize_rows_int8(gpu, enc, Q, S, X, rows, K);
  } finally {
    setQuantizeVariant(null);
  }
  await enc.submit();
  const out = { q: await gpu.read(Q, Uint32Array), s: await gpu.read(S) };
  for (const b of [X, Q, S]) b.destroy();
  return out;
}

/** Checks a GPU quantization against the reference: scales, q (a ±1 step only at a rounding tie), padding, round trip (dequantized on the CPU). */
function checkQuantization(tag: string, x: Float32Array, rows: number, K: number, got: Awaited<ReturnType<typeof quantizeGpu>>) {
  const K4 = Math.ceil(K / 4);
  const q = new Uint32Array(rows * K4), s = new Float64Array(rows);
  quantize_rows_int8_reference(q, s, x, rows, K);
  const deq = new Float64Array(rows * K);
  dequantize_int8_reference(deq, got.q, got.s, rows, K);
  assertAllClose(`scales ${tag}`, got.s, s, (i) => 2 * U * s[i]);
  for (let r = 0; r < rows; r++) {
    const inv = s[r] > 0 ? 1 / s[r] : 0;
    for (let k = 0; k < 4 * K4; k++) {
      const g = int8At(got.q[r * K4 + (k >> 2)], k & 3);
      if (k >= K) { assert.equal(g, 0, `${tag}: padding byte ${k} of row ${r}`); continue; }
      const want = int8At(q[r * K4 + (k >> 2)], k & 3);
      const exact = x[r * K + k] * inv;
      const nearTie = Math.abs(Math.abs(exact - Math.trunc(exact)) - 0.5) < 1e-4;
      assert.ok(g === want || (nearTie && Math.abs(g - want) === 1), `${tag} row ${r} k ${k}: q ${g} vs ${want} (x/s = ${exact})`);
      // Dequantized value within half a step (+ f32 rounding of the scale).
      assert.ok(Math.abs(deq[r * K + k] - x[r * K + k]) <= got.s[r] * (0.5 + 1e-4) + 1e-30, `${tag} deq row ${r} k ${k}`);
    }
  }
}

test('quantization: GPU equals the reference (a ±1 step only at a rounding tie), |x − s·q| ≤ s/2, padding bytes 0, every variant', async (t) => {
  t.diagnostic(`quantization variants tested: ${variants.join(', ')}`);
  for (const variant of variants) {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer(), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), async (rows, K, seed, mag) => {
        const rand = mulberry32(seed);
        const x = randomF32(rand, rows * K, -mag, mag);
        if (rows > 1) x.fill(0, 0, K); // an all-zero row: scale 0, q 0
        checkQuantization(`${variant} ${rows}x${K}`, x, rows, K, await quantizeGpu(x, rows, K, variant));
      }),
      { numRuns: variant === 'subgroup' ? 20 : 15 },
    );
  }
});

test('quantization, ragged rows: K not a multiple of 4 (scalar loads, padding bytes), K < 8 words, rows = 1; variants give the same bits, every run', async () => {
  // K = 1, 3: one partial word; 5, 30, 130: scalar loads with a partial last word; 36: 9 words
  // (lanes past the end); 128, 516: vec4 rows, 516 with a partial last group of 8 words.
  for (const [i, K] of [1, 3, 5, 30, 36, 128, 130, 516].entries()) {
    for (const rows of [1, 3, 67]) {
      const rand = mulberry32(1000 * i + rows);
      const x = randomF32(rand, rows * K, -4, 4);
      // Exact ties (x/s = n + 0.5): a row whose max is 127, so s = 1 and x = 2.5 → 2, −3.5 → −4, 0.5 → 0.
      if (K >= 4) x.set([127, 2.5, -3.5, 0.5], (rows - 1) * K);
      const results = [];
      for (const variant of variants) {
        const got = await quantizeGpu(x, rows, K, variant);
        checkQuantization(`${variant} ${rows}x${K}`, x, rows, K, got);
        if (K >= 4) assert.deepEqual([1, 2, 3].map((k) => int8At(got.q[(rows - 1) * Math.ceil(K / 4)], k)), [2, -4, 0], `${variant}: ties to even`);
        const again = await quantizeGpu(x, rows, K, variant);
        assert.deepEqual(again.q, got.q, `${variant} ${rows}x${K}: q bits differ between runs`);
        assert.deepEqual(again.s, got.s, `${variant} ${rows}x${K}: scales differ between runs`);
        results.push(got);
      }
      for (const r of results.slice(1)) {
        assert.deepEqual(r.q, results[0].q, `${rows}x${K}: variants disagree on q`);
        assert.deepEqual(r.s, results[0].s, `${rows}x${K}: variants disagree on scales`);
      }
    }
  }
});

test('quantization variant choice: subgroup on lavapipe-like adapters for K ≤ 1024, rows otherwise and without subgroups', async () => {
  const sub = subgroupMatmulUsable(gpu) && gpu.adapterInfo.isSoftware;
  assert.equal(quantizeVariant(gpu, 1024), sub ? 'subgroup' : 'rows');
  assert.equal(quantizeVariant(gpu, 1), sub ? 'subgroup' : 'rows');
  assert.equal(quantizeVariant(gpu, 1025), 'rows');
  const plain = await openGpu({ disableFeatures: ['subgroups'] });
  try {
    assert.equal(quantizeVariant(plain, 128), 'rows');
    setQuantizeVariant('subgroup');
    assert.throws(() => quantizeVariant(plain, 128), /needs usable 8-lane subgroups/);
    if (subgroupMatmulUsable(gpu)) assert.throws(() => quantizeVariant(gpu, 1025), /takes K ≤ 1024, got K=1025/);
  } finally {
    setQuantizeVariant(null);
    plain.destroy();
  }
});

async function int8Gpu(x: Float32Array, w: Float32Array, bias: Float32Array | null, M: number, N: number, K: number, useDot4: boolean) {
  const K4 = Math.ceil(K / 4);
  const X = gpu.buffer(x), W = gpu.buffer(w), B = bias ? gpu.buffer(bias) : null;
  const QX = gpu.zeros(M * K4 * 4), SX = gpu.zeros(M * 4), QW = gpu.zeros(N * K4 * 4), SW = gpu.zeros(N * 4), O = poisoned(gpu, M * N);
  const enc = gpu.encoder();
  quantize_rows_int8(gpu, enc, QX, SX, X, M, K);
  quantize_rows_int8(gpu, enc, QW, SW, W, N, K); // per output channel: W's N rows
  int8_linear_forward(gpu, enc, O, QX, SX, QW, SW, B, M, N, K, { useDot4 });
  await enc.submit();
  const out = { out: await gpu.read(O), qx: await gpu.read(QX, Uint32Array), sx: await gpu.read(SX), qw: await gpu.read(QW, Uint32Array), sw: await gpu.read(SW) };
  for (const b of [X, W, B, QX, SX, QW, SW, O]) b?.destroy();
  return out;
}

test('int8 matmul: dot4I8Packed and fallback both equal the exact-integer reference (3 f32 roundings)', async (t) => {
  const modes = hasDot4I8Packed(gpu) ? [true, false] : [false];
  t.diagnostic(`packed_4x8_integer_dot_product: ${hasDot4I8Packed(gpu)}; testing ${modes.map((m) => (m ? 'dot4I8Packed' : 'fallback')).join(' + ')}`);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 200 }), fc.integer(), fc.boolean(), async (M, N, K, seed, withBias) => {
      const rand = mulberry32(seed);
      const x = randomF32(rand, M * K, -3, 3), w = randomF32(rand, N * K, -0.5, 0.5);
      const bias = withBias ? randomF32(rand, N) : null;
      for (const useDot4 of modes) {
        const got = await int8Gpu(x, w, bias, M, N, K, useDot4);
        const ref = new Float64Array(M * N);
        int8_linear_forward_reference(ref, got.qx, got.sx, got.qw, got.sw, bias, M, N, K);
        // The integer sum is exact; sx·sw·acc + bias rounds 3 times in f32.
        assertAllClose(`int8 ${M}x${N}x${K} ${useDot4 ? 'dot4' : 'fallback'}`, got.out, ref, (i) => 4 * U * (Math.abs(ref[i]) + (bias ? Math.abs(bias[i % N]) : 0)) + 1e-30);
      }
    }),
    { numRuns: 25 },
  );
});

test('int8 vs fp32 linear: error within the quantization bound Σ_k (|x|·sw + |w|·sx)/2 + sx·sw/4 (and reported)', async (t) => {
  const M = 64, N = 96, K = 256;
  const rand = mulberry32(42);
  const x = randomF32(rand, M * K, -2, 2), w = randomF32(rand, N * K, -0.3, 0.3), bias = randomF32(rand, N, -0.1, 0.1);
  const got = await int8Gpu(x, w, bias, M, N, K, hasDot4I8Packed(gpu));
  const fp = new Float64Array(M * N);
  linear_forward_reference(fp, x, w, bias, M, N, K);
  let num = 0, den = 0, worst = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let b = 0;
      for (let k = 0; k < K; k++) b += (Math.abs(x[m * K + k]) * got.sw[n] + Math.abs(w[n * K + k]) * got.sx[m]) / 2 + (got.sx[m] * got.sw[n]) / 4;
      const e = Math.abs(got.out[m * N + n] - fp[m * N + n]);
      assert.ok(e <= b * (1 + 1e-4) + 1e-5, `(${m},${n}): |int8 − fp32| = ${e} > bound ${b}`);
      num += e * e;
      den += fp[m * N + n] ** 2;
      worst = Math.max(worst, e / (Math.abs(fp[m * N + n]) + 1e-3));
    }
  }
  const rel = Math.sqrt(num / den);
  t.diagnostic(`int8 vs fp32 (M ${M}, N ${N}, K ${K}, uniform data): relative Frobenius error ${(rel * 100).toFixed(3)} %`);
  assert.ok(rel < 0.02, `relative error ${rel}`);
});

test('bad input fails before any dispatch', () => {
  const enc = gpu.encoder();
  const z = gpu.zeros(64);
  assert.throws(() => quantize_rows_int8(gpu, enc, z, z, z, 0, 4), /dimension rows=0/);
  assert.throws(() => quantize_rows_int8(gpu, enc, z, z, z, 4, 5), /buffer 'x' holds 16 elements, needs 20/);
  assert.throws(() => int8_linear_forward(gpu, enc, z, z, z, z, z, null, 4, 4, 100), /buffer 'qx' holds 16 elements, needs 100/);
  if (!hasDot4I8Packed(gpu)) assert.throws(() => int8_linear_forward(gpu, enc, z, z, z, z, z, null, 1, 1, 4, { useDot4: true }), /lacks the WGSL language feature/);
  assert.equal(enc.size, 0);
});
