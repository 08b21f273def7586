// Benchmarks of the input embeddings at tiny BERT sizes (B 32 × T 128 tokens, C 128 / 256,
// V 8192 / 16384, 2 token types). Forward: a gather, memory-bound (3 rows read per output row).
// Backward: the deterministic GPU counting sort by id plus per-run sums, dwpe and dwtt sums.
// Ids follow a skewed distribution (a third of the positions share 3 ids, like [CLS]/[SEP]/[PAD]).

import { embedding_backward, embedding_forward } from '../../embedding.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function embeddingCase(dir: 'forward' | 'backward', B: number, T: number, C: number, V: number): BenchCase {
  const N = B * T;
  return {
    family: 'embedding',
    name: `embedding_${dir} ${B}x${T}x${C} V=${V}`,
    shape: { B, T, C, V },
    flops: (dir === 'forward' ? 2 : 3) * N * C,
    // forward: 3 rows read + 1 written per token; backward: dout read, dwte/dwpe/dwtt rows read+written at most once per token.
    bytes: 4 * (dir === 'forward' ? 4 * N * C + 2 * N : N * C + 2 * N * C + 2 * T * C + 2 * N),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const ids = gpu.buffer(Int32Array.from({ length: N }, () => (ctx.rand() < 0.33 ? Math.floor(ctx.rand() * 3) : Math.floor(ctx.rand() * V))));
      const types = gpu.buffer(Int32Array.from({ length: N }, () => (ctx.rand() < 0.5 ? 0 : 1)));
      const R = (n: number) => gpu.buffer(randomF32(ctx.rand, n));
      const wte = R(V * C), wpe = R(512 * C), wtt = R(2 * C), out = gpu.zeros(N * C * 4), dout = R(N * C);
      const dwte = gpu.zeros(V * C * 4), dwpe = gpu.zeros(512 * C * 4), dwtt = gpu.zeros(2 * C * 4);
      return {
        run: (enc) => (dir === 'forward'
          ? embedding_forward(gpu, enc, out, ids, types, wte, wpe, wtt, B, T, C)
          : embedding_backward(gpu, enc, dwte, dwpe, dwtt, dout, ids, types, B, T, C, V)),
        dispose: () => [ids, types, wte, wpe, wtt, out, dout, dwte, dwpe, dwtt].forEach((q) => q.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [
  embeddingCase('forward', 32, 128, 128, 8192),
  embeddingCase('backward', 32, 128, 128, 8192),
  embeddingCase('forward', 32, 128, 256, 16384),
  embeddingCase('backward', 32, 128, 256, 16384),
];
