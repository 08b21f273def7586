// Benchmarks of row gather / scatter-add: the masked-LM's pick of 15 % of B·T = 4096 rows of
// C 128 / 256. Memory-bound: bytes = rows read + rows written (+ the row indices).
// No naive yardstick (the kernel is one load and one store per element).

import { gather_rows_backward, gather_rows_forward } from '../../gather.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function gatherCase(dir: 'forward' | 'backward', total: number, n: number, C: number): BenchCase {
  return {
    family: 'gather',
    name: `gather_rows_${dir} ${n}of${total}x${C}`,
    shape: { totalRows: total, nRows: n, C },
    flops: dir === 'backward' ? n * C : 0,
    bytes: 4 * (n + (dir === 'forward' ? 2 * n * C : 3 * n * C)),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const step = total / n;
      const rows = gpu.buffer(Int32Array.from({ length: n }, (_, i) => Math.floor(i * step)), 'rows');
      const big = gpu.buffer(randomF32(ctx.rand, total * C), 'big');
      const small = gpu.buffer(randomF32(ctx.rand, n * C), 'small');
      return {
        run: (enc) =>
          dir === 'forward' ? gather_rows_forward(gpu, enc, small, big, rows, n, C, total) : gather_rows_backward(gpu, enc, big, small, rows, n, C, total),
        dispose: () => [rows, big, small].forEach((b) => b.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  gatherCase('forward', 4096, 614, 128),
  gatherCase('backward', 4096, 614, 128),
  gatherCase('forward', 8192, 1229, 256),
  gatherCase('backward', 8192, 1229, 256),
];
