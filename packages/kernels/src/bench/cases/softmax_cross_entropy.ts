// Benchmarks of the fused softmax cross-entropy at the shapes a trainer hits: masked-LM rows
// (15 % of B·T = 4096 → 614 rows) over V 8k / 16k, token classification (4096 rows × 9 labels),
// sequence classification (32 × 2), in-batch contrastive (64 × 64). The yardstick ("naive") is the
// same kernel forced onto another layout: on a software adapter 'auto' picks an 8-lane subgroup per
// row for long rows (yardstick: one invocation per row, the previous design) and one invocation
// per row for short ones (yardstick: a workgroup of 64 per row with a tree reduction); see the
// file header of softmax_cross_entropy.ts. ×naive shows what that choice buys.
// FLOPs: ~5 per logit (sub, exp, add; pass 2 sub, exp, mul) counted as 5·N·V.
// Bytes: logits read once, dlogits written once, targets read, losses written.

import { softmax_cross_entropy, softmaxCrossEntropyLayout } from '../../softmax_cross_entropy.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

function ceCase(tag: string, N: number, V: number, focal = false): BenchCase {
  return {
    family: 'softmax_cross_entropy',
    name: `softmax_cross_entropy ${tag} ${N}x${V}${focal ? ' focal' : ''}`,
    shape: { N, V, focal },
    flops: 5 * N * V,
    bytes: 4 * (2 * N * V + 2 * N),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const logits = gpu.buffer(randomF32(ctx.rand, N * V, -4, 4), 'logits');
      const targets = gpu.buffer(Int32Array.from({ length: N }, () => Math.floor(ctx.rand() * V)), 'targets');
      const losses = gpu.zeros(N * 4);
      const dlogits = gpu.zeros(N * V * 4);
      const opts = { normalizer: N, focalGamma: focal ? 2 : 0 };
      // Yardstick: the layout 'auto' would otherwise use (one invocation per row when it picks a
      // subgroup per row), or the workgroup layout (when it picks one invocation per row).
      const layout = softmaxCrossEntropyLayout(gpu, V);
      const naiveLayout = layout === 'row-per-subgroup' ? 'row-per-invocation' : layout === 'row-per-invocation' ? 'row-per-workgroup' : 'row-per-invocation';
      return {
        run: (enc) => softmax_cross_entropy(gpu, enc, losses, dlogits, logits, targets, N, V, opts),
        naive: (enc) => softmax_cross_entropy(gpu, enc, losses, dlogits, logits, targets, N, V, { ...opts, layout: naiveLayout }),
        info: { layout, naive: naiveLayout },
        dispose: () => [logits, targets, losses, dlogits].forEach((b) => b.destroy()),
      };
    },
  };
}

export default function ({ quick }: { quick: boolean }): BenchCase[] {
  return [
    ceCase('mlm', 614, 8192),
    ...(quick ? [] : [ceCase('mlm', 1229, 16384)]),
    ceCase('ner', 4096, 9),
    ceCase('seqcls', 32, 2),
    ceCase('seqcls', 4096, 2, true),
    ceCase('contrastive', 64, 64),
  ];
}
