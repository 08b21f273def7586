// The yardstick for "every kernel within 2× of matmul's efficiency, by FLOPs or by bytes moved".
//
// Efficiency is judged against ceilings measured in the same run on the same adapter, because on a
// shared software GPU only same-run ratios mean anything:
//   - FLOP ceiling R: GFLOP/s of the reference matmul (`matmul nn 1024x1024x1024`),
//   - byte ceiling W: GB/s of the plain copy kernel (`copy N=1048576`: one load and one store per
//     element, the fastest any kernel can move bytes through storage buffers here),
//   - fixed cost t0: the median time of a one-element fill (`fill N=1`), i.e. what the harness pays
//     for recording, submitting and awaiting one step whatever its size.
// A case's lower bound is t0 + max(flops / R, bytes / W): the time it would take if it ran at
// matmul's compute efficiency or at copy's byte rate, whichever binds. Its roofline ratio is
// median / bound; ≤ 2 means "within 2× of matmul's (or copy's) efficiency". The matmul reference
// itself sits at ≈ 1 by construction; a memory-bound kernel at half copy speed sits at ≈ 2.
// `bytes` are each case's minimal bytes (inputs read once, outputs written once), so re-reading
// data shows up as a worse ratio, as it should.

/** Names of the reference cases (must exist among the loaded cases). */
export const ROOFLINE_REFERENCES = {
  flops: 'matmul nn 1024x1024x1024',
  bytes: 'copy N=1048576',
  overhead: 'fill N=1',
} as const;

export interface RooflineCeilings {
  /** GFLOP/s of the FLOP reference (median). */
  gflops: number;
  /** GB/s of the byte reference (median). */
  gbps: number;
  /** Median ms of a trivial one-dispatch step. */
  overhead_ms: number;
}

/** Lower bound in ms for a case of `flops` FLOPs and `bytes` bytes under the ceilings. */
export function rooflineBoundMs(flops: number, bytes: number, c: RooflineCeilings): number {
  if (!(c.gflops > 0) || !(c.gbps > 0) || !(c.overhead_ms >= 0)) {
    throw new Error(`roofline: ceilings must be positive (got ${c.gflops} GFLOP/s, ${c.gbps} GB/s, ${c.overhead_ms} ms)`);
  }
  return c.overhead_ms + Math.max(flops / (c.gflops * 1e6), bytes / (c.gbps * 1e6));
}

/** median / bound: 1 = at the ceiling, 2 = half as efficient. */
export function rooflineRatio(medianMs: number, flops: number, bytes: number, c: RooflineCeilings): number {
  return medianMs / rooflineBoundMs(flops, bytes, c);
}

/** Which ceiling binds a case: 'flops' when its FLOP time exceeds its byte time. */
export function rooflineBoundBy(flops: number, bytes: number, c: RooflineCeilings): 'flops' | 'bytes' {
  return flops / c.gflops >= bytes / c.gbps ? 'flops' : 'bytes';
}
