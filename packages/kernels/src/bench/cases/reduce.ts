// Benchmarks of the sentence-embedding reductions at a SetFit-like batch (B 32 / 64, T 128,
// C 128 / 256): masked mean pooling (memory-bound: B·T·C read), L2 normalisation, the
// cosine-similarity matrix and their backwards. No naive yardstick.

import { cosine_similarity_backward, cosine_similarity_forward, l2_normalize_backward, l2_normalize_forward, mean_pool_backward, mean_pool_forward } from '../../reduce.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function poolCase(dir: 'forward' | 'backward', B: number, T: number, C: number): BenchCase {
  return {
    family: 'reduce',
    name: `mean_pool_${dir} ${B}x${T}x${C}`,
    shape: { B, T, C },
    flops: B * T * C,
    bytes: 4 * (B * T * C + B * T + B * C),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const mask = gpu.buffer(Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i % 17) ? 1 : 0)));
      const big = gpu.buffer(randomF32(ctx.rand, B * T * C)), small = gpu.buffer(randomF32(ctx.rand, B * C));
      return {
        run: (enc) => (dir === 'forward' ? mean_pool_forward(gpu, enc, small, big, mask, B, T, C) : mean_pool_backward(gpu, enc, big, small, mask, B, T, C)),
        dispose: () => [mask, big, small].forEach((b) => b.destroy()),
      };
    },
  };
}

function normCosCase(B: number, C: number): BenchCase {
  return {
    family: 'reduce',
    name: `l2_normalize+cosine fwd+bwd ${B}x${C}`,
    shape: { B, C },
    flops: 2 * (3 * B * C) + 3 * 2 * B * B * C,
    bytes: 4 * (6 * B * C + 2 * B * B),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const R = (n: number) => gpu.buffer(randomF32(ctx.rand, n));
      const x = R(B * C), y = R(B * C), norms = R(B), b = R(B * C), S = R(B * B), dS = R(B * B), da = R(B * C), db = R(B * C), dx = R(B * C);
      return {
        run: (enc) => {
          l2_normalize_forward(gpu, enc, y, norms, x, B, C);
          cosine_similarity_forward(gpu, enc, S, y, b, B, B, C, 20);
          cosine_similarity_backward(gpu, enc, da, db, dS, y, b, B, B, C, 20);
          l2_normalize_backward(gpu, enc, dx, da, y, norms, B, C);
        },
        dispose: () => [x, y, norms, b, S, dS, da, db, dx].forEach((q) => q.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  poolCase('forward', 32, 128, 128),
  poolCase('backward', 32, 128, 128),
  poolCase('forward', 64, 128, 256),
  poolCase('backward', 64, 128, 256),
  normCosCase(32, 128),
  normCosCase(64, 256),
];
