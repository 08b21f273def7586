// attention forward/backward on the GPU against the float64 reference, with padding masks
// (partly and fully padded sequences), T = 1, odd head sizes; finite differences on the reference.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose, attention_backward, attention_backward_reference, attention_forward, attention_forward_reference,
  mulberry32, poisoned, probeSubgroupSize, randomF32, setAttentionChunkPairs, setAttentionVariant, subgroupMatmulUsable, type AttentionDropout, type AttentionVariant, type Gpu,
} from '../src/index.js';
import { setAttentionVecOut } from '../src/attention.js';

let gpu: Gpu;
// Both product-kernel variants are tested where the device has them: 'register' everywhere,
// 'subgroup' where 8-lane subgroups are usable (lavapipe).
let variants: AttentionVariant[] = ['register'];
gpuForTests(async (g) => {
  gpu = g;
  await probeSubgroupSize(gpu);
  if (subgroupMatmulUsable(gpu)) variants = ['register', 'subgroup'];
}, () => setAttentionVariant(null));

const U = 2 ** -24;

export interface AttnCase {
  B: number; T: number; NH: number; HS: number;
  q: Float32Array; k: Float32Array; v: Float32Array; dout: Float32Array; mask: Int32Array;
}

/** lens[b] real tokens at the start of sequence b (0 = a fully padded sequence), or a random pattern. */
function makeCase(B: number, T: number, NH: number, HS: number, seed: number, maskKind: 'prefix' | 'random'): AttnCase {
  const rand = mulberry32(seed);
  const n = B * T * NH * HS;
  const mask = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = Math.floor(rand() * (T + 1)); // 0..T, so fully padded sequences occur
    for (let t = 0; t < T; t++) mask[b * T + t] = maskKind === 'prefix' ? (t < len ? 1 : 0) : rand() < 0.7 ? 1 : 0;
  }
  return { B, T, NH, HS, mask, q: randomF32(rand, n, -2, 2), k: randomF32(rand, n, -2, 2), v: randomF32(rand, n, -1, 1), dout: randomF32(rand, n, -1, 1) };
}

async function runGpu(c: AttnCase, dropout: AttentionDropout | null = null) {
  const { B, T, NH, HS } = c;
  const n = B * T * NH * HS;
  const Q = gpu.buffer(c.q), K = gpu.buffer(c.k), V = gpu.buffer(c.v), DO = gpu.buffer(c.dout), M = gpu.buffer(c.mask);
  const O = poisoned(gpu, n), L = poisoned(gpu, B * NH * T), DQ = poisoned(gpu, n), DK = poisoned(gpu, n), DV = poisoned(gpu, n);
  const enc = gpu.encoder();
  attention_forward(gpu, enc, O, L, Q, K, V, M, B, T, NH, HS, dropout);
  attention_backward(gpu, enc, DQ, DK, DV, DO, O, L, Q, K, V, M, B, T, NH, HS, dropout);
  await enc.submit();
  const r = { out: await gpu.read(O), lse: await gpu.read(L), dq: await gpu.read(DQ), dk: await gpu.read(DK), dv: await gpu.read(DV) };
  for (const b of [Q, K, V, DO, M, O, L, DQ, DK, DV]) b.destroy();
  return r;
}

// Error bounds. With A_i = max_j Σ_e |q_ie k_je|/√HS (the scale of the scores) the f32 error of a
// probability is at most ε_i = 4·HS·u·A_i + 4·T·u + 8u relative (score dot product, lse sum, exp);
//   out_ie, lse_i:  ε_i · Σ_j p_ij |v_je|,   ε_i (1 + |lse_i|)
//   dv_je:          Σ_i ε_i p_ij |dout_ie|  + T·u·Σ_i p_ij|dout_ie|
//   dq_ie:          Σ_j ε'_i p_ij (|dP_ij| + |D_i|) |k_je| /√HS,  ε' = ε + 4·HS·u (dP and D are HS-term dots)
//   dk_je:          Σ_i ε'_i p_ij (|dP_ij| + |D_i|) |q_ie| /√HS
// With attention dropout every bound is multiplied by 1/(1 − p) (kept probabilities are scaled by it).
export function checkAgainstReference(c: AttnCase, got: Awaited<ReturnType<typeof runGpu>>, factor = 1, dropout: AttentionDropout | null = null) {
  const { B, T, NH, HS, q, k, v, dout, mask } = c;
  const C = NH * HS, n = B * T * C, scale = 1 / Math.sqrt(HS);
  const out = new Float64Array(n), lse = new Float64Array(B * NH * T);
  attention_forward_reference(out, lse, q, k, v, mask, B, T, NH, HS, dropout);
  const dq = new Float64Array(n), dk = new Float64Array(n), dv = new Float64Array(n);
  attention_backward_reference(dq, dk, dv, dout, out, lse, q, k, v, mask, B, T, NH, HS, dropout);
  if (dropout) factor /= 1 - dropout.p;
  const bo = new Float64Array(n), bl = new Float64Array(B * NH * T), bq = new Float64Array(n), bk = new Float64Array(n), bv = new Float64Array(n);
  for (let b = 0; b < B; b++) for (let h = 0; h < NH; h++) for (let i = 0; i < T; i++) {
    const qi = (b * T + i) * C + h * HS;
    let A = 0;
    for (let j = 0; j < T; j++) {
      let s = 0;
      for (let e = 0; e < HS; e++) s += Math.abs(q[qi + e] * k[(b * T + j) * C + h * HS + e]);
      A = Math.max(A, s * scale);
    }
    const eps = 4 * HS * U * A + 4 * T * U + 8 * U;
    const eps2 = eps + 4 * HS * U;
    const l = lse[(b * NH + h) * T + i];
    bl[(b * NH + h) * T + i] = eps * (1 + Math.abs(l));
    let D = 0, Dabs = 0;
    for (let e = 0; e < HS; e++) { D += dout[qi + e] * out[qi + e]; Dabs += Math.abs(dout[qi + e] * out[qi + e]); }
    for (let j = 0; j < T; j++) {
      if (!mask[b * T + j]) continue;
      const kj = (b * T + j) * C + h * HS;
      let s = 0, dp = 0;
      for (let e = 0; e < HS; e++) { s += q[qi + e] * k[kj + e]; dp += Math.abs(dout[qi + e] * v[kj + e]); }
      const p = Math.exp(s * scale - l);
      for (let e = 0; e < HS; e++) {
        bo[qi + e] += eps * p * Math.abs(v[kj + e]);
        bv[kj + e] += (eps + T * U) * p * Math.abs(dout[qi + e]);
        bq[qi + e] += eps2 * p * (dp + Dabs + Math.abs(D)) * scale * Math.abs(k[kj + e]);
        bk[kj + e] += eps2 * p * (dp + Dabs + Math.abs(D)) * scale * Math.abs(q[qi + e]);
      }
    }
  }
  const tag = `B=${B} T=${T} NH=${NH} HS=${HS}${dropout ? ` dropout p=${dropout.p}` : ''}`;
  const f = (b: Float64Array) => (i: number) => factor * b[i] + 1e-30;
  assertAllClose(`out ${tag}`, got.out, out, f(bo));
  assertAllClose(`lse ${tag}`, got.lse, lse, f(bl));
  assertAllClose(`dv ${tag}`, got.dv, dv, f(bv));
  assertAllClose(`dq ${tag}`, got.dq, dq, f(bq));
  assertAllClose(`dk ${tag}`, got.dk, dk, f(bk));
}

const small = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 4 }));
test('attention forward (out, lse) and backward (dq, dk, dv) match the reference over random shapes and masks', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 17 }), fc.integer({ min: 18, max: 70 })),
      small,
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 24 })),
      fc.constantFrom<'prefix' | 'random'>('prefix', 'random'),
      fc.integer(),
      fc.nat(),
      async (B, T, NH, HS, maskKind, seed, which) => {
        const c = makeCase(B, T, NH, HS, seed, maskKind);
        setAttentionVariant(variants[which % variants.length]);
        checkAgainstReference(c, await runGpu(c));
      },
    ),
    { numRuns: 40 },
  );
});

test('a fully padded sequence gives output 0, lse 0 and zero gradients (no NaN); its neighbours are unaffected', async () => {
  for (const variant of variants) {
  setAttentionVariant(variant);
  const c = makeCase(2, 9, 2, 5, 77, 'prefix');
  c.mask.fill(1, 0, 9);
  c.mask.fill(0, 9, 18); // sequence 1: every key padded
  const got = await runGpu(c);
  const C = 10;
  for (let i = 9 * C; i < 18 * C; i++) {
    assert.equal(got.out[i], 0); assert.equal(got.dq[i], 0); assert.equal(got.dk[i], 0); assert.equal(got.dv[i], 0);
  }
  for (let i = 18; i < 36; i++) assert.equal(got.lse[i], 0);
  checkAgainstReference(c, got);
  }
});

test('attention at T = 128 (BERT-like: B 2, 4 heads of 32, partly padded), each variant', async () => {
  const c = makeCase(2, 128, 4, 32, 5, 'prefix');
  c.mask.fill(1, 0, 100); // keep most keys real
  for (const variant of variants) {
    setAttentionVariant(variant);
    checkAgainstReference(c, await runGpu(c));
  }
});

test('wide heads (HS 40 and 72: 8 columns per lane, several column workgroups) match the reference, each variant', async () => {
  for (const [B, T, NH, HS] of [[2, 20, 2, 40], [1, 9, 1, 72], [2, 33, 1, 64]]) {
    const c = makeCase(B, T, NH, HS, 31 + HS, 'prefix');
    for (const variant of variants) {
      setAttentionVariant(variant);
      checkAgainstReference(c, await runGpu(c));
    }
  }
});

test('vec4 paths (T, HS multiples of 4) with padding inside 4-key chunks: random masks, prefix lengths, vec4 stores on and off', async () => {
  try {
    for (const [B, T, NH, HS, seed] of [[2, 16, 2, 8, 71], [3, 12, 1, 4, 72], [2, 32, 2, 32, 73]]) {
      for (const kind of ['random', 'prefix'] as const) {
        const c = makeCase(B, T, NH, HS, seed, kind);
        for (const on of [true, false]) {
          setAttentionVecOut(on);
          checkAgainstReference(c, await runGpu(c));
        }
      }
    }
  } finally {
    setAttentionVecOut(true);
  }
});

test('attention at T = 512 (the longest sequence BERT uses), partly padded', async () => {
  const c = makeCase(1, 512, 2, 8, 9, 'prefix');
  c.mask.fill(1, 0, 400);
  c.mask.fill(0, 400, 512);
  checkAgainstReference(c, await runGpu(c));
});

test('chunked scores (a few (batch, head) pairs per scratch chunk, odd chunk sizes) give the same results', async () => {
  const c = makeCase(3, 19, 3, 7, 21, 'random');
  try {
    for (const variant of variants) {
      setAttentionVariant(variant);
      for (const pairs of [1, 2, 4]) {
        setAttentionChunkPairs(pairs);
        checkAgainstReference(c, await runGpu(c));
      }
    }
  } finally {
    setAttentionChunkPairs(null);
  }
});

/**
 * The reference backward against central differences of Σ out·dout through the reference forward
 * (h = 1e-6, 1e-7 absolute), on a B 2, T 4, NH 2, HS 3 case with the given mask; returns the
 * forward output with that mask and dropout.
 */
function checkReferenceGradients(seed: number, mask: number[], dropout: AttentionDropout | null): Float64Array {
  const B = 2, T = 4, NH = 2, HS = 3;
  const c = makeCase(B, T, NH, HS, seed, 'prefix');
  c.mask.set(mask);
  const n = B * T * NH * HS;
  const x = { q: Array.from(c.q, Number), k: Array.from(c.k, Number), v: Array.from(c.v, Number) };
  const loss = (qq: number[], kk: number[], vv: number[]) => {
    const o = new Float64Array(n);
    attention_forward_reference(o, new Float64Array(B * NH * T), qq, kk, vv, c.mask, B, T, NH, HS, dropout);
    return o.reduce((s, val, i) => s + val * c.dout[i], 0);
  };
  const out = new Float64Array(n), lse = new Float64Array(B * NH * T);
  attention_forward_reference(out, lse, x.q, x.k, x.v, c.mask, B, T, NH, HS, dropout);
  const dq = new Float64Array(n), dk = new Float64Array(n), dv = new Float64Array(n);
  attention_backward_reference(dq, dk, dv, c.dout, out, lse, x.q, x.k, x.v, c.mask, B, T, NH, HS, dropout);
  const h = 1e-6;
  for (let i = 0; i < n; i++) {
    for (const [name, grad] of [['q', dq], ['k', dk], ['v', dv]] as const) {
      const p = { ...x, [name]: x[name].slice() }; p[name][i] += h;
      const m = { ...x, [name]: x[name].slice() }; m[name][i] -= h;
      const fd = (loss(p.q, p.k, p.v) - loss(m.q, m.k, m.v)) / (2 * h);
      assert.ok(Math.abs(fd - grad[i]) < 1e-7, `d${name}[${i}]: fd ${fd} vs ${grad[i]}`);
    }
  }
  return out;
}

test('the reference backward equals finite differences of the reference forward (with padding)', () => {
  checkReferenceGradients(3, [1, 1, 1, 0, 1, 0, 1, 1], null);
});

test('worked example: one query, two equal keys → the mean of the values', () => {
  const lse = new Float64Array(2);
  // B=1, T=2, NH=1, HS=2: q = k rows equal, so both scores are equal.
  const q = [1, 0, 1, 0], k = [1, 0, 1, 0], v = [2, 4, 6, 8];
  const o = new Float64Array(4);
  attention_forward_reference(o, lse, q, k, v, [1, 1], 1, 2, 1, 2);
  [4, 6, 4, 6].forEach((want, i) => assert.ok(Math.abs(o[i] - want) < 1e-14, `out[${i}] = ${o[i]}`));
  assert.ok(Math.abs(lse[0] - (1 / Math.SQRT2 + Math.log(2))) < 1e-15);
});

test('attention-probability dropout: GPU matches the reference (same hash mask) over random shapes, both variants, chunked', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }), fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 40 })), small,
      fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 40 })), fc.constantFrom(0.1, 0.5, 0.9),
      fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 1000 }), fc.integer(), fc.nat(), fc.constantFrom<number | null>(null, 1, 2),
      async (B, T, NH, HS, p, seed, step, vseed, which, chunk) => {
        const c = makeCase(B, T, NH, HS, vseed, 'prefix');
        setAttentionVariant(variants[which % variants.length]);
        setAttentionChunkPairs(chunk);
        try {
          checkAgainstReference(c, await runGpu(c, { p, seed, step }), 1, { p, seed, step });
        } finally {
          setAttentionChunkPairs(null);
        }
      },
    ),
    { numRuns: 25 },
  );
});

test('attention dropout with p = 0 gives the same bits as no dropout; different steps give different outputs', async () => {
  const c = makeCase(2, 24, 2, 8, 4, 'prefix');
  for (const variant of variants) {
    setAttentionVariant(variant);
    const a = await runGpu(c), b = await runGpu(c, { p: 0, seed: 3, step: 4 });
    assert.deepEqual(b.out, a.out);
    assert.deepEqual(b.dq, a.dq);
    const d1 = await runGpu(c, { p: 0.3, seed: 3, step: 4 }), d2 = await runGpu(c, { p: 0.3, seed: 3, step: 5 });
    assert.notDeepEqual(d1.out, d2.out);
    assert.deepEqual(d1.lse, a.lse); // lse is unaffected by dropout
  }
});

test('with dropout, the reference backward equals finite differences of the reference forward', () => {
  const mask = [1, 1, 1, 0, 1, 1, 0, 0];
  const out = checkReferenceGradients(8, mask, { p: 0.4, seed: 11, step: 2 });
  // The mask really drops something at p = 0.4 (else this test would not test dropout).
  const c = makeCase(2, 4, 2, 3, 8, 'prefix');
  c.mask.set(mask);
  const plain = new Float64Array(out.length);
  attention_forward_reference(plain, new Float64Array(2 * 2 * 4), c.q, c.k, c.v, c.mask, 2, 4, 2, 3);
  let dropped = 0;
  for (let i = 0; i < out.length; i++) if (Math.abs(plain[i] - out[i]) > 1e-12) dropped++;
  assert.ok(dropped > 0);
});

test('attention launchers reject bad input before dispatching', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64 * 4);
  assert.throws(() => attention_forward(gpu, enc, b, b, b, b, b, b, 1, 0, 1, 4), /attention_forward: dimension T=0/);
  assert.throws(() => attention_forward(gpu, enc, b, b, b, b, b, b, 2, 8, 2, 4), /attention_forward: buffer 'out' holds 64 elements, needs 128/);
  assert.throws(() => attention_forward(gpu, enc, b, gpu.zeros(8), b, b, b, b, 1, 8, 2, 4), /buffer 'lse' holds 2 elements, needs 16/);
  assert.throws(() => attention_backward(gpu, enc, b, b, b, b, b, b, b, b, b, gpu.zeros(4), 2, 8, 1, 4), /attention_backward: buffer 'mask' holds 1 elements, needs 16/);
  assert.throws(() => attention_forward(gpu, enc, b, b, b, b, b, b, 1, 8, 2, 4, { p: 1, seed: 0, step: 0 }), /attention_forward: dropout.p=1 must be in \[0, 1\)/);
  assert.throws(() => attention_backward(gpu, enc, b, b, b, b, b, b, b, b, b, b, 1, 8, 2, 4, { p: 0.1, seed: -1, step: 0 }), /attention_backward: dropout.seed=-1/);
  assert.equal(enc.size, 0);
});

// ---- PyTorch goldens (scripts/golden_layernorm_gelu_attention_embedding.py: masked_fill(−inf) + softmax + autograd, float64) ----
interface TorchAttention { B: number; T: number; NH: number; HS: number; mask: number[]; q: number[]; k: number[]; v: number[];
  dout: number[]; out: number[]; lse: number[]; dq: number[]; dk: number[]; dv: number[] }
const golden = JSON.parse(readFileSync(new URL('./fixtures/attention_torch.json', import.meta.url), 'utf8')) as { cases: TorchAttention[] };

// Bound vs torch: |got − torch| ≤ tol·max(|torch_i|, mean|torch|): 1e-12 for the reference, 5e-5 for the GPU.
function closeToTorch(what: string, got: ArrayLike<number>, want: number[], tol: number) {
  const meanAbs = want.reduce((s, v) => s + Math.abs(v), 0) / want.length;
  assertAllClose(what, got, want, (i) => tol * Math.max(Math.abs(want[i]), meanAbs));
}

test('attention (reference and GPU) matches PyTorch with a key-padding mask', async () => {
  for (const g of golden.cases) {
    const { B, T, NH, HS } = g;
    const n = B * T * NH * HS;
    const out = new Float64Array(n), lse = new Float64Array(B * NH * T);
    attention_forward_reference(out, lse, g.q, g.k, g.v, g.mask, B, T, NH, HS);
    const dq = new Float64Array(n), dk = new Float64Array(n), dv = new Float64Array(n);
    attention_backward_reference(dq, dk, dv, g.dout, out, lse, g.q, g.k, g.v, g.mask, B, T, NH, HS);
    const tag = `torch B=${B} T=${T} NH=${NH} HS=${HS}`;
    const c: AttnCase = { B, T, NH, HS, q: Float32Array.from(g.q), k: Float32Array.from(g.k), v: Float32Array.from(g.v),
      dout: Float32Array.from(g.dout), mask: Int32Array.from(g.mask) };
    setAttentionVariant(variants[variants.length - 1]);
    const got = await runGpu(c);
    for (const [nm, ref, gp, want] of [['out', out, got.out, g.out], ['lse', lse, got.lse, g.lse], ['dq', dq, got.dq, g.dq], ['dk', dk, got.dk, g.dk], ['dv', dv, got.dv, g.dv]] as const) {
      closeToTorch(`reference ${nm} ${tag}`, ref, want, 1e-12);
      closeToTorch(`GPU ${nm} ${tag}`, gp, want, 5e-5);
    }
  }
});
