// layernorm forward/backward on the GPU against the float64 reference, for both variants
// ('subgroup': 8 lanes per row, lavapipe's default; 'rows': one invocation per row, any adapter);
// the reference backward against finite differences; determinism of the parameter-gradient
// reduction; the variant choice.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose, layernorm_backward, layernorm_backward_reference, layernorm_forward, layernorm_forward_reference,
  layernormVariant, mulberry32, openGpu, poisoned, randomF32, setLayernormVariant, subgroupMatmulUsable, type Gpu, type LayernormVariant,
} from '../src/index.js';

let gpu: Gpu;
let variants: LayernormVariant[] = ['rows'];
gpuForTests((g) => {
  gpu = g;
  if (subgroupMatmulUsable(gpu)) variants = ['subgroup', 'rows'];
}, () => setLayernormVariant(null));

const U = 2 ** -24;

interface Case { N: number; C: number; x: Float32Array; w: Float32Array; b: Float32Array; dy: Float32Array; dx0: Float32Array; dw0: Float32Array; db0: Float32Array }
function makeCase(N: number, C: number, offset: number, seed: number): Case {
  const rand = mulberry32(seed);
  const x = Float32Array.from(randomF32(rand, N * C, -2, 2), (v) => v + offset);
  return {
    N, C, x,
    w: randomF32(rand, C, 0.5, 1.5), b: randomF32(rand, C, -1, 1), dy: randomF32(rand, N * C, -1, 1),
    dx0: randomF32(rand, N * C, -1, 1), dw0: randomF32(rand, C, -1, 1), db0: randomF32(rand, C, -1, 1),
  };
}

/** Forward then backward on the GPU; `variant` forces one (undefined = the device's default). */
async function runGpu(k: Case, eps: number, accumulate: boolean, variant?: LayernormVariant) {
  const { N, C } = k;
  const X = gpu.buffer(k.x), W = gpu.buffer(k.w), B = gpu.buffer(k.b), DY = gpu.buffer(k.dy);
  const Y = poisoned(gpu, N * C), MEAN = poisoned(gpu, N), RSTD = poisoned(gpu, N);
  const DX = accumulate ? gpu.buffer(k.dx0) : poisoned(gpu, N * C);
  const DW = gpu.buffer(k.dw0), DB = gpu.buffer(k.db0);
  const enc = gpu.encoder();
  setLayernormVariant(variant ?? null);
  try {
    layernorm_forward(gpu, enc, Y, MEAN, RSTD, X, W, B, N, C, eps);
    layernorm_backward(gpu, enc, DX, DW, DB, DY, X, W, MEAN, RSTD, N, C, accumulate);
  } finally {
    setLayernormVariant(null);
  }
  await enc.submit();
  const r = { y: await gpu.read(Y), mean: await gpu.read(MEAN), rstd: await gpu.read(RSTD), dx: await gpu.read(DX), dw: await gpu.read(DW), db: await gpu.read(DB) };
  for (const b of [X, W, B, DY, Y, MEAN, RSTD, DX, DW, DB]) b.destroy();
  return r;
}

// Error bounds (worst-case f32 summation, Higham): with κ_r = 1 + max_c|x_rc|·rstd_r (the
// conditioning of x − mean; a large common offset makes it large),
//   out:     8·C·u·κ·(|w|(1 + |x̂|) + |b|)
//   mean:    2·C·u·max|x|,  rstd: 8·C·u·κ·rstd
//   dinp:    8·C·u·κ·rstd·(|g| + mean|g| + (1 + |x̂|)·(mean|g·x̂| + mean|g|)) (+ u·|dinp₀| when accumulating)
//   dweight: Σ_r (8·C·u·κ_r·(1 + |x̂|) + 2·N·u·|x̂|)·|dy| + u·|dw|   (x̂'s error is absolute: Δmean·rstd);  dbias: 2·N·u·Σ_r|dy| + u·|db|
function check(k: Case, eps: number, accumulate: boolean, got: Awaited<ReturnType<typeof runGpu>>, variant = '') {
  const { N, C, x, w, b, dy } = k;
  const y = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  layernorm_forward_reference(y, mean, rstd, x, w, b, N, C, eps);
  const dx = accumulate ? Float64Array.from(k.dx0) : new Float64Array(N * C);
  const dw = Float64Array.from(k.dw0), db = Float64Array.from(k.db0);
  layernorm_backward_reference(dx, dw, db, dy, x, w, mean, rstd, N, C, accumulate);
  const kappa = new Float64Array(N), maxAbs = new Float64Array(N), mg = new Float64Array(N), mgx = new Float64Array(N);
  const xhat = (i: number) => (x[i] - mean[Math.floor(i / C)]) * rstd[Math.floor(i / C)];
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      maxAbs[r] = Math.max(maxAbs[r], Math.abs(x[i]));
      mg[r] += Math.abs(dy[i] * w[c]) / C;
      mgx[r] += Math.abs(dy[i] * w[c] * xhat(i)) / C;
    }
    kappa[r] = 1 + maxAbs[r] * rstd[r];
  }
  const tag = `${variant} ${N}x${C} eps=${eps}${accumulate ? ' accumulate' : ''}`;
  assertAllClose(`mean ${tag}`, got.mean, mean, (r) => 2 * C * U * maxAbs[r] + 1e-30);
  assertAllClose(`rstd ${tag}`, got.rstd, rstd, (r) => 8 * C * U * kappa[r] * rstd[r]);
  assertAllClose(`out ${tag}`, got.y, y, (i) => {
    const r = Math.floor(i / C), c = i % C;
    return 8 * C * U * kappa[r] * (Math.abs(w[c]) * (1 + Math.abs(xhat(i))) + Math.abs(b[c]));
  });
  assertAllClose(`dinp ${tag}`, got.dx, dx, (i) => {
    const r = Math.floor(i / C), c = i % C;
    const m = 8 * C * U * kappa[r] * rstd[r] * (Math.abs(dy[i] * w[c]) + mg[r] + (1 + Math.abs(xhat(i))) * (mgx[r] + mg[r]));
    return m + (accumulate ? U * Math.abs(dx[i]) * 2 : 0) + 1e-30;
  });
  const dwMag = new Float64Array(C), dbMag = new Float64Array(C);
  for (let i = 0; i < N * C; i++) {
    const r = Math.floor(i / C), c = i % C;
    dwMag[c] += (8 * C * U * kappa[r] * (1 + Math.abs(xhat(i))) + 2 * N * U * Math.abs(xhat(i))) * Math.abs(dy[i]);
    dbMag[c] += 2 * N * U * Math.abs(dy[i]);
  }
  assertAllClose(`dweight ${tag}`, got.dw, dw, (c) => dwMag[c] + 2 * U * Math.abs(dw[c]) + 1e-30);
  assertAllClose(`dbias ${tag}`, got.db, db, (c) => dbMag[c] + 2 * U * Math.abs(db[c]) + 1e-30);
}

const dim = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 10, max: 300 }));

test('layernorm forward (out, mean, rstd) and backward (dinp, dweight +=, dbias +=) match the reference, every variant', async (t) => {
  t.diagnostic(`variants tested: ${variants.join(', ')}`);
  for (const variant of variants) {
    await fc.assert(
      fc.asyncProperty(dim, dim, fc.constantFrom(0, 3, -20), fc.constantFrom(1e-5, 1e-12), fc.boolean(), fc.integer(),
        async (N, C, offset, eps, accumulate, seed) => {
          // The subgroup variant takes C ≤ 128 when C % 4 ≠ 0; larger ragged C run 'rows' by default.
          const v = variant === 'subgroup' && C % 4 !== 0 && C > 128 ? undefined : variant;
          const k = makeCase(N, C, offset, seed);
          check(k, eps, accumulate, await runGpu(k, eps, accumulate, v), variant);
        }),
      { numRuns: 20 },
    );
  }
});

test('ragged rows: C not a multiple of 4 or 8 (scalar chunks, lanes past the row end), N = 1, vec4 rows with a partial last chunk', async () => {
  // C = 3: fewer columns than lanes; 9, 127: scalar chunks with a partial last one; 12, 36, 100,
  // 132: vec4 chunks (3 / 9 / 25 / 33 of them), so lanes run past the row's end; 256: exact.
  for (const variant of variants) {
    for (const [i, C] of [3, 9, 12, 36, 100, 127, 132, 256].entries()) {
      for (const N of [1, 5, 70]) {
        // Half of the widths with accumulate (each combination is a separate shader to compile).
        const k = makeCase(N, C, i % 2 ? 2 : 0, 100 * i + N);
        check(k, 1e-5, i % 2 === 1, await runGpu(k, 1e-5, i % 2 === 1, variant), variant);
      }
    }
  }
});

test('layernorm at a BERT shape (2048 × 256) and a ragged one (777 × 100), twice each: same bits every run, every variant', async () => {
  for (const variant of variants) {
    for (const [N, C] of [[2048, 256], [777, 100]]) {
      const k = makeCase(N, C, 0.5, 11);
      const g1 = await runGpu(k, 1e-12, false, variant);
      check(k, 1e-12, false, g1, variant);
      const g2 = await runGpu(k, 1e-12, false, variant);
      for (const f of ['y', 'mean', 'rstd', 'dx', 'dw', 'db'] as const) assert.deepEqual(g2[f], g1[f], `${variant} ${N}x${C} ${f}`);
    }
  }
});

test('variant choice: subgroup on lavapipe-like adapters for C ≤ 512 (C % 4 = 0) or ≤ 128, rows otherwise and without subgroups', async () => {
  const sub = subgroupMatmulUsable(gpu) && gpu.adapterInfo.isSoftware;
  assert.equal(layernormVariant(gpu, 256), sub ? 'subgroup' : 'rows');
  assert.equal(layernormVariant(gpu, 512), sub ? 'subgroup' : 'rows');
  assert.equal(layernormVariant(gpu, 127), sub ? 'subgroup' : 'rows');
  assert.equal(layernormVariant(gpu, 516), 'rows');
  assert.equal(layernormVariant(gpu, 129), 'rows');
  setLayernormVariant('subgroup');
  try {
    if (subgroupMatmulUsable(gpu)) assert.throws(() => layernormVariant(gpu, 129), /subgroup variant takes C ≤ 512 \(C % 4 = 0\) or C ≤ 128, got C=129/);
  } finally {
    setLayernormVariant(null);
  }
  const plain = await openGpu({ disableFeatures: ['subgroups'] });
  try {
    assert.equal(layernormVariant(plain, 256), 'rows');
    setLayernormVariant('subgroup');
    assert.throws(() => layernormVariant(plain, 256), /needs usable 8-lane subgroups/);
  } finally {
    setLayernormVariant(null);
    plain.destroy();
  }
});

test('the reference backward equals finite differences of the reference forward', () => {
  const N = 3, C = 7, eps = 1e-5;
  const k = makeCase(N, C, 1, 5);
  const x = Array.from(k.x, Number), w = Array.from(k.w, Number), b = Array.from(k.b, Number);
  const loss = (xs: number[], ws: number[], bs: number[]) => {
    const y = new Float64Array(N * C);
    layernorm_forward_reference(y, new Float64Array(N), new Float64Array(N), xs, ws, bs, N, C, eps);
    return y.reduce((s, v, i) => s + v * k.dy[i], 0);
  };
  const mean = new Float64Array(N), rstd = new Float64Array(N);
  layernorm_forward_reference(new Float64Array(N * C), mean, rstd, x, w, b, N, C, eps);
  const dx = new Float64Array(N * C), dw = new Float64Array(C), db = new Float64Array(C);
  layernorm_backward_reference(dx, dw, db, k.dy, x, w, mean, rstd, N, C);
  const h = 1e-6;
  const fd = (arr: number[], i: number, f: (a: number[]) => number) => {
    const p = arr.slice(); p[i] += h;
    const m = arr.slice(); m[i] -= h;
    return (f(p) - f(m)) / (2 * h);
  };
  for (let i = 0; i < N * C; i++) assert.ok(Math.abs(fd(x, i, (a) => loss(a, w, b)) - dx[i]) < 1e-7, `dinp[${i}]`);
  for (let c = 0; c < C; c++) {
    assert.ok(Math.abs(fd(w, c, (a) => loss(x, a, b)) - dw[c]) < 1e-7, `dweight[${c}]`);
    assert.ok(Math.abs(fd(b, c, (a) => loss(x, w, a)) - db[c]) < 1e-7, `dbias[${c}]`);
  }
});

test('worked example: a row [1, 2, 3] normalises to [−√1.5, 0, √1.5]', () => {
  const y = new Float64Array(3), m = new Float64Array(1), r = new Float64Array(1);
  layernorm_forward_reference(y, m, r, [1, 2, 3], [1, 1, 1], [0, 0, 0], 1, 3, 1e-15);
  assert.equal(m[0], 2);
  assert.ok(Math.abs(y[0] + Math.sqrt(1.5)) < 1e-12 && y[1] === 0 && Math.abs(y[2] - Math.sqrt(1.5)) < 1e-12);
});

test('layernorm launchers reject bad input before dispatching', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  assert.throws(() => layernorm_forward(gpu, enc, b, b, b, b, b, b, 0, 4, 1e-5), /layernorm_forward: dimension N=0/);
  assert.throws(() => layernorm_forward(gpu, enc, b, b, b, b, b, b, 4, 4, 0), /eps=0/);
  assert.throws(() => layernorm_forward(gpu, enc, b, b, b, b, gpu.zeros(8), b, 4, 4, 1e-5), /buffer 'weight' holds 2 elements, needs 4/);
  assert.throws(() => layernorm_backward(gpu, enc, b, b, b, b, b, b, b, b, 8, 9), /layernorm_backward: buffer 'dinp' holds 16 elements, needs 72/);
  assert.equal(enc.size, 0);
});

// ---- PyTorch goldens (scripts/golden_layernorm_gelu_attention_embedding.py: torch float64 on f32-rounded inputs) ----
interface TorchLayernorm { N: number; C: number; eps: number; x: number[]; weight: number[]; bias: number[]; dout: number[];
  out: number[]; mean: number[]; rstd: number[]; dinp: number[]; dweight: number[]; dbias: number[] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/layernorm_torch.json', import.meta.url), 'utf8')) as { cases: TorchLayernorm[] };

// Bound vs torch: |got − torch| ≤ tol·max(|torch_i|, mean_i |torch_i|); tol = 1e-12 for the float64
// reference, 3e-5 for the GPU (f32 sums over C ≤ 64 terms with an offset of up to 3σ).
function closeToTorch(what: string, got: ArrayLike<number>, want: number[], tol: number) {
  const meanAbs = want.reduce((s, v) => s + Math.abs(v), 0) / want.length;
  assertAllClose(what, got, want, (i) => tol * Math.max(Math.abs(want[i]), meanAbs));
}

test('layernorm reference and GPU match PyTorch (F.layer_norm + autograd)', async () => {
  for (const g of golden.cases) {
    const { N, C, eps } = g;
    const y = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
    layernorm_forward_reference(y, mean, rstd, g.x, g.weight, g.bias, N, C, eps);
    const dx = new Float64Array(N * C), dw = new Float64Array(C), db = new Float64Array(C);
    layernorm_backward_reference(dx, dw, db, g.dout, g.x, g.weight, mean, rstd, N, C);
    const tag = `torch ${N}x${C}`;
    for (const [nm, a, b] of [['out', y, g.out], ['mean', mean, g.mean], ['rstd', rstd, g.rstd], ['dinp', dx, g.dinp], ['dweight', dw, g.dweight], ['dbias', db, g.dbias]] as const) {
      closeToTorch(`reference ${nm} ${tag}`, a, b, 1e-12);
    }
    const k: Case = { N, C, x: Float32Array.from(g.x), w: Float32Array.from(g.weight), b: Float32Array.from(g.bias), dy: Float32Array.from(g.dout),
      dx0: new Float32Array(N * C), dw0: new Float32Array(C), db0: new Float32Array(C) };
    const got = await runGpu(k, eps, false);
    for (const [nm, a, b] of [['out', got.y, g.out], ['mean', got.mean, g.mean], ['rstd', got.rstd, g.rstd], ['dinp', got.dx, g.dinp], ['dweight', got.dw, g.dweight], ['dbias', got.db, g.dbias]] as const) {
      closeToTorch(`GPU ${nm} ${tag}`, a, b, 3e-5);
    }
  }
});
