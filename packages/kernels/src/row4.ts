// row4: WGSL accessors for "4 consecutive columns of one row" of a row-major (rows, C) f32 tensor,
// shared by the memory-bound row kernels (embedding, gather, reduce).
//
// Why: on lavapipe every storage load is a scalar load per SIMD lane, so the cost of a
// memory-bound kernel follows the number of loads per lane; a vec4 load (array<vec4f>) moves 4
// floats for much less than 4 scalar loads. When C is a multiple of 4 every row starts on a
// 16-byte boundary and the tensor is bound as array<vec4f>; otherwise it is bound as array<f32>
// and the 4 columns are 4 scalar loads (columns past C − 1 are clamped to C − 1 on load and
// skipped on store), so both variants compute the same thing with the same code.
//
// The generated functions read the column counts from the shader's uniform `P`, which must have
// fields `C: u32` (columns) and `C4: u32` (= ⌈C/4⌉, the number of 4-column groups per row):
//   fn <name>_load(row: u32, q: u32) -> vec4f         columns 4q .. 4q+3 of `row` (past C: repeats of C − 1)
//   fn <name>_loadz(row: u32, q: u32) -> vec4f        the same with columns past C read as 0 (for sums)
//   fn <name>_store(row: u32, q: u32, v: vec4f)       (read_write bindings only)

import type { Gpu } from './runtime.js';

/** True when rows of C floats can be bound as array<vec4f>. */
export function vec4Rows(C: number): boolean {
  return C % 4 === 0;
}

/** The binding declaration and the load (and store) functions of one (rows, C) tensor. */
export function row4Wgsl(name: string, binding: number, access: 'read' | 'read_write', vec4: boolean): string {
  const store = access === 'read_write';
  if (vec4) {
    return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<vec4f>;
fn ${name}_load(row: u32, q: u32) -> vec4f { return ${name}[row * P.C4 + q]; }
fn ${name}_loadz(row: u32, q: u32) -> vec4f { return ${name}[row * P.C4 + q]; }
${store ? `fn ${name}_store(row: u32, q: u32, v: vec4f) { ${name}[row * P.C4 + q] = v; }` : ''}
`;
  }
  return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<f32>;
fn ${name}_load(row: u32, q: u32) -> vec4f {
  let base_ = row * P.C;
  let col_ = 4u * q;
  let last_ = P.C - 1u;
  return vec4f(${name}[base_ + col_], ${name}[base_ + min(col_ + 1u, last_)], ${name}[base_ + min(col_ + 2u, last_)],
               ${name}[base_ + min(col_ + 3u, last_)]);
}
fn ${name}_loadz(row: u32, q: u32) -> vec4f {
  return select(vec4f(0.0), ${name}_load(row, q), 4u * q + vec4u(0u, 1u, 2u, 3u) < vec4u(P.C));
}
${store ? `fn ${name}_store(row: u32, q: u32, v: vec4f) {
  let col_ = 4u * q;
  let base_ = row * P.C + col_;
  ${name}[base_] = v.x;
  if (col_ + 1u < P.C) { ${name}[base_ + 1u] = v.y; }
  if (col_ + 2u < P.C) { ${name}[base_ + 2u] = v.z; }
  if (col_ + 3u < P.C) { ${name}[base_ + 3u] = v.w; }
}` : ''}
`;
}

/**
 * Workgroup counts (y, z) covering `groups` workgroups on a y·z grid, each axis within the device
 * limit (shaders index the group as wid.z · nwg.y + wid.y), so any number of rows fits one dispatch.
 */
export function yzGrid(gpu: Gpu, groups: number): [number, number] {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const z = Math.ceil(Math.max(groups, 1) / max);
  return [Math.ceil(Math.max(groups, 1) / z), z];
}
