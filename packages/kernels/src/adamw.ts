// AdamW over element ranges of flat buffers, with a deterministic global gradient norm and
// clipping — torch.optim.AdamW + torch.nn.utils.clip_grad_norm_ in one fused update.
//
// params, grads, m, v: flat f32 buffers (the same element layout). `ranges` lists the trainable
// parts: { offset, length } in elements, a weight decay and an lrScale each (layer-wise LR decay,
// parameter groups). Elements outside every range are never read or written: frozen parameters
// (and their m, v) keep their exact bits.
//
// Hyper-parameters live in a small f32 storage buffer the trainer rewrites each step (so the
// schedule never forces a new pipeline or uniform): ADAMW_HYPER_WORDS = 10 f32, layout
//   [0] lr            base learning rate of this step (each range uses lr·lrScale)
//   [1] beta1         [2] beta2         [3] eps
//   [4] bc1 = 1 − beta1^step            [5] sqrt(bc2) = sqrt(1 − beta2^step)
//   [6] maxGradNorm   (≤ 0: no clipping)
//   [7] gradScale     multiplies every gradient first (1 / gradient-accumulation steps)
//   [8] 1 − beta1     [9] 1 − beta2     (computed in float64, as PyTorch does: f32(1 − 0.999) differs
//                                       from 1 − f32(0.999) by 1.3e-5 relative, which shows in v)
// adamw_hyperparameters({...}) builds it (bias corrections in float64, as PyTorch does).
//
// Per element of a range (g = grads·gradScale·clip):
//   clip = min(1, maxGradNorm / (gradScale·sqrt(normSq) + 1e-6))   (PyTorch's clip_coef, clamped)
//   p ← p · (1 − lr·lrScale·wd)                                   (decoupled decay, before Adam)
//   m ← β1·m + (1 − β1)·g ;  v ← β2·v + (1 − β2)·g²
//   p ← p − (lr·lrScale / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)   (eps after the bias-corrected sqrt)
//
// grad_norm_squared(out, grads, ranges): out[0] = Σ grads² over the ranges (raw, before
// gradScale), by a fixed two-pass tree (per-chunk partial sums, then one workgroup) — the same
// bits every run, no atomics. adamw_update reads it when maxGradNorm > 0.
//
// Design: the ranges are cut into chunks of 4096 elements (a table in a storage buffer, cached
// per range list); one 64-invocation workgroup per chunk; one dispatch per 256 chunks (1M
// elements) covers every range in order.
// The update is memory-bound: 16 bytes read + 12 written per element, ~15 flops.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { bindingSize } from './runtime.js';
import { checkArray, checkBuffer } from './check.js';

export const ADAMW_HYPER_WORDS = 10;
const WG = 64;
const CHUNK = 4096;
/** 256 chunks = 1M elements per dispatch: ~30–100 ms of AdamW on lavapipe, so no dispatch runs long. */
const CHUNKS_PER_DISPATCH = 256;

export interface AdamWRange {
  /** First element (in elements of the bound buffers). */
  offset: number;
  /** Number of elements. */
  length: number;
  /** Decoupled weight decay (0 for biases and LayerNorm weights, as Hugging Face does). */
  weightDecay: number;
  /** Multiplies the learning rate for this range (1 when absent). */
  lrScale?: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Optimizer step, counting from 1. */
  step: number;
  /** Clip the global gradient norm to this; 0 / absent = no clipping. */
  maxGradNorm?: number;
  /** Multiplies every gradient first (1 / accumulation steps); default 1. */
  gradScale?: number;
}

/** The 8 f32 words of the hyper-parameter buffer for one step (write with gpu.write each step). */
export function adamw_hyperparameters(h: AdamWHyper): Float32Array {
  const bad = (k: string, v: number, why: string) => {
    throw new Error(`adamw_hyperparameters: ${k}=${v} ${why}`);
  };
  if (!(h.lr >= 0) || !Number.isFinite(h.lr)) bad('lr', h.lr, 'must be a finite number ≥ 0');
  if (!(h.beta1 >= 0 && h.beta1 < 1)) bad('beta1', h.beta1, 'must be in [0, 1)');
  if (!(h.beta2 >= 0 && h.beta2 < 1)) bad('beta2', h.beta2, 'must be in [0, 1)');
  if (!(h.eps > 0)) bad('eps', h.eps, 'must be > 0');
  if (!Number.isInteger(h.step) || h.step < 1) bad('step', h.step, 'must be an integer ≥ 1');
  const maxNorm = h.maxGradNorm ?? 0;
  if (!(maxNorm >= 0)) bad('maxGradNorm', maxNorm, 'must be ≥ 0 (0 = no clipping)');
  const gradScale = h.gradScale ?? 1;
  if (!(gradScale > 0) || !Number.isFinite(gradScale)) bad('gradScale', gradScale, 'must be a finite number > 0');
  return Float32Array.of(
    h.lr,
    h.beta1,
    h.beta2,
    h.eps,
    1 - h.beta1 ** h.step,
    Math.sqrt(1 - h.beta2 ** h.step),
    Number.isFinite(maxNorm) ? maxNorm : 0,
    gradScale,
    1 - h.beta1,
    1 - h.beta2,
  );
}

const TABLE_STRUCT = /* wgsl */ `
struct Chunk { start: u32, len: u32, wd: f32, lr_scale: f32 }
`;

const ADAMW_WGSL = /* wgsl */ `
${TABLE_STRUCT}
struct Dims { nChunks: u32, chunk0: u32, useNorm: u32, pad: u32 }
@group(0) @binding(0) var<uniform> D: Dims;
@group(0) @binding(1) var<storage, read> table: array<Chunk>;
@group(0) @binding(2) var<storage, read> hyper: array<f32, ${ADAMW_HYPER_WORDS}>;
@group(0) @binding(3) var<storage, read> norm_sq: array<f32>;
@group(0) @binding(4) var<storage, read> grads: array<f32>;
@group(0) @binding(5) var<storage, read_write> params: array<f32>;
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let ci = D.chunk0 + wid.x;
  if (ci >= D.nChunks) { return; }
  let ch = table[ci];
  let lr = hyper[0] * ch.lr_scale;
  let b1 = hyper[1]; let b2 = hyper[2]; let eps = hyper[3];
  let step_size = lr / hyper[4];
  let bc2_sqrt = hyper[5];
  let max_norm = hyper[6];
  let gscale = hyper[7];
  let omb1 = hyper[8]; let omb2 = hyper[9];
  var g_mul = gscale;
  if (D.useNorm != 0u && max_norm > 0.0) {
    let total = sqrt(norm_sq[0]) * gscale;
    g_mul = gscale * min(1.0, max_norm / (total + 1e-6));
  }
  let decay = 1.0 - lr * ch.wd;
  for (var k = lid; k < ch.len; k += ${WG}u) {
    let i = ch.start + k;
    let g = grads[i] * g_mul;
    let mi = b1 * m[i] + omb1 * g;
    let vi = b2 * v[i] + omb2 * g * g;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / bc2_sqrt + eps;
    params[i] = params[i] * decay - step_size * (mi / denom);
  }
}
`;

// Pass 1 writes one partial per invocation (no barriers: on lavapipe a workgroup tree cost more
// than the sums — barriers are coroutine switches); pass 2 adds them in a fixed order.
const NORM_PASS1_WGSL = /* wgsl */ `
${TABLE_STRUCT}
struct Dims { nChunks: u32, chunk0: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> D: Dims;
@group(0) @binding(1) var<storage, read> table: array<Chunk>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let ci = D.chunk0 + wid.x;
  if (ci >= D.nChunks) { return; }
  let ch = table[ci];
  var s = 0.0;
  for (var k = lid; k < ch.len; k += ${WG}u) { let g = grads[ch.start + k]; s += g * g; }
  partials[ci * ${WG}u + lid] = s;
}
`;

const NORM_PASS2_WGSL = /* wgsl */ `
struct Dims { nChunks: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> D: Dims;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var k = lid; k < D.nChunks * ${WG}u; k += ${WG}u) { s += partials[k]; }
  acc[lid] = s;
  workgroupBarrier();
  for (var stride = ${WG / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { acc[lid] += acc[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = acc[0]; }
}
`;

interface Table {
  buffer: GPUBuffer;
  nChunks: number;
  end: number;
}

const tables = new WeakMap<Gpu, Map<string, Table>>();
const partialBuffers = new WeakMap<Gpu, GPUBuffer>();

function validateRanges(name: string, ranges: readonly AdamWRange[]): void {
  if (!Array.isArray(ranges) || ranges.length === 0) throw new Error(`${name}: ranges must be a non-empty array`);
  const sorted = ranges.map((r, i) => ({ r, i })).sort((a, b) => a.r.offset - b.r.offset);
  let end = 0;
  for (const { r, i } of sorted) {
    if (!Number.isInteger(r.offset) || r.offset < 0) throw new Error(`${name}: ranges[${i}].offset=${r.offset} must be an integer ≥ 0`);
    if (!Number.isInteger(r.length) || r.length < 1) throw new Error(`${name}: ranges[${i}].length=${r.length} must be a positive integer`);
    if (!(r.weightDecay >= 0) || !Number.isFinite(r.weightDecay)) throw new Error(`${name}: ranges[${i}].weightDecay=${r.weightDecay} must be a finite number ≥ 0`);
    const s = r.lrScale ?? 1;
    if (!(s >= 0) || !Number.isFinite(s)) throw new Error(`${name}: ranges[${i}].lrScale=${s} must be a finite number ≥ 0`);
    if (r.offset < end) throw new Error(`${name}: ranges[${i}] (offset ${r.offset}) overlaps an earlier range ending at ${end}`);
    end = r.offset + r.length;
  }
}

function rangesEnd(ranges: readonly AdamWRange[]): number {
  return Math.max(...ranges.map((r) => r.offset + r.length));
}

function chunkTable(gpu: Gpu, name: string, ranges: readonly AdamWRange[]): Table {
  validateRanges(name, ranges);
  const key = ranges.map((r) => `${r.offset},${r.length},${r.weightDecay},${r.lrScale ?? 1}`).join(';');
  let perGpu = tables.get(gpu);
  if (!perGpu) tables.set(gpu, (perGpu = new Map()));
  const hit = perGpu.get(key);
  if (hit) return hit;
  const words: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const bits = (x: number) => ((f[0] = x), u[0]);
  for (const r of ranges) {
    for (let s = 0; s < r.length; s += CHUNK) {
      words.push(r.offset + s, Math.min(CHUNK, r.length - s), bits(r.weightDecay), bits(r.lrScale ?? 1));
    }
  }
  const t: Table = { buffer: gpu.buffer(Uint32Array.from(words), `${name}:chunks`), nChunks: words.length / 4, end: rangesEnd(ranges) };
  perGpu.set(key, t);
  return t;
}

/** Chunk ranges [c0, c0 + n) of at most CHUNKS_PER_DISPATCH chunks: one dispatch each. */
function dispatchRanges(nChunks: number): [number, number][] {
  const out: [number, number][] = [];
  for (let c0 = 0; c0 < nChunks; c0 += CHUNKS_PER_DISPATCH) out.push([c0, Math.min(CHUNKS_PER_DISPATCH, nChunks - c0)]);
  return out;
}

function partials(gpu: Gpu, n: number): GPUBuffer {
  let b = partialBuffers.get(gpu);
  if (!b || b.size < n * 4) {
    b = gpu.zeros(Math.max(n, 1024) * 4, 'grad_norm_squared:partials');
    partialBuffers.set(gpu, b);
  }
  return b;
}

/** out[0] = Σ grads² over `ranges` (deterministic two-pass reduction). */
export function grad_norm_squared(gpu: Gpu, enc: StepEncoder, out: Binding, grads: Binding, ranges: readonly AdamWRange[]): void {
  const name = 'grad_norm_squared';
  const table = chunkTable(gpu, name, ranges);
  checkBuffer(name, 'grads', grads, table.end);
  checkBuffer(name, 'out', out, 1);
  const part = partials(gpu, table.nChunks * WG);
  const pass1 = gpu.pipeline(`${name}_pass1`, NORM_PASS1_WGSL);
  for (const [c0, n] of dispatchRanges(table.nChunks)) {
    enc.dispatch(pass1, [gpu.uniform([table.nChunks, c0, 0, 0]), table.buffer, grads, part], n);
  }
  enc.dispatch(gpu.pipeline(`${name}_pass2`, NORM_PASS2_WGSL), [gpu.uniform([table.nChunks, 0, 0, 0]), part, out], 1);
}

/**
 * One fused AdamW step over `ranges`. `hyper` holds ADAMW_HYPER_WORDS f32 (adamw_hyperparameters);
 * `gradNormSq` is grad_norm_squared's output, or null when not clipping (hyper[6] is then ignored).
 */
export function adamw_update(
  gpu: Gpu,
  enc: StepEncoder,
  params: Binding,
  grads: Binding,
  m: Binding,
  v: Binding,
  hyper: Binding,
  gradNormSq: Binding | null,
  ranges: readonly AdamWRange[],
): void {
  const name = 'adamw_update';
  const table = chunkTable(gpu, name, ranges);
  for (const [n, b] of [['params', params], ['grads', grads], ['m', m], ['v', v]] as const) checkBuffer(name, n, b, table.end);
  checkBuffer(name, 'hyper', hyper, ADAMW_HYPER_WORDS);
  if (gradNormSq) checkBuffer(name, 'gradNormSq', gradNormSq, 1);
  if (bindingSize(hyper) < ADAMW_HYPER_WORDS * 4) throw new Error(`${name}: hyper must hold ${ADAMW_HYPER_WORDS} f32`);
  const pipe = gpu.pipeline(name, ADAMW_WGSL);
  for (const [c0, n] of dispatchRanges(table.nChunks)) {
    const dims = gpu.uniform([table.nChunks, c0, gradNormSq ? 1 : 0, 0]);
    // Without a norm, bind the hyper buffer in its place (read-only; never read then).
    enc.dispatch(pipe, [dims, table.buffer, hyper, gradNormSq ?? hyper, grads, params, m, v], n);
  }
}

/** float64 reference of grad_norm_squared. */
export function grad_norm_squared_reference(out: Float64Array, grads: ArrayLike<number>, ranges: readonly AdamWRange[]): void {
  const name = 'grad_norm_squared_reference';
  validateRanges(name, ranges);
  checkArray(name, 'grads', grads, rangesEnd(ranges));
  checkArray(name, 'out', out, 1);
  let s = 0;
  for (const r of ranges) for (let i = r.offset; i < r.offset + r.length; i++) s += grads[i] * grads[i];
  out[0] = s;
}

/** float64 reference of adamw_update (params, m, v updated in place). */
export function adamw_update_reference(
  params: Float64Array,
  grads: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  hyper: ArrayLike<number>,
  gradNormSq: ArrayLike<number> | null,
  ranges: readonly AdamWRange[],
): void {
  const name = 'adamw_update_reference';
  validateRanges(name, ranges);
  const end = rangesEnd(ranges);
  checkArray(name, 'params', params, end);
  checkArray(name, 'grads', grads, end);
  checkArray(name, 'm', m, end);
  checkArray(name, 'v', v, end);
  checkArray(name, 'hyper', hyper, ADAMW_HYPER_WORDS);
  const [lr0, b1, b2, eps, bc1, bc2Sqrt, maxNorm, gscale, omb1, omb2] = Array.from(hyper).slice(0, ADAMW_HYPER_WORDS);
  let gmul = gscale;
  if (gradNormSq && maxNorm > 0) gmul = gscale * Math.min(1, maxNorm / (Math.sqrt(gradNormSq[0]) * gscale + 1e-6));
  for (const r of ranges) {
    const lr = lr0 * (r.lrScale ?? 1);
    for (let i = r.offset; i < r.offset + r.length; i++) {
      const g = grads[i] * gmul;
      params[i] *= 1 - lr * r.weightDecay;
      m[i] = b1 * m[i] + omb1 * g;
      v[i] = b2 * v[i] + omb2 * g * g;
      params[i] -= (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps));
    }
  }
}
