// Split-K for weight gradients (Aᵀ·B with long K), emulated with library kernels: one batched Aᵀ·B
// over S slices of K into partial products + S `accumulate` passes in a fixed order (so the same
// bits every run), against one Aᵀ·B over all of K; S = 1 is the plain product.
//   node --import tsx --expose-gc src/bench/matmul_splitk_ab.ts --shapes 512x128x4096,128x128x4096 --splits 1,2,4,8 --iters 9
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { openGpu } from '../runtime.js';
import { matmul } from '../matmul.js';
import { accumulate } from '../elementwise.js';
import { mulberry32, randomF32 } from '../testing.js';
const { values } = parseArgs({ options: { shapes: { type: 'string', default: '512x128x4096' }, splits: { type: 'string', default: '1,2,4' }, iters: { type: 'string', default: '9' } } });
const gpu = await openGpu();
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const sh of values.shapes!.split(',')) {
  const [M, N, K] = sh.split('x').map(Number);
  const rand = mulberry32(1);
  const A = gpu.buffer(randomF32(rand, K * M)), B = gpu.buffer(randomF32(rand, K * N));
  const out = gpu.zeros(M * N * 4);
  const splits = values.splits!.split(',').map(Number);
  const parts = gpu.zeros(M * N * 4 * Math.max(...splits));
  const res = splits.map((S) => ({ S, t: [] as number[], c: [] as number[] }));
  for (let it = 0; it <= Number(values.iters); it++) {
    for (const r of res) {
      const enc = gpu.encoder('sk');
      const S = r.S, Kc = K / S;
      if (S === 1) matmul(gpu, enc, { out, a: A, b: B, M, N, K, transA: true, accumulate: true });
      else {
        matmul(gpu, enc, { out: parts, a: A, b: B, M, N, K: Kc, transA: true, batch: S, strideA: Kc * M, strideB: Kc * N, strideOut: M * N });
        for (let s = 0; s < S; s++) accumulate(gpu, enc, out, { buffer: parts, offset: s * M * N * 4, size: M * N * 4 }, M * N);
      }
      const t0 = performance.now(); const u0 = process.cpuUsage();
      await enc.submit(); await gpu.sync();
      const dt = performance.now() - t0; const du = process.cpuUsage(u0);
      if (it > 0) { r.t.push(dt); r.c.push((du.user + du.system) / 1000); }
    }
  }
  for (const r of res) {
    const t = r.t.sort((a, b) => a - b), c = r.c.sort((a, b) => a - b);
    const gf = (ms: number) => ((2 * M * N * K) / (ms * 1e6)).toFixed(1);
    console.log(`${sh} S=${r.S} wall med ${t[t.length >> 1].toFixed(1)} ms (${gf(t[t.length >> 1])} GF/s, best ${gf(t[0])}) cpu med ${c[c.length >> 1].toFixed(1)} min ${c[0].toFixed(1)} ms (${gf(c[0] / 2)} GF/2cpu-s)`);
  }
}
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
gpu.destroy();
