// Two small kernels the heads need that the kernel library does not have (yet): the pooler's
// tanh (forward and backward) and CosineSimilarityLoss on the diagonal of a similarity matrix.
// Each has a float64 reference beside it; both are memory-bound one-invocation-per-element loops.

import { checkBuffer, checkDims, type Binding, type Gpu, type StepEncoder } from '@tunebench/kernels';

const WG = 64;

const TANH_WGSL = /* wgsl */ `
struct P { N: u32, backward: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> inp: array<f32>;   // forward: x; backward: y = tanh(x)
@group(0) @binding(2) var<storage, read> dout: array<f32>;  // backward only
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * 65535u * ${WG}u + gid.x;
  if (i >= p.N) { return; }
  if (p.backward == 0u) {
    // tanh(x) = 1 − 2/(exp(2x) + 1), clamped so exp cannot overflow
    let x = clamp(inp[i], -15.0, 15.0);
    out[i] = 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
  } else {
    let y = inp[i];
    out[i] = dout[i] * (1.0 - y * y);
  }
}
`;

function grid(n: number): [number, number] {
  const g = Math.ceil(n / WG);
  return [Math.min(g, 65535), Math.ceil(g / 65535)];
}

/** out = tanh(inp) over N floats. */
export function tanh_forward(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, N: number): void {
  checkDims('tanh_forward', { N });
  checkBuffer('tanh_forward', 'out', out, N);
  checkBuffer('tanh_forward', 'inp', inp, N);
  const [x, y] = grid(N);
  enc.dispatch(gpu.pipeline('tanh', TANH_WGSL), [gpu.uniform([N, 0, 0, 0]), inp, inp, out], x, y);
}

/** dinp = dout · (1 − out²) where out = tanh(inp) (overwrites dinp). */
export function tanh_backward(gpu: Gpu, enc: StepEncoder, dinp: Binding, out: Binding, dout: Binding, N: number): void {
  checkDims('tanh_backward', { N });
  checkBuffer('tanh_backward', 'dinp', dinp, N);
  checkBuffer('tanh_backward', 'out', out, N);
  checkBuffer('tanh_backward', 'dout', dout, N);
  const [x, y] = grid(N);
  enc.dispatch(gpu.pipeline('tanh', TANH_WGSL), [gpu.uniform([N, 1, 0, 0]), out, dout, dinp], x, y);
}

export function tanh_forward_reference(out: Float64Array, inp: ArrayLike<number>, N: number): void {
  for (let i = 0; i < N; i++) out[i] = Math.tanh(inp[i]);
}

export function tanh_backward_reference(dinp: Float64Array, out: ArrayLike<number>, dout: ArrayLike<number>, N: number): void {
  for (let i = 0; i < N; i++) dinp[i] = dout[i] * (1 - out[i] * out[i]);
}

const COSINE_MSE_WGSL = /* wgsl */ `
struct P { n: u32, pad: u32, gscale: f32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> S: array<f32>;        // (n, n) cosine similarities
@group(0) @binding(2) var<storage, read> targets: array<f32>;  // (n)
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;  // (n)
@group(0) @binding(4) var<storage, read_write> dS: array<f32>;      // (n, n)
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.n) { return; }
  let r = S[i * p.n + i] - targets[i];
  losses[i] = r * r;
  for (var j = 0u; j < p.n; j++) { dS[i * p.n + j] = select(0.0, 2.0 * r * p.gscale, j == i); }
}
`;

/**
 * CosineSimilarityLoss on the diagonal of S (n, n): losses[i] = (S[i,i] − targets[i])²,
 * dS = diag(2 (S[i,i] − targets[i])) · gradScale (pass 1/n for the mean), zero elsewhere.
 */
export function cosine_mse(gpu: Gpu, enc: StepEncoder, losses: Binding, dS: Binding, S: Binding, targets: Binding, n: number, gradScale: number): void {
  checkDims('cosine_mse', { n });
  checkBuffer('cosine_mse', 'S', S, n * n);
  checkBuffer('cosine_mse', 'dS', dS, n * n);
  checkBuffer('cosine_mse', 'targets', targets, n);
  checkBuffer('cosine_mse', 'losses', losses, n);
  const u = gpu.uniform([n, 0, f32(gradScale), 0]);
  enc.dispatch(gpu.pipeline('cosine_mse', COSINE_MSE_WGSL), [u, S, targets, losses, dS], Math.ceil(n / WG));
}

export function cosine_mse_reference(losses: Float64Array, dS: Float64Array, S: ArrayLike<number>, targets: ArrayLike<number>, n: number, gradScale: number): void {
  for (let i = 0; i < n; i++) {
    const r = S[i * n + i] - targets[i];
    losses[i] = r * r;
    for (let j = 0; j < n; j++) dS[i * n + j] = i === j ? 2 * r * gradScale : 0;
  }
}

function f32(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}
