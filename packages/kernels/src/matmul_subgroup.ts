// matmul variant for CPU-backed adapters with 8-lane subgroups (lavapipe): no workgroup memory,
// A values shared between lanes by subgroupBroadcast.
//
// Why: lavapipe runs 8 consecutive invocations as the 8 SIMD lanes of one CPU thread, and every
// storage-buffer load becomes one scalar load per lane (see NOTES.md). Speed therefore follows the
// number of loads per multiply-add. Here each lane owns 8 consecutive output columns (two vec4
// accumulators per row) of a 24-row tile; per k it loads 8 values of B (its own columns, as two
// vec4 when the layout allows) and just 3 values of A (rows lane, 8 + lane, 16 + lane of the
// tile). Every lane then obtains all 24 row values of A with subgroupBroadcast(x, r) for constant
// r, which lavapipe compiles into a register shuffle: 11 loads per 192 multiply-adds, against 12
// per 32 in the plain register-tiled variant.
//
// Correctness needs subgroups of exactly 8 lanes inside a workgroup of 8 (one subgroup per
// workgroup); tune.ts only picks this variant when the adapter reports subgroup sizes 8..8 or the
// probe saw 8. A is walked with run-time steps (transA costs nothing); B must be untransposed (the
// launcher transposes it into scratch first, see transBInKernel).
//
// Ragged edges: row loads are clamped into range (the clamped rows are computed, never stored);
// the 8 columns of the last lane are shifted left to stay in range (columns left of the lane's
// own first column are computed, never stored), so the K loop has no branches. For N < 8 the
// column indices themselves are clamped (scalar path only).

import { matmulHeader, type MatmulLayout, type MatmulVariantInfo } from './matmul_common.js';

/** Subgroup size the broadcast pattern is written for. */
export const MATMUL_SUBGROUP_SIZE = 8;
// Rows per workgroup tile: 24, 3 A values loaded per lane per k. Why 24: per k a lane makes
// (rows / 8) A loads + 8 B loads for rows × 8 multiply-adds, so taller tiles need fewer of the
// expensive per-lane loads per multiply-add (16 rows: 10 loads per 128, 24 rows: 11 per 192); 32
// rows was no better (more spilled accumulators). 16 rows (SHORT_ROWS) remain for the vec4 walk of
// A (K % 1024 == 0: there 24 gained nothing and compiled several times slower) and where 24 would
// pad M much more (M = 128: 144 rows computed). Same-process A/B in NOTES.md (## matmul).
export const MATMUL_SUBGROUP_ROWS = 3 * MATMUL_SUBGROUP_SIZE;
const SHORT_ROWS = 2 * MATMUL_SUBGROUP_SIZE;
const COLS = 8; // columns per lane
// Narrow outputs (N ≤ 32: attention values with HS 32, LoRA ranks): 32 rows × 4 columns per lane,
// still 128 multiply-adds per k per lane (4 A loads + 1 vec4 of B), instead of a 24 × 8 tile whose
// lanes past column N compute duplicates.
const NARROW_ROWS = 4 * MATMUL_SUBGROUP_SIZE;
const NARROW_COLS = 4;

function wgsl(layout: MatmulLayout, tallRows: number): string {
  const rows = layout.narrow ? NARROW_ROWS : (layout.tileM ?? tallRows);
  if (rows % MATMUL_SUBGROUP_SIZE !== 0) throw new Error(`matmul subgroup: tileM=${rows} must be a multiple of ${MATMUL_SUBGROUP_SIZE}`);
  const cols = layout.narrow ? NARROW_COLS : COLS;
  const V = cols / 4; // vec4 accumulators per row
  const RB = rows / MATMUL_SUBGROUP_SIZE; // rows loaded per lane
  const I = Array.from({ length: RB }, (_, i) => i);
  const body: string[] = [];
  for (let r = 0; r < rows; r++) {
    const src = `x${Math.floor(r / MATMUL_SUBGROUP_SIZE)}`;
    body.push(`    { let s = subgroupBroadcast(${src}, ${r % MATMUL_SUBGROUP_SIZE}u); c${r}a += s * b0;${V === 2 ? ` c${r}b += s * b1;` : ''} }`);
  }
  // Epilogue: park the accumulators in a local array and store from a loop. (Unrolled, the
  // guarded stores, one per accumulator element, made the shader ~10× slower to compile.)
  const park = Array.from({ length: rows }, (_, r) => `  tile[${V * r}] = c${r}a;${V === 2 ? ` tile[${2 * r + 1}] = c${r}b;` : ''}`).join('\n');
  const stores = layout.cVec4
    ? `${park}
  for (var r = 0u; r < ${rows}u; r++) {
    let row = row0 + r;
    if (row >= M) { break; }
    // N % 4 == 0: a chunk of 4 columns is wholly in range, and wholly the lane's own or not.
    for (var q = 0u; q < ${V}u; q++) {
      let col = col0 + 4u * q;
      if (col >= colOwn && col < N) { store_out4(cOff, row, col, tile[${V}u * r + q]); }
    }
  }`
    : `${park}
  for (var r = 0u; r < ${rows}u; r++) {
    let row = row0 + r;
    if (row >= M) { break; }
    for (var j = 0u; j < ${cols}u; j++) {
      let col = col0 + j;
      if (col >= colOwn && col < N) { store_out(cOff, row, col, tile[${V}u * r + j / 4u][j % 4u]); }
    }
  }`;
  const bSetup = layout.bVec4
    ? `  var pb = (bOff + col0) / 4u; let stepB = N / 4u;`
    : `  var pb = bOff; let stepB = dims.bK;
  ${Array.from({ length: cols }, (_, j) => `let j${j} = min(col0 + ${j}u, N - 1u) * dims.bCol;`).join(' ')}`;
  const bLoad = layout.bVec4
    ? `let b0 = b[pb];${V === 2 ? ' let b1 = b[pb + 1u];' : ''}`
    : `let b0 = vec4f(b[pb + j0], b[pb + j1], b[pb + j2], b[pb + j3]);${V === 2 ? `
    let b1 = vec4f(b[pb + j4], b[pb + j5], b[pb + j6], b[pb + j7]);` : ''}`;
  // One k per step, A read as scalars with run-time steps (any layout of A).
  const kLoop = `  for (var k = 0u; k < K; k++) {
    ${I.map((i) => `let x${i} = a[pa${i}]; pa${i} += stepA;`).join(' ')}
    ${bLoad}
    pb += stepB;
${body.join("\n")}
  }`;
  // Row-major A: the lane's two rows are read as vec4 (4 k per load) and the 4 k consumed from
  // registers. Why: one k per step re-reads 16 rows 4·K bytes apart every k; when K is a multiple
  // of 1024 they all fall in one L1 set and evict each other (1024² · K: 19.9 GFLOP/s at K = 1024
  // against 23.9 at K = 1008, same process). Fetching 4 k per load cuts those misses 4×.
  const kLoopAVec4 = `  for (var k4 = 0u; k4 < K / 4u; k4++) {
    ${I.map((i) => `let y${i} = a[pa${i} / 4u]; pa${i} += 4u;`).join(' ')}
    for (var q = 0u; q < 4u; q++) {
      ${I.map((i) => `let x${i} = y${i}[q];`).join(' ')}
      ${bLoad}
      pb += stepB;
${body.join("\n")}
    }
  }`;
  return `enable subgroups;
${matmulHeader(layout.bVec4, layout.aVec4, layout.cVec4)}
@compute @workgroup_size(${MATMUL_SUBGROUP_SIZE})
fn main(@builtin(workgroup_id) wg: vec3u,
        @builtin(subgroup_invocation_id) lane: u32) {
  let M = dims.M; let N = dims.N; let K = dims.K;
  let z = dims.z0 + wg.z;
  let aOff = z * dims.strideA; let bOff = z * dims.strideB; let cOff = z * dims.strideOut;
  let row0 = dims.m0 + wg.y * ${rows}u;
  let colOwn = (wg.x * ${MATMUL_SUBGROUP_SIZE}u + lane) * ${cols}u;
  let col0 = min(colOwn, max(N, ${cols}u) - ${cols}u);
${I.map((i) => `  var pa${i} = aOff + min(row0 + ${i * MATMUL_SUBGROUP_SIZE}u + lane, M - 1u) * dims.aRow;`).join('\n')}
  let stepA = dims.aK;
${bSetup}
${Array.from({ length: rows }, (_, r) => `  var c${r}a = vec4f(0.0);${V === 2 ? ` var c${r}b = vec4f(0.0);` : ''}`).join('\n')}
  var tile: array<vec4f, ${V * rows}>;
${layout.aVec4 ? kLoopAVec4 : kLoop}
${stores}
}
`;
}

/** The subgroup variant with a tile of `rows` rows (a multiple of 8); exported for A/B timing. */
export function subgroupMatmulVariant(rows: number): MatmulVariantInfo {
  if (rows % MATMUL_SUBGROUP_SIZE !== 0 || rows <= 0) throw new Error(`subgroupMatmulVariant: rows=${rows} must be a positive multiple of ${MATMUL_SUBGROUP_SIZE}`);
  return {
    tileM: rows,
    tileN: MATMUL_SUBGROUP_SIZE * COLS,
    wgsl: (layout: MatmulLayout) => wgsl(layout, rows),
    requires: ['subgroups'],
    supportsBVec4: true,
    supportsAVec4: true,
    supportsCVec4: true,
    narrowTile: { tileM: NARROW_ROWS, tileN: MATMUL_SUBGROUP_SIZE * NARROW_COLS, maxN: MATMUL_SUBGROUP_SIZE * NARROW_COLS },
    shortTileM: SHORT_ROWS,
    // Bᵀ is read in place by the scalar path (column steps bCol = K), which the launcher uses only
    // for tiny products, where the extra transpose dispatch would cost more than the product.
    transBInKernel: false,
    transBInKernelBelowFlops: 2 ** 19,
  };
}

export const MATMUL_SUBGROUP: MatmulVariantInfo = subgroupMatmulVariant(MATMUL_SUBGROUP_ROWS);
