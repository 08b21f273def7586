// matmul: C = A·B (+ bias), the kernel most of a BERT step's time is spent in.
//
// Shapes (row-major): A (M, K), B (K, N), bias (N), C (M, N).
//
// Design for lavapipe (which runs WGSL on CPU SIMD lanes; see NOTES.md): no workgroup memory,
// each invocation owns a 4-row × 4-column tile of C in registers, consecutive invocations along x
// take consecutive column tiles. Loads are clamped into bounds instead of branching, so ragged
// edges (M, N not multiples of 4) cost nothing extra in the loop; only the stores are guarded.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';

const WORKGROUP = 64;
const TILE_M = 4;
const TILE_N = 4;

export const MATMUL_FORWARD_WGSL = /* wgsl */ `
struct Dims { M: u32, N: u32, K: u32, has_bias: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * ${TILE_N}u;
  let row0 = gid.y * ${TILE_M}u;
  if (col0 >= dims.N || row0 >= dims.M) { return; }
  let M = dims.M; let N = dims.N; let K = dims.K;
  // Clamped column and row indices: out-of-range lanes recompute the last column/row, never stored.
  let c0 = col0; let c1 = min(col0 + 1u, N - 1u); let c2 = min(col0 + 2u, N - 1u); let c3 = min(col0 + 3u, N - 1u);
  let r0 = row0 * K; let r1 = min(row0 + 1u, M - 1u) * K; let r2 = min(row0 + 2u, M - 1u) * K; let r3 = min(row0 + 3u, M - 1u) * K;
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var k = 0u; k < K; k++) {
    let bk = k * N;
    let bv = vec4f(b[bk + c0], b[bk + c1], b[bk + c2], b[bk + c3]);
    acc0 += a[r0 + k] * bv;
    acc1 += a[r1 + k] * bv;
    acc2 += a[r2 + k] * bv;
    acc3 += a[r3 + k] * bv;
  }
  if (dims.has_bias != 0u) {
    let bb = vec4f(bias[c0], bias[c1], bias[c2], bias[c3]);
    acc0 += bb; acc1 += bb; acc2 += bb; acc3 += bb;
  }
  let rows = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < ${TILE_M}u; i++) {
    let row = row0 + i;
    if (row >= M) { break; }
    let v = rows[i];
    for (var j = 0u; j < ${TILE_N}u; j++) {
      if (col0 + j < N) { c[row * N + col0 + j] = v[j]; }
    }
  }
}
`;

/**
 * Record C = A·B (+ bias) into `enc`. `bias` may be null. All buffers hold f32.
 */
export function matmul_forward(
  gpu: Gpu,
  enc: StepEncoder,
  c: Binding,
  a: Binding,
  b: Binding,
  bias: Binding | null,
  M: number,
  N: number,
  K: number,
): void {
  const name = 'matmul_forward';
  checkDims(name, { M, N, K });
  checkBuffer(name, 'a', a, M * K);
  checkBuffer(name, 'b', b, K * N);
  if (bias) checkBuffer(name, 'bias', bias, N);
  checkBuffer(name, 'c', c, M * N);
  const pipe = gpu.pipeline(name, MATMUL_FORWARD_WGSL);
  const dims = gpu.uniform([M, N, K, bias ? 1 : 0]);
  // Without a bias, bind `a` in its place: the shader never reads it then.
  enc.dispatch(pipe, [dims, a, b, bias ?? a, c], Math.ceil(N / TILE_N / WORKGROUP), Math.ceil(M / TILE_M));
}

/** float64 reference of matmul_forward: the specification. */
export function matmul_forward_reference(
  c: Float64Array,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  M: number,
  N: number,
  K: number,
): void {
  const name = 'matmul_forward_reference';
  checkDims(name, { M, N, K });
  checkArray(name, 'a', a, M * K);
  checkArray(name, 'b', b, K * N);
  if (bias) checkArray(name, 'bias', bias, N);
  checkArray(name, 'c', c, M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j] : 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      c[i * N + j] = s;
    }
  }
}
