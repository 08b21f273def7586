// matmul_forward on the GPU against its float64 reference, over random shapes and values.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertAllClose,
  matmul_forward,
  matmul_forward_reference,
  mulberry32,
  poisoned,
  randomF32,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

// Error bound, per element: |gpu − ref| ≤ 2·K·2⁻²⁴ · (Σₖ |a_ik·b_kj| + |bias_j|).
// That is the worst-case bound of a K-term f32 dot product (Higham), doubled for the f32
// rounding of the inputs; ref sees the same f32-rounded inputs.
function bound(a: Float32Array, b: Float32Array, bias: Float32Array | null, M: number, N: number, K: number) {
  return (idx: number) => {
    const i = Math.floor(idx / N);
    const j = idx % N;
    let mag = bias ? Math.abs(bias[j]) : 0;
    for (let k = 0; k < K; k++) mag += Math.abs(a[i * K + k] * b[k * N + j]);
    return 2 * (K + 1) * 2 ** -24 * mag + 1e-30;
  };
}

const dim = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 150 }));

async function runCase(M: number, N: number, K: number, withBias: boolean, seed: number) {
  const rand = mulberry32(seed);
  const a = randomF32(rand, M * K, -2, 2);
  const b = randomF32(rand, K * N, -2, 2);
  const bias = withBias ? randomF32(rand, N) : null;
  const A = gpu.buffer(a, 'a');
  const B = gpu.buffer(b, 'b');
  const BIAS = bias ? gpu.buffer(bias, 'bias') : null;
  const C = poisoned(gpu, M * N, 'c');
  const enc = gpu.encoder();
  matmul_forward(gpu, enc, C, A, B, BIAS, M, N, K);
  await enc.submit();
  const got = await gpu.read(C);
  const want = new Float64Array(M * N);
  matmul_forward_reference(want, a, b, bias, M, N, K);
  for (const x of [A, B, BIAS, C]) x?.destroy();
  assertAllClose(`matmul ${M}x${N}x${K}${withBias ? '+bias' : ''}`, got, want, bound(a, b, bias, M, N, K));
}

test('matmul_forward matches the float64 reference on random shapes and values', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, fc.boolean(), fc.integer(), async (M, N, K, withBias, seed) => {
      await runCase(M, N, K, withBias, seed);
    }),
    { numRuns: 40 },
  );
});

test('matmul_forward at a BERT shape (QKV projection 256×128×384, with bias)', async () => {
  await runCase(256, 384, 128, true, 7);
});

test('matmul_forward rejects bad shapes before dispatching', () => {
  const enc = gpu.encoder();
  const small = gpu.zeros(16);
  assert.throws(() => matmul_forward(gpu, enc, small, small, small, null, 0, 2, 2), /dimension M=0/);
  assert.throws(() => matmul_forward(gpu, enc, small, small, small, null, 2.5, 2, 2), /dimension M=2.5/);
  assert.throws(() => matmul_forward(gpu, enc, small, small, small, null, 4, 4, 4), /buffer 'a' holds 4 elements, needs 16/);
  assert.equal(enc.size, 0);
});

test('the reference is a real matmul (hand-worked 2×2)', () => {
  const c = new Float64Array(4);
  matmul_forward_reference(c, [1, 2, 3, 4], [5, 6, 7, 8], [0.5, -1], 2, 2, 2);
  assert.deepEqual(Array.from(c), [19.5, 21, 43.5, 49]);
});
