// attention: multi-head scaled dot-product attention with a key-padding mask (BERT's self-attention
// core, after the QKV projection and before the output projection).
//
// Shapes: q, k, v, out (B, T, C) with C = NH·HS, head h = columns h·HS .. h·HS+HS−1 (the layout a
// linear layer produces, no transposes needed); mask i32 (B, T), 1 = real token, 0 = padding key.
//
//   attention_forward(out, lse, q, k, v, mask, B, T, NH, HS)
//     s_ij = (q_i · k_j) / √HS  for the head,   p_ij = mask_j ? exp(s_ij − lse_i) : 0,
//     lse_i = log Σ_{j: mask_j = 1} exp(s_ij)  (saved, (B, NH, T)),   out_i = Σ_j p_ij v_j
//   attention_backward(dq, dk, dv, dout, out, lse, q, k, v, mask, B, T, NH, HS)   (all overwritten)
//     p recomputed from q, k, lse, mask;  D_i = dout_i · out_i
//     dv_j = Σ_i p_ij dout_i;  ds_ij = p_ij (dout_i · v_j − D_i) / √HS;  dq_i = Σ_j ds_ij k_j;  dk_j = Σ_i ds_ij q_i
//
// Optional attention-probability dropout (HF BERT's attention_probs_dropout_prob), a trailing
// `dropout = { p, seed, step }` on both launchers (pass the same to both): out_i = Σ_j p_ij m_ij v_j
// with m_ij = keep/(1 − p) from the dropout.ts hash of (pair·T + i)·T + j, recomputed in the
// backward (dv_j = Σ_i p_ij m_ij dout_i, ds_ij = p_ij (m_ij dout_i·v_j − D_i)/√HS). lse is unaffected.
//
// What is saved for backward: only lse (B, NH, T) floats; probabilities are recomputed.
// A row whose keys are all padding (an empty sequence) has no softmax: its probabilities and its
// output are 0, its lse is stored as 0, and it passes no gradient. No NaN anywhere.
//
// Design (lavapipe; see NOTES.md): the products (QKᵀ, PV, PᵀdO, dOVᵀ, dS·K, dSᵀQ) run through one
// batched kernel whose operands are addressed through (batch, head, row, column) strides from a
// uniform, so heads are read in place from the (B, T, C) layout and transposes cost nothing. Two
// variants: 'subgroup' (8-lane subgroups share A values by broadcast, 16 rows × 8 (or 4) columns
// per lane; chosen on software adapters where tune.ts finds 8-lane subgroups usable) and
// 'register' (4 × 8 tile per invocation, any adapter). Scores/probabilities live in a scratch
// buffer of P·T·T floats for a chunk of P (batch, head) pairs, the chunk sized to stay under
// 64 MiB and ~0.5 GFLOP per dispatch, so T = 512 never allocates B·NH·T·T at once. The scores
// product pushes padding keys to −3e38, so nothing after it reads the mask in the forward.
// Forward softmax: in the subgroup variant it is fused into the P·V product (each lane owns two
// rows of the tile: one sweep for their max, then exp(s − max) is the A value it broadcasts,
// summed on the way; output rows are scaled by 1/Σ and lse written); the register variant uses a
// separate pass, one invocation per row, two sweeps (max; exp and sum), then P·V scaled by 1/Σ.

import { bindingOffset, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { f32bits, grid2d, scratch } from './elementwise.js';
import { subgroupMatmulUsable } from './tune.js';
import { transpose_batched } from './transpose.js';
import { dropoutKeep, dropoutKey, dropoutThreshold } from './dropout.js';

/** Dropout of the attention probabilities (HF BERT's attention_probs_dropout_prob): p in [0, 1), mask keyed by (seed, step). */
export interface AttentionDropout { p: number; seed: number; step: number }

/** Register variant: output rows per invocation. */
const TM = 4;
/** Register variant: output columns per invocation. */
const TN = 8;
/** Invocations per workgroup of the register variant and of the per-row kernels (softmax, rowdot). */
const WG = 64;
/** Scratch cap for one chunk of scores (bytes). */
const SCORES_BYTES_CAP = 64 * 1024 * 1024;
/** FLOP cap for one product dispatch, keeping each well under a second on lavapipe. */
const FLOP_CAP = 5e8;

/**
 * What a product writes for output element (i, j) of a pair, given acc = Σ_k a_ik·b_kj (the WGSL
 * override MODE). aux is a per-row array indexed by (pair, i); mask_j is key j's mask bit.
 */
const Mode = {
  /** out = scale·acc: dV = PᵀdO, dQ = dS·K, dK = dSᵀ·Q. */
  scaled: 0,
  /** out = mask_j ? exp(scale·acc − aux_i) : 0 with aux = lse: the backward's probabilities P. */
  probabilities: 1,
  /** out = out·(acc − aux_i)·scale with aux = D: dS = P ⊙ (dO·Vᵀ − D)/√HS, in place over P. */
  dScores: 2,
  /** out = acc·aux_i with aux = 1/Σ: the register variant's forward P·V on unnormalised probabilities. */
  normalizedPV: 3,
  /** out = mask_j ? scale·acc : −3e38: the forward's scores, padding keys pushed below any real score so the softmax needs no mask. */
  maskedScores: 4,
  /**
   * The subgroup variant's forward P·V with the softmax fused in: A holds the masked scores, which
   * become exp(s − max) on the way in; out = acc·(1/Σ)_i, and lse_i is written into aux.
   */
  fusedSoftmaxPV: 5,
} as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/** Where a product applies the attention-probability dropout mask (the WGSL override DROP). */
const DropAt = {
  none: 0,
  /** On the A values, which are probabilities (forward P·V, backward Pᵀ·dO). */
  a: 1,
  /** On the accumulated sum, which is dP = dO·Vᵀ (backward dS). */
  acc: 2,
} as const;
type DropAt = (typeof DropAt)[keyof typeof DropAt];

// Attention-probability dropout (as in HF BERT's attention_probs_dropout_prob): the keep mask of
// probability (pair, i, j) is the dropout.ts hash of the flat index (pair·T + i)·T + j keyed by
// (seed, step), so forward and backward (and the reference) agree without storing it.
const DROPOUT_FNS = /* wgsl */ `
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
  return x;
}
fn keep(idx: u32) -> bool { return lowbias32(lowbias32(idx ^ P.dkey) + P.dkey) >= P.dthr; }
`;

// Header shared by both product variants: the overrides and the names of their values, the
// uniform, the bindings and the dropout hash. Operand addressing: for pair z of the chunk (global
// pair p = p0 + z, b = p / NH, h = p % NH) an operand starts at b·sb + h·sh + z·sz and its element
// (r, c) is at + r·rs + c·cs (strides a_*, b_*, o_* in the uniform), so one pipeline reads heads in
// place from (B, T, C) tensors, blocks of the scores chunk, and their transposes. Params word 7 is
// WX (column tiles per workgroup row) for the register variant; the subgroup variant ignores it.
// The element types of out and b, and whether aux is written (the fused softmax writes lse into
// it), vary by variant and layout.
function productHeader(outType: string, bType: string, auxAccess: 'read' | 'read_write'): string {
  return /* wgsl */ `
override MODE: u32 = 0u;
const MODE_SCALED = ${Mode.scaled}u;
const MODE_PROBABILITIES = ${Mode.probabilities}u;
const MODE_DSCORES = ${Mode.dScores}u;
const MODE_NORMALIZED_PV = ${Mode.normalizedPV}u;
const MODE_MASKED_SCORES = ${Mode.maskedScores}u;
const MODE_FUSED_SOFTMAX_PV = ${Mode.fusedSoftmaxPV}u;
override DROP: u32 = 0u;
const DROP_ON_A = ${DropAt.a}u;
const DROP_ON_ACC = ${DropAt.acc}u;
struct Params {
  M: u32, N: u32, K: u32, NH: u32, p0: u32, T: u32, scale: f32, WX: u32,
  a_sb: u32, a_sh: u32, a_sz: u32, a_rs: u32, a_cs: u32,
  b_sb: u32, b_sh: u32, b_sz: u32, b_rs: u32, b_cs: u32,
  o_sb: u32, o_sh: u32, o_sz: u32, o_rs: u32, o_cs: u32,
  dkey: u32, dthr: u32, dscale: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<${outType}>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<${bType}>;
@group(0) @binding(4) var<storage, ${auxAccess}> aux: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<i32>;
${DROPOUT_FNS}`;
}

// Start of both variants' main, after the workgroup's tile is known: pair z of the chunk
// (wid.z), its batch bi and head h, the start offsets of the three operands, and the last valid
// row and column (ragged edges are clamped to them: recomputed, never stored).
const PAIR_PROLOGUE = /* wgsl */ `  let z = wid.z;
  let pair = P.p0 + z;
  let bi = pair / P.NH;
  let h = pair % P.NH;
  let aoff = bi * P.a_sb + h * P.a_sh + z * P.a_sz;
  let boff = bi * P.b_sb + h * P.b_sh + z * P.b_sz;
  let ooff = bi * P.o_sb + h * P.o_sh + z * P.o_sz;
  let M1 = P.M - 1u; let N1 = P.N - 1u;`;

// Register-tiled variant (any adapter): each invocation owns a 4-row × 8-column tile of the
// output in registers; consecutive invocations along x take consecutive column tiles. The
// epilogue is a loop (unrolling it made lavapipe's compile take tens of seconds).
export const ATTENTION_PRODUCT_WGSL = /* wgsl */ `${productHeader('f32', 'f32', 'read')}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  // The workgroup is WX column tiles × (64 / WX) row tiles (WX from the uniform, so one pipeline
  // serves every shape: fewer lavapipe compiles).
  let WX = P.WX;
  let tx = wid.x * WX + li % WX;
  let ty = wid.y * (${WG}u / WX) + li / WX;
  let col0 = tx * ${TN}u;
  let row0 = ty * ${TM}u;
  if (col0 >= P.N || row0 >= P.M) { return; }
${PAIR_PROLOGUE}
  // Indices into a of the tile's 4 rows, and into b of its 8 columns, at the current k.
  var aIdx = vec4u(aoff + row0 * P.a_rs, aoff + min(row0 + 1u, M1) * P.a_rs,
                   aoff + min(row0 + 2u, M1) * P.a_rs, aoff + min(row0 + 3u, M1) * P.a_rs);
  var bIdx0 = vec4u(boff + col0 * P.b_cs, boff + min(col0 + 1u, N1) * P.b_cs,
                    boff + min(col0 + 2u, N1) * P.b_cs, boff + min(col0 + 3u, N1) * P.b_cs);
  var bIdx4 = vec4u(boff + min(col0 + 4u, N1) * P.b_cs, boff + min(col0 + 5u, N1) * P.b_cs,
                    boff + min(col0 + 6u, N1) * P.b_cs, boff + min(col0 + 7u, N1) * P.b_cs);
  // acc0[i] holds columns 0–3 of tile row i, acc4[i] columns 4–7.
  var acc0 = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  var acc4 = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  let aColStride = P.a_cs; let bRowStride = P.b_rs;
  for (var k = 0u; k < P.K; k++) {
    let b0 = vec4f(b[bIdx0.x], b[bIdx0.y], b[bIdx0.z], b[bIdx0.w]);
    let b4 = vec4f(b[bIdx4.x], b[bIdx4.y], b[bIdx4.z], b[bIdx4.w]);
    var a0 = a[aIdx.x]; var a1 = a[aIdx.y]; var a2 = a[aIdx.z]; var a3 = a[aIdx.w];
    if (DROP == DROP_ON_A) {
      // aIdx − aoff is the element's index inside the pair's T×T block.
      let d = aIdx - vec4u(aoff) + vec4u(pair * P.T * P.T);
      a0 = select(0.0, a0 * P.dscale, keep(d.x)); a1 = select(0.0, a1 * P.dscale, keep(d.y));
      a2 = select(0.0, a2 * P.dscale, keep(d.z)); a3 = select(0.0, a3 * P.dscale, keep(d.w));
    }
    acc0[0] += a0 * b0; acc4[0] += a0 * b4;
    acc0[1] += a1 * b0; acc4[1] += a1 * b4;
    acc0[2] += a2 * b0; acc4[2] += a2 * b4;
    acc0[3] += a3 * b0; acc4[3] += a3 * b4;
    aIdx += vec4u(aColStride); bIdx0 += vec4u(bRowStride); bIdx4 += vec4u(bRowStride);
  }
  for (var i = 0u; i < ${TM}u; i++) {
    let row = row0 + i;
    if (row >= P.M) { break; }
    let auxi = pair * P.T + row;
    for (var j = 0u; j < ${TN}u; j++) {
      let col = col0 + j;
      if (col >= P.N) { break; }
      var s = select(acc0[i][j & 3u], acc4[i][j & 3u], j >= 4u);
      if (DROP == DROP_ON_ACC) { s = select(0.0, s * P.dscale, keep((pair * P.T + row) * P.T + col)); }
      let o = ooff + row * P.o_rs + col * P.o_cs;
      if (MODE == MODE_SCALED) {
        out[o] = P.scale * s;
      } else if (MODE == MODE_PROBABILITIES) {
        out[o] = select(0.0, exp(P.scale * s - aux[auxi]), mask[bi * P.T + col] != 0);
      } else if (MODE == MODE_DSCORES) {
        out[o] = out[o] * (s - aux[auxi]) * P.scale;
      } else if (MODE == MODE_NORMALIZED_PV) {
        out[o] = s * aux[auxi];
      } else { // MODE_MASKED_SCORES
        out[o] = select(-3.0e38, P.scale * s, mask[bi * P.T + col] != 0);
      }
    }
  }
}
`;

// Subgroup variant (lavapipe with 8-lane subgroups; the idea of matmul_subgroup.ts): a workgroup
// is one subgroup of 8 lanes computing a tile of 16 rows × 64 columns (each lane owning 8
// consecutive columns) or, for narrow outputs such as HS = 32, 32 rows × 32 columns (4 columns
// per lane). Per k a lane loads 2 (or 4) values of A — rows lane, 8 + lane, ... — and 8 (or 4)
// values of B; every lane gets all the tile's row values with subgroupBroadcast(x, r) for constant
// r (a register shuffle on lavapipe). Both shapes do 128 multiply-adds per k per lane: 10 loads
// per 128 at 8 columns per lane, 8 per 128 at 4 (a 16 × 4 tile did 64 per 6 loads and left the
// FMA units half fed: forward P·V + softmax at B32 T128 NH4 HS32 went from 34.3 to 10.0 ms,
// per-dispatch timing, load ~5).
// The last lane's columns are shifted left to stay in range (columns left of its own are computed,
// never stored), so the K loop has no branches and every lane takes part in the broadcasts.
// The epilogue of one output element (store, scalar) or of 4 consecutive ones (store4: out bound
// as vec4, o_cs = 1): dropout of dP (DROP_ON_ACC), then the mode's formula. rowAux is the row's
// aux value (lse, D or 1/Σ), keyOk the column's mask bit.
const STORE_WGSL = /* wgsl */ `
fn store(row: u32, col: u32, acc: f32, ooff: u32, rowAux: f32, keyOk: bool, pair: u32) {
  if (row >= P.M || col >= P.N) { return; }
  let o = ooff + row * P.o_rs + col * P.o_cs;
  var s = acc;
  if (DROP == DROP_ON_ACC) { s = select(0.0, s * P.dscale, keep((pair * P.T + row) * P.T + col)); }
  if (MODE == MODE_SCALED) {
    out[o] = P.scale * s;
  } else if (MODE == MODE_PROBABILITIES) {
    out[o] = select(0.0, exp(P.scale * s - rowAux), keyOk);
  } else if (MODE == MODE_DSCORES) {
    out[o] = out[o] * (s - rowAux) * P.scale;
  } else if (MODE == MODE_NORMALIZED_PV || MODE == MODE_FUSED_SOFTMAX_PV) {
    out[o] = s * rowAux;
  } else { // MODE_MASKED_SCORES
    out[o] = select(-3.0e38, P.scale * s, keyOk);
  }
}`;
const STORE4_WGSL = /* wgsl */ `
fn store4(row: u32, col: u32, acc: vec4f, ooff: u32, rowAux: f32, keyOk: vec4<bool>, pair: u32) {
  if (row >= P.M || col >= P.N) { return; }
  let o = (ooff + row * P.o_rs + col) / 4u;
  var s = acc;
  if (DROP == DROP_ON_ACC) {
    let i = (pair * P.T + row) * P.T + col;
    s = select(vec4f(0.0), s * P.dscale, vec4<bool>(keep(i), keep(i + 1u), keep(i + 2u), keep(i + 3u)));
  }
  if (MODE == MODE_SCALED) {
    out[o] = P.scale * s;
  } else if (MODE == MODE_PROBABILITIES) {
    out[o] = select(vec4f(0.0), exp(P.scale * s - rowAux), keyOk);
  } else if (MODE == MODE_DSCORES) {
    out[o] = out[o] * (s - rowAux) * P.scale;
  } else if (MODE == MODE_NORMALIZED_PV || MODE == MODE_FUSED_SOFTMAX_PV) {
    out[o] = s * rowAux;
  } else { // MODE_MASKED_SCORES
    out[o] = select(vec4f(-3.0e38), P.scale * s, keyOk);
  }
}`;

/** Lanes of the subgroup variant (= the subgroup size it is gated on). */
const SG = 8;
/** Tile rows per workgroup of the subgroup variant: 16 (2 per lane) at 8 columns per lane, 32 (4 per lane) at 4. */
const sgRows = (colsPerLane: 4 | 8): number => (colsPerLane === 8 ? 16 : 32);

/**
 * WGSL of the subgroup variant for `colsPerLane` output columns per lane; `vec4B`: b bound as
 * vec4 (its rows contiguous and 16-byte aligned), `vec4Out`: out bound as vec4 (likewise).
 * Generated names: lane row i (tile row lane + 8·i) has aIdx{i} (its index into a), aRow{i} (its
 * A value at the current k) and, in the fused softmax, rowMax{i}, rowSum{i}, invSum{i};
 * tile row r has accumulators acc{r}_c0 (columns 0–3) and acc{r}_c4 (columns 4–7) and rowAux{r};
 * tile column j has keyOk{j}.
 */
function attentionProductSubgroupWgsl(colsPerLane: 4 | 8, vec4B = false, vec4Out = false): string {
  const rows = sgRows(colsPerLane);
  const rowsPerLane = rows / SG;
  const laneRows = Array.from({ length: rowsPerLane }, (_, i) => i);
  const wide = colsPerLane === 8;
  const accumulators: string[] = [];
  const fmas: string[] = [];
  const stores: string[] = [];
  for (let r = 0; r < rows; r++) {
    accumulators.push(`var acc${r}_c0 = vec4f(0.0);` + (wide ? ` var acc${r}_c4 = vec4f(0.0);` : ''));
    // Tile row r's A value lives in lane r % 8 (its lane row r / 8).
    fmas.push(`{ let s = subgroupBroadcast(aRow${Math.floor(r / SG)}, ${r % SG}u); acc${r}_c0 += s * b0;${wide ? ` acc${r}_c4 += s * b4;` : ''} }`);
    for (let j = 0; j < colsPerLane; j++) {
      const v = j < 4 ? `acc${r}_c0.${'xyzw'[j]}` : `acc${r}_c4.${'xyzw'[j - 4]}`;
      if (!vec4Out) stores.push(`if (col0 + ${j}u >= ownCol0) { store(row0 + ${r}u, col0 + ${j}u, ${v}, ooff, rowAux${r}, keyOk${j}, pair); }`);
    }
    // vec4Out: one vec4 store per 4 columns (N % 4 == 0, so a chunk is wholly in range and wholly
    // the lane's own or not).
    for (let c = 0; vec4Out && c < colsPerLane; c += 4) {
      const keyOk = `vec4<bool>(keyOk${c}, keyOk${c + 1}, keyOk${c + 2}, keyOk${c + 3})`;
      stores.push(`if (col0 + ${c}u >= ownCol0) { store4(row0 + ${r}u, col0 + ${c}u, acc${r}_c${c}, ooff, rowAux${r}, ${keyOk}, pair); }`);
    }
  }
  // Per-row aux values and per-column mask bits, loaded once per invocation, not per element.
  // The fused softmax takes 1/Σ of tile row r from the lane that owns the row (lane r % 8, invSum{r / 8}).
  const rowAux = Array.from({ length: rows }, (_, r) =>
    `var rowAux${r} = 0.0; if (MODE == MODE_FUSED_SOFTMAX_PV) { rowAux${r} = subgroupBroadcast(invSum${Math.floor(r / SG)}, ${r % SG}u); } else { rowAux${r} = aux[pair * P.T + min(row0 + ${r}u, M1)]; }`).join('\n  ');
  const keyOk = Array.from({ length: colsPerLane }, (_, j) =>
    `var keyOk${j} = true; if (MODE == MODE_PROBABILITIES || MODE == MODE_MASKED_SCORES) { keyOk${j} = mask[bi * P.T + min(col0 + ${j}u, N1)] != 0; }`).join('\n  ');
  const each = (f: (i: number) => string, sep = ' '): string => laneRows.map(f).join(sep);
  return /* wgsl */ `enable subgroups;
${productHeader(vec4Out ? 'vec4f' : 'f32', vec4B ? 'vec4f' : 'f32', 'read_write')}

${vec4Out ? STORE4_WGSL : STORE_WGSL}

@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
${PAIR_PROLOGUE}
  let row0 = wid.y * ${rows}u;
  // ownCol0: the first of the lane's own columns (the ones it stores); col0: the first it computes.
  let ownCol0 = (wid.x * ${SG}u + lane) * ${colsPerLane}u;
  let col0 = min(ownCol0, max(P.N, ${colsPerLane}u) - ${colsPerLane}u);
  ${each((i) => `var aIdx${i} = aoff + min(row0 + ${i * 8}u + lane, M1) * P.a_rs;`, '\n  ')}
  ${vec4B ? `var bIdxV = (boff + col0) / 4u; let bRowStrideV = P.b_rs / 4u;` : `var bIdx0 = vec4u(boff + min(col0, N1) * P.b_cs, boff + min(col0 + 1u, N1) * P.b_cs,
                    boff + min(col0 + 2u, N1) * P.b_cs, boff + min(col0 + 3u, N1) * P.b_cs);
  ${wide ? `var bIdx4 = vec4u(boff + min(col0 + 4u, N1) * P.b_cs, boff + min(col0 + 5u, N1) * P.b_cs,
                    boff + min(col0 + 6u, N1) * P.b_cs, boff + min(col0 + 7u, N1) * P.b_cs);` : ''}`}
  ${accumulators.join('\n  ')}
  let aColStride = P.a_cs; let bRowStride = vec4u(P.b_rs);
  // Fused softmax: A holds the scores (padding keys −3e38); each lane first finds the max of its
  // rows, then uses exp(s − max) as the A values and sums them.
  ${each((i) => `var rowMax${i} = -3.0e38; var rowSum${i} = 0.0;`)}
  // Adding an index into a gives the flat dropout index of that probability.
  let dropBase = pair * P.T * P.T - aoff;
  if (MODE == MODE_FUSED_SOFTMAX_PV) {
    ${each((i) => `var maxIdx${i} = aIdx${i};`)}
    for (var k = 0u; k < P.K; k++) { ${each((i) => `rowMax${i} = max(rowMax${i}, a[maxIdx${i}]); maxIdx${i} += aColStride;`)} }
  }
  ${each((i) => `let hasKeys${i} = rowMax${i} > -1.0e38;`)}
  for (var k = 0u; k < P.K; k++) {
    ${each((i) => `var aRow${i} = a[aIdx${i}]; aIdx${i} += aColStride;`)}
    if (MODE == MODE_FUSED_SOFTMAX_PV) {
      ${each((i) => `aRow${i} = select(0.0, exp(aRow${i} - rowMax${i}), hasKeys${i}); rowSum${i} += aRow${i};`)}
    }
    if (DROP == DROP_ON_A) {
      // aIdx − aColStride is the element just loaded; its index inside the pair's T×T block is that − aoff.
      ${each((i) => `aRow${i} = select(0.0, aRow${i} * P.dscale, keep(dropBase + aIdx${i} - aColStride));`)}
    }
    ${vec4B ? `let b0 = b[bIdxV];${wide ? ' let b4 = b[bIdxV + 1u];' : ''} bIdxV += bRowStrideV;` : `let b0 = vec4f(b[bIdx0.x], b[bIdx0.y], b[bIdx0.z], b[bIdx0.w]);
    bIdx0 += bRowStride;
    ${wide ? 'let b4 = vec4f(b[bIdx4.x], b[bIdx4.y], b[bIdx4.z], b[bIdx4.w]); bIdx4 += bRowStride;' : ''}`}
    ${fmas.join('\n    ')}
  }
  ${each((i) => `var invSum${i} = 0.0;`)}
  if (MODE == MODE_FUSED_SOFTMAX_PV) {
    // An empty row (every key padded) gets probabilities 0, output 0 and lse 0.
    ${each((i) => `invSum${i} = select(0.0, 1.0 / rowSum${i}, hasKeys${i});`)}
    if (wid.x == 0u) {
      ${each((i) => `if (row0 + ${i * 8}u + lane < P.M) { aux[pair * P.T + row0 + ${i * 8}u + lane] = select(0.0, rowMax${i} + log(rowSum${i}), hasKeys${i}); }`, '\n      ')}
    }
  }
  ${rowAux}
  ${keyOk}
  ${stores.join('\n  ')}
}
`;
}

export type AttentionVariant = 'subgroup' | 'register';
let forcedVariant: AttentionVariant | null = null;
/** Force the product kernel variant (tests exercise both); null = choose per device. */
export function setAttentionVariant(v: AttentionVariant | null): void {
  forcedVariant = v;
}
/** 'subgroup' where the 8-lane subgroup pattern is usable (see tune.ts), else 'register'. */
export function attentionVariant(gpu: Gpu): AttentionVariant {
  const v = forcedVariant ?? (process.env.TUNEBENCH_ATTENTION_VARIANT as AttentionVariant | undefined) ?? null;
  if (v === 'subgroup' && !subgroupMatmulUsable(gpu)) throw new Error('attention: the subgroup variant needs usable 8-lane subgroups');
  if (v === 'subgroup' || v === 'register') return v;
  if (v !== null) throw new Error(`TUNEBENCH_ATTENTION_VARIANT=${v}: expected subgroup or register`);
  return gpu.adapterInfo.isSoftware && subgroupMatmulUsable(gpu) ? 'subgroup' : 'register';
}

let vecOut = true;
/** Switch for A/B measurements and tests: vec4 stores of the subgroup products' outputs (default on). */
export function setAttentionVecOut(on: boolean): void {
  vecOut = on;
}

let forcedChunk: number | null = null;
/** Force the number of (batch, head) pairs per scratch chunk (tests exercise the chunk loop); null = automatic. */
export function setAttentionChunkPairs(pairs: number | null): void {
  if (pairs !== null && !(Number.isInteger(pairs) && pairs >= 1)) throw new Error(`setAttentionChunkPairs: ${pairs} must be a positive integer or null`);
  forcedChunk = pairs;
}

// Entry of the per-row kernels (softmax, rowdot): one invocation per row r < P.rows.
const ROW_MAIN = /* wgsl */ `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let r = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (r >= P.rows) { return; }`;

// Softmax over key rows of a scores chunk, in place, two sweeps: the row max, then
// e_j = exp(s_j − max) written back (unnormalised) while summing. lse = max + log Σ, and
// inv = 1/Σ goes to the P·V product, which scales its output rows (one multiply per output
// instead of a third sweep over T). Row r of the chunk is pair p0 + r / T, query r % T.
const SOFTMAX_WGSL = /* wgsl */ `
struct Params { rows: u32, T: u32, NH: u32, p0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> inv: array<f32>;

${ROW_MAIN}
  let T = P.T;
  let pair = P.p0 + r / T;
  let s0 = r * T;
  // Padding keys hold −3e38 (written by the scores product), so they lose the max and their
  // exponential underflows to exactly 0; a row of only padding keeps max = −3e38.
  var mx = -3.0e38;
  for (var j = 0u; j < T; j++) { mx = max(mx, s[s0 + j]); }
  let any = mx > -1.0e38;
  var sum = 0.0;
  for (var j = 0u; j < T; j++) {
    let e = select(0.0, exp(s[s0 + j] - mx), any);
    s[s0 + j] = e;
    sum += e;
  }
  // Empty row (every key padded): probabilities 0, output 0, lse stored as 0.
  let i = pair * T + r % T;
  lse[i] = select(0.0, mx + log(sum), any);
  inv[i] = select(0.0, 1.0 / sum, any);
}
`;

// D[p, i] = Σ_d dout[b, i, h·HS + d] · out[b, i, h·HS + d] for every (pair p, query i).
const ROWDOT_WGSL = /* wgsl */ `
struct Params { rows: u32, T: u32, NH: u32, HS: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> D: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> o: array<f32>;

${ROW_MAIN}
  let i = r % P.T;
  let pair = r / P.T;
  let bi = pair / P.NH;
  let h = pair % P.NH;
  let C = P.NH * P.HS;
  let base = (bi * P.T + i) * C + h * P.HS;
  var acc = 0.0;
  for (var d = 0u; d < P.HS; d++) { acc += dout[base + d] * o[base + d]; }
  D[r] = acc;
}
`;

interface Attn { B: number; T: number; NH: number; HS: number; C: number }

/** A product operand: its binding and strides (pair z's block at b·sb + h·sh + z·sz, element (r, c) at + r·rs + c·cs). */
interface Operand { binding: Binding; sb: number; sh: number; sz: number; rs: number; cs: number }

// Operand layouts. head: one head of a (B, T, C) tensor, rows = tokens; headT: its transpose.
const head = (d: Attn, x: Binding): Operand => ({ binding: x, sb: d.T * d.C, sh: d.HS, sz: 0, rs: d.C, cs: 1 });
const headT = (d: Attn, x: Binding): Operand => ({ binding: x, sb: d.T * d.C, sh: d.HS, sz: 0, rs: 1, cs: d.C });
// block: the pair's (T, T) block of the scores chunk; blockT: its transpose.
const block = (d: Attn, s: Binding): Operand => ({ binding: s, sb: 0, sh: 0, sz: d.T * d.T, rs: d.T, cs: 1 });
const blockT = (d: Attn, s: Binding): Operand => ({ binding: s, sb: 0, sh: 0, sz: d.T * d.T, rs: 1, cs: d.T });
// packedHeadT: a head of K or V transposed into a packed (HS, T) block per pair of the chunk (transposedHead).
const packedHeadT = (d: Attn, x: Binding): Operand => ({ binding: x, sb: 0, sh: 0, sz: d.HS * d.T, rs: d.T, cs: 1 });

/** Dropout of the attention probabilities, in the words of the uniform: key, threshold, f32 bits of 1/(1 − p). */
interface DropWords { key: number; threshold: number; scaleBits: number }

function dropWords(name: string, dropout: AttentionDropout | null | undefined): DropWords | null {
  if (!dropout) return null;
  const { p, seed, step } = dropout;
  if (!(p >= 0 && p < 1)) throw new Error(`${name}: dropout.p=${p} must be in [0, 1)`);
  for (const [k, v] of [['seed', seed], ['step', step]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${name}: dropout.${k}=${v} must be an integer in [0, 2^32)`);
  }
  if (p === 0) return null;
  return { key: dropoutKey(seed, step), threshold: dropoutThreshold(p), scaleBits: f32bits(1 / (1 - p)) };
}

/** The (batch, head) pairs p0 .. p0 + pairs − 1 whose scores share the scratch buffer. */
interface PairChunk { p0: number; pairs: number }

/** One product over a chunk of pairs: out (M × N) = the mode's epilogue of a (M × K) · b (K × N), per pair. */
interface Product {
  /** Names the pipeline (`attention:<label>…`). */
  label: string;
  mode: Mode;
  M: number;
  N: number;
  K: number;
  scale: number;
  out: Operand;
  a: Operand;
  b: Operand;
  /**
   * Per-row values (B·NH·T) the mode reads (lse, D or 1/Σ) or, for fusedSoftmaxPV, writes (lse).
   * Modes that use none still bind a buffer here; it must not alias out.
   */
  aux: Binding;
  mask: Binding;
  /** Dropout words (null: no dropout) and where the product applies the mask. */
  dropout?: DropWords | null;
  dropAt?: DropAt;
}

function product(gpu: Gpu, enc: StepEncoder, d: Attn, chunk: PairChunk, p: Product): void {
  const { M, N, K, out, a, b } = p;
  const DROP = p.dropout ? (p.dropAt ?? DropAt.none) : DropAt.none;
  const drop = p.dropout ?? null;
  const colTiles = Math.ceil(N / TN);
  const WX = Math.min(WG, Math.max(4, 2 ** Math.ceil(Math.log2(colTiles))));
  const params = gpu.uniform([
    M, N, K, d.NH, chunk.p0, d.T, f32bits(p.scale), WX,
    a.sb, a.sh, a.sz, a.rs, a.cs, b.sb, b.sh, b.sz, b.rs, b.cs, out.sb, out.sh, out.sz, out.rs, out.cs,
    drop?.key ?? 0, drop?.threshold ?? 0, drop?.scaleBits ?? 0,
  ]);
  const bindings = [params, out.binding, a.binding, b.binding, p.aux, p.mask];
  if (attentionVariant(gpu) === 'subgroup') {
    const colsPerLane = N <= 32 ? 4 : 8;
    // B as vec4 where its columns are contiguous and 16-byte aligned (V, dO, K, Q read row-wise).
    const vec4B = b.cs === 1 && N % 4 === 0 && N >= colsPerLane && [b.rs, b.sb, b.sh, b.sz].every((x) => x % 4 === 0) && bindingOffset(b.binding) % 16 === 0;
    // The output as vec4 where its rows are contiguous and 16-byte aligned (S blocks and the heads
    // of (B, T, C) tensors, when T, HS and C allow).
    const vec4Out = vecOut && out.cs === 1 && N % 4 === 0 && N >= colsPerLane && [out.rs, out.sb, out.sh, out.sz].every((x) => x % 4 === 0) && bindingOffset(out.binding) % 16 === 0;
    const pipe = gpu.pipeline(`attention:${p.label}:sg${colsPerLane}${vec4B ? ':v4' : ''}${vec4Out ? ':o4' : ''}`,
      attentionProductSubgroupWgsl(colsPerLane, vec4B, vec4Out), { MODE: p.mode, DROP });
    enc.dispatch(pipe, bindings, Math.ceil(N / (SG * colsPerLane)), Math.ceil(M / sgRows(colsPerLane)), chunk.pairs, 2 * M * N * K * chunk.pairs);
    return;
  }
  const pipe = gpu.pipeline(`attention:${p.label}`, ATTENTION_PRODUCT_WGSL, { MODE: p.mode, DROP });
  enc.dispatch(pipe, bindings, Math.ceil(colTiles / WX), Math.ceil(Math.ceil(M / TM) / (WG / WX)), chunk.pairs, 2 * M * N * K * chunk.pairs);
}

/** Pairs (batch, head) per chunk: scores under 64 MiB (and the binding limit), products under ~0.5 GFLOP. */
function chunkPairs(gpu: Gpu, d: Attn): number {
  if (forcedChunk !== null) return Math.min(forcedChunk, d.B * d.NH);
  const perPair = d.T * d.T;
  const bytesCap = Math.min(SCORES_BYTES_CAP, gpu.limits.maxStorageBufferBindingSize);
  const byBytes = Math.floor(bytesCap / (perPair * 4));
  const byFlops = Math.floor(FLOP_CAP / (2 * perPair * d.HS));
  return Math.max(1, Math.min(d.B * d.NH, byBytes, byFlops, gpu.limits.maxComputeWorkgroupsPerDimension));
}

function checkShapes(name: string, B: number, T: number, NH: number, HS: number): Attn {
  checkDims(name, { B, T, NH, HS });
  return { B, T, NH, HS, C: NH * HS };
}

/**
 * The operand xᵀ (the chunk's heads of x (B, T, C), transposed) for the scores products Q·Kᵀ and
 * dO·Vᵀ. On the subgroup variant with T % 4 == 0 (where the vec4 path applies) the heads are first
 * copied into scratch as packed (HS, T) blocks, so the product reads contiguous vec4 rows instead
 * of gathering 8 keys C·4 bytes apart per lane; otherwise x is read in place, with transposed strides.
 */
function transposedHead(gpu: Gpu, enc: StepEncoder, name: string, d: Attn, x: Binding, chunk: PairChunk, chunkSize: number): Operand {
  if (d.T % 4 !== 0 || attentionVariant(gpu) !== 'subgroup') return headT(d, x);
  const copy = { buffer: scratch(gpu, `attention_${name}T`, chunkSize * d.T * d.HS), offset: 0, size: chunkSize * d.T * d.HS * 4 };
  transpose_batched(gpu, enc, copy, x, { N: d.T, K: d.HS, batch: chunk.pairs, z0: chunk.p0, NH: d.NH, sb: d.T * d.C, sh: d.HS, rs: d.C }, `attention ${name}ᵀ`);
  return packedHeadT(d, copy);
}

/** Record attention forward: out (B, T, C) and lse (B, NH, T) saved for backward. */
export function attention_forward(gpu: Gpu, enc: StepEncoder, out: Binding, lse: Binding, q: Binding, k: Binding, v: Binding,
  mask: Binding, B: number, T: number, NH: number, HS: number, dropout: AttentionDropout | null = null): void {
  const name = 'attention_forward';
  const d = checkShapes(name, B, T, NH, HS);
  const drop = dropWords(name, dropout);
  const n = B * T * d.C;
  checkBuffer(name, 'out', out, n);
  checkBuffer(name, 'lse', lse, B * NH * T);
  checkBuffer(name, 'q', q, n);
  checkBuffer(name, 'k', k, n);
  checkBuffer(name, 'v', v, n);
  checkBuffer(name, 'mask', mask, B * T);
  const chunkSize = chunkPairs(gpu, d);
  const S = scratch(gpu, 'attention_scores', chunkSize * T * T);
  const scale = 1 / Math.sqrt(HS);
  const subgroup = attentionVariant(gpu) === 'subgroup';
  const softmax = subgroup ? null : gpu.pipeline('attention:softmax', SOFTMAX_WGSL);
  const inv = subgroup ? null : scratch(gpu, 'attention_inv', B * NH * T);
  for (let p0 = 0; p0 < B * NH; p0 += chunkSize) {
    const chunk = { p0, pairs: Math.min(chunkSize, B * NH - p0) };
    // S = QKᵀ/√HS (padding keys −3e38)
    product(gpu, enc, d, chunk, { label: 'scores', mode: Mode.maskedScores, M: T, N: T, K: HS, scale,
      out: block(d, S), a: head(d, q), b: transposedHead(gpu, enc, 'k', d, k, chunk, chunkSize), aux: lse, mask });
    if (subgroup) {
      // out = softmax(S) V, the softmax fused into the product (it also writes lse)
      product(gpu, enc, d, chunk, { label: 'pv_softmax', mode: Mode.fusedSoftmaxPV, M: T, N: HS, K: T, scale: 1,
        out: head(d, out), a: block(d, S), b: head(d, v), aux: lse, mask, dropout: drop, dropAt: DropAt.a });
      continue;
    }
    const rows = chunk.pairs * T;
    const [gx, gy] = grid2d(Math.ceil(rows / WG));
    enc.dispatch(softmax!, [gpu.uniform([rows, T, NH, p0]), S, lse, inv!], gx, gy);
    // out = (E V) / Σ  (E the unnormalised probabilities)
    product(gpu, enc, d, chunk, { label: 'pv', mode: Mode.normalizedPV, M: T, N: HS, K: T, scale: 1,
      out: head(d, out), a: block(d, S), b: head(d, v), aux: inv!, mask, dropout: drop, dropAt: DropAt.a });
  }
}

/** Record attention backward: dq, dk, dv (B, T, C), all overwritten. */
export function attention_backward(gpu: Gpu, enc: StepEncoder, dq: Binding, dk: Binding, dv: Binding, dout: Binding,
  out: Binding, lse: Binding, q: Binding, k: Binding, v: Binding, mask: Binding,
  B: number, T: number, NH: number, HS: number, dropout: AttentionDropout | null = null): void {
  const name = 'attention_backward';
  const d = checkShapes(name, B, T, NH, HS);
  const drop = dropWords(name, dropout);
  const n = B * T * d.C;
  for (const [nm, buf] of [['dq', dq], ['dk', dk], ['dv', dv], ['dout', dout], ['out', out], ['q', q], ['k', k], ['v', v]] as const) {
    checkBuffer(name, nm, buf, n);
  }
  checkBuffer(name, 'lse', lse, B * NH * T);
  checkBuffer(name, 'mask', mask, B * T);
  const chunkSize = chunkPairs(gpu, d);
  const S = scratch(gpu, 'attention_scores', chunkSize * T * T);
  const D = scratch(gpu, 'attention_rowdot', B * NH * T);
  const scale = 1 / Math.sqrt(HS);
  const rows = B * NH * T;
  const [gx, gy] = grid2d(Math.ceil(rows / WG));
  enc.dispatch(gpu.pipeline('attention:rowdot', ROWDOT_WGSL), [gpu.uniform([rows, T, NH, HS]), D, dout, out], gx, gy);
  // The products that read no per-row values bind lse as aux.
  for (let p0 = 0; p0 < B * NH; p0 += chunkSize) {
    const chunk = { p0, pairs: Math.min(chunkSize, B * NH - p0) };
    // P = mask ? exp(QKᵀ/√HS − lse) : 0
    product(gpu, enc, d, chunk, { label: 'probs', mode: Mode.probabilities, M: T, N: T, K: HS, scale,
      out: block(d, S), a: head(d, q), b: transposedHead(gpu, enc, 'k', d, k, chunk, chunkSize), aux: lse, mask });
    // dV = Pᵀ dO
    product(gpu, enc, d, chunk, { label: 'dv', mode: Mode.scaled, M: T, N: HS, K: T, scale: 1,
      out: head(d, dv), a: blockT(d, S), b: head(d, dout), aux: lse, mask, dropout: drop, dropAt: DropAt.a });
    // dS = P ⊙ (dO Vᵀ − D) / √HS, in place over P
    product(gpu, enc, d, chunk, { label: 'ds', mode: Mode.dScores, M: T, N: T, K: HS, scale,
      out: block(d, S), a: head(d, dout), b: transposedHead(gpu, enc, 'v', d, v, chunk, chunkSize), aux: D, mask, dropout: drop, dropAt: DropAt.acc });
    // dQ = dS K,  dK = dSᵀ Q
    product(gpu, enc, d, chunk, { label: 'dq', mode: Mode.scaled, M: T, N: HS, K: T, scale: 1,
      out: head(d, dq), a: block(d, S), b: head(d, k), aux: lse, mask });
    product(gpu, enc, d, chunk, { label: 'dk', mode: Mode.scaled, M: T, N: HS, K: T, scale: 1,
      out: head(d, dk), a: blockT(d, S), b: head(d, q), aux: lse, mask });
  }
}

// ---- float64 references ----

/** The reference's dropout factor for probability index (pair·T + i)·T + j: 1/(1 − p) if kept, else 0. */
function referenceDropout(name: string, dropout: AttentionDropout | null): (idx: number) => number {
  const w = dropWords(name, dropout);
  if (!w || !dropout) return () => 1;
  const s = 1 / (1 - dropout.p);
  return (idx) => (dropoutKeep(idx, w.key, w.threshold) ? s : 0);
}

function refChecks(name: string, B: number, T: number, NH: number, HS: number, arrays: [string, ArrayLike<number>, number][]): Attn {
  const d = checkShapes(name, B, T, NH, HS);
  for (const [nm, a, len] of arrays) checkArray(name, nm, a, len);
  return d;
}

/** float64 reference of attention_forward (same conventions, including empty rows). */
export function attention_forward_reference(out: Float64Array, lse: Float64Array, q: ArrayLike<number>, k: ArrayLike<number>,
  v: ArrayLike<number>, mask: ArrayLike<number>, B: number, T: number, NH: number, HS: number,
  dropout: AttentionDropout | null = null): void {
  const n = B * T * NH * HS;
  const keepScale = referenceDropout('attention_forward_reference', dropout);
  const d = refChecks('attention_forward_reference', B, T, NH, HS,
    [['out', out, n], ['lse', lse, B * NH * T], ['q', q, n], ['k', k, n], ['v', v, n], ['mask', mask, B * T]]);
  const C = d.C;
  const scale = 1 / Math.sqrt(HS);
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < T; i++) {
        const qi = (b * T + i) * C + h * HS;
        let mx = -Infinity;
        for (let j = 0; j < T; j++) {
          const kj = (b * T + j) * C + h * HS;
          let dot = 0;
          for (let e = 0; e < HS; e++) dot += q[qi + e] * k[kj + e];
          s[j] = dot * scale;
          if (mask[b * T + j] !== 0) mx = Math.max(mx, s[j]);
        }
        let sum = 0;
        for (let j = 0; j < T; j++) if (mask[b * T + j] !== 0) sum += Math.exp(s[j] - mx);
        const l = sum > 0 ? mx + Math.log(sum) : 0;
        lse[(b * NH + h) * T + i] = l;
        for (let e = 0; e < HS; e++) out[qi + e] = 0;
        for (let j = 0; j < T; j++) {
          if (mask[b * T + j] === 0) continue;
          const p = Math.exp(s[j] - l) * keepScale(((b * NH + h) * T + i) * T + j);
          const vj = (b * T + j) * C + h * HS;
          for (let e = 0; e < HS; e++) out[qi + e] += p * v[vj + e];
        }
      }
    }
  }
}

/** float64 reference of attention_backward (dq, dk, dv overwritten). */
export function attention_backward_reference(dq: Float64Array, dk: Float64Array, dv: Float64Array, dout: ArrayLike<number>,
  out: ArrayLike<number>, lse: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  mask: ArrayLike<number>, B: number, T: number, NH: number, HS: number, dropout: AttentionDropout | null = null): void {
  const n = B * T * NH * HS;
  const keepScale = referenceDropout('attention_backward_reference', dropout);
  const d = refChecks('attention_backward_reference', B, T, NH, HS, [
    ['dq', dq, n], ['dk', dk, n], ['dv', dv, n], ['dout', dout, n], ['out', out, n], ['lse', lse, B * NH * T],
    ['q', q, n], ['k', k, n], ['v', v, n], ['mask', mask, B * T]]);
  const C = d.C;
  const scale = 1 / Math.sqrt(HS);
  dq.fill(0, 0, n); dk.fill(0, 0, n); dv.fill(0, 0, n);
  const p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let i = 0; i < T; i++) {
        const qi = (b * T + i) * C + h * HS;
        const l = lse[(b * NH + h) * T + i];
        let D = 0;
        for (let e = 0; e < HS; e++) D += dout[qi + e] * out[qi + e];
        for (let j = 0; j < T; j++) {
          if (mask[b * T + j] === 0) { p[j] = 0; continue; }
          const kj = (b * T + j) * C + h * HS;
          let dot = 0;
          for (let e = 0; e < HS; e++) dot += q[qi + e] * k[kj + e];
          p[j] = Math.exp(dot * scale - l);
        }
        for (let j = 0; j < T; j++) {
          if (p[j] === 0) continue;
          const kj = (b * T + j) * C + h * HS;
          // With dropout the forward used p·m (m = keep/(1 − p) or 0): dv gets p·m·dout, and the
          // gradient reaching p is m·(dout · v_j).
          const m = keepScale(((b * NH + h) * T + i) * T + j);
          let dpij = 0;
          for (let e = 0; e < HS; e++) {
            dv[kj + e] += p[j] * m * dout[qi + e];
            dpij += dout[qi + e] * v[kj + e];
          }
          const ds = p[j] * (m * dpij - D) * scale;
          for (let e = 0; e < HS; e++) {
            dq[qi + e] += ds * k[kj + e];
            dk[kj + e] += ds * q[qi + e];
          }
        }
      }
    }
  }
}
