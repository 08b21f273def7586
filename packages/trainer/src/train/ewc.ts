// Elastic Weight Consolidation (Kirkpatrick et al. 2017) as a forgetting control for continued
// pretraining: keep the weights that mattered for the general task near their old values.
//
//   penalty  = λ/2 · Σᵢ Fᵢ (θᵢ − θ*ᵢ)²          (θ* = the weights before domain training)
//   gradient = λ · Fᵢ (θᵢ − θ*ᵢ)                 (added to the task gradient before AdamW)
//   Fᵢ       = (1/n) Σ_batches gᵢ²               (diagonal empirical Fisher: the mean squared
//                                                 gradient of the general-data loss over n batches)
//
// Two small WGSL kernels over flat buffers in the ParamStore layout (so padding between tensors,
// whose gradient is 0, gets F = 0 and no penalty), each with a float64 reference beside it.
// Both use a grid-stride loop so any N fits in a bounded number of workgroups.

import { checkArray, checkBuffer, checkDims, type Binding, type Gpu, type StepEncoder } from '@tunebench/kernels';

const WORKGROUP = 256;
const MAX_GROUPS = 4096;

function f32Bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}

export const EWC_FISHER_ACCUMULATE_WGSL = /* wgsl */ `
struct Args { N: u32, scale_bits: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read_write> fisher: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let scale = bitcast<f32>(args.scale_bits);
  let stride = nwg.x * ${WORKGROUP}u;
  for (var i = gid.x; i < args.N; i += stride) {
    let g = grads[i];
    fisher[i] += scale * (g * g);
  }
}
`;

/** fisher[i] += scale · grads[i]² for i < N (scale = 1 / number of batches for the mean). */
export function ewc_fisher_accumulate(
  gpu: Gpu,
  enc: StepEncoder,
  fisher: Binding,
  grads: Binding,
  N: number,
  scale: number,
): void {
  const name = 'ewc_fisher_accumulate';
  checkDims(name, { N });
  checkBuffer(name, 'fisher', fisher, N);
  checkBuffer(name, 'grads', grads, N);
  if (!Number.isFinite(scale)) throw new Error(`${name}: scale=${scale} must be finite`);
  const pipe = gpu.pipeline(name, EWC_FISHER_ACCUMULATE_WGSL);
  enc.dispatch(pipe, [gpu.uniform([N, f32Bits(scale)]), fisher, grads], Math.min(MAX_GROUPS, Math.ceil(N / WORKGROUP)));
}

export function ewc_fisher_accumulate_reference(
  fisher: Float64Array,
  grads: ArrayLike<number>,
  N: number,
  scale: number,
): void {
  checkDims('ewc_fisher_accumulate_reference', { N });
  checkArray('ewc_fisher_accumulate_reference', 'fisher', fisher, N);
  checkArray('ewc_fisher_accumulate_reference', 'grads', grads, N);
  for (let i = 0; i < N; i++) fisher[i] += scale * grads[i] * grads[i];
}

export const EWC_PENALTY_BACKWARD_WGSL = /* wgsl */ `
struct Args { N: u32, lambda_bits: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read_write> grads: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> anchor: array<f32>;
@group(0) @binding(4) var<storage, read> fisher: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let lambda = bitcast<f32>(args.lambda_bits);
  let stride = nwg.x * ${WORKGROUP}u;
  for (var i = gid.x; i < args.N; i += stride) {
    grads[i] += lambda * fisher[i] * (params[i] - anchor[i]);
  }
}
`;

/** grads[i] += λ · fisher[i] · (params[i] − anchor[i]) for i < N (the gradient of the EWC penalty). */
export function ewc_penalty_backward(
  gpu: Gpu,
  enc: StepEncoder,
  grads: Binding,
  params: Binding,
  anchor: Binding,
  fisher: Binding,
  N: number,
  lambda: number,
): void {
  const name = 'ewc_penalty_backward';
  checkDims(name, { N });
  checkBuffer(name, 'grads', grads, N);
  checkBuffer(name, 'params', params, N);
  checkBuffer(name, 'anchor', anchor, N);
  checkBuffer(name, 'fisher', fisher, N);
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`${name}: lambda=${lambda} must be a finite number ≥ 0`);
  const pipe = gpu.pipeline(name, EWC_PENALTY_BACKWARD_WGSL);
  enc.dispatch(
    pipe,
    [gpu.uniform([N, f32Bits(lambda)]), grads, params, anchor, fisher],
    Math.min(MAX_GROUPS, Math.ceil(N / WORKGROUP)),
  );
}

export function ewc_penalty_backward_reference(
  grads: Float64Array,
  params: ArrayLike<number>,
  anchor: ArrayLike<number>,
  fisher: ArrayLike<number>,
  N: number,
  lambda: number,
): void {
  const name = 'ewc_penalty_backward_reference';
  checkDims(name, { N });
  for (const [k, a] of [['grads', grads], ['params', params], ['anchor', anchor], ['fisher', fisher]] as const) checkArray(name, k, a, N);
  for (let i = 0; i < N; i++) grads[i] += lambda * fisher[i] * (params[i] - anchor[i]);
}

/** The penalty value λ/2 · Σ F (θ − θ*)², in float64 (for logs; computed on the CPU from read-backs). */
export function ewc_penalty_reference(
  params: ArrayLike<number>,
  anchor: ArrayLike<number>,
  fisher: ArrayLike<number>,
  N: number,
  lambda: number,
): number {
  let s = 0;
  for (let i = 0; i < N; i++) {
    const d = params[i] - anchor[i];
    s += fisher[i] * d * d;
  }
  return 0.5 * lambda * s;
}
