// elementwise: residual add, gradient accumulate, scale, copy, fill — the glue of a training step.
//
//   add_forward(out, a, b, N)     out = a + b          (residual connections)
//   accumulate(dst, src, N)       dst += src           (gradient from two branches)
//   scale(out, inp, s, N)         out = s · inp
//   copy(dst, src, N)             dst = src
//   fill(buf, value, N)           buf = value          (zeroing gradients each accumulation cycle)
//
// Design for lavapipe: these are memory-bound, one scalar load per input per element. Each
// workgroup of 64 invocations covers ELEMS_PER_WG consecutive elements, invocation x taking
// elements x, x + 64, x + 128, ... so the 8 SIMD lanes (consecutive x) touch consecutive
// addresses. Outputs must not alias inputs (WebGPU forbids binding one buffer range as both
// read-only and read-write in a dispatch). Workgroups are laid out on a 2-D grid (x ≤ 65535) so N of any size fits; a single
// dispatch of 16M elements runs in tens of milliseconds.
//
// Also here: small helpers other kernel families share (2-D grids, f32 bit patterns for
// uniforms, per-device scratch buffers).

import { bindingOffset, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';

const WG = 64;
const PER_INVOCATION = 4;
const ELEMS_PER_WG = WG * PER_INVOCATION;

/** The f32 bit pattern of `x` as a u32 (uniform buffers are built from u32 words). */
export function f32bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}

/** Split `groups` workgroups into an (x, y) grid with x ≤ 65535; shaders index wid.y·nx + wid.x. */
export function grid2d(groups: number): [number, number] {
  const nx = Math.min(Math.max(groups, 1), 65535);
  return [nx, Math.ceil(Math.max(groups, 1) / nx)];
}

const scratchBuffers = new WeakMap<Gpu, Map<string, GPUBuffer>>();
/**
 * A device-lifetime scratch buffer of at least `elements` 4-byte words, one per `name`. Dispatches
 * recorded into one pass run in order, so kernels that use the same scratch one after another are
 * safe; a buffer that must grow is replaced (the old one is left to the garbage collector, since
 * dispatches already recorded may still reference it).
 */
export function scratch(gpu: Gpu, name: string, elements: number): GPUBuffer {
  let perGpu = scratchBuffers.get(gpu);
  if (!perGpu) {
    perGpu = new Map();
    scratchBuffers.set(gpu, perGpu);
  }
  const have = perGpu.get(name);
  if (have && have.size >= elements * 4) return have;
  const buf = gpu.zeros(Math.max(elements, 64) * 4, `scratch:${name}`);
  perGpu.set(name, buf);
  return buf;
}

// One shader per operation; `op` is spliced in with T the element type. Bindings: 0 uniform
// {N, s} (N in elements of T), 1 out, 2 x, 3 y. With T = vec4f (N % 4 == 0 and 16-byte aligned
// bindings, the usual case) each lane moves 4 floats per load instruction instead of 1:
// `copy N=1048576` went from 2.9 to 6.0 GB/s (back-to-back bench runs, 14:21–14:22 UTC).
function elementwiseWgsl(op: string, inputs: number, vec4: boolean): string {
  const T = vec4 ? 'vec4f' : 'f32';
  const decls = [
    inputs >= 1 ? `@group(0) @binding(2) var<storage, read> x: array<${T}>;` : '',
    inputs >= 2 ? `@group(0) @binding(3) var<storage, read> y: array<${T}>;` : '',
  ].join('\n');
  return /* wgsl */ `
struct Params { N: u32, s: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<${T}>;
${decls}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let base = (wid.y * nwg.x + wid.x) * ${ELEMS_PER_WG}u + lid.x;
  for (var e = 0u; e < ${PER_INVOCATION}u; e++) {
    let i = base + e * ${WG}u;
    if (i >= params.N) { return; }
    ${op.replaceAll('T(', `${T}(`)}
  }
}
`;
}

const OPS = {
  add_forward: { op: 'out[i] = x[i] + y[i];', inputs: 2 },
  accumulate: { op: 'out[i] = out[i] + x[i];', inputs: 1 },
  scale: { op: 'out[i] = params.s * x[i];', inputs: 1 },
  copy: { op: 'out[i] = x[i];', inputs: 1 },
  fill: { op: 'out[i] = T(params.s);', inputs: 0 },
} as const;

/** True when every binding starts on a 16-byte boundary (array<vec4f> needs it). */
function vec4Aligned(buffers: Binding[]): boolean {
  return buffers.every((b) => bindingOffset(b) % 16 === 0);
}

function launch(gpu: Gpu, enc: StepEncoder, name: keyof typeof OPS, N: number, s: number, buffers: Binding[]): void {
  const { op, inputs } = OPS[name];
  const vec4 = N % 4 === 0 && vec4Aligned(buffers);
  const n = vec4 ? N / 4 : N;
  const pipe = gpu.pipeline(vec4 ? `${name}:v4` : name, elementwiseWgsl(op, inputs, vec4));
  const [x, y] = grid2d(Math.ceil(n / ELEMS_PER_WG));
  enc.dispatch(pipe, [gpu.uniform([n, f32bits(s)]), ...buffers], x, y);
}

/** out = a + b, elementwise over N floats. */
export function add_forward(gpu: Gpu, enc: StepEncoder, out: Binding, a: Binding, b: Binding, N: number): void {
  const name = 'add_forward';
  checkDims(name, { N });
  checkBuffer(name, 'out', out, N);
  checkBuffer(name, 'a', a, N);
  checkBuffer(name, 'b', b, N);
  launch(gpu, enc, name, N, 0, [out, a, b]);
}

/** dst += src over N floats (dst and src must not overlap). */
export function accumulate(gpu: Gpu, enc: StepEncoder, dst: Binding, src: Binding, N: number): void {
  const name = 'accumulate';
  checkDims(name, { N });
  checkBuffer(name, 'dst', dst, N);
  checkBuffer(name, 'src', src, N);
  launch(gpu, enc, name, N, 0, [dst, src]);
}

/** out = s · inp over N floats. `s` is rounded to f32. */
export function scale(gpu: Gpu, enc: StepEncoder, out: Binding, inp: Binding, s: number, N: number): void {
  const name = 'scale';
  checkDims(name, { N });
  if (!Number.isFinite(s)) throw new Error(`${name}: factor s=${s} must be a finite number`);
  checkBuffer(name, 'out', out, N);
  checkBuffer(name, 'inp', inp, N);
  launch(gpu, enc, name, N, s, [out, inp]);
}

/** dst = src over N floats (as a dispatch, so it can sit between kernels of one step). */
export function copy(gpu: Gpu, enc: StepEncoder, dst: Binding, src: Binding, N: number): void {
  const name = 'copy';
  checkDims(name, { N });
  checkBuffer(name, 'dst', dst, N);
  checkBuffer(name, 'src', src, N);
  launch(gpu, enc, name, N, 0, [dst, src]);
}

/** buf[0..N) = value. `value` is rounded to f32 (NaN and ±Infinity are allowed, e.g. for poisoning). */
export function fill(gpu: Gpu, enc: StepEncoder, buf: Binding, value: number, N: number): void {
  const name = 'fill';
  checkDims(name, { N });
  if (typeof value !== 'number') throw new Error(`${name}: value must be a number`);
  checkBuffer(name, 'buf', buf, N);
  launch(gpu, enc, name, N, value, [buf]);
}

// ---- float64 references (the specification) ----

export function add_forward_reference(out: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>, N: number): void {
  checkDims('add_forward_reference', { N });
  checkArray('add_forward_reference', 'a', a, N);
  checkArray('add_forward_reference', 'b', b, N);
  checkArray('add_forward_reference', 'out', out, N);
  for (let i = 0; i < N; i++) out[i] = a[i] + b[i];
}

export function accumulate_reference(dst: Float64Array, src: ArrayLike<number>, N: number): void {
  checkDims('accumulate_reference', { N });
  checkArray('accumulate_reference', 'dst', dst, N);
  checkArray('accumulate_reference', 'src', src, N);
  for (let i = 0; i < N; i++) dst[i] += src[i];
}

export function scale_reference(out: Float64Array, inp: ArrayLike<number>, s: number, N: number): void {
  checkDims('scale_reference', { N });
  checkArray('scale_reference', 'out', out, N);
  checkArray('scale_reference', 'inp', inp, N);
  for (let i = 0; i < N; i++) out[i] = s * inp[i];
}

export function copy_reference(dst: Float64Array, src: ArrayLike<number>, N: number): void {
  checkDims('copy_reference', { N });
  checkArray('copy_reference', 'dst', dst, N);
  checkArray('copy_reference', 'src', src, N);
  for (let i = 0; i < N; i++) dst[i] = src[i];
}

export function fill_reference(buf: Float64Array, value: number, N: number): void {
  checkDims('fill_reference', { N });
  checkArray('fill_reference', 'buf', buf, N);
  buf.fill(value, 0, N);
}
