// Reductions for sentence embeddings (SetFit / sentence-transformers style), each with backward:
//
//   mean_pool_forward      out[b, c] = Σ_t mask[b,t]·inp[b,t,c] / max(Σ_t mask[b,t], 1e-9)
//                          inp (B, T, C), mask i32 (B, T) (1 = real token), out (B, C).
//                          A fully padded row gives zeros (sentence-transformers' clamp(min=1e-9)).
//   mean_pool_backward     dinp[b,t,c] = mask[b,t]·dout[b,c] / max(count_b, 1e-9)
//   l2_normalize_forward   out = x / max(‖x‖, eps) per row (F.normalize), norms[row] = ‖x‖ (unclamped, saved)
//   l2_normalize_backward  dx = (dy − y·⟨y, dy⟩) / ‖x‖ when ‖x‖ > eps, else dy / eps
//   cosine_similarity_forward   S (Ba, Bb) = scale · a·bᵀ for row-normalised a (Ba, C), b (Bb, C)
//   cosine_similarity_backward  da = scale · dS·b,  db = scale · dSᵀ·a
//
// The in-batch contrastive loss (MultipleNegativesRankingLoss) is softmax_cross_entropy over
// S = scale·cos(a_i, b_j) with target i for row i (scale 20 in sentence-transformers).
//
// Gradient rule: these are activation gradients, OVERWRITTEN unless `accumulate` is true.
// cosine_similarity_backward with a and b the same tensor: pass the same buffer as da and db and
// the second write accumulates automatically, giving dS·b + dSᵀ·a.
//
// Design (lavapipe: 8 SIMD lanes per CPU thread, a scalar load per lane, vec4 loads much cheaper
// per float): no workgroup memory; rows are read as vec4 (row4.ts; 4 clamped / zero-padded scalar
// loads when C % 4 ≠ 0). Pooling: invocation (b, 4 vec4 of columns), lanes along the columns,
// looping over t. Normalisation: one invocation per row. The cosine products S = a·bᵀ, dS·b and
// dSᵀ·a are matmul.ts's `matmul` (transposes and alpha = scale built in): a one-dot-product-per-
// invocation kernel took 9.8 ms for the 64 × 256 normalise + cosine fwd+bwd chain, a hand-tiled
// one (4 outputs per invocation, vec4 dots, da and db in one dispatch) 1.6 ms, matmul 0.5 ms.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { matmul } from './matmul.js';
import { row4Wgsl, vec4Rows } from './row4.js';

const WG = 64;
const LANES = 8; // invocations along the columns of one row (lavapipe's SIMD width)
const ROWS = 8; // rows per workgroup
const POOL_E = 4; // vec4 of columns per pooling invocation, 8 vec4 apart (2 measured up to 1.8× slower at 64 × 128 × 256)
const POOL_EPS = 1e-9;

function unroll(n: number, f: (e: number) => string, sep = '\n  '): string {
  return Array.from({ length: n }, (_, e) => f(e)).join(sep);
}

// Invocation (b, POOL_E vec4 of columns): one mask load per token serves 16 columns.
function meanPoolFwdWgsl(vec4: boolean): string {
  return /* wgsl */ `
struct Params { B: u32, T: u32, C: u32, C4: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('inp', 1, 'read', vec4)}
@group(0) @binding(2) var<storage, read> mask: array<i32>;
${row4Wgsl('out', 3, 'read_write', vec4)}
@compute @workgroup_size(${LANES}, ${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let qb = wid.x * ${LANES * POOL_E}u + lid.x;
  let b = wid.y * ${ROWS}u + lid.y;
  if (qb >= P.C4 || b >= P.B) { return; }
  let last = P.C4 - 1u;
  ${unroll(POOL_E, (e) => `let q${e} = min(qb + ${8 * e}u, last); var s${e} = vec4f(0.0);`)}
  var n = 0.0;
  for (var t = 0u; t < P.T; t++) {
    let r = b * P.T + t;
    if (mask[r] != 0) {
      ${unroll(POOL_E, (e) => `s${e} += inp_load(r, q${e});`, '\n      ')}
      n += 1.0;
    }
  }
  let d = max(n, ${POOL_EPS});
  ${unroll(POOL_E, (e) => `if (qb + ${8 * e}u < P.C4) { out_store(b, q${e}, s${e} / d); }`)}
}
`;
}

function meanPoolBwdWgsl(vec4: boolean): string {
  return /* wgsl */ `
struct Params { B: u32, T: u32, C: u32, C4: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('dout', 1, 'read', vec4)}
@group(0) @binding(2) var<storage, read> mask: array<i32>;
${row4Wgsl('dinp', 3, 'read_write', vec4)}
@compute @workgroup_size(${LANES}, ${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let qb = wid.x * ${LANES * POOL_E}u + lid.x;
  let b = wid.y * ${ROWS}u + lid.y;
  if (qb >= P.C4 || b >= P.B) { return; }
  var n = 0.0;
  for (var t = 0u; t < P.T; t++) { if (mask[b * P.T + t] != 0) { n += 1.0; } }
  let d = max(n, ${POOL_EPS});
  let last = P.C4 - 1u;
  ${unroll(POOL_E, (e) => `let q${e} = min(qb + ${8 * e}u, last); let g${e} = dout_load(b, q${e}) / d;`)}
  let zero = vec4f(0.0);
  for (var t = 0u; t < P.T; t++) {
    let r = b * P.T + t;
    let m = mask[r] != 0;
    ${unroll(POOL_E, (e) => `if (qb + ${8 * e}u < P.C4) {
      var v = select(zero, g${e}, m);
      if (P.accumulate != 0u) { v += dinp_load(r, q${e}); }
      dinp_store(r, q${e}, v);
    }`, '\n    ')}
  }
}
`;
}

// One invocation per row: ‖x‖ from vec4 dot products, then the scaled row.
function l2FwdWgsl(vec4: boolean): string {
  return /* wgsl */ `
struct Params { rows: u32, C: u32, C4: u32, eps: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('inp', 1, 'read', vec4)}
${row4Wgsl('out', 2, 'read_write', vec4)}
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= P.rows) { return; }
  var ss = 0.0;
  for (var q = 0u; q < P.C4; q++) { let x = inp_loadz(r, q); ss += dot(x, x); }
  let n = sqrt(ss);
  norms[r] = n;
  let inv = 1.0 / max(n, P.eps);
  for (var q = 0u; q < P.C4; q++) { out_store(r, q, inp_load(r, q) * inv); }
}
`;
}

function l2BwdWgsl(vec4: boolean): string {
  return /* wgsl */ `
struct Params { rows: u32, C: u32, C4: u32, eps: f32, accumulate: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('dout', 1, 'read', vec4)}
${row4Wgsl('y', 2, 'read', vec4)}
@group(0) @binding(3) var<storage, read> norms: array<f32>;
${row4Wgsl('dinp', 4, 'read_write', vec4)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= P.rows) { return; }
  let n = norms[r];
  var d = 0.0;
  for (var q = 0u; q < P.C4; q++) { d += dot(y_loadz(r, q), dout_loadz(r, q)); }
  let inv = 1.0 / max(n, P.eps);
  let proj = select(0.0, d, n > P.eps);   // below eps the map is x / eps: no projection term
  for (var q = 0u; q < P.C4; q++) {
    var v = (dout_load(r, q) - y_load(r, q) * proj) * inv;
    if (P.accumulate != 0u) { v += dinp_load(r, q); }
    dinp_store(r, q, v);
  }
}
`;
}

function f32bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

function variant(label: string, vec4: boolean): string {
  return vec4 ? `${label}:vec4` : label;
}

/** Rows on the y axis of the grid, ROWS per workgroup (64 when one invocation per row along x). */
function checkRowsY(name: string, gpu: Gpu, rows: number, perGroup = ROWS): void {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension * perGroup;
  if (rows > max) throw new Error(`${name}: ${rows} rows exceed ${max}; split the batch`);
}

export function mean_pool_forward(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, mask: Binding, B: number, T: number, C: number): void {
  const name = 'mean_pool_forward';
  checkDims(name, { B, T, C });
  checkBuffer(name, 'inp', inp, B * T * C);
  checkBuffer(name, 'mask', mask, B * T);
  checkBuffer(name, 'out', out, B * C);
  checkRowsY(name, gpu, B);
  const vec4 = vec4Rows(C), C4 = Math.ceil(C / 4);
  enc.dispatch(gpu.pipeline(variant(name, vec4), meanPoolFwdWgsl(vec4)), [gpu.uniform([B, T, C, C4]), inp, mask, out],
    Math.ceil(C4 / (LANES * POOL_E)), Math.ceil(B / ROWS));
}

export function mean_pool_backward(
  gpu: Gpu, enc: StepEncoder, dinp: Binding, dout: Binding, mask: Binding, B: number, T: number, C: number, accumulate = false,
): void {
  const name = 'mean_pool_backward';
  checkDims(name, { B, T, C });
  checkBuffer(name, 'dinp', dinp, B * T * C);
  checkBuffer(name, 'dout', dout, B * C);
  checkBuffer(name, 'mask', mask, B * T);
  checkRowsY(name, gpu, B);
  const vec4 = vec4Rows(C), C4 = Math.ceil(C / 4);
  enc.dispatch(gpu.pipeline(variant(name, vec4), meanPoolBwdWgsl(vec4)), [gpu.uniform([B, T, C, C4, accumulate ? 1 : 0]), dout, mask, dinp],
    Math.ceil(C4 / (LANES * POOL_E)), Math.ceil(B / ROWS));
}

export function l2_normalize_forward(
  gpu: Gpu, enc: StepEncoder, out: Binding, norms: Binding, inp: Binding, rows: number, C: number, eps = 1e-12,
): void {
  const name = 'l2_normalize_forward';
  checkDims(name, { rows, C });
  if (!(eps > 0)) throw new Error(`${name}: eps=${eps} must be > 0`);
  checkBuffer(name, 'out', out, rows * C);
  checkBuffer(name, 'norms', norms, rows);
  checkBuffer(name, 'inp', inp, rows * C);
  checkRowsY(name, gpu, rows, WG);
  const vec4 = vec4Rows(C);
  enc.dispatch(gpu.pipeline(variant(name, vec4), l2FwdWgsl(vec4)), [gpu.uniform([rows, C, Math.ceil(C / 4), f32bits(eps)]), inp, out, norms],
    Math.ceil(rows / WG));
}

export function l2_normalize_backward(
  gpu: Gpu, enc: StepEncoder, dinp: Binding, dout: Binding, out: Binding, norms: Binding, rows: number, C: number, eps = 1e-12, accumulate = false,
): void {
  const name = 'l2_normalize_backward';
  checkDims(name, { rows, C });
  if (!(eps > 0)) throw new Error(`${name}: eps=${eps} must be > 0`);
  checkBuffer(name, 'dinp', dinp, rows * C);
  checkBuffer(name, 'dout', dout, rows * C);
  checkBuffer(name, 'out', out, rows * C);
  checkBuffer(name, 'norms', norms, rows);
  checkRowsY(name, gpu, rows, WG);
  const vec4 = vec4Rows(C);
  enc.dispatch(gpu.pipeline(variant(name, vec4), l2BwdWgsl(vec4)),
    [gpu.uniform([rows, C, Math.ceil(C / 4), f32bits(eps), accumulate ? 1 : 0]), dout, out, norms, dinp], Math.ceil(rows / WG));
}

export function cosine_similarity_forward(
  gpu: Gpu, enc: StepEncoder, S: Binding, a: Binding, b: Binding, Ba: number, Bb: number, C: number, scale = 1,
): void {
  const name = 'cosine_similarity_forward';
  checkDims(name, { Ba, Bb, C });
  if (!Number.isFinite(scale)) throw new Error(`${name}: scale=${scale} must be finite`);
  checkBuffer(name, 'S', S, Ba * Bb);
  checkBuffer(name, 'a', a, Ba * C);
  checkBuffer(name, 'b', b, Bb * C);
  // S[i,j] = scale · Σ_c a[i,c] b[j,c]
  matmul(gpu, enc, { out: S, a, b, M: Ba, N: Bb, K: C, transB: true, alpha: scale });
}

export function cosine_similarity_backward(
  gpu: Gpu, enc: StepEncoder, da: Binding | null, db: Binding | null, dS: Binding, a: Binding, b: Binding,
  Ba: number, Bb: number, C: number, scale = 1, accumulate = false,
): void {
  const name = 'cosine_similarity_backward';
  checkDims(name, { Ba, Bb, C });
  if (!Number.isFinite(scale)) throw new Error(`${name}: scale=${scale} must be finite`);
  checkBuffer(name, 'dS', dS, Ba * Bb);
  checkBuffer(name, 'a', a, Ba * C);
  checkBuffer(name, 'b', b, Bb * C);
  if (da) checkBuffer(name, 'da', da, Ba * C);
  if (db) checkBuffer(name, 'db', db, Bb * C);
  // da[i,c] = scale · Σ_j dS[i,j] b[j,c]
  if (da) matmul(gpu, enc, { out: da, a: dS, b, M: Ba, N: C, K: Bb, alpha: scale, accumulate });
  // db[j,c] = scale · Σ_i dS[i,j] a[i,c]; when db is da's buffer it adds to what was just written.
  const same = da !== null && db !== null && sameBinding(da, db);
  if (db) matmul(gpu, enc, { out: db, a: dS, b: a, M: Bb, N: C, K: Ba, transA: true, alpha: scale, accumulate: accumulate || same });
}

function sameBinding(a: Binding, b: Binding): boolean {
  const norm = (x: Binding) => ('buffer' in x && typeof (x as GPUBufferBinding).buffer === 'object' ? [(x as GPUBufferBinding).buffer, (x as GPUBufferBinding).offset ?? 0] : [x, 0]);
  const [ba, oa] = norm(a);
  const [bb, ob] = norm(b);
  return ba === bb && oa === ob;
}

// ------------------------------------------------------------------ float64 references

export function mean_pool_forward_reference(out: Float64Array, inp: ArrayLike<number>, mask: ArrayLike<number>, B: number, T: number, C: number): void {
  const name = 'mean_pool_forward_reference';
  checkDims(name, { B, T, C });
  checkArray(name, 'out', out, B * C);
  checkArray(name, 'inp', inp, B * T * C);
  checkArray(name, 'mask', mask, B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) if (mask[b * T + t] !== 0) n++;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let t = 0; t < T; t++) if (mask[b * T + t] !== 0) s += inp[(b * T + t) * C + c];
      out[b * C + c] = s / Math.max(n, POOL_EPS);
    }
  }
}

export function mean_pool_backward_reference(
  dinp: Float64Array, dout: ArrayLike<number>, mask: ArrayLike<number>, B: number, T: number, C: number, accumulate = false,
): void {
  const name = 'mean_pool_backward_reference';
  checkDims(name, { B, T, C });
  checkArray(name, 'dinp', dinp, B * T * C);
  checkArray(name, 'dout', dout, B * C);
  checkArray(name, 'mask', mask, B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) if (mask[b * T + t] !== 0) n++;
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        const v = mask[b * T + t] !== 0 ? dout[b * C + c] / Math.max(n, POOL_EPS) : 0;
        const k = (b * T + t) * C + c;
        dinp[k] = accumulate ? dinp[k] + v : v;
      }
    }
  }
}

export function l2_normalize_forward_reference(
  out: Float64Array, norms: Float64Array, inp: ArrayLike<number>, rows: number, C: number, eps = 1e-12,
): void {
  const name = 'l2_normalize_forward_reference';
  checkDims(name, { rows, C });
  checkArray(name, 'out', out, rows * C);
  checkArray(name, 'norms', norms, rows);
  checkArray(name, 'inp', inp, rows * C);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[r * C + c] ** 2;
    norms[r] = Math.sqrt(ss);
    const d = Math.max(norms[r], eps);
    for (let c = 0; c < C; c++) out[r * C + c] = inp[r * C + c] / d;
  }
}

export function l2_normalize_backward_reference(
  dinp: Float64Array, dout: ArrayLike<number>, out: ArrayLike<number>, norms: ArrayLike<number>, rows: number, C: number, eps = 1e-12, accumulate = false,
): void {
  const name = 'l2_normalize_backward_reference';
  checkDims(name, { rows, C });
  checkArray(name, 'dinp', dinp, rows * C);
  checkArray(name, 'dout', dout, rows * C);
  checkArray(name, 'out', out, rows * C);
  checkArray(name, 'norms', norms, rows);
  for (let r = 0; r < rows; r++) {
    const n = norms[r];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += out[r * C + c] * dout[r * C + c];
    const proj = n > eps ? dot : 0;
    const d = Math.max(n, eps);
    for (let c = 0; c < C; c++) {
      const k = r * C + c;
      const v = (dout[k] - out[k] * proj) / d;
      dinp[k] = accumulate ? dinp[k] + v : v;
    }
  }
}

export function cosine_similarity_forward_reference(
  S: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>, Ba: number, Bb: number, C: number, scale = 1,
): void {
  const name = 'cosine_similarity_forward_reference';
  checkDims(name, { Ba, Bb, C });
  checkArray(name, 'S', S, Ba * Bb);
  checkArray(name, 'a', a, Ba * C);
  checkArray(name, 'b', b, Bb * C);
  for (let i = 0; i < Ba; i++) {
    for (let j = 0; j < Bb; j++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += a[i * C + c] * b[j * C + c];
      S[i * Bb + j] = scale * s;
    }
  }
}

export function cosine_similarity_backward_reference(
  da: Float64Array | null, db: Float64Array | null, dS: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>,
  Ba: number, Bb: number, C: number, scale = 1, accumulate = false,
): void {
  const name = 'cosine_similarity_backward_reference';
  checkDims(name, { Ba, Bb, C });
  checkArray(name, 'dS', dS, Ba * Bb);
  checkArray(name, 'a', a, Ba * C);
  checkArray(name, 'b', b, Bb * C);
  if (da) {
    checkArray(name, 'da', da, Ba * C);
    for (let i = 0; i < Ba; i++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let j = 0; j < Bb; j++) s += dS[i * Bb + j] * b[j * C + c];
        da[i * C + c] = (accumulate ? da[i * C + c] : 0) + scale * s;
      }
    }
  }
  if (db) {
    checkArray(name, 'db', db, Bb * C);
    const acc = accumulate || (da !== null && da === db);
    for (let j = 0; j < Bb; j++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let i = 0; i < Ba; i++) s += dS[i * Bb + j] * a[i * C + c];
        db[j * C + c] = (acc ? db[j * C + c] : 0) + scale * s;
      }
    }
  }
}
