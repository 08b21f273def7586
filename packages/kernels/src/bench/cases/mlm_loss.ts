// Benchmarks of the masked-LM loss, forward + backward (gather, tied projection, CE, dwte, dbias,
// dhidden scatter), at tiny-BERT shapes: B·T 4096 with 15 % masked (614 rows), C 128, V 8k; and
// B·T 8192, 1229 rows, C 256, V 16k. The yardstick ("naive") is the same loss computed over ALL
// B·T rows (unmasked rows get target −100), the way a model without the gather does it: ×naive
// is what "cost ∝ masked rows" buys. (At the large shape the naive version is ~200 GFLOP, tens of
// seconds per run on a software adapter, so it is skipped there.)
// FLOPs: 3 matmuls of 2·n·V·C (projection, dhidden, dwte) + ~5·n·V for the CE.

import { mlm_loss_forward_backward } from '../../mlm_loss.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function mlmCase(BT: number, n: number, V: number, C: number, withNaive: boolean): BenchCase {
  return {
    family: 'mlm_loss',
    name: `mlm_loss_forward_backward ${n}of${BT} V${V} C${C}`,
    shape: { BT, n, V, C },
    flops: 3 * 2 * n * V * C + 5 * n * V,
    // hidden rows read + dhidden written, wte read (×2) and dwte read+written, bias/dbias, targets.
    bytes: 4 * (2 * n * C + 4 * V * C + 3 * V + 2 * n),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const hidden = gpu.buffer(randomF32(ctx.rand, BT * C), 'hidden');
      const wte = gpu.buffer(randomF32(ctx.rand, V * C, -0.1, 0.1), 'wte');
      const bias = gpu.buffer(randomF32(ctx.rand, V, -0.1, 0.1), 'bias');
      const step = BT / n;
      const rowIdx = Int32Array.from({ length: n }, (_, i) => Math.floor(i * step));
      const rows = gpu.buffer(rowIdx, 'rows');
      const targets = gpu.buffer(Int32Array.from({ length: n }, () => Math.floor(ctx.rand() * V)), 'targets');
      const losses = gpu.zeros(BT * 4);
      const dhidden = gpu.zeros(BT * C * 4);
      const dwte = gpu.zeros(V * C * 4);
      const dbias = gpu.zeros(V * 4);
      // Naive: every row, targets −100 except the masked ones.
      const allTargets = new Int32Array(BT).fill(-100);
      rowIdx.forEach((r, i) => (allTargets[r] = Math.floor(ctx.rand() * V)));
      const targetsAll = gpu.buffer(allTargets, 'targets-all');
      const common = { dwte, dbias, wte, bias, V, C, normalizer: n };
      return {
        run: (enc) => mlm_loss_forward_backward(gpu, enc, { ...common, losses, dhidden, hidden, rows, targets, n, totalRows: BT }),
        naive: withNaive
          ? (enc) => mlm_loss_forward_backward(gpu, enc, { ...common, losses, dhidden, hidden, rows: null, targets: targetsAll, n: BT })
          : undefined,
        info: { naive: withNaive ? 'all B·T rows projected (no gather)' : 'skipped (too slow at this shape)' },
        dispose: () => [hidden, wte, bias, rows, targets, losses, dhidden, dwte, dbias, targetsAll].forEach((b) => b.destroy()),
      };
    },
  };
}

export default function ({ quick }: { quick: boolean }): BenchCase[] {
  return quick ? [mlmCase(2048, 307, 8192, 128, false)] : [mlmCase(4096, 614, 8192, 128, true), mlmCase(8192, 1229, 16384, 256, false)];
}
