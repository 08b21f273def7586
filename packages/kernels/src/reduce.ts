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
// Design: these tensors are small (B ≤ a few hundred rows); one invocation per output element
// (4 consecutive columns for pooling), looping over the reduced axis; no workgroup memory
// (lavapipe reads it per lane anyway).

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';

const WG = 64;
const POOL_EPS = 1e-9;

// Each invocation owns 4 consecutive columns of one batch row: one mask load per token serves 4
// columns (measured 2–4× faster than one column per invocation at 64 × 128 × 256 on lavapipe).
const MEAN_POOL_FWD = /* wgsl */ `
struct P { B: u32, T: u32, C: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c0 = gid.x * 4u; let b = gid.y;
  if (c0 >= p.C) { return; }
  let c1 = min(c0 + 1u, p.C - 1u); let c2 = min(c0 + 2u, p.C - 1u); let c3 = min(c0 + 3u, p.C - 1u);
  var s = vec4f(0.0); var n = 0.0;
  for (var t = 0u; t < p.T; t++) {
    if (mask[b * p.T + t] != 0) {
      let r = (b * p.T + t) * p.C;
      s += vec4f(inp[r + c0], inp[r + c1], inp[r + c2], inp[r + c3]);
      n += 1.0;
    }
  }
  let v = s / max(n, ${POOL_EPS});
  for (var j = 0u; j < 4u; j++) { if (c0 + j < p.C) { out[b * p.C + c0 + j] = v[j]; } }
}
`;

const MEAN_POOL_BWD = /* wgsl */ `
struct P { B: u32, T: u32, C: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<i32>;
@group(0) @binding(3) var<storage, read_write> dinp: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c0 = gid.x * 4u; let b = gid.y;
  if (c0 >= p.C) { return; }
  var n = 0.0;
  for (var t = 0u; t < p.T; t++) { if (mask[b * p.T + t] != 0) { n += 1.0; } }
  let c1 = min(c0 + 1u, p.C - 1u); let c2 = min(c0 + 2u, p.C - 1u); let c3 = min(c0 + 3u, p.C - 1u);
  let g = vec4f(dout[b * p.C + c0], dout[b * p.C + c1], dout[b * p.C + c2], dout[b * p.C + c3]) / max(n, ${POOL_EPS});
  let cols = min(4u, p.C - c0);
  for (var t = 0u; t < p.T; t++) {
    let v = select(vec4f(0.0), g, mask[b * p.T + t] != 0);
    let r = (b * p.T + t) * p.C + c0;
    for (var j = 0u; j < cols; j++) {
      if (p.accumulate != 0u) { dinp[r + j] = dinp[r + j] + v[j]; } else { dinp[r + j] = v[j]; }
    }
  }
}
`;

const L2_FWD = /* wgsl */ `
struct P { rows: u32, C: u32, eps: f32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  var ss = 0.0;
  for (var c = 0u; c < p.C; c++) { let x = inp[r * p.C + c]; ss += x * x; }
  let n = sqrt(ss);
  norms[r] = n;
  let inv = 1.0 / max(n, p.eps);
  for (var c = 0u; c < p.C; c++) { out[r * p.C + c] = inp[r * p.C + c] * inv; }
}
`;

const L2_BWD = /* wgsl */ `
struct P { rows: u32, C: u32, eps: f32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> dinp: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let n = norms[r];
  let big = n > p.eps;
  var dot = 0.0;
  for (var c = 0u; c < p.C; c++) { dot += y[r * p.C + c] * dout[r * p.C + c]; }
  let inv = 1.0 / max(n, p.eps);
  let proj = select(0.0, dot, big);   // below eps the map is x / eps: no projection term
  for (var c = 0u; c < p.C; c++) {
    let k = r * p.C + c;
    let v = (dout[k] - y[k] * proj) * inv;
    if (p.accumulate != 0u) { dinp[k] = dinp[k] + v; } else { dinp[k] = v; }
  }
}
`;

// out (M, N) [+]= scale · Σ_k x[i·sxi + k·sxk] · z[k·szk + j·szj]  (one kernel for S, da, db)
const SMALL_MATMUL = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, accumulate: u32, sxi: u32, sxk: u32, szk: u32, szj: u32, scale: f32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x; let i = gid.y;
  if (j >= p.N) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) { s += x[i * p.sxi + k * p.sxk] * z[k * p.szk + j * p.szj]; }
  let k = i * p.N + j;
  let v = p.scale * s;
  if (p.accumulate != 0u) { out[k] = out[k] + v; } else { out[k] = v; }
}
`;

function f32bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

function checkRowsY(name: string, gpu: Gpu, rows: number): void {
  if (rows > gpu.limits.maxComputeWorkgroupsPerDimension) {
    throw new Error(`${name}: ${rows} rows exceed ${gpu.limits.maxComputeWorkgroupsPerDimension}; split the batch`);
  }
}

export function mean_pool_forward(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, mask: Binding, B: number, T: number, C: number): void {
  const name = 'mean_pool_forward';
  checkDims(name, { B, T, C });
  checkBuffer(name, 'inp', inp, B * T * C);
  checkBuffer(name, 'mask', mask, B * T);
  checkBuffer(name, 'out', out, B * C);
  checkRowsY(name, gpu, B);
  enc.dispatch(gpu.pipeline(name, MEAN_POOL_FWD), [gpu.uniform([B, T, C, 0]), inp, mask, out], Math.ceil(C / 4 / WG), B);
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
  enc.dispatch(gpu.pipeline(name, MEAN_POOL_BWD), [gpu.uniform([B, T, C, accumulate ? 1 : 0]), dout, mask, dinp], Math.ceil(C / 4 / WG), B);
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
  enc.dispatch(gpu.pipeline(name, L2_FWD), [gpu.uniform([rows, C, f32bits(eps), 0]), inp, out, norms], Math.ceil(rows / WG));
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
  enc.dispatch(gpu.pipeline(name, L2_BWD), [gpu.uniform([rows, C, f32bits(eps), accumulate ? 1 : 0]), dout, out, norms, dinp], Math.ceil(rows / WG));
}

function smallMatmul(
  gpu: Gpu, enc: StepEncoder, label: string, out: Binding, x: Binding, z: Binding,
  M: number, N: number, K: number, strides: [number, number, number, number], scale: number, accumulate: boolean,
): void {
  checkRowsY(label, gpu, M);
  const u = gpu.uniform([M, N, K, accumulate ? 1 : 0, ...strides, f32bits(scale), 0, 0, 0]);
  enc.dispatch(gpu.pipeline('reduce_small_matmul', SMALL_MATMUL), [u, x, z, out], Math.ceil(N / WG), M);
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
  // S[i,j] = Σ_c a[i,c] b[j,c]
  smallMatmul(gpu, enc, name, S, a, b, Ba, Bb, C, [C, 1, 1, C], scale, false);
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
  // da[i,c] = Σ_j dS[i,j] b[j,c]
  if (da) smallMatmul(gpu, enc, name, da, dS, b, Ba, C, Bb, [Bb, 1, C, 1], scale, accumulate);
  // db[j,c] = Σ_i dS[i,j] a[i,c]
  const same = da !== null && db !== null && sameBinding(da, db);
  if (db) smallMatmul(gpu, enc, name, db, dS, a, Bb, C, Ba, [1, Bb, C, 1], scale, accumulate || same);
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
