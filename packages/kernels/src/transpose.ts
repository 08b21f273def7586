// Batched transpose into a packed buffer: out_z (K, N) = in_z (N, K)ᵀ for z < batch, where
// in_z starts at sb·⌊(z0 + z) / NH⌋ + sh·((z0 + z) mod NH) and has row stride rs (≥ K), and
// out_z starts at z·N·K. NH = 1, sh = 0 is a plain batch with stride sb (matmul's Bᵀ); NH > 1
// walks the heads of a (B, T, C) tensor (attention's Kᵀ and Vᵀ: N = T, K = HS, rs = C).
//
// Why a copy: the matmul kernels on lavapipe read B fastest as vec4 along its columns; reading a
// transposed operand in place gathers 8 columns K·4 bytes apart per lane (the same L1 set when
// that is a multiple of 4 KiB) and measured 2× slower than copying first (NOTES.md `## matmul`).
// Lanes run along k, so the 8 lanes of a SIMD group read consecutive addresses of a row of the
// input; each lane then writes 8 consecutive elements of its output row. (Lanes along n instead
// read 8 addresses K·4 bytes apart and measured 8× slower.) When K, N, the strides and both
// bindings allow vec4 (all multiples of 4 elements / 16 bytes), each lane moves a 4 (k) × 8 (n)
// block with 8 vec4 loads and 8 vec4 stores instead of 32 scalar loads and stores:
// 1024×1024 4.00 → 2.23 ms, 14 heads of 512×64 1.20 → 0.88, 128 heads of 128×32 1.46 → 1.13 (same
// process, alternating, load ~7).

import { bindingOffset, type Binding, type Gpu, type StepEncoder } from './runtime.js';

/** Uniforms, bindings (elements of type T) and the entry point's signature, shared by both forms. */
const header = (T: string): string => /* wgsl */ `
struct Dims { N: u32, K: u32, z0: u32, NH: u32, sb: u32, sh: u32, rs: u32, pad: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> inp: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {`;

const TRANSPOSE_WGSL = /* wgsl */ `
${header('f32')}
  let k = gid.x; let n0 = gid.y * 8u; let z = gid.z;
  if (k >= dims.K) { return; }
  let item = dims.z0 + z;
  let src = (item / dims.NH) * dims.sb + (item % dims.NH) * dims.sh + k;
  let dst = z * dims.N * dims.K + k * dims.N;
  for (var n = n0; n < min(n0 + 8u, dims.N); n++) { out[dst + n] = inp[src + n * dims.rs]; }
}
`;

// vec4 form: invocation (k4, n8, z) reads rows n0..n0+7, columns 4·k4..4·k4+3 of the input
// (one vec4 each) and writes rows 4·k4..4·k4+3, columns n0..n0+7 of the output (two vec4 each).
// K % 4 == 0, N % 4 == 0 (a ragged last block of 4 rows is handled), offsets multiples of 4.
const TRANSPOSE_VEC4_WGSL = /* wgsl */ `
${header('vec4f')}
  let k4 = gid.x; let n0 = gid.y * 8u; let z = gid.z;
  if (k4 * 4u >= dims.K) { return; }
  let item = dims.z0 + z;
  let src = ((item / dims.NH) * dims.sb + (item % dims.NH) * dims.sh) / 4u + k4;
  let rs4 = dims.rs / 4u;
  var r: array<vec4f, 8>;
  for (var j = 0u; j < 8u; j++) { r[j] = inp[src + min(n0 + j, dims.N - 1u) * rs4]; }
  let N4 = dims.N / 4u;
  let dst = (z * dims.N * dims.K) / 4u + k4 * 4u * N4 + n0 / 4u;
  let two = n0 + 4u < dims.N;
  out[dst] = vec4f(r[0].x, r[1].x, r[2].x, r[3].x);
  out[dst + N4] = vec4f(r[0].y, r[1].y, r[2].y, r[3].y);
  out[dst + 2u * N4] = vec4f(r[0].z, r[1].z, r[2].z, r[3].z);
  out[dst + 3u * N4] = vec4f(r[0].w, r[1].w, r[2].w, r[3].w);
  if (two) {
    out[dst + 1u] = vec4f(r[4].x, r[5].x, r[6].x, r[7].x);
    out[dst + N4 + 1u] = vec4f(r[4].y, r[5].y, r[6].y, r[7].y);
    out[dst + 2u * N4 + 1u] = vec4f(r[4].z, r[5].z, r[6].z, r[7].z);
    out[dst + 3u * N4 + 1u] = vec4f(r[4].w, r[5].w, r[6].w, r[7].w);
  }
}
`;

export interface TransposeLayout {
  /** Rows (N) and columns (K) of each input matrix; the output matrices are (K, N). */
  N: number;
  K: number;
  batch: number;
  /** First item and items per outer index (heads); defaults 0 and 1. */
  z0?: number;
  NH?: number;
  /** Element strides: outer index (sb), inner index (sh, default 0), input row (rs, default K). */
  sb: number;
  sh?: number;
  rs?: number;
}

/** Experiment / test switch: the vec4 form where the layout allows it (default on). */
let vecTranspose = true;
export function setTransposeVec4(on: boolean): void {
  vecTranspose = on;
}

/** Record out_z (K, N) = in_z (N, K)ᵀ for z < batch (layout above). Callers check buffer sizes. */
export function transpose_batched(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, t: TransposeLayout, label = 'transpose'): void {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const rs = t.rs ?? t.K;
  const vec4 = vecTranspose && [t.N, t.K, t.sb, t.sh ?? 0, rs].every((x) => x % 4 === 0) && bindingOffset(out) % 16 === 0 && bindingOffset(inp) % 16 === 0;
  const gx = Math.ceil(t.K / (vec4 ? 256 : 64));
  const gy = Math.ceil(t.N / 8);
  if (gx > max || gy > max || t.batch > max) throw new Error(`${label}: cannot transpose ${t.batch} × (${t.N}×${t.K}): too many workgroups`);
  const pipe = vec4 ? gpu.pipeline('transpose_batched:v4', TRANSPOSE_VEC4_WGSL) : gpu.pipeline('transpose_batched', TRANSPOSE_WGSL);
  const words = [t.N, t.K, t.z0 ?? 0, t.NH ?? 1, t.sb, t.sh ?? 0, rs, 0];
  enc.dispatch(pipe, [gpu.uniform(words), inp, out], gx, gy, t.batch);
}
