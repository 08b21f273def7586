// transpose_batched (matmul's Bᵀ scratch, attention's Kᵀ/Vᵀ heads) against a plain JS transpose,
// in its vec4 and scalar forms, for plain batches and for heads of a (B, T, C) tensor.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mulberry32, poisoned, randomF32, type Gpu } from '../src/index.js';
import { setTransposeVec4, transpose_batched, type TransposeLayout } from '../src/transpose.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; }, () => setTransposeVec4(true));

function expected(inp: Float32Array, t: Required<TransposeLayout>): Float32Array {
  const out = new Float32Array(t.batch * t.N * t.K);
  for (let z = 0; z < t.batch; z++) {
    const item = t.z0 + z;
    const base = Math.floor(item / t.NH) * t.sb + (item % t.NH) * t.sh;
    for (let n = 0; n < t.N; n++) for (let k = 0; k < t.K; k++) out[z * t.N * t.K + k * t.N + n] = inp[base + n * t.rs + k];
  }
  return out;
}

// Heads of a (B, T, C) tensor (NH heads of HS = K columns) or a plain batch; sizes multiples of 4
// half the time (the vec4 form) and arbitrary otherwise.
const layoutArb = fc
  .record({ N: fc.integer({ min: 1, max: 70 }), K: fc.integer({ min: 1, max: 40 }), NH: fc.integer({ min: 1, max: 3 }), B: fc.integer({ min: 1, max: 3 }), by4: fc.boolean(), gap: fc.constantFrom(0, 4, 5) })
  .map((r) => {
    const N = r.by4 ? Math.ceil(r.N / 4) * 4 : r.N;
    const K = r.by4 ? Math.ceil(r.K / 4) * 4 : r.K;
    const rs = r.NH * K + r.gap;
    const sb = N * rs;
    const z0 = r.NH > 1 ? 1 : 0;
    const batch = r.B * r.NH - z0;
    return { N, K, NH: r.NH, sb, sh: K, rs, z0, batch, inputs: r.B * sb } as Required<TransposeLayout> & { inputs: number };
  });

for (const vec4 of [true, false]) {
  test(`transpose_batched (${vec4 ? 'vec4 where the layout allows' : 'scalar'}) equals a plain transpose`, async () => {
    setTransposeVec4(vec4);
    await fc.assert(
      fc.asyncProperty(layoutArb, fc.integer(), async (t, seed) => {
        const inp = randomF32(mulberry32(seed), t.inputs);
        const want = expected(inp, t);
        const IN = gpu.buffer(inp);
        const OUT = poisoned(gpu, want.length + 7);
        const enc = gpu.encoder();
        transpose_batched(gpu, enc, OUT, IN, t);
        await enc.submit();
        const got = await gpu.read(OUT, Float32Array, want.length + 7);
        IN.destroy();
        OUT.destroy();
        assert.deepEqual(Array.from(got.subarray(0, want.length)), Array.from(want), JSON.stringify(t));
        assert.ok(got.subarray(want.length).every(Number.isNaN), 'wrote past the output');
      }),
      { numRuns: 40 },
    );
  });
}
