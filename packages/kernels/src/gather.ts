// Row gather / scatter: pick rows of a (totalRows, C) matrix by index, and send gradients back.
//
//   gather_rows_forward:  out[i, :] = inp[rows[i], :]          out (nRows, C), rows i32 (nRows)
//   gather_rows_backward: dinp[rows[i], :] += dout[i, :]       dinp (totalRows, C)
//
// Used by the masked-LM loss (keep only masked positions, so the vocabulary projection costs
// ∝ masked rows) and by heads that read one position ([CLS]). The backward ADDS (it is the
// gradient of a gather into an activation that may have other consumers); rows must be unique —
// duplicates would race. No float atomics: each (row, column) is written by one invocation, so
// the result is the same bits every run.
//
// The GPU cannot throw: a row index outside [0, totalRows) makes the forward write zeros for that
// output row and the backward skip it. The references throw instead (and check uniqueness).
//
// Design: one invocation per element, 64 along C; y walks rows (≤ 65535 per dispatch, more split).

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';

const WG = 64;

const GATHER_WGSL = /* wgsl */ `
struct Params { nRows: u32, C: u32, totalRows: u32, row0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let i = P.row0 + gid.y;
  if (c >= P.C || i >= P.nRows) { return; }
  let r = rows[i];
  let ok = r >= 0 && u32(r) < P.totalRows;
  out[i * P.C + c] = select(0.0, inp[u32(max(r, 0)) * P.C + c], ok);
}
`;

const SCATTER_ADD_WGSL = /* wgsl */ `
struct Params { nRows: u32, C: u32, totalRows: u32, row0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read_write> dinp: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let i = P.row0 + gid.y;
  if (c >= P.C || i >= P.nRows) { return; }
  let r = rows[i];
  if (r < 0 || u32(r) >= P.totalRows) { return; }
  let k = u32(r) * P.C + c;
  dinp[k] = dinp[k] + dout[i * P.C + c];
}
`;

function launch(gpu: Gpu, enc: StepEncoder, label: string, code: string, a: Binding, rows: Binding, out: Binding, nRows: number, C: number, totalRows: number) {
  const pipe = gpu.pipeline(label, code);
  const maxY = gpu.limits.maxComputeWorkgroupsPerDimension;
  for (let row0 = 0; row0 < nRows; row0 += maxY) {
    const n = Math.min(maxY, nRows - row0);
    enc.dispatch(pipe, [gpu.uniform([nRows, C, totalRows, row0]), a, rows, out], Math.ceil(C / WG), n);
  }
}

/**
 * out (nRows, C) = inp[rows]. `totalRows` (rows of inp) defaults to what the inp binding holds.
 */
export function gather_rows_forward(
  gpu: Gpu,
  enc: StepEncoder,
  out: Binding,
  inp: Binding,
  rows: Binding,
  nRows: number,
  C: number,
  totalRows?: number,
): void {
  const name = 'gather_rows_forward';
  checkDims(name, { nRows, C });
  const total = totalRows ?? Math.floor(bindingElements(inp) / C);
  checkDims(name, { totalRows: total });
  checkBuffer(name, 'inp', inp, total * C);
  checkBuffer(name, 'rows', rows, nRows);
  checkBuffer(name, 'out', out, nRows * C);
  launch(gpu, enc, name, GATHER_WGSL, inp, rows, out, nRows, C, total);
}

/** dinp[rows[i]] += dout[i] (rows unique). `totalRows` defaults to what the dinp binding holds. */
export function gather_rows_backward(
  gpu: Gpu,
  enc: StepEncoder,
  dinp: Binding,
  dout: Binding,
  rows: Binding,
  nRows: number,
  C: number,
  totalRows?: number,
): void {
  const name = 'gather_rows_backward';
  checkDims(name, { nRows, C });
  const total = totalRows ?? Math.floor(bindingElements(dinp) / C);
  checkDims(name, { totalRows: total });
  checkBuffer(name, 'dinp', dinp, total * C);
  checkBuffer(name, 'dout', dout, nRows * C);
  checkBuffer(name, 'rows', rows, nRows);
  launch(gpu, enc, name, SCATTER_ADD_WGSL, dout, rows, dinp, nRows, C, total);
}

function bindingElements(b: Binding): number {
  const size = 'buffer' in b && typeof (b as GPUBufferBinding).buffer === 'object'
    ? ((b as GPUBufferBinding).size ?? (b as GPUBufferBinding).buffer.size - ((b as GPUBufferBinding).offset ?? 0))
    : (b as GPUBuffer).size;
  return Math.floor(size / 4);
}

function checkRows(name: string, rows: ArrayLike<number>, nRows: number, totalRows: number, unique: boolean): void {
  const seen = new Set<number>();
  for (let i = 0; i < nRows; i++) {
    const r = rows[i];
    if (!Number.isInteger(r) || r < 0 || r >= totalRows) throw new Error(`${name}: rows[${i}]=${r} is outside [0, ${totalRows})`);
    if (unique) {
      if (seen.has(r)) throw new Error(`${name}: rows[${i}]=${r} repeats an earlier row (rows must be unique)`);
      seen.add(r);
    }
  }
}

/** float64 reference of gather_rows_forward. */
export function gather_rows_forward_reference(
  out: Float64Array,
  inp: ArrayLike<number>,
  rows: ArrayLike<number>,
  nRows: number,
  C: number,
  totalRows = Math.floor(inp.length / C),
): void {
  const name = 'gather_rows_forward_reference';
  checkDims(name, { nRows, C, totalRows });
  checkArray(name, 'inp', inp, totalRows * C);
  checkArray(name, 'rows', rows, nRows);
  checkArray(name, 'out', out, nRows * C);
  checkRows(name, rows, nRows, totalRows, false);
  for (let i = 0; i < nRows; i++) for (let c = 0; c < C; c++) out[i * C + c] = inp[rows[i] * C + c];
}

/** float64 reference of gather_rows_backward (adds into dinp). */
export function gather_rows_backward_reference(
  dinp: Float64Array,
  dout: ArrayLike<number>,
  rows: ArrayLike<number>,
  nRows: number,
  C: number,
  totalRows = Math.floor(dinp.length / C),
): void {
  const name = 'gather_rows_backward_reference';
  checkDims(name, { nRows, C, totalRows });
  checkArray(name, 'dinp', dinp, totalRows * C);
  checkArray(name, 'dout', dout, nRows * C);
  checkArray(name, 'rows', rows, nRows);
  checkRows(name, rows, nRows, totalRows, true);
  for (let i = 0; i < nRows; i++) for (let c = 0; c < C; c++) dinp[rows[i] * C + c] += dout[i * C + c];
}
