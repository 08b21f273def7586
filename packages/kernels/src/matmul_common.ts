// Pieces shared by every matmul variant (matmul_subgroup, matmul_register, matmul_tiled,
// matmul_naive): the uniform block, the bindings and the epilogue, so that all variants compute
// exactly the same thing and differ only in how they walk the tiles.
//
// Every variant computes, for batch item z and output element (i, j):
//   out[z][i, j] = alpha · Σ_k opA(z)[i, k] · opB(z)[k, j]  (+ bias[j])  (+ old out[z][i, j])
// where opA(z)[i, k] = a[z·strideA + i·K + k]   (or a[z·strideA + k·M + i] when transA)
//       opB(z)[k, j] = b[z·strideB + k·N + j]   (or b[z·strideB + j·K + k] when transB)
// and out[z] starts at z·strideOut with row stride N.
//
// Large problems are split into several dispatches over rows (m0) and batch items (z0) so that no
// single dispatch runs long on a slow adapter; both offsets arrive through the uniform block.

/**
 * Compile-time choices of a variant's WGSL (everything else, transposes included, arrives at run
 * time through Dims). `bVec4` asks for B bound as array<vec4f>; the launcher guarantees
 * N % 4 == 0, N >= 8, strideB % 4 == 0 and B untransposed.
 */
export interface MatmulLayout {
  bVec4: boolean;
  /**
   * A bound as array<vec4f> and walked 4 k at a time (variants with supportsAVec4 only); the
   * launcher guarantees A untransposed, K % 4 == 0 and strideA % 4 == 0.
   */
  aVec4?: boolean;
  /** Rows per workgroup when the variant has a short tile (MatmulVariantInfo.shortTileM); else tileM. */
  tileM?: number;
  /** The variant's narrow tile (MatmulVariantInfo.narrowTile), chosen when N ≤ its maxN. */
  narrow?: boolean;
  /**
   * C bound as array<vec4f> and stored a vec4 at a time (variants with supportsCVec4 only); the
   * launcher guarantees N % 4 == 0, strideOut % 4 == 0 and a 16-byte aligned binding.
   */
  cVec4?: boolean;
}

/** What a variant tells the launcher about its geometry. */
export interface MatmulVariantInfo {
  /** Output rows covered by one workgroup (dispatch y counts rows in these units). */
  tileM: number;
  /** Output columns covered by one workgroup (dispatch x). */
  tileN: number;
  /** WGSL source for a layout. */
  wgsl(layout: MatmulLayout): string;
  /** True when the variant has a vec4-B form (used when the shape allows it). */
  supportsBVec4: boolean;
  /** True when the variant has a vec4-A form (used when the shape allows it). */
  supportsAVec4?: boolean;
  /** True when the variant has a vec4-C epilogue (used when the shape allows it). */
  supportsCVec4?: boolean;
  /**
   * A shorter row tile (layout.tileM) that the launcher picks when layout.aVec4, or when the
   * tall tile would compute over 5 % more padded rows than this one (M = 128: 144 rows against 128).
   */
  shortTileM?: number;
  /** A second tile shape for outputs at most maxN columns wide (layout.narrow). */
  narrowTile?: { tileM: number; tileN: number; maxN: number };
  /**
   * False when the variant only reads B untransposed: the launcher then copies bᵀ into a scratch
   * buffer first (reading B with stride K measured 2× slower on lavapipe: 8 lanes × 8 columns
   * K·4 bytes apart alias the same L1 cache sets when K is a power of two).
   */
  transBInKernel: boolean;
  /**
   * Products of at most this many FLOPs read Bᵀ in place even when transBInKernel is false (the
   * variant's scalar B path honours bCol/bK): below it one dispatch less beats faster loads.
   */
  transBInKernelBelowFlops?: number;
  /** Device features the WGSL needs ('subgroups'). */
  requires: string[];
}

/** Flag bits of Dims.flags. */
export const MATMUL_FLAG_BIAS = 1;
export const MATMUL_FLAG_ACCUMULATE = 2;
/** opA / opB are transposed (also visible in aRow/aK, bCol/bK; for variants that branch on it). */
export const MATMUL_FLAG_TRANS_A = 4;
export const MATMUL_FLAG_TRANS_B = 8;

/**
 * The uniform block, bindings and epilogue: prepended to every variant's WGSL. aRow/aK are the
 * element steps of opA along rows / along k (K, 1 or, transposed, 1, M); bCol/bK likewise for opB
 * (1, N or, transposed, K, 1).
 */
export function matmulHeader(bVec4 = false, aVec4 = false, cVec4 = false): string {
  return /* wgsl */ `
struct Dims {
  M: u32, N: u32, K: u32, flags: u32,
  strideA: u32, strideB: u32, strideOut: u32, m0: u32,
  z0: u32, alpha: f32, aRow: u32, aK: u32,
  bCol: u32, bK: u32, pad0: u32, pad1: u32,
}
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<${aVec4 ? 'vec4f' : 'f32'}>;
@group(0) @binding(2) var<storage, read> b: array<${bVec4 ? 'vec4f' : 'f32'}>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<${cVec4 ? 'vec4f' : 'f32'}>;
${cVec4 ? STORE_OUT4 : STORE_OUT}`;
}

// The one place an output element is written: scale, bias, accumulate.
const STORE_OUT = /* wgsl */ `
fn store_out(cOff: u32, row: u32, col: u32, v: f32) {
  let i = cOff + row * dims.N + col;
  var x = dims.alpha * v;
  if ((dims.flags & ${MATMUL_FLAG_BIAS}u) != 0u) { x += bias[col]; }
  if ((dims.flags & ${MATMUL_FLAG_ACCUMULATE}u) != 0u) { x += c[i]; }
  c[i] = x;
}
`;

// The same for 4 consecutive columns at once (layout.cVec4: cOff, N and col multiples of 4), so a
// lane stores a row chunk with one vec4 store (and reads it with one load when accumulating).
const STORE_OUT4 = /* wgsl */ `
fn store_out4(cOff: u32, row: u32, col: u32, v: vec4f) {
  let i = (cOff + row * dims.N + col) / 4u;
  var x = dims.alpha * v;
  if ((dims.flags & ${MATMUL_FLAG_BIAS}u) != 0u) { x += vec4f(bias[col], bias[col + 1u], bias[col + 2u], bias[col + 3u]); }
  if ((dims.flags & ${MATMUL_FLAG_ACCUMULATE}u) != 0u) { x += c[i]; }
  c[i] = x;
}
`;
