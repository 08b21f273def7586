// softmax cross-entropy: fused forward + backward in one pass over the logits (as in llm.c's
// fused classifier). Covers plain CE, class weights, ignore_index and the focal loss.
//
// Shapes: logits (N, V) f32, targets (N) i32, losses (N) f32, dlogits (N, V) f32.
//
// Per row i with target t (p = softmax(z_i), log p_t = z_t − logsumexp(z_i)):
//   coef   = w_t · α_t                         (w = classWeights, α = focalAlpha; 1 when absent)
//   loss_i = −coef · (1 − p_t)^γ · log p_t     (γ = focalGamma; γ = 0 is plain cross-entropy)
//   dlogits_ij = (dL/dlog p_t) · (δ_tj − p_j) / normalizer, with
//   dL/dlog p_t = −coef · [(1 − p_t)^γ − γ (1 − p_t)^(γ−1) · p_t · log p_t]
// Rows whose target equals ignoreIndex (−100) get loss 0 and a zero gradient row. A target
// outside [0, V) that is not ignoreIndex cannot be reported from the GPU: that row's loss and
// gradient are written as NaN so the mistake cannot go unnoticed (the reference throws).
//
// Mean loss = Σ losses / normalizer. The caller passes normalizer = number of non-ignored rows,
// or Σ of their class weights — PyTorch's `reduction='mean'` with `weight=` (weighted mean).
//
// In place: pass the same binding for dlogits and logits and the kernel overwrites the logits
// with their gradient (saves an (N, V) buffer for the vocabulary projection). dlogits = null
// computes the losses only (evaluation).
//
// Design: two layouts. On lavapipe (and other software adapters), and for rows of ≤ 64 logits
// anywhere, one invocation owns a whole row: no workgroup memory, no barriers. A workgroup of 64
// per row with a tree reduction measured 16 µs of fixed cost per row here (barriers are coroutine
// switches): 66 ms vs 4 ms for 4096 rows × V 256, and no faster even for 16 rows × V 30000. On a
// hardware GPU long rows get a workgroup of 64 (a 6-step tree in workgroup memory). In both,
// pass 1 is an online max/sum-exp (one read per logit) over blocks of 4 consecutive logits (5
// exps per 4 logits; a per-element online update runs both sides of its branch on SIMD lanes, 2
// exps per logit — the block version measured 1.3–1.7× faster), and pass 2 re-reads the row and
// writes the gradient. Ignored rows skip both passes. Large N·V is
// split into several dispatches of at most ~4M logits each so no dispatch runs for long.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';

const WG = 64;
/** At most this many logits per dispatch (keeps each dispatch short on a software GPU). */
const MAX_ELEMENTS_PER_DISPATCH = 1 << 22;
/** Rows of at most this many logits get one invocation each instead of a workgroup. */
const SHORT_ROW = 64;

export interface SoftmaxCrossEntropyOptions {
  /** Per-class weights (V) f32, PyTorch's `weight=`; null/absent = all ones. */
  classWeights?: Binding | null;
  /** Focal exponent γ ≥ 0; 0 (default) = plain cross-entropy. */
  focalGamma?: number;
  /** Per-class focal α_t (V) f32; null/absent = all ones. For RetinaNet's scalar α on a binary task pass [1 − α, α]. */
  focalAlpha?: Binding | null;
  /** Divides every gradient: number of non-ignored rows, or the sum of their class weights. */
  normalizer: number;
  /** Target value of rows to skip; only −100 (PyTorch's default) is accepted. */
  ignoreIndex?: -100;
  /** Force a layout (tests, benchmarks); default 'auto' (see the file header). */
  layout?: 'auto' | 'row-per-invocation' | 'row-per-workgroup';
}

export interface SoftmaxCrossEntropyReferenceOptions {
  classWeights?: ArrayLike<number> | null;
  focalGamma?: number;
  focalAlpha?: ArrayLike<number> | null;
  normalizer: number;
  ignoreIndex?: -100;
}

export const IGNORE_INDEX = -100;

type GradMode = 'separate' | 'inplace' | 'none';

/**
 * WGSL for one grad mode and one layout: 'row-per-workgroup' (64 invocations share a row; long
 * rows) or 'row-per-invocation' (each invocation owns a whole row; short rows, where a
 * workgroup per row would spend its time in barriers — measured 40 ms for 4096 rows × V 2).
 */
function wgsl(mode: GradMode, perInvocation: boolean): string {
  const logitsAccess = mode === 'inplace' ? 'read_write' : 'read';
  const dlogitsDecl = mode === 'separate' ? '@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>;' : '';
  const dl = mode === 'separate' ? 'dlogits' : 'logits';
  const writeGrad = mode !== 'none';
  // Each invocation walks its share of the row in blocks of 4 consecutive logits.
  const start = perInvocation ? '0u' : 'lid * 4u';
  const step = perInvocation ? '4u' : `${WG * 4}u`;
  const lead = perInvocation ? 'true' : 'lid == 0u';
  const header = perInvocation
    ? `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = P.row0 + gid.x;
  if (row >= P.N) { return; }
  let lid = 0u;
  let t = targets[row];`
    : `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = P.row0 + wid.x;
  if (lid == 0u) { wg_t = targets[row]; }
  let t = workgroupUniformLoad(&wg_t);`;
  const combine = perInvocation
    ? `let lse = m + log(s);
  let zt = select(0.0, logits[base + u32(max(t, 0))], valid);`
    : `wg_m[lid] = m;
  wg_s[lid] = s;
  workgroupBarrier();
  for (var stride = ${WG / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = wg_m[lid]; let m2 = wg_m[lid + stride];
      let mm = max(m1, m2);
      wg_s[lid] = wg_s[lid] * exp(m1 - mm) + wg_s[lid + stride] * exp(m2 - mm);
      wg_m[lid] = mm;
    }
    workgroupBarrier();
  }
  let lse = wg_m[0] + log(wg_s[0]);
  let zt = wg_zt;`;
  return /* wgsl */ `
struct Params { N: u32, V: u32, row0: u32, flags: u32, ignore_index: i32, gamma: f32, inv_norm: f32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, ${logitsAccess}> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> class_w: array<f32>;
@group(0) @binding(4) var<storage, read> alpha: array<f32>;
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;
${dlogitsDecl}

const HAS_W = 1u;
const HAS_ALPHA = 2u;
const FOCAL = 4u;
${perInvocation ? '' : `
var<workgroup> wg_m: array<f32, ${WG}>;
var<workgroup> wg_s: array<f32, ${WG}>;
var<workgroup> wg_t: i32;
var<workgroup> wg_zt: f32;`}

// Logits j0 .. j0+3 of a row; past the row's end -3e38 (exp gives 0). Loads are clamped in bounds.
fn load4(base: u32, j0: u32, V: u32) -> vec4f {
  let big = -3.0e38;
  return vec4f(
    logits[base + j0],
    select(big, logits[base + min(j0 + 1u, V - 1u)], j0 + 1u < V),
    select(big, logits[base + min(j0 + 2u, V - 1u)], j0 + 2u < V),
    select(big, logits[base + min(j0 + 3u, V - 1u)], j0 + 3u < V));
}

${header}
  let V = P.V;
  let base = row * V;
  if (t == P.ignore_index) {
    if (${lead}) { losses[row] = 0.0; }
    ${writeGrad ? `for (var j = ${perInvocation ? '0u' : 'lid'}; j < V; j += ${perInvocation ? '1u' : `${WG}u`}) { ${dl}[base + j] = 0.0; }` : ''}
    return;
  }
  let valid = t >= 0 && u32(t) < V;
  ${perInvocation ? '' : 'if (lid == 0u) { wg_zt = select(0.0, logits[base + u32(max(t, 0))], valid); }'}
  // Pass 1: online max and sum of exp(z - max). Each invocation takes 4 consecutive logits at a
  // time and rescales its running sum once per block: 5 exps per 4 logits (a per-element online
  // update costs 2 exps per logit, since SIMD lanes execute both sides of its branch).
  var m = -3.0e38;
  var s = 0.0;
  for (var j0 = ${start}; j0 < V; j0 += ${step}) {
    let z = load4(base, j0, V);
    let mn = max(m, max(max(z.x, z.y), max(z.z, z.w)));
    let e = exp(z - vec4f(mn));
    s = s * exp(m - mn) + ((e.x + e.y) + (e.z + e.w));
    m = mn;
  }
  ${combine}
  let lp = zt - lse;                          // log p_t
  let pt = exp(lp);
  let tu = u32(max(t, 0));
  var coef = 1.0;
  if ((P.flags & HAS_W) != 0u) { coef *= class_w[tu]; }
  if ((P.flags & HAS_ALPHA) != 0u) { coef *= alpha[tu]; }
  var loss = -coef * lp;
  var dlp = -coef;                            // dL / d log p_t
  if ((P.flags & FOCAL) != 0u) {
    let omp = max(1.0 - pt, 0.0);             // 1 - p_t
    let g = P.gamma;
    let fac = pow(omp, g);
    // γ (1-p)^(γ-1) p log p, written as γ (1-p)^γ p log p / (1-p); its limit at p -> 1 is 0.
    let extra = select(0.0, g * fac * pt * lp / omp, omp > 0.0);
    loss = -coef * fac * lp;
    dlp = -coef * (fac - extra);
  }
  let nan = bitcast<f32>(P.pad | 0x7fc00000u);   // runtime value: a constant NaN is a WGSL error
  if (${lead}) { losses[row] = select(nan, loss, valid); }
  ${
    writeGrad
      ? `// Pass 2: dL/dz_j = dL/dlog p_t · (δ_tj − p_j), divided by the normalizer.
  let c = select(nan, dlp * P.inv_norm, valid);
  for (var j0 = ${start}; j0 < V; j0 += ${step}) {
    let p = exp(load4(base, j0, V) - vec4f(lse));
    let onehot = vec4f(vec4u(j0, j0 + 1u, j0 + 2u, j0 + 3u) == vec4u(tu));
    let g = c * (onehot - p);
    for (var b = 0u; b < 4u; b++) { if (j0 + b < V) { ${dl}[base + j0 + b] = g[b]; } }
  }`
      : ''
  }
}
`;
}

function sameBinding(a: Binding, b: Binding): boolean {
  const ba = 'buffer' in a && typeof (a as GPUBufferBinding).buffer === 'object' ? (a as GPUBufferBinding) : { buffer: a as GPUBuffer, offset: 0 };
  const bb = 'buffer' in b && typeof (b as GPUBufferBinding).buffer === 'object' ? (b as GPUBufferBinding) : { buffer: b as GPUBuffer, offset: 0 };
  return ba.buffer === bb.buffer && (ba.offset ?? 0) === (bb.offset ?? 0);
}

function checkOptions(name: string, N: number, V: number, opts: { focalGamma?: number; normalizer: number; ignoreIndex?: number }): number {
  checkDims(name, { N, V });
  const gamma = opts.focalGamma ?? 0;
  if (!Number.isFinite(gamma) || gamma < 0) throw new Error(`${name}: focalGamma=${gamma} must be a finite number ≥ 0`);
  if (!Number.isFinite(opts.normalizer) || opts.normalizer <= 0) {
    throw new Error(`${name}: normalizer=${opts.normalizer} must be a positive number (count of non-ignored rows or sum of their class weights)`);
  }
  if (opts.ignoreIndex !== undefined && opts.ignoreIndex !== IGNORE_INDEX) {
    throw new Error(`${name}: ignoreIndex=${opts.ignoreIndex} is not supported; only ${IGNORE_INDEX}`);
  }
  return gamma;
}

/**
 * Record the fused softmax cross-entropy forward + backward. `dlogits` may be null (losses only)
 * or the same binding as `logits` (gradient written in place).
 */
export function softmax_cross_entropy(
  gpu: Gpu,
  enc: StepEncoder,
  losses: Binding,
  dlogits: Binding | null,
  logits: Binding,
  targets: Binding,
  N: number,
  V: number,
  opts: SoftmaxCrossEntropyOptions,
): void {
  const name = 'softmax_cross_entropy';
  const gamma = checkOptions(name, N, V, opts);
  checkBuffer(name, 'losses', losses, N);
  checkBuffer(name, 'logits', logits, N * V);
  checkBuffer(name, 'targets', targets, N);
  if (dlogits) checkBuffer(name, 'dlogits', dlogits, N * V);
  if (opts.classWeights) checkBuffer(name, 'classWeights', opts.classWeights, V);
  if (opts.focalAlpha) checkBuffer(name, 'focalAlpha', opts.focalAlpha, V);
  const mode: GradMode = dlogits === null ? 'none' : sameBinding(dlogits, logits) ? 'inplace' : 'separate';
  // Software adapters: always a row per invocation (measured faster at every shape tried, up to
  // 70× for many short rows); hardware GPUs: a workgroup per row unless the row is short.
  const layout = opts.layout ?? 'auto';
  if (!['auto', 'row-per-invocation', 'row-per-workgroup'].includes(layout)) throw new Error(`${name}: layout='${layout}' is not one of auto, row-per-invocation, row-per-workgroup`);
  const perInvocation = layout === 'auto' ? V <= SHORT_ROW || gpu.adapterInfo.isSoftware : layout === 'row-per-invocation';
  const pipe = gpu.pipeline(`${name}_${mode}${perInvocation ? '_rows' : ''}`, wgsl(mode, perInvocation));
  const flags = (opts.classWeights ? 1 : 0) | (opts.focalAlpha ? 2 : 0) | (gamma !== 0 ? 4 : 0);
  const maxGroups = gpu.limits.maxComputeWorkgroupsPerDimension;
  const rowsPerGroup = perInvocation ? WG : 1;
  const rowsPerDispatch = Math.max(1, Math.min(maxGroups * rowsPerGroup, Math.floor(MAX_ELEMENTS_PER_DISPATCH / V)));
  for (let row0 = 0; row0 < N; row0 += rowsPerDispatch) {
    const rows = Math.min(rowsPerDispatch, N - row0);
    const params = gpu.uniform([N, V, row0, flags, IGNORE_INDEX >>> 0, f32bits(gamma), f32bits(1 / opts.normalizer), 0]);
    const bindings: Binding[] = [params, logits, targets, opts.classWeights ?? targets, opts.focalAlpha ?? targets, losses];
    if (mode === 'separate') bindings.push(dlogits!);
    enc.dispatch(pipe, bindings, Math.ceil(rows / rowsPerGroup));
  }
}

function f32bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

/** float64 reference of softmax_cross_entropy (the specification). `dlogits` may be null. */
export function softmax_cross_entropy_reference(
  losses: Float64Array,
  dlogits: Float64Array | null,
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  N: number,
  V: number,
  opts: SoftmaxCrossEntropyReferenceOptions,
): void {
  const name = 'softmax_cross_entropy_reference';
  const gamma = checkOptions(name, N, V, opts);
  checkArray(name, 'losses', losses, N);
  checkArray(name, 'logits', logits, N * V);
  checkArray(name, 'targets', targets, N);
  if (dlogits) checkArray(name, 'dlogits', dlogits, N * V);
  const w = opts.classWeights ?? null;
  const a = opts.focalAlpha ?? null;
  if (w) checkArray(name, 'classWeights', w, V);
  if (a) checkArray(name, 'focalAlpha', a, V);
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    const base = i * V;
    if (t === IGNORE_INDEX) {
      losses[i] = 0;
      if (dlogits) dlogits.fill(0, base, base + V);
      continue;
    }
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`${name}: targets[${i}]=${t} is outside [0, ${V}) and not ${IGNORE_INDEX}`);
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[base + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[base + j] - m);
    const lse = m + Math.log(s);
    const lp = logits[base + t] - lse;
    const pt = Math.exp(lp);
    const coef = (w ? w[t] : 1) * (a ? a[t] : 1);
    let loss = -coef * lp;
    let dlp = -coef;
    if (gamma !== 0) {
      const omp = Math.max(1 - pt, 0);
      const fac = omp ** gamma;
      const extra = omp > 0 ? (gamma * fac * pt * lp) / omp : 0;
      loss = -coef * fac * lp;
      dlp = -coef * (fac - extra);
    }
    losses[i] = loss;
    if (dlogits) {
      for (let j = 0; j < V; j++) {
        const p = Math.exp(logits[base + j] - lse);
        dlogits[base + j] = (dlp * ((j === t ? 1 : 0) - p)) / opts.normalizer;
      }
    }
  }
}
