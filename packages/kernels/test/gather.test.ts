// gather_rows_forward / backward: GPU vs float64 reference (exact: a gather moves bits and the
// backward adds one term per element, so the bound is the f32 rounding of one addition).
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertAllClose,
  gather_rows_backward,
  gather_rows_backward_reference,
  gather_rows_forward,
  gather_rows_forward_reference,
  mulberry32,
  pickRows,
  poisoned,
  randomF32,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

/** Gather n of `total` rows of width C on the GPU, forward and backward, against the references. */
async function checkGather(rand: () => number, total: number, n: number, C: number, label: string): Promise<void> {
  const rows = pickRows(rand, total, n);
  const inp = randomF32(rand, total * C, -3, 3);
  const dout = randomF32(rand, n * C, -3, 3);
  const dinp0 = randomF32(rand, total * C, -1, 1);
  const I = gpu.buffer(inp), R = gpu.buffer(rows), D = gpu.buffer(dout), DI = gpu.buffer(dinp0), O = poisoned(gpu, n * C);
  const enc = gpu.encoder();
  gather_rows_forward(gpu, enc, O, I, R, n, C);
  gather_rows_backward(gpu, enc, DI, D, R, n, C);
  await enc.submit();
  const out = await gpu.read(O);
  const dinp = await gpu.read(DI);
  for (const b of [I, R, D, DI, O]) b.destroy();
  const wantOut = new Float64Array(n * C);
  gather_rows_forward_reference(wantOut, inp, rows, n, C);
  assertAllClose(`gather forward ${label}`, out, wantOut, () => 0);
  const wantD = Float64Array.from(dinp0);
  gather_rows_backward_reference(wantD, dout, rows, n, C);
  assertAllClose(`gather backward ${label}`, dinp, wantD, (i) => 2 ** -23 * Math.abs(wantD[i]));
}

test('gather forward (bit-exact) and backward (+=, one f32 addition: 2⁻²³ relative) match the reference', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 200 }), fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), async (total, C, seed, frac) => {
      const rand = mulberry32(seed);
      const n = Math.max(1, Math.round(total * frac));
      await checkGather(rand, total, n, C, `${n} of ${total} × ${C}`);
    }),
    { numRuns: 30 },
  );
});

test('finite differences: the backward is the adjoint of the forward (⟨gather(x), g⟩ = ⟨x, scatter(g)⟩)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (total, C, seed) => {
      const rand = mulberry32(seed);
      const n = 1 + Math.floor(rand() * total);
      const rows = pickRows(rand, total, n);
      const x = Float64Array.from({ length: total * C }, () => rand() - 0.5);
      const g = Float64Array.from({ length: n * C }, () => rand() - 0.5);
      const f = (z: Float64Array) => {
        const o = new Float64Array(n * C);
        gather_rows_forward_reference(o, z, rows, n, C);
        return o.reduce((s, v, i) => s + v * g[i], 0);
      };
      const dx = new Float64Array(total * C);
      gather_rows_backward_reference(dx, g, rows, n, C);
      for (let k = 0; k < total * C; k++) {
        const xp = Float64Array.from(x); xp[k] += 1e-6;
        const xm = Float64Array.from(x); xm[k] -= 1e-6;
        assert.ok(Math.abs((f(xp) - f(xm)) / 2e-6 - dx[k]) < 1e-8);
      }
    }),
    { numRuns: 30 },
  );
});

test('gather at the bench shape (vec4 rows, C = 128), an odd C = 13, and 530 000 rows (grid split over y and z)', async () => {
  for (const [total, n, C] of [[4096, 614, 128], [300, 57, 13], [600_000, 530_000, 1]]) {
    await checkGather(mulberry32(total + C), total, n, C, `${n} of ${total} × ${C}`);
  }
});

test('out-of-range rows: GPU forward writes zeros, backward skips; the reference throws', async () => {
  const rows = Int32Array.from([1, 9, -1]);
  const I = gpu.buffer(Float32Array.from([1, 2, 3, 4, 5, 6])), R = gpu.buffer(rows), O = poisoned(gpu, 6);
  const enc = gpu.encoder();
  gather_rows_forward(gpu, enc, O, I, R, 3, 2);
  await enc.submit();
  assert.deepEqual(Array.from(await gpu.read(O)), [3, 4, 0, 0, 0, 0]);
  // The same on the vec4 path (C = 4), and the backward skips the bad rows.
  const I4 = gpu.buffer(Float32Array.from({ length: 12 }, (_, i) => i + 1)), O4 = poisoned(gpu, 12);
  const D4 = gpu.buffer(Float32Array.from({ length: 12 }, (_, i) => 100 * (i + 1))), DI4 = gpu.buffer(new Float32Array(12));
  const enc4 = gpu.encoder();
  gather_rows_forward(gpu, enc4, O4, I4, R, 3, 4);
  gather_rows_backward(gpu, enc4, DI4, D4, R, 3, 4);
  await enc4.submit();
  assert.deepEqual(Array.from(await gpu.read(O4)), [5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(await gpu.read(DI4)), [0, 0, 0, 0, 100, 200, 300, 400, 0, 0, 0, 0]);
  assert.throws(() => gather_rows_forward_reference(new Float64Array(6), [1, 2, 3, 4, 5, 6], rows, 3, 2), /rows\[1\]=9 is outside \[0, 3\)/);
  assert.throws(() => gather_rows_backward_reference(new Float64Array(6), [1, 2, 3, 4], [1, 1], 2, 2), /repeats/);
});

test('bad input fails before any dispatch', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(16);
  assert.throws(() => gather_rows_forward(gpu, enc, b, b, b, 0, 2), /dimension nRows=0/);
  assert.throws(() => gather_rows_forward(gpu, enc, b, b, b, 3, 2), /buffer 'out' holds 4 elements, needs 6/);
  assert.throws(() => gather_rows_backward(gpu, enc, b, b, b, 2, 8), /dimension totalRows=0/);
  assert.equal(enc.size, 0);
});
