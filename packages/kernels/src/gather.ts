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
// Design: memory-bound. An invocation moves 4 vec4 of one row (columns 4q.., 8 vec4 apart; row4.ts:
// array<vec4f> when C % 4 = 0, else 4 clamped scalar loads per vec4), workgroups of 8 lanes × 8
// rows, so the 8 SIMD lanes of a row read consecutive vec4 and the row index is loaded once per
// 16 columns per lane; no integer division. Rows go on the y and z axes of the grid so any number
// of rows fits one dispatch. (One invocation per element was 2–4× slower: 1229 of 8192 rows × 256
// 1.9 → 0.53 ms forward; NOTES.md has the numbers.)

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { row4Wgsl, vec4Rows, yzGrid } from './row4.js';

const LANES = 8; // invocations along the columns (one SIMD row of lavapipe's 8 lanes)
const ROWS = 8; // rows per workgroup
const GE = 4; // vec4 per lane, 8 vec4 apart: the row index is loaded once per 16 columns (1, 2, 8 measured slower)

function each(f: (e: number) => string): string {
  return Array.from({ length: GE }, (_, e) => f(e)).join('\n  ');
}

// The shader of both kernels: invocation (lane, i) handles row i of the (nRows, C) side (out or
// dout), vec4 columns qb, qb + 8, qb + 16, qb + 24. `read` is bound at 1, rows at 2, `write` at 3;
// `findRow` turns r = rows[i] into a row of the (totalRows, C) side, `move(q)` moves vec4 column q.
function rowMoveWgsl(read: string, write: string, vec4: boolean, findRow: string, move: (q: string) => string): string {
  return /* wgsl */ `
struct Params { nRows: u32, C: u32, C4: u32, totalRows: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl(read, 1, 'read', vec4)}
@group(0) @binding(2) var<storage, read> rows: array<i32>;
${row4Wgsl(write, 3, 'read_write', vec4)}
@compute @workgroup_size(${LANES}, ${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let qb = wid.x * ${LANES * GE}u + lid.x;
  let i = (wid.z * nwg.y + wid.y) * ${ROWS}u + lid.y;
  if (qb >= P.C4 || i >= P.nRows) { return; }
  let r = rows[i];
  ${findRow}
  ${each((e) => `if (qb + ${8 * e}u < P.C4) { ${move(`qb + ${8 * e}u`)} }`)}
}
`;
}

/** out[i] = inp[rows[i]]; an index out of range gives a row of zeros. */
const gatherWgsl = (vec4: boolean): string => rowMoveWgsl('inp', 'out', vec4,
  `let ok = r >= 0 && u32(r) < P.totalRows;
  let src = min(u32(max(r, 0)), P.totalRows - 1u);`,
  (q) => `out_store(i, ${q}, select(vec4f(0.0), inp_load(src, ${q}), ok));`);

/** dinp[rows[i]] += dout[i]; an index out of range is skipped. */
const scatterAddWgsl = (vec4: boolean): string => rowMoveWgsl('dout', 'dinp', vec4,
  `if (r < 0 || u32(r) >= P.totalRows) { return; }
  let dst = u32(r);`,
  (q) => `let q = ${q}; dinp_store(dst, q, dinp_load(dst, q) + dout_load(i, q));`);

function launch(gpu: Gpu, enc: StepEncoder, label: string, code: (vec4: boolean) => string, a: Binding, rows: Binding, out: Binding, nRows: number, C: number, totalRows: number) {
  const vec4 = vec4Rows(C);
  const C4 = Math.ceil(C / 4);
  const [y, z] = yzGrid(gpu, Math.ceil(nRows / ROWS));
  enc.dispatch(gpu.pipeline(`${label}${vec4 ? ':vec4' : ''}`, code(vec4)), [gpu.uniform([nRows, C, C4, totalRows]), a, rows, out],
    Math.ceil(C4 / (LANES * GE)), y, z);
}

// Elements of each operand, checked by the launchers (checkBuffer) and the references (checkArray).
const forwardSizes = (nRows: number, C: number, totalRows: number) => ({ inp: totalRows * C, rows: nRows, out: nRows * C });
const backwardSizes = (nRows: number, C: number, totalRows: number) => ({ dinp: totalRows * C, dout: nRows * C, rows: nRows });

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
  checkOperands(name, checkBuffer, forwardSizes(nRows, C, total), { inp, rows, out });
  launch(gpu, enc, name, gatherWgsl, inp, rows, out, nRows, C, total);
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
  checkOperands(name, checkBuffer, backwardSizes(nRows, C, total), { dinp, dout, rows });
  launch(gpu, enc, name, scatterAddWgsl, dout, rows, dinp, nRows, C, total);
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
  checkOperands(name, checkArray, forwardSizes(nRows, C, totalRows), { inp, rows, out });
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
  checkOperands(name, checkArray, backwardSizes(nRows, C, totalRows), { dinp, dout, rows });
  checkRows(name, rows, nRows, totalRows, true);
  for (let i = 0; i < nRows; i++) for (let c = 0; c < C; c++) dinp[rows[i] * C + c] += dout[i * C + c];
}
