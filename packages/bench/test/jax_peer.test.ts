// The jax-js peer of `bench peers` (src/perf/jax_peer.ts), on each backend that starts here: its
// matmul of a small fixed matrix equals a float64 reference within fp32 tolerance, and the
// encoder-layer training step (valueAndGrad + hand-written Adam under jit) at a small shape gives
// a finite loss that decreases over a few steps. @jax-js/jax is an optional dependency: without it
// (or without a backend) the tests skip with the reason. No timings are asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, randomF32 } from '@tunebench/kernels';
import { jaxLayerTrainer, loadJax, onDevice, type JaxDevice, type JaxLoaded } from '../src/perf/jax_peer.js';

let loaded: JaxLoaded | null = null;
let missing = '';
try {
  loaded = await loadJax(['webgpu', 'wasm']);
} catch (e) {
  missing = (e as Error).message;
}

for (const device of ['wasm', 'webgpu'] as JaxDevice[]) {
  const why = loaded ? loaded.devices.get(device) ?? null : missing;

  test(`jax-${device}: matmul 64×48×32 equals a float64 reference`, async (t) => {
    if (why !== null || !loaded) return t.skip(why ?? 'jax-js did not load');
    const { jax } = loaded;
    const M = 64, K = 48, N = 32;
    const a = randomF32(mulberry32(5), M * K, -1, 1), b = randomF32(mulberry32(6), K * N, -1, 1);
    const got = await onDevice(jax, device, async () =>
      jax.numpy.matmul(jax.numpy.array(a, { shape: [M, K], device }), jax.numpy.array(b, { shape: [K, N], device })).data(),
    );
    assert.equal(got.length, M * N);
    let worst = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let ref = 0, mag = 0;
        for (let k = 0; k < K; k++) {
          ref += a[i * K + k] * b[k * N + j];
          mag += Math.abs(a[i * K + k] * b[k * N + j]);
        }
        worst = Math.max(worst, Math.abs(got[i * N + j] - ref) / (mag + 1e-30));
      }
    }
    // fp32 accumulation of K = 48 products: error ≤ ~K·2⁻²⁴ relative to Σ|aₖbₖ|.
    assert.ok(worst < 48 * 2 ** -24 * 4, `worst error relative to Σ|a·b|: ${worst}`);
  });

  test(`jax-${device}: the encoder-layer step's loss is finite and decreases over Adam steps`, async (t) => {
    if (why !== null || !loaded) return t.skip(why ?? 'jax-js did not load');
    const { jax } = loaded;
    const losses = await onDevice(jax, device, async () => {
      const tr = jaxLayerTrainer(jax, device, { B: 2, T: 8, D: 32, H: 4, F: 64 }, 1e-2);
      try {
        const out: number[] = [];
        for (let i = 0; i < 4; i++) out.push(await tr.step());
        return out;
      } finally {
        tr.dispose();
      }
    });
    for (const l of losses) assert.ok(Number.isFinite(l), `losses ${losses}`);
    // Two balanced classes at init: cross-entropy near ln 2.
    assert.ok(Math.abs(losses[0] - Math.LN2) < 0.1, `first loss ${losses[0]}`);
    for (let i = 1; i < losses.length; i++) assert.ok(losses[i] < losses[i - 1], `losses ${losses}`);
  });
}
