// Benchmarks of the elementwise glue kernels at BERT activation sizes (B·T 4096 × C 256 = 1M
// floats, and the FFN width 4096 × 1024 = 4M). Memory-bound: judge them by GB/s.

import { accumulate, add_forward, copy, fill, scale } from '../../elementwise.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

type Op = 'add_forward' | 'accumulate' | 'scale' | 'copy' | 'fill';
// Bytes per element: inputs read + output written (accumulate reads and writes dst).
const BYTES: Record<Op, number> = { add_forward: 12, accumulate: 12, scale: 8, copy: 8, fill: 4 };
const FLOPS: Record<Op, number> = { add_forward: 1, accumulate: 1, scale: 1, copy: 0, fill: 0 };

function elementwiseCase(op: Op, N: number): BenchCase {
  return {
    family: 'elementwise',
    name: `${op} N=${N}`,
    shape: { N },
    flops: FLOPS[op] * N,
    bytes: BYTES[op] * N,
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const a = gpu.buffer(randomF32(ctx.rand, N)), b = gpu.buffer(randomF32(ctx.rand, N)), out = gpu.zeros(N * 4);
      const run = {
        add_forward: (enc: Parameters<BenchInstance['run']>[0]) => add_forward(gpu, enc, out, a, b, N),
        accumulate: (enc: Parameters<BenchInstance['run']>[0]) => accumulate(gpu, enc, out, a, N),
        scale: (enc: Parameters<BenchInstance['run']>[0]) => scale(gpu, enc, out, a, 0.5, N),
        copy: (enc: Parameters<BenchInstance['run']>[0]) => copy(gpu, enc, out, a, N),
        fill: (enc: Parameters<BenchInstance['run']>[0]) => fill(gpu, enc, out, 0, N),
      }[op];
      return { run, dispose: () => [a, b, out].forEach((x) => x.destroy()) };
    },
  };
}

export const cases: BenchCase[] = [
  ...(['add_forward', 'accumulate', 'scale', 'copy', 'fill'] as const).map((op) => elementwiseCase(op, 4096 * 256)),
  elementwiseCase('add_forward', 4096 * 1024),
  // Copies moving 2, 32 and 64 MiB (with the 8 MiB one above): the roofline's byte ceilings by size.
  elementwiseCase('copy', 1 << 18),
  elementwiseCase('copy', 1 << 22),
  elementwiseCase('copy', 1 << 23),
  // A one-element step: the fixed cost of recording, submitting and awaiting one dispatch (the
  // roofline's t0, see ../roofline.ts).
  elementwiseCase('fill', 1),
  // Eight one-element fills in one step: with `fill N=1`, the cost of each further dispatch.
  fillsCase(8),
];

function fillsCase(d: number): BenchCase {
  return {
    family: 'elementwise',
    name: `fill N=1 x${d}`,
    shape: { N: 1, dispatches: d },
    flops: 0,
    bytes: 4 * d,
    setup(ctx): BenchInstance {
      const bufs = Array.from({ length: d }, () => ctx.gpu.zeros(256));
      return {
        run: (enc) => bufs.forEach((b, i) => fill(ctx.gpu, enc, b, i, 1)),
        dispose: () => bufs.forEach((b) => b.destroy()),
      };
    },
  };
}
