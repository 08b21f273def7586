// Benchmarks of dropout (hash RNG recomputed per element, nothing stored) at BERT sizes:
// hidden states 4096 × 256 and FFN 4096 × 1024. Memory-bound: judge by GB/s.

import { dropout_backward, dropout_forward } from '../../dropout.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function dropoutCase(dir: 'forward' | 'backward', N: number, p: number): BenchCase {
  return {
    family: 'dropout',
    name: `dropout_${dir} N=${N} p=${p}`,
    shape: { N, p },
    flops: N, // one multiply per element (the hash is integer work)
    bytes: 8 * N,
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const x = gpu.buffer(randomF32(ctx.rand, N)), y = gpu.zeros(N * 4);
      return {
        run: (enc) => (dir === 'forward' ? dropout_forward(gpu, enc, y, x, N, p, 1234, 7) : dropout_backward(gpu, enc, y, x, N, p, 1234, 7)),
        dispose: () => [x, y].forEach((b) => b.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  dropoutCase('forward', 4096 * 256, 0.1),
  dropoutCase('backward', 4096 * 256, 0.1),
  dropoutCase('forward', 4096 * 1024, 0.1),
];
