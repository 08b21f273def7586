// Benchmarks of the input embeddings at tiny BERT sizes (B 32 × T 128 tokens, C 128 / 256,
// V 8192 / 16384, 2 token types). Forward: a gather (3 table rows per output row). Backward: the
// deterministic GPU counting sort by id, per-id sums, dwpe and dwtt sums.
// Ids follow a skewed distribution (a third of the positions share 3 ids, like [CLS]/[SEP]/[PAD]).
//
// Bytes are the minimal ones: every input element read once, every output element written once.
// The tables count only the rows the batch touches: U distinct word ids (counted from the ids,
// which are drawn here with their own seed), the T position rows, the 2 type rows; the backward
// reads and writes each of those gradient rows once.

import { embedding_backward, embedding_forward } from '../../embedding.js';
import { mulberry32, randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function embeddingCase(dir: 'forward' | 'backward', B: number, T: number, C: number, V: number): BenchCase {
  const N = B * T;
  const rand = mulberry32(0x1d5 + C);
  const idValues = Int32Array.from({ length: N }, () => (rand() < 0.33 ? Math.floor(rand() * 3) : Math.floor(rand() * V)));
  const U = new Set(idValues).size;
  const TV = 2;
  return {
    family: 'embedding',
    name: `embedding_${dir} ${B}x${T}x${C} V=${V}`,
    shape: { B, T, C, V, distinctIds: U },
    flops: (dir === 'forward' ? 2 : 3) * N * C,
    // forward: out written, the touched wte/wpe/wtt rows and ids/types read once;
    // backward: dout and ids/types read, the touched dwte/dwpe/dwtt rows read and written once.
    bytes: 4 * (dir === 'forward' ? N * C + (U + T + TV) * C + 2 * N : N * C + 2 * (U + T + TV) * C + 2 * N),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const ids = gpu.buffer(idValues);
      const types = gpu.buffer(Int32Array.from({ length: N }, () => (ctx.rand() < 0.5 ? 0 : 1)));
      const R = (n: number) => gpu.buffer(randomF32(ctx.rand, n));
      const wte = R(V * C), wpe = R(512 * C), wtt = R(TV * C), out = gpu.zeros(N * C * 4), dout = R(N * C);
      const dwte = gpu.zeros(V * C * 4), dwpe = gpu.zeros(512 * C * 4), dwtt = gpu.zeros(TV * C * 4);
      return {
        run: (enc) => (dir === 'forward'
          ? embedding_forward(gpu, enc, out, ids, types, wte, wpe, wtt, B, T, C, TV)
          : embedding_backward(gpu, enc, dwte, dwpe, dwtt, dout, ids, types, B, T, C, V, TV)),
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
