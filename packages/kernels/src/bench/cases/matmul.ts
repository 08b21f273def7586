// Benchmarks of the matmul family at the tiny-BERT shapes (B·T 2048–8192 rows, C 128–256,
// FFN 512–1024, vocabulary 8k–16k) and square 512 / 1024. The naive yardstick is the same
// computation forced onto the 'naive' variant (one invocation per output element).
// Notation in names: matmul <op(a)op(b)> MxNxK; linear_* <role> M(rows)xN(out)xK(in).

import type { Binding, StepEncoder } from '../../runtime.js';
import { bias_backward, linear_backward, linear_forward, matmul, type MatmulShape, type MatmulVariant } from '../../matmul.js';
import { matmulVariantFor } from '../../tune.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchContext, BenchInstance } from '../types.js';

const F = 4; // bytes per f32

/** Allocate random f32 buffers of the given element counts; dispose() frees them all. */
function alloc(ctx: BenchContext, sizes: number[]): { bufs: GPUBuffer[]; dispose(): void } {
  const bufs = sizes.map((n, i) => ctx.gpu.buffer(randomF32(ctx.rand, n), `bench-${i}`));
  return { bufs, dispose: () => bufs.forEach((b) => b.destroy()) };
}

function matmulCase(tag: string, s: MatmulShape & { bias?: boolean }): BenchCase {
  const batch = s.batch ?? 1;
  const t = `${s.transA ? 't' : 'n'}${s.transB ? 't' : 'n'}`;
  const name = `matmul ${t} ${batch > 1 ? `${batch}x(` : ''}${s.M}x${s.N}x${s.K}${batch > 1 ? ')' : ''}${tag ? ' ' + tag : ''}`;
  return {
    family: 'matmul',
    name,
    shape: { M: s.M, N: s.N, K: s.K, batch, transA: !!s.transA, transB: !!s.transB, bias: !!s.bias, accumulate: !!s.accumulate },
    flops: 2 * batch * s.M * s.N * s.K,
    bytes: F * (batch * (s.M * s.K + s.K * s.N + s.M * s.N * (s.accumulate ? 2 : 1)) + (s.bias ? s.N : 0)),
    setup(ctx): BenchInstance {
      const m = alloc(ctx, [batch * s.M * s.K, batch * s.K * s.N, batch * s.M * s.N, s.N]);
      const [a, b, out, bias] = m.bufs;
      const rec = (variant?: MatmulVariant) => (enc: StepEncoder) =>
        matmul(ctx.gpu, enc, { ...s, out, a, b, bias: s.bias ? bias : null, variant });
      return { run: rec(), naive: rec('naive'), info: { variant: matmulVariantFor(ctx.gpu) }, dispose: m.dispose };
    },
  };
}

function linearForwardCase(role: string, M: number, N: number, K: number): BenchCase {
  return {
    family: 'matmul',
    name: `linear_forward ${role} ${M}x${N}x${K}`,
    shape: { M, N, K, bias: true },
    flops: 2 * M * N * K,
    bytes: F * (M * K + N * K + N + M * N),
    setup(ctx): BenchInstance {
      const m = alloc(ctx, [M * N, M * K, N * K, N]);
      const [out, inp, w, bias] = m.bufs;
      const rec = (variant?: MatmulVariant) => (enc: StepEncoder) => linear_forward(ctx.gpu, enc, out, inp, w, bias, M, N, K, variant);
      return { run: rec(), naive: rec('naive'), info: { variant: matmulVariantFor(ctx.gpu) }, dispose: m.dispose };
    },
  };
}

/** parts: which gradients to compute ('dinp', 'dweight', 'dbias'). */
function linearBackwardCase(role: string, M: number, N: number, K: number, parts: ('dinp' | 'dweight' | 'dbias')[]): BenchCase {
  const has = (p: string) => parts.includes(p as 'dinp');
  const mm = (has('dinp') ? 1 : 0) + (has('dweight') ? 1 : 0);
  return {
    family: 'matmul',
    name: `linear_backward ${parts.join('+')} ${role} ${M}x${N}x${K}`,
    shape: { M, N, K, dinp: has('dinp'), dweight: has('dweight'), dbias: has('dbias') },
    flops: mm * 2 * M * N * K + (has('dbias') ? M * N : 0),
    // dout and weight/inp read once per product; dinp written; dweight/dbias read and written.
    bytes:
      F *
      ((has('dinp') ? M * N + N * K + M * K : 0) +
        (has('dweight') ? M * N + M * K + 2 * N * K : 0) +
        (has('dbias') ? M * N + 2 * N : 0)),
    setup(ctx): BenchInstance {
      const m = alloc(ctx, [M * K, N * K, N, M * N, M * K, N * K]);
      const [dinp, dw, db, dout, inp, w] = m.bufs;
      const rec = (variant?: MatmulVariant) => (enc: StepEncoder) =>
        linear_backward(ctx.gpu, enc, has('dinp') ? dinp : null, has('dweight') ? dw : null, has('dbias') ? db : null, dout, inp, w, M, N, K, false, variant);
      return { run: rec(), naive: rec('naive'), info: { variant: matmulVariantFor(ctx.gpu) }, dispose: m.dispose };
    },
  };
}

function biasBackwardCase(M: number, N: number): BenchCase {
  return {
    family: 'matmul',
    name: `bias_backward ${M}x${N}`,
    shape: { M, N },
    flops: M * N,
    bytes: F * (M * N + 2 * N),
    setup(ctx): BenchInstance {
      const m = alloc(ctx, [N, M * N, M]);
      const [db, dout] = m.bufs;
      const ones = ctx.gpu.buffer(new Float32Array(M).fill(1), 'ones');
      return {
        run: (enc) => bias_backward(ctx.gpu, enc, db, dout, M, N),
        // Naive yardstick: dbias (1×N) += ones (1×M) · dout (M×N), one invocation per column.
        naive: (enc) => matmul(ctx.gpu, enc, { out: db as Binding, a: ones, b: dout, M: 1, N, K: M, accumulate: true, variant: 'naive' }),
        dispose: () => {
          m.dispose();
          ones.destroy();
        },
      };
    },
  };
}

// Tiny BERT: C = 128 (H128, FFN 512, V 8k) at B·T = 4096; C = 256 (FFN 1024, V 16k) at B·T = 8192.
export const cases: BenchCase[] = [
  matmulCase('', { M: 512, N: 512, K: 512 }),
  matmulCase('', { M: 1024, N: 1024, K: 1024 }),
  matmulCase('', { M: 1024, N: 1024, K: 1024, transB: true }),
  matmulCase('', { M: 1024, N: 1024, K: 1024, transA: true }),
  linearForwardCase('qkv', 4096, 384, 128),
  linearForwardCase('ffn_up', 4096, 512, 128),
  linearForwardCase('ffn_down', 4096, 128, 512),
  linearBackwardCase('ffn_down', 4096, 128, 512, ['dinp']),
  linearBackwardCase('ffn_up', 4096, 512, 128, ['dweight']),
  linearBackwardCase('qkv', 4096, 384, 128, ['dinp', 'dweight', 'dbias']),
  linearForwardCase('mlm_decoder_V8k', 614, 8192, 128),
  linearForwardCase('C256_ffn_up', 8192, 1024, 256),
  linearBackwardCase('C256_ffn_up', 8192, 1024, 256, ['dinp', 'dweight', 'dbias']),
  linearForwardCase('C256_mlm_decoder_V16k', 1229, 16384, 256),
  // Attention products per head (B 32 × NH 4, T 128, HS 32), heads stored one after another.
  matmulCase('attn_scores', { M: 128, N: 128, K: 32, batch: 128, transB: true, alpha: 32 ** -0.5 }),
  matmulCase('attn_values', { M: 128, N: 32, K: 128, batch: 128 }),
  biasBackwardCase(4096, 512),
  biasBackwardCase(8192, 1024),
];
