// LoRA (PEFT layout): a frozen linear layer plus a trainable low-rank update.
//
//   W (N, K) frozen, bias (N) or none, lora_A (r, K), lora_B (N, r), scale = α / r.
//   lora_forward:  xa = inp·Aᵀ (M, r), saved for backward;
//                  out (M, N) = inp·Wᵀ + bias + scale · xa·Bᵀ            (one fused kernel after xa)
//   lora_backward: g = scale · dout·B (M, r) (scratch);
//                  dB += scale · doutᵀ·xa ;  dA += gᵀ·inp                 (parameter grads: +=)
//                  dinp = dout·W + g·A                                    (fused; overwritten, or += with accumulateDinp)
//                  W is frozen: no dW is computed.
//   lora_merge / lora_unmerge: W ± scale · B·A (in place). Unmerging after merging restores W up
//                  to f32 rounding (≈ 1 ulp of |W| + |scale·B·A|), not bit-exactly: keep a copy of
//                  W if exact bits matter.
//
// All of these are instances of one kernel, matmul2_strided:
//   out (M, N) [+]= α1 · X1·Z1 + α2 · X2·Z2 (+ bias), each operand addressed by two element
//   strides, so transposes cost nothing (every operand is read in place).
// Design for lavapipe (see shared notes): no workgroup memory; each invocation owns 4 rows × 8
// columns of out in two vec4 accumulators per row; 64 invocations along N. Loads are clamped
// into bounds (ragged edges cost nothing in the loop); only stores are guarded. The reductions
// over M for dA/dB have little parallelism (r × K outputs) but are small (2·M·r·K flops).

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';

const WG = 64;
const TM = 4;
const TN = 8;

const MATMUL2_WGSL = /* wgsl */ `
struct P {
  M: u32, N: u32, K1: u32, K2: u32,
  flags: u32, pad0: u32, alpha1: f32, alpha2: f32,
  x1i: u32, x1k: u32, z1k: u32, z1j: u32,
  x2i: u32, x2k: u32, z2k: u32, z2j: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> z1: array<f32>;
@group(0) @binding(3) var<storage, read> x2: array<f32>;
@group(0) @binding(4) var<storage, read> z2: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

const ACCUMULATE = 1u;
const HAS_BIAS = 2u;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * ${TN}u;
  let row0 = gid.y * ${TM}u;
  if (col0 >= p.N || row0 >= p.M) { return; }
  var rows: array<u32, ${TM}>;
  for (var i = 0u; i < ${TM}u; i++) { rows[i] = min(row0 + i, p.M - 1u); }
  var cols: array<u32, ${TN}>;
  for (var j = 0u; j < ${TN}u; j++) { cols[j] = min(col0 + j, p.N - 1u); }
  var lo: array<vec4f, ${TM}>;
  var hi: array<vec4f, ${TM}>;
  for (var i = 0u; i < ${TM}u; i++) { lo[i] = vec4f(0.0); hi[i] = vec4f(0.0); }
  // Term 1: α1 · X1·Z1
  {
    let a0 = rows[0] * p.x1i; let a1 = rows[1] * p.x1i; let a2 = rows[2] * p.x1i; let a3 = rows[3] * p.x1i;
    var l0 = vec4f(0.0); var l1 = vec4f(0.0); var l2 = vec4f(0.0); var l3 = vec4f(0.0);
    var h0 = vec4f(0.0); var h1 = vec4f(0.0); var h2 = vec4f(0.0); var h3 = vec4f(0.0);
    for (var k = 0u; k < p.K1; k++) {
      let zk = k * p.z1k;
      let bl = vec4f(z1[zk + cols[0] * p.z1j], z1[zk + cols[1] * p.z1j], z1[zk + cols[2] * p.z1j], z1[zk + cols[3] * p.z1j]);
      let bh = vec4f(z1[zk + cols[4] * p.z1j], z1[zk + cols[5] * p.z1j], z1[zk + cols[6] * p.z1j], z1[zk + cols[7] * p.z1j]);
      let xk = k * p.x1k;
      let v0 = x1[a0 + xk]; let v1 = x1[a1 + xk]; let v2 = x1[a2 + xk]; let v3 = x1[a3 + xk];
      l0 += v0 * bl; h0 += v0 * bh;
      l1 += v1 * bl; h1 += v1 * bh;
      l2 += v2 * bl; h2 += v2 * bh;
      l3 += v3 * bl; h3 += v3 * bh;
    }
    lo[0] = p.alpha1 * l0; lo[1] = p.alpha1 * l1; lo[2] = p.alpha1 * l2; lo[3] = p.alpha1 * l3;
    hi[0] = p.alpha1 * h0; hi[1] = p.alpha1 * h1; hi[2] = p.alpha1 * h2; hi[3] = p.alpha1 * h3;
  }
  // Term 2: α2 · X2·Z2 (K2 = 0 skips it)
  if (p.K2 > 0u) {
    let a0 = rows[0] * p.x2i; let a1 = rows[1] * p.x2i; let a2 = rows[2] * p.x2i; let a3 = rows[3] * p.x2i;
    var l0 = vec4f(0.0); var l1 = vec4f(0.0); var l2 = vec4f(0.0); var l3 = vec4f(0.0);
    var h0 = vec4f(0.0); var h1 = vec4f(0.0); var h2 = vec4f(0.0); var h3 = vec4f(0.0);
    for (var k = 0u; k < p.K2; k++) {
      let zk = k * p.z2k;
      let bl = vec4f(z2[zk + cols[0] * p.z2j], z2[zk + cols[1] * p.z2j], z2[zk + cols[2] * p.z2j], z2[zk + cols[3] * p.z2j]);
      let bh = vec4f(z2[zk + cols[4] * p.z2j], z2[zk + cols[5] * p.z2j], z2[zk + cols[6] * p.z2j], z2[zk + cols[7] * p.z2j]);
      let xk = k * p.x2k;
      let v0 = x2[a0 + xk]; let v1 = x2[a1 + xk]; let v2 = x2[a2 + xk]; let v3 = x2[a3 + xk];
      l0 += v0 * bl; h0 += v0 * bh;
      l1 += v1 * bl; h1 += v1 * bh;
      l2 += v2 * bl; h2 += v2 * bh;
      l3 += v3 * bl; h3 += v3 * bh;
    }
    lo[0] += p.alpha2 * l0; lo[1] += p.alpha2 * l1; lo[2] += p.alpha2 * l2; lo[3] += p.alpha2 * l3;
    hi[0] += p.alpha2 * h0; hi[1] += p.alpha2 * h1; hi[2] += p.alpha2 * h2; hi[3] += p.alpha2 * h3;
  }
  if ((p.flags & HAS_BIAS) != 0u) {
    let bl = vec4f(bias[cols[0]], bias[cols[1]], bias[cols[2]], bias[cols[3]]);
    let bh = vec4f(bias[cols[4]], bias[cols[5]], bias[cols[6]], bias[cols[7]]);
    for (var i = 0u; i < ${TM}u; i++) { lo[i] += bl; hi[i] += bh; }
  }
  let acc = (p.flags & ACCUMULATE) != 0u;
  for (var i = 0u; i < ${TM}u; i++) {
    let row = row0 + i;
    if (row >= p.M) { break; }
    for (var j = 0u; j < ${TN}u; j++) {
      let col = col0 + j;
      if (col >= p.N) { break; }
      let v = select(hi[i][(j - 4u) & 3u], lo[i][j & 3u], j < 4u);
      let o = row * p.N + col;
      if (acc) { out[o] = out[o] + v; } else { out[o] = v; }
    }
  }
}
`;

/** One operand of matmul2_strided: element (i, k) of X at i·si + k·sk (Z: (k, j) at k·sk + j·sj). */
export interface StridedOperand {
  buf: Binding;
  /** Stride of the first index (rows of X, k of Z). */
  s0: number;
  /** Stride of the second index (k of X, columns of Z). */
  s1: number;
}

export interface Matmul2Args {
  out: Binding;
  M: number;
  N: number;
  x1: StridedOperand;
  z1: StridedOperand;
  K1: number;
  alpha1?: number;
  x2?: StridedOperand | null;
  z2?: StridedOperand | null;
  K2?: number;
  alpha2?: number;
  bias?: Binding | null;
  accumulate?: boolean;
}

function f32bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

/**
 * out (M, N) [+]= α1·X1·Z1 + α2·X2·Z2 + bias, operands addressed by element strides (a transpose
 * is a stride swap). The building block of LoRA and the masked-LM projection. Callers check
 * buffer sizes; this only checks dimensions and that the out buffer is not also an input.
 */
export function matmul2_strided(gpu: Gpu, enc: StepEncoder, a: Matmul2Args, label = 'matmul2_strided'): void {
  const K2 = a.x2 && a.z2 ? (a.K2 ?? 0) : 0;
  checkDims(label, { M: a.M, N: a.N, K1: a.K1 });
  if (!Number.isInteger(K2) || K2 < 0) throw new Error(`${label}: K2=${K2} must be an integer ≥ 0`);
  const rowsY = Math.ceil(a.M / TM);
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const flags = (a.accumulate ? 1 : 0) | (a.bias ? 2 : 0);
  const pipe = gpu.pipeline('matmul2_strided', MATMUL2_WGSL);
  const x2 = K2 > 0 ? a.x2! : a.x1;
  const z2 = K2 > 0 ? a.z2! : a.z1;
  // Rows beyond 65535·4 are split into several dispatches over row ranges of X1/X2/out.
  if (rowsY > max) throw new Error(`${label}: M=${a.M} needs ${rowsY} workgroup rows (max ${max}); split M`);
  const u = gpu.uniform([
    a.M, a.N, a.K1, K2, flags, 0, f32bits(a.alpha1 ?? 1), f32bits(a.alpha2 ?? 1),
    a.x1.s0, a.x1.s1, a.z1.s0, a.z1.s1, x2.s0, x2.s1, z2.s0, z2.s1,
  ]);
  enc.dispatch(pipe, [u, a.x1.buf, a.z1.buf, x2.buf, z2.buf, a.bias ?? a.x1.buf, a.out], Math.ceil(a.N / TN / WG), rowsY);
}

const scratch = new WeakMap<Gpu, GPUBuffer>();
function gScratch(gpu: Gpu, elements: number): GPUBuffer {
  let b = scratch.get(gpu);
  if (!b || b.size < elements * 4) {
    // The old one is dropped, not destroyed: an encoder not yet submitted may still bind it.
    b = gpu.zeros(Math.max(elements, 1024) * 4, 'lora_backward:g');
    scratch.set(gpu, b);
  }
  return b;
}

function checkScale(name: string, scale: number): void {
  if (!Number.isFinite(scale)) throw new Error(`${name}: scale=${scale} must be a finite number (α / r)`);
}

/** out = inp·Wᵀ + bias + scale·(inp·Aᵀ)·Bᵀ; xa = inp·Aᵀ is written for the backward. */
export function lora_forward(
  gpu: Gpu, enc: StepEncoder, out: Binding, xa: Binding, inp: Binding, weight: Binding, bias: Binding | null,
  loraA: Binding, loraB: Binding, M: number, N: number, K: number, r: number, scale: number,
): void {
  const name = 'lora_forward';
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  checkBuffer(name, 'out', out, M * N);
  checkBuffer(name, 'xa', xa, M * r);
  checkBuffer(name, 'inp', inp, M * K);
  checkBuffer(name, 'weight', weight, N * K);
  if (bias) checkBuffer(name, 'bias', bias, N);
  checkBuffer(name, 'loraA', loraA, r * K);
  checkBuffer(name, 'loraB', loraB, N * r);
  matmul2_strided(gpu, enc, { out: xa, M, N: r, x1: { buf: inp, s0: K, s1: 1 }, z1: { buf: loraA, s0: 1, s1: K }, K1: K }, name);
  matmul2_strided(gpu, enc, {
    out, M, N,
    x1: { buf: inp, s0: K, s1: 1 }, z1: { buf: weight, s0: 1, s1: K }, K1: K,
    x2: { buf: xa, s0: r, s1: 1 }, z2: { buf: loraB, s0: 1, s1: r }, K2: r, alpha2: scale,
    bias,
  }, name);
}

/**
 * dB += scale·doutᵀ·xa ; dA += (scale·dout·B)ᵀ·inp ; dinp = dout·W + scale·(dout·B)·A
 * (dinp += … when accumulateDinp). Any of dinp, dA, dB may be null to skip it.
 */
export function lora_backward(
  gpu: Gpu, enc: StepEncoder, dinp: Binding | null, dA: Binding | null, dB: Binding | null, dout: Binding,
  inp: Binding, xa: Binding, weight: Binding, loraA: Binding, loraB: Binding,
  M: number, N: number, K: number, r: number, scale: number, accumulateDinp = false,
): void {
  const name = 'lora_backward';
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  if (dinp) checkBuffer(name, 'dinp', dinp, M * K);
  if (dA) checkBuffer(name, 'dA', dA, r * K);
  if (dB) checkBuffer(name, 'dB', dB, N * r);
  checkBuffer(name, 'dout', dout, M * N);
  checkBuffer(name, 'inp', inp, M * K);
  checkBuffer(name, 'xa', xa, M * r);
  checkBuffer(name, 'weight', weight, N * K);
  checkBuffer(name, 'loraA', loraA, r * K);
  checkBuffer(name, 'loraB', loraB, N * r);
  if (dB) {
    matmul2_strided(gpu, enc, { out: dB, M: N, N: r, x1: { buf: dout, s0: 1, s1: N }, z1: { buf: xa, s0: r, s1: 1 }, K1: M, alpha1: scale, accumulate: true }, name);
  }
  if (!dA && !dinp) return;
  const g = gScratch(gpu, M * r);
  matmul2_strided(gpu, enc, { out: g, M, N: r, x1: { buf: dout, s0: N, s1: 1 }, z1: { buf: loraB, s0: r, s1: 1 }, K1: N, alpha1: scale }, name);
  if (dA) {
    matmul2_strided(gpu, enc, { out: dA, M: r, N: K, x1: { buf: g, s0: 1, s1: r }, z1: { buf: inp, s0: K, s1: 1 }, K1: M, accumulate: true }, name);
  }
  if (dinp) {
    matmul2_strided(gpu, enc, {
      out: dinp, M, N: K,
      x1: { buf: dout, s0: N, s1: 1 }, z1: { buf: weight, s0: K, s1: 1 }, K1: N,
      x2: { buf: g, s0: r, s1: 1 }, z2: { buf: loraA, s0: K, s1: 1 }, K2: r,
      accumulate: accumulateDinp,
    }, name);
  }
}

function mergeLaunch(name: string, sign: 1 | -1, gpu: Gpu, enc: StepEncoder, weight: Binding, loraA: Binding, loraB: Binding, N: number, K: number, r: number, scale: number): void {
  checkDims(name, { N, K, r });
  checkScale(name, scale);
  checkBuffer(name, 'weight', weight, N * K);
  checkBuffer(name, 'loraA', loraA, r * K);
  checkBuffer(name, 'loraB', loraB, N * r);
  matmul2_strided(gpu, enc, { out: weight, M: N, N: K, x1: { buf: loraB, s0: r, s1: 1 }, z1: { buf: loraA, s0: K, s1: 1 }, K1: r, alpha1: sign * scale, accumulate: true }, name);
}

/** W += scale·B·A (fold the adapter into the frozen weight for inference). */
export function lora_merge(gpu: Gpu, enc: StepEncoder, weight: Binding, loraA: Binding, loraB: Binding, N: number, K: number, r: number, scale: number): void {
  mergeLaunch('lora_merge', 1, gpu, enc, weight, loraA, loraB, N, K, r, scale);
}

/** W −= scale·B·A (undo lora_merge, up to f32 rounding). */
export function lora_unmerge(gpu: Gpu, enc: StepEncoder, weight: Binding, loraA: Binding, loraB: Binding, N: number, K: number, r: number, scale: number): void {
  mergeLaunch('lora_unmerge', -1, gpu, enc, weight, loraA, loraB, N, K, r, scale);
}

// ------------------------------------------------------------------ float64 references

export function lora_forward_reference(
  out: Float64Array, xa: Float64Array, inp: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | null,
  loraA: ArrayLike<number>, loraB: ArrayLike<number>, M: number, N: number, K: number, r: number, scale: number,
): void {
  const name = 'lora_forward_reference';
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  checkArray(name, 'out', out, M * N);
  checkArray(name, 'xa', xa, M * r);
  checkArray(name, 'inp', inp, M * K);
  checkArray(name, 'weight', weight, N * K);
  if (bias) checkArray(name, 'bias', bias, N);
  checkArray(name, 'loraA', loraA, r * K);
  checkArray(name, 'loraB', loraB, N * r);
  for (let i = 0; i < M; i++) {
    for (let q = 0; q < r; q++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += inp[i * K + k] * loraA[q * K + k];
      xa[i * r + q] = s;
    }
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += inp[i * K + k] * weight[n * K + k];
      let u = 0;
      for (let q = 0; q < r; q++) u += xa[i * r + q] * loraB[n * r + q];
      out[i * N + n] = s + scale * u;
    }
  }
}

export function lora_backward_reference(
  dinp: Float64Array | null, dA: Float64Array | null, dB: Float64Array | null, dout: ArrayLike<number>,
  inp: ArrayLike<number>, xa: ArrayLike<number>, weight: ArrayLike<number>, loraA: ArrayLike<number>, loraB: ArrayLike<number>,
  M: number, N: number, K: number, r: number, scale: number, accumulateDinp = false,
): void {
  const name = 'lora_backward_reference';
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  if (dinp) checkArray(name, 'dinp', dinp, M * K);
  if (dA) checkArray(name, 'dA', dA, r * K);
  if (dB) checkArray(name, 'dB', dB, N * r);
  checkArray(name, 'dout', dout, M * N);
  checkArray(name, 'inp', inp, M * K);
  checkArray(name, 'xa', xa, M * r);
  checkArray(name, 'weight', weight, N * K);
  checkArray(name, 'loraA', loraA, r * K);
  checkArray(name, 'loraB', loraB, N * r);
  const g = new Float64Array(M * r); // scale · dout·B
  for (let i = 0; i < M; i++) {
    for (let q = 0; q < r; q++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dout[i * N + n] * loraB[n * r + q];
      g[i * r + q] = scale * s;
    }
  }
  if (dB) {
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < r; q++) {
        let s = 0;
        for (let i = 0; i < M; i++) s += dout[i * N + n] * xa[i * r + q];
        dB[n * r + q] += scale * s;
      }
    }
  }
  if (dA) {
    for (let q = 0; q < r; q++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let i = 0; i < M; i++) s += g[i * r + q] * inp[i * K + k];
        dA[q * K + k] += s;
      }
    }
  }
  if (dinp) {
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += dout[i * N + n] * weight[n * K + k];
        for (let q = 0; q < r; q++) s += g[i * r + q] * loraA[q * K + k];
        dinp[i * K + k] = accumulateDinp ? dinp[i * K + k] + s : s;
      }
    }
  }
}

function mergeReference(name: string, sign: number, weight: Float64Array, loraA: ArrayLike<number>, loraB: ArrayLike<number>, N: number, K: number, r: number, scale: number): void {
  checkDims(name, { N, K, r });
  checkScale(name, scale);
  checkArray(name, 'weight', weight, N * K);
  checkArray(name, 'loraA', loraA, r * K);
  checkArray(name, 'loraB', loraB, N * r);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let q = 0; q < r; q++) s += loraB[n * r + q] * loraA[q * K + k];
      weight[n * K + k] += sign * scale * s;
    }
  }
}

export function lora_merge_reference(weight: Float64Array, loraA: ArrayLike<number>, loraB: ArrayLike<number>, N: number, K: number, r: number, scale: number): void {
  mergeReference('lora_merge_reference', 1, weight, loraA, loraB, N, K, r, scale);
}

export function lora_unmerge_reference(weight: Float64Array, loraA: ArrayLike<number>, loraB: ArrayLike<number>, N: number, K: number, r: number, scale: number): void {
  mergeReference('lora_unmerge_reference', -1, weight, loraA, loraB, N, K, r, scale);
}
