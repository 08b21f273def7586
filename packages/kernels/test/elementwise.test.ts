// elementwise kernels (add, accumulate, scale, copy, fill) on the GPU against their float64 references.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  accumulate, accumulate_reference, add_forward, add_forward_reference, assertAllClose, copy, copy_reference,
  fill, fill_reference, grid2d, mulberry32, poisoned, randomF32, scale, scale_reference, type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const U = 2 ** -24; // f32 unit roundoff
// Sizes: 1, small odd, around one workgroup's 256 elements, and a few thousand.
const size = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 300 }), fc.integer({ min: 301, max: 5000 }));

test('add, accumulate, scale, copy match the float64 reference (error ≤ 1 rounding, 2 for scale)', async () => {
  await fc.assert(
    fc.asyncProperty(size, fc.integer(), fc.double({ min: -8, max: 8, noNaN: true }), async (N, seed, s) => {
      const rand = mulberry32(seed);
      const a = randomF32(rand, N, -100, 100);
      const b = randomF32(rand, N, -3, 3);
      const A = gpu.buffer(a), B = gpu.buffer(b);
      const OUT = poisoned(gpu, N), SCALED = poisoned(gpu, N), COPIED = poisoned(gpu, N);
      const ACC = gpu.buffer(a);
      const enc = gpu.encoder();
      add_forward(gpu, enc, OUT, A, B, N);
      accumulate(gpu, enc, ACC, B, N);
      scale(gpu, enc, SCALED, B, s, N);
      copy(gpu, enc, COPIED, A, N);
      await enc.submit();
      const want = new Float64Array(N);
      add_forward_reference(want, a, b, N);
      assertAllClose(`add N=${N}`, await gpu.read(OUT), want, (i) => U * Math.abs(want[i]));
      const acc = Float64Array.from(a);
      accumulate_reference(acc, b, N);
      assertAllClose(`accumulate N=${N}`, await gpu.read(ACC), acc, (i) => U * Math.abs(acc[i]));
      const sc = new Float64Array(N);
      scale_reference(sc, b, s, N);
      // + 2⁻¹²⁶: WGSL lets a GPU flush subnormal f32 values (of s or of the product) to zero.
      assertAllClose(`scale N=${N} s=${s}`, await gpu.read(SCALED), sc, (i) => 2 * U * Math.abs(sc[i]) + 2 ** -126);
      const cp = new Float64Array(N);
      copy_reference(cp, a, N);
      assertAllClose(`copy N=${N}`, await gpu.read(COPIED), cp, () => 0);
      for (const x of [A, B, OUT, SCALED, COPIED, ACC]) x.destroy();
    }),
    { numRuns: 25 },
  );
});

test('fill writes exactly N elements and leaves the rest alone', async () => {
  const N = 1000;
  const BUF = poisoned(gpu, N + 37);
  const enc = gpu.encoder();
  fill(gpu, enc, BUF, -1.5, N);
  await enc.submit();
  const got = await gpu.read(BUF);
  const want = new Float64Array(N);
  fill_reference(want, -1.5, N);
  assertAllClose('fill', got.subarray(0, N), want, () => 0);
  assert.ok(got.subarray(N).every(Number.isNaN), 'elements past N were written');
  BUF.destroy();
});

test('fill covers a 2-D grid of workgroups (N past 65535 workgroups of 256 elements)', async () => {
  // Odd N: the scalar path (the vec4 path would need 4× as many elements to reach a 2-D grid).
  const N = 65535 * 256 + 301;
  assert.equal(grid2d(Math.ceil(N / 256))[1], 2);
  const BUF = gpu.zeros(N * 4);
  const enc = gpu.encoder();
  fill(gpu, enc, BUF, 3.25, N);
  await enc.submit();
  const tail = await gpu.read(BUF, Float32Array, 1000, N - 1000);
  const head = await gpu.read(BUF, Float32Array, 1000, 0);
  assert.ok(tail.every((v) => v === 3.25) && head.every((v) => v === 3.25));
  BUF.destroy();
});

test('buffer ranges: vec4 path (N % 4 = 0) and scalar path touch exactly their range', async () => {
  for (const N of [64, 63, 4, 1]) {
    const rand = mulberry32(N);
    const a = randomF32(rand, N), b = randomF32(rand, N);
    // Inputs and outputs at offset 256 inside larger buffers whose other elements are NaN.
    const put = (x: Float32Array) => {
      const buf = poisoned(gpu, 64 + N + 64);
      gpu.write(buf, x, 256);
      return buf;
    };
    const A = put(a), B = put(b), OUT = poisoned(gpu, 64 + N + 64), CP = poisoned(gpu, 64 + N + 64), F = poisoned(gpu, 64 + N + 64);
    const r = (buf: GPUBuffer) => ({ buffer: buf, offset: 256, size: N * 4 });
    const enc = gpu.encoder();
    add_forward(gpu, enc, r(OUT), r(A), r(B), N);
    copy(gpu, enc, r(CP), r(A), N);
    fill(gpu, enc, r(F), 2.5, N);
    await enc.submit();
    for (const [name, buf, want] of [
      ['add', OUT, a.map((x, i) => Math.fround(x + b[i]))],
      ['copy', CP, a],
      ['fill', F, new Float32Array(N).fill(2.5)],
    ] as const) {
      const got = await gpu.read(buf, Float32Array, 64 + N + 64);
      assert.ok(got.subarray(0, 64).every(Number.isNaN) && got.subarray(64 + N).every(Number.isNaN), `${name} N=${N}: wrote outside its range`);
      assert.deepEqual(Array.from(got.subarray(64, 64 + N)), Array.from(want), `${name} N=${N}`);
    }
    for (const x of [A, B, OUT, CP, F]) x.destroy();
  }
});

test('elementwise launchers reject bad input before dispatching', () => {
  const enc = gpu.encoder();
  const small = gpu.zeros(16);
  assert.throws(() => add_forward(gpu, enc, small, small, small, 0), /add_forward: dimension N=0/);
  assert.throws(() => copy(gpu, enc, small, small, 5), /copy: buffer 'dst' holds 4 elements, needs 5/);
  assert.throws(() => scale(gpu, enc, small, small, Number.NaN, 4), /scale: factor s=NaN/);
  assert.throws(() => fill(gpu, enc, small, 1, 2.5), /fill: dimension N=2.5/);
  assert.throws(() => accumulate(gpu, enc, small, gpu.zeros(8), 4), /accumulate: buffer 'src' holds 2 elements, needs 4/);
  assert.equal(enc.size, 0);
});
