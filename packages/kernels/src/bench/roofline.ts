// The yardstick for "every kernel within 2× of matmul's efficiency, by FLOPs or by bytes moved".
//
// Efficiency is judged against ceilings measured in the same run on the same adapter, because on a
// shared software GPU only same-run ratios mean anything:
//   - FLOP ceiling R: GFLOP/s of the reference matmul (`matmul nn 1024x1024x1024`),
//   - byte ceiling W(bytes): GB/s of the plain vec4 copy kernel (one load and one store per
//     element, the fastest any kernel moves bytes through storage buffers here) moving about as
//     many bytes as the case: copies of 2, 8, 32 and 64 MiB are measured and W is interpolated in
//     log(bytes) between them (clamped at the ends). Why by size: the rate falls once the data
//     leaves the caches (on this machine 5.9 GB/s at 8 MiB, 3.3 at 32 MiB, 1.8 at 64 MiB), and a
//     kernel should be compared with a copy that hits the same level of the memory hierarchy.
//   - fixed cost t0: the median time of a one-element fill (`fill N=1`), i.e. what the harness pays
//     for recording, submitting and awaiting one step whatever its size;
//   - per-dispatch cost td: (time of a step of 8 one-element fills − t0) / 7, what each further
//     dispatch of a step costs even when it does no work (~0.026 ms on lavapipe: the launch
//     overhead of a GPU kernel, in roofline terms).
// A case that records d dispatches has the lower bound t0 + (d − 1)·td + max(flops / R,
// bytes / W): the time it would take if it ran at matmul's compute efficiency or at copy's byte
// rate, whichever binds. (td only matters for sub-millisecond cases: a chain of five tiny
// dispatches such as the contrastive l2-normalize + cosine at 32×128 takes 0.31 ms, 2.6× t0 + work,
// 1.4× once its five launches are counted.) Its roofline ratio is
// median / bound; ≤ 2 means "within 2× of matmul's (or copy's) efficiency". The matmul reference
// itself sits at ≈ 1 by construction; a memory-bound kernel at half copy speed sits at ≈ 2.
// `bytes` are each case's minimal bytes (inputs read once, outputs written once), so re-reading
// data shows up as a worse ratio, as it should.

/** Names of the reference cases (must exist among the loaded cases). */
export const ROOFLINE_REFERENCES = {
  flops: 'matmul nn 1024x1024x1024',
  bytes: ['copy N=262144', 'copy N=1048576', 'copy N=4194304', 'copy N=8388608'],
  overhead: 'fill N=1',
  dispatch: 'fill N=1 x8',
} as const;

export interface RooflineCeilings {
  /** GFLOP/s of the FLOP reference (median). */
  gflops: number;
  /** Byte references: bytes moved and GB/s (median), in increasing order of bytes. */
  copies: { bytes: number; gbps: number }[];
  /** Median ms of a trivial one-dispatch step. */
  overhead_ms: number;
  /** Median ms each further trivial dispatch adds to a step. */
  dispatch_ms: number;
}

/** The copy rate (GB/s) for a case moving `bytes`: log-linear between the references, clamped. */
export function copyRateFor(bytes: number, copies: RooflineCeilings['copies']): number {
  if (copies.length === 0) throw new Error('roofline: no copy reference');
  const c = [...copies].sort((x, y) => x.bytes - y.bytes);
  if (bytes <= c[0].bytes) return c[0].gbps;
  for (let i = 1; i < c.length; i++) {
    if (bytes <= c[i].bytes) {
      const t = Math.log(bytes / c[i - 1].bytes) / Math.log(c[i].bytes / c[i - 1].bytes);
      return c[i - 1].gbps + t * (c[i].gbps - c[i - 1].gbps);
    }
  }
  return c[c.length - 1].gbps;
}

/** Lower bound in ms for a case of `flops` FLOPs and `bytes` bytes under the ceilings. */
export function rooflineBoundMs(flops: number, bytes: number, c: RooflineCeilings, dispatches = 1): number {
  if (!(c.gflops > 0) || !c.copies.every((x) => x.gbps > 0 && x.bytes > 0) || !(c.overhead_ms >= 0) || !(c.dispatch_ms >= 0)) {
    throw new Error(`roofline: ceilings must be positive (got ${c.gflops} GFLOP/s, ${c.copies.map((x) => x.gbps).join('/')} GB/s, ${c.overhead_ms} ms, ${c.dispatch_ms} ms per dispatch)`);
  }
  const launches = c.overhead_ms + Math.max(0, dispatches - 1) * c.dispatch_ms;
  return launches + Math.max(flops / (c.gflops * 1e6), bytes / (copyRateFor(bytes, c.copies) * 1e6));
}

/** median / bound: 1 = at the ceiling, 2 = half as efficient. */
export function rooflineRatio(medianMs: number, flops: number, bytes: number, c: RooflineCeilings, dispatches = 1): number {
  return medianMs / rooflineBoundMs(flops, bytes, c, dispatches);
}

/** Which ceiling binds a case: 'flops' when its FLOP time exceeds its byte time. */
export function rooflineBoundBy(flops: number, bytes: number, c: RooflineCeilings): 'flops' | 'bytes' {
  return flops / c.gflops >= bytes / copyRateFor(bytes, c.copies) ? 'flops' : 'bytes';
}
