// Benchmarks of the INT8 path: activation quantization and the packed int8 linear layer, with
// dot4I8Packed and with the extractBits fallback, at the tiny-BERT FFN shapes and 1024³. The
// yardstick ("naive") of the int8 matmul is the fp32 linear_forward of the same shape: ×naive > 1
// means int8 is faster than fp32 here. FLOPs count a multiply-add as 2 (integer or not).
// quantize_rows_int8: minimal bytes = x read once, packed words + scales written once; the device's
// default variant runs (`info.variant`), the yardstick is the portable per-row variant.

import { hasDot4I8Packed, int8_linear_forward, quantize_rows_int8, quantizeVariant, setQuantizeVariant } from '../../int8_matmul.js';
import { linear_forward } from '../../matmul.js';
import { randomF32 } from '../../testing.js';
import type { StepEncoder } from '../../runtime.js';
import type { BenchCase, BenchInstance } from '../types.js';

function int8Case(M: number, N: number, K: number, useDot4: boolean): BenchCase {
  const K4 = Math.ceil(K / 4);
  return {
    family: 'int8_matmul',
    name: `int8_linear_forward ${useDot4 ? 'dot4' : 'fallback'} ${M}x${N}x${K}`,
    shape: { M, N, K, useDot4 },
    flops: 2 * M * N * K,
    bytes: 4 * (M * K4 + N * K4 + M + N + N + M * N),
    setup(ctx): BenchInstance | Promise<BenchInstance> {
      const { gpu } = ctx;
      if (useDot4 && !hasDot4I8Packed(gpu)) throw new Error('this adapter lacks packed_4x8_integer_dot_product');
      const x = gpu.buffer(randomF32(ctx.rand, M * K)), W = gpu.buffer(randomF32(ctx.rand, N * K)), bias = gpu.buffer(randomF32(ctx.rand, N));
      const qx = gpu.zeros(M * K4 * 4), sx = gpu.zeros(M * 4), qw = gpu.zeros(N * K4 * 4), sw = gpu.zeros(N * 4), out = gpu.zeros(M * N * 4);
      const enc = gpu.encoder('int8-bench-setup');
      quantize_rows_int8(gpu, enc, qx, sx, x, M, K);
      // Per-output-channel weight quantisation = quantize_rows_int8 on W's N rows (the model does it on
      // the CPU with quantize_weights_int8_reference; same formula).
      quantize_rows_int8(gpu, enc, qw, sw, W, N, K);
      return enc.submit().then(() => ({
        run: (e) => int8_linear_forward(gpu, e, out, qx, sx, qw, sw, bias, M, N, K, { useDot4 }),
        naive: (e) => linear_forward(gpu, e, out, x, W, bias, M, N, K),
        info: { naive: 'fp32 linear_forward' },
        dispose: () => [x, W, bias, qx, sx, qw, sw, out].forEach((b) => b.destroy()),
      }));
    },
  };
}

function quantCase(M: number, K: number): BenchCase {
  const K4 = Math.ceil(K / 4);
  return {
    family: 'int8_matmul',
    name: `quantize_rows_int8 ${M}x${K}`,
    shape: { M, K },
    flops: 3 * M * K,
    bytes: 4 * (M * K + M * K4 + M),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const x = gpu.buffer(randomF32(ctx.rand, M * K)), qx = gpu.zeros(M * K4 * 4), sx = gpu.zeros(M * 4);
      const run = (e: StepEncoder) => quantize_rows_int8(gpu, e, qx, sx, x, M, K);
      return {
        run,
        naive: (e) => {
          setQuantizeVariant('rows');
          try { run(e); } finally { setQuantizeVariant(null); }
        },
        info: { variant: quantizeVariant(gpu, K), naive: 'rows variant (one invocation per row)' },
        dispose: () => [x, qx, sx].forEach((b) => b.destroy()),
      };
    },
  };
}

export default function ({ quick }: { quick: boolean }): BenchCase[] {
  const shapes: [number, number, number][] = quick ? [[4096, 512, 128]] : [[4096, 512, 128], [4096, 128, 512], [1024, 1024, 1024]];
  return [
    quantCase(4096, 128),
    quantCase(4096, 512),
    ...shapes.flatMap(([M, N, K]) => [int8Case(M, N, K, true), int8Case(M, N, K, false)]),
  ];
}
