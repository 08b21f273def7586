// Linear-chain CRF over tag emissions (as in Lample et al. 2016 / pytorch-crf): the negative
// log-likelihood of the gold tag paths, its gradients, and Viterbi decoding.
//
// Shapes (f32 unless said; K tags, B sequences padded to T positions):
//   emissions (B, T, K)     score of tag k at position t of sequence b
//   tags      (B, T) i32    gold tags; positions ≥ lengths[b] are not read
//   lengths   (B) i32       sequence b covers positions 0 .. lengths[b]−1 (0 ≤ lengths[b] ≤ T)
//   crf       (K + 2, K)    one packed parameter: rows 0..K−1 the transitions crf[i, j] = score of
//                           tag i followed by tag j; row K the start scores (first tag), row K+1
//                           the end scores (last tag). Packed so the kernels bind one buffer
//                           for all CRF parameters (and stay within 8 storage bindings).
//   allowed   (K + 2, K) u32 or null: the same layout, 0 = forbidden (e.g. BIO: O → I-X,
//                           B-X → I-Y, start → I-X; see bioAllowed). null = everything allowed.
//
// score(y) = crf[K, y₀] + Σₜ emissions[t, yₜ] + Σₜ₌₁ crf[yₜ₋₁, yₜ] + crf[K+1, y_{L−1}]
// logZ     = log Σ over every allowed path y of exp(score(y))         (the forward algorithm)
// loss_b   = logZ_b − score(gold_b)                                   (NLL; 0 for an empty sequence)
//
// Backward (dL/d· of Σ_b loss_b / normalizer): with the forward variables α and backward
// variables β, the marginals p_t(i) = exp(α_t(i) + β_t(i) − logZ) and
// ξ_t(i, j) = exp(α_t(i) + crf[i, j] + emissions[t+1, j] + β_{t+1}(j) − logZ):
//   demissions[t, i] = (p_t(i) − [gold_t = i]) / normalizer                    (overwritten)
//   dcrf[i, j]      += Σ_b Σ_t (ξ_t(i, j) − [gold_t = i, gold_t+1 = j]) / normalizer
//   dcrf[K, i]      += Σ_b (p_0(i) − [gold_0 = i]) / normalizer, dcrf[K+1, i] likewise at L−1.
// Forbidden entries get zero gradient. Viterbi: the allowed path of maximal score, and its score.
//
// The GPU cannot throw: a gold tag outside [0, K), or a gold path through a forbidden transition,
// gives that sequence a NaN loss (and NaN gradients) so it cannot go unnoticed; the references
// throw. Shapes, K ≤ MAX_CRF_TAGS and the lengths are checked on the CPU before any dispatch —
// so the launchers take the lengths twice: the GPU binding and the same values on the CPU.
//
// Design: tag counts are small (7 for ner_en) and sequences short, so one invocation owns one
// sequence and walks it serially (O(T·K²) per sequence) with the α / β rows in private arrays
// (no workgroup memory, no barriers: both are slow on lavapipe, see the performance notes).
// Workgroups of 8 invocations = one SIMD row of lavapipe, so 32 sequences spread over 4
// workgroups (both CPU threads). The backward first stores α in `demissions` (same shape), then
// walks back computing β and overwrites α_t with the gradient once it is no longer needed. The
// transition gradient is a sum over sequences: each invocation writes its own row of a scratch
// (B, (K+2)·K) buffer and a second dispatch sums it over b in order (deterministic, no atomics).

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { f32bits, scratch } from './elementwise.js';

/** Largest tag count the GPU kernels take (their α / β rows live in private arrays of this size). */
export const MAX_CRF_TAGS = 32;
const WG = 8;
/** "Impossible" on the GPU (the references use −Infinity): far below any real score, and safe to add to. */
const NEG = -1e30;

/** Launch options shared by the launchers (B: GPU bindings) and the references (CPU arrays). */
export interface CrfOperands<Buf> {
  emissions: Buf;
  lengths: Buf;
  /** (K + 2, K): transitions, then start scores, then end scores. */
  crf: Buf;
  /** (K + 2, K), 0 = forbidden; null = all allowed. */
  allowed?: Buf | null;
  B: number;
  T: number;
  K: number;
}

interface HostLengths {
  /** The lengths on the CPU (the same values as the `lengths` binding), checked before dispatch. */
  lengthValues: ArrayLike<number>;
}

export interface CrfForwardArgs<Buf> extends CrfOperands<Buf> {
  /** (B) out: logZ_b − score(gold_b). */
  losses: Buf;
  /** (B) out: logZ_b. */
  logZ: Buf;
  tags: Buf;
}

export interface CrfBackwardArgs<Buf> extends CrfOperands<Buf> {
  /** (B, T, K) out, overwritten (zero at padded positions). */
  demissions: Buf;
  /** (K + 2, K), added to. */
  dcrf: Buf;
  tags: Buf;
  /** Divides every gradient (e.g. number of sequences, or of tagged positions). */
  normalizer: number;
}

export interface CrfViterbiArgs<Buf> extends CrfOperands<Buf> {
  /** (B, T) i32 out: best tag per position, −1 at padded positions. */
  path: Buf;
  /** (B) out: the best path's score (0 for an empty sequence). */
  score: Buf;
}

// Elements of each operand (launchers: checkBuffer, references: checkArray).
function sizes(B: number, T: number, K: number) {
  return {
    emissions: B * T * K, lengths: B, crf: (K + 2) * K, allowed: (K + 2) * K,
    tags: B * T, losses: B, logZ: B, demissions: B * T * K, dcrf: (K + 2) * K, path: B * T, score: B,
  };
}

type SizeName = keyof ReturnType<typeof sizes>;

function checkShape(name: string, a: { B: number; T: number; K: number }, gpu: boolean): void {
  checkDims(name, { B: a.B, T: a.T, K: a.K });
  if (gpu && a.K > MAX_CRF_TAGS) throw new Error(`${name}: K=${a.K} tags exceeds the GPU kernel's limit of ${MAX_CRF_TAGS}`);
}

function checkLengths(name: string, lengths: ArrayLike<number>, B: number, T: number): void {
  if (lengths.length < B) throw new Error(`${name}: lengths has ${lengths.length} entries, needs B=${B}`);
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    if (!Number.isInteger(L) || L < 0 || L > T) throw new Error(`${name}: lengths[${b}]=${L} is outside [0, T=${T}]`);
  }
}

function checkGpuOperands(name: string, a: CrfOperands<Binding> & HostLengths, ops: Partial<Record<SizeName, Binding | null>>): void {
  checkShape(name, a, true);
  checkLengths(name, a.lengthValues, a.B, a.T);
  checkOperands(name, checkBuffer, sizes(a.B, a.T, a.K), { emissions: a.emissions, lengths: a.lengths, crf: a.crf, allowed: a.allowed ?? null, ...ops } as Record<SizeName, Binding | null>);
}

function checkHostOperands(name: string, a: CrfOperands<ArrayLike<number>>, ops: Partial<Record<SizeName, ArrayLike<number> | null>>): void {
  checkShape(name, a, false);
  checkLengths(name, a.lengths, a.B, a.T);
  checkOperands(name, checkArray, sizes(a.B, a.T, a.K), { emissions: a.emissions, lengths: a.lengths, crf: a.crf, allowed: a.allowed ?? null, ...ops } as Record<SizeName, ArrayLike<number> | null>);
}

// ---------------------------------------------------------------------------------------- WGSL

const FLAG_ALLOWED = 1;

/** Uniform block, the shared bindings 1..4 and the helpers every CRF shader uses. */
const crfHeader = /* wgsl */ `
struct Params { B: u32, T: u32, K: u32, flags: u32, inv_norm: f32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> emissions: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<i32>;
@group(0) @binding(3) var<storage, read> crf: array<f32>;
@group(0) @binding(4) var<storage, read> allowed: array<u32>;

const MAXK = ${MAX_CRF_TAGS}u;
const NEG = ${NEG.toExponential()};
const FLAG_ALLOWED = ${FLAG_ALLOWED}u;

// Entry e of the packed (K + 2, K) parameter: transitions i*K + j, start K*K + j, end (K+1)*K + j.
fn ok(e: u32) -> bool { return (P.flags & FLAG_ALLOWED) == 0u || allowed[e] != 0u; }
fn emit(b: u32, t: u32, k: u32) -> f32 { return emissions[(b * P.T + t) * P.K + k]; }
`;

/**
 * α recursion written once for the forward and the backward: on return a[] holds α_{L−1} and,
 * when STORE, α_t was written to out_alpha(b, t, k) for every t. Forbidden terms are skipped;
 * a state no allowed path reaches stays at NEG.
 */
function alphaWgsl(store: boolean): string {
  return /* wgsl */ `
  for (var j = 0u; j < K; j++) {
    a[j] = select(NEG, crf[K * K + j] + emit(b, 0u, j), ok(K * K + j));
    ${store ? 'demissions[(b * P.T) * K + j] = a[j];' : ''}
  }
  for (var t = 1u; t < L; t++) {
    for (var j = 0u; j < K; j++) {
      var m = NEG;
      for (var i = 0u; i < K; i++) { if (ok(i * K + j)) { m = max(m, a[i] + crf[i * K + j]); } }
      var s = 0.0;
      for (var i = 0u; i < K; i++) { if (ok(i * K + j)) { s += exp(a[i] + crf[i * K + j] - m); } }
      n[j] = select(NEG, m + log(s) + emit(b, t, j), m > NEG * 0.5);
    }
    for (var j = 0u; j < K; j++) {
      a[j] = n[j];
      ${store ? 'demissions[(b * P.T + t) * K + j] = a[j];' : ''}
    }
  }
  // logZ = log Σ_j exp(α_{L−1}(j) + end_j)
  var mz = NEG;
  for (var j = 0u; j < K; j++) { if (ok((K + 1u) * K + j)) { mz = max(mz, a[j] + crf[(K + 1u) * K + j]); } }
  var sz = 0.0;
  for (var j = 0u; j < K; j++) { if (ok((K + 1u) * K + j)) { sz += exp(a[j] + crf[(K + 1u) * K + j] - mz); } }
  let logZ = select(NEG, mz + log(sz), mz > NEG * 0.5);`;
}

/**
 * Score of the gold path of sequence b (NaN when a tag is outside [0, K) or the path uses a
 * forbidden transition).
 */
const goldWgsl = /* wgsl */ `
fn gold_score(b: u32, L: u32) -> f32 {
  let K = P.K;
  var prev = 0u;
  var s = 0.0;
  var bad = false;
  for (var t = 0u; t < L; t++) {
    let y = tags[b * P.T + t];
    if (y < 0 || u32(y) >= K) { bad = true; break; }
    let yu = u32(y);
    let e = select(prev * K + yu, K * K + yu, t == 0u);
    if (!ok(e)) { bad = true; }
    s += crf[e] + emit(b, t, yu);
    prev = yu;
  }
  if (!ok((K + 1u) * K + prev)) { bad = true; }
  s += crf[(K + 1u) * K + prev];
  let nan = bitcast<f32>(0x7fc00000u | (P.flags & 0u));  // not a constant expression: Tint rejects a constant NaN
  return select(s, nan, bad);
}
`;

const forwardWgsl = /* wgsl */ `
${crfHeader}
@group(0) @binding(5) var<storage, read> tags: array<i32>;
@group(0) @binding(6) var<storage, read_write> losses: array<f32>;
@group(0) @binding(7) var<storage, read_write> logz: array<f32>;
${goldWgsl}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= P.B) { return; }
  let K = P.K;
  let L = u32(lengths[b]);
  if (L == 0u) { losses[b] = 0.0; logz[b] = 0.0; return; }
  var a: array<f32, MAXK>;
  var n: array<f32, MAXK>;
  ${alphaWgsl(false)}
  logz[b] = logZ;
  losses[b] = logZ - gold_score(b, L);
}
`;

const backwardWgsl = /* wgsl */ `
${crfHeader}
@group(0) @binding(5) var<storage, read> tags: array<i32>;
@group(0) @binding(6) var<storage, read_write> demissions: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;   // (B, (K + 2)·K)
${goldWgsl}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= P.B) { return; }
  let K = P.K;
  let E = (K + 2u) * K;
  let pb = b * E;
  for (var e = 0u; e < E; e++) { partial[pb + e] = 0.0; }
  let L = u32(lengths[b]);
  for (var t = L; t < P.T; t++) { for (var k = 0u; k < K; k++) { demissions[(b * P.T + t) * K + k] = 0.0; } }
  if (L == 0u) { return; }
  var a: array<f32, MAXK>;
  var n: array<f32, MAXK>;
  ${alphaWgsl(true)}
  let g = P.inv_norm;
  // A bad gold path poisons this sequence's gradient (the reference throws).
  let poison = gold_score(b, L) - gold_score(b, L);
  // β_{L−1}(i) = end_i (NEG where forbidden); n[] holds β_t while t walks down.
  for (var i = 0u; i < K; i++) { n[i] = select(NEG, crf[(K + 1u) * K + i], ok((K + 1u) * K + i)); }
  var t = L - 1u;
  loop {
    // here n[] = β_t; write p_t − gold into demissions[t] (α_t is read first, then overwritten)
    let yt = u32(max(tags[b * P.T + t], 0));
    for (var i = 0u; i < K; i++) {
      let at = demissions[(b * P.T + t) * K + i];
      let p = exp(at + n[i] - logZ);
      let d = (p - select(0.0, 1.0, i == yt)) * g + poison;
      demissions[(b * P.T + t) * K + i] = d;
      // the start and end scores' gradients are the unary ones at the first and last position
      if (t == 0u) { partial[pb + K * K + i] += d; }
      if (t == L - 1u) { partial[pb + (K + 1u) * K + i] += d; }
    }
    if (t == 0u) { break; }
    // pairwise marginals of (t−1, t) with α_{t−1} (still in demissions) and β_t = n[]; then β_{t−1}
    let yp = u32(max(tags[b * P.T + t - 1u], 0));
    for (var i = 0u; i < K; i++) {
      let ap = demissions[(b * P.T + t - 1u) * K + i];
      var m = NEG;
      for (var j = 0u; j < K; j++) {
        let e = i * K + j;
        if (ok(e)) {
          let v = crf[e] + emit(b, t, j) + n[j];
          m = max(m, v);
          let xi = exp(ap + v - logZ);
          partial[pb + e] += (xi - select(0.0, 1.0, i == yp && j == yt)) * g + poison;
        }
      }
      var s = 0.0;
      for (var j = 0u; j < K; j++) { let e = i * K + j; if (ok(e)) { s += exp(crf[e] + emit(b, t, j) + n[j] - m); } }
      a[i] = select(NEG, m + log(s), m > NEG * 0.5);
    }
    for (var i = 0u; i < K; i++) { n[i] = a[i]; }
    t -= 1u;
  }
}
`;

/** dcrf[e] += Σ_b partial[b, e], b in order; forbidden entries stay untouched (their partials are 0). */
const reduceWgsl = /* wgsl */ `
struct Params { B: u32, E: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dcrf: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let e = gid.x;
  if (e >= P.E) { return; }
  var s = 0.0;
  for (var b = 0u; b < P.B; b++) { s += partial[b * P.E + e]; }
  dcrf[e] += s;
}
`;

const viterbiWgsl = /* wgsl */ `
${crfHeader}
@group(0) @binding(5) var<storage, read_write> path: array<i32>;
@group(0) @binding(6) var<storage, read_write> score: array<f32>;
@group(0) @binding(7) var<storage, read_write> backptr: array<u32>;   // (B, T, K)
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= P.B) { return; }
  let K = P.K;
  let L = u32(lengths[b]);
  for (var t = L; t < P.T; t++) { path[b * P.T + t] = -1; }
  if (L == 0u) { score[b] = 0.0; return; }
  var a: array<f32, MAXK>;
  var n: array<f32, MAXK>;
  for (var j = 0u; j < K; j++) { a[j] = select(NEG, crf[K * K + j] + emit(b, 0u, j), ok(K * K + j)); }
  for (var t = 1u; t < L; t++) {
    for (var j = 0u; j < K; j++) {
      var best = NEG;
      var arg = 0u;
      // strict > keeps the lowest index among ties (as the reference)
      for (var i = 0u; i < K; i++) {
        let v = a[i] + crf[i * K + j];
        if (ok(i * K + j) && v > best) { best = v; arg = i; }
      }
      n[j] = max(best + emit(b, t, j), NEG);
      backptr[(b * P.T + t) * K + j] = arg;
    }
    for (var j = 0u; j < K; j++) { a[j] = n[j]; }
  }
  var best = NEG;
  var last = 0u;
  for (var j = 0u; j < K; j++) {
    let v = a[j] + crf[(K + 1u) * K + j];
    if (ok((K + 1u) * K + j) && v > best) { best = v; last = j; }
  }
  score[b] = best;
  var y = last;
  var t = L - 1u;
  loop {
    path[b * P.T + t] = i32(y);
    if (t == 0u) { break; }
    y = backptr[(b * P.T + t) * K + y];
    t -= 1u;
  }
}
`;

function params(gpu: Gpu, a: CrfOperands<Binding>, invNorm = 0): GPUBuffer {
  return gpu.uniform([a.B, a.T, a.K, a.allowed ? FLAG_ALLOWED : 0, f32bits(invNorm), 0, 0, 0]);
}

// ------------------------------------------------------------------------------------ launchers

/** losses[b] = logZ_b − score(gold_b), logZ[b] = logZ_b (see the file header). */
export function crf_forward(gpu: Gpu, enc: StepEncoder, a: CrfForwardArgs<Binding> & HostLengths): void {
  const name = 'crf_forward';
  checkGpuOperands(name, a, { tags: a.tags, losses: a.losses, logZ: a.logZ });
  enc.dispatch(gpu.pipeline(name, forwardWgsl), [params(gpu, a), a.emissions, a.lengths, a.crf, a.allowed ?? a.crf, a.tags, a.losses, a.logZ], Math.ceil(a.B / WG));
}

/** demissions = d(Σ losses / normalizer)/d emissions (overwritten); dcrf += the same for the CRF parameters. */
export function crf_backward(gpu: Gpu, enc: StepEncoder, a: CrfBackwardArgs<Binding> & HostLengths): void {
  const name = 'crf_backward';
  checkGpuOperands(name, a, { tags: a.tags, demissions: a.demissions, dcrf: a.dcrf });
  if (!(a.normalizer > 0)) throw new Error(`${name}: normalizer must be > 0, got ${a.normalizer}`);
  const E = (a.K + 2) * a.K;
  const partial = scratch(gpu, 'crf_partial', a.B * E);
  enc.dispatch(gpu.pipeline(name, backwardWgsl), [params(gpu, a, 1 / a.normalizer), a.emissions, a.lengths, a.crf, a.allowed ?? a.crf, a.tags, a.demissions, partial], Math.ceil(a.B / WG));
  enc.dispatch(gpu.pipeline('crf_backward_reduce', reduceWgsl), [gpu.uniform([a.B, E, 0, 0]), partial, a.dcrf], Math.ceil(E / 64));
}

/** Best allowed tag path per sequence (−1 at padded positions) and its score. */
export function crf_viterbi(gpu: Gpu, enc: StepEncoder, a: CrfViterbiArgs<Binding> & HostLengths): void {
  const name = 'crf_viterbi';
  checkGpuOperands(name, a, { path: a.path, score: a.score });
  const backptr = scratch(gpu, 'crf_backptr', a.B * a.T * a.K);
  enc.dispatch(gpu.pipeline(name, viterbiWgsl), [params(gpu, a), a.emissions, a.lengths, a.crf, a.allowed ?? a.crf, a.path, a.score, backptr], Math.ceil(a.B / WG));
}

// ------------------------------------------------------------------------- float64 references

function lse(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** The packed parameter entry's score, −Infinity where forbidden. */
function entry(crf: ArrayLike<number>, allowed: ArrayLike<number> | null | undefined, e: number): number {
  return allowed && !allowed[e] ? -Infinity : crf[e];
}

/**
 * score(y) of one tag path y (length L ≤ T) of sequence b: −Infinity when it uses a forbidden
 * transition; throws on a tag outside [0, K).
 */
export function crfPathScore(a: CrfOperands<ArrayLike<number>>, b: number, y: ArrayLike<number>, L = y.length): number {
  const { T, K, emissions: em, crf, allowed } = a;
  if (L === 0) return 0;
  let s = 0;
  for (let t = 0; t < L; t++) {
    const k = y[t];
    if (!Number.isInteger(k) || k < 0 || k >= K) throw new Error(`crf: tag ${k} at sequence ${b} position ${t} is outside [0, K=${K})`);
    s += entry(crf, allowed, t === 0 ? K * K + k : y[t - 1] * K + k) + em[(b * T + t) * K + k];
  }
  return s + entry(crf, allowed, (K + 1) * K + y[L - 1]);
}

/** α_t(j) for t < L of sequence b (float64, −Infinity for unreachable states), and logZ. */
function forwardVariables(a: CrfOperands<ArrayLike<number>>, b: number, L: number): { alpha: number[][]; logZ: number } {
  const { T, K, emissions: em, crf, allowed } = a;
  const alpha: number[][] = [];
  alpha.push(Array.from({ length: K }, (_, j) => entry(crf, allowed, K * K + j) + em[(b * T) * K + j]));
  for (let t = 1; t < L; t++) {
    const prev = alpha[t - 1];
    alpha.push(Array.from({ length: K }, (_, j) => lse(prev.map((v, i) => v + entry(crf, allowed, i * K + j))) + em[(b * T + t) * K + j]));
  }
  const logZ = lse(alpha[L - 1].map((v, j) => v + entry(crf, allowed, (K + 1) * K + j)));
  return { alpha, logZ };
}

function goldOf(name: string, a: CrfOperands<ArrayLike<number>>, tags: ArrayLike<number>, b: number, L: number): number[] {
  const y = Array.from({ length: L }, (_, t) => tags[b * a.T + t]);
  const s = crfPathScore(a, b, y);
  if (s === -Infinity) throw new Error(`${name}: the gold tags of sequence ${b} (${y.join(' ')}) use a forbidden transition`);
  return y;
}

/** float64 reference of crf_forward. */
export function crf_forward_reference(a: CrfForwardArgs<ArrayLike<number>> & { losses: Float64Array; logZ: Float64Array }): void {
  const name = 'crf_forward_reference';
  checkHostOperands(name, a, { tags: a.tags, losses: a.losses, logZ: a.logZ });
  for (let b = 0; b < a.B; b++) {
    const L = a.lengths[b];
    if (L === 0) {
      a.losses[b] = 0;
      a.logZ[b] = 0;
      continue;
    }
    const gold = crfPathScore(a, b, goldOf(name, a, a.tags, b, L));
    const { logZ } = forwardVariables(a, b, L);
    a.logZ[b] = logZ;
    a.losses[b] = logZ - gold;
  }
}

/** float64 reference of crf_backward (demissions overwritten, dcrf added to). */
export function crf_backward_reference(a: CrfBackwardArgs<ArrayLike<number>> & { demissions: Float64Array; dcrf: Float64Array }): void {
  const name = 'crf_backward_reference';
  checkHostOperands(name, a, { tags: a.tags, demissions: a.demissions, dcrf: a.dcrf });
  if (!(a.normalizer > 0)) throw new Error(`${name}: normalizer must be > 0, got ${a.normalizer}`);
  const { T, K, emissions: em, crf, allowed } = a;
  const g = 1 / a.normalizer;
  a.demissions.fill(0, 0, a.B * T * K);
  for (let b = 0; b < a.B; b++) {
    const L = a.lengths[b];
    if (L === 0) continue;
    const y = goldOf(name, a, a.tags, b, L);
    const { alpha, logZ } = forwardVariables(a, b, L);
    // β_t(i), walking down
    const beta: number[][] = new Array(L);
    beta[L - 1] = Array.from({ length: K }, (_, i) => entry(crf, allowed, (K + 1) * K + i));
    for (let t = L - 2; t >= 0; t--) {
      beta[t] = Array.from({ length: K }, (_, i) => lse(beta[t + 1].map((v, j) => entry(crf, allowed, i * K + j) + em[(b * T + t + 1) * K + j] + v)));
    }
    for (let t = 0; t < L; t++) {
      for (let i = 0; i < K; i++) {
        const p = Math.exp(alpha[t][i] + beta[t][i] - logZ);
        a.demissions[(b * T + t) * K + i] = (p - (y[t] === i ? 1 : 0)) * g;
        if (t === 0) a.dcrf[K * K + i] += (p - (y[0] === i ? 1 : 0)) * g;
        if (t === L - 1) a.dcrf[(K + 1) * K + i] += (p - (y[L - 1] === i ? 1 : 0)) * g;
      }
      if (t === 0) continue;
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < K; j++) {
          const tr = entry(crf, allowed, i * K + j);
          if (tr === -Infinity) continue;
          const xi = Math.exp(alpha[t - 1][i] + tr + em[(b * T + t) * K + j] + beta[t][j] - logZ);
          a.dcrf[i * K + j] += (xi - (y[t - 1] === i && y[t] === j ? 1 : 0)) * g;
        }
      }
    }
  }
}

/** float64 reference of crf_viterbi (ties go to the lowest tag index, as on the GPU). */
export function crf_viterbi_reference(a: CrfViterbiArgs<ArrayLike<number>> & { path: Int32Array; score: Float64Array }): void {
  const name = 'crf_viterbi_reference';
  checkHostOperands(name, a, { path: a.path, score: a.score });
  const { T, K, emissions: em, crf, allowed } = a;
  for (let b = 0; b < a.B; b++) {
    const L = a.lengths[b];
    a.path.fill(-1, b * T, (b + 1) * T);
    if (L === 0) {
      a.score[b] = 0;
      continue;
    }
    let d = Array.from({ length: K }, (_, j) => entry(crf, allowed, K * K + j) + em[(b * T) * K + j]);
    const back: number[][] = [[]];
    for (let t = 1; t < L; t++) {
      const ptr: number[] = [];
      d = Array.from({ length: K }, (_, j) => {
        let best = -Infinity, arg = 0;
        for (let i = 0; i < K; i++) {
          const v = d[i] + entry(crf, allowed, i * K + j);
          if (v > best) { best = v; arg = i; }
        }
        ptr.push(arg);
        return best + em[(b * T + t) * K + j];
      });
      back.push(ptr);
    }
    let best = -Infinity, last = 0;
    for (let j = 0; j < K; j++) {
      const v = d[j] + entry(crf, allowed, (K + 1) * K + j);
      if (v > best) { best = v; last = j; }
    }
    a.score[b] = best;
    for (let t = L - 1; t >= 0; t--) {
      a.path[b * T + t] = last;
      if (t > 0) last = back[t][last];
    }
  }
}

/**
 * The BIO (IOB2) constraint mask over a tag list (`O`, `B-X`, `I-X`), in the packed (K + 2, K)
 * layout: I-X may follow only B-X or I-X, and a sequence may not start with I-X. Tags that are
 * neither O nor B-/I- are treated like O (allowed anywhere).
 */
export function bioAllowed(labels: readonly string[]): Uint32Array {
  const K = labels.length;
  const out = new Uint32Array((K + 2) * K).fill(1);
  const inside = (l: string) => (l.startsWith('I-') ? l.slice(2) : null);
  const typeOf = (l: string) => (l.startsWith('B-') || l.startsWith('I-') ? l.slice(2) : null);
  for (let j = 0; j < K; j++) {
    const x = inside(labels[j]);
    if (x === null) continue;
    out[K * K + j] = 0; // start → I-X
    for (let i = 0; i < K; i++) if (typeOf(labels[i]) !== x) out[i * K + j] = 0;
  }
  return out;
}
