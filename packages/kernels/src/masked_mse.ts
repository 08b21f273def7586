// masked_mse: mean squared error over the real rows of a (M, D) prediction, forward and backward
// fused: the hidden-state term of distillation (a student's last hidden states through a learned
// projection vs the teacher's, TinyBERT-style), where padding rows must not count.
//
// Shapes: pred (M, D) f32, target (M, D) f32, mask (M) i32 (0 = padding: skipped), losses (M) f32,
// dpred (M, D) f32.
//   losses_i  = mask_i ? Σ_j (pred_ij − target_ij)² : 0
//   dpred_ij  = mask_i ? weight · 2 (pred_ij − target_ij) / normalizer : 0
// Mean loss = Σ losses / normalizer; the caller passes normalizer = (real rows) · D, which is
// PyTorch's F.mse_loss(pred[mask], target[mask]) (reduction 'mean' over the selected elements).
// dpred is overwritten; the target gets no gradient (the teacher is frozen).
//
// (The shader names the target `goal`: `target` is a reserved word in WGSL.)
// Design: one invocation per row (D is a hidden size, 16–1024: a row loop is memory-bound and
// needs no reduction across invocations).

import { type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { f32bits, grid2d } from './elementwise.js';

const WG = 64;

export interface MaskedMseOptions {
  /** Divisor of the summed losses in the gradient: (number of rows with mask ≠ 0) · D. */
  normalizer: number;
  /** Multiplies the gradient (the term's weight in the total loss; default 1). */
  weight?: number;
}

const wgsl = (grad: boolean) => /* wgsl */ `
struct Params { M: u32, D: u32, gscale: f32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> goal: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<i32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
${grad ? '@group(0) @binding(5) var<storage, read_write> dpred: array<f32>;' : ''}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= P.M) { return; }
  let base = i * P.D;
  let real = mask[i] != 0;
  var s = 0.0;
  for (var j = 0u; j < P.D; j++) {
    let r = select(0.0, pred[base + j] - goal[base + j], real);
    s += r * r;
    ${grad ? 'dpred[base + j] = P.gscale * r;' : ''}
  }
  losses[i] = s;
}
`;

const operandSizes = (M: number, D: number) => ({ losses: M, pred: M * D, target: M * D, mask: M, dpred: M * D });

function checkOptions(name: string, M: number, D: number, o: MaskedMseOptions): void {
  checkDims(name, { M, D });
  if (!(Number.isFinite(o.normalizer) && o.normalizer > 0)) throw new Error(`${name}: normalizer=${o.normalizer} must be a positive number ((real rows) · D)`);
  if (!Number.isFinite(o.weight ?? 1)) throw new Error(`${name}: weight=${o.weight} must be finite`);
}

/** Record the masked MSE: per-row losses, and (dpred not null) dpred = weight · 2 (pred − target) / normalizer on real rows, 0 on padding. */
export function masked_mse(gpu: Gpu, enc: StepEncoder, losses: Binding, dpred: Binding | null, pred: Binding, target: Binding, mask: Binding,
  M: number, D: number, opts: MaskedMseOptions): void {
  const name = 'masked_mse';
  checkOptions(name, M, D, opts);
  checkOperands(name, checkBuffer, operandSizes(M, D), { losses, pred, target, mask, dpred });
  const u = gpu.uniform([M, D, f32bits((2 * (opts.weight ?? 1)) / opts.normalizer), 0]);
  const bindings: Binding[] = [u, pred, target, mask, losses];
  if (dpred) bindings.push(dpred);
  enc.dispatch(gpu.pipeline(dpred ? name : `${name}_losses`, wgsl(dpred !== null)), bindings, ...grid2d(Math.ceil(M / WG)));
}

/** float64 reference of masked_mse (the specification); `dpred` may be null. */
export function masked_mse_reference(losses: Float64Array, dpred: Float64Array | null, pred: ArrayLike<number>, target: ArrayLike<number>, mask: ArrayLike<number>,
  M: number, D: number, opts: MaskedMseOptions): void {
  const name = 'masked_mse_reference';
  checkOptions(name, M, D, opts);
  checkOperands(name, checkArray, operandSizes(M, D), { losses, pred, target, mask, dpred });
  const g = (2 * (opts.weight ?? 1)) / opts.normalizer;
  for (let i = 0; i < M; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) {
      const r = mask[i] !== 0 ? pred[i * D + j] - target[i * D + j] : 0;
      s += r * r;
      if (dpred) dpred[i * D + j] = g * r;
    }
    losses[i] = s;
  }
}
