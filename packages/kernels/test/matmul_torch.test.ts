// matmul and the linear layer against PyTorch goldens (test/fixtures/matmul_torch.json, written by
// scripts/golden_matmul.py in float64 from float32-rounded inputs). Both the float64 reference and
// the GPU kernels (default variant for this adapter) are compared.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  assertAllClose,
  linear_backward,
  linear_backward_reference,
  linear_forward,
  linear_forward_reference,
  matmul,
  matmul_reference,
  poisoned,
  type Gpu,
} from '../src/index.js';

interface MatmulCase {
  M: number; N: number; K: number; transA: boolean; transB: boolean; batch: number; alpha: number; accumulate: boolean;
  a: number[]; b: number[]; bias: number[] | null; old: number[] | null; out: number[];
}
interface LinearCase {
  M: number; N: number; K: number;
  inp: number[]; weight: number[]; bias: number[]; out: number[]; dout: number[]; dinp: number[]; dweight: number[]; dbias: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/matmul_torch.json', import.meta.url), 'utf8')) as {
  matmul: MatmulCase[];
  linear: LinearCase[];
};

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

// Reference (float64) vs torch (float64): same math, different summation order → ~1e-15 relative.
// GPU (float32 accumulation) vs torch, per element: 2·(n+2)·2⁻²⁴·Σ|terms| for an n-term sum,
// where Σ|terms| is the same computation on absolute values (Higham's dot-product bound, doubled).
const U = 2 ** -24;
const refBound = (x: number) => 1e-12 * (1 + Math.abs(x));
const abs = (x: ArrayLike<number>) => Float64Array.from(x, Math.abs);

test('matmul: reference and GPU match torch (transposes, batch of heads, alpha, bias, accumulate)', async () => {
  assert.ok(fixture.matmul.length >= 4);
  for (const c of fixture.matmul) {
    const shape = { M: c.M, N: c.N, K: c.K, transA: c.transA, transB: c.transB, batch: c.batch, alpha: c.alpha, accumulate: c.accumulate };
    const what = `matmul ${JSON.stringify(shape)}`;
    const ref = Float64Array.from(c.old ?? new Array<number>(c.out.length).fill(0));
    matmul_reference(ref, c.a, c.b, c.bias, shape);
    assertAllClose(`${what} reference`, ref, c.out, (i) => refBound(c.out[i]));

    const out = c.old ? gpu.buffer(Float32Array.from(c.old)) : poisoned(gpu, c.out.length);
    const A = gpu.buffer(Float32Array.from(c.a)), B = gpu.buffer(Float32Array.from(c.b));
    const BIAS = c.bias ? gpu.buffer(Float32Array.from(c.bias)) : null;
    const enc = gpu.encoder();
    matmul(gpu, enc, { ...shape, out, a: A, b: B, bias: BIAS });
    await enc.submit();
    const mag = Float64Array.from(c.old ?? new Array<number>(c.out.length).fill(0), Math.abs);
    matmul_reference(mag, abs(c.a), abs(c.b), c.bias ? abs(c.bias) : null, { ...shape, alpha: Math.abs(c.alpha), accumulate: true });
    assertAllClose(`${what} GPU`, await gpu.read(out), c.out, (i) => 2 * (c.K + 2) * U * mag[i]);
  }
});

test('linear forward + backward: reference and GPU match torch (F.linear + autograd)', async () => {
  assert.ok(fixture.linear.length >= 2);
  for (const c of fixture.linear) {
    const { M, N, K } = c;
    const what = `linear ${M}×${N}×${K}`;
    const out = new Float64Array(M * N);
    linear_forward_reference(out, c.inp, c.weight, c.bias, M, N, K);
    const dinp = new Float64Array(M * K), dw = new Float64Array(N * K), db = new Float64Array(N);
    linear_backward_reference(dinp, dw, db, c.dout, c.inp, c.weight, M, N, K);
    assertAllClose(`${what} reference out`, out, c.out, (i) => refBound(c.out[i]));
    assertAllClose(`${what} reference dinp`, dinp, c.dinp, (i) => refBound(c.dinp[i]));
    assertAllClose(`${what} reference dweight`, dw, c.dweight, (i) => refBound(c.dweight[i]));
    assertAllClose(`${what} reference dbias`, db, c.dbias, (i) => refBound(c.dbias[i]));

    const f = (x: number[]) => gpu.buffer(Float32Array.from(x));
    const INP = f(c.inp), W = f(c.weight), BIAS = f(c.bias), DOUT = f(c.dout);
    const OUT = poisoned(gpu, M * N), DINP = poisoned(gpu, M * K);
    const DW = gpu.zeros(N * K * 4), DB = gpu.zeros(N * 4); // parameter gradients start at 0 and are added to
    const enc = gpu.encoder();
    linear_forward(gpu, enc, OUT, INP, W, BIAS, M, N, K);
    linear_backward(gpu, enc, DINP, DW, DB, DOUT, INP, W, M, N, K);
    await enc.submit();
    const mOut = new Float64Array(M * N), mDinp = new Float64Array(M * K), mDw = new Float64Array(N * K), mDb = new Float64Array(N);
    linear_forward_reference(mOut, abs(c.inp), abs(c.weight), abs(c.bias), M, N, K);
    linear_backward_reference(mDinp, mDw, mDb, abs(c.dout), abs(c.inp), abs(c.weight), M, N, K);
    assertAllClose(`${what} GPU out`, await gpu.read(OUT), c.out, (i) => 2 * (K + 2) * U * mOut[i]);
    assertAllClose(`${what} GPU dinp`, await gpu.read(DINP), c.dinp, (i) => 2 * (N + 2) * U * mDinp[i]);
    assertAllClose(`${what} GPU dweight`, await gpu.read(DW), c.dweight, (i) => 2 * (M + 2) * U * mDw[i]);
    assertAllClose(`${what} GPU dbias`, await gpu.read(DB), c.dbias, (i) => 2 * (M + 2) * U * mDb[i]);
  }
});
