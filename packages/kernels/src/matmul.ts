// matmul: the kernel most of a BERT step's time is spent in, and the linear layer built on it.
//
// Notation: M rows of the output, N columns, K the reduced axis. Row-major everywhere.
//
//   matmul          out_z (M,N) [+]= alpha · op(a_z) · op(b_z) (+ bias), z = 0..batch-1
//                   op(a) = a (M,K), or aᵀ with a stored (K,M) when transA;
//                   op(b) = b (K,N), or bᵀ with b stored (N,K) when transB;
//                   a_z starts at z·strideA elements (likewise b, out): attention heads.
//   matmul_forward  c (M,N) = a (M,K) · b (K,N) + bias          (the original entry point)
//   linear_forward  out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (Hugging Face weight layout)
//   linear_backward dinp (M,K)  = dout · weight              (overwritten, or += with accumulateDinp)
//                   dweight (N,K) += doutᵀ · inp
//                   dbias (N)    += column sums of dout
//   bias_backward   dbias (N) += Σ_i dout (i, :)             (bias_backward.ts: row blocks, then a fixed-order sum; no atomics,
//                                                              the same bits every run)
//
// The WGSL lives in one file per variant (matmul_subgroup, matmul_register, matmul_tiled,
// matmul_naive; shared epilogue in matmul_common); tune.ts picks the variant per adapter.
// Transposed operands: aᵀ is walked in place by every variant (a different stride in the K loop;
// the lanes still read consecutive addresses, so it is free). bᵀ is walked in place by 'tiled' and
// 'naive'; 'subgroup' and 'register' first copy it into a per-device scratch buffer as (K, N),
// because reading 8 columns per lane K·4 bytes apart ran at half speed on lavapipe while the copy
// costs 1–3 % of the product (NOTES.md has the measurements).
//
// Each variant gets its problem in dispatches of at most MAX_DISPATCH_FLOPS, split over rows and
// batch items, so that no single dispatch runs for long on a software adapter.

import { bindingOffset, bindingSize, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import {
  MATMUL_FLAG_ACCUMULATE,
  MATMUL_FLAG_BIAS,
  MATMUL_FLAG_TRANS_A,
  MATMUL_FLAG_TRANS_B,
  type MatmulLayout,
  type MatmulVariantInfo,
} from './matmul_common.js';
import { MATMUL_SUBGROUP } from './matmul_subgroup.js';
import { MATMUL_REGISTER } from './matmul_register.js';
import { MATMUL_TILED } from './matmul_tiled.js';
import { MATMUL_NAIVE } from './matmul_naive.js';
import { matmulVariantFor, subgroupMatmulUsable, type MatmulVariant } from './tune.js';
import { bias_backward, bias_backward_reference } from './bias_backward.js';
import { transpose_batched } from './transpose.js';

export { bias_backward, bias_backward_reference };

export type { MatmulVariant } from './tune.js';

/** The shape part of a matmul: everything but the tensors. */
export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** a is stored (K, M) and used transposed. */
  transA?: boolean;
  /** b is stored (N, K) and used transposed. */
  transB?: boolean;
  /** out += result (gradients) instead of out = result. */
  accumulate?: boolean;
  /** Scale of the product (not of bias or the old out). Default 1. */
  alpha?: number;
  /** Number of independent products (attention: batch · heads). Default 1. */
  batch?: number;
  /** Elements between consecutive batch items of a; default M·K (0 reuses one matrix). */
  strideA?: number;
  /** Elements between consecutive batch items of b; default K·N (0 reuses one matrix). */
  strideB?: number;
  /** Elements between consecutive batch items of out; default M·N, at least M·N when batch > 1. */
  strideOut?: number;
}

export interface MatmulArgs extends MatmulShape {
  out: Binding;
  a: Binding;
  b: Binding;
  /** (N) added to every output row of every batch item. */
  bias?: Binding | null;
  /** Force a variant (tests, benchmarks); default: matmulVariantFor(gpu). */
  variant?: MatmulVariant;
  /** Split into dispatches of at most this many FLOPs; default MAX_DISPATCH_FLOPS (tests lower it). */
  maxDispatchFlops?: number;
}

const VARIANTS: Record<MatmulVariant, MatmulVariantInfo> = {
  subgroup: MATMUL_SUBGROUP,
  register: MATMUL_REGISTER,
  tiled: MATMUL_TILED,
  naive: MATMUL_NAIVE,
};

/** Upper bound on the multiply-adds ×2 of one dispatch (≈50 ms at 20 GFLOP/s). */
export const MAX_DISPATCH_FLOPS = 2 ** 30;

interface Resolved {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  alpha: number;
  batch: number;
  strideA: number;
  strideB: number;
  strideOut: number;
}

/** Validate a shape (dims, strides, alpha) and fill in defaults; errors name `kernel`. */
function resolveShape(kernel: string, s: MatmulShape): Resolved {
  const batch = s.batch ?? 1;
  checkDims(kernel, { M: s.M, N: s.N, K: s.K, batch });
  const r: Resolved = {
    M: s.M,
    N: s.N,
    K: s.K,
    transA: s.transA ?? false,
    transB: s.transB ?? false,
    accumulate: s.accumulate ?? false,
    alpha: s.alpha ?? 1,
    batch,
    strideA: s.strideA ?? s.M * s.K,
    strideB: s.strideB ?? s.K * s.N,
    strideOut: s.strideOut ?? s.M * s.N,
  };
  for (const key of ['strideA', 'strideB', 'strideOut'] as const) {
    const v = r[key];
    if (!Number.isInteger(v) || v < 0) throw new Error(`${kernel}: ${key}=${v} must be a non-negative integer`);
  }
  if (batch > 1 && r.strideOut < r.M * r.N) {
    throw new Error(`${kernel}: strideOut=${r.strideOut} < M·N=${r.M * r.N}: batch items would overlap in out`);
  }
  if (typeof r.alpha !== 'number' || !Number.isFinite(r.alpha)) throw new Error(`${kernel}: alpha=${r.alpha} must be a finite number`);
  for (const key of ['transA', 'transB', 'accumulate'] as const) {
    if (typeof r[key] !== 'boolean') throw new Error(`${kernel}: ${key} must be a boolean`);
  }
  return r;
}

/** True when two bindings share bytes of one buffer. */
function overlaps(x: Binding, y: Binding): boolean {
  const bx = 'buffer' in x && typeof (x as GPUBufferBinding).buffer === 'object' ? (x as GPUBufferBinding) : { buffer: x as GPUBuffer };
  const by = 'buffer' in y && typeof (y as GPUBufferBinding).buffer === 'object' ? (y as GPUBufferBinding) : { buffer: y as GPUBuffer };
  if (bx.buffer !== by.buffer) return false;
  const x0 = bx.offset ?? 0;
  const y0 = by.offset ?? 0;
  return x0 < y0 + bindingSize(y) && y0 < x0 + bindingSize(x);
}

/** Elements a batched operand spans: (batch − 1)·stride + one matrix. */
function span(batch: number, stride: number, one: number): number {
  return (batch - 1) * stride + one;
}

const f32bits = new Float32Array(1);
const u32view = new Uint32Array(f32bits.buffer);
function bitsOf(x: number): number {
  f32bits[0] = x;
  return u32view[0];
}

/** Validate buffers, then record the dispatches. Everything is checked before the first dispatch. */
function record(gpu: Gpu, enc: StepEncoder, kernel: string, args: MatmulArgs): void {
  const s = resolveShape(kernel, args);
  checkBuffer(kernel, 'a', args.a, span(s.batch, s.strideA, s.M * s.K));
  checkBuffer(kernel, 'b', args.b, span(s.batch, s.strideB, s.K * s.N));
  if (args.bias) checkBuffer(kernel, 'bias', args.bias, s.N);
  checkBuffer(kernel, 'out', args.out, span(s.batch, s.strideOut, s.M * s.N));
  for (const [name, x] of [['a', args.a], ['b', args.b], ['bias', args.bias]] as const) {
    if (x && overlaps(args.out, x)) throw new Error(`${kernel}: 'out' overlaps '${name}' (WebGPU cannot read and write one range in a dispatch)`);
  }
  const variant = args.variant ?? matmulVariantFor(gpu);
  const info = VARIANTS[variant];
  if (!info) throw new Error(`${kernel}: unknown variant '${String(variant)}'`);
  for (const f of info.requires) {
    if (!gpu.has(f)) throw new Error(`${kernel}: variant '${variant}' needs the '${f}' feature, which this device lacks`);
  }
  if (variant === 'subgroup' && !subgroupMatmulUsable(gpu)) {
    throw new Error(`${kernel}: variant 'subgroup' needs 8-lane subgroups, which this device does not have`);
  }
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const narrow = !!info.narrowTile && s.N <= info.narrowTile.maxN;
  const tileN = narrow ? info.narrowTile!.tileN : info.tileN;
  const gx = Math.ceil(s.N / tileN);
  if (gx > max) throw new Error(`${kernel}: N=${s.N} needs ${gx} workgroups along x, more than ${max}`);

  // bᵀ for variants that only read B untransposed: copy it into scratch as (K, N) per batch item.
  let b = args.b;
  let strideB = s.strideB;
  let transB = s.transB;
  const flops = 2 * s.batch * s.M * s.N * s.K;
  if (transB && !info.transBInKernel && !(flops <= (info.transBInKernelBelowFlops ?? -1))) {
    const items = s.strideB === 0 ? 1 : s.batch;
    const bytes = items * s.K * s.N * 4;
    if (bytes > gpu.limits.maxStorageBufferBindingSize) {
      throw new Error(`${kernel}: bᵀ needs a ${bytes}-byte scratch buffer, over this device's binding limit; use variant 'tiled' or 'naive'`);
    }
    // Bound as an exact range (the scratch buffer may be larger), so profiles count real bytes.
    b = { buffer: scratch(gpu, items * s.K * s.N), offset: 0, size: items * s.K * s.N * 4 };
    transpose_batched(gpu, enc, b, args.b, { N: s.N, K: s.K, batch: items, sb: s.strideB }, kernel);
    strideB = s.strideB === 0 ? 0 : s.K * s.N;
    transB = false;
  }
  const layout: MatmulLayout = {
    bVec4: info.supportsBVec4 && !transB && s.N % 4 === 0 && s.N >= (narrow ? 4 : 8) && strideB % 4 === 0,
    narrow,
    // Only where rows of A are a multiple of 4 KiB apart (K % 1024 == 0): there the one-k-per-step
    // loop thrashes one L1 set and the vec4 walk wins (1024³ 21.6–22.3 vs 18.9–20.0 GFLOP/s,
    // 8192×256×1024 23.1 vs 20.4); at K = 128 it lost 9–14 % and at K = 256–512 it was a wash
    // (same-process A/B, NOTES.md `## matmul`).
    aVec4: !!info.supportsAVec4 && !s.transA && s.K % 1024 === 0 && s.strideA % 4 === 0,
    cVec4: !!info.supportsCVec4 && s.N % 4 === 0 && s.strideOut % 4 === 0 && bindingOffset(args.out) % 16 === 0,
  };
  // Row tile: the narrow one; else the short one for the vec4-A walk (the tall one measured no
  // faster there and compiled ~8× slower, NOTES.md ## matmul) or where the tall one would compute
  // over 5 % more padded rows (M = 128: 6 × 24 = 144 rows against 8 × 16 = 128); else the tall one.
  const padded = (t: number) => Math.ceil(s.M / t) * t;
  const short = info.shortTileM;
  const tileM = narrow
    ? info.narrowTile!.tileM
    : short && (layout.aVec4 || padded(info.tileM) > 1.05 * padded(short))
      ? short
      : info.tileM;
  if (short && !narrow) layout.tileM = tileM;

  // Split: rows in multiples of the variant's tile (so no tile straddles two dispatches, which
  // would add twice when accumulating), batch items when one row tile of all of them is too much.
  const budget = args.maxDispatchFlops ?? MAX_DISPATCH_FLOPS;
  const tileFlops = 2 * s.N * s.K * tileM;
  const batchChunk = Math.max(1, Math.min(s.batch, max, Math.floor(budget / tileFlops)));
  const tilesPerChunk = Math.max(1, Math.min(max, Math.floor(budget / (tileFlops * batchChunk))));
  const rowChunk = tilesPerChunk * tileM;

  const label = `${kernel}:${variant}${short && !narrow ? `:r${tileM}` : ''}${layout.bVec4 ? ':v4' : ''}${layout.aVec4 ? ':a4' : ''}${layout.cVec4 ? ':c4' : ''}${narrow ? ':narrow' : ''}`;
  const pipe = gpu.pipeline(label, info.wgsl(layout));
  const flags =
    (args.bias ? MATMUL_FLAG_BIAS : 0) |
    (s.accumulate ? MATMUL_FLAG_ACCUMULATE : 0) |
    (s.transA ? MATMUL_FLAG_TRANS_A : 0) |
    (transB ? MATMUL_FLAG_TRANS_B : 0);
  // Element steps of op(A) along rows and along k, of op(B) along columns and along k.
  const [aRow, aK] = s.transA ? [1, s.M] : [s.K, 1];
  const [bCol, bK] = transB ? [s.K, 1] : [1, s.N];
  // Without a bias, bind `a` in its place: the shader never reads it then.
  const bias = args.bias ?? args.a;
  for (let z0 = 0; z0 < s.batch; z0 += batchChunk) {
    const nz = Math.min(batchChunk, s.batch - z0);
    for (let m0 = 0; m0 < s.M; m0 += rowChunk) {
      const rows = Math.min(rowChunk, s.M - m0);
      const dims = gpu.uniform([
        s.M, s.N, s.K, flags,
        s.strideA, strideB, s.strideOut, m0,
        z0, bitsOf(s.alpha), aRow, aK,
        bCol, bK, 0, 0,
      ]);
      enc.dispatch(pipe, [dims, args.a, b, bias, args.out], gx, Math.ceil(rows / tileM), nz, 2 * rows * s.N * s.K * nz);
    }
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * One scratch buffer per device, grown (to a power of two) when a bigger one is needed. Reuse
 * inside one encoder is safe: dispatches of a compute pass run in order, and each transpose is
 * consumed by the matmul recorded right after it. Grown-out buffers are dropped, not destroyed,
 * since an encoder not yet submitted may still bind them.
 */
const scratchBuffers = new WeakMap<Gpu, GPUBuffer>();
function scratch(gpu: Gpu, elements: number): GPUBuffer {
  const have = scratchBuffers.get(gpu);
  if (have && have.size >= elements * 4) return have;
  const buf = gpu.zeros(2 ** Math.ceil(Math.log2(Math.max(elements * 4, 256))), 'matmul-scratch');
  scratchBuffers.set(gpu, buf);
  return buf;
}

/**
 * Record out_z [+]= alpha · op(a_z)·op(b_z) + bias for z < batch into `enc` (see the file header).
 * All tensors f32. Throws before recording anything when a dim, stride or buffer is wrong.
 */
export function matmul(gpu: Gpu, enc: StepEncoder, args: MatmulArgs): void {
  record(gpu, enc, 'matmul', args);
}

/** float64 reference of `matmul`: the specification. `out` is read when args.accumulate. */
export function matmul_reference(
  out: Float64Array,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  args: MatmulShape,
): void {
  const name = 'matmul_reference';
  const s = resolveShape(name, args);
  const { M, N, K } = s;
  checkArray(name, 'a', a, span(s.batch, s.strideA, M * K));
  checkArray(name, 'b', b, span(s.batch, s.strideB, K * N));
  if (bias) checkArray(name, 'bias', bias, N);
  checkArray(name, 'out', out, span(s.batch, s.strideOut, M * N));
  for (let z = 0; z < s.batch; z++) {
    const oa = z * s.strideA;
    const ob = z * s.strideB;
    const oc = z * s.strideOut;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let dot = 0;
        for (let k = 0; k < K; k++) {
          const x = s.transA ? a[oa + k * M + i] : a[oa + i * K + k];
          const y = s.transB ? b[ob + j * K + k] : b[ob + k * N + j];
          dot += x * y;
        }
        let v = s.alpha * dot + (bias ? bias[j] : 0);
        if (s.accumulate) v += out[oc + i * N + j];
        out[oc + i * N + j] = v;
      }
    }
  }
}

/**
 * Record C = A·B (+ bias) into `enc`: A (M,K), B (K,N), bias (N) or null, C (M,N). All f32.
 * The original entry point; the same kernels as `matmul`.
 */
export function matmul_forward(
  gpu: Gpu,
  enc: StepEncoder,
  c: Binding,
  a: Binding,
  b: Binding,
  bias: Binding | null,
  M: number,
  N: number,
  K: number,
): void {
  record(gpu, enc, 'matmul_forward', { out: c, a, b, bias, M, N, K });
}

/** float64 reference of matmul_forward: the specification. */
export function matmul_forward_reference(
  c: Float64Array,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  M: number,
  N: number,
  K: number,
): void {
  const name = 'matmul_forward_reference';
  checkDims(name, { M, N, K });
  checkArray(name, 'a', a, M * K);
  checkArray(name, 'b', b, K * N);
  if (bias) checkArray(name, 'bias', bias, N);
  checkArray(name, 'c', c, M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j] : 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      c[i * N + j] = s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Linear layer, Hugging Face layout: weight (N, K) = (out_features, in_features).

/** Record out (M,N) = inp (M,K) · weight (N,K)ᵀ + bias (N, or null). */
export function linear_forward(
  gpu: Gpu,
  enc: StepEncoder,
  out: Binding,
  inp: Binding,
  weight: Binding,
  bias: Binding | null,
  M: number,
  N: number,
  K: number,
  variant?: MatmulVariant,
): void {
  const name = 'linear_forward';
  checkDims(name, { M, N, K });
  checkBuffer(name, 'inp', inp, M * K);
  checkBuffer(name, 'weight', weight, N * K);
  if (bias) checkBuffer(name, 'bias', bias, N);
  checkBuffer(name, 'out', out, M * N);
  record(gpu, enc, name, { out, a: inp, b: weight, bias, M, N, K, transB: true, variant });
}

/** float64 reference of linear_forward. */
export function linear_forward_reference(
  out: Float64Array,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  M: number,
  N: number,
  K: number,
): void {
  const name = 'linear_forward_reference';
  checkDims(name, { M, N, K });
  checkArray(name, 'inp', inp, M * K);
  checkArray(name, 'weight', weight, N * K);
  if (bias) checkArray(name, 'bias', bias, N);
  checkArray(name, 'out', out, M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j] : 0;
      for (let k = 0; k < K; k++) s += inp[i * K + k] * weight[j * K + k];
      out[i * N + j] = s;
    }
  }
}

/**
 * Record the linear layer's backward. Any of dinp, dweight, dbias may be null (frozen weights,
 * first layer). dinp (M,K) = dout·weight, overwritten unless accumulateDinp; dweight (N,K) +=
 * doutᵀ·inp; dbias (N) += column sums of dout. dout (M,N), inp (M,K), weight (N,K).
 */
export function linear_backward(
  gpu: Gpu,
  enc: StepEncoder,
  dinp: Binding | null,
  dweight: Binding | null,
  dbias: Binding | null,
  dout: Binding,
  inp: Binding,
  weight: Binding,
  M: number,
  N: number,
  K: number,
  accumulateDinp = false,
  variant?: MatmulVariant,
): void {
  const name = 'linear_backward';
  checkDims(name, { M, N, K });
  checkBuffer(name, 'dout', dout, M * N);
  checkBuffer(name, 'inp', inp, M * K);
  checkBuffer(name, 'weight', weight, N * K);
  if (dinp) checkBuffer(name, 'dinp', dinp, M * K);
  if (dweight) checkBuffer(name, 'dweight', dweight, N * K);
  if (dbias) checkBuffer(name, 'dbias', dbias, N);
  if (dinp) record(gpu, enc, name, { out: dinp, a: dout, b: weight, M, N: K, K: N, accumulate: accumulateDinp, variant });
  if (dweight) record(gpu, enc, name, { out: dweight, a: dout, b: inp, M: N, N: K, K: M, transA: true, accumulate: true, variant });
  if (dbias) bias_backward(gpu, enc, dbias, dout, M, N);
}

/** float64 reference of linear_backward (same nulls, same += / overwrite rules). */
export function linear_backward_reference(
  dinp: Float64Array | null,
  dweight: Float64Array | null,
  dbias: Float64Array | null,
  dout: ArrayLike<number>,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  accumulateDinp = false,
): void {
  const name = 'linear_backward_reference';
  checkDims(name, { M, N, K });
  checkArray(name, 'dout', dout, M * N);
  checkArray(name, 'inp', inp, M * K);
  checkArray(name, 'weight', weight, N * K);
  // Each sum runs from 0 over j (dinp) or over i (dweight) in increasing order, then is stored or
  // added once; the loops are ordered so the innermost one walks contiguous rows (a whole model's
  // float64 reference spends most of its time here).
  if (dinp) {
    checkArray(name, 'dinp', dinp, M * K);
    const s = new Float64Array(K);
    for (let i = 0; i < M; i++) {
      s.fill(0);
      for (let j = 0; j < N; j++) {
        const g = dout[i * N + j];
        for (let k = 0; k < K; k++) s[k] += g * weight[j * K + k];
      }
      for (let k = 0; k < K; k++) dinp[i * K + k] = accumulateDinp ? dinp[i * K + k] + s[k] : s[k];
    }
  }
  if (dweight) {
    checkArray(name, 'dweight', dweight, N * K);
    const s = new Float64Array(N * K);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const g = dout[i * N + j];
        for (let k = 0; k < K; k++) s[j * K + k] += g * inp[i * K + k];
      }
    }
    for (let e = 0; e < N * K; e++) dweight[e] += s[e];
  }
  if (dbias) bias_backward_reference(dbias, dout, M, N);
}

// ---------------------------------------------------------------------------------------------
