// dropout: GPU mask bit-exact with the reference hash, p = 0 is a copy, keep rate within a binomial
// bound, forward and backward use the same mask.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertAllClose, dropout_backward, dropout_backward_reference, dropout_forward, dropout_forward_reference,
  dropoutKeep, dropoutKey, dropoutThreshold, lowbias32, setDropoutScalarOnly, mulberry32, poisoned, randomF32, type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const U = 2 ** -24;

test('lowbias32 matches values computed independently (Python, arbitrary-precision integers masked to 32 bits)', () => {
  assert.equal(lowbias32(0), 0);
  assert.equal(lowbias32(1), 0x688990c0);
  assert.equal(lowbias32(0x12345678), 0xf5e71c96);
  assert.equal(lowbias32(0xffffffff), 0x6768824a);
});

test('dropout forward/backward on the GPU equal the reference (same mask; values within 2 roundings)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 4000 })),
      fc.double({ min: 0, max: 0.95, noNaN: true }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 100000 }),
      fc.integer(),
      async (N, p, seed, step, vseed) => {
        const rand = mulberry32(vseed);
        const x = randomF32(rand, N, -2, 2);
        const dy = randomF32(rand, N, -2, 2);
        const X = gpu.buffer(x), DY = gpu.buffer(dy), Y = poisoned(gpu, N), DX = poisoned(gpu, N);
        const enc = gpu.encoder();
        dropout_forward(gpu, enc, Y, X, N, p, seed, step);
        dropout_backward(gpu, enc, DX, DY, N, p, seed, step);
        await enc.submit();
        const y = await gpu.read(Y), dx = await gpu.read(DX);
        const wy = new Float64Array(N), wdx = new Float64Array(N);
        dropout_forward_reference(wy, x, N, p, seed, step);
        dropout_backward_reference(wdx, dy, N, p, seed, step);
        assertAllClose(`dropout_forward N=${N} p=${p}`, y, wy, (i) => 2 * U * Math.abs(wy[i]));
        assertAllClose(`dropout_backward N=${N} p=${p}`, dx, wdx, (i) => 2 * U * Math.abs(wdx[i]));
        for (let i = 0; i < N; i++) assert.equal(y[i] === 0, dx[i] === 0, `mask differs at ${i}`);
        for (const b of [X, DY, Y, DX]) b.destroy();
      },
    ),
    { numRuns: 25 },
  );
});

test('vec4 path (N % 4 == 0) = the scalar path bit for bit, bindings at a 256-byte offset, p = 0 exact copy, nothing past N written', async () => {
  const rand = mulberry32(21);
  for (const [N, p] of [[4, 0.5], [780, 0], [1028, 0.1], [65536 + 12, 0.3], [262144 * 4 + 4 * 7, 0.9]] as const) {
    const lead = 64, extra = 5; // elements before (256 bytes) and after the bound ranges, poisoned
    const x = randomF32(rand, lead + N + extra, -3, 3);
    const outs: Uint32Array[] = [];
    for (const scalar of [true, false]) {
      const X = gpu.buffer(x), Y = poisoned(gpu, lead + N + extra);
      const at = (b: GPUBuffer) => ({ buffer: b, offset: lead * 4, size: N * 4 });
      setDropoutScalarOnly(scalar);
      try {
        const enc = gpu.encoder();
        dropout_forward(gpu, enc, at(Y), at(X), N, p, 99, 5);
        await enc.submit();
      } finally {
        setDropoutScalarOnly(false);
      }
      outs.push(new Uint32Array((await gpu.read(Y)).buffer));
      X.destroy();
      Y.destroy();
    }
    const [sc, v4] = outs;
    const xb = new Uint32Array(x.buffer);
    for (let i = 0; i < lead + N + extra; i++) {
      if (i < lead || i >= lead + N) assert.ok(Number.isNaN(new Float32Array(v4.buffer)[i]), `N=${N}: element ${i} outside the binding written`);
      else assert.equal(v4[i], sc[i], `N=${N} p=${p}: element ${i - lead} vec4 vs scalar`);
      if (p === 0 && i >= lead && i < lead + N) assert.equal(v4[i], xb[i], `N=${N}: p = 0 not an exact copy at ${i - lead}`);
    }
  }
});

test('p = 0 is an exact copy', async () => {
  const N = 777;
  const x = randomF32(mulberry32(3), N, -1e3, 1e3);
  const X = gpu.buffer(x), Y = poisoned(gpu, N);
  const enc = gpu.encoder();
  dropout_forward(gpu, enc, Y, X, N, 0, 42, 7);
  await enc.submit();
  assert.deepEqual(await gpu.read(Y), x);
  X.destroy(); Y.destroy();
});

test('keep rate is 1 − p within 5 binomial standard deviations; masks of different steps are independent', async () => {
  const N = 1 << 20;
  const X = gpu.buffer(new Float32Array(N).fill(1));
  for (const p of [0.1, 0.5, 0.9]) {
    const Y1 = poisoned(gpu, N), Y2 = poisoned(gpu, N);
    const enc = gpu.encoder();
    dropout_forward(gpu, enc, Y1, X, N, p, 1234, 10);
    dropout_forward(gpu, enc, Y2, X, N, p, 1234, 11);
    await enc.submit();
    const y1 = await gpu.read(Y1), y2 = await gpu.read(Y2);
    let kept = 0, both = 0;
    for (let i = 0; i < N; i++) {
      if (y1[i] !== 0) kept++;
      if (y1[i] !== 0 && y2[i] !== 0) both++;
    }
    const q = 1 - p;
    const sd = Math.sqrt(N * q * (1 - q));
    assert.ok(Math.abs(kept - N * q) < 5 * sd, `p=${p}: kept ${kept}, expected ${N * q} ± ${5 * sd}`);
    // Independent masks keep an element in both with probability q².
    const sd2 = Math.sqrt(N * q * q * (1 - q * q));
    assert.ok(Math.abs(both - N * q * q) < 5 * sd2, `p=${p}: kept in both steps ${both}, expected ${N * q * q}`);
    // Kept elements are scaled by 1/(1 − p) (in f32).
    const kv = y1.find((v) => v !== 0)!;
    assert.equal(kv, Math.fround(1 / q));
    Y1.destroy(); Y2.destroy();
  }
  X.destroy();
});

test('the reference mask depends on seed, step and element only', () => {
  const key = dropoutKey(5, 9);
  const t = dropoutThreshold(0.5);
  const a = Array.from({ length: 64 }, (_, i) => dropoutKeep(i, key, t));
  const b = Array.from({ length: 64 }, (_, i) => dropoutKeep(i, dropoutKey(5, 9), t));
  const c = Array.from({ length: 64 }, (_, i) => dropoutKeep(i, dropoutKey(6, 9), t));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('dropout backward is the derivative of the forward (finite differences on the reference)', () => {
  const N = 50, p = 0.3;
  const x = Array.from(randomF32(mulberry32(8), N));
  const w = Array.from(randomF32(mulberry32(9), N));
  const loss = (xs: number[]) => { const y = new Float64Array(N); dropout_forward_reference(y, xs, N, p, 1, 2); return y.reduce((s, v, i) => s + v * w[i], 0); };
  const dx = new Float64Array(N);
  dropout_backward_reference(dx, w, N, p, 1, 2);
  for (let i = 0; i < N; i++) {
    const h = 1e-6;
    const xp = x.slice(); xp[i] += h;
    const xm = x.slice(); xm[i] -= h;
    const fd = (loss(xp) - loss(xm)) / (2 * h);
    assert.ok(Math.abs(fd - dx[i]) < 1e-7, `element ${i}: fd ${fd} vs ${dx[i]}`);
  }
});

test('dropout rejects bad input before dispatching', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  assert.throws(() => dropout_forward(gpu, enc, b, b, 16, 1, 0, 0), /dropout_forward: drop probability p=1/);
  assert.throws(() => dropout_forward(gpu, enc, b, b, 16, -0.1, 0, 0), /p=-0.1/);
  assert.throws(() => dropout_backward(gpu, enc, b, b, 16, 0.1, 1.5, 0), /dropout_backward: seed=1.5/);
  assert.throws(() => dropout_forward(gpu, enc, b, b, 17, 0.1, 0, 0), /buffer 'out' holds 16 elements, needs 17/);
  assert.equal(enc.size, 0);
});
