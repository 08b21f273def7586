// distill_kl: the knowledge-distillation loss of Hinton et al. (2015), forward and backward fused in
// one pass over each row, as softmax_cross_entropy does for the label loss.
//
// Shapes: student logits (N, C) f32, teacher logits (N, C) f32, targets (N) i32 (only to skip rows:
// a row whose target is −100 — padding, a later word piece — has loss 0 and a zero gradient row),
// losses (N) f32, dlogits (N, C) f32.
//
// Per row i, with temperature τ, p = softmax(t_i / τ) (teacher), q = softmax(s_i / τ) (student):
//   loss_i      = τ² · KL(p ‖ q) = τ² · Σ_j p_j (log p_j − log q_j)
//   d loss_i / d s_ij = τ² · (q_j − p_j) / τ = τ · (q_j − p_j)
// The τ² keeps the soft-target gradients' magnitude independent of τ (Hinton et al. §2), and is
// what PyTorch users write: F.kl_div(F.log_softmax(s/τ), F.softmax(t/τ), reduction='batchmean')·τ².
// Mean loss = Σ losses / normalizer (the caller passes the number of non-ignored rows).
//
// dlogits: written as weight · τ (q − p) / normalizer, or ADDED to what dlogits holds with
// `accumulate` (the student's label cross-entropy is written first by softmax_cross_entropy; the
// distillation term adds its share, so one backward through the classifier carries both).
// The teacher gets no gradient (it is frozen).
//
// Design: one invocation per row (classifier rows are short: C = 7 for NER, ~10 for topics; the
// row-per-invocation layout is what softmax_cross_entropy measured fastest on lavapipe for V ≤
// 512). Three passes over the row: the two maxima, the two sums of exps, then loss and gradient.

import { type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { f32bits, grid2d } from './elementwise.js';

const WG = 64;
const IGNORE_INDEX = -100;

export interface DistillKlOptions {
  /** Softmax temperature τ > 0 (Hinton et al. use 1–20; 2–4 is common). */
  temperature: number;
  /** Divisor of the summed row losses in the gradient: the number of non-ignored rows. */
  normalizer: number;
  /** Multiplies the gradient (the distillation loss's share α of the total loss; default 1). */
  weight?: number;
  /** Add the gradient to dlogits instead of overwriting it (default false). */
  accumulate?: boolean;
}

/** Flag bits of the shader's P.flags. */
const Flag = { accumulate: 1 } as const;

// grad = false: the losses-only shader (no dlogits binding, so nothing aliases the losses).
const wgsl = (grad: boolean) => /* wgsl */ `
struct Params { N: u32, C: u32, flags: u32, ignore: u32, tau: f32, gscale: f32, pad0: u32, pad1: u32 }
const FLAG_ACCUMULATE = ${Flag.accumulate}u;
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> student: array<f32>;
@group(0) @binding(2) var<storage, read> teacher: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
${grad ? '@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;' : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= P.N) { return; }
  let base = i * P.C;
  let acc = (P.flags & FLAG_ACCUMULATE) != 0u;
  if (targets[i] == bitcast<i32>(P.ignore)) {
    losses[i] = 0.0;
    ${grad ? 'if (!acc) { for (var j = 0u; j < P.C; j++) { dlogits[base + j] = 0.0; } }' : ''}
    return;
  }
  let inv = 1.0 / P.tau;
  var ms = -3.0e38;
  var mt = -3.0e38;
  for (var j = 0u; j < P.C; j++) {
    ms = max(ms, student[base + j] * inv);
    mt = max(mt, teacher[base + j] * inv);
  }
  var ss = 0.0;
  var st = 0.0;
  for (var j = 0u; j < P.C; j++) {
    ss += exp(student[base + j] * inv - ms);
    st += exp(teacher[base + j] * inv - mt);
  }
  let lzs = ms + log(ss);   // log Σ exp(s/τ)
  let lzt = mt + log(st);
  var kl = 0.0;
  for (var j = 0u; j < P.C; j++) {
    let lp = teacher[base + j] * inv - lzt;
    let lq = student[base + j] * inv - lzs;
    let p = exp(lp);
    kl += p * (lp - lq);
    ${grad ? `let g = P.gscale * (exp(lq) - p);
    if (acc) { dlogits[base + j] += g; } else { dlogits[base + j] = g; }` : ''}
  }
  losses[i] = P.tau * P.tau * kl;
}
`;

const operandSizes = (N: number, C: number) => ({ losses: N, student: N * C, teacher: N * C, targets: N, dlogits: N * C });

function checkOptions(name: string, N: number, C: number, o: DistillKlOptions): void {
  checkDims(name, { N, C });
  if (!(Number.isFinite(o.temperature) && o.temperature > 0)) throw new Error(`${name}: temperature=${o.temperature} must be a finite number > 0`);
  if (!(Number.isFinite(o.normalizer) && o.normalizer > 0)) throw new Error(`${name}: normalizer=${o.normalizer} must be a positive number (count of non-ignored rows)`);
  const w = o.weight ?? 1;
  if (!Number.isFinite(w)) throw new Error(`${name}: weight=${w} must be finite`);
}

/**
 * Record the fused distillation loss: losses (N) = τ²·KL(softmax(teacher/τ) ‖ softmax(student/τ))
 * per row, and (dlogits not null) its gradient w.r.t. the student logits, scaled by weight /
 * normalizer, written or (accumulate) added.
 */
export function distill_kl(gpu: Gpu, enc: StepEncoder, losses: Binding, dlogits: Binding | null, student: Binding, teacher: Binding,
  targets: Binding, N: number, C: number, opts: DistillKlOptions): void {
  const name = 'distill_kl';
  checkOptions(name, N, C, opts);
  checkOperands(name, checkBuffer, operandSizes(N, C), { losses, student, teacher, targets, dlogits });
  const flags = opts.accumulate ? Flag.accumulate : 0;
  const gscale = ((opts.weight ?? 1) * opts.temperature) / opts.normalizer;
  const u = gpu.uniform([N, C, flags, IGNORE_INDEX >>> 0, f32bits(opts.temperature), f32bits(gscale), 0, 0]);
  const bindings: Binding[] = [u, student, teacher, targets, losses];
  if (dlogits) bindings.push(dlogits);
  enc.dispatch(gpu.pipeline(dlogits ? name : `${name}_losses`, wgsl(dlogits !== null)), bindings, ...grid2d(Math.ceil(N / WG)));
}

/** float64 reference of distill_kl (the specification); `dlogits` may be null. */
export function distill_kl_reference(losses: Float64Array, dlogits: Float64Array | null, student: ArrayLike<number>, teacher: ArrayLike<number>,
  targets: ArrayLike<number>, N: number, C: number, opts: DistillKlOptions): void {
  const name = 'distill_kl_reference';
  checkOptions(name, N, C, opts);
  checkOperands(name, checkArray, operandSizes(N, C), { losses, student, teacher, targets, dlogits });
  const tau = opts.temperature;
  const gscale = ((opts.weight ?? 1) * tau) / opts.normalizer;
  const logSoftmax = (x: ArrayLike<number>, base: number): Float64Array => {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[base + j] / tau);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[base + j] / tau - m);
    const lz = m + Math.log(s);
    return Float64Array.from({ length: C }, (_, j) => x[base + j] / tau - lz);
  };
  for (let i = 0; i < N; i++) {
    const base = i * C;
    if (targets[i] === IGNORE_INDEX) {
      losses[i] = 0;
      if (dlogits && !opts.accumulate) dlogits.fill(0, base, base + C);
      continue;
    }
    const lp = logSoftmax(teacher, base), lq = logSoftmax(student, base);
    let kl = 0;
    for (let j = 0; j < C; j++) {
      const p = Math.exp(lp[j]);
      kl += p * (lp[j] - lq[j]);
      if (dlogits) {
        const g = gscale * (Math.exp(lq[j]) - p);
        dlogits[base + j] = opts.accumulate ? dlogits[base + j] + g : g;
      }
    }
    losses[i] = tau * tau * kl;
  }
}
