// crf: GPU vs float64 reference (fast-check), brute-force properties of the reference (log
// partition = log-sum-exp over every path, ≥ every path score; Viterbi = the best path), finite
// differences of the reference backward, a PyTorch golden, BIO constraints, bad input.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  assertAllClose,
  bioAllowed,
  crf_backward,
  crf_backward_reference,
  crf_forward,
  crf_forward_reference,
  crf_viterbi,
  crf_viterbi_reference,
  crfPathScore,
  mulberry32,
  poisoned,
  randomF32,
  type CrfOperands,
  type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const BIO_LABELS = ['O', 'B-A', 'I-A', 'B-B', 'I-B', 'B-C', 'I-C'];

interface Case extends CrfOperands<ArrayLike<number>> {
  emissions: Float32Array;
  lengths: Int32Array;
  crf: Float32Array;
  allowed: Uint32Array | null;
  tags: Int32Array;
}

/** A random gold path of length L that respects `allowed`. */
function samplePath(rand: () => number, L: number, K: number, allowed: Uint32Array | null): number[] {
  const ok = (e: number) => !allowed || allowed[e] !== 0;
  const y: number[] = [];
  for (let t = 0; t < L; t++) {
    const choices = Array.from({ length: K }, (_, k) => k).filter((k) =>
      ok(t === 0 ? K * K + k : y[t - 1] * K + k) && (t < L - 1 || ok((K + 1) * K + k)));
    y.push(choices[Math.floor(rand() * choices.length)]);
  }
  return y;
}

function makeCase(B: number, T: number, K: number, seed: number, bio: boolean, spread = 3): Case {
  const rand = mulberry32(seed);
  const allowed = bio ? bioAllowed(BIO_LABELS.slice(0, K)) : null;
  const lengths = Int32Array.from({ length: B }, () => Math.floor(rand() * (T + 1)));
  lengths[Math.floor(rand() * B)] = T;
  const tags = new Int32Array(B * T);
  for (let b = 0; b < B; b++) tags.set(samplePath(rand, lengths[b], K, allowed), b * T);
  return { B, T, K, emissions: randomF32(rand, B * T * K, -spread, spread), crf: randomF32(rand, (K + 2) * K, -1.5, 1.5), allowed, lengths, tags };
}

function referenceOf(c: Case, normalizer: number, dcrf0: Float32Array) {
  const losses = new Float64Array(c.B), logZ = new Float64Array(c.B);
  crf_forward_reference({ ...c, losses, logZ });
  const demissions = new Float64Array(c.B * c.T * c.K), dcrf = Float64Array.from(dcrf0);
  crf_backward_reference({ ...c, demissions, dcrf, normalizer });
  const path = new Int32Array(c.B * c.T), score = new Float64Array(c.B);
  crf_viterbi_reference({ ...c, path, score });
  return { losses, logZ, demissions, dcrf, path, score };
}

async function runGpu(c: Case, normalizer: number, dcrf0: Float32Array) {
  const { B, T, K } = c;
  const E = gpu.buffer(c.emissions), Ln = gpu.buffer(c.lengths), C = gpu.buffer(c.crf), Tg = gpu.buffer(c.tags);
  const A = c.allowed ? gpu.buffer(c.allowed) : null;
  const losses = poisoned(gpu, B), logZ = poisoned(gpu, B), dem = poisoned(gpu, B * T * K), dcrf = gpu.buffer(dcrf0);
  const path = gpu.buffer(new Int32Array(B * T).fill(-7)), score = poisoned(gpu, B);
  const ops = { emissions: E, lengths: Ln, lengthValues: c.lengths, crf: C, allowed: A, B, T, K };
  const enc = gpu.encoder();
  crf_forward(gpu, enc, { ...ops, tags: Tg, losses, logZ });
  crf_backward(gpu, enc, { ...ops, tags: Tg, demissions: dem, dcrf, normalizer });
  crf_viterbi(gpu, enc, { ...ops, path, score });
  await enc.submit();
  const out = {
    losses: await gpu.read(losses), logZ: await gpu.read(logZ), demissions: await gpu.read(dem), dcrf: await gpu.read(dcrf),
    path: await gpu.read(path, Int32Array), score: await gpu.read(score),
  };
  for (const b of [E, Ln, C, Tg, A, losses, logZ, dem, dcrf, path, score]) b?.destroy();
  return out;
}

// Error bounds: the GPU runs the same recursions in f32 (exp/log ~1 ulp, sums of K terms), so
// scores of magnitude S carry ~T·K·2⁻²³·S absolute error: 2e-5·(|x| + 4T). A marginal is
// exp(α + β − logZ) with α + β and logZ of magnitude ~|logZ|, each off by a few ulps of it:
// |Δp| ≤ 2e-5 + 5e-7·(|logZ| + 4T) (times 1/normalizer); the transition gradient sums B·T of them.
function checkAgainstReference(c: Case, got: Awaited<ReturnType<typeof runGpu>>, normalizer: number, dcrf0: Float32Array, what: string): void {
  const ref = referenceOf(c, normalizer, dcrf0);
  const sBound = (x: number) => 2e-5 * (Math.abs(x) + c.T * 4);
  assertAllClose(`${what} logZ`, got.logZ, ref.logZ, (i) => sBound(ref.logZ[i]));
  assertAllClose(`${what} losses`, got.losses, ref.losses, (i) => sBound(ref.logZ[i]));
  const pBound = (b: number) => (2e-5 + 5e-7 * (Math.abs(ref.logZ[b]) + 4 * c.T)) / normalizer;
  assertAllClose(`${what} demissions`, got.demissions, ref.demissions, (i) => pBound(Math.floor(i / (c.T * c.K))));
  const worst = Math.max(...Array.from({ length: c.B }, (_, b) => pBound(b)));
  assertAllClose(`${what} dcrf`, got.dcrf, ref.dcrf, (i) => c.B * c.T * worst + 1e-6 * Math.abs(ref.dcrf[i]));
  assertAllClose(`${what} viterbi score`, got.score, ref.score, (i) => sBound(ref.score[i]));
  // The GPU's path must be an allowed path whose (float64) score is the best score: an exact
  // path match could differ only at f32 near-ties.
  for (let b = 0; b < c.B; b++) {
    const L = c.lengths[b];
    const p = Array.from(got.path.subarray(b * c.T, b * c.T + L));
    for (let t = L; t < c.T; t++) assert.equal(got.path[b * c.T + t], -1, `${what}: padded position ${t} of sequence ${b} is ${got.path[b * c.T + t]}`);
    const s = crfPathScore(c, b, p);
    assert.ok(Math.abs(s - ref.score[b]) <= sBound(ref.score[b]), `${what}: GPU Viterbi path of sequence ${b} scores ${s}, the best is ${ref.score[b]}`);
  }
}

test('GPU matches the float64 reference: losses, logZ, gradients (dcrf +=), Viterbi; random shapes and lengths (incl. 0 and T), with and without BIO constraints', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 7 }), fc.integer(), fc.boolean(), fc.constantFrom(1, 3, 17.5),
      async (B, T, K, seed, bio, normalizer) => {
        const c = makeCase(B, T, K, seed, bio);
        const dcrf0 = randomF32(mulberry32(seed ^ 0x55), (K + 2) * K);
        checkAgainstReference(c, await runGpu(c, normalizer, dcrf0), normalizer, dcrf0, `B=${B} T=${T} K=${K} bio=${bio}`);
      },
    ),
    { numRuns: 40 },
  );
});

test('GPU at ner_en scale (B 32, T 64, 7 BIO tags) and the 32-tag limit match the reference', async () => {
  for (const [B, T, K, bio] of [[32, 64, 7, true], [9, 20, 32, false]] as const) {
    const c = makeCase(B, T, K, 77 + K, bio);
    const dcrf0 = new Float32Array((K + 2) * K);
    const norm = c.lengths.reduce((s, l) => s + l, 0);
    checkAgainstReference(c, await runGpu(c, norm, dcrf0), norm, dcrf0, `B=${B} T=${T} K=${K}`);
  }
});

/** Every tag path of length L over K tags (K^L of them). */
function* allPaths(L: number, K: number): Generator<number[]> {
  const y = new Array<number>(L).fill(0);
  for (;;) {
    yield y.slice();
    let t = L - 1;
    while (t >= 0 && ++y[t] === K) y[t--] = 0;
    if (t < 0) return;
  }
}

test('reference, brute force over every path (K ≤ 4, L ≤ 5): logZ = log Σ exp(score), logZ ≥ every score, Viterbi = the best allowed path', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer(), fc.boolean(), (K, T, seed, bio) => {
      const c = makeCase(3, T, K, seed, bio, 4);
      const logZ = new Float64Array(3), losses = new Float64Array(3), path = new Int32Array(3 * T), score = new Float64Array(3);
      crf_forward_reference({ ...c, losses, logZ });
      crf_viterbi_reference({ ...c, path, score });
      for (let b = 0; b < 3; b++) {
        const L = c.lengths[b];
        if (L === 0) continue;
        const scores = [...allPaths(L, K)].map((y) => crfPathScore(c, b, y)).filter((s) => s > -Infinity);
        const m = Math.max(...scores);
        const lse = m + Math.log(scores.reduce((s, x) => s + Math.exp(x - m), 0));
        assert.ok(Math.abs(logZ[b] - lse) <= 1e-9 * (1 + Math.abs(lse)), `logZ ${logZ[b]} vs brute force ${lse}`);
        for (const s of scores) assert.ok(logZ[b] >= s - 1e-12, `logZ ${logZ[b]} < a path score ${s}`);
        assert.ok(Math.abs(score[b] - m) <= 1e-9 * (1 + Math.abs(m)), `Viterbi score ${score[b]} vs best ${m}`);
        const vp = Array.from(path.subarray(b * T, b * T + L));
        assert.ok(Math.abs(crfPathScore(c, b, vp) - m) <= 1e-9 * (1 + Math.abs(m)), `Viterbi path ${vp} does not score the best ${m}`);
        // loss = NLL of the gold path: exp(−loss) is its probability
        const gold = crfPathScore(c, b, Array.from(c.tags.subarray(b * T, b * T + L)));
        assert.ok(Math.abs(losses[b] - (lse - gold)) <= 1e-9 * (1 + Math.abs(lse)));
      }
    }),
    { numRuns: 120 },
  );
});

test('reference backward matches central finite differences of Σ losses / normalizer (emissions and every allowed CRF entry)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer(), fc.boolean(), (K, T, seed, bio) => {
      const c = makeCase(2, T, K, seed, bio);
      const em = Float64Array.from(c.emissions), crf = Float64Array.from(c.crf);
      const norm = 2.5;
      const f = () => {
        const losses = new Float64Array(2), logZ = new Float64Array(2);
        crf_forward_reference({ ...c, emissions: em, crf, losses, logZ });
        return (losses[0] + losses[1]) / norm;
      };
      const demissions = new Float64Array(2 * T * K), dcrf = new Float64Array((K + 2) * K);
      crf_backward_reference({ ...c, emissions: em, crf, demissions, dcrf, normalizer: norm });
      const h = 1e-5;
      const fd = (x: Float64Array, i: number) => {
        const x0 = x[i];
        x[i] = x0 + h; const up = f();
        x[i] = x0 - h; const down = f();
        x[i] = x0;
        return (up - down) / (2 * h);
      };
      for (let i = 0; i < em.length; i++) assert.ok(Math.abs(fd(em, i) - demissions[i]) < 1e-6, `demissions[${i}] ${demissions[i]} vs fd ${fd(em, i)}`);
      for (let e = 0; e < crf.length; e++) {
        if (c.allowed && !c.allowed[e]) { assert.equal(dcrf[e], 0, `forbidden entry ${e} has a gradient`); continue; }
        assert.ok(Math.abs(fd(crf, e) - dcrf[e]) < 1e-6, `dcrf[${e}] ${dcrf[e]} vs fd ${fd(crf, e)}`);
      }
    }),
    { numRuns: 40 },
  );
});

interface GoldenCase {
  B: number; T: number; K: number; labels: string[] | null; lengths: number[]; emissions: number[]; crf: number[]; tags: number[];
  allowed: number[] | null; normalizer: number; logZ: number[]; losses: number[]; demissions: number[]; dcrf: number[]; path: number[]; viterbiScore: number[];
}

test('PyTorch golden (textbook forward algorithm + autograd + Viterbi in float64): reference ≤ 1e-9, GPU within the f32 bounds', async () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/crf_torch.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };
  assert.ok(fixture.cases.length >= 4);
  for (const g of fixture.cases) {
    if (g.labels) assert.deepEqual(Array.from(bioAllowed(g.labels)), g.allowed, 'bioAllowed matches the golden script\'s mask');
    const c: Case = {
      B: g.B, T: g.T, K: g.K, emissions: Float32Array.from(g.emissions), crf: Float32Array.from(g.crf), lengths: Int32Array.from(g.lengths),
      tags: Int32Array.from(g.tags), allowed: g.allowed ? Uint32Array.from(g.allowed) : null,
    };
    const dcrf0 = new Float32Array((g.K + 2) * g.K);
    const ref = referenceOf(c, g.normalizer, dcrf0);
    const what = `golden B=${g.B} T=${g.T} K=${g.K}`;
    assertAllClose(`${what} reference logZ`, ref.logZ, g.logZ, () => 1e-9);
    assertAllClose(`${what} reference losses`, ref.losses, g.losses, () => 1e-9);
    assertAllClose(`${what} reference demissions`, ref.demissions, g.demissions, () => 1e-12);
    assertAllClose(`${what} reference dcrf`, ref.dcrf, g.dcrf, () => 1e-12);
    assertAllClose(`${what} reference viterbi score`, ref.score, g.viterbiScore, () => 1e-9);
    assert.deepEqual(Array.from(ref.path), g.path, `${what} reference Viterbi path`);
    const got = await runGpu(c, g.normalizer, dcrf0);
    assertAllClose(`${what} GPU logZ`, got.logZ, g.logZ, (i) => 2e-5 * (Math.abs(g.logZ[i]) + g.T * 4));
    assertAllClose(`${what} GPU losses`, got.losses, g.losses, (i) => 2e-5 * (Math.abs(g.logZ[i]) + g.T * 4));
    assertAllClose(`${what} GPU demissions`, got.demissions, g.demissions, () => 5e-5 / g.normalizer);
    assertAllClose(`${what} GPU dcrf`, got.dcrf, g.dcrf, () => (5e-5 * g.B * g.T) / g.normalizer);
    assert.deepEqual(Array.from(got.path), g.path, `${what} GPU Viterbi path`);
  }
});

test('bioAllowed forbids O → I-X, B-X → I-Y, I-X → I-Y and start → I-X, allows the rest', () => {
  const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
  const K = labels.length;
  const a = bioAllowed(labels);
  const ok = (i: string, j: string) => a[labels.indexOf(i) * K + labels.indexOf(j)] === 1;
  assert.ok(!ok('O', 'I-PER') && !ok('B-LOC', 'I-PER') && !ok('I-LOC', 'I-PER'));
  assert.ok(ok('B-PER', 'I-PER') && ok('I-PER', 'I-PER') && ok('O', 'B-LOC') && ok('I-PER', 'O') && ok('B-PER', 'B-LOC'));
  assert.equal(a[K * K + labels.indexOf('I-LOC')], 0);
  assert.equal(a[K * K + labels.indexOf('B-LOC')], 1);
  for (let j = 0; j < K; j++) assert.equal(a[(K + 1) * K + j], 1, 'every tag may end a sequence');
});

test('bad input fails before dispatch with a message naming the kernel and field; a bad gold path gives NaN on the GPU and throws in the reference', async () => {
  const c = makeCase(3, 5, 4, 1, false);
  const E = gpu.buffer(c.emissions), Ln = gpu.buffer(c.lengths), C = gpu.buffer(c.crf), Tg = gpu.buffer(c.tags);
  const losses = gpu.zeros(12), logZ = gpu.zeros(12);
  const ops = { emissions: E, lengths: Ln, lengthValues: c.lengths, crf: C, B: 3, T: 5, K: 4, tags: Tg, losses, logZ };
  const enc = gpu.encoder();
  assert.throws(() => crf_forward(gpu, enc, { ...ops, K: 5 }), /crf_forward: buffer 'emissions' holds 60 elements, needs 75/);
  const small = gpu.buffer(new Float32Array(4 * 5));
  assert.throws(() => crf_forward(gpu, enc, { ...ops, crf: small }), /crf_forward: buffer 'crf' holds 20 elements, needs 24/);
  assert.throws(() => crf_forward(gpu, enc, { ...ops, lengthValues: [5, 6, 1] }), /crf_forward: lengths\[1\]=6 is outside \[0, T=5\]/);
  assert.throws(() => crf_forward(gpu, enc, { ...ops, lengthValues: [5, -1, 1] }), /lengths\[1\]=-1/);
  assert.throws(() => crf_viterbi(gpu, enc, { ...ops, K: 33, path: losses, score: logZ }), /K=33 tags exceeds the GPU kernel's limit of 32/);
  assert.throws(() => crf_backward(gpu, enc, { ...ops, demissions: E, dcrf: C, normalizer: 0 }), /crf_backward: normalizer must be > 0/);
  assert.equal(enc.size, 0, 'nothing was recorded');
  assert.throws(() => crf_forward_reference({ ...c, lengths: [5, 9, 0], losses: new Float64Array(3), logZ: new Float64Array(3) }), /lengths\[1\]=9 is outside/);
  assert.throws(() => crf_forward_reference({ ...c, crf: new Float32Array(20), losses: new Float64Array(3), logZ: new Float64Array(3) }), /array 'crf' has 20 elements, needs 24/);
  // a tag outside [0, K) in a gold path
  const badTags = Int32Array.from(c.tags);
  badTags[0] = 4;
  c.lengths[0] = 5;
  assert.throws(() => crf_forward_reference({ ...c, tags: badTags, losses: new Float64Array(3), logZ: new Float64Array(3) }), /tag 4 at sequence 0 position 0 is outside \[0, K=4\)/);
  gpu.write(Tg, badTags);
  gpu.write(Ln, c.lengths);
  crf_forward(gpu, enc, { ...ops, lengthValues: c.lengths });
  await enc.submit();
  const got = await gpu.read(losses);
  assert.ok(Number.isNaN(got[0]), `loss of the bad sequence is ${got[0]}, expected NaN`);
  // a forbidden transition in a gold path (BIO: O → I-A)
  const bio = makeCase(1, 3, 3, 2, true);
  bio.lengths[0] = 3;
  bio.tags.set([0, 2, 2]);
  assert.throws(() => crf_forward_reference({ ...bio, losses: new Float64Array(1), logZ: new Float64Array(1) }), /gold tags of sequence 0 \(0 2 2\) use a forbidden transition/);
  const E2 = gpu.buffer(bio.emissions), L2 = gpu.buffer(bio.lengths), C2 = gpu.buffer(bio.crf), T2 = gpu.buffer(bio.tags), A2 = gpu.buffer(bio.allowed!);
  const enc2 = gpu.encoder();
  crf_forward(gpu, enc2, { emissions: E2, lengths: L2, lengthValues: bio.lengths, crf: C2, allowed: A2, B: 1, T: 3, K: 3, tags: T2, losses, logZ });
  await enc2.submit();
  assert.ok(Number.isNaN((await gpu.read(losses))[0]), 'a forbidden gold transition gives NaN');
  for (const b of [E, Ln, C, Tg, losses, logZ, small, E2, L2, C2, T2, A2]) b.destroy();
});
