// GELU, as in BERT's feed-forward block, and the fused bias + GELU used after the FFN up-projection.
//
//   'none' (exact, BERT/PyTorch default): gelu(x) = x · Φ(x) = ½ x · erfc(−x/√2)
//        gelu'(x) = Φ(x) + x · φ(x),  φ(x) = exp(−x²/2)/√(2π)
//   'tanh': gelu(x) = ½ x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³)
//        computed as x · σ(2u) (σ the logistic function), which never overflows:
//        gelu'(x) = σ(2u) + x · 2σ(2u)(1 − σ(2u)) · √(2/π)(1 + 3·0.044715 x²)
//
// WGSL has no erf. The shader evaluates erfc with the Chebyshev fit of Numerical Recipes
// (`erfcc`, fractional error < 1.2e-7 everywhere), which is accurate in *relative* terms for large
// |x| too, so gelu(−6) ≈ −6e-9 keeps its digits (a 1 − erf form would cancel to 0 or noise).
//
//   gelu_forward(out, inp, N, approximate)            out = gelu(inp)
//   bias_gelu_forward(out, inp, bias, rows, C, approximate)       out = gelu(inp + bias[c])
//   bias_gelu_backward(dinp, dbias, inp, bias, dout, rows, C, approximate)
//        dinp = dout · gelu'(inp + bias) (overwrites), dbias += Σ_rows dinp (deterministic)
// There is no GPU launcher for the plain backward: the model's FFN uses the fused bias version, and
// gelu_backward (called only by its own tests and a bench case) was deleted (issue #13). The
// float64 gelu_backward_reference stays (the trainer's float64 model reference uses it).
//
// Layout for lavapipe: plain GELU is elementwise, 8 elements (two vec4) per invocation strided by the
// workgroup size so SIMD lanes read consecutive addresses. The fused bias versions run one
// invocation per (column, block of ROWS_PER_BLOCK rows) — bias loaded once, no per-element
// division — and the backward writes the block's dinp column sum as it goes; one invocation per
// column then adds the partials in block order into dbias: deterministic, no atomics.
// When N (plain) or C (fused) is a multiple of 4 and the bindings are 16-byte aligned (the usual
// case), the same layouts run on array<vec4f>: 4 consecutive floats per load/store instruction
// instead of 4 scalar loads 64 elements (or 4 rows) apart; per-element arithmetic and the dbias
// summation order are unchanged, so the bits are the same (tested). Same process, 4096 × 512,
// load ~6: bias_gelu_forward 10.4 → 9.0 ms, bias_gelu_backward 12.6 → 9.6 (medians), plain
// forward within noise.

import { bindingOffset, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { grid2d, scratch } from './elementwise.js';

export type GeluApproximate = 'none' | 'tanh';

const WG = 64;
/** vec4s per invocation in plain GELU (2 measured faster than 1 or 4). */
const VEC4S = 2;
const PER_INVOCATION = 4 * VEC4S;
const ELEMS_PER_WG = WG * PER_INVOCATION;
/** Rows per invocation in the fused bias kernels (and per partial sum of dbias). */
const ROWS_PER_BLOCK = 128;

const GELU_FUNCTIONS = /* wgsl */ `
const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const TANH_C: f32 = 0.044715;

// All on vec4: four independent elements per invocation, so the four dependency chains of the
// polynomial (lavapipe emits fma() as a separate multiply and add, so Horner is latency-bound)
// interleave in one instruction stream.

// erfc(z) for z >= 0, Numerical Recipes' erfcc: relative error < 1.2e-7.
fn erfc_pos(z: vec4f) -> vec4f {
  let t = 1.0 / (1.0 + 0.5 * z);
  // Estrin's scheme (dependency depth 7 instead of Horner's 18; lavapipe has no fused fma).
  let t2 = t * t;
  let t4 = t2 * t2;
  let q0 = (-1.26551223 + 1.00002368 * t) + (0.37409196 + 0.09678418 * t) * t2;
  let q1 = (-0.18628806 + 0.27886807 * t) + (-1.13520398 + 1.48851587 * t) * t2;
  let poly = (q0 + q1 * t4) + (-0.82215223 + 0.17087277 * t) * (t4 * t4);
  return t * exp(-z * z + poly);
}

// Φ(x) = ½ erfc(−x/√2), accurate in relative terms on both tails.
fn std_normal_cdf(x: vec4f) -> vec4f {
  let z = abs(x) * SQRT1_2;
  let e = erfc_pos(z);
  return select(1.0 - 0.5 * e, 0.5 * e, x < vec4f(0.0));
}

fn gelu_value(x: vec4f) -> vec4f {
  if (APPROX_TANH) {
    let u = SQRT_2_OVER_PI * (x + TANH_C * x * x * x);
    return x / (1.0 + exp(-2.0 * u));
  }
  return x * std_normal_cdf(x);
}

fn gelu_grad(x: vec4f) -> vec4f {
  if (APPROX_TANH) {
    let u = SQRT_2_OVER_PI * (x + TANH_C * x * x * x);
    let s = 1.0 / (1.0 + exp(-2.0 * u));
    return s + x * 2.0 * s * (1.0 - s) * SQRT_2_OVER_PI * (1.0 + 3.0 * TANH_C * x * x);
  }
  return std_normal_cdf(x) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
}
`;

// Plain GELU forward, elementwise. Bindings: 0 params {N}, 1 out, 2 inp.
function geluWgsl(approx: GeluApproximate): string {
  return /* wgsl */ `
const APPROX_TANH: bool = ${approx === 'tanh'};
${GELU_FUNCTIONS}
struct Params { N: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let base = (wid.y * nwg.x + wid.x) * ${ELEMS_PER_WG}u + lid.x;
  let N = params.N;
  if (base >= N) { return; }
  // The 8 elements base + e·WG as two vec4 (consecutive lanes read consecutive addresses);
  // indices past the end are clamped for the loads and their stores skipped.
  let last = vec4u(N - 1u);
${Array.from({ length: VEC4S }, (_, k) => `  let idx${k} = base + vec4u(${(4 * k) * WG}u, ${(4 * k + 1) * WG}u, ${(4 * k + 2) * WG}u, ${(4 * k + 3) * WG}u);
  let j${k} = min(idx${k}, last);
  let x${k} = vec4f(inp[j${k}.x], inp[j${k}.y], inp[j${k}.z], inp[j${k}.w]);
  let y${k} = gelu_value(x${k});`).join('\n')}
${Array.from({ length: VEC4S }, (_, k) => ['x', 'y', 'z', 'w'].map((c) => `  if (idx${k}.${c} < N) { out[j${k}.${c}] = y${k}.${c}; }`).join('\n')).join('\n')}
}
`;
}

// Plain GELU forward on array<vec4f> (N % 4 == 0, 16-byte aligned bindings): the same walk with vec4
// elements, so each lane loads and stores 4 consecutive floats per instruction instead of 4 scalar
// loads 64 elements apart. Params.N counts vec4s.
function geluVec4Wgsl(approx: GeluApproximate): string {
  return /* wgsl */ `
const APPROX_TANH: bool = ${approx === 'tanh'};
${GELU_FUNCTIONS}
struct Params { N: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<storage, read> inp: array<vec4f>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let base = (wid.y * nwg.x + wid.x) * ${WG * VEC4S}u + lid.x;
  let N = params.N;
  if (base >= N) { return; }
  // ${VEC4S} vec4s, ${WG} apart (consecutive lanes on consecutive vec4s); past the end clamped
  // for the loads and the stores skipped.
${Array.from({ length: VEC4S }, (_, k) => `  let i${k} = base + ${k * WG}u;
  let j${k} = min(i${k}, N - 1u);
  let y${k} = gelu_value(inp[j${k}]);`).join('\n')}
${Array.from({ length: VEC4S }, (_, k) => `  if (i${k} < N) { out[i${k}] = y${k}; }`).join('\n')}
}
`;
}

// Fused bias + GELU over (rows, C): invocation (column c, block of ROWS_PER_BLOCK rows), so the
// bias is loaded once and no per-element integer division (i % C) is needed — a scalar
// instruction per lane on lavapipe. The backward also sums its dinp column into
// partial[blk, c], the first pass of the dbias column sum, without re-reading dinp.
function biasGeluWgsl(approx: GeluApproximate, backward: boolean): string {
  return /* wgsl */ `
const APPROX_TANH: bool = ${approx === 'tanh'};
${GELU_FUNCTIONS}
struct Params { rows: u32, C: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
${backward ? `@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;` : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let C = params.C;
  if (c >= C) { return; }
  let blk = gid.y;
  let r0 = blk * ${ROWS_PER_BLOCK}u;
  let r1 = min(r0 + ${ROWS_PER_BLOCK}u, params.rows);
  let bc = bias[c];
  ${backward ? 'var acc = 0.0;' : ''}
  // Four rows at a time as a vec4 (rows past r1 clamped to r1 − 1 for the loads, stores skipped,
  // not summed); the column sum still adds the rows in order.
  for (var r = r0; r < r1; r += 4u) {
    let rv = vec4u(r, r + 1u, r + 2u, r + 3u);
    let ok = rv < vec4u(r1);
    let j = min(rv, vec4u(r1 - 1u)) * C + c;
    let x = vec4f(inp[j.x], inp[j.y], inp[j.z], inp[j.w]) + bc;
    ${backward ? `let d = vec4f(dout[j.x], dout[j.y], dout[j.z], dout[j.w]) * gelu_grad(x);
    acc += d.x; acc += select(0.0, d.y, ok.y); acc += select(0.0, d.z, ok.z); acc += select(0.0, d.w, ok.w);
    let y = d;` : 'let y = gelu_value(x);'}
    out[j.x] = y.x;
    if (ok.y) { out[j.y] = y.y; }
    if (ok.z) { out[j.z] = y.z; }
    if (ok.w) { out[j.w] = y.w; }
  }
  ${backward ? 'partial[blk * C + c] = acc;' : ''}
}
`;
}

// Fused bias + GELU on array<vec4f> (C % 4 == 0, 16-byte aligned bindings): invocation (column
// quad c4 = columns 4·c4 .. 4·c4 + 3, block of ROWS_PER_BLOCK rows) loads one vec4 per row, so
// consecutive lanes read consecutive addresses of one row, 4 floats per load instruction. Two
// rows per iteration (independent exp chains interleave). The backward's per-column sums add the
// rows in order, exactly as the scalar shader does.
function biasGeluVec4Wgsl(approx: GeluApproximate, backward: boolean): string {
  return /* wgsl */ `
const APPROX_TANH: bool = ${approx === 'tanh'};
${GELU_FUNCTIONS}
struct Params { rows: u32, C4: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<storage, read> inp: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
${backward ? `@group(0) @binding(4) var<storage, read> dout: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> partial: array<vec4f>;` : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c4 = gid.x;
  let C4 = params.C4;
  if (c4 >= C4) { return; }
  let blk = gid.y;
  let r0 = blk * ${ROWS_PER_BLOCK}u;
  let r1 = min(r0 + ${ROWS_PER_BLOCK}u, params.rows);
  let bc = bias[c4];
  ${backward ? 'var acc = vec4f(0.0);' : ''}
  for (var r = r0; r < r1; r += 2u) {
    let ok1 = r + 1u < r1;
    let ja = r * C4 + c4;
    let jb = select(ja, ja + C4, ok1);     // row r + 1, or row r again past the block's end
    let xa = inp[ja] + bc;
    let xb = inp[jb] + bc;
    ${backward ? `let ya = dout[ja] * gelu_grad(xa);
    let yb = dout[jb] * gelu_grad(xb);
    acc += ya;
    if (ok1) { acc += yb; }` : `let ya = gelu_value(xa);
    let yb = gelu_value(xb);`}
    out[ja] = ya;
    if (ok1) { out[jb] = yb; }
  }
  ${backward ? 'partial[blk * C4 + c4] = acc;' : ''}
}
`;
}

// dbias[c] += Σ_blk partial[blk, c], blocks in order (the second pass of the dbias column sum).
const COLSUM_FINAL_WGSL = /* wgsl */ `
struct Params { blocks: u32, C: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> partial: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= params.C) { return; }
  var acc = 0.0;
  for (var b = 0u; b < params.blocks; b++) { acc += partial[b * params.C + c]; }
  dst[c] += acc;
}
`;

function checkApprox(name: string, approximate: string): void {
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new Error(`${name}: approximate='${approximate}' must be 'none' or 'tanh'`);
  }
}

let forceScalar = false;
/** Tests and benchmarks: use the scalar-load shaders even where vec4 would do. */
export function setGeluScalarOnly(on: boolean): void {
  forceScalar = on;
}

/** True when array<vec4f> views fit: `n` % 4 == 0 and every binding 16-byte aligned. */
function vec4Fits(n: number, buffers: Binding[]): boolean {
  return !forceScalar && n % 4 === 0 && buffers.every((b) => bindingOffset(b) % 16 === 0);
}

function launch(gpu: Gpu, enc: StepEncoder, label: string, approx: GeluApproximate, N: number, buffers: Binding[]): void {
  if (vec4Fits(N, buffers)) {
    const pipe = gpu.pipeline(`${label}:${approx}:v4`, geluVec4Wgsl(approx));
    const [x, y] = grid2d(Math.ceil(N / 4 / (WG * VEC4S)));
    enc.dispatch(pipe, [gpu.uniform([N / 4]), ...buffers], x, y);
    return;
  }
  const pipe = gpu.pipeline(`${label}:${approx}`, geluWgsl(approx));
  const [x, y] = grid2d(Math.ceil(N / ELEMS_PER_WG));
  enc.dispatch(pipe, [gpu.uniform([N]), ...buffers], x, y);
}

/** out = gelu(inp) over N floats. */
export function gelu_forward(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, N: number, approximate: GeluApproximate = 'none'): void {
  const name = 'gelu_forward';
  checkDims(name, { N });
  checkApprox(name, approximate);
  checkBuffer(name, 'out', out, N);
  checkBuffer(name, 'inp', inp, N);
  launch(gpu, enc, name, approximate, N, [out, inp]);
}

/** out(rows, C) = gelu(inp + bias) with bias (C) broadcast over rows; keep inp for the backward. */
export function bias_gelu_forward(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, bias: Binding,
  rows: number, C: number, approximate: GeluApproximate = 'none'): void {
  const name = 'bias_gelu_forward';
  checkDims(name, { rows, C });
  checkApprox(name, approximate);
  checkBuffer(name, 'out', out, rows * C);
  checkBuffer(name, 'inp', inp, rows * C);
  checkBuffer(name, 'bias', bias, C);
  if (vec4Fits(C, [out, inp, bias])) {
    const pipe = gpu.pipeline(`${name}:${approximate}:v4`, biasGeluVec4Wgsl(approximate, false));
    enc.dispatch(pipe, [gpu.uniform([rows, C / 4]), out, inp, bias], Math.ceil(C / 4 / WG), Math.ceil(rows / ROWS_PER_BLOCK));
    return;
  }
  const pipe = gpu.pipeline(`${name}:${approximate}`, biasGeluWgsl(approximate, false));
  enc.dispatch(pipe, [gpu.uniform([rows, C]), out, inp, bias], Math.ceil(C / WG), Math.ceil(rows / ROWS_PER_BLOCK));
}

/**
 * dinp = dout · gelu'(inp + bias) (overwrites; dinp may not alias inp), dbias += column sums of dinp.
 */
export function bias_gelu_backward(gpu: Gpu, enc: StepEncoder, dinp: Binding, dbias: Binding, inp: Binding, bias: Binding,
  dout: Binding, rows: number, C: number, approximate: GeluApproximate = 'none'): void {
  const name = 'bias_gelu_backward';
  checkDims(name, { rows, C });
  checkApprox(name, approximate);
  checkBuffer(name, 'dinp', dinp, rows * C);
  checkBuffer(name, 'dbias', dbias, C);
  checkBuffer(name, 'inp', inp, rows * C);
  checkBuffer(name, 'bias', bias, C);
  checkBuffer(name, 'dout', dout, rows * C);
  const blocks = Math.ceil(rows / ROWS_PER_BLOCK);
  const partial = scratch(gpu, 'colsum', blocks * C);
  if (vec4Fits(C, [dinp, inp, bias, dout])) {
    const pipe = gpu.pipeline(`${name}:${approximate}:v4`, biasGeluVec4Wgsl(approximate, true));
    enc.dispatch(pipe, [gpu.uniform([rows, C / 4]), dinp, inp, bias, dout, partial], Math.ceil(C / 4 / WG), blocks);
  } else {
    const pipe = gpu.pipeline(`${name}:${approximate}`, biasGeluWgsl(approximate, true));
    enc.dispatch(pipe, [gpu.uniform([rows, C]), dinp, inp, bias, dout, partial], Math.ceil(C / WG), blocks);
  }
  enc.dispatch(gpu.pipeline('column_sum_final', COLSUM_FINAL_WGSL), [gpu.uniform([blocks, C]), dbias, partial], Math.ceil(C / WG));
}

// ---- float64 references ----

/** erfc(z) in float64 (series below 2, continued fraction above; ~1e-15 relative). */
export function erfc64(z: number): number {
  if (z < 0) return 2 - erfc64(-z);
  if (z < 2) {
    // erf(z) = 2/√π Σ (−1)ⁿ z^(2n+1) / (n! (2n+1))
    let term = z;
    let sum = z;
    for (let n = 1; n < 60; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...))))), evaluated backwards.
  let f = z;
  for (let n = 120; n >= 1; n--) f = z + n / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

export function gelu64(x: number, approximate: GeluApproximate): number {
  if (approximate === 'tanh') {
    // ½x(1 + tanh u) = x·σ(2u): the same value, without 1 + tanh(u) cancelling to 0 for u ≪ 0.
    const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
    return x / (1 + Math.exp(-2 * u));
  }
  return 0.5 * x * erfc64(-x / Math.SQRT2);
}

export function gelu_grad64(x: number, approximate: GeluApproximate): number {
  if (approximate === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const u = k * (x + 0.044715 * x ** 3);
    const s = 1 / (1 + Math.exp(-2 * u)); // σ(2u) = ½(1 + tanh u); ½(1 − tanh²u) = 2σ(1 − σ)
    return s + x * 2 * s * (1 - s) * k * (1 + 3 * 0.044715 * x * x);
  }
  return 0.5 * erfc64(-x / Math.SQRT2) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
}

export function gelu_forward_reference(out: Float64Array, inp: ArrayLike<number>, N: number, approximate: GeluApproximate = 'none'): void {
  const name = 'gelu_forward_reference';
  checkDims(name, { N });
  checkApprox(name, approximate);
  checkArray(name, 'out', out, N);
  checkArray(name, 'inp', inp, N);
  for (let i = 0; i < N; i++) out[i] = gelu64(inp[i], approximate);
}

export function gelu_backward_reference(dinp: Float64Array, inp: ArrayLike<number>, dout: ArrayLike<number>, N: number, approximate: GeluApproximate = 'none'): void {
  const name = 'gelu_backward_reference';
  checkDims(name, { N });
  checkApprox(name, approximate);
  checkArray(name, 'dinp', dinp, N);
  checkArray(name, 'inp', inp, N);
  checkArray(name, 'dout', dout, N);
  for (let i = 0; i < N; i++) dinp[i] = dout[i] * gelu_grad64(inp[i], approximate);
}

export function bias_gelu_forward_reference(out: Float64Array, inp: ArrayLike<number>, bias: ArrayLike<number>,
  rows: number, C: number, approximate: GeluApproximate = 'none'): void {
  const name = 'bias_gelu_forward_reference';
  checkDims(name, { rows, C });
  checkApprox(name, approximate);
  checkArray(name, 'out', out, rows * C);
  checkArray(name, 'inp', inp, rows * C);
  checkArray(name, 'bias', bias, C);
  for (let i = 0; i < rows * C; i++) out[i] = gelu64(inp[i] + bias[i % C], approximate);
}

export function bias_gelu_backward_reference(dinp: Float64Array, dbias: Float64Array, inp: ArrayLike<number>,
  bias: ArrayLike<number>, dout: ArrayLike<number>, rows: number, C: number, approximate: GeluApproximate = 'none'): void {
  const name = 'bias_gelu_backward_reference';
  checkDims(name, { rows, C });
  checkApprox(name, approximate);
  checkArray(name, 'dinp', dinp, rows * C);
  checkArray(name, 'dbias', dbias, C);
  checkArray(name, 'inp', inp, rows * C);
  checkArray(name, 'bias', bias, C);
  checkArray(name, 'dout', dout, rows * C);
  for (let i = 0; i < rows * C; i++) {
    const d = dout[i] * gelu_grad64(inp[i] + bias[i % C], approximate);
    dinp[i] = d;
    dbias[i % C] += d;
  }
}
