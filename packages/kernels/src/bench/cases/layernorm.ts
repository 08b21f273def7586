// Benchmarks of layernorm forward/backward at the tiny BERT hidden sizes (B·T 4096 / 8192,
// C 128 / 256). FLOPs: ~8 per element forward (mean, Σ(x − mean)², normalise, scale, shift),
// ~14 backward (row sums, dinp, and the dweight/dbias column sums).
// Bytes (minimal): forward reads x, weight, bias and writes out, mean, rstd; backward reads dout,
// x, weight, mean, rstd and writes dinp and dweight/dbias. The device's default variant runs
// (`info.variant`); the "naive" yardstick is the portable one-invocation-per-row variant.

import { layernorm_backward, layernorm_forward, layernormVariant, setLayernormVariant } from '../../layernorm.js';
import { randomF32 } from '../../testing.js';
import type { StepEncoder } from '../../runtime.js';
import type { BenchCase, BenchInstance } from '../types.js';

function layernormCase(dir: 'forward' | 'backward', N: number, C: number): BenchCase {
  return {
    family: 'layernorm',
    name: `layernorm_${dir} ${N}x${C}`,
    shape: { N, C },
    flops: (dir === 'forward' ? 8 : 14) * N * C,
    bytes: 4 * (dir === 'forward' ? 2 * N * C + 2 * N + 2 * C : 3 * N * C + 2 * N + 3 * C),
    async setup(ctx): Promise<BenchInstance> {
      const { gpu } = ctx;
      const R = (n: number) => gpu.buffer(randomF32(ctx.rand, n));
      const x = R(N * C), w = R(C), b = R(C), out = gpu.zeros(N * C * 4), mean = gpu.zeros(N * 4), rstd = gpu.zeros(N * 4);
      const dy = R(N * C), dx = gpu.zeros(N * C * 4), dw = gpu.zeros(C * 4), db = gpu.zeros(C * 4);
      if (dir === 'backward') {
        // Real mean/rstd for the backward's inputs.
        const enc = gpu.encoder();
        layernorm_forward(gpu, enc, out, mean, rstd, x, w, b, N, C, 1e-12);
        await enc.submit();
      }
      const run = (enc: StepEncoder) => (dir === 'forward'
        ? layernorm_forward(gpu, enc, out, mean, rstd, x, w, b, N, C, 1e-12)
        : layernorm_backward(gpu, enc, dx, dw, db, dy, x, w, mean, rstd, N, C));
      return {
        run,
        naive: (enc) => {
          setLayernormVariant('rows');
          try { run(enc); } finally { setLayernormVariant(null); }
        },
        info: { variant: layernormVariant(gpu, C), naive: 'rows variant (one invocation per row)' },
        dispose: () => [x, w, b, out, mean, rstd, dy, dx, dw, db].forEach((q) => q.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  layernormCase('forward', 4096, 128),
  layernormCase('backward', 4096, 128),
  layernormCase('forward', 8192, 256),
  layernormCase('backward', 8192, 256),
];
