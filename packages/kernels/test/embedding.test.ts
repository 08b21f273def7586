// embedding forward/backward on the GPU: forward against the float64 reference; backward bit-exact
// with an f32 sum in the documented order (so the same bits every run), and against the float64
// reference; out-of-range ids; finite differences on the reference.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose, embedding_backward, embedding_backward_reference, embedding_forward, embedding_forward_reference,
  mulberry32, poisoned, randomF32, type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const U = 2 ** -24;
const f = Math.fround;

interface EmbCase { B: number; T: number; C: number; V: number; TV: number; ids: Int32Array; types: Int32Array | null;
  wte: Float32Array; wpe: Float32Array; wtt: Float32Array; dout: Float32Array; dwte0: Float32Array; dwpe0: Float32Array; dwtt0: Float32Array }

function makeCase(B: number, T: number, C: number, V: number, TV: number, withTypes: boolean, seed: number): EmbCase {
  const rand = mulberry32(seed);
  // Skewed ids: a few frequent ids (like [CLS], [PAD]) and a uniform tail, so runs of equal ids vary in length.
  const ids = Int32Array.from({ length: B * T }, () => (rand() < 0.4 ? Math.floor(rand() * Math.min(V, 3)) : Math.floor(rand() * V)));
  return {
    B, T, C, V, TV, ids,
    types: withTypes ? Int32Array.from({ length: B * T }, () => Math.floor(rand() * TV)) : null,
    wte: randomF32(rand, V * C), wpe: randomF32(rand, T * C), wtt: randomF32(rand, TV * C), dout: randomF32(rand, B * T * C, -2, 2),
    dwte0: randomF32(rand, V * C), dwpe0: randomF32(rand, T * C), dwtt0: randomF32(rand, TV * C),
  };
}

async function runGpu(k: EmbCase) {
  const { B, T, C, V, TV } = k;
  const N = B * T;
  const IDS = gpu.buffer(k.ids), TYPES = k.types ? gpu.buffer(k.types) : null;
  const WTE = gpu.buffer(k.wte), WPE = gpu.buffer(k.wpe), WTT = k.types ? gpu.buffer(k.wtt) : null;
  const DOUT = gpu.buffer(k.dout), OUT = poisoned(gpu, N * C);
  const DWTE = gpu.buffer(k.dwte0), DWPE = gpu.buffer(k.dwpe0), DWTT = k.types ? gpu.buffer(k.dwtt0) : null;
  const enc = gpu.encoder();
  embedding_forward(gpu, enc, OUT, IDS, TYPES, WTE, WPE, WTT, B, T, C, TV);
  embedding_backward(gpu, enc, DWTE, DWPE, DWTT, DOUT, IDS, TYPES, B, T, C, V, TV);
  await enc.submit();
  const r = { out: await gpu.read(OUT), dwte: await gpu.read(DWTE), dwpe: await gpu.read(DWPE), dwtt: DWTT ? await gpu.read(DWTT) : null };
  for (const b of [IDS, TYPES, WTE, WPE, WTT, DOUT, OUT, DWTE, DWPE, DWTT]) b?.destroy();
  return r;
}

/** The backward's documented f32 summation order, emulated exactly. */
function f32Backward(k: EmbCase) {
  const { B, T, C, V, TV, ids, types, dout } = k;
  const N = B * T;
  const dwte = Float32Array.from(k.dwte0), dwpe = Float32Array.from(k.dwpe0), dwtt = Float32Array.from(k.dwtt0);
  for (let v = 0; v < V; v++) {
    const acc = new Float64Array(C); let any = false;
    for (let p = 0; p < N; p++) if (ids[p] === v) { any = true; for (let c = 0; c < C; c++) acc[c] = f(acc[c] + dout[p * C + c]); }
    if (any) for (let c = 0; c < C; c++) dwte[v * C + c] = f(dwte[v * C + c] + acc[c]);
  }
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let b = 0; b < B; b++) acc = f(acc + dout[(b * T + t) * C + c]);
    dwpe[t * C + c] = f(dwpe[t * C + c] + acc);
  }
  if (types) {
    // Per type and column: Σ over t in order of (Σ over b in order of the matching dout[b, t]).
    for (let kk = 0; kk < TV; kk++) for (let c = 0; c < C; c++) {
      let total = 0;
      for (let t = 0; t < T; t++) {
        let acc = 0;
        for (let b = 0; b < B; b++) if (types[b * T + t] === kk) acc = f(acc + dout[(b * T + t) * C + c]);
        total = f(total + acc);
      }
      dwtt[kk * C + c] = f(dwtt[kk * C + c] + total);
    }
  }
  return { dwte, dwpe, dwtt };
}

function checkCase(k: EmbCase, got: Awaited<ReturnType<typeof runGpu>>) {
  const { B, T, C, V, TV } = k;
  const N = B * T;
  const tag = `B=${B} T=${T} C=${C} V=${V}${k.types ? ` TV=${TV}` : ''}`;
  // Forward: 2 or 3 f32 terms → within 2 roundings of the f64 sum of the f32 inputs.
  const out = new Float64Array(N * C);
  embedding_forward_reference(out, k.ids, k.types, k.wte, k.wpe, k.types ? k.wtt : null, B, T, C, TV);
  const mag = (i: number) => {
    const p = Math.floor(i / C), c = i % C;
    return Math.abs(k.wte[k.ids[p] * C + c]) + Math.abs(k.wpe[(p % T) * C + c]) + (k.types ? Math.abs(k.wtt[k.types[p] * C + c]) : 0);
  };
  assertAllClose(`forward ${tag}`, got.out, out, (i) => 2 * U * mag(i));
  // Backward: bit-exact with the documented order ...
  const e = f32Backward(k);
  assertAllClose(`dwte bits ${tag}`, got.dwte, e.dwte, () => 0);
  assertAllClose(`dwpe bits ${tag}`, got.dwpe, e.dwpe, () => 0);
  if (got.dwtt) assertAllClose(`dwtt bits ${tag}`, got.dwtt, e.dwtt, () => 0);
  // ... and within the f32 summation bound (n terms: n·u·Σ|terms|) of the float64 reference.
  const dwte = Float64Array.from(k.dwte0), dwpe = Float64Array.from(k.dwpe0), dwtt = Float64Array.from(k.dwtt0);
  embedding_backward_reference(dwte, dwpe, k.types ? dwtt : null, k.dout, k.ids, k.types, B, T, C, V, TV);
  const bound = (n: number) => (i: number, absSum: number) => (n + 2) * U * absSum;
  const absTe = Float64Array.from(k.dwte0, Math.abs);
  for (let p = 0; p < N; p++) for (let c = 0; c < C; c++) absTe[k.ids[p] * C + c] += Math.abs(k.dout[p * C + c]);
  assertAllClose(`dwte ${tag}`, got.dwte, dwte, (i) => bound(N)(i, absTe[i]));
}

const dim = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 40 }));
test('embedding forward and backward (dwte, dwpe, dwtt +=) match the reference, backward bit-exact in its documented order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }), dim, fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 37 })),
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 13, max: 600 })),
      fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.integer(),
      async (B, T, C, V, TV, withTypes, seed) => {
        const k = makeCase(B, T, C, V, TV, withTypes, seed);
        checkCase(k, await runGpu(k));
      },
    ),
    { numRuns: 30 },
  );
});

test('embedding backward at a BERT shape (B 16, T 128, C 128, V 8192) gives the same bits on every run', async () => {
  const k = makeCase(16, 128, 128, 8192, 2, true, 99);
  const a = await runGpu(k);
  checkCase(k, a);
  const b = await runGpu(k);
  assert.deepEqual(b.dwte, a.dwte);
  assert.deepEqual(b.dwpe, a.dwpe);
  assert.deepEqual(b.dwtt, a.dwtt);
});

test('embedding backward: N = 9003 positions, one id everywhere, odd and vec4 C, 1 and 6 token types; bit-exact, same bits after other shapes', async () => {
  // C = 12 takes the vec4 path, C = 7 the scalar one; 6 types take two sweeps of 4 type sums.
  const big = makeCase(3, 3001, 12, 50, 6, true, 7);
  const odd = makeCase(3, 3001, 7, 50, 1, true, 8);
  const same = makeCase(2, 70, 8, 5, 2, true, 9);
  same.ids.fill(3); // one run of all 140 positions
  const first = await runGpu(big);
  checkCase(big, first);
  checkCase(odd, await runGpu(odd));
  checkCase(same, await runGpu(same));
  const again = await runGpu(big); // after calls with other N, V, C, TV (the sort's scratch reused)
  assert.deepEqual(again.dwte, first.dwte);
  assert.deepEqual(again.dwpe, first.dwpe);
  assert.deepEqual(again.dwtt, first.dwtt);
  assert.deepEqual(again.out, first.out);
});

test('an out-of-range id gives a NaN row in the forward and no gradient in the backward; the reference throws', async () => {
  const k = makeCase(1, 4, 3, 5, 2, false, 1);
  k.ids.set([1, 5, -1, 1]);
  const got = await runGpu(k);
  assert.ok([3, 4, 5, 6, 7, 8].every((i) => Number.isNaN(got.out[i])));
  assert.ok(!Number.isNaN(got.out[0]) && !Number.isNaN(got.out[9]));
  const e = f32Backward(k); // positions with ids 5 and −1 match no row
  assertAllClose('dwte with bad ids', got.dwte, e.dwte, () => 0);
  assert.throws(() => embedding_forward_reference(new Float64Array(12), k.ids, null, k.wte, k.wpe, null, 1, 4, 3), /ids\[1\] = 5 is outside \[0, 5\)/);
});

test('the reference backward equals finite differences of the reference forward', () => {
  const k = makeCase(2, 3, 2, 4, 2, true, 5);
  const { B, T, C, V } = k;
  const w = { wte: Array.from(k.wte, Number), wpe: Array.from(k.wpe, Number), wtt: Array.from(k.wtt, Number) };
  const loss = (x: typeof w) => {
    const o = new Float64Array(B * T * C);
    embedding_forward_reference(o, k.ids, k.types, x.wte, x.wpe, x.wtt, B, T, C);
    return o.reduce((s, v, i) => s + v * k.dout[i], 0);
  };
  const g = { wte: new Float64Array(V * C), wpe: new Float64Array(T * C), wtt: new Float64Array(2 * C) };
  embedding_backward_reference(g.wte, g.wpe, g.wtt, k.dout, k.ids, k.types, B, T, C, V);
  for (const name of ['wte', 'wpe', 'wtt'] as const) {
    for (let i = 0; i < w[name].length; i++) {
      const p = { ...w, [name]: w[name].slice() }; p[name][i] += 1e-6;
      const m = { ...w, [name]: w[name].slice() }; m[name][i] -= 1e-6;
      const fd = (loss(p) - loss(m)) / 2e-6;
      assert.ok(Math.abs(fd - g[name][i]) < 1e-8, `d${name}[${i}]: ${fd} vs ${g[name][i]}`);
    }
  }
});

test('embedding launchers reject bad input before dispatching', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  assert.throws(() => embedding_forward(gpu, enc, b, b, null, b, b, null, 0, 4, 4), /embedding_forward: dimension B=0/);
  assert.throws(() => embedding_forward(gpu, enc, b, b, b, b, b, null, 1, 4, 4), /typeIds and wtt must both be given/);
  assert.throws(() => embedding_forward(gpu, enc, b, b, null, b, gpu.zeros(16), null, 1, 4, 4), /buffer 'wpe' holds 4 elements, needs 16/);
  assert.throws(() => embedding_backward(gpu, enc, b, b, null, b, b, null, 1, 4, 4, 17), /buffer 'dwte' holds 16 elements, needs 68/);
  assert.equal(enc.size, 0);
});

// ---- PyTorch goldens (scripts/golden_layernorm_gelu_attention_embedding.py: F.embedding ×3 + autograd, float64) ----
interface TorchEmbedding { B: number; T: number; C: number; V: number; TV: number; P: number; ids: number[]; typeIds: number[];
  wte: number[]; wpe: number[]; wtt: number[]; dout: number[]; out: number[]; dwte: number[]; dwpe: number[]; dwtt: number[] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/embedding_torch.json', import.meta.url), 'utf8')) as { cases: TorchEmbedding[] };

test('embedding (reference and GPU) matches PyTorch, with a position table longer than T', async () => {
  for (const g of golden.cases) {
    const { B, T, C, V, TV, P } = g;
    const N = B * T;
    const out = new Float64Array(N * C);
    embedding_forward_reference(out, g.ids, g.typeIds, g.wte, g.wpe, g.wtt, B, T, C, TV);
    const dwte = new Float64Array(V * C), dwpe = new Float64Array(P * C), dwtt = new Float64Array(TV * C);
    embedding_backward_reference(dwte, dwpe, dwtt, g.dout, g.ids, g.typeIds, B, T, C, V, TV);
    // Bound: reference 1e-12 relative; GPU: sums of ≤ N f32 terms, (N + 2)·2⁻²⁴ relative to the sum of magnitudes (≤ 4·max).
    const mx = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const [nm, ref, want] of [['out', out, g.out], ['dwte', dwte, g.dwte], ['dwpe', dwpe, g.dwpe], ['dwtt', dwtt, g.dwtt]] as const) {
      assertAllClose(`reference ${nm}`, ref, want, (i) => 1e-12 * Math.max(1, Math.abs(want[i])));
    }
    const IDS = gpu.buffer(Int32Array.from(g.ids)), TYPES = gpu.buffer(Int32Array.from(g.typeIds));
    const WTE = gpu.buffer(Float32Array.from(g.wte)), WPE = gpu.buffer(Float32Array.from(g.wpe)), WTT = gpu.buffer(Float32Array.from(g.wtt));
    const DOUT = gpu.buffer(Float32Array.from(g.dout)), OUT = poisoned(gpu, N * C);
    const DWTE = gpu.zeros(V * C * 4), DWPE = gpu.zeros(P * C * 4), DWTT = gpu.zeros(TV * C * 4);
    const enc = gpu.encoder();
    embedding_forward(gpu, enc, OUT, IDS, TYPES, WTE, WPE, WTT, B, T, C, TV);
    embedding_backward(gpu, enc, DWTE, DWPE, DWTT, DOUT, IDS, TYPES, B, T, C, V, TV);
    await enc.submit();
    for (const [nm, buf, want] of [['out', OUT, g.out], ['dwte', DWTE, g.dwte], ['dwpe', DWPE, g.dwpe], ['dwtt', DWTT, g.dwtt]] as const) {
      const bound = (N + 2) * U * 4 * mx(nm === 'out' ? g.out : g.dout);
      assertAllClose(`GPU ${nm} B=${B} T=${T}`, await gpu.read(buf), want, () => bound);
    }
  }
});
