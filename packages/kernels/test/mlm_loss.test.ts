// Masked-LM loss: GPU vs float64 reference (fast-check; gathered and pre-gathered rows, ignored
// targets, accumulate, chunked vocabularies), "equals cross-entropy over the gathered rows",
// finite differences of the reference, bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertAllClose,
  gather_rows_forward_reference,
  linear_forward_reference,
  mlm_loss_forward_backward,
  mlm_loss_forward_backward_reference,
  mulberry32,
  openGpu,
  poisoned,
  randomF32,
  softmax_cross_entropy_reference,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
before(async () => {
  gpu = await openGpu();
});
after(() => gpu?.destroy());

function pick(rand: () => number, total: number, n: number): Int32Array {
  const all = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return Int32Array.from(all.slice(0, n));
}

interface Case {
  n: number; V: number; C: number; totalRows: number; gathered: boolean; accumulate: boolean;
  hidden: Float32Array; rows: Int32Array; targets: Int32Array; wte: Float32Array; bias: Float32Array | null;
  dh0: Float32Array; dwte0: Float32Array; dbias0: Float32Array; normalizer: number;
}

function makeCase(n: number, V: number, C: number, extra: number, seed: number, gathered: boolean, withBias: boolean, accumulate: boolean, ignoredFrac: number): Case {
  const rand = mulberry32(seed);
  const totalRows = gathered ? n : n + extra;
  const hidden = randomF32(rand, totalRows * C, -1, 1);
  const rows = pick(rand, totalRows, n);
  const targets = Int32Array.from({ length: n }, () => (rand() < ignoredFrac ? -100 : Math.floor(rand() * V)));
  const wte = randomF32(rand, V * C, -1, 1);
  const bias = withBias ? randomF32(rand, V, -1, 1) : null;
  const kept = targets.filter((t) => t !== -100).length;
  return {
    n, V, C, totalRows, gathered, accumulate, hidden, rows, targets, wte, bias,
    dh0: randomF32(rand, totalRows * C, -1, 1), dwte0: randomF32(rand, V * C, -1, 1), dbias0: randomF32(rand, V, -1, 1),
    normalizer: Math.max(kept, 1),
  };
}

async function runGpu(c: Case, maxLogitsPerChunk?: number) {
  const H = gpu.buffer(c.hidden), R = gpu.buffer(c.rows), T = gpu.buffer(c.targets), W = gpu.buffer(c.wte), Bs = c.bias ? gpu.buffer(c.bias) : null;
  const L = poisoned(gpu, c.n);
  const DH = c.accumulate ? gpu.buffer(c.dh0) : poisoned(gpu, c.totalRows * c.C);
  const DW = gpu.buffer(c.dwte0), DB = gpu.buffer(c.dbias0);
  const enc = gpu.encoder();
  mlm_loss_forward_backward(gpu, enc, {
    losses: L, dhidden: DH, dwte: DW, dbias: DB, hidden: H, rows: c.gathered ? null : R, targets: T, wte: W, bias: Bs,
    n: c.n, V: c.V, C: c.C, totalRows: c.totalRows, normalizer: c.normalizer, accumulateDhidden: c.accumulate, maxLogitsPerChunk,
  });
  await enc.submit();
  const got = { losses: await gpu.read(L), dh: await gpu.read(DH), dwte: await gpu.read(DW), dbias: await gpu.read(DB) };
  for (const b of [H, R, T, W, Bs, L, DH, DW, DB]) b?.destroy();
  return got;
}

function runRef(c: Case) {
  const ref = {
    losses: new Float64Array(c.n), dh: c.accumulate ? Float64Array.from(c.dh0) : new Float64Array(c.totalRows * c.C),
    dwte: Float64Array.from(c.dwte0), dbias: Float64Array.from(c.dbias0),
  };
  mlm_loss_forward_backward_reference({
    losses: ref.losses, dhidden: ref.dh, dwte: ref.dwte, dbias: ref.dbias, hidden: c.hidden, rows: c.gathered ? null : c.rows,
    targets: c.targets, wte: c.wte, bias: c.bias, n: c.n, V: c.V, C: c.C, totalRows: c.totalRows, normalizer: c.normalizer, accumulateDhidden: c.accumulate,
  });
  return ref;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// Bounds: logits are C-term f32 dot products (error ≲ C·2⁻²⁴·C for inputs in [−1, 1]); the loss
// follows them (|Δloss| ≤ 2·max|Δlogit|). Gradients are sums of ≤ max(n, V) products of f32
// values: bounded by 2·(n + V + C)·2⁻²⁴ times the tensor's largest magnitude, plus |Δ| ≤
// 1e-6/normalizer per probability — together ≤ 2e-5 of the tensor's largest magnitude here.
function compare(c: Case, got: Awaited<ReturnType<typeof runGpu>>, what: string) {
  const ref = runRef(c);
  const U = 2 ** -24;
  assertAllClose(`${what} losses`, got.losses, ref.losses, (i) => 4 * c.C * c.C * U + 1e-5 * (1 + Math.abs(ref.losses[i])));
  for (const k of ['dh', 'dwte', 'dbias'] as const) {
    const m = maxAbs(ref[k]);
    assertAllClose(`${what} ${k}`, got[k], ref[k], (i) => 2e-5 * m + 4 * U * Math.abs(ref[k][i]));
  }
}

test('GPU matches the reference: gathered / pre-gathered rows, ignored targets, bias, accumulate', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }), fc.oneof(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 10, max: 600 })), fc.integer({ min: 1, max: 48 }),
      fc.integer({ min: 0, max: 30 }), fc.integer(), fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(0, 0.3, 1),
      async (n, V, C, extra, seed, gathered, withBias, accumulate, ign) => {
        const c = makeCase(n, V, C, extra, seed, gathered, withBias, accumulate, ign);
        compare(c, await runGpu(c), `n=${n} V=${V} C=${C} rows=${!gathered} acc=${accumulate}`);
      },
    ),
    { numRuns: 25 },
  );
});

test('rows processed in several logits chunks (n 150, V 301, chunks of 64 rows) give the same result', async () => {
  const c = makeCase(150, 301, 12, 70, 9, false, true, false, 0.1);
  compare(c, await runGpu(c, 64 * 301), 'chunked');
});

test('property: the masked-LM loss equals cross-entropy over the gathered rows (reference, independent path)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 30 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.integer(), (n, V, C, extra, seed) => {
      const c = makeCase(n, V, C, extra, seed, false, true, false, 0.2);
      const ref = runRef(c);
      const hm = new Float64Array(n * C);
      gather_rows_forward_reference(hm, c.hidden, c.rows, n, C);
      const logits = new Float64Array(n * V);
      linear_forward_reference(logits, hm, c.wte, c.bias, n, V, C);
      const losses = new Float64Array(n);
      softmax_cross_entropy_reference(losses, null, logits, c.targets, n, V, { normalizer: c.normalizer });
      for (let i = 0; i < n; i++) assert.ok(Math.abs(losses[i] - ref.losses[i]) <= 1e-12 * (1 + losses[i]));
      // Unmasked rows get no gradient.
      const masked = new Set(c.rows);
      for (let r = 0; r < c.totalRows; r++) if (!masked.has(r)) for (let k = 0; k < C; k++) assert.equal(ref.dh[r * C + k], 0);
    }),
  );
});

test('finite differences: the reference gradients are ∂(Σ losses / normalizer) w.r.t. hidden, wte, bias', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.integer(), (n, V, C, extra, seed) => {
      const c = makeCase(n, V, C, extra, seed, false, true, false, 0.2);
      const ref = runRef(c);
      const f = (h: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>) => {
        const l = new Float64Array(n);
        mlm_loss_forward_backward_reference({ losses: l, dhidden: null, dwte: null, dbias: null, hidden: h, rows: c.rows, targets: c.targets, wte: w, bias: b, n, V, C, totalRows: c.totalRows, normalizer: c.normalizer });
        return l.reduce((s, v) => s + v, 0) / c.normalizer;
      };
      const h = Float64Array.from(c.hidden), w = Float64Array.from(c.wte), b = Float64Array.from(c.bias!);
      const eps = 1e-6;
      const check = (arr: Float64Array, grad: ArrayLike<number>, base: ArrayLike<number>, which: string, call: (z: Float64Array) => number) => {
        for (let k = 0; k < arr.length; k++) {
          const p = Float64Array.from(arr); p[k] += eps;
          const m = Float64Array.from(arr); m[k] -= eps;
          const fd = (call(p) - call(m)) / (2 * eps);
          const g = grad[k] - base[k];
          assert.ok(Math.abs(fd - g) <= 1e-6 * (1 + Math.abs(g)), `${which}[${k}]: fd ${fd} vs ${g}`);
        }
      };
      check(h, ref.dh, new Float64Array(h.length), 'hidden', (z) => f(z, w, b));
      check(w, ref.dwte, c.dwte0, 'wte', (z) => f(h, z, b));
      check(b, ref.dbias, c.dbias0, 'bias', (z) => f(h, w, z));
    }),
    { numRuns: 40 },
  );
});

test('bad input fails before any dispatch', () => {
  const enc = gpu.encoder();
  const z = gpu.zeros(256);
  const base = { losses: z, dhidden: z, dwte: z, dbias: z, hidden: z, rows: z, targets: z, wte: z, bias: z, n: 4, V: 8, C: 4, totalRows: 16, normalizer: 4 };
  assert.throws(() => mlm_loss_forward_backward(gpu, enc, { ...base, n: 0 }), /dimension n=0/);
  assert.throws(() => mlm_loss_forward_backward(gpu, enc, { ...base, totalRows: undefined }), /totalRows is required/);
  assert.throws(() => mlm_loss_forward_backward(gpu, enc, { ...base, normalizer: 0 }), /normalizer=0/);
  assert.throws(() => mlm_loss_forward_backward(gpu, enc, { ...base, V: 100 }), /buffer 'wte' holds 64 elements, needs 400/);
  assert.throws(() => mlm_loss_forward_backward(gpu, enc, { ...base, n: 20 }), /n=20 masked rows exceed totalRows=16/);
  assert.equal(enc.size, 0);
});
