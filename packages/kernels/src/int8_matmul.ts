// INT8 inference path: symmetric per-row quantization, packed int8 matmul, dequantizing epilogue.
//
//   quantize_rows_int8:    per row r of x (rows, K):  s_r = max_k |x[r,k]| / 127,
//                          q[r,k] = clamp(round(x[r,k] / s_r), −127, 127)   (round half to even);
//                          activations (M, K), dynamic, every forward
//   int8_linear_forward:   out[m,n] = sx_m · sw_n · Σ_k qx[m,k]·qw[n,k]  + bias[n]   (HF layout: y = x·Wᵀ + b)
//
// Weights are quantised per output channel n of W (N, K), the same formula per row of W. The model
// does that once, on the CPU, with quantize_weights_int8_reference (the int8 export writes those
// exact bytes); GPU-quantised weights (bench, tests) come from quantize_rows_int8 on the weight rows.
// The float64 references are quantize_rows_int8_reference, quantize_weights_int8_reference,
// int8_linear_forward_reference and dequantize_int8_reference (x̂[r,k] = s_r · q[r,k], which the
// tests use for round-trip checks). The GPU launchers quantize_weights_int8 (an alias of
// quantize_rows_int8) and dequantize_int8 were deleted (issue #13): nothing but their own tests
// (and, for the former, the int8 bench case's setup) called them.
//
// Packing: 4 int8 per u32, little-endian by k: word j of a row holds k = 4j .. 4j+3, k = 4j+b in
// bits 8b..8b+7 (two's complement). A row has K4 = ceil(K/4) words; the padding bytes are 0.
// An all-zero row gets scale 0 and q = 0.
//
// The integer dot product uses WGSL's dot4I8Packed when the adapter has the
// `packed_4x8_integer_dot_product` language feature (navigator.gpu.wgslLanguageFeatures), and
// an extractBits fallback otherwise (`opts.useDot4` forces either). Sums are exact in i32
// (K · 127² < 2³¹ for K < 133 000); the only rounding is the final f32 scale multiply and bias add.
//
// Design for lavapipe: each invocation computes a 4 × 4 tile of out from 4 words of x and 4 of W
// per step of 4 k's — 8 scalar loads for 64 multiply-adds (the f32 matmul's best needs 12 loads
// for 32); no workgroup memory. Quantization: 8 lanes (one subgroup) per row with vec4 loads on
// adapters with usable 8-lane subgroups (quantizeVariant), else one invocation per row.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { grid2d } from './elementwise.js';
import { subgroupMatmulUsable } from './tune.js';

const WG = 64;
const TILE = 4;
export const INT8_DOT4_FEATURE = 'packed_4x8_integer_dot_product';

/** True when WGSL's dot4I8Packed is available on this device's GPU object. */
export function hasDot4I8Packed(gpu: Gpu): boolean {
  const feats = (gpu.gpu as GPU & { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  return !!feats && typeof feats.has === 'function' && feats.has(INT8_DOT4_FEATURE);
}

// One invocation per row: rows are short (K ≤ a few thousand) and many (M = B·T), and a
// workgroup per row spent its time in barriers (measured 46 ms for 4096 × 128).
const QUANTIZE_WGSL = /* wgsl */ `
struct P { rows: u32, K: u32, K4: u32, row0: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = p.row0 + gid.x;
  if (row >= p.rows) { return; }
  let base = row * p.K;
  var amax = 0.0;
  for (var k = 0u; k < p.K; k++) { amax = max(amax, abs(x[base + k])); }
  let inv = select(0.0, 127.0 / amax, amax > 0.0);
  for (var j = 0u; j < p.K4; j++) {
    var word = 0u;
    for (var b = 0u; b < 4u; b++) {
      let k = j * 4u + b;
      var v = 0i;
      if (k < p.K) { v = i32(clamp(round(x[base + k] * inv), -127.0, 127.0)); }
      word |= (bitcast<u32>(v) & 0xffu) << (8u * b);
    }
    q[row * p.K4 + j] = word;
  }
  scales[row] = amax / 127.0;
}
`;

function matmulWgsl(useDot4: boolean): string {
  const dot = useDot4 ? 'dot4I8Packed' : 'dot4_fallback';
  return /* wgsl */ `
struct P { M: u32, N: u32, K4: u32, has_bias: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> qx: array<u32>;
@group(0) @binding(2) var<storage, read> sx: array<f32>;
@group(0) @binding(3) var<storage, read> qw: array<u32>;
@group(0) @binding(4) var<storage, read> sw: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

// Signed bytes by extractBits (sign-extending on i32): the portable path.
fn dot4_fallback(a: u32, b: u32) -> i32 {
  let x = bitcast<i32>(a); let y = bitcast<i32>(b);
  return extractBits(x, 0u, 8u) * extractBits(y, 0u, 8u) + extractBits(x, 8u, 8u) * extractBits(y, 8u, 8u)
       + extractBits(x, 16u, 8u) * extractBits(y, 16u, 8u) + extractBits(x, 24u, 8u) * extractBits(y, 24u, 8u);
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * ${TILE}u;
  let row0 = gid.y * ${TILE}u;
  if (col0 >= p.N || row0 >= p.M) { return; }
  let K4 = p.K4;
  let x0 = row0 * K4; let x1 = min(row0 + 1u, p.M - 1u) * K4; let x2 = min(row0 + 2u, p.M - 1u) * K4; let x3 = min(row0 + 3u, p.M - 1u) * K4;
  let w0 = col0 * K4; let w1 = min(col0 + 1u, p.N - 1u) * K4; let w2 = min(col0 + 2u, p.N - 1u) * K4; let w3 = min(col0 + 3u, p.N - 1u) * K4;
  var a0 = vec4i(0); var a1 = vec4i(0); var a2 = vec4i(0); var a3 = vec4i(0);
  for (var j = 0u; j < K4; j++) {
    let b0 = qw[w0 + j]; let b1 = qw[w1 + j]; let b2 = qw[w2 + j]; let b3 = qw[w3 + j];
    let v0 = qx[x0 + j]; let v1 = qx[x1 + j]; let v2 = qx[x2 + j]; let v3 = qx[x3 + j];
    a0 += vec4i(${dot}(v0, b0), ${dot}(v0, b1), ${dot}(v0, b2), ${dot}(v0, b3));
    a1 += vec4i(${dot}(v1, b0), ${dot}(v1, b1), ${dot}(v1, b2), ${dot}(v1, b3));
    a2 += vec4i(${dot}(v2, b0), ${dot}(v2, b1), ${dot}(v2, b2), ${dot}(v2, b3));
    a3 += vec4i(${dot}(v3, b0), ${dot}(v3, b1), ${dot}(v3, b2), ${dot}(v3, b3));
  }
  let cs = vec4f(sw[w0 / K4], sw[w1 / K4], sw[w2 / K4], sw[w3 / K4]);
  var bb = vec4f(0.0);
  if (p.has_bias != 0u) { bb = vec4f(bias[w0 / K4], bias[w1 / K4], bias[w2 / K4], bias[w3 / K4]); }
  let accs = array<vec4i, 4>(a0, a1, a2, a3);
  for (var i = 0u; i < ${TILE}u; i++) {
    let row = row0 + i;
    if (row >= p.M) { break; }
    let v = sx[row] * cs * vec4f(accs[i]) + bb;
    for (var c = 0u; c < ${TILE}u; c++) {
      if (col0 + c < p.N) { out[row * p.N + col0 + c] = v[c]; }
    }
  }
}
`;
}

// Subgroup variant of the quantization (software adapters with usable 8-lane subgroups, as
// tune.ts decides for matmul): one workgroup = one subgroup of 8 lanes walks a block of rows; the
// 8 lanes share a row, lane l taking words l, l + 8, … of it. A word is 4 consecutive k, so with
// K % 4 = 0 it is one vec4 load of x (consecutive lanes, consecutive 16 bytes) and one u32 store;
// each element is loaded once and held in registers (the shader is generated for the given K,
// the per-lane words unrolled) while subgroupMax gives the row's max |x|. Other K load the 4
// elements of a word as scalars (clamped into the row, masked past its end). Rounding by the
// 1.5·2²³ trick (quantize_word) gives the per-row kernel's bits for finite inputs. On lavapipe
// the per-row kernel's lanes read 8 rows K·4 bytes apart with one scalar load per element, and
// read x twice.
const QUANT_LANES = 8;
/** Most words per lane the generated shader holds: K ≤ 1024 (larger K use the per-row kernel). */
const QUANT_MAX_WORDS_PER_LANE = 32;
/** Rows per workgroup in the subgroup variant, at most. */
const QUANT_MAX_ROWS_PER_WG = 64;

export type QuantizeVariant = 'subgroup' | 'rows';
let forcedQuantizeVariant: QuantizeVariant | null = null;
/** Force the quantization variant (tests run both); null = choose per device. TUNEBENCH_QUANTIZE_VARIANT also forces one. */
export function setQuantizeVariant(v: QuantizeVariant | null): void {
  forcedQuantizeVariant = v;
}

/** 'subgroup' on software adapters with usable 8-lane subgroups when K ≤ 1024, else 'rows' (one invocation per row). */
export function quantizeVariant(gpu: Gpu, K: number): QuantizeVariant {
  const v = forcedQuantizeVariant ?? (process.env.TUNEBENCH_QUANTIZE_VARIANT as QuantizeVariant | undefined) ?? null;
  const fits = Math.ceil(Math.ceil(K / 4) / QUANT_LANES) <= QUANT_MAX_WORDS_PER_LANE;
  if (v === 'subgroup') {
    if (!subgroupMatmulUsable(gpu)) throw new Error('int8 quantization: the subgroup variant needs usable 8-lane subgroups');
    if (!fits) throw new Error(`int8 quantization: the subgroup variant takes K ≤ ${4 * QUANT_LANES * QUANT_MAX_WORDS_PER_LANE}, got K=${K}`);
    return v;
  }
  if (v === 'rows') return v;
  if (v !== null) throw new Error(`TUNEBENCH_QUANTIZE_VARIANT=${v}: expected subgroup or rows`);
  return gpu.adapterInfo.isSoftware && subgroupMatmulUsable(gpu) && fits ? 'subgroup' : 'rows';
}

const quantizeWgslCache = new Map<number, string>();
function quantizeSubgroupWgsl(K: number): string {
  const hit = quantizeWgslCache.get(K);
  if (hit !== undefined) return hit;
  const vec4 = K % 4 === 0;
  const K4 = Math.ceil(K / 4);
  const perLane = Math.ceil(K4 / QUANT_LANES);
  const words = Array.from({ length: perLane }, (_, i) => {
    const first = QUANT_LANES * i;
    const full = first + QUANT_LANES <= K4;
    return { j: full ? `lane + ${first}u` : `min(lane + ${first}u, ${K4 - 1}u)`, ok: full ? null : `(lane + ${first}u < ${K4}u)` };
  });
  const each = (f: (w: { j: string; ok: string | null }, i: number) => string) => words.map(f).join('\n');
  // Scalar rows: component b of word j is k = 4j + b; past the row's end it is loaded clamped and zeroed.
  const load = (i: number) => (vec4
    ? `x[r * ${K4}u + j${i}]`
    : `vec4f(${[0, 1, 2, 3].map((b) => `select(0.0, x[min(rk + 4u * j${i} + ${b}u, rend)], 4u * j${i} + ${b}u < ${K}u)`).join(', ')})`);
  const code = /* wgsl */ `enable subgroups;
struct P { rows: u32, R: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${vec4 ? 'vec4f' : 'f32'}>;
@group(0) @binding(2) var<storage, read_write> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;

// clamp(round(v), −127, 127) as 4 signed bytes, packed little-endian into one word, without
// round() or a float → int conversion (on lavapipe those made the kernel 2× slower): adding
// M = 1.5·2²³ rounds v to an integer n, ties to even — the same as round() — and leaves the f32
// bits of M + n equal to 0x4B400000 + n, whose low byte is n's two's-complement byte (|n| ≤ 127).
// Clamping first keeps |v| ≤ 127 for any input (an overflowing 127/max|x| gives ±inf), and keeps
// the multiply before it from being contracted with the add into an fma (a different rounding).
fn quantize_word(v: vec4f) -> u32 {
  let b = bitcast<vec4u>(clamp(v, vec4f(-127.0), vec4f(127.0)) + 12582912.0) & vec4u(0xffu);
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

@compute @workgroup_size(${QUANT_LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let r0 = (wid.y * nwg.x + wid.x) * p.R;
  let r1 = min(r0 + p.R, p.rows);
${each((w, i) => `  let j${i} = ${w.j};`)}
  for (var r = r0; r < r1; r++) {
    ${vec4 ? '' : `let rk = r * ${K}u; let rend = rk + ${K - 1}u;`}
${each((w, i) => `    let x${i} = ${load(i)};`)}
    let a = ${words.map((w, i) => (w.ok ? `select(vec4f(0.0), abs(x${i}), ${w.ok})` : `abs(x${i})`)).reduce((acc, e) => `max(${acc}, ${e})`)};
    let amax = subgroupMax(max(max(a.x, a.y), max(a.z, a.w)));
    let inv = select(0.0, 127.0 / amax, amax > 0.0);
${each((w, i) => `    ${w.ok ? `if ${w.ok} { ` : ''}q[r * ${K4}u + j${i}] = quantize_word(x${i} * inv);${w.ok ? ' }' : ''}`)}
    if (lane == 0u) { scales[r] = amax / 127.0; }
  }
}
`;
  quantizeWgslCache.set(K, code);
  return code;
}

// Elements of each operand, checked by the launchers (checkBuffer) and the references (checkArray).
/** Packed words per row of K int8 values. */
const wordsPerRow = (K: number): number => Math.ceil(K / 4);
const quantizeSizes = (rows: number, K: number) => ({ x: rows * K, q: rows * wordsPerRow(K), scales: rows });
const dequantizeSizes = (rows: number, K: number) => ({ out: rows * K, q: rows * wordsPerRow(K), scales: rows });
const linearSizes = (M: number, N: number, K: number) =>
  ({ out: M * N, qx: M * wordsPerRow(K), xscales: M, qweight: N * wordsPerRow(K), wscales: N, bias: N });

/**
 * Per-row symmetric int8 quantization of x (rows, K) → q (rows·ceil(K/4) u32), scales (rows): the
 * activations every forward, or the rows of a weight (N, K) for per-output-channel weight scales.
 */
export function quantize_rows_int8(gpu: Gpu, enc: StepEncoder, q: Binding, scales: Binding, x: Binding, rows: number, K: number): void {
  const name = 'quantize_rows_int8';
  checkDims(name, { rows, K });
  const K4 = Math.ceil(K / 4);
  checkOperands(name, checkBuffer, quantizeSizes(rows, K), { x, q, scales });
  if (quantizeVariant(gpu, K) === 'subgroup') {
    const R = Math.max(1, Math.min(QUANT_MAX_ROWS_PER_WG, Math.ceil(rows / 32)));
    const [gx, gy] = grid2d(Math.ceil(rows / R));
    enc.dispatch(gpu.pipeline('int8_quantize_rows:subgroup', quantizeSubgroupWgsl(K)), [gpu.uniform([rows, R]), x, q, scales], gx, gy);
    return;
  }
  const pipe = gpu.pipeline('int8_quantize_rows', QUANTIZE_WGSL);
  const perDispatch = gpu.limits.maxComputeWorkgroupsPerDimension * WG;
  for (let row0 = 0; row0 < rows; row0 += perDispatch) {
    enc.dispatch(pipe, [gpu.uniform([rows, K, K4, row0]), x, q, scales], Math.ceil(Math.min(perDispatch, rows - row0) / WG));
  }
}

export interface Int8LinearOptions {
  /** Force dot4I8Packed (true) or the extractBits fallback (false); default: what the adapter supports. */
  useDot4?: boolean;
}

/**
 * out (M, N) = sx ⊗ sw · (qx · qwᵀ) + bias: qx, sx from quantize_rows_int8 on the activations; qweight,
 * wscales per output channel (quantize_weights_int8_reference uploaded, or quantize_rows_int8 on W's rows).
 */
export function int8_linear_forward(
  gpu: Gpu, enc: StepEncoder, out: Binding, qx: Binding, xscales: Binding, qweight: Binding, wscales: Binding, bias: Binding | null,
  M: number, N: number, K: number, opts: Int8LinearOptions = {},
): void {
  const name = 'int8_linear_forward';
  checkDims(name, { M, N, K });
  const K4 = Math.ceil(K / 4);
  checkOperands(name, checkBuffer, linearSizes(M, N, K), { out, qx, xscales, qweight, wscales, bias });
  const supported = hasDot4I8Packed(gpu);
  const useDot4 = opts.useDot4 ?? supported;
  if (useDot4 && !supported) throw new Error(`${name}: useDot4 requested but the adapter lacks the WGSL language feature '${INT8_DOT4_FEATURE}'`);
  const gy = Math.ceil(M / TILE);
  if (gy > gpu.limits.maxComputeWorkgroupsPerDimension) throw new Error(`${name}: M=${M} too large for one dispatch; split it`);
  const pipe = gpu.pipeline(`${name}_${useDot4 ? 'dot4' : 'fallback'}`, matmulWgsl(useDot4));
  enc.dispatch(pipe, [gpu.uniform([M, N, K4, bias ? 1 : 0]), qx, xscales, qweight, wscales, bias ?? xscales, out], Math.ceil(N / TILE / WG), gy);
}

// ------------------------------------------------------------------ references

/** Round half to even, as WGSL's round(). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Signed byte b (0..3) of a packed word. */
export function int8At(word: number, b: number): number {
  return ((word << (24 - 8 * b)) >> 24);
}

function quantizeReference(name: string, q: Uint32Array, scales: Float64Array, x: ArrayLike<number>, rows: number, K: number): void {
  checkDims(name, { rows, K });
  const K4 = Math.ceil(K / 4);
  checkOperands(name, checkArray, quantizeSizes(rows, K), { x, q, scales });
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(x[r * K + k]));
    scales[r] = amax / 127;
    const inv = amax > 0 ? 127 / amax : 0;
    for (let j = 0; j < K4; j++) {
      let word = 0;
      for (let b = 0; b < 4; b++) {
        const k = 4 * j + b;
        const v = k < K ? Math.max(-127, Math.min(127, roundHalfEven(x[r * K + k] * inv))) : 0;
        word |= (v & 0xff) << (8 * b);
      }
      q[r * K4 + j] = word >>> 0;
    }
  }
}

/**
 * Per-output-channel quantization of weight (N, K) on the CPU (packed words in a Uint32Array, scales in
 * float64): what the model's int8 path uses (the int8 export writes these bytes); the same computation
 * as quantize_rows_int8_reference on the weight rows.
 */
export function quantize_weights_int8_reference(qweight: Uint32Array, scales: Float64Array, weight: ArrayLike<number>, N: number, K: number): void {
  quantizeReference('quantize_weights_int8_reference', qweight, scales, weight, N, K);
}

/** Reference of quantize_rows_int8. */
export function quantize_rows_int8_reference(qx: Uint32Array, scales: Float64Array, x: ArrayLike<number>, M: number, K: number): void {
  quantizeReference('quantize_rows_int8_reference', qx, scales, x, M, K);
}

/** out (rows, K) = scales[row] · q in float64 (no GPU launcher; the tests check quantization round-trips with it). */
export function dequantize_int8_reference(out: Float64Array, q: ArrayLike<number>, scales: ArrayLike<number>, rows: number, K: number): void {
  const name = 'dequantize_int8_reference';
  checkDims(name, { rows, K });
  const K4 = Math.ceil(K / 4);
  checkOperands(name, checkArray, dequantizeSizes(rows, K), { out, q, scales });
  for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) out[r * K + k] = scales[r] * int8At(q[r * K4 + (k >> 2)], k & 3);
}

/** Reference of int8_linear_forward (exact integer sums, float64 scaling). */
export function int8_linear_forward_reference(
  out: Float64Array, qx: ArrayLike<number>, xscales: ArrayLike<number>, qweight: ArrayLike<number>, wscales: ArrayLike<number>,
  bias: ArrayLike<number> | null, M: number, N: number, K: number,
): void {
  const name = 'int8_linear_forward_reference';
  checkDims(name, { M, N, K });
  const K4 = Math.ceil(K / 4);
  checkOperands(name, checkArray, linearSizes(M, N, K), { out, qx, xscales, qweight, wscales, bias });
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let j = 0; j < K4; j++) {
        const a = qx[m * K4 + j];
        const b = qweight[n * K4 + j];
        for (let t = 0; t < 4; t++) acc += int8At(a, t) * int8At(b, t);
      }
      out[m * N + n] = xscales[m] * wscales[n] * acc + (bias ? bias[n] : 0);
    }
  }
}
