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
// Design: three layouts, chosen per adapter and V (softmaxCrossEntropyLayout):
//   - 'row-per-subgroup' (software adapters with 8-lane subgroups, V > 512): a workgroup of 8
//     invocations = one subgroup owns a row; lane l reads the row's chunks l, l + 8, ... so the
//     8 SIMD lanes read consecutive addresses, a chunk being one vec4 when V % 4 == 0 (4 logits
//     per load instruction) or 4 scalars at stride 8 otherwise; the lanes' (max, sum-exp) pairs are
//     combined with subgroupMax / subgroupAdd (register shuffles: no workgroup memory, no
//     barriers). Measured 2.1–2.4× faster than one invocation per row at 614 × 8192 and
//     1229 × 16384 (the 8 lanes of that layout walk 8 rows 32–64 KiB apart).
//   - 'row-per-invocation' (software adapters otherwise — V ≤ 512 — and rows of ≤ 64 logits anywhere): one
//     invocation owns a whole row: no workgroup memory, no barriers, no subgroups. For V ≤ 32 the
//     shader is specialised for V (straight-line code: V loads and V exps per row, the gradient
//     from the kept exps): 4096 × 9 (NER) 0.33 → 0.24 ms, 4096 × 2 focal 0.26 → 0.22 ms, same
//     process (a copy of the same bytes: 0.21 / 0.15 ms; an empty step 0.13 ms).
//   - 'row-per-workgroup' (hardware GPUs, long rows): a workgroup of 64 per row with a 6-step tree
//     in workgroup memory. On lavapipe it has ~16 µs of fixed cost per row (barriers are coroutine
//     switches): 66 ms vs 4 ms per invocation for 4096 rows × V 256.
// In all, pass 1 is an online max/sum-exp (one read per logit) over blocks of 4 or more logits,
// rescaling the running sum once per block (5 exps per 4 logits, or 17 per 16 in the unrolled
// subgroup loop; a per-element online update runs both sides of its branch on SIMD lanes, 2 exps
// per logit — the block version measured 1.3–1.7× faster), and pass 2 re-reads the row (from
// cache) and writes the gradient. Ignored rows skip both passes. Large N·V is split into several
// dispatches of at most ~4M logits each so no dispatch runs for long.

import { bindingOffset, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { f32bits, grid2d } from './elementwise.js';
import { subgroupMatmulUsable } from './tune.js';

// Loss of one row and dL/d log p_t from log p_t and the target: class weight, focal term. Shared
// by every row shader below (each declares P, class_w, alpha and the flag constants it uses).
const ROW_LOSS_WGSL = /* wgsl */ `
fn row_loss(lp: f32, tu: u32) -> vec2f {
  let pt = exp(lp);
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
  return vec2f(loss, dlp);
}
`;

/**
 * Uniforms, bindings and flag constants shared by every row shader below (T: the logits' element
 * type), plus row_loss. 'inplace' writes dlogits over the logits; 'separate' binds dlogits (6).
 */
function rowShaderHeader(mode: string, T = 'f32'): string {
  const logitsAccess = mode === 'inplace' ? 'read_write' : 'read';
  const dlogitsDecl = mode === 'separate' ? `@group(0) @binding(6) var<storage, read_write> dlogits: array<${T}>;` : '';
  return /* wgsl */ `
struct Params { N: u32, V: u32, row0: u32, flags: u32, ignore_index: i32, gamma: f32, inv_norm: f32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, ${logitsAccess}> logits: array<${T}>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> class_w: array<f32>;
@group(0) @binding(4) var<storage, read> alpha: array<f32>;
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;
${dlogitsDecl}

const HAS_W = 1u;
const HAS_ALPHA = 2u;
const FOCAL = 4u;
${ROW_LOSS_WGSL}`;
}

const WG = 64;
/** At most this many logits per dispatch (keeps each dispatch short on a software GPU). */
const MAX_ELEMENTS_PER_DISPATCH = 1 << 22;
/** Rows of at most this many logits get one invocation each instead of a workgroup. */
const SHORT_ROW = 64;
/**
 * On software adapters, rows of more than this many logits get an 8-lane subgroup each. Below it
 * one invocation per row is as fast or faster (a workgroup per row costs ~0.3 µs on lavapipe):
 * same process, 4096 × 96 2.8 vs 5.0 ms, 2048 × 256 2.0 vs 2.4, 1024 × 512 1.8 vs 1.8, 512 × 1024
 * 3.5 vs 2.5, 614 × 8192 32 vs 10.
 */
const SUBGROUP_MIN_V = 512;

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
  layout?: 'auto' | SoftmaxCrossEntropyLayout;
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
${rowShaderHeader(mode)}
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
  let tu = u32(max(t, 0));
  let ld = row_loss(lp, tu);
  let loss = ld.x;
  let dlp = ld.y;                            // dL / d log p_t
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

/** Rows of at most this many logits get a shader specialised for their V (see wgslSmallRow). */
const SMALL_V = 32;

/**
 * WGSL of 'row-per-invocation' specialised for one small V (≤ SMALL_V): straight-line code with
 * V a constant, so the row's logits are loaded once into registers, the max and Σ exp are trees
 * over them, and the gradient reuses the exps (p_j = e_j / s): V loads and V exps per row, no
 * clamped loads, no re-read, no second exp (the generic loop pays ~2.5 exps per logit and pads
 * rows to multiples of 4).
 */
function wgslSmallRow(mode: GradMode, V: number): string {
  const dl = mode === 'separate' ? 'dlogits' : 'logits';
  const writeGrad = mode !== 'none';
  const js = Array.from({ length: V }, (_, j) => j);
  const tree = (op: (a: string, b: string) => string, xs: string[]): string =>
    xs.length === 1 ? xs[0] : op(tree(op, xs.slice(0, xs.length >> 1)), tree(op, xs.slice(xs.length >> 1)));
  return /* wgsl */ `
${rowShaderHeader(mode)}
const V = ${V}u;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = P.row0 + gid.x;
  if (row >= P.N) { return; }
  let t = targets[row];
  let base = row * V;
  if (t == P.ignore_index) {
    losses[row] = 0.0;
${writeGrad ? js.map((j) => `    ${dl}[base + ${j}u] = 0.0;`).join('\n') : ''}
    return;
  }
  let valid = t >= 0 && u32(t) < V;
  let tu = select(0u, u32(t), valid);
${js.map((j) => `  let z${j} = logits[base + ${j}u];`).join('\n')}
  let zt = logits[base + tu];
  let m = ${tree((a, b) => `max(${a}, ${b})`, js.map((j) => `z${j}`))};
${js.map((j) => `  let e${j} = exp(z${j} - m);`).join('\n')}
  let s = ${tree((a, b) => `(${a} + ${b})`, js.map((j) => `e${j}`))};
  let lse = m + log(s);
  let lp = zt - lse;                          // log p_t
  let ld = row_loss(lp, tu);
  let loss = ld.x;
  let dlp = ld.y;                            // dL / d log p_t
  let nan = bitcast<f32>(P.pad | 0x7fc00000u);
  losses[row] = select(nan, loss, valid);
${
  writeGrad
    ? `  // dL/dz_j = dL/dlog p_t · (δ_tj − p_j) / normalizer, p_j = e_j / s.
  let cf = select(nan, dlp * P.inv_norm, valid);
  let inv_s = 1.0 / s;
${js.map((j) => `  ${dl}[base + ${j}u] = cf * (select(0.0, 1.0, tu == ${j}u) - e${j} * inv_s);`).join('\n')}`
    : ''
}
}
`;
}

/** Lanes per row in the 'row-per-subgroup' layout (the 8-lane subgroups checked by tune.ts). */
const SG = 8;
/** Chunks per lane per loop iteration in that layout. */
let sgUnroll = 4;
let genericOnly = false;
/** Benchmarks/tests: run the generic row-per-invocation shader even for V ≤ SMALL_V. */
export function setSoftmaxCrossEntropyGenericRows(on: boolean): void {
  genericOnly = on;
}
/** Benchmarks/tests: set the unroll of the 'row-per-subgroup' layout (1, 2 or 4). */
export function setSoftmaxCrossEntropyUnroll(u: number): void {
  if (![1, 2, 4].includes(u)) throw new Error(`softmax_cross_entropy: unroll=${u} must be 1, 2 or 4`);
  sgUnroll = u;
}

/**
 * WGSL of the 'row-per-subgroup' layout: a workgroup of SG = 8 invocations is one subgroup and
 * owns one row. Lane l reads the row's chunks l, l + 8, l + 16, ... so the 8 SIMD lanes touch
 * consecutive addresses (on lavapipe a workgroup's 8 lanes are one CPU thread's AVX2 register);
 * the per-lane (max, sum-exp) pairs are combined with subgroupMax / subgroupAdd (register shuffles,
 * no workgroup memory, no barriers). With `vec4` (V % 4 == 0 and 16-byte aligned bindings) a
 * chunk is one vec4 load (4 logits per load instruction); otherwise a chunk is 4 scalars at
 * stride 8 (32 consecutive logits per iteration across the lanes).
 */
function wgslSubgroup(mode: GradMode, vec4: boolean, unroll = sgUnroll): string {
  const T = vec4 ? 'vec4f' : 'f32';
  const dl = mode === 'separate' ? 'dlogits' : 'logits';
  const writeGrad = mode !== 'none';
  const U = unroll;
  // Chunk c of a row: vec4 → the row's c-th vec4; scalar → the 4 logits (c / 8)·32 + c % 8 + 8·b,
  // b = 0..3 (so 8 lanes with consecutive c cover 32 consecutive logits). Lane l takes chunks
  // l, l + 8, l + 16, ...: U chunks per iteration of the main loop (independent exps to
  // interleave) while they are all full, then one at a time. Only chunks past nFull can reach
  // past the row's end: there logits past the end load as -3e38 (exp gives 0) and are not stored.
  const nChunks = vec4 ? 'V / 4u' : '(V + 31u) / 32u * 8u';
  const nFull = vec4 ? 'nc' : 'V / 32u * 8u';
  const load = vec4
    ? `fn chunk_index(c: u32) -> vec4u { return vec4u(4u * c) + vec4u(0u, 1u, 2u, 3u); }
fn load_full(base: u32, c: u32) -> vec4f { return logits[base / 4u + c]; }
fn load_tail(base: u32, c: u32) -> vec4f { return logits[base / 4u + c]; }`
    : `fn chunk_index(c: u32) -> vec4u { return vec4u((c / 8u) * 32u + c % 8u) + vec4u(0u, 8u, 16u, 24u); }
fn load_full(base: u32, c: u32) -> vec4f {
  let j = base + (c / 8u) * 32u + c % 8u;
  return vec4f(logits[j], logits[j + 8u], logits[j + 16u], logits[j + 24u]);
}
fn load_tail(base: u32, c: u32) -> vec4f {
  let V = P.V;
  let j = chunk_index(c);
  let jc = min(j, vec4u(V - 1u));
  let z = vec4f(logits[base + jc.x], logits[base + jc.y], logits[base + jc.z], logits[base + jc.w]);
  return select(vec4f(-3.0e38), z, j < vec4u(V));
}`;
  const storeFull = vec4
    ? (c: string, v: string) => `${dl}[base / 4u + (${c})] = ${v};`
    : (c: string, v: string) => `{ let cc = ${c}; let j = base + (cc / 8u) * 32u + cc % 8u;
      ${dl}[j] = ${v}.x; ${dl}[j + 8u] = ${v}.y; ${dl}[j + 16u] = ${v}.z; ${dl}[j + 24u] = ${v}.w; }`;
  const storeTail = vec4
    ? storeFull
    : (c: string, v: string) => `{ let js = chunk_index(${c});
      for (var b = 0u; b < 4u; b++) { if (js[b] < V) { ${dl}[base + js[b]] = ${v}[b]; } } }`;
  const zt = vec4 ? 'logits[(base + tu) / 4u][tu % 4u]' : 'logits[base + tu]';
  const us = Array.from({ length: U }, (_, u) => u);
  const maxTree = (xs: string[]): string => (xs.length === 1 ? xs[0] : `max(${maxTree(xs.slice(0, xs.length / 2))}, ${maxTree(xs.slice(xs.length / 2))})`);
  const addTree = (xs: string[]): string => (xs.length === 1 ? xs[0] : `(${addTree(xs.slice(0, xs.length / 2))} + ${addTree(xs.slice(xs.length / 2))})`);
  // The online update of (m, s) by the chunks z0..z{k-1}.
  const online = (zs: string[]) => `    let mv = ${maxTree(zs)};
    let mn = max(m, max(max(mv.x, mv.y), max(mv.z, mv.w)));
    let e = ${addTree(zs.map((z) => `exp(${z} - vec4f(mn))`))};
    s = s * exp(m - mn) + ((e.x + e.y) + (e.z + e.w));
    m = mn;`;
  const grad = (z: string, c: string) => `cf * (vec4f(chunk_index(${c}) == vec4u(tu)) - exp(${z} - vec4f(lse)))`;
  const mainCond = `c + ${8 * (U - 1)}u < nf`;
  return /* wgsl */ `
enable subgroups;
${rowShaderHeader(mode, T)}

${load}

@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let row = P.row0 + wid.y * nwg.x + wid.x;
  if (row >= P.N) { return; }
  let V = P.V;
  let base = row * V;
  let nc = ${nChunks};      // chunks in the row
  let nf = ${nFull};        // chunks lying wholly inside the row
  let t = targets[row];
  if (t == P.ignore_index) {
    if (lane == 0u) { losses[row] = 0.0; }
    ${writeGrad ? `for (var c = lane; c < nc; c += ${SG}u) { let g = vec4f(0.0); ${storeTail('c', 'g')} }` : ''}
    return;
  }
  let valid = t >= 0 && u32(t) < V;
  let tu = select(0u, u32(t), valid);
  // z_t is read before any lane can write its gradient (in place, lanes are ordered only by the
  // subgroup operations below).
  let zt = ${zt};
  // Pass 1: each lane's online max and sum of exp(z - max) over its chunks, rescaling once per
  // iteration (${4 * U + 1} exps per ${4 * U} logits in the main loop), then combined across the 8 lanes.
  var m = -3.0e38;
  var s = 0.0;
  var c = lane;
  for (; ${mainCond}; c += ${8 * U}u) {
${us.map((u) => `    let z${u} = load_full(base, c + ${8 * u}u);`).join('\n')}
${online(us.map((u) => `z${u}`))}
  }
  for (; c < nf; c += ${SG}u) {
    let z0 = load_full(base, c);
${online(['z0'])}
  }
  for (; c < nc; c += ${SG}u) {
    let z0 = load_tail(base, c);
${online(['z0'])}
  }
  let mx = subgroupMax(m);
  let lse = mx + log(subgroupAdd(s * exp(m - mx)));
  let lp = zt - lse;                          // log p_t
  let ld = row_loss(lp, tu);
  let loss = ld.x;
  let dlp = ld.y;                            // dL / d log p_t
  let nan = bitcast<f32>(P.pad | 0x7fc00000u);
  if (lane == 0u) { losses[row] = select(nan, loss, valid); }
  ${
    writeGrad
      ? `// Pass 2: dL/dz_j = dL/dlog p_t · (δ_tj − p_j), divided by the normalizer.
  let cf = select(nan, dlp * P.inv_norm, valid);
  c = lane;
  for (; ${mainCond}; c += ${8 * U}u) {
${us.map((u) => `    let z${u} = load_full(base, c + ${8 * u}u);`).join('\n')}
${us.map((u) => `    let g${u} = ${grad(`z${u}`, `c + ${8 * u}u`)};`).join('\n')}
${us.map((u) => `    ${storeFull(`c + ${8 * u}u`, `g${u}`)}`).join('\n')}
  }
  for (; c < nf; c += ${SG}u) {
    let g0 = ${grad('load_full(base, c)', 'c')};
    ${storeFull('c', 'g0')}
  }
  for (; c < nc; c += ${SG}u) {
    let g0 = ${grad('load_tail(base, c)', 'c')};
    ${storeTail('c', 'g0')}
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

// Elements of each operand, checked by the launcher (checkBuffer) and the reference (checkArray).
const operandSizes = (N: number, V: number) => ({ losses: N, logits: N * V, targets: N, dlogits: N * V, classWeights: V, focalAlpha: V });

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
  checkOperands(name, checkBuffer, operandSizes(N, V),
    { losses, logits, targets, dlogits, classWeights: opts.classWeights ?? null, focalAlpha: opts.focalAlpha ?? null });
  const mode: GradMode = dlogits === null ? 'none' : sameBinding(dlogits, logits) ? 'inplace' : 'separate';
  const layout = softmaxCrossEntropyLayout(gpu, V, opts.layout ?? 'auto');
  const flags = (opts.classWeights ? 1 : 0) | (opts.focalAlpha ? 2 : 0) | (gamma !== 0 ? 4 : 0);
  const maxGroups = gpu.limits.maxComputeWorkgroupsPerDimension;
  let pipe;
  let rowsPerGroup = 1;
  let grid2 = false;
  if (layout === 'row-per-subgroup') {
    // vec4 loads need V % 4 == 0 (every row starts on a vec4) and 16-byte aligned bindings.
    const vec4 = V % 4 === 0 && bindingOffset(logits) % 16 === 0 && (mode !== 'separate' || bindingOffset(dlogits!) % 16 === 0);
    pipe = gpu.pipeline(`${name}_${mode}_sg${vec4 ? '_v4' : ''}_u${sgUnroll}`, wgslSubgroup(mode, vec4));
    grid2 = true;
  } else {
    const perInvocation = layout === 'row-per-invocation';
    pipe = perInvocation && V <= SMALL_V && !genericOnly
      ? gpu.pipeline(`${name}_${mode}_rows_V${V}`, wgslSmallRow(mode, V))
      : gpu.pipeline(`${name}_${mode}${perInvocation ? '_rows' : ''}`, wgsl(mode, perInvocation));
    rowsPerGroup = perInvocation ? WG : 1;
  }
  const rowsPerDispatch = Math.max(1, Math.min(grid2 ? Infinity : maxGroups * rowsPerGroup, Math.floor(MAX_ELEMENTS_PER_DISPATCH / V)));
  for (let row0 = 0; row0 < N; row0 += rowsPerDispatch) {
    const rows = Math.min(rowsPerDispatch, N - row0);
    const params = gpu.uniform([N, V, row0, flags, IGNORE_INDEX >>> 0, f32bits(gamma), f32bits(1 / opts.normalizer), 0]);
    const bindings: Binding[] = [params, logits, targets, opts.classWeights ?? targets, opts.focalAlpha ?? targets, losses];
    if (mode === 'separate') bindings.push(dlogits!);
    if (grid2) enc.dispatch(pipe, bindings, ...grid2d(rows));
    else enc.dispatch(pipe, bindings, Math.ceil(rows / rowsPerGroup));
  }
}

export type SoftmaxCrossEntropyLayout = 'row-per-invocation' | 'row-per-workgroup' | 'row-per-subgroup';
const LAYOUTS = ['auto', 'row-per-invocation', 'row-per-workgroup', 'row-per-subgroup'];

/**
 * The layout softmax_cross_entropy uses for rows of V logits on this device (`requested` 'auto'
 * chooses; a named layout is checked and returned). Software adapters: one 8-lane subgroup per
 * row when 8-lane subgroups are usable and V > SUBGROUP_MIN_V, else one invocation per row.
 * Hardware GPUs: a workgroup per row unless V ≤ SHORT_ROW.
 */
export function softmaxCrossEntropyLayout(gpu: Gpu, V: number, requested: string = 'auto'): SoftmaxCrossEntropyLayout {
  const name = 'softmax_cross_entropy';
  if (!LAYOUTS.includes(requested)) throw new Error(`${name}: layout='${requested}' is not one of ${LAYOUTS.join(', ')}`);
  if (requested === 'row-per-subgroup' && !subgroupMatmulUsable(gpu)) {
    throw new Error(`${name}: layout='row-per-subgroup' needs usable 8-lane subgroups (see tune.ts)`);
  }
  if (requested !== 'auto') return requested as SoftmaxCrossEntropyLayout;
  if (gpu.adapterInfo.isSoftware) return V > SUBGROUP_MIN_V && subgroupMatmulUsable(gpu) ? 'row-per-subgroup' : 'row-per-invocation';
  return V <= SHORT_ROW ? 'row-per-invocation' : 'row-per-workgroup';
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
  const w = opts.classWeights ?? null;
  const a = opts.focalAlpha ?? null;
  checkOperands(name, checkArray, operandSizes(N, V), { losses, logits, targets, dlogits, classWeights: w, focalAlpha: a });
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
