// softmax_cross_entropy: GPU vs float64 reference (fast-check), loss-math properties on the
// reference, finite differences of the reference, PyTorch goldens, bad input.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose,
  mulberry32,
  poisoned,
  randomF32,
  softmax_cross_entropy,
  softmax_cross_entropy_reference,
  softmaxCrossEntropyLayout,
  setSoftmaxCrossEntropyUnroll,
  setSoftmaxCrossEntropyGenericRows,
  subgroupMatmulUsable,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

interface Case {
  N: number;
  V: number;
  logits: Float32Array;
  targets: Int32Array;
  weights: Float32Array | null;
  alpha: Float32Array | null;
  gamma: number;
}

function makeCase(N: number, V: number, seed: number, ignoredFrac: number, weighted: boolean, gamma: number, withAlpha: boolean, spread = 4): Case {
  const rand = mulberry32(seed);
  const logits = randomF32(rand, N * V, -spread, spread);
  const targets = Int32Array.from({ length: N }, () => (rand() < ignoredFrac ? -100 : Math.floor(rand() * V)));
  const weights = weighted ? randomF32(rand, V, 0.2, 2) : null;
  const alpha = withAlpha ? randomF32(rand, V, 0.05, 0.95) : null;
  return { N, V, logits, targets, weights, alpha, gamma };
}

function normalizerOf(c: Case): number {
  let n = 0;
  for (const t of c.targets) if (t !== -100) n += c.weights ? c.weights[t] : 1;
  return n > 0 ? n : 1;
}

type Layout = 'auto' | 'row-per-invocation' | 'row-per-workgroup' | 'row-per-subgroup';
/** Every layout this device can run ('row-per-subgroup' needs 8-lane subgroups). */
const layouts = (): Layout[] => ['auto', 'row-per-invocation', 'row-per-workgroup', ...(subgroupMatmulUsable(gpu) ? (['row-per-subgroup'] as const) : [])];
async function runGpu(c: Case, mode: 'separate' | 'inplace' | 'none', normalizer = normalizerOf(c), layout: Layout = 'auto') {
  const { N, V } = c;
  const L = gpu.buffer(c.logits, 'logits');
  const T = gpu.buffer(c.targets, 'targets');
  const W = c.weights ? gpu.buffer(c.weights, 'w') : null;
  const A = c.alpha ? gpu.buffer(c.alpha, 'alpha') : null;
  const losses = poisoned(gpu, N, 'losses');
  const dl = mode === 'separate' ? poisoned(gpu, N * V, 'dlogits') : mode === 'inplace' ? L : null;
  const enc = gpu.encoder();
  softmax_cross_entropy(gpu, enc, losses, dl, L, T, N, V, { classWeights: W, focalAlpha: A, focalGamma: c.gamma, normalizer, layout });
  await enc.submit();
  const gotLoss = await gpu.read(losses);
  const gotGrad = dl ? await gpu.read(dl) : null;
  for (const b of [L, T, W, A, losses, dl]) b?.destroy();
  return { gotLoss, gotGrad };
}

function reference(c: Case, normalizer = normalizerOf(c)) {
  const losses = new Float64Array(c.N);
  const dlogits = new Float64Array(c.N * c.V);
  softmax_cross_entropy_reference(losses, dlogits, c.logits, c.targets, c.N, c.V, {
    classWeights: c.weights,
    focalAlpha: c.alpha,
    focalGamma: c.gamma,
    normalizer,
  });
  return { losses, dlogits };
}

// Error bounds. The GPU works in f32 with exp/log of ~1 ulp error; the log-sum-exp over V terms
// loses ≲ log2(V)·2⁻²⁴ relatively. Loss: |Δ| ≤ 1e-5·(|loss| + coef) — a few hundred ulps of the
// log-sum-exp. Gradient: |Δ| ≤ 2e-5·coefmax/normalizer + 1e-5·|g| (probabilities are accurate
// to ~1e-6 absolute; focal powers add a few ulps).
function check(c: Case, got: { gotLoss: Float32Array; gotGrad: Float32Array | null }, what: string) {
  const ref = reference(c);
  const cmax = Math.max(1, ...(c.weights ?? [1])) * Math.max(1, ...(c.alpha ?? [1])) * (1 + c.gamma);
  assertAllClose(`${what} losses`, got.gotLoss, ref.losses, (i) => 1e-5 * (Math.abs(ref.losses[i]) + cmax));
  if (got.gotGrad) {
    const norm = normalizerOf(c);
    assertAllClose(`${what} dlogits`, got.gotGrad, ref.dlogits, (i) => (2e-5 * cmax) / norm + 1e-5 * Math.abs(ref.dlogits[i]));
  }
}

const dimN = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 }));
const dimV = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 10, max: 700 }));

test('GPU matches the float64 reference: random shapes, weights, focal γ/α, ignored rows, both layouts (bounds in check())', async () => {
  await fc.assert(
    fc.asyncProperty(
      dimN,
      dimV,
      fc.integer(),
      fc.constantFrom(0, 0.3, 1),
      fc.boolean(),
      fc.constantFrom(0, 0.5, 2, 3.3),
      fc.boolean(),
      fc.constantFrom<'separate' | 'inplace' | 'none'>('separate', 'inplace', 'none'),
      fc.constantFrom<Layout>(...layouts()),
      async (N, V, seed, ign, weighted, gamma, withAlpha, mode, layout) => {
        const c = makeCase(N, V, seed, ign, weighted, gamma, withAlpha);
        check(c, await runGpu(c, mode, normalizerOf(c), layout), `N=${N} V=${V} γ=${gamma} w=${weighted} α=${withAlpha} ${mode} ${layout}`);
      },
    ),
    { numRuns: 50 },
  );
});

test('GPU: rows split over several dispatches (N·V > 4M logits) still match', async () => {
  const c = makeCase(70, 65536, 5, 0.2, true, 0, false, 8);
  check(c, await runGpu(c, 'inplace', normalizerOf(c), 'row-per-workgroup'), 'N=70 V=65536 split, workgroup rows');
  check(c, await runGpu(c, 'inplace', normalizerOf(c), 'row-per-invocation'), 'N=70 V=65536 split, invocation rows');
  if (subgroupMatmulUsable(gpu)) check(c, await runGpu(c, 'inplace', normalizerOf(c), 'row-per-subgroup'), 'N=70 V=65536 split, subgroup rows');
});

test('GPU row-per-invocation: the V-specialised shader (V ≤ 32) and the generic loop both match the reference, every grad mode, ignored and out-of-range rows', async () => {
  try {
    for (const generic of [false, true]) {
      setSoftmaxCrossEntropyGenericRows(generic);
      // Each specialised V is its own pipeline (compiles dominate): a few V, grad modes in turn.
      for (const [k, V] of [1, 2, 5, 9, 32, 33].entries()) {
        for (const mode of [(['separate', 'inplace', 'none'] as const)[k % 3]]) {
          const c = makeCase(70, V, 7 * V + (generic ? 1 : 0), 0.2, V % 2 === 1, V % 3 === 0 ? 2 : 0, V % 4 === 1, 6);
          check(c, await runGpu(c, mode, normalizerOf(c), 'row-per-invocation'), `rows generic=${generic} V=${V} ${mode}`);
        }
        const d = makeCase(3, V, V, 0, false, 0, false);
        d.targets[1] = V;
        const got = await runGpu(d, 'separate', 2, 'row-per-invocation');
        assert.ok(Number.isNaN(got.gotLoss[1]) && Number.isFinite(got.gotLoss[0]) && Number.isFinite(got.gotLoss[2]), `rows generic=${generic} V=${V}: out-of-range target`);
        assert.ok(got.gotGrad!.subarray(V, 2 * V).every(Number.isNaN) && got.gotGrad!.subarray(2 * V).every(Number.isFinite), `rows generic=${generic} V=${V}: NaN gradient row`);
      }
    }
  } finally {
    setSoftmaxCrossEntropyGenericRows(false);
  }
});

test('GPU row-per-subgroup: every unroll, V around multiples of 4 / 32 / the unrolled step, every grad mode (vec4 and scalar paths)', async (t) => {
  if (!subgroupMatmulUsable(gpu)) return t.skip('no usable 8-lane subgroups on this adapter');
  try {
    for (const unroll of [2, 4]) {
      setSoftmaxCrossEntropyUnroll(unroll);
      // V % 4 == 0 takes the vec4 path; others the scalar one. Around 32·k (a full chunk row of 8
      // lanes), 8·4·unroll (one main-loop iteration) and a single logit.
      // The default unroll (4) over the full list; 2 over a few (each (unroll, vec4, mode) compiles).
      const Vs = unroll === 4 ? [1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 64, 96, 127, 128, 129, 130, 132, 255, 256, 260, 1000, 1027] : [5, 33, 96, 130];
      for (const V of Vs) {
        const mode = (['separate', 'inplace', 'none'] as const)[V % 3];
        const c = makeCase(5, V, 100 * unroll + V, 0.25, V % 2 === 0, V % 5 === 0 ? 2 : 0, V % 7 === 0, 6);
        check(c, await runGpu(c, mode, normalizerOf(c), 'row-per-subgroup'), `subgroup unroll=${unroll} V=${V} ${mode}`);
      }
    }
  } finally {
    setSoftmaxCrossEntropyUnroll(4);
  }
});

test('GPU row-per-subgroup: fast-check vs the reference, and the same bits on a second run', async (t) => {
  if (!subgroupMatmulUsable(gpu)) return t.skip('no usable 8-lane subgroups on this adapter');
  await fc.assert(
    fc.asyncProperty(dimN, fc.integer({ min: 1, max: 1500 }), fc.integer(), fc.constantFrom(0, 0.3, 1), fc.boolean(), fc.constantFrom(0, 2),
      fc.constantFrom<'separate' | 'inplace' | 'none'>('separate', 'inplace', 'none'),
      async (N, V, seed, ign, weighted, gamma, mode) => {
        const c = makeCase(N, V, seed, ign, weighted, gamma, false);
        const a = await runGpu(c, mode, normalizerOf(c), 'row-per-subgroup');
        check(c, a, `subgroup N=${N} V=${V} ${mode}`);
        const b = await runGpu(c, mode, normalizerOf(c), 'row-per-subgroup');
        assert.deepEqual(new Uint32Array(b.gotLoss.buffer), new Uint32Array(a.gotLoss.buffer), 'losses differ between runs');
        if (a.gotGrad) assert.deepEqual(new Uint32Array(b.gotGrad!.buffer), new Uint32Array(a.gotGrad.buffer), 'dlogits differ between runs');
      },
    ),
    { numRuns: 25 },
  );
});

test('layout choice: software adapters with 8-lane subgroups use a subgroup per row above V = 512; bad layouts are refused', () => {
  if (gpu.adapterInfo.isSoftware) {
    assert.equal(softmaxCrossEntropyLayout(gpu, 64), 'row-per-invocation');
    assert.equal(softmaxCrossEntropyLayout(gpu, 512), 'row-per-invocation');
    assert.equal(softmaxCrossEntropyLayout(gpu, 513), subgroupMatmulUsable(gpu) ? 'row-per-subgroup' : 'row-per-invocation');
    assert.equal(softmaxCrossEntropyLayout(gpu, 8192), subgroupMatmulUsable(gpu) ? 'row-per-subgroup' : 'row-per-invocation');
  }
  assert.equal(softmaxCrossEntropyLayout(gpu, 8192, 'row-per-workgroup'), 'row-per-workgroup');
  assert.throws(() => softmaxCrossEntropyLayout(gpu, 10, 'rows'), /layout='rows' is not one of auto, row-per-invocation/);
});

test('GPU: the focal path at γ = 1e-6 agrees with plain CE (focal γ → 0 equals cross-entropy)', async () => {
  const ce = makeCase(9, 37, 11, 0.2, true, 0, false);
  const a = await runGpu(ce, 'separate');
  const b = await runGpu({ ...ce, gamma: 1e-6 }, 'separate');
  assertAllClose('focal γ=1e-6 vs CE losses', b.gotLoss, a.gotLoss, (i) => 1e-5 * (1 + Math.abs(a.gotLoss[i])));
  assertAllClose('focal γ=1e-6 vs CE dlogits', b.gotGrad!, a.gotGrad!, () => 1e-5);
});

test('GPU: an out-of-range target gives NaN for that row only (the reference throws)', async () => {
  const c = makeCase(3, 5, 1, 0, false, 0, false);
  c.targets[1] = 7;
  const got = await runGpu(c, 'separate');
  assert.ok(Number.isNaN(got.gotLoss[1]) && Number.isFinite(got.gotLoss[0]) && Number.isFinite(got.gotLoss[2]));
  if (subgroupMatmulUsable(gpu)) {
    for (const V of [5, 8]) {
      const d = makeCase(3, V, 2, 0, false, 0, false);
      d.targets[1] = V + 2;
      const sg = await runGpu(d, 'separate', 2, 'row-per-subgroup');
      assert.ok(Number.isNaN(sg.gotLoss[1]) && Number.isFinite(sg.gotLoss[0]) && Number.isFinite(sg.gotLoss[2]), `subgroup V=${V} losses ${sg.gotLoss}`);
      assert.ok(sg.gotGrad!.subarray(V, 2 * V).every(Number.isNaN) && sg.gotGrad!.subarray(0, V).every(Number.isFinite), `subgroup V=${V} dlogits`);
    }
  }
  assert.throws(() => reference(c), /targets\[1\]=7 is outside \[0, 5\)/);
});

// ---- loss math on the reference (the specification), fast-check
test('properties: gradient rows sum to 0, loss ≥ 0, ignored rows contribute nothing', () => {
  fc.assert(
    fc.property(dimN, dimV, fc.integer(), fc.boolean(), fc.constantFrom(0, 1, 2.5), (N, V, seed, weighted, gamma) => {
      const c = makeCase(N, V, seed, 0.3, weighted, gamma, false);
      const { losses, dlogits } = reference(c);
      for (let i = 0; i < N; i++) {
        let s = 0;
        let sa = 0;
        for (let j = 0; j < V; j++) {
          s += dlogits[i * V + j];
          sa += Math.abs(dlogits[i * V + j]);
        }
        assert.ok(Math.abs(s) <= 1e-12 * (1 + sa), `row ${i} gradient sums to ${s}`);
        assert.ok(losses[i] >= 0, `loss ${losses[i]} < 0`);
        if (c.targets[i] === -100) {
          assert.equal(losses[i], 0);
          for (let j = 0; j < V; j++) assert.equal(dlogits[i * V + j], 0);
        }
      }
    }),
    { numRuns: 100 },
  );
});

test('properties: uniform logits give loss log V; focal γ=0 equals CE; class weights give the weighted mean', () => {
  fc.assert(
    fc.property(dimV, fc.double({ min: -50, max: 50, noNaN: true }), (V, z) => {
      const losses = new Float64Array(1);
      softmax_cross_entropy_reference(losses, null, new Float64Array(V).fill(z), [V - 1], 1, V, { normalizer: 1 });
      assert.ok(Math.abs(losses[0] - Math.log(V)) <= 1e-12 * (1 + Math.log(V)));
    }),
  );
  fc.assert(
    fc.property(dimN, dimV, fc.integer(), (N, V, seed) => {
      const ce = makeCase(N, V, seed, 0.2, false, 0, false);
      const a = reference(ce);
      // The focal branch (taken for any γ ≠ 0) tends to CE as γ → 0, losses and gradients alike.
      const b = reference({ ...ce, gamma: 1e-12 });
      for (let i = 0; i < N; i++) assert.ok(Math.abs(b.losses[i] - a.losses[i]) <= 1e-9 * (1 + a.losses[i]));
      for (let k = 0; k < N * V; k++) assert.ok(Math.abs(b.dlogits[k] - a.dlogits[k]) <= 1e-9);
      // And a written-out FL = −(1 − p_t)^γ log p_t at γ = 0 is the CE loss −log p_t.
      for (let i = 0; i < N; i++) {
        const t = ce.targets[i];
        if (t === -100) continue;
        let m = -Infinity;
        for (let j = 0; j < V; j++) m = Math.max(m, ce.logits[i * V + j]);
        let s = 0;
        for (let j = 0; j < V; j++) s += Math.exp(ce.logits[i * V + j] - m);
        const pt = Math.exp(ce.logits[i * V + t] - m) / s;
        const fl = -((1 - pt) ** 0) * Math.log(pt);
        assert.ok(Math.abs(fl - a.losses[i]) <= 1e-12 * (1 + fl));
      }
      // weighted mean: Σ w_t·loss_t / Σ w_t, computed directly from the unweighted per-row losses
      const wc = makeCase(N, V, seed, 0.2, true, 0, false);
      const w = reference(wc);
      let num = 0;
      let den = 0;
      for (let i = 0; i < N; i++) {
        const t = wc.targets[i];
        if (t === -100) continue;
        num += wc.weights![t] * a.losses[i];
        den += wc.weights![t];
      }
      const mean = w.losses.reduce((s, x) => s + x, 0) / normalizerOf(wc);
      if (den > 0) assert.ok(Math.abs(mean - num / den) <= 1e-12 * (1 + Math.abs(mean)));
    }),
  );
});

test('finite differences: the reference gradient is the derivative of Σ losses / normalizer (CE, weighted, focal)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 7 }), fc.integer(), fc.constantFrom(0, 0.7, 2), fc.boolean(), (N, V, seed, gamma, weighted) => {
      const c = makeCase(N, V, seed, 0.2, weighted, gamma, true);
      const x = Float64Array.from(c.logits);
      const norm = normalizerOf(c);
      const total = (z: Float64Array) => {
        const l = new Float64Array(N);
        softmax_cross_entropy_reference(l, null, z, c.targets, N, V, { classWeights: c.weights, focalAlpha: c.alpha, focalGamma: gamma, normalizer: norm });
        return l.reduce((s, v) => s + v, 0) / norm;
      };
      const g = new Float64Array(N * V);
      softmax_cross_entropy_reference(new Float64Array(N), g, x, c.targets, N, V, { classWeights: c.weights, focalAlpha: c.alpha, focalGamma: gamma, normalizer: norm });
      const h = 1e-6;
      for (let k = 0; k < N * V; k++) {
        const xp = Float64Array.from(x);
        const xm = Float64Array.from(x);
        xp[k] += h;
        xm[k] -= h;
        const fd = (total(xp) - total(xm)) / (2 * h);
        assert.ok(Math.abs(fd - g[k]) <= 1e-6 * (1 + Math.abs(g[k])), `d/dz[${k}]: fd ${fd} vs ${g[k]}`);
      }
    }),
    { numRuns: 60 },
  );
});

// ---- PyTorch goldens
interface TorchCase {
  N: number;
  V: number;
  gamma?: number;
  logits: number[];
  targets: number[];
  classWeights?: number[] | null;
  focalAlpha?: number[] | null;
  normalizer: number;
  losses: number[];
  dlogits: number[];
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/softmax_cross_entropy_torch.json', import.meta.url), 'utf8')) as {
  cases: TorchCase[];
  focal: TorchCase[];
};

test('GPU matches PyTorch F.cross_entropy (weight=, ignore_index=-100, mean) and a written-out focal loss', async () => {
  for (const tc of [...golden.cases, ...golden.focal]) {
    const c: Case = {
      N: tc.N,
      V: tc.V,
      logits: Float32Array.from(tc.logits),
      targets: Int32Array.from(tc.targets),
      weights: tc.classWeights ? Float32Array.from(tc.classWeights) : null,
      alpha: tc.focalAlpha ? Float32Array.from(tc.focalAlpha) : null,
      gamma: tc.gamma ?? 0,
    };
    const allIgnored = tc.targets.every((t) => t === -100);
    const norm = allIgnored ? 1 : tc.normalizer;
    assert.ok(allIgnored || Math.abs(norm - normalizerOf(c)) <= 1e-6 * norm, 'normalizer convention');
    const got = await runGpu(c, 'separate', norm);
    const what = `torch N=${tc.N} V=${tc.V} γ=${c.gamma}`;
    // Bound: f32 kernel vs f64 torch, 2e-6 relative + 2e-6 absolute (both losses and gradients).
    assertAllClose(`${what} losses`, got.gotLoss, tc.losses, (i) => 2e-6 * (1 + Math.abs(tc.losses[i])));
    assertAllClose(`${what} dlogits`, got.gotGrad!, tc.dlogits.map((g) => (allIgnored ? 0 : g)), (i) => 2e-6 * (1 + Math.abs(tc.dlogits[i])) / Math.min(1, norm));
  }
});

test('bad input fails before any dispatch, naming the argument', () => {
  const enc = gpu.encoder();
  const b = gpu.zeros(64);
  assert.throws(() => softmax_cross_entropy(gpu, enc, b, b, b, b, 0, 4, { normalizer: 1 }), /dimension N=0/);
  assert.throws(() => softmax_cross_entropy(gpu, enc, b, null, b, b, 4, 5, { normalizer: 1 }), /buffer 'logits' holds 16 elements, needs 20/);
  assert.throws(() => softmax_cross_entropy(gpu, enc, b, null, b, b, 2, 2, { normalizer: 0 }), /normalizer=0/);
  assert.throws(() => softmax_cross_entropy(gpu, enc, b, null, b, b, 2, 2, { normalizer: 1, focalGamma: -1 }), /focalGamma=-1/);
  assert.throws(() => softmax_cross_entropy(gpu, enc, b, null, b, b, 2, 2, { normalizer: 1, classWeights: gpu.zeros(4) }), /classWeights/);
  assert.equal(enc.size, 0);
});
