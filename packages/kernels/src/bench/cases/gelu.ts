// Benchmarks of GELU and the fused bias + GELU at the FFN sizes of the tiny BERT configs
// (B·T 4096, FFN 512 / 1024). Transcendental-bound more than memory-bound; FLOPs are counted as
// ~20 per element forward (erfc fit + exp + a few multiplies) and ~30 backward, bytes as usual.
// The plain GELU has a forward only (bench perf's elementwise canary); its GPU backward launcher
// was deleted (issue #13: the model uses the fused bias_gelu_backward).

import { bias_gelu_backward, bias_gelu_forward, gelu_forward, type GeluApproximate } from '../../gelu.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function geluCase(kind: 'gelu_forward' | 'bias_gelu_forward' | 'bias_gelu_backward', rows: number, C: number, approximate: GeluApproximate): BenchCase {
  const N = rows * C;
  const backward = kind.endsWith('backward');
  return {
    family: 'gelu',
    name: `${kind} ${rows}x${C} ${approximate}`,
    shape: { rows, C, approximate },
    flops: (backward ? 30 : 20) * N,
    bytes: 4 * ((backward ? 3 : 2) * N + (kind.startsWith('bias') ? 2 * C : 0)),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const x = gpu.buffer(randomF32(ctx.rand, N, -4, 4)), dy = gpu.buffer(randomF32(ctx.rand, N)), y = gpu.zeros(N * 4);
      const bias = gpu.buffer(randomF32(ctx.rand, C)), dbias = gpu.zeros(C * 4);
      const run = (enc: Parameters<BenchInstance['run']>[0]) => {
        if (kind === 'gelu_forward') gelu_forward(gpu, enc, y, x, N, approximate);
        else if (kind === 'bias_gelu_forward') bias_gelu_forward(gpu, enc, y, x, bias, rows, C, approximate);
        else bias_gelu_backward(gpu, enc, y, dbias, x, bias, dy, rows, C, approximate);
      };
      return { run, dispose: () => [x, dy, y, bias, dbias].forEach((b) => b.destroy()) };
    },
  };
}

export const cases: BenchCase[] = [
  geluCase('gelu_forward', 4096, 1024, 'none'),
  geluCase('gelu_forward', 4096, 1024, 'tanh'),
  geluCase('bias_gelu_forward', 4096, 512, 'none'),
  geluCase('bias_gelu_backward', 4096, 512, 'none'),
  geluCase('bias_gelu_forward', 4096, 1024, 'none'),
  geluCase('bias_gelu_backward', 4096, 1024, 'none'),
];
