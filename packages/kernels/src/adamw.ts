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
// adamw_hyperparameters({...}) builds it (bias corrections in float64, as PyTorch does);
// adamw_hyperparameters64 gives the same words unrounded, for float64 references.
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
// Design: the update is memory-bound (16 bytes read + 12 written per element, ~15 flops), and on
// lavapipe speed follows load instructions per SIMD lane, so the bulk runs on vec4: each range is
// split into its 4-aligned body and 1–3-element head and tail. Bodies are cut into chunks of
// 4096 elements (a table in a storage buffer, cached per range list); one 64-invocation workgroup
// per chunk, lanes on consecutive vec4s; one dispatch per 256 chunks (1M elements). The heads and
// tails (when any range's offset or end is not a multiple of 4) follow in one more dispatch, one
// invocation per piece, scalar. Both touch only elements inside the ranges (never a whole vec4
// straddling a range's edge), and the per-element arithmetic is identical, so the result has the
// same bits as an all-scalar pass (tested). Bindings not 16-byte aligned fall back to all-scalar
// chunks. vec4 vs scalar, same process: 1.5M params 24 → 18 ms (copy of the same bytes: 20 ms),
// 7.4M 128 → 72 ms; grad_norm_squared 4.0 → 1.4 ms at 1.5M (medians, load ~6).

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { bindingOffset, bindingSize } from './runtime.js';
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

/** The ADAMW_HYPER_WORDS f32 words of the hyper-parameter buffer for one step (write with gpu.write each step). */
export function adamw_hyperparameters(h: AdamWHyper): Float32Array {
  return Float32Array.from(adamw_hyperparameters64(h));
}

/**
 * The same words in float64, unrounded: what a float64 reference of a whole training step (the
 * trainer's model reference) passes to adamw_update_reference.
 */
export function adamw_hyperparameters64(h: AdamWHyper): Float64Array {
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
  return Float64Array.of(
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

// The update of one element (or of 4 at once: T = vec4f). `g_mul`, `decay`, `step_size`, b1, b2,
// omb1, omb2, eps, bc2_sqrt are set up by the caller from the hyper buffer and the chunk.
const UPDATE_BODY = /* wgsl */ `
    let g = grads[i] * g_mul;
    let mi = b1 * m[i] + omb1 * g;
    let vi = b2 * v[i] + omb2 * g * g;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / bc2_sqrt + eps;
    params[i] = params[i] * decay - step_size * (mi / denom);`;

/**
 * AdamW over table entries. `vec4`: entries are 4-aligned vec4 runs (start and len multiples of 4,
 * arrays of vec4f: 4 floats per load instruction); one 64-invocation workgroup per entry, lanes on
 * consecutive vec4s. Otherwise entries are element runs of any alignment: `edges` = one invocation
 * per entry (the ≤ 3-element heads and tails of ranges around their vec4 body), else one workgroup
 * per entry (the all-scalar fallback for bindings not 16-byte aligned).
 */
function adamwWgsl(vec4: boolean, edges: boolean): string {
  const T = vec4 ? 'vec4f' : 'f32';
  const loop = edges
    ? `let ci = D.chunk0 + gid.x;
  if (ci >= D.nChunks) { return; }
  let ch = table[ci];`
    : `let ci = D.chunk0 + wid.x;
  if (ci >= D.nChunks) { return; }
  let ch = table[ci];`;
  const range = vec4
    ? `for (var k = lid; k < ch.len / 4u; k += ${WG}u) {
    let i = ch.start / 4u + k;`
    : edges
      ? `for (var k = 0u; k < ch.len; k++) {
    let i = ch.start + k;`
      : `for (var k = lid; k < ch.len; k += ${WG}u) {
    let i = ch.start + k;`;
  return /* wgsl */ `
${TABLE_STRUCT}
struct Dims { nChunks: u32, chunk0: u32, useNorm: u32, pad: u32 }
@group(0) @binding(0) var<uniform> D: Dims;
@group(0) @binding(1) var<storage, read> table: array<Chunk>;
@group(0) @binding(2) var<storage, read> hyper: array<f32, ${ADAMW_HYPER_WORDS}>;
@group(0) @binding(3) var<storage, read> norm_sq: array<f32>;
@group(0) @binding(4) var<storage, read> grads: array<${T}>;
@group(0) @binding(5) var<storage, read_write> params: array<${T}>;
@group(0) @binding(6) var<storage, read_write> m: array<${T}>;
@group(0) @binding(7) var<storage, read_write> v: array<${T}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(global_invocation_id) gid: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  ${loop}
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
  ${range}
${UPDATE_BODY}
  }
}
`;
}

// Pass 1 writes one partial per invocation (no barriers: on lavapipe a workgroup tree cost more
// than the sums — barriers are coroutine switches); pass 2 adds them in a fixed order. The
// vec4 / scalar / edges variants are as in adamwWgsl; edge entry e writes partial slot
// D.pad0 + e (after the 64 slots of every vec4 chunk).
function normPass1Wgsl(vec4: boolean, edges: boolean): string {
  const T = vec4 ? 'vec4f' : 'f32';
  const body = vec4
    ? `var s4 = vec4f(0.0);
  for (var k = lid; k < ch.len / 4u; k += ${WG}u) { let g = grads[ch.start / 4u + k]; s4 += g * g; }
  partials[ci * ${WG}u + lid] = (s4.x + s4.y) + (s4.z + s4.w);`
    : edges
      ? `var s = 0.0;
  for (var k = 0u; k < ch.len; k++) { let g = grads[ch.start + k]; s += g * g; }
  partials[D.pad0 + ci - D.chunk0] = s;`
      : `var s = 0.0;
  for (var k = lid; k < ch.len; k += ${WG}u) { let g = grads[ch.start + k]; s += g * g; }
  partials[ci * ${WG}u + lid] = s;`;
  return /* wgsl */ `
${TABLE_STRUCT}
struct Dims { nChunks: u32, chunk0: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> D: Dims;
@group(0) @binding(1) var<storage, read> table: array<Chunk>;
@group(0) @binding(2) var<storage, read> grads: array<${T}>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(global_invocation_id) gid: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let ci = D.chunk0 + ${edges ? 'gid.x' : 'wid.x'};
  if (ci >= D.nChunks) { return; }
  let ch = table[ci];
  ${body}
}
`;
}

const NORM_PASS2_WGSL = /* wgsl */ `
struct Dims { nPartials: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> D: Dims;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var k = lid; k < D.nPartials; k += ${WG}u) { s += partials[k]; }
  acc[lid] = s;
  workgroupBarrier();
  for (var stride = ${WG / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { acc[lid] += acc[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = acc[0]; }
}
`;

/**
 * The chunk table of a range list. vec4 layout: entries [0, nChunks) are 4-aligned runs of at most
 * CHUNK elements (each range's vec4 body), entries [nChunks, nChunks + nEdges) the 1–3-element
 * heads and tails of ranges whose offset or end is not a multiple of 4. Scalar layout: runs of
 * at most CHUNK elements, any alignment, no edges.
 */
interface Table {
  buffer: GPUBuffer;
  nChunks: number;
  nEdges: number;
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

function chunkTable(gpu: Gpu, name: string, ranges: readonly AdamWRange[], vec4: boolean): Table {
  validateRanges(name, ranges);
  const key = `${vec4 ? 'v4' : 's'}:` + ranges.map((r) => `${r.offset},${r.length},${r.weightDecay},${r.lrScale ?? 1}`).join(';');
  let perGpu = tables.get(gpu);
  if (!perGpu) tables.set(gpu, (perGpu = new Map()));
  const hit = perGpu.get(key);
  if (hit) return hit;
  const chunks: number[] = [];
  const edges: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const bits = (x: number) => ((f[0] = x), u[0]);
  for (const r of ranges) {
    const wd = bits(r.weightDecay);
    const ls = bits(r.lrScale ?? 1);
    const end = r.offset + r.length;
    // vec4 body [a, b): a = offset rounded up, b = end rounded down, to multiples of 4.
    const a = vec4 ? Math.min(Math.ceil(r.offset / 4) * 4, end) : r.offset;
    const b = vec4 ? Math.max(Math.floor(end / 4) * 4, a) : end;
    if (a > r.offset) edges.push(r.offset, a - r.offset, wd, ls);
    for (let s = a; s < b; s += CHUNK) chunks.push(s, Math.min(CHUNK, b - s), wd, ls);
    if (end > b) edges.push(b, end - b, wd, ls);
  }
  const words = chunks.concat(edges);
  const t: Table = {
    buffer: gpu.buffer(Uint32Array.from(words.length ? words : [0, 0, 0, 0]), `${name}:chunks`),
    nChunks: chunks.length / 4,
    nEdges: edges.length / 4,
    end: rangesEnd(ranges),
  };
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

/** True when every binding starts on a 16-byte boundary (array<vec4f> needs it). */
function vec4Aligned(bindings: Binding[]): boolean {
  return bindings.every((b) => bindingOffset(b) % 16 === 0);
}

let forceScalar = false;
/** Tests and benchmarks: run the all-scalar layout even where vec4 would do. */
export function setAdamwScalarOnly(on: boolean): void {
  forceScalar = on;
}

/** out[0] = Σ grads² over `ranges` (deterministic two-pass reduction). */
export function grad_norm_squared(gpu: Gpu, enc: StepEncoder, out: Binding, grads: Binding, ranges: readonly AdamWRange[]): void {
  const name = 'grad_norm_squared';
  const vec4 = !forceScalar && vec4Aligned([grads]);
  const table = chunkTable(gpu, name, ranges, vec4);
  checkBuffer(name, 'grads', grads, table.end);
  checkBuffer(name, 'out', out, 1);
  const nPartials = table.nChunks * WG + table.nEdges;
  const part = partials(gpu, nPartials);
  const pass1 = gpu.pipeline(`${name}_pass1${vec4 ? '_v4' : ''}`, normPass1Wgsl(vec4, false));
  for (const [c0, n] of dispatchRanges(table.nChunks)) {
    enc.dispatch(pass1, [gpu.uniform([table.nChunks, c0, 0, 0]), table.buffer, grads, part], n);
  }
  if (table.nEdges > 0) {
    const pe = gpu.pipeline(`${name}_pass1_edges`, normPass1Wgsl(false, true));
    enc.dispatch(pe, [gpu.uniform([table.nChunks + table.nEdges, table.nChunks, table.nChunks * WG, 0]), table.buffer, grads, part], Math.ceil(table.nEdges / WG));
  }
  enc.dispatch(gpu.pipeline(`${name}_pass2`, NORM_PASS2_WGSL), [gpu.uniform([nPartials, 0, 0, 0]), part, out], 1);
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
  const vec4 = !forceScalar && vec4Aligned([params, grads, m, v]);
  const table = chunkTable(gpu, name, ranges, vec4);
  for (const [n, b] of [['params', params], ['grads', grads], ['m', m], ['v', v]] as const) checkBuffer(name, n, b, table.end);
  checkBuffer(name, 'hyper', hyper, ADAMW_HYPER_WORDS);
  if (gradNormSq) checkBuffer(name, 'gradNormSq', gradNormSq, 1);
  if (bindingSize(hyper) < ADAMW_HYPER_WORDS * 4) throw new Error(`${name}: hyper must hold ${ADAMW_HYPER_WORDS} f32`);
  const pipe = gpu.pipeline(`${name}${vec4 ? '_v4' : ''}`, adamwWgsl(vec4, false));
  const useNorm = gradNormSq ? 1 : 0;
  // Without a norm, bind the hyper buffer in its place (read-only; never read then).
  const rest = [table.buffer, hyper, gradNormSq ?? hyper, grads, params, m, v];
  for (const [c0, n] of dispatchRanges(table.nChunks)) {
    enc.dispatch(pipe, [gpu.uniform([table.nChunks, c0, useNorm, 0]), ...rest], n);
  }
  if (table.nEdges > 0) {
    const pe = gpu.pipeline(`${name}_edges`, adamwWgsl(false, true));
    enc.dispatch(pe, [gpu.uniform([table.nChunks + table.nEdges, table.nChunks, useNorm, 0]), ...rest], Math.ceil(table.nEdges / WG));
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
