// Structural counters: what a piece of GPU work *is*, counted exactly, not how long it took.
//
// Why: on a shared 2-core software adapter a timing moves ±30 % between identical runs, so a
// timing check can only catch large slow-downs. Counts do not move at all: a change that records
// twice the dispatches, binds twice the bytes, compiles a pipeline per step or reads back every
// step shows here as an exact difference, in a unit test, with the kernels responsible named.
//
// The Gpu object (runtime.ts) owns one GpuCounters and bumps it in the only places work goes
// through: pipeline() (compiles), buffer()/zeros()/uniform() (allocations), write() (uploads),
// StepEncoder.submit() (dispatches, per kernel label, counted when submitted, so a probe encoder
// that is never submitted counts nothing), submit() and read() (queue submits, readbacks).
// Take a snapshot before and after the work and diff them (countersDelta).

/** Per kernel (the pipeline's label), what its submitted dispatches covered. */
export interface KernelCounts {
  dispatches: number;
  /** Workgroups over all dispatches (x·y·z summed). */
  workgroups: number;
  /** Invocations: workgroups × the shader's @workgroup_size; null when the size could not be read from the WGSL. */
  invocations: number | null;
  /** Bytes of the buffer ranges bound, summed over dispatches (a buffer bound twice counts twice). */
  bytesBound: number;
  /** Floating-point operations the launcher declared for its dispatches (matmul-class kernels; 0 for the others). */
  flops: number;
}

export interface GpuCounters {
  dispatches: number;
  /** queue.submit calls: steps and readbacks. */
  submits: number;
  /** Pipelines created (cache misses of Gpu.pipeline: every one is a WGSL compile). */
  pipelinesCompiled: number;
  bytesBound: number;
  flops: number;
  workgroups: number;
  /** Buffers created through the Gpu helpers (buffer, zeros, uniform; readback staging excluded). */
  buffersCreated: number;
  /** Their bytes: GPU memory allocated. */
  bytesAllocated: number;
  /** CPU→GPU uploads (Gpu.write) and their bytes. */
  uploads: number;
  uploadBytes: number;
  /** GPU→CPU readbacks (Gpu.read) and their bytes. */
  readbacks: number;
  readbackBytes: number;
  kernels: Record<string, KernelCounts>;
}

export function newCounters(): GpuCounters {
  return {
    dispatches: 0, submits: 0, pipelinesCompiled: 0, bytesBound: 0, flops: 0, workgroups: 0,
    buffersCreated: 0, bytesAllocated: 0, uploads: 0, uploadBytes: 0, readbacks: 0, readbackBytes: 0, kernels: {},
  };
}

/** A deep copy (the live object keeps counting). */
export function snapshotCounters(c: GpuCounters): GpuCounters {
  const kernels: Record<string, KernelCounts> = {};
  for (const [k, v] of Object.entries(c.kernels)) kernels[k] = { ...v };
  return { ...c, kernels };
}

/** The scalar fields of GpuCounters, in report order. */
export const COUNTER_FIELDS = [
  'dispatches', 'submits', 'pipelinesCompiled', 'bytesBound', 'flops', 'workgroups',
  'buffersCreated', 'bytesAllocated', 'uploads', 'uploadBytes', 'readbacks', 'readbackBytes',
] as const satisfies readonly (keyof GpuCounters)[];
export type CounterField = (typeof COUNTER_FIELDS)[number];

export const KERNEL_FIELDS = ['dispatches', 'workgroups', 'invocations', 'bytesBound', 'flops'] as const satisfies readonly (keyof KernelCounts)[];

/** after − before, field by field; kernels with no dispatch in between are left out. */
export function countersDelta(after: GpuCounters, before: GpuCounters): GpuCounters {
  const d = newCounters();
  for (const f of COUNTER_FIELDS) d[f] = after[f] - before[f];
  for (const [k, a] of Object.entries(after.kernels)) {
    const b = before.kernels[k];
    const dispatches = a.dispatches - (b?.dispatches ?? 0);
    if (dispatches === 0) continue;
    d.kernels[k] = {
      dispatches,
      workgroups: a.workgroups - (b?.workgroups ?? 0),
      invocations: a.invocations === null || (b && b.invocations === null) ? null : a.invocations - (b?.invocations ?? 0),
      bytesBound: a.bytesBound - (b?.bytesBound ?? 0),
      flops: a.flops - (b?.flops ?? 0),
    };
  }
  return d;
}

/** Count one submitted dispatch of kernel `label`. */
export function countDispatch(
  c: GpuCounters, label: string, workgroups: readonly [number, number, number], workgroupSize: number | null, bytesBound: number, flops: number,
): void {
  const wg = workgroups[0] * workgroups[1] * workgroups[2];
  c.dispatches++;
  c.workgroups += wg;
  c.bytesBound += bytesBound;
  c.flops += flops;
  const k = (c.kernels[label] ??= { dispatches: 0, workgroups: 0, invocations: 0, bytesBound: 0, flops: 0 });
  k.dispatches++;
  k.workgroups += wg;
  k.invocations = workgroupSize === null || k.invocations === null ? null : k.invocations + wg * workgroupSize;
  k.bytesBound += bytesBound;
  k.flops += flops;
}

/**
 * The invocations per workgroup of a compute shader: the product of its `@workgroup_size(x, y, z)`,
 * each a literal (64, 64u), an override constant given in `constants`, or a module-scope
 * `const NAME = 64u;`. Null when it cannot be read that way.
 */
export function workgroupSizeOf(code: string, constants: Record<string, number> = {}, entryPoint = 'main'): number | null {
  // The attribute that belongs to `entryPoint` (a module may declare several entry points).
  const re = /@workgroup_size\s*\(([^)]*)\)([^{]*?)fn\s+(\w+)/g;
  let args: string | null = null;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    if (m[3] === entryPoint) {
      args = m[1]!;
      break;
    }
  }
  if (args === null) return null;
  let size = 1;
  for (const raw of args.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const v = valueOf(raw, code, constants);
    if (v === null) return null;
    size *= v;
  }
  return size;
}

function valueOf(expr: string, code: string, constants: Record<string, number>): number | null {
  const lit = /^(\d+)[ui]?$/.exec(expr);
  if (lit) return Number(lit[1]);
  if (!/^\w+$/.test(expr)) return null;
  if (expr in constants) return constants[expr]!;
  const decl = new RegExp(`(?:const|override)\\s+${expr}\\s*(?::\\s*\\w+)?\\s*=\\s*(\\d+)[ui]?\\s*;`).exec(code);
  return decl ? Number(decl[1]) : null;
}

/** Counters as short text lines, for logs. */
export function formatCounters(c: GpuCounters): string {
  return COUNTER_FIELDS.map((f) => `${f} ${c[f]}`).join(', ');
}
