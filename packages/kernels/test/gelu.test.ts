// GELU (exact erf form and tanh form) forward, and the fused bias + GELU forward and backward, against
// float64 references; the references' derivatives against finite differences and PyTorch. (The plain
// GELU has no GPU backward launcher; its float64 reference serves the trainer's model reference.)
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose, bias_gelu_backward, bias_gelu_backward_reference, bias_gelu_forward, bias_gelu_forward_reference,
  erfc64, gelu64, gelu_backward_reference, gelu_forward, gelu_forward_reference, gelu_grad64,
  mulberry32, poisoned, randomF32, setGeluScalarOnly, type GeluApproximate, type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

// Error bounds (relative to the float64 value, per element):
//  forward:  |gpu − ref| ≤ (2e-6 + 2e-7·x²)·|ref| + 1e-37
//    erfcc's fit is good to 1.2e-7; exp(−x²/2 + …) in f32 adds ~2⁻²⁴·x²/2 relative error, hence the x² term.
//  backward: |gpu − ref| ≤ (2e-6 + 2e-7·x²)·|dout|·(Φ(x) + |x|φ(x)) + 1e-37
//    gelu'(x) = Φ(x) + xφ(x) cancels near x ≈ −0.75, so the bound scales with the magnitudes of its terms.
function fwdBound(x: ArrayLike<number>, ref: Float64Array) {
  return (i: number) => (2e-6 + 2e-7 * x[i] * x[i]) * Math.abs(ref[i]) + 1e-37;
}
function bwdBound(x: ArrayLike<number>, dout: ArrayLike<number>) {
  return (i: number) => {
    const Phi = 0.5 * erfc64(-x[i] / Math.SQRT2);
    const xphi = Math.abs(x[i]) * Math.exp(-0.5 * x[i] * x[i]) / Math.sqrt(2 * Math.PI);
    return (2e-6 + 2e-7 * x[i] * x[i]) * Math.abs(dout[i]) * (Phi + xphi + 0.5) + 1e-37;
  };
}

const approx = fc.constantFrom<GeluApproximate>('none', 'tanh');

test('reference erfc matches known values to 1e-14 relative', () => {
  const known: [number, number][] = [
    [0, 1], [0.5, 0.4795001221869535], [1, 0.15729920705028513], [2, 0.004677734981047266],
    [3, 2.209049699858544e-5], [5, 1.5374597944280349e-12], [-1, 1.8427007929497148],
  ];
  for (const [z, v] of known) assert.ok(Math.abs(erfc64(z) - v) <= 1e-14 * v, `erfc(${z}) = ${erfc64(z)}, want ${v}`);
});

test('reference erf = 1 − erfc64 matches known values to 1e-14 (the GELU of the trainer\'s float64 model reference)', () => {
  const known: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2.5, 0.9995930479825550], [3.5, 0.9999992569016276], [-1, -0.8427007929497149]];
  for (const [x, v] of known) assert.ok(Math.abs(1 - erfc64(x) - v) < 1e-14, `erf(${x}) = ${1 - erfc64(x)}, expected ${v}`);
});

test('gelu forward on the GPU matches the reference (random N, values in [−10, 10])', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 3000 })), approx, fc.integer(), async (N, a, seed) => {
      const rand = mulberry32(seed);
      const x = randomF32(rand, N, -10, 10);
      const X = gpu.buffer(x), Y = poisoned(gpu, N);
      const enc = gpu.encoder();
      gelu_forward(gpu, enc, Y, X, N, a);
      await enc.submit();
      const wy = new Float64Array(N);
      gelu_forward_reference(wy, x, N, a);
      assertAllClose(`gelu_forward(${a}) N=${N}`, await gpu.read(Y), wy, fwdBound(x, wy));
      for (const b of [X, Y]) b.destroy();
    }),
    { numRuns: 20 },
  );
});

test('bias_gelu forward/backward match the reference; dbias accumulates (+=)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 300 })),
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 70 })),
      approx, fc.integer(),
      async (rows, C, a, seed) => {
        const rand = mulberry32(seed);
        const N = rows * C;
        const x = randomF32(rand, N, -4, 4);
        const bias = randomF32(rand, C, -1, 1);
        const dy = randomF32(rand, N, -2, 2);
        const db0 = randomF32(rand, C, -1, 1);
        const X = gpu.buffer(x), BIAS = gpu.buffer(bias), DY = gpu.buffer(dy), DB = gpu.buffer(db0);
        const Y = poisoned(gpu, N), DX = poisoned(gpu, N);
        const enc = gpu.encoder();
        bias_gelu_forward(gpu, enc, Y, X, BIAS, rows, C, a);
        bias_gelu_backward(gpu, enc, DX, DB, X, BIAS, DY, rows, C, a);
        await enc.submit();
        const wy = new Float64Array(N), wdx = new Float64Array(N), wdb = Float64Array.from(db0);
        bias_gelu_forward_reference(wy, x, bias, rows, C, a);
        bias_gelu_backward_reference(wdx, wdb, x, bias, dy, rows, C, a);
        const xb = Float64Array.from(x, (v, i) => Math.fround(v + bias[i % C]));
        assertAllClose(`bias_gelu_forward ${rows}x${C}`, await gpu.read(Y), wy, (i) => fwdBound(xb, wy)(i) + 2 ** -24 * Math.abs(xb[i]));
        assertAllClose(`bias_gelu_backward dinp ${rows}x${C}`, await gpu.read(DX), wdx, (i) => bwdBound(xb, dy)(i) * 2);
        // dbias: sum of `rows` terms, each within the dinp bound, plus f32 summation error.
        const mag = new Float64Array(C);
        for (let i = 0; i < N; i++) mag[i % C] += 2 * bwdBound(xb, dy)(i) + rows * 2 ** -24 * Math.abs(wdx[i]);
        assertAllClose(`bias_gelu_backward dbias ${rows}x${C}`, await gpu.read(DB), wdb, (c) => mag[c] + 2 ** -24 * Math.abs(wdb[c]) + 1e-30);
        for (const b of [X, BIAS, DY, DB, Y, DX]) b.destroy();
      },
    ),
    { numRuns: 20 },
  );
});

test('vec4 paths (N or C % 4 == 0) give the scalar paths\' bits, bindings at a 256-byte offset, nothing outside them written', async () => {
  const rand = mulberry32(31);
  const lead = 64; // elements before each bound range (256 bytes)
  const U32 = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  // (rows, C): one row, odd rows over several 128-row blocks, C not a multiple of 64·4.
  for (const [rows, C] of [[1, 4], [3, 12], [257, 20], [130, 516]] as const) {
    for (const a of ['none', 'tanh'] as const) {
      const N = rows * C;
      const x = randomF32(rand, lead + N, -6, 6), dy = randomF32(rand, lead + N, -2, 2), bias = randomF32(rand, lead + C, -1, 1);
      const db0 = randomF32(rand, C, -1, 1);
      const outs: Uint32Array[][] = [];
      for (const scalar of [true, false]) {
        const X = gpu.buffer(x), DY = gpu.buffer(dy), B = gpu.buffer(bias);
        const Y = [0, 1, 2].map(() => poisoned(gpu, lead + N + 3));
        const DB = gpu.buffer(db0);
        const at = (b: GPUBuffer, n: number) => ({ buffer: b, offset: lead * 4, size: n * 4 });
        setGeluScalarOnly(scalar);
        try {
          const enc = gpu.encoder();
          gelu_forward(gpu, enc, at(Y[0], N), at(X, N), N, a);
          bias_gelu_forward(gpu, enc, at(Y[1], N), at(X, N), at(B, C), rows, C, a);
          bias_gelu_backward(gpu, enc, at(Y[2], N), DB, at(X, N), at(B, C), at(DY, N), rows, C, a);
          await enc.submit();
        } finally {
          setGeluScalarOnly(false);
        }
        const got = [];
        for (const b of [...Y, DB]) got.push(U32(await gpu.read(b)));
        outs.push(got);
        for (const b of [X, DY, B, ...Y, DB]) b.destroy();
      }
      const names = ['gelu_forward', 'bias_gelu_forward', 'bias_gelu_backward dinp', 'bias_gelu_backward dbias'];
      for (let k = 0; k < names.length; k++) {
        const [sc, v4] = [outs[0][k], outs[1][k]];
        for (let i = 0; i < sc.length; i++) {
          const inside = k === names.length - 1 || (i >= lead && i < lead + N);
          if (!inside) assert.ok(Number.isNaN(new Float32Array(v4.buffer)[i]), `${names[k]} ${rows}x${C}: element ${i} outside the binding written`);
          else assert.equal(v4[i], sc[i], `${names[k]} ${rows}x${C} ${a}: element ${i} vec4 vs scalar`);
        }
      }
    }
  }
});

test('gelu_grad64 is the derivative of gelu64 (central finite differences)', () => {
  for (const a of ['none', 'tanh'] as const) {
    for (let x = -8; x <= 8; x += 0.37) {
      const h = 1e-5;
      const fd = (gelu64(x + h, a) - gelu64(x - h, a)) / (2 * h);
      assert.ok(Math.abs(fd - gelu_grad64(x, a)) < 1e-8, `${a} x=${x}: fd ${fd} vs ${gelu_grad64(x, a)}`);
    }
  }
});

test('bias_gelu_backward_reference equals finite differences of bias_gelu_forward_reference (dinp and dbias)', () => {
  const rows = 3, C = 4;
  for (const a of ['none', 'tanh'] as const) {
    const rand = mulberry32(17);
    const x = Array.from(randomF32(rand, rows * C, -3, 3), Number), bias = Array.from(randomF32(rand, C), Number), w = Array.from(randomF32(rand, rows * C), Number);
    const loss = (xs: number[], bs: number[]) => { const y = new Float64Array(rows * C); bias_gelu_forward_reference(y, xs, bs, rows, C, a); return y.reduce((t, v, i) => t + v * w[i], 0); };
    const dx = new Float64Array(rows * C), db = new Float64Array(C);
    bias_gelu_backward_reference(dx, db, x, bias, w, rows, C, a);
    const h = 1e-6;
    for (let i = 0; i < rows * C; i++) {
      const p = x.slice(); p[i] += h; const m = x.slice(); m[i] -= h;
      assert.ok(Math.abs((loss(p, bias) - loss(m, bias)) / (2 * h) - dx[i]) < 1e-8, `${a} dinp[${i}]`);
    }
    for (let c = 0; c < C; c++) {
      const p = bias.slice(); p[c] += h; const m = bias.slice(); m[c] -= h;
      assert.ok(Math.abs((loss(x, p) - loss(x, m)) / (2 * h) - db[c]) < 1e-8, `${a} dbias[${c}]`);
    }
  }
});

test('worked values: gelu(1) = Φ(1) = 0.8413447460685429, tanh form 0.8411919906082768', () => {
  assert.ok(Math.abs(gelu64(1, 'none') - 0.8413447460685429) < 1e-15);
  assert.ok(Math.abs(gelu64(1, 'tanh') - 0.8411919906082768) < 1e-15);
});

test('gelu launchers reject bad input before dispatching', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  assert.throws(() => gelu_forward(gpu, enc, b, b, 0), /gelu_forward: dimension N=0/);
  assert.throws(() => gelu_forward(gpu, enc, b, b, 4, 'erf' as GeluApproximate), /approximate='erf'/);
  assert.throws(() => bias_gelu_forward(gpu, enc, b, b, b, 5, 16), /bias_gelu_forward: buffer 'out' holds 16 elements, needs 80/);
  assert.throws(() => bias_gelu_backward(gpu, enc, b, gpu.zeros(8), b, b, b, 4, 4), /buffer 'dbias' holds 2 elements, needs 4/);
  assert.equal(enc.size, 0);
});

// ---- PyTorch goldens (scripts/golden_layernorm_gelu_attention_embedding.py: F.gelu in float64 on f32-rounded inputs) ----
interface TorchGelu { approximate: GeluApproximate; N: number; x: number[]; dout: number[]; out: number[]; dinp: number[] }
interface TorchBiasGelu { approximate: GeluApproximate; rows: number; C: number; x: number[]; bias: number[]; dout: number[]; out: number[]; dinp: number[]; dbias: number[] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/gelu_torch.json', import.meta.url), 'utf8')) as { gelu: TorchGelu[]; bias_gelu: TorchBiasGelu[] };

// Bound vs torch: |got − torch| ≤ tol·(|torch_i| + 1e-3·max|torch|): tol = 1e-12 for the float64
// reference, 2e-5 for the GPU (erfcc fit + f32 exp; the floor covers gelu' near its zero at x ≈ −0.75),
// plus 1e-13 absolute: torch's tanh form computes 1 − tanh²(u), which rounds to 0 for x ≲ −7 where
// the true derivative is ~1e-15 (ours, via σ(2u), keeps it).
function closeToTorch(what: string, got: ArrayLike<number>, want: number[], tol: number) {
  const mx = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertAllClose(what, got, want, (i) => tol * (Math.abs(want[i]) + 1e-3 * mx) + 1e-13);
}

test('gelu (reference forward and backward, GPU forward) and bias_gelu (reference and GPU) match PyTorch F.gelu, both approximations', async () => {
  for (const g of golden.gelu) {
    const y = new Float64Array(g.N), dx = new Float64Array(g.N);
    gelu_forward_reference(y, g.x, g.N, g.approximate);
    gelu_backward_reference(dx, g.x, g.dout, g.N, g.approximate);
    closeToTorch(`reference gelu(${g.approximate})`, y, g.out, 1e-12);
    closeToTorch(`reference gelu'(${g.approximate})`, dx, g.dinp, 1e-12);
    const X = gpu.buffer(Float32Array.from(g.x)), Y = poisoned(gpu, g.N);
    const enc = gpu.encoder();
    gelu_forward(gpu, enc, Y, X, g.N, g.approximate);
    await enc.submit();
    closeToTorch(`GPU gelu(${g.approximate})`, await gpu.read(Y), g.out, 2e-5);
  }
  for (const g of golden.bias_gelu) {
    const n = g.rows * g.C;
    const y = new Float64Array(n), dx = new Float64Array(n), db = new Float64Array(g.C);
    bias_gelu_forward_reference(y, g.x, g.bias, g.rows, g.C, g.approximate);
    bias_gelu_backward_reference(dx, db, g.x, g.bias, g.dout, g.rows, g.C, g.approximate);
    closeToTorch('reference bias_gelu', y, g.out, 1e-12);
    closeToTorch('reference bias_gelu dinp', dx, g.dinp, 1e-12);
    closeToTorch('reference bias_gelu dbias', db, g.dbias, 1e-12);
    const X = gpu.buffer(Float32Array.from(g.x)), BIAS = gpu.buffer(Float32Array.from(g.bias)), DY = gpu.buffer(Float32Array.from(g.dout));
    const Y = poisoned(gpu, n), DX = poisoned(gpu, n), DB = gpu.zeros(g.C * 4);
    const enc = gpu.encoder();
    bias_gelu_forward(gpu, enc, Y, X, BIAS, g.rows, g.C, g.approximate);
    bias_gelu_backward(gpu, enc, DX, DB, X, BIAS, DY, g.rows, g.C, g.approximate);
    await enc.submit();
    closeToTorch(`GPU bias_gelu(${g.approximate})`, await gpu.read(Y), g.out, 2e-5);
    closeToTorch(`GPU bias_gelu dinp`, await gpu.read(DX), g.dinp, 2e-5);
    closeToTorch(`GPU bias_gelu dbias`, await gpu.read(DB), g.dbias, 2e-5);
  }
});
