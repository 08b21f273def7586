// layernorm over the last dimension, as in BERT (biased variance, eps inside the square root).
//
//   layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps)
//     for each row r of inp (N, C):  mean[r] = Σ x / C,  rstd[r] = 1 / √(Σ (x − mean)² / C + eps)
//     out[r, c] = (x[r, c] − mean[r]) · rstd[r] · weight[c] + bias[c]
//     mean and rstd (N) are saved for the backward pass.
//   layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, accumulate = false)
//     x̂ = (x − mean)·rstd,  g = dout · weight
//     dinp[r, c]  = rstd · (g − mean_c(g) − x̂ · mean_c(g · x̂))     (overwritten, or += with accumulate)
//     dweight[c] += Σ_r dout · x̂,   dbias[c] += Σ_r dout             (parameter gradients always +=)
//
// Two variants (layernormVariant picks one per device and C):
//   'subgroup' (software adapters with usable 8-lane subgroups, i.e. lavapipe): 8 lanes share a
//     row, read it once as vec4 chunks into registers, and get the row sums by subgroupAdd; the
//     backward computes dinp and the dweight/dbias block partials in the same single pass over
//     dout and x. Details and measurements above the variant's code and in NOTES.md.
//   'rows' (any adapter): one invocation per row, walking the row from its own registers — no
//     workgroup memory, no barriers (on lavapipe both cost more than they save). The mean is
//     computed first and the variance as Σ (x − mean)² in a second sweep (the row is in cache),
//     which is exact for rows with a large common offset, unlike E[x²] − E[x]²; the subgroup
//     variant keeps that order. Backward: one invocation per row for dinp (two sweeps), then
//     invocation (column c, block of ROWS_PER_BLOCK rows) partial sums of dweight/dbias.
// Both reduce dweight/dbias deterministically without atomics: per-block partial sums, then one
// invocation per column adds the partials in block order and adds the total into dweight/dbias.
// Same inputs → same bits, every run (tested).

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands } from './check.js';
import { f32bits, grid2d, scratch } from './elementwise.js';
import { subgroupMatmulUsable } from './tune.js';

const WG = 64;
const ROWS_PER_BLOCK = 64;

type Access = 'read' | 'read_write';
/**
 * The declarations every layernorm shader starts with: the uniform `params` (struct Params with
 * the given fields) at binding 0, then the storage arrays at bindings 1, 2, … in the order given
 * (element type f32 unless named) — the order the launchers pass the buffers in.
 */
function bindings(paramFields: string, arrays: [name: string, access: Access, type?: string][]): string {
  return [
    `struct Params { ${paramFields} }`,
    '@group(0) @binding(0) var<uniform> params: Params;',
    ...arrays.map(([name, access, type = 'f32'], i) => `@group(0) @binding(${i + 1}) var<storage, ${access}> ${name}: array<${type}>;`),
  ].join('\n');
}

// Entry of the per-row kernels: one invocation per row r, whose elements start at x0 = r·C.
const ROW_MAIN = /* wgsl */ `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let r = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (r >= params.N) { return; }
  let C = params.C;
  let x0 = r * C;`;

const FORWARD_WGSL = /* wgsl */ `
${bindings('N: u32, C: u32, eps: f32', [['out', 'read_write'], ['mean', 'read_write'], ['rstd', 'read_write'], ['inp', 'read'], ['weight', 'read'], ['bias', 'read']])}

${ROW_MAIN}
  var s = 0.0;
  for (var c = 0u; c < C; c++) { s += inp[x0 + c]; }
  let m = s / f32(C);
  var v = 0.0;
  for (var c = 0u; c < C; c++) { let d = inp[x0 + c] - m; v += d * d; }
  let rs = inverseSqrt(v / f32(C) + params.eps);
  for (var c = 0u; c < C; c++) {
    out[x0 + c] = (inp[x0 + c] - m) * rs * weight[c] + bias[c];
  }
  mean[r] = m;
  rstd[r] = rs;
}
`;

const BACKWARD_DINP_WGSL = /* wgsl */ `
${bindings('N: u32, C: u32, accumulate: u32', [['dinp', 'read_write'], ['dout', 'read'], ['inp', 'read'], ['weight', 'read'], ['mean', 'read'], ['rstd', 'read']])}

${ROW_MAIN}
  let m = mean[r];
  let rs = rstd[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < C; c++) {
    let g = dout[x0 + c] * weight[c];
    sg += g;
    sgx += g * (inp[x0 + c] - m) * rs;
  }
  let mg = sg / f32(C);
  let mgx = sgx / f32(C);
  for (var c = 0u; c < C; c++) {
    let xhat = (inp[x0 + c] - m) * rs;
    let d = rs * (dout[x0 + c] * weight[c] - mg - xhat * mgx);
    if (params.accumulate != 0u) { dinp[x0 + c] += d; } else { dinp[x0 + c] = d; }
  }
}
`;

// Uniform of both parameter-gradient passes: rows N, columns C, blocks of ROWS_PER_BLOCK rows.
const PARAMS_UNIFORM = 'N: u32, C: u32, blocks: u32';

// partial layout: [0, blocks·C) dweight partials, [blocks·C, 2·blocks·C) dbias partials.
const BACKWARD_PARAMS_PARTIAL_WGSL = /* wgsl */ `
${bindings(PARAMS_UNIFORM, [['partial', 'read_write'], ['dout', 'read'], ['inp', 'read'], ['mean', 'read'], ['rstd', 'read']])}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let blk = gid.y;
  let C = params.C;
  if (c >= C) { return; }
  let r0 = blk * ${ROWS_PER_BLOCK}u;
  let r1 = min(r0 + ${ROWS_PER_BLOCK}u, params.N);
  var dw = 0.0;
  var db = 0.0;
  for (var r = r0; r < r1; r++) {
    let g = dout[r * C + c];
    dw += g * (inp[r * C + c] - mean[r]) * rstd[r];
    db += g;
  }
  partial[blk * C + c] = dw;
  partial[(params.blocks + blk) * C + c] = db;
}
`;

const BACKWARD_PARAMS_FINAL_WGSL = /* wgsl */ `
${bindings(PARAMS_UNIFORM, [['dweight', 'read_write'], ['dbias', 'read_write'], ['partial', 'read']])}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let C = params.C;
  if (c >= C) { return; }
  var dw = 0.0;
  var db = 0.0;
  for (var b = 0u; b < params.blocks; b++) {
    dw += partial[b * C + c];
    db += partial[(params.blocks + b) * C + c];
  }
  dweight[c] += dw;
  dbias[c] += db;
}
`;

// ---------------------------------------------------------------- subgroup variant (lavapipe)
//
// One workgroup = one subgroup of LANES = 8 invocations walks a block of R consecutive rows. The
// 8 lanes share each row: with C % 4 = 0 the row is read as vec4 "chunks" (array<vec4f>), lane l
// taking chunks l, l + 8, l + 16, … — consecutive lanes read consecutive 16-byte pieces, and each
// element is loaded once, into registers (the shader is generated for the given C with the
// per-lane chunks unrolled). Other C use scalar chunks the same way. The row sums come from
// subgroupAdd (a register shuffle on lavapipe), so the mean-then-Σ(x − mean)² order of the
// per-row variant is kept without re-reading x. weight and bias (and, in the backward, the
// dweight/dbias accumulators) belong to the lane's columns, which are the same for every row of
// the block: loaded once per block, then kept in registers.
// Backward: ONE pass over dout and x computes dinp and adds dout·x̂ and dout into the per-lane
// column accumulators; at the end of its block the workgroup writes them as the block's partial
// sums, and the final pass (shared with the per-row variant) adds the partials in block order:
// deterministic, no atomics.
//
// Measured (NOTES.md): the speed follows the number of per-lane loads, so keeping the row in
// registers beats re-reading it from cache (re-loading dout and x for the dinp sweep instead:
// 1.4–1.7× slower), and computing dweight/dbias in this pass beats a separate column pass (which
// reads dout and x again). Two rows per loop step (to halve the accumulator updates) was slower.
//
// Gated like tune.ts's subgroup matmul (software adapter, subgroups of exactly 8 lanes): on a
// hardware GPU a workgroup of 8 wastes most of a wave, and a subgroup smaller than 8 would split
// a row's sums.

/** Lanes sharing a row in the subgroup variant (= the subgroup size it is gated on). */
const LANES = 8;
/** Rows per workgroup (and per dweight/dbias partial sum) in the subgroup variant, at most. */
const MAX_ROWS_PER_WG = 64;
/**
 * Largest number of chunks per lane the generated shader holds: C ≤ 512 when C % 4 = 0, else
 * C ≤ 128. The unrolled shader's compile time grows fast with it (lavapipe, cold cache: ~1 s for
 * the forward at C = 256, ~75 s per backward at C = 1024); larger C run the 'rows' variant.
 */
const MAX_CHUNKS_PER_LANE = 16;

export type LayernormVariant = 'subgroup' | 'rows';
let forcedVariant: LayernormVariant | null = null;
/** Force a variant (tests run both); null = choose per device. TUNEBENCH_LAYERNORM_VARIANT also forces one. */
export function setLayernormVariant(v: LayernormVariant | null): void {
  forcedVariant = v;
}

interface RowLayout { vec4: boolean; chunks: number; perLane: number; T: string }
function rowLayout(C: number): RowLayout {
  const vec4 = C % 4 === 0;
  const chunks = vec4 ? C / 4 : C;
  return { vec4, chunks, perLane: Math.ceil(chunks / LANES), T: vec4 ? 'vec4f' : 'f32' };
}

/**
 * The variant layernorm_forward / layernorm_backward use for rows of C on this device: 'subgroup'
 * on software adapters with usable 8-lane subgroups (tune.ts) when C ≤ 512 (C % 4 = 0) or
 * C ≤ 128, else 'rows' (one invocation per row; any adapter).
 */
export function layernormVariant(gpu: Gpu, C: number): LayernormVariant {
  const v = forcedVariant ?? (process.env.TUNEBENCH_LAYERNORM_VARIANT as LayernormVariant | undefined) ?? null;
  const fits = rowLayout(C).perLane <= MAX_CHUNKS_PER_LANE;
  if (v === 'subgroup') {
    if (!subgroupMatmulUsable(gpu)) throw new Error('layernorm: the subgroup variant needs usable 8-lane subgroups');
    if (!fits) throw new Error(`layernorm: the subgroup variant takes C ≤ ${4 * LANES * MAX_CHUNKS_PER_LANE} (C % 4 = 0) or C ≤ ${LANES * MAX_CHUNKS_PER_LANE}, got C=${C}`);
    return v;
  }
  if (v === 'rows') return v;
  if (v !== null) throw new Error(`TUNEBENCH_LAYERNORM_VARIANT=${v}: expected subgroup or rows`);
  return gpu.adapterInfo.isSoftware && subgroupMatmulUsable(gpu) && fits ? 'subgroup' : 'rows';
}

/** Rows per workgroup: MAX_ROWS_PER_WG, fewer for small N so both cores get work (≥ ~32 workgroups). */
function rowsPerWorkgroup(N: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_WG, Math.ceil(N / 32)));
}

/** Chunk i of a lane: its index in the row (clamped when some lanes run past the end) and, then, its validity. */
function chunkIndex(L: RowLayout, i: number): { j: string; ok: string | null } {
  const first = LANES * i;
  if (first + LANES <= L.chunks) return { j: `lane + ${first}u`, ok: null };
  return { j: `min(lane + ${first}u, ${L.chunks - 1}u)`, ok: `(lane + ${first}u < ${L.chunks}u)` };
}

const each = (n: number, f: (i: number) => string, sep = '\n'): string => Array.from({ length: n }, (_, i) => f(i)).join(sep);
/** Horizontal sum of a T value (vec4 components added in a fixed order). */
const hsum = (L: RowLayout, e: string): string => (L.vec4 ? `(${e}.x + ${e}.y) + (${e}.z + ${e}.w)` : e);
/** `e`, or zero for a lane whose chunk lies past the row's end. */
const masked = (L: RowLayout, ok: string | null, e: string): string => (ok ? `select(${L.T}(0.0), ${e}, ${ok})` : e);
const guarded = (ok: string | null, stmt: string): string => (ok ? `if ${ok} { ${stmt} }` : stmt);

const wgslCache = new Map<string, string>();
function cachedWgsl(key: string, make: () => string): string {
  let s = wgslCache.get(key);
  if (s === undefined) {
    s = make();
    wgslCache.set(key, s);
  }
  return s;
}

// Entry of the subgroup kernels: workgroup blk (one 8-lane subgroup) walks rows r0 .. r1 − 1.
const SUBGROUP_MAIN = /* wgsl */ `@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let blk = wid.y * nwg.x + wid.x;
  let r0 = blk * params.R;
  let r1 = min(r0 + params.R, params.N);`;

function forwardSubgroupWgsl(C: number): string {
  const L = rowLayout(C);
  const ix = Array.from({ length: L.perLane }, (_, i) => chunkIndex(L, i));
  return /* wgsl */ `enable subgroups;
${bindings('N: u32, R: u32, eps: f32', [['out', 'read_write', L.T], ['mean', 'read_write'], ['rstd', 'read_write'], ['inp', 'read', L.T], ['weight', 'read', L.T], ['bias', 'read', L.T]])}

${SUBGROUP_MAIN}
${each(L.perLane, (i) => `  let j${i} = ${ix[i].j}; let w${i} = weight[j${i}]; let b${i} = bias[j${i}];`)}
  for (var r = r0; r < r1; r++) {
    let base = r * ${L.chunks}u;
${each(L.perLane, (i) => `    let x${i} = inp[base + j${i}];`)}
    let s = ${each(L.perLane, (i) => masked(L, ix[i].ok, `x${i}`), ' + ')};
    let m = subgroupAdd(${hsum(L, 's')}) / ${C}.0;
${each(L.perLane, (i) => `    let d${i} = ${masked(L, ix[i].ok, `x${i} - m`)};`)}
    let v = ${each(L.perLane, (i) => `d${i} * d${i}`, ' + ')};
    let rs = inverseSqrt(subgroupAdd(${hsum(L, 'v')}) / ${C}.0 + params.eps);
${each(L.perLane, (i) => `    ${guarded(ix[i].ok, `out[base + j${i}] = d${i} * rs * w${i} + b${i};`)}`)}
    if (lane == 0u) { mean[r] = m; rstd[r] = rs; }
  }
}
`;
}

// partial: (2·blocks, C) row-major, dweight partials of block b in row b, dbias in row blocks + b
// (BACKWARD_PARAMS_PARTIAL_WGSL's layout, written here in chunks of T — the same memory).
function backwardSubgroupWgsl(C: number, accumulate: boolean): string {
  const L = rowLayout(C);
  const ix = Array.from({ length: L.perLane }, (_, i) => chunkIndex(L, i));
  return /* wgsl */ `enable subgroups;
${bindings('N: u32, R: u32, blocks: u32', [['dinp', 'read_write', L.T], ['partial', 'read_write', L.T], ['dout', 'read', L.T], ['inp', 'read', L.T], ['weight', 'read', L.T], ['mean', 'read'], ['rstd', 'read']])}

${SUBGROUP_MAIN}
${each(L.perLane, (i) => `  let j${i} = ${ix[i].j}; let w${i} = weight[j${i}]; var dw${i} = ${L.T}(0.0); var db${i} = ${L.T}(0.0);`)}
  for (var r = r0; r < r1; r++) {
    let base = r * ${L.chunks}u;
    let m = mean[r];
    let rs = rstd[r];
${each(L.perLane, (i) => `    let dy${i} = dout[base + j${i}]; let xh${i} = (inp[base + j${i}] - m) * rs; let g${i} = ${masked(L, ix[i].ok, `dy${i} * w${i}`)};
    dw${i} += dy${i} * xh${i}; db${i} += dy${i};`)}
    let sg = ${each(L.perLane, (i) => `g${i}`, ' + ')};
    let sgx = ${each(L.perLane, (i) => `g${i} * xh${i}`, ' + ')};
    let t = subgroupAdd(vec2f(${hsum(L, 'sg')}, ${hsum(L, 'sgx')})) / ${C}.0;
${each(L.perLane, (i) => `    ${guarded(ix[i].ok, `dinp[base + j${i}] ${accumulate ? '+=' : '='} rs * (g${i} - t.x - xh${i} * t.y);`)}`)}
  }
  let pw = blk * ${L.chunks}u;
  let pb = (params.blocks + blk) * ${L.chunks}u;
${each(L.perLane, (i) => `  ${guarded(ix[i].ok, `partial[pw + j${i}] = dw${i}; partial[pb + j${i}] = db${i};`)}`)}
}
`;
}

// Elements of each operand, checked by the launchers (checkBuffer) and the references (checkArray).
const forwardSizes = (N: number, C: number) => ({ out: N * C, mean: N, rstd: N, inp: N * C, weight: C, bias: C });
const backwardSizes = (N: number, C: number) => ({ dinp: N * C, dweight: C, dbias: C, dout: N * C, inp: N * C, weight: C, mean: N, rstd: N });

function checkEps(name: string, eps: number): void {
  if (!(Number.isFinite(eps) && eps > 0)) throw new Error(`${name}: eps=${eps} must be a positive finite number`);
}

/** Record layernorm over rows of inp (N, C) into out (N, C); saves mean and rstd (N each). */
export function layernorm_forward(gpu: Gpu, enc: StepEncoder, out: Binding, mean: Binding, rstd: Binding, inp: Binding,
  weight: Binding, bias: Binding, N: number, C: number, eps: number): void {
  const name = 'layernorm_forward';
  checkDims(name, { N, C });
  checkEps(name, eps);
  checkOperands(name, checkBuffer, forwardSizes(N, C), { out, mean, rstd, inp, weight, bias });
  if (layernormVariant(gpu, C) === 'subgroup') {
    const R = rowsPerWorkgroup(N);
    const [x, y] = grid2d(Math.ceil(N / R));
    const code = cachedWgsl(`forward:${C}`, () => forwardSubgroupWgsl(C));
    enc.dispatch(gpu.pipeline(`${name}:subgroup`, code), [gpu.uniform([N, R, f32bits(eps)]), out, mean, rstd, inp, weight, bias], x, y);
    return;
  }
  const [x, y] = grid2d(Math.ceil(N / WG));
  enc.dispatch(gpu.pipeline(name, FORWARD_WGSL), [gpu.uniform([N, C, f32bits(eps)]), out, mean, rstd, inp, weight, bias], x, y);
}

/**
 * Record the layernorm backward: dinp (overwritten unless `accumulate`), dweight += , dbias += .
 * mean and rstd are the ones layernorm_forward saved.
 */
export function layernorm_backward(gpu: Gpu, enc: StepEncoder, dinp: Binding, dweight: Binding, dbias: Binding,
  dout: Binding, inp: Binding, weight: Binding, mean: Binding, rstd: Binding, N: number, C: number, accumulate = false): void {
  const name = 'layernorm_backward';
  checkDims(name, { N, C });
  checkOperands(name, checkBuffer, backwardSizes(N, C), { dinp, dweight, dbias, dout, inp, weight, mean, rstd });
  const final = gpu.pipeline(`${name}:params_final`, BACKWARD_PARAMS_FINAL_WGSL);
  if (layernormVariant(gpu, C) === 'subgroup') {
    const R = rowsPerWorkgroup(N);
    const blocks = Math.ceil(N / R);
    // Bound to exactly its (2·blocks, C) elements: the scratch buffer may be larger (and its size not a multiple of 16).
    const partial = { buffer: scratch(gpu, 'layernorm_partial', 2 * blocks * C), offset: 0, size: 2 * blocks * C * 4 };
    const [x, y] = grid2d(blocks);
    const code = cachedWgsl(`backward:${C}:${accumulate}`, () => backwardSubgroupWgsl(C, accumulate));
    enc.dispatch(gpu.pipeline(`${name}:subgroup`, code), [gpu.uniform([N, R, blocks]), dinp, partial, dout, inp, weight, mean, rstd], x, y);
    enc.dispatch(final, [gpu.uniform([N, C, blocks]), dweight, dbias, partial], Math.ceil(C / WG));
    return;
  }
  const [x, y] = grid2d(Math.ceil(N / WG));
  enc.dispatch(gpu.pipeline(`${name}:dinp`, BACKWARD_DINP_WGSL), [gpu.uniform([N, C, accumulate ? 1 : 0]), dinp, dout, inp, weight, mean, rstd], x, y);
  const blocks = Math.ceil(N / ROWS_PER_BLOCK);
  const partial = scratch(gpu, 'layernorm_partial', 2 * blocks * C);
  const params = gpu.uniform([N, C, blocks]);
  enc.dispatch(gpu.pipeline(`${name}:params_partial`, BACKWARD_PARAMS_PARTIAL_WGSL), [params, partial, dout, inp, mean, rstd], Math.ceil(C / WG), blocks);
  enc.dispatch(final, [params, dweight, dbias, partial], Math.ceil(C / WG));
}

/** float64 reference of layernorm_forward. */
export function layernorm_forward_reference(out: Float64Array, mean: Float64Array, rstd: Float64Array, inp: ArrayLike<number>,
  weight: ArrayLike<number>, bias: ArrayLike<number>, N: number, C: number, eps: number): void {
  const name = 'layernorm_forward_reference';
  checkDims(name, { N, C });
  checkEps(name, eps);
  checkOperands(name, checkArray, forwardSizes(N, C), { out, mean, rstd, inp, weight, bias });
  for (let r = 0; r < N; r++) {
    const x0 = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += inp[x0 + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (inp[x0 + c] - m) ** 2;
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[x0 + c] = (inp[x0 + c] - m) * rs * weight[c] + bias[c];
    mean[r] = m;
    rstd[r] = rs;
  }
}

/** float64 reference of layernorm_backward (same overwrite / += rules). */
export function layernorm_backward_reference(dinp: Float64Array, dweight: Float64Array, dbias: Float64Array,
  dout: ArrayLike<number>, inp: ArrayLike<number>, weight: ArrayLike<number>, mean: ArrayLike<number>, rstd: ArrayLike<number>,
  N: number, C: number, accumulate = false): void {
  const name = 'layernorm_backward_reference';
  checkDims(name, { N, C });
  checkOperands(name, checkArray, backwardSizes(N, C), { dinp, dweight, dbias, dout, inp, weight, mean, rstd });
  for (let r = 0; r < N; r++) {
    const x0 = r * C;
    const m = mean[r];
    const rs = rstd[r];
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < C; c++) {
      const g = dout[x0 + c] * weight[c];
      const xhat = (inp[x0 + c] - m) * rs;
      sg += g;
      sgx += g * xhat;
      dweight[c] += dout[x0 + c] * xhat;
      dbias[c] += dout[x0 + c];
    }
    for (let c = 0; c < C; c++) {
      const xhat = (inp[x0 + c] - m) * rs;
      const d = rs * (dout[x0 + c] * weight[c] - sg / C - (xhat * sgx) / C);
      dinp[x0 + c] = accumulate ? dinp[x0 + c] + d : d;
    }
  }
}
