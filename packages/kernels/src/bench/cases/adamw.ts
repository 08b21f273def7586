// Benchmarks of the optimizer step: AdamW over ranges (28 bytes moved per parameter: p, g, m, v
// read; p, m, v written) and the deterministic gradient norm, at the parameter counts of the tiny
// BERTs (L2 H128 V8k ≈ 1.5M parameters; L4 H256 V16k ≈ 7.4M), full fine-tuning (one range per
// tensor, ~40 ranges with gaps) and a LoRA-sized subset. No naive yardstick.

import { adamw_hyperparameters, adamw_update, grad_norm_squared, type AdamWRange } from '../../adamw.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

/** ~nRanges ranges covering `trainable` elements of a `total`-element store, 64-element gaps. */
function layout(total: number, trainable: number, nRanges: number): AdamWRange[] {
  const len = Math.floor(trainable / nRanges);
  const stride = Math.floor(total / nRanges);
  return Array.from({ length: nRanges }, (_, i) => ({ offset: i * stride, length: Math.min(len, stride - 64), weightDecay: i % 3 === 0 ? 0 : 0.01, lrScale: 1 }));
}

function optCase(kind: 'adamw_update' | 'grad_norm_squared', tag: string, total: number, trainable: number, nRanges: number): BenchCase {
  const ranges = layout(total, trainable, nRanges);
  const n = ranges.reduce((s, r) => s + r.length, 0);
  return {
    family: 'adamw',
    name: `${kind} ${tag} ${n} params in ${nRanges} ranges`,
    shape: { total, trainable: n, ranges: nRanges },
    flops: kind === 'adamw_update' ? 16 * n : 2 * n,
    bytes: kind === 'adamw_update' ? 28 * n : 4 * n,
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const P = gpu.buffer(randomF32(ctx.rand, total)), G = gpu.buffer(randomF32(ctx.rand, total));
      const M = gpu.zeros(total * 4), V = gpu.zeros(total * 4), H = gpu.zeros(64), NS = gpu.zeros(4);
      gpu.write(H, adamw_hyperparameters({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 10, maxGradNorm: 1 }));
      return {
        run: (enc) => (kind === 'adamw_update' ? adamw_update(gpu, enc, P, G, M, V, H, NS, ranges) : grad_norm_squared(gpu, enc, NS, G, ranges)),
        dispose: () => [P, G, M, V, H, NS].forEach((b) => b.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  optCase('grad_norm_squared', 'full L2H128', 1_600_000, 1_500_000, 40),
  optCase('adamw_update', 'full L2H128', 1_600_000, 1_500_000, 40),
  optCase('grad_norm_squared', 'full L4H256', 7_600_000, 7_400_000, 72),
  optCase('adamw_update', 'full L4H256', 7_600_000, 7_400_000, 72),
  optCase('adamw_update', 'lora r8 L2H128', 1_600_000, 40_000, 24),
];
