// Benchmarks of LoRA on the attention / FFN projections of the tiny BERTs (B·T 4096, C 128, FFN
// 512, r 8; and B·T 8192, C 256, r 16). The yardstick ("naive") is the frozen linear layer alone
// (linear_forward / linear_backward dinp): ×naive < 1 is the adapter's overhead.
// FLOPs forward: 2·M·(N·K + r·K + N·r); backward: 2·M·(N·r [dB] + N·r [g] + r·K [dA] + N·K + r·K [dinp]).

import { linear_backward, linear_forward } from '../../matmul.js';
import { lora_backward, lora_forward } from '../../lora.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function loraCase(dir: 'forward' | 'backward', M: number, N: number, K: number, r: number): BenchCase {
  const flops = dir === 'forward' ? 2 * M * (N * K + r * K + N * r) : 2 * M * (2 * N * r + 2 * r * K + N * K);
  const bytes =
    dir === 'forward'
      ? 4 * (M * K + N * K + r * K + N * r + M * r + M * N)
      : 4 * (M * N + M * K + M * r + N * K + 2 * (r * K + N * r) + M * K);
  return {
    family: 'lora',
    name: `lora_${dir} ${M}x${N}x${K} r${r}`,
    shape: { M, N, K, r },
    flops,
    bytes,
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const R = (n: number) => gpu.buffer(randomF32(ctx.rand, n));
      const x = R(M * K), W = R(N * K), bias = R(N), A = R(r * K), B = R(N * r), dout = R(M * N);
      const out = gpu.zeros(M * N * 4), xa = gpu.zeros(M * r * 4), dx = gpu.zeros(M * K * 4), dA = gpu.zeros(r * K * 4), dB = gpu.zeros(N * r * 4);
      const s = 2;
      type Enc = Parameters<BenchInstance['run']>[0];
      const run = dir === 'forward'
        ? (enc: Enc) => lora_forward(gpu, enc, out, xa, x, W, bias, A, B, M, N, K, r, s)
        : (enc: Enc) => lora_backward(gpu, enc, dx, dA, dB, dout, x, xa, W, A, B, M, N, K, r, s);
      const naive = dir === 'forward'
        ? (enc: Enc) => linear_forward(gpu, enc, out, x, W, bias, M, N, K)
        : (enc: Enc) => linear_backward(gpu, enc, dx, null, null, dout, x, W, M, N, K);
      return {
        run,
        naive,
        info: { naive: 'frozen linear layer alone' },
        dispose: () => [x, W, bias, A, B, dout, out, xa, dx, dA, dB].forEach((b) => b.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  loraCase('forward', 4096, 128, 128, 8),
  loraCase('backward', 4096, 128, 128, 8),
  loraCase('forward', 4096, 512, 128, 8),
  loraCase('backward', 4096, 128, 512, 8),
  loraCase('forward', 8192, 256, 256, 16),
  loraCase('backward', 8192, 256, 256, 16),
];
