// A/B of the production subgroup matmul (matmul(), transposes and splits included) with different
// row tiles of the one-k-per-step walk (the vec4-A walk for K % 1024 == 0 keeps its 16 rows),
// alternating the candidates run by run in one process:
//   node --import tsx --expose-gc src/bench/matmul_rows_ab.ts --shapes 1024x1024x1024:tn,4096x384x128:nt --rows 16,24 --iters 9
// Shapes are MxNxK:<op(a)op(b)>. Besides wall time it prints the process CPU time per run (the
// lavapipe worker threads are in-process) as "GF/2cpu-s" = FLOPs / (CPU time / 2): on this shared
// 2-core machine at load 20+ the wall time mostly measures the scheduler, the CPU time far less.
// It mutates the exported MATMUL_SUBGROUP object between runs: a measurement tool, not an API.
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { openGpu } from '../runtime.js';
import { matmul } from '../matmul.js';
import { MATMUL_SUBGROUP, subgroupMatmulVariant } from '../matmul_subgroup.js';
import { mulberry32, randomF32 } from '../testing.js';
const { values } = parseArgs({ options: { shapes: { type: 'string', default: '1024x1024x1024:nn' }, rows: { type: 'string', default: '16,24' }, iters: { type: 'string', default: '9' } } });
const variants = values.rows!.split(',').map((r) => ({ rows: +r, info: subgroupMatmulVariant(+r) }));
const gpu = await openGpu();
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const spec of values.shapes!.split(',')) {
  const [sh, lay = 'nn'] = spec.split(':');
  const [M, N, K] = sh.split('x').map(Number);
  const transA = lay[0] === 't', transB = lay[1] === 't';
  const rand = mulberry32(1);
  const A = gpu.buffer(randomF32(rand, M * K)), B = gpu.buffer(randomF32(rand, K * N)), C = gpu.zeros(M * N * 4);
  const res = variants.map((v) => ({ ...v, t: [] as number[], c: [] as number[], first: 0 }));
  for (let it = 0; it <= Number(values.iters); it++) {
    for (const r of res) {
      Object.assign(MATMUL_SUBGROUP, r.info);
      const enc = gpu.encoder('ab');
      matmul(gpu, enc, { out: C, a: A, b: B, M, N, K, transA, transB, accumulate: transA });
      const t0 = performance.now(); const u0 = process.cpuUsage();
      await enc.submit(); await gpu.sync();
      const dt = performance.now() - t0; const du = process.cpuUsage(u0);
      if (it > 0) { r.t.push(dt); r.c.push((du.user + du.system) / 1000); } else r.first = dt;
    }
  }
  for (const r of res) {
    const t = r.t.sort((a, b) => a - b), c = r.c.sort((a, b) => a - b);
    const gf = (ms: number) => ((2 * M * N * K) / (ms * 1e6)).toFixed(1);
    console.log(`${spec.padEnd(22)} rows ${r.rows}: wall med ${t[t.length >> 1].toFixed(1)} ms ${gf(t[t.length >> 1])} GF/s (best ${gf(t[0])}) | cpu med ${c[c.length >> 1].toFixed(1)} ms -> ${gf(c[c.length >> 1] / 2)} GF/2cpu-s (min-cpu ${gf(c[0] / 2)})  first ${r.first.toFixed(0)} ms`);
  }
  for (const x of [A, B, C]) x.destroy();
}
console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
gpu.destroy();
