// matmul variant for real GPUs: the classic workgroup-memory tiling. A 16×16 workgroup computes a
// 64×64 output tile; per step of 16 along K it stages a 64×16 tile of A and a 16×64 tile of B in
// workgroup memory (each invocation loads 4 + 4 values, coalesced along the operand's contiguous
// axis), then each invocation accumulates a 4×4 block (rows ty + 16i, columns tx + 16j, so
// neighbouring invocations read neighbouring workgroup-memory words).
//
// Why a separate variant: on a GPU, global-memory bandwidth is the limit and workgroup-memory
// reuse is essential; on lavapipe the same design measured 2–3× slower than matmul_register, so
// tune.ts picks it only for hardware adapters. Out-of-range elements are staged as 0 (the K tail
// must contribute nothing), with clamped addresses so no load goes out of bounds.

import { MATMUL_FLAG_TRANS_A, MATMUL_FLAG_TRANS_B, matmulHeader, type MatmulVariantInfo } from './matmul_common.js';

const T = 64; // output tile edge
const BK = 16; // K step
const W = 16; // workgroup edge; each invocation owns (T/W)² = 16 outputs

function wgsl(): string {
  // Element e (0..T·BK-1) of a staged tile → (tile row or column, k). Coalesced: consecutive
  // invocations read consecutive addresses of the operand as it is stored. The layout is a
  // uniform branch (flags), not a compile-time choice: one pipeline serves all four layouts.
  const aLoad = `var mm: u32; var kk: u32; var idx: u32;
      if (transA) { kk = e / ${T}u; mm = e % ${T}u; } else { mm = e / ${BK}u; kk = e % ${BK}u; }
      let gi = min(row0 + mm, M - 1u); let gk = min(t + kk, K - 1u);
      if (transA) { idx = gk * M + gi; } else { idx = gi * K + gk; }
      let v = a[aOff + idx];`;
  const bLoad = `var nn: u32; var kk: u32; var idx: u32;
      if (transB) { nn = e / ${BK}u; kk = e % ${BK}u; } else { kk = e / ${T}u; nn = e % ${T}u; }
      let gj = min(col0 + nn, N - 1u); let gk = min(t + kk, K - 1u);
      if (transB) { idx = gj * K + gk; } else { idx = gk * N + gj; }
      let v = b[bOff + idx];`;
  return `${matmulHeader(false)}
var<workgroup> As: array<f32, ${T * BK}>; // [kk][mm]
var<workgroup> Bs: array<f32, ${T * BK}>; // [kk][nn]

@compute @workgroup_size(${W}, ${W})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let M = dims.M; let N = dims.N; let K = dims.K;
  let z = dims.z0 + wg.z;
  let aOff = z * dims.strideA; let bOff = z * dims.strideB; let cOff = z * dims.strideOut;
  let row0 = dims.m0 + wg.y * ${T}u;
  let col0 = wg.x * ${T}u;
  let transA = (dims.flags & ${MATMUL_FLAG_TRANS_A}u) != 0u;
  let transB = (dims.flags & ${MATMUL_FLAG_TRANS_B}u) != 0u;
  var acc: array<array<f32, 4>, 4>;
  for (var t = 0u; t < K; t += ${BK}u) {
    for (var p = 0u; p < ${(T * BK) / (W * W)}u; p++) {
      let e = li + p * ${W * W}u;
      {
      ${aLoad}
      As[kk * ${T}u + mm] = select(0.0, v, row0 + mm < M && t + kk < K);
      }
      {
      ${bLoad}
      Bs[kk * ${T}u + nn] = select(0.0, v, col0 + nn < N && t + kk < K);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = As[kk * ${T}u + lid.y + i * ${W}u];
        bv[i] = Bs[kk * ${T}u + lid.x + i * ${W}u];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += av[i] * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + i * ${W}u;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + j * ${W}u;
      if (row < M && col < N) { store_out(cOff, row, col, acc[i][j]); }
    }
  }
}
`;
}

export const MATMUL_TILED: MatmulVariantInfo = {
  tileM: T,
  tileN: T,
  wgsl,
  requires: [],
  supportsBVec4: false,
  transBInKernel: true,
};
