// Variant choice for kernels that have several implementations (today: matmul).
//
// What is fastest depends on the adapter, and the difference is large (NOTES.md, matmul):
//   - lavapipe / other CPU-backed adapters with 8-lane subgroups → 'subgroup' (≈2× 'register');
//   - CPU-backed adapters without them → 'register' (no workgroup memory: barriers and shared
//     memory are slow when a "GPU" is CPU SIMD lanes);
//   - hardware GPUs → 'tiled' (workgroup-memory tiling is what makes them fast).
// The choice is made once per Gpu (adapter + device) and cached. The subgroup variant is only
// correct with subgroups of exactly 8 lanes, so it needs the 'subgroups' feature AND a subgroup
// size of 8: the adapter's reported min/max size when it reports both, confirmed (or overruled)
// by `probeSubgroupSize`, which runs a one-invocation-per-lane kernel and reads back the size.
// TUNEBENCH_MATMUL_VARIANT=<name> forces a variant (benchmarks, debugging).

import type { Gpu } from './runtime.js';
import { MATMUL_SUBGROUP_SIZE } from './matmul_subgroup.js';

export const MATMUL_VARIANTS = ['subgroup', 'register', 'tiled', 'naive'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

/** Probe results per Gpu: the subgroup size seen, and whether the 8-lane pattern is usable. */
const probed = new WeakMap<Gpu, { size: number; usable: boolean }>();
const chosen = new WeakMap<Gpu, MatmulVariant>();

const PROBE_WGSL = /* wgsl */ `
enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${MATMUL_SUBGROUP_SIZE})
fn main(@builtin(local_invocation_index) li: u32, @builtin(subgroup_size) sg: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  // out[0] = subgroup size; out[1 + li] = lane id seen by invocation li.
  if (li == 0u) { out[0] = sg; }
  out[1u + li] = lane;
}
`;

/**
 * Run a tiny kernel that writes the subgroup size (and lane ids) of an 8-invocation workgroup;
 * cache the answer for this Gpu. Returns 0 when the device has no 'subgroups' feature. After it,
 * the matmul subgroup variant is enabled exactly when the size is 8 and the 8 lane ids are distinct.
 */
export async function probeSubgroupSize(gpu: Gpu): Promise<number> {
  const hit = probed.get(gpu);
  if (hit !== undefined) return hit.size;
  let size = 0;
  let usable = false;
  if (gpu.has('subgroups')) {
    const out = gpu.zeros(4 * (1 + MATMUL_SUBGROUP_SIZE), 'subgroup-probe');
    const enc = gpu.encoder('subgroup-probe');
    enc.dispatch(gpu.pipeline('subgroup_probe', PROBE_WGSL), [out], 1);
    await enc.submit();
    const r = await gpu.read(out, Uint32Array);
    out.destroy();
    const lanes = new Set(Array.from(r.subarray(1)));
    size = r[0];
    // Usable only as one full subgroup of 8 with 8 distinct lane ids.
    usable = size === MATMUL_SUBGROUP_SIZE && lanes.size === MATMUL_SUBGROUP_SIZE && Math.max(...lanes) < MATMUL_SUBGROUP_SIZE;
  }
  probed.set(gpu, { size, usable });
  chosen.delete(gpu);
  return size;
}

/** Subgroup sizes the adapter reports (WebGPU adapter.info.subgroupMinSize/MaxSize), if any. */
function reportedSubgroupSizes(gpu: Gpu): [number, number] | null {
  const info = gpu.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const lo = info.subgroupMinSize;
  const hi = info.subgroupMaxSize;
  return typeof lo === 'number' && typeof hi === 'number' ? [lo, hi] : null;
}

/** True when the 8-lane subgroup matmul is correct on this device (see the file header). */
export function subgroupMatmulUsable(gpu: Gpu): boolean {
  if (!gpu.has('subgroups')) return false;
  const p = probed.get(gpu);
  if (p !== undefined) return p.usable;
  const sizes = reportedSubgroupSizes(gpu);
  return sizes !== null && sizes[0] === MATMUL_SUBGROUP_SIZE && sizes[1] === MATMUL_SUBGROUP_SIZE;
}

/** The matmul variant `matmul()` uses on this device when none is forced. */
export function matmulVariantFor(gpu: Gpu): MatmulVariant {
  const hit = chosen.get(gpu);
  if (hit) return hit;
  const forced = process.env.TUNEBENCH_MATMUL_VARIANT;
  let v: MatmulVariant;
  if (forced) {
    if (!(MATMUL_VARIANTS as readonly string[]).includes(forced)) {
      throw new Error(`TUNEBENCH_MATMUL_VARIANT=${forced}: expected one of ${MATMUL_VARIANTS.join(', ')}`);
    }
    v = forced as MatmulVariant;
    if (v === 'subgroup' && !subgroupMatmulUsable(gpu)) {
      throw new Error('TUNEBENCH_MATMUL_VARIANT=subgroup, but this device has no usable 8-lane subgroups');
    }
  } else if (!gpu.adapterInfo.isSoftware) {
    v = 'tiled';
  } else {
    v = subgroupMatmulUsable(gpu) ? 'subgroup' : 'register';
  }
  chosen.set(gpu, v);
  return v;
}
