// Benchmarks of attention forward/backward at tiny BERT shapes (B 32, T 128, 4 heads of 32;
// B 16, T 128, 4 heads of 64) and at T = 512 (B 4, 4 heads of 64), with about 20 % padding keys.
// FLOPs count the products: forward QKᵀ and PV = 4·B·NH·T²·HS; backward recomputes QKᵀ and does
// PᵀdO, dOVᵀ, dS·K, dSᵀQ = 10·B·NH·T²·HS (softmax and elementwise work not counted).
// The yardstick ('naive') is the same launcher with the portable register-tiled product variant,
// so the ratio shows what the subgroup variant gains. The 'dropout 0.1' cases add
// attention-probability dropout (hash per probability, in the P·V, dV and dS products).

import { attention_backward, attention_forward, attentionVariant, setAttentionVariant } from '../../attention.js';
import { randomF32 } from '../../testing.js';
import type { StepEncoder } from '../../runtime.js';
import type { BenchCase, BenchInstance } from '../types.js';

function attentionCase(dir: 'forward' | 'backward', B: number, T: number, NH: number, HS: number, pDrop = 0): BenchCase {
  const n = B * T * NH * HS;
  return {
    family: 'attention',
    name: `attention_${dir} B${B} T${T} NH${NH} HS${HS}${pDrop ? ` dropout ${pDrop}` : ''}`,
    shape: { B, T, NH, HS, dropout: pDrop },
    flops: (dir === 'forward' ? 4 : 10) * B * NH * T * T * HS,
    bytes: 4 * ((dir === 'forward' ? 4 : 8) * n + B * NH * T + B * T),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const R = (k: number) => gpu.buffer(randomF32(ctx.rand, k));
      const q = R(n), k = R(n), v = R(n), out = gpu.zeros(n * 4), lse = gpu.zeros(B * NH * T * 4), dout = R(n);
      const dq = gpu.zeros(n * 4), dk = gpu.zeros(n * 4), dv = gpu.zeros(n * 4);
      const mask = gpu.buffer(Int32Array.from({ length: B * T }, (_, i) => (i % T < Math.ceil(T * 0.8) ? 1 : 0)));
      const drop = pDrop ? { p: pDrop, seed: 1, step: 2 } : null;
      const record = (enc: StepEncoder) => (dir === 'forward'
        ? attention_forward(gpu, enc, out, lse, q, k, v, mask, B, T, NH, HS, drop)
        : attention_backward(gpu, enc, dq, dk, dv, dout, out, lse, q, k, v, mask, B, T, NH, HS, drop));
      const variant = attentionVariant(gpu);
      return {
        run: record,
        naive: variant === 'register' ? undefined : (enc) => {
          setAttentionVariant('register');
          try { record(enc); } finally { setAttentionVariant(null); }
        },
        info: { variant },
        dispose: () => [q, k, v, out, lse, dout, dq, dk, dv, mask].forEach((b) => b.destroy()),
      };
    },
  };
}

export default function (ctx: { quick: boolean }): BenchCase[] {
  if (ctx.quick) return [attentionCase('forward', 4, 64, 4, 32), attentionCase('backward', 4, 64, 4, 32)];
  return [
    attentionCase('forward', 32, 128, 4, 32),
    attentionCase('backward', 32, 128, 4, 32),
    attentionCase('forward', 32, 128, 4, 32, 0.1),
    attentionCase('backward', 32, 128, 4, 32, 0.1),
    attentionCase('forward', 16, 128, 4, 64),
    attentionCase('backward', 16, 128, 4, 64),
    attentionCase('forward', 4, 512, 4, 64),
    attentionCase('backward', 4, 512, 4, 64),
  ];
}
