// Side-by-side timing of the matmul variants and layouts in one process, for tuning:
//
//   node --import tsx --expose-gc src/bench/matmul_variants.ts \
//     [--shapes 1024x1024x1024,4096x128x512] [--layouts nn,nt,tn,tt] \
//     [--variants subgroup,register] [--iterations 7]
//
// Shapes are MxNxK (out M×N, reduced K). Each (shape, layout) runs every variant in turn,
// `iterations` rounds after one warm-up (which includes the pipeline compile, printed), and prints
// the median and the best GFLOP/s (the best is steadier on a shared machine). Each timing is
// record + submit + gpu.sync().

import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { openGpu } from '../runtime.js';
import { matmul, type MatmulVariant } from '../matmul.js';
import { MATMUL_VARIANTS, subgroupMatmulUsable } from '../tune.js';
import { mulberry32, randomF32 } from '../testing.js';

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: '1024x1024x1024' },
    layouts: { type: 'string', default: 'nn' },
    variants: { type: 'string' },
    iterations: { type: 'string', default: '7' },
  },
});
const shapes = values.shapes!.split(',').map((s) => {
  const d = s.split('x').map(Number);
  if (d.length !== 3 || !d.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`--shapes: '${s}' is not MxNxK`);
  return d as [number, number, number];
});
const layouts = values.layouts!.split(',');
for (const l of layouts) if (!/^[nt][nt]$/.test(l)) throw new Error(`--layouts: '${l}' is not one of nn, nt, tn, tt`);
const iterations = Number(values.iterations);

const gpu = await openGpu();
try {
  const variants = (values.variants?.split(',') ?? (subgroupMatmulUsable(gpu) ? ['subgroup', 'register'] : ['register'])) as MatmulVariant[];
  for (const v of variants) if (!MATMUL_VARIANTS.includes(v)) throw new Error(`--variants: unknown '${v}'`);
  console.log(`${gpu.adapterInfo.description}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  for (const [M, N, K] of shapes) {
    for (const layout of layouts) {
      const transA = layout[0] === 't';
      const transB = layout[1] === 't';
      const rand = mulberry32(1);
      const A = gpu.buffer(randomF32(rand, M * K));
      const B = gpu.buffer(randomF32(rand, K * N));
      const C = gpu.zeros(M * N * 4);
      const times = new Map<MatmulVariant, number[]>(variants.map((v) => [v, []]));
      const first = new Map<MatmulVariant, number>();
      for (let i = 0; i <= iterations; i++) {
        for (const variant of variants) {
          const enc = gpu.encoder('matmul-variants');
          matmul(gpu, enc, { out: C, a: A, b: B, M, N, K, transA, transB, variant });
          const t0 = performance.now();
          await enc.submit();
          await gpu.sync();
          const dt = performance.now() - t0;
          if (i === 0) first.set(variant, dt);
          else times.get(variant)!.push(dt);
        }
      }
      const gf = (ms: number) => ((2 * M * N * K) / (ms * 1e6)).toFixed(1);
      for (const variant of variants) {
        const t = times.get(variant)!.sort((x, y) => x - y);
        const med = t[Math.floor(t.length / 2)];
        console.log(
          `${`${M}x${N}x${K} ${layout}`.padEnd(22)} ${variant.padEnd(9)} median ${med.toFixed(1).padStart(8)} ms ${gf(med).padStart(6)} GFLOP/s   best ${gf(t[0]).padStart(6)} GFLOP/s   (first run ${first.get(variant)!.toFixed(0)} ms)`,
        );
      }
      for (const x of [A, B, C]) x.destroy();
    }
  }
} finally {
  gpu.destroy();
}
