// layernorm over the last dimension, as in BERT (biased variance, eps inside the square root).
//
//   layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps)
//     for each row r of inp (N, C):  mean[r] = Σ x / C,  rstd[r] = 1 / √(Σ (x − mean)² / C + eps)
//     out[r, c] = (x[r, c] − mean[r]) · rstd[r] · weight[c] + bias[c]
//     mean and rstd (N) are saved for the backward pass.
//   layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, accumulate = false)
//     x̂ = (x − mean)·rstd,  g = dout · weight
//     dinp[r, c]  = rstd · (g − mean_c(g) − x̂ · mean_c(g · x̂))     (overwritten, or += with accumulate)
//     dweight[c] += Σ_r dout · x̂,   dbias[c] += Σ_r dout             (parameter gradients always +=)
//
// Design for lavapipe (SIMD lanes = consecutive x invocations; workgroup memory and barriers cost
// more than they save): the row statistics use one invocation per row, walking the row from its
// own registers — no workgroup memory, no barriers. The mean is computed first and the variance
// as Σ (x − mean)² in a second sweep (the row is in cache), which is exact for rows with a large
// common offset, unlike E[x²] − E[x]².
// The dweight/dbias column sums are deterministic and atomic-free: invocation (column c, block of
// ROWS_PER_BLOCK rows) writes partial sums, then one invocation per column adds the partials in
// block order and adds the total into dweight/dbias.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { f32bits, grid2d, scratch } from './elementwise.js';

const WG = 64;
const ROWS_PER_BLOCK = 64;

const FORWARD_WGSL = /* wgsl */ `
struct Params { N: u32, C: u32, eps: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> inp: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let r = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (r >= params.N) { return; }
  let C = params.C;
  let x0 = r * C;
  var s = 0.0;
  for (var c = 0u; c < C; c++) { s += inp[x0 + c]; }
  let m = s / f32(C);
  var v = 0.0;
  for (var c = 0u; c < C; c++) { let d = inp[x0 + c] - m; v += d * d; }
  let rs = inverseSqrt(v / f32(C) + params.eps);
  for (var c = 0u; c < C; c++) {
    out[x0 + c] = (inp[x0 + c] - m) * rs * weight[c] + bias[c];
  }
  mean[r] = m;
  rstd[r] = rs;
}
`;

const BACKWARD_DINP_WGSL = /* wgsl */ `
struct Params { N: u32, C: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> inp: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let r = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (r >= params.N) { return; }
  let C = params.C;
  let x0 = r * C;
  let m = mean[r];
  let rs = rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < C; c++) {
    let g = dout[x0 + c] * weight[c];
    sg += g;
    sgx += g * (inp[x0 + c] - m) * rs;
  }
  let mg = sg / f32(C);
  let mgx = sgx / f32(C);
  for (var c = 0u; c < C; c++) {
    let xhat = (inp[x0 + c] - m) * rs;
    let d = rs * (dout[x0 + c] * weight[c] - mg - xhat * mgx);
    if (params.accumulate != 0u) { dinp[x0 + c] += d; } else { dinp[x0 + c] = d; }
  }
}
`;

// partial layout: [0, blocks·C) dweight partials, [blocks·C, 2·blocks·C) dbias partials.
const BACKWARD_PARAMS_PARTIAL_WGSL = /* wgsl */ `
struct Params { N: u32, C: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> inp: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let blk = gid.y;
  let C = params.C;
  if (c >= C) { return; }
  let r0 = blk * ${ROWS_PER_BLOCK}u;
  let r1 = min(r0 + ${ROWS_PER_BLOCK}u, params.N);
  var dw = 0.0;
  var db = 0.0;
  for (var r = r0; r < r1; r++) {
    let g = dout[r * C + c];
    dw += g * (inp[r * C + c] - mean[r]) * rstd[r];
    db += g;
  }
  partial[blk * C + c] = dw;
  partial[(params.blocks + blk) * C + c] = db;
}
`;

const BACKWARD_PARAMS_FINAL_WGSL = /* wgsl */ `
struct Params { N: u32, C: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(3) var<storage, read> partial: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let C = params.C;
  if (c >= C) { return; }
  var dw = 0.0;
  var db = 0.0;
  for (var b = 0u; b < params.blocks; b++) {
    dw += partial[b * C + c];
    db += partial[(params.blocks + b) * C + c];
  }
  dweight[c] += dw;
  dbias[c] += db;
}
`;

function checkEps(name: string, eps: number): void {
  if (!(Number.isFinite(eps) && eps > 0)) throw new Error(`${name}: eps=${eps} must be a positive finite number`);
}

/** Record layernorm over rows of inp (N, C) into out (N, C); saves mean and rstd (N each). */
export function layernorm_forward(gpu: Gpu, enc: StepEncoder, out: Binding, mean: Binding, rstd: Binding, inp: Binding,
  weight: Binding, bias: Binding, N: number, C: number, eps: number): void {
  const name = 'layernorm_forward';
  checkDims(name, { N, C });
  checkEps(name, eps);
  checkBuffer(name, 'out', out, N * C);
  checkBuffer(name, 'mean', mean, N);
  checkBuffer(name, 'rstd', rstd, N);
  checkBuffer(name, 'inp', inp, N * C);
  checkBuffer(name, 'weight', weight, C);
  checkBuffer(name, 'bias', bias, C);
  const [x, y] = grid2d(Math.ceil(N / WG));
  enc.dispatch(gpu.pipeline(name, FORWARD_WGSL), [gpu.uniform([N, C, f32bits(eps)]), out, mean, rstd, inp, weight, bias], x, y);
}

/**
 * Record the layernorm backward: dinp (overwritten unless `accumulate`), dweight += , dbias += .
 * mean and rstd are the ones layernorm_forward saved.
 */
export function layernorm_backward(gpu: Gpu, enc: StepEncoder, dinp: Binding, dweight: Binding, dbias: Binding,
  dout: Binding, inp: Binding, weight: Binding, mean: Binding, rstd: Binding, N: number, C: number, accumulate = false): void {
  const name = 'layernorm_backward';
  checkDims(name, { N, C });
  checkBuffer(name, 'dinp', dinp, N * C);
  checkBuffer(name, 'dweight', dweight, C);
  checkBuffer(name, 'dbias', dbias, C);
  checkBuffer(name, 'dout', dout, N * C);
  checkBuffer(name, 'inp', inp, N * C);
  checkBuffer(name, 'weight', weight, C);
  checkBuffer(name, 'mean', mean, N);
  checkBuffer(name, 'rstd', rstd, N);
  const [x, y] = grid2d(Math.ceil(N / WG));
  enc.dispatch(gpu.pipeline(`${name}:dinp`, BACKWARD_DINP_WGSL), [gpu.uniform([N, C, accumulate ? 1 : 0]), dinp, dout, inp, weight, mean, rstd], x, y);
  const blocks = Math.ceil(N / ROWS_PER_BLOCK);
  const partial = scratch(gpu, 'layernorm_partial', 2 * blocks * C);
  const params = gpu.uniform([N, C, blocks]);
  enc.dispatch(gpu.pipeline(`${name}:params_partial`, BACKWARD_PARAMS_PARTIAL_WGSL), [params, partial, dout, inp, mean, rstd], Math.ceil(C / WG), blocks);
  enc.dispatch(gpu.pipeline(`${name}:params_final`, BACKWARD_PARAMS_FINAL_WGSL), [params, dweight, dbias, partial], Math.ceil(C / WG));
}

/** float64 reference of layernorm_forward. */
export function layernorm_forward_reference(out: Float64Array, mean: Float64Array, rstd: Float64Array, inp: ArrayLike<number>,
  weight: ArrayLike<number>, bias: ArrayLike<number>, N: number, C: number, eps: number): void {
  const name = 'layernorm_forward_reference';
  checkDims(name, { N, C });
  checkEps(name, eps);
  checkArray(name, 'out', out, N * C);
  checkArray(name, 'mean', mean, N);
  checkArray(name, 'rstd', rstd, N);
  checkArray(name, 'inp', inp, N * C);
  checkArray(name, 'weight', weight, C);
  checkArray(name, 'bias', bias, C);
  for (let r = 0; r < N; r++) {
    const x0 = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += inp[x0 + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (inp[x0 + c] - m) ** 2;
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[x0 + c] = (inp[x0 + c] - m) * rs * weight[c] + bias[c];
    mean[r] = m;
    rstd[r] = rs;
  }
}

/** float64 reference of layernorm_backward (same overwrite / += rules). */
export function layernorm_backward_reference(dinp: Float64Array, dweight: Float64Array, dbias: Float64Array,
  dout: ArrayLike<number>, inp: ArrayLike<number>, weight: ArrayLike<number>, mean: ArrayLike<number>, rstd: ArrayLike<number>,
  N: number, C: number, accumulate = false): void {
  const name = 'layernorm_backward_reference';
  checkDims(name, { N, C });
  checkArray(name, 'dinp', dinp, N * C);
  checkArray(name, 'dweight', dweight, C);
  checkArray(name, 'dbias', dbias, C);
  checkArray(name, 'dout', dout, N * C);
  checkArray(name, 'inp', inp, N * C);
  checkArray(name, 'weight', weight, C);
  checkArray(name, 'mean', mean, N);
  checkArray(name, 'rstd', rstd, N);
  for (let r = 0; r < N; r++) {
    const x0 = r * C;
    const m = mean[r];
    const rs = rstd[r];
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < C; c++) {
      const g = dout[x0 + c] * weight[c];
      const xhat = (inp[x0 + c] - m) * rs;
      sg += g;
      sgx += g * xhat;
      dweight[c] += dout[x0 + c] * xhat;
      dbias[c] += dout[x0 + c];
    }
    for (let c = 0; c < C; c++) {
      const xhat = (inp[x0 + c] - m) * rs;
      const d = rs * (dout[x0 + c] * weight[c] - sg / C - (xhat * sgx) / C);
      dinp[x0 + c] = accumulate ? dinp[x0 + c] + d : d;
    }
  }
}
