// LoRA: forward, backward (x, A, B; W frozen), the float64 merge. GPU vs float64 reference
// (fast-check), finite differences of the reference backward, PyTorch goldens, bad input.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose,
  linear_forward,
  linear_forward_reference,
  lora_adapter_backward,
  lora_adapter_forward,
  lora_backward,
  lora_backward_reference,
  lora_forward,
  lora_forward_reference,
  lora_merge_reference,
  mulberry32,
  poisoned,
  randomF32,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const U = 2 ** -24;

/** Σ-of-|products| bound of an n-term f32 dot product (Higham), doubled. */
function dotBound(n: number, mag: number): number {
  return 2 * (n + 2) * U * mag + 1e-30;
}

function absDot(a: ArrayLike<number>, ai: (k: number) => number, b: ArrayLike<number>, bi: (k: number) => number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.abs(a[ai(k)] * b[bi(k)]);
  return s;
}

interface Shapes { M: number; N: number; K: number; r: number }

async function runCase({ M, N, K, r }: Shapes, seed: number, withBias: boolean, scale: number, accumulate: boolean) {
  const rand = mulberry32(seed);
  const x = randomF32(rand, M * K), W = randomF32(rand, N * K), A = randomF32(rand, r * K), B = randomF32(rand, N * r);
  const bias = withBias ? randomF32(rand, N) : null;
  const dout = randomF32(rand, M * N);
  const dA0 = randomF32(rand, r * K), dB0 = randomF32(rand, N * r), dx0 = randomF32(rand, M * K);
  const bx = gpu.buffer(x), bW = gpu.buffer(W), bA = gpu.buffer(A), bB = gpu.buffer(B), bbias = bias ? gpu.buffer(bias) : null, bdout = gpu.buffer(dout);
  const out = poisoned(gpu, M * N), xa = poisoned(gpu, M * r);
  const dA = gpu.buffer(dA0), dB = gpu.buffer(dB0), dx = accumulate ? gpu.buffer(dx0) : poisoned(gpu, M * K);
  const enc = gpu.encoder();
  lora_forward(gpu, enc, out, xa, bx, bW, bbias, bA, bB, M, N, K, r, scale);
  lora_backward(gpu, enc, dx, dA, dB, bdout, bx, xa, bW, bA, bB, M, N, K, r, scale, accumulate);
  await enc.submit();
  const got = { out: await gpu.read(out), xa: await gpu.read(xa), dx: await gpu.read(dx), dA: await gpu.read(dA), dB: await gpu.read(dB) };
  for (const b of [bx, bW, bA, bB, bbias, bdout, out, xa, dA, dB, dx]) b?.destroy();
  const ref = { out: new Float64Array(M * N), xa: new Float64Array(M * r), dx: accumulate ? Float64Array.from(dx0) : new Float64Array(M * K), dA: Float64Array.from(dA0), dB: Float64Array.from(dB0) };
  lora_forward_reference(ref.out, ref.xa, x, W, bias, A, B, M, N, K, r, scale);
  // The backward reference reads the GPU's xa (checked separately) so its bound is its own.
  lora_backward_reference(ref.dx, ref.dA, ref.dB, dout, x, got.xa, W, A, B, M, N, K, r, scale, accumulate);
  const s = Math.abs(scale);
  // Bounds: each output is a sum of dot products; the bound is the Higham bound of the longest
  // one over Σ|terms| (inputs are in [-1, 1], so Σ|terms| ≤ length), plus |initial value|·U for +=.
  assertAllClose('xa', got.xa, ref.xa, () => dotBound(K, K));
  assertAllClose('out', got.out, ref.out, () => dotBound(K + r, K + 1 + s * r * K));
  assertAllClose('dB', got.dB, ref.dB, (i) => dotBound(M, s * M * K) + 2 * U * Math.abs(ref.dB[i]));
  assertAllClose('dA', got.dA, ref.dA, (i) => dotBound(M + N, s * M * N) + 2 * U * Math.abs(ref.dA[i]));
  assertAllClose('dx', got.dx, ref.dx, (i) => dotBound(N + r + N, N + s * N * r) + 2 * U * Math.abs(ref.dx[i]));
}

const dim = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 14, max: 90 }));

test('forward and backward: GPU vs reference on random shapes (r = 1, M = 1, ragged tiles)', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, fc.integer({ min: 1, max: 16 }), fc.integer(), fc.boolean(), fc.double({ min: -4, max: 4, noNaN: true }), fc.boolean(), async (M, N, K, r, seed, withBias, scale, acc) => {
      await runCase({ M, N, K, r }, seed, withBias, scale, acc);
    }),
    { numRuns: 30 },
  );
});

// The adapter alone (what the model calls on top of its own linear layer), with an adapter input
// xd ≠ x as under LoRA dropout: equal to the fused reference with W = 0 on xd, added to x·Wᵀ + b.
test('adapter forward/backward alone: on top of linear_forward, separate adapter input, dx written or added', async () => {
  await fc.assert(
    fc.asyncProperty(dim, dim, dim, fc.integer({ min: 1, max: 12 }), fc.integer(), fc.double({ min: -4, max: 4, noNaN: true }), fc.boolean(), fc.boolean(),
      async (M, N, K, r, seed, scale, acc, ownG) => {
        const rand = mulberry32(seed);
        const x = randomF32(rand, M * K), xd = randomF32(rand, M * K), W = randomF32(rand, N * K), b = randomF32(rand, N);
        const A = randomF32(rand, r * K), B = randomF32(rand, N * r), dout = randomF32(rand, M * N);
        const dA0 = randomF32(rand, r * K), dB0 = randomF32(rand, N * r), dx0 = randomF32(rand, M * K);
        const bx = gpu.buffer(x), bxd = gpu.buffer(xd), bW = gpu.buffer(W), bb = gpu.buffer(b), bA = gpu.buffer(A), bB = gpu.buffer(B), bdout = gpu.buffer(dout);
        const out = poisoned(gpu, M * N), xa = poisoned(gpu, M * r), g = ownG ? poisoned(gpu, M * r) : null;
        const dA = gpu.buffer(dA0), dB = gpu.buffer(dB0), dx = acc ? gpu.buffer(dx0) : poisoned(gpu, M * K);
        const enc = gpu.encoder();
        linear_forward(gpu, enc, out, bx, bW, bb, M, N, K);
        lora_adapter_forward(gpu, enc, out, xa, bxd, bA, bB, M, N, K, r, scale);
        lora_adapter_backward(gpu, enc, dx, dA, dB, bdout, bxd, xa, bA, bB, M, N, K, r, scale, acc, g);
        await enc.submit();
        const got = { out: await gpu.read(out), xa: await gpu.read(xa), dx: await gpu.read(dx), dA: await gpu.read(dA), dB: await gpu.read(dB) };
        for (const buf of [bx, bxd, bW, bb, bA, bB, bdout, out, xa, g, dA, dB, dx]) buf?.destroy();
        const zeroW = new Float64Array(N * K);
        const base = new Float64Array(M * N), adapter = new Float64Array(M * N), xaRef = new Float64Array(M * r);
        linear_forward_reference(base, x, W, b, M, N, K);
        lora_forward_reference(adapter, xaRef, xd, zeroW, null, A, B, M, N, K, r, scale);
        const ref = { dx: acc ? Float64Array.from(dx0) : new Float64Array(M * K), dA: Float64Array.from(dA0), dB: Float64Array.from(dB0) };
        lora_backward_reference(ref.dx, ref.dA, ref.dB, dout, xd, got.xa, zeroW, A, B, M, N, K, r, scale, acc);
        const s = Math.abs(scale);
        assertAllClose('xa', got.xa, xaRef, () => dotBound(K, K));
        assertAllClose('out', got.out, base.map((v, i) => v + adapter[i]), () => dotBound(K + r, K + 1 + s * r * K));
        assertAllClose('dB', got.dB, ref.dB, (i) => dotBound(M, s * M * K) + 2 * U * Math.abs(ref.dB[i]));
        assertAllClose('dA', got.dA, ref.dA, (i) => dotBound(M + N, s * M * N) + 2 * U * Math.abs(ref.dA[i]));
        assertAllClose('dx', got.dx, ref.dx, (i) => dotBound(N + r, s * N * r) + 2 * U * Math.abs(ref.dx[i]));
      }),
    { numRuns: 20 },
  );
});

test('forward and backward at a BERT shape (M 512, N 384, K 128, r 8)', async () => {
  await runCase({ M: 512, N: 384, K: 128, r: 8 }, 3, true, 2, false);
});

test('finite differences: the reference backward is the gradient of ⟨out, dout⟩ w.r.t. x, A, B', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (M, N, K, r, seed) => {
      const rand = mulberry32(seed);
      const R = (n: number) => Float64Array.from({ length: n }, () => rand() * 2 - 1);
      const x = R(M * K), W = R(N * K), A = R(r * K), B = R(N * r), bias = R(N), dout = R(M * N);
      const scale = 0.5 + rand() * 2;
      const f = (xx: Float64Array, AA: Float64Array, BB: Float64Array) => {
        const o = new Float64Array(M * N);
        lora_forward_reference(o, new Float64Array(M * r), xx, W, bias, AA, BB, M, N, K, r, scale);
        return o.reduce((s, v, i) => s + v * dout[i], 0);
      };
      const xa = new Float64Array(M * r);
      lora_forward_reference(new Float64Array(M * N), xa, x, W, bias, A, B, M, N, K, r, scale);
      const dx = new Float64Array(M * K), dA = new Float64Array(r * K), dB = new Float64Array(N * r);
      lora_backward_reference(dx, dA, dB, dout, x, xa, W, A, B, M, N, K, r, scale);
      const h = 1e-6;
      const fd = (which: 0 | 1 | 2, arr: Float64Array, grad: Float64Array) => {
        for (let k = 0; k < arr.length; k++) {
          const p = Float64Array.from(arr); p[k] += h;
          const m = Float64Array.from(arr); m[k] -= h;
          const args = (z: Float64Array) => [which === 0 ? z : x, which === 1 ? z : A, which === 2 ? z : B] as const;
          const d = (f(...args(p)) - f(...args(m))) / (2 * h);
          assert.ok(Math.abs(d - grad[k]) <= 1e-6 * (1 + Math.abs(grad[k])), `${['x', 'A', 'B'][which]}[${k}]: fd ${d} vs ${grad[k]}`);
        }
      };
      fd(0, x, dx);
      fd(1, A, dA);
      fd(2, B, dB);
    }),
    { numRuns: 40 },
  );
});

test('lora_merge_reference folds the adapter into W: a plain forward with the merged W equals the LoRA forward', () => {
  fc.assert(
    fc.property(dim, dim, fc.integer({ min: 1, max: 12 }), fc.integer(), fc.double({ min: -4, max: 4, noNaN: true }), (N, K, r, seed, scale) => {
      const rand = mulberry32(seed);
      const W = randomF32(rand, N * K), A = randomF32(rand, r * K), B = randomF32(rand, N * r);
      const merged = Float64Array.from(W);
      lora_merge_reference(merged, A, B, N, K, r, scale);
      const M = 3;
      const x = randomF32(rand, M * K);
      const viaLora = new Float64Array(M * N);
      lora_forward_reference(viaLora, new Float64Array(M * r), x, W, null, A, B, M, N, K, r, scale);
      const viaMerged = new Float64Array(M * N);
      lora_forward_reference(viaMerged, new Float64Array(M * r), x, merged, null, A, new Float64Array(N * r), M, N, K, r, scale);
      assertAllClose('merged forward', viaMerged, viaLora, (i) => 1e-12 * (1 + Math.abs(viaLora[i])) * K * r);
    }),
    { numRuns: 50 },
  );
});

interface TorchLora {
  M: number; N: number; K: number; r: number; scale: number;
  x: number[]; W: number[]; bias: number[] | null; A: number[]; B: number[]; y: number[]; dy: number[];
  dx: number[]; dA: number[]; dB: number[]; merged: number[];
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/lora_torch.json', import.meta.url), 'utf8')) as { cases: TorchLora[] };

test('GPU matches PyTorch (F.linear + scale·B(A x), autograd; the merged weight: lora_merge_reference) within 2e-6·(1 + |value|)·√K', async () => {
  for (const c of golden.cases) {
    const { M, N, K, r, scale } = c;
    const bx = gpu.buffer(Float32Array.from(c.x)), bW = gpu.buffer(Float32Array.from(c.W)), bA = gpu.buffer(Float32Array.from(c.A)), bB = gpu.buffer(Float32Array.from(c.B));
    const bbias = c.bias ? gpu.buffer(Float32Array.from(c.bias)) : null, bdy = gpu.buffer(Float32Array.from(c.dy));
    const out = poisoned(gpu, M * N), xa = poisoned(gpu, M * r), dx = poisoned(gpu, M * K), dA = gpu.zeros(r * K * 4), dB = gpu.zeros(N * r * 4);
    const enc = gpu.encoder();
    lora_forward(gpu, enc, out, xa, bx, bW, bbias, bA, bB, M, N, K, r, scale);
    lora_backward(gpu, enc, dx, dA, dB, bdy, bx, xa, bW, bA, bB, M, N, K, r, scale);
    await enc.submit();
    const tol = (want: number[]) => (i: number) => 2e-6 * (1 + Math.abs(want[i])) * Math.sqrt(Math.max(K, M, N)) * Math.max(1, scale);
    const what = `torch M=${M} N=${N} K=${K} r=${r}`;
    assertAllClose(`${what} y`, await gpu.read(out), c.y, tol(c.y));
    assertAllClose(`${what} dx`, await gpu.read(dx), c.dx, tol(c.dx));
    assertAllClose(`${what} dA`, await gpu.read(dA), c.dA, tol(c.dA));
    assertAllClose(`${what} dB`, await gpu.read(dB), c.dB, tol(c.dB));
    const merged = Float64Array.from(c.W);
    lora_merge_reference(merged, c.A, c.B, N, K, r, scale);
    assertAllClose(`${what} merged`, merged, c.merged, tol(c.merged));
    for (const b of [bx, bW, bA, bB, bbias, bdy, out, xa, dx, dA, dB]) b?.destroy();
  }
});

test('bad input fails before any dispatch', () => {
  const enc = gpu.encoder();
  const z = gpu.zeros(256);
  assert.throws(() => lora_forward(gpu, enc, z, z, z, z, null, z, z, 4, 4, 4, 0, 1), /dimension r=0/);
  assert.throws(() => lora_forward(gpu, enc, z, z, z, z, null, z, z, 8, 9, 8, 2, 1), /buffer 'out' holds 64 elements, needs 72/);
  assert.throws(() => lora_forward(gpu, enc, z, z, z, z, null, z, z, 4, 4, 4, 2, Number.NaN), /scale=NaN/);
  assert.throws(() => lora_backward(gpu, enc, z, z, z, z, z, z, z, z, z, 10, 10, 10, 2, 1), /buffer 'dinp' holds 64 elements, needs 100/);
  assert.throws(() => lora_merge_reference(new Float64Array(64), new Float64Array(9), new Float64Array(9), 9, 9, 1, 1), /array 'weight' has 64 elements, needs 81/);
  assert.equal(enc.size, 0);
});
