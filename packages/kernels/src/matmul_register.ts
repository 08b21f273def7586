// matmul variant for any adapter, tuned for CPU-backed ones without usable subgroups: no
// workgroup memory, each invocation keeps a 4-row × 8-column tile of the output in registers
// (two vec4 accumulators per row); an 8×8 workgroup covers 32 rows × 64 columns, consecutive
// invocations along x (the SIMD lanes on lavapipe) taking consecutive column tiles. (A 64×1
// workgroup covered 512 columns: at N = 128 three quarters of it computed nothing useful.)
//
// Why: on lavapipe every storage load is a scalar load per SIMD lane, and workgroup memory with
// barriers measured 2–3× slower than reading storage directly (NOTES.md). Per k this loads 4
// values of A and 8 of B for 32 multiply-adds; 4×8 was the best tile measured (larger tiles spill).
// A is walked with run-time steps (transA is free); B must be untransposed (the launcher
// transposes it into scratch first).
//
// Ragged edges as in matmul_subgroup: clamped row loads, columns shifted left into range (or
// clamped when N < 8), stores guarded; the K loop has no branches.

import { matmulHeader, type MatmulLayout, type MatmulVariantInfo } from './matmul_common.js';

const WX = 8; // invocations along N
const WY = 8; // invocations along M
const ROWS = 4; // per invocation
const COLS = 8; // per invocation

function wgsl(layout: MatmulLayout): string {
  const body: string[] = [];
  for (let r = 0; r < ROWS; r++) body.push(`    { let s = a[pa${r}]; pa${r} += stepA; c${r}a += s * b0; c${r}b += s * b1; }`);
  // Epilogue: park the accumulators in a local array and store from a loop. (Unrolled, the
  // guarded stores, one per accumulator element, made the shader ~10× slower to compile.)
  const park = Array.from({ length: ROWS }, (_, r) => `  tile[${2 * r}] = c${r}a; tile[${2 * r + 1}] = c${r}b;`).join('\n');
  const stores = `${park}
  for (var r = 0u; r < ${ROWS}u; r++) {
    let row = row0 + r;
    if (row >= M) { break; }
    for (var j = 0u; j < ${COLS}u; j++) {
      let col = col0 + j;
      if (col >= colOwn && col < N) { store_out(cOff, row, col, tile[2u * r + j / 4u][j % 4u]); }
    }
  }`;
  const bSetup = layout.bVec4
    ? `  var pb = (bOff + col0) / 4u; let stepB = N / 4u;`
    : `  var pb = bOff; let stepB = N;
  let j0 = col0; let j1 = min(col0 + 1u, N - 1u); let j2 = min(col0 + 2u, N - 1u); let j3 = min(col0 + 3u, N - 1u);
  let j4 = min(col0 + 4u, N - 1u); let j5 = min(col0 + 5u, N - 1u); let j6 = min(col0 + 6u, N - 1u); let j7 = min(col0 + 7u, N - 1u);`;
  const bLoad = layout.bVec4
    ? `let b0 = b[pb]; let b1 = b[pb + 1u];`
    : `let b0 = vec4f(b[pb + j0], b[pb + j1], b[pb + j2], b[pb + j3]);
    let b1 = vec4f(b[pb + j4], b[pb + j5], b[pb + j6], b[pb + j7]);`;
  return `${matmulHeader(layout.bVec4)}
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = dims.M; let N = dims.N; let K = dims.K;
  let z = dims.z0 + wg.z;
  let aOff = z * dims.strideA; let bOff = z * dims.strideB; let cOff = z * dims.strideOut;
  let row0 = dims.m0 + (wg.y * ${WY}u + lid.y) * ${ROWS}u;
  let colOwn = (wg.x * ${WX}u + lid.x) * ${COLS}u;
  // Nothing of this invocation's tile is in range (no subgroup operations here, so leaving is fine).
  if (row0 >= M || colOwn >= N) { return; }
  let col0 = min(colOwn, max(N, ${COLS}u) - ${COLS}u);
${Array.from({ length: ROWS }, (_, r) => `  var pa${r} = aOff + min(row0 + ${r}u, M - 1u) * dims.aRow;`).join('\n')}
  let stepA = dims.aK;
${bSetup}
${Array.from({ length: ROWS }, (_, r) => `  var c${r}a = vec4f(0.0); var c${r}b = vec4f(0.0);`).join('\n')}
  var tile: array<vec4f, ${2 * ROWS}>;
  for (var k = 0u; k < K; k++) {
    ${bLoad}
    pb += stepB;
${body.join('\n')}
  }
${stores}
}
`;
}

export const MATMUL_REGISTER: MatmulVariantInfo = {
  tileM: WY * ROWS,
  tileN: WX * COLS,
  wgsl,
  requires: [],
  supportsBVec4: true,
  transBInKernel: false,
};
