// embedding: BERT's input embeddings, word + position (+ token type), before the first layernorm.
//
//   embedding_forward(out, ids, typeIds|null, wte, wpe, wtt|null, B, T, C, typeVocab = 2)
//     out[b, t] = wte[ids[b, t]] + wpe[t] + (typeIds ? wtt[typeIds[b, t]] : 0)     positions are 0..T−1
//   embedding_backward(dwte, dwpe, dwtt|null, dout, ids, typeIds|null, B, T, C, V, typeVocab = 2)
//     dwte[v] += Σ_{(b,t): ids = v} dout[b, t];  dwpe[t] += Σ_b dout[b, t];  dwtt[k] += Σ_{typeIds = k} dout
//
// ids and typeIds are i32 buffers on the GPU, so they cannot be validated before the dispatch: an
// id outside [0, V) (V = rows of wte) makes the forward write NaN for that position (so a bad batch
// shows up as a NaN loss, not as a silent wrong row), and the backward skips it. The float64
// references throw on such ids.
//
// Determinism without float atomics (the same bits every run): the backward sorts positions by id
// on the GPU with a stable counting sort (integer work only), then sums each id's dout rows in
// increasing position order and adds the sum into dwte. Keys (id, position) are all distinct, so
// any correct sort gives the same order: the result does not depend on scheduling.
//
// Layout for lavapipe (8 SIMD lanes per CPU thread, one scalar load per lane, vec4 loads much
// cheaper per float, ~0.03–0.1 ms per dispatch): every row kernel gives an invocation vec4s of
// columns (row4.ts; 4 clamped scalar loads when C % 4 ≠ 0) and puts 8 invocations of the same row
// side by side (workgroups of 8 × 8), so the lanes of a SIMD row read consecutive addresses and
// share the row's ids; an invocation takes FE / PE / E vec4s 8 vec4 apart, so the row's ids are
// loaded once per several vec4; grids are 2-D / 3-D, so no invocation divides by a runtime value.
//
// Forward, one dispatch: invocation (t, FE vec4 of columns), looping over b. The position row
// (+ with 1 or 2 token types, both wpe[t] + wtt[k]) is loaded once per t and kept in registers,
// so a token costs its ids and one wte row read, one out row written. out = wte[id] + (wpe[t] +
// wtt[type]); PyTorch's BERT adds (wte + wtt) + wpe: the same to within one f32 rounding.
// (One workgroup per token reading all three rows was 1.4–1.8× slower; a separate position+type
// table pass in between.)

// Backward, 2 dispatches, deterministic without float atomics:
//   sort+positions  one invocation sorts the positions by id (a stable counting sort, integer work,
//                   no barriers) while the other workgroups do invocation (t, PE vec4 of columns):
//                   dwpe[t] += Σ_b dout[b, t] (b in order); with token types also partial[k, t] =
//                   Σ_{b: type = k} dout[b, t] (up to 4 types per sweep over b)
//   sums            invocation (k-th id present v, E vec4 of columns): sum the dout rows of v in
//                   increasing position order, dwte[v] += sum (only ids present get work); and, in
//                   the same dispatch, dwtt[k] += Σ_t partial[k, t] (t in order)
// The first version (a 5-dispatch parallel sort with a 16·V histogram cleared and scanned, one
// lane per (run of ids, 8 columns) with 8 scalar loads per row, scalar dwpe and dwtt passes; 9
// dispatches) was 3–6× slower (NOTES.md). A one-workgroup parallel sort (with barriers) as its
// own dispatch was 3–6 % slower than the serial sort hidden beside the position sums.

import { bindingSize, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { scratch } from './elementwise.js';
import { row4Wgsl, vec4Rows, yzGrid } from './row4.js';

const LANES = 8; // invocations along the columns of one row (lavapipe's SIMD width)
const ROWS = 8; // rows per workgroup
const FE = 2; // vec4 per lane in the forward (1 and 4 measured no faster)
const PE = 2; // vec4 per lane in the positions pass (paired runs: 2 a little faster than 1, 4 no better)
const E = 4; // vec4 per lane in the dwte/dwtt sums, 8 vec4 apart (2 and 8 measured slower)

/** E copies of a code fragment, e = 0..E-1. */
function unroll(f: (e: number) => string, sep = '\n  '): string {
  return Array.from({ length: E }, (_, e) => f(e)).join(sep);
}


// Forward: invocation (t, FE vec4 of columns 8 vec4 apart), lanes along the columns, looping over b:
// the position (+ type) rows are loaded once per t — with up to 2 token types both sums
// wpe[t] + wtt[k] are kept in registers — so each token costs its ids and one wte row.
// out = wte[id] + (wpe[t] + wtt[type]); NaN for an id or type out of range.
function forwardWgsl(vec4: boolean, TK: number): string {
  const es = Array.from({ length: FE }, (_, e) => e);
  const each = (f: (e: number) => string, sep = '\n  ') => es.map(f).join(sep);
  // TK: 0 no types, 1 or 2 types (position+type rows precomputed), 3 = more types (type row loaded per token)
  const pre = (k: number) => each((e) => `let p${k}_${e} = wpe_load(t, q${e})${TK === 0 ? '' : ` + wtt_load(${k}u, q${e})`};`);
  const row = (e: number) => TK === 0 ? `p0_${e}` : TK === 1 ? `p0_${e}` : TK === 2 ? `select(p0_${e}, p1_${e}, k == 1u)` : `(wpe_load(t, q${e}) + wtt_load(k, q${e}))`;
  return /* wgsl */ `
struct Params { B: u32, T: u32, C: u32, C4: u32, V: u32, TV: u32, nan: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('out', 1, 'read_write', vec4)}
@group(0) @binding(2) var<storage, read> ids: array<i32>;
${row4Wgsl('wte', 3, 'read', vec4)}
${row4Wgsl('wpe', 4, 'read', vec4)}
${TK === 0 ? '' : `@group(0) @binding(5) var<storage, read> type_ids: array<i32>;
${row4Wgsl('wtt', 6, 'read', vec4)}`}

@compute @workgroup_size(${LANES}, ${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let qb = wid.x * ${LANES * FE}u + lid.x;
  let t = wid.y * ${ROWS}u + lid.y;
  if (qb >= P.C4 || t >= P.T) { return; }
  let last = P.C4 - 1u;
  ${each((e) => `let q${e} = min(qb + ${8 * e}u, last);`)}
  ${TK === 0 || TK === 3 ? (TK === 0 ? pre(0) : '') : pre(0)}
  ${TK === 2 ? pre(1) : ''}
  // An out-of-range id gives NaN (taken from the uniform: WGSL constant expressions may not be NaN).
  let bad = vec4f(P.nan);
  for (var b = 0u; b < P.B; b++) {
    let pos = b * P.T + t;
    let id = ids[pos];
    var ok = id >= 0 && u32(id) < P.V;
    let w = min(u32(max(id, 0)), P.V - 1u);
    ${TK === 0 ? '' : `let tt = type_ids[pos];
    ok = ok && tt >= 0 && u32(tt) < P.TV;
    let k = min(u32(max(tt, 0)), P.TV - 1u);`}
    ${each((e) => `if (qb + ${8 * e}u < P.C4) { out_store(pos, q${e}, select(bad, wte_load(w, q${e}) + ${row(e)}, ok)); }`, '\n    ')}
  }
}
`;
}

// One invocation sorts the positions by id (stable: a counting sort in position order), with no
// barriers, so it runs in the position-sum dispatch beside the sums' workgroups (a shader with
// barriers runs as coroutines in llvmpipe, which slows every loop in it). cnt = per-id counts,
// then per-id next free slot; runs[k] = (id, first slot, end slot, 0) of the k-th id present.
// Cost O(N + V) on one CPU thread (ids padded to 4·V4, 4 counters per vec4); beside the position
// sums it is hidden at the sizes measured (N 4096–32768, V up to 30522: no slower than the
// parallel sort as a dispatch of its own).
const SERIAL_SORT_WGSL = /* wgsl */ `
fn serial_sort() {
  for (var i = 0u; i < P.V4; i++) { cnt[i] = vec4u(0u); }
  for (var p = 0u; p < P.N; p++) {
    let id = ids[p];
    if (id < 0 || u32(id) >= P.V) { continue; }
    let v = u32(id);
    var c = cnt[v / 4u];
    c[v % 4u] += 1u;
    cnt[v / 4u] = c;
  }
  var run = 0u;
  var k = 0u;
  for (var i = 0u; i < P.V4; i++) {
    let c = cnt[i];
    if (all(c == vec4u(0u))) { continue; }
    var first = vec4u(0u);
    for (var e = 0u; e < 4u; e++) {
      first[e] = run;
      if (c[e] > 0u) { runs[k] = vec4u(4u * i + e, run, run + c[e], 0u); k++; run += c[e]; }
    }
    cnt[i] = first;
  }
  work[P.oCount] = k;
  for (var p = 0u; p < P.N; p++) {
    let id = ids[p];
    if (id < 0 || u32(id) >= P.V) { continue; }
    let v = u32(id);
    var c = cnt[v / 4u];
    let slot = c[v % 4u];
    c[v % 4u] = slot + 1u;
    cnt[v / 4u] = c;
    work[P.oSorted + slot] = p;
  }
}
`;

// Backward 1: the position sums (and, in workgroup row 0, the sort above). 8 lanes × PE vec4 of columns of one t per SIMD row; dwpe[t] +=
// Σ_b dout[b, t] (b in order); with token types also partial[k·T + t] = Σ_{b: type = k} dout[b, t],
// TK sums per sweep over b (TK = 0 without types, else the type count up to 4; more types take
// ⌈TV/4⌉ sweeps). Each vec4 sum is 4 AVX registers on lavapipe, so TK is as small as the type
// count allows.
function positionsWgsl(vec4: boolean, TK: number): string {
  const ks = Array.from({ length: TK }, (_, i) => i);
  const es = Array.from({ length: PE }, (_, e) => e);
  const each = (f: (e: number) => string, sep = ' ') => es.map(f).join(sep);
  const sums = TK === 0
    ? `for (var b = 0u; b < P.B; b++) { let p = b * P.T + t; ${each((e) => `pos${e} += dout_load(p, q${e});`)} }`
    : `for (var k0 = 0u; k0 < P.TV; k0 += ${TK}u) {
    ${ks.map((i) => each((e) => `var a${i}_${e} = zero;`)).join(' ')}
    for (var b = 0u; b < P.B; b++) {
      let p = b * P.T + t;
      // Adding +0 leaves a sum that started at +0 unchanged: these are plain ordered sums per type.
      let k = type_ids[p] - i32(k0);
      ${each((e) => `{
        let x = dout_load(p, q${e});
        if (k0 == 0u) { pos${e} += x; }
        ${ks.map((i) => `a${i}_${e} += select(zero, x, k == ${i});`).join(' ')}
      }`, '\n      ')}
    }
    ${ks.map((i) => `if (k0 + ${i}u < P.TV) { ${each((e) => `if (qb + ${8 * e}u < P.C4) { partial_store((k0 + ${i}u) * P.T + t, q${e}, a${i}_${e}); }`)} }`).join('\n    ')}
  }`;
  return /* wgsl */ `
struct Params { B: u32, T: u32, C: u32, C4: u32, TV: u32, N: u32, V: u32, V4: u32, oCount: u32, oSorted: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('dwpe', 1, 'read_write', vec4)}
${row4Wgsl('dout', 2, 'read', vec4)}
@group(0) @binding(3) var<storage, read> ids: array<i32>;
@group(0) @binding(4) var<storage, read_write> cnt: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> work: array<u32>;
@group(0) @binding(6) var<storage, read_write> runs: array<vec4u>;
${TK === 0 ? '' : `@group(0) @binding(7) var<storage, read> type_ids: array<i32>;
${row4Wgsl('partial', 8, 'read_write', vec4)}`}

${SERIAL_SORT_WGSL}

@compute @workgroup_size(${LANES}, ${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  if (wid.y == 0u) {
    if (wid.x == 0u && lid.x == 0u && lid.y == 0u) { serial_sort(); }
    return;
  }
  let qb = wid.x * ${LANES * PE}u + lid.x;
  let t = (wid.y - 1u) * ${ROWS}u + lid.y;
  if (qb >= P.C4 || t >= P.T) { return; }
  let last = P.C4 - 1u;
  let zero = vec4f(0.0);
  ${each((e) => `let q${e} = min(qb + ${8 * e}u, last); var pos${e} = zero;`, '\n  ')}
  ${sums}
  ${each((e) => `if (qb + ${8 * e}u < P.C4) { dwpe_store(t, q${e}, dwpe_load(t, q${e}) + pos${e}); }`, '\n  ')}
}

`;
}

// Backward 2: the dwte sums ∪ (with token types) the dwtt sums. Workgroups are numbered
// g = wid.z·nwg.y + wid.y; g < kGroups: invocation (k-th id present v, E vec4 of columns) sums
// the dout rows sorted[first .. end) (runs[k]) in that order and adds the sum into dwte[v] — only
// ids present get work; g ≥ kGroups: invocation (type k, E vec4) adds Σ_t partial[k·T + t] (t in
// order) into dwtt[k].
function sumsWgsl(vec4: boolean, types: boolean): string {
  return /* wgsl */ `
struct Params { C: u32, C4: u32, oCount: u32, oSorted: u32, kGroups: u32, T: u32, TV: u32 }
@group(0) @binding(0) var<uniform> P: Params;
${row4Wgsl('dwte', 1, 'read_write', vec4)}
${row4Wgsl('dout', 2, 'read', vec4)}
@group(0) @binding(3) var<storage, read> work: array<u32>;
@group(0) @binding(4) var<storage, read> runs: array<vec4u>;
${types ? `${row4Wgsl('dwtt', 5, 'read_write', vec4)}
${row4Wgsl('partial', 6, 'read', vec4)}` : ''}

@compute @workgroup_size(${LANES}, ${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let qb = wid.x * ${LANES * E}u + lid.x;
  let g = wid.z * nwg.y + wid.y;
  if (qb >= P.C4) { return; }
  let last = P.C4 - 1u;
  ${unroll((e) => `var acc${e} = vec4f(0.0); let c${e} = min(qb + ${8 * e}u, last);`, '\n  ')}
  if (g < P.kGroups) {
    let k = g * ${ROWS}u + lid.y;
    if (k >= work[P.oCount]) { return; }
    let run = runs[k];
    let v = run.x;
    for (var j = run.y; j < run.z; j++) {
      let r = work[P.oSorted + j];
      ${unroll((e) => `acc${e} += dout_load(r, c${e});`, '\n      ')}
    }
    ${unroll((e) => `if (qb + ${8 * e}u < P.C4) { dwte_store(v, c${e}, dwte_load(v, c${e}) + acc${e}); }`, '\n    ')}
  }${types ? ` else {
    let k = (g - P.kGroups) * ${ROWS}u + lid.y;
    if (k >= P.TV) { return; }
    for (var t = 0u; t < P.T; t++) {
      ${unroll((e) => `acc${e} += partial_load(k * P.T + t, c${e});`, '\n      ')}
    }
    ${unroll((e) => `if (qb + ${8 * e}u < P.C4) { dwtt_store(k, c${e}, dwtt_load(k, c${e}) + acc${e}); }`, '\n    ')}
  }` : ''}
}
`;
}

function variant(label: string, vec4: boolean): string {
  return vec4 ? `${label}:vec4` : label;
}

/**
 * Record out (B, T, C) = wte[ids] + wpe[0..T) + wtt[typeIds]. V is taken from the size of the wte
 * binding (rows = size / 4C); an id outside [0, V) or a type outside [0, typeVocab) yields NaN.
 */
export function embedding_forward(gpu: Gpu, enc: StepEncoder, out: Binding, ids: Binding, typeIds: Binding | null,
  wte: Binding, wpe: Binding, wtt: Binding | null, B: number, T: number, C: number, typeVocab = 2): void {
  const name = 'embedding_forward';
  checkDims(name, { B, T, C, typeVocab });
  if ((typeIds === null) !== (wtt === null)) throw new Error(`${name}: typeIds and wtt must both be given or both be null`);
  const N = B * T;
  checkBuffer(name, 'out', out, N * C);
  checkBuffer(name, 'ids', ids, N);
  checkBuffer(name, 'wte', wte, C);
  checkBuffer(name, 'wpe', wpe, T * C);
  if (typeIds && wtt) {
    checkBuffer(name, 'typeIds', typeIds, N);
    checkBuffer(name, 'wtt', wtt, typeVocab * C);
  }
  const V = Math.floor(bindingSize(wte) / 4 / C);
  const vec4 = vec4Rows(C);
  const C4 = Math.ceil(C / 4);
  checkRowsGrid(name, gpu, T);
  const TK = !typeIds ? 0 : typeVocab <= 2 ? typeVocab : 3;
  enc.dispatch(gpu.pipeline(variant(`${name}${TK}`, vec4), forwardWgsl(vec4, TK)), [
    gpu.uniform([B, T, C, C4, V, typeVocab, 0x7fc00000]), out, ids, wte, wpe, ...(typeIds && wtt ? [typeIds, wtt] : []),
  ], Math.ceil(C4 / (LANES * FE)), Math.ceil(T / ROWS));
}

/** T (or typeVocab) rows go on the grid's y axis, ROWS per workgroup. */
function checkRowsGrid(name: string, gpu: Gpu, rows: number): void {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension * ROWS;
  if (rows > max) throw new Error(`${name}: ${rows} rows exceed the ${max} one dispatch covers`);
}

/**
 * Record the embedding backward (all three += , deterministic): dwte (V, C), dwpe (≥ T, C),
 * dwtt (typeVocab, C) or null. Positions whose id is outside [0, V) contribute nothing to dwte.
 */
export function embedding_backward(gpu: Gpu, enc: StepEncoder, dwte: Binding, dwpe: Binding, dwtt: Binding | null, dout: Binding,
  ids: Binding, typeIds: Binding | null, B: number, T: number, C: number, V: number, typeVocab = 2): void {
  const name = 'embedding_backward';
  checkDims(name, { B, T, C, V, typeVocab });
  if ((typeIds === null) !== (dwtt === null)) throw new Error(`${name}: typeIds and dwtt must both be given or both be null`);
  const N = B * T;
  checkBuffer(name, 'dwte', dwte, V * C);
  checkBuffer(name, 'dwpe', dwpe, T * C);
  checkBuffer(name, 'dout', dout, N * C);
  checkBuffer(name, 'ids', ids, N);
  if (typeIds && dwtt) {
    checkBuffer(name, 'dwtt', dwtt, typeVocab * C);
    checkBuffer(name, 'typeIds', typeIds, N);
  }
  checkRowsGrid(name, gpu, Math.max(T, typeVocab));
  const vec4 = vec4Rows(C);
  const C4 = Math.ceil(C / 4);
  const V4 = Math.ceil(V / 4);
  const cnt = scratch(gpu, 'embedding_count', 4 * V4);
  // work = ids present (1) | sorted (N); runs (min(N, V) vec4)
  const oCount = 0, oSorted = 1;
  const work = scratch(gpu, 'embedding_sort', oSorted + N);
  const runs = scratch(gpu, 'embedding_runs', 4 * Math.min(N, V));
  const TK = !typeIds ? 0 : typeVocab <= 2 ? typeVocab : 4;
  const partial = typeIds ? scratch(gpu, 'embedding_type_partial', typeVocab * T * C) : null;
  enc.dispatch(gpu.pipeline(variant(`${name}:sort+positions${TK}`, vec4), positionsWgsl(vec4, TK)),
    [gpu.uniform([B, T, C, C4, typeVocab, N, V, V4, oCount, oSorted]), dwpe, dout, ids, cnt, work, runs, ...(typeIds && partial ? [typeIds, partial] : [])],
    Math.ceil(C4 / (LANES * PE)), 1 + Math.ceil(T / ROWS));
  const kGroups = Math.ceil(Math.min(N, V) / ROWS);
  const [y, z] = yzGrid(gpu, kGroups + (typeIds ? Math.ceil(typeVocab / ROWS) : 0));
  enc.dispatch(gpu.pipeline(variant(`${name}:sums${typeIds ? '+types' : ''}`, vec4), sumsWgsl(vec4, typeIds !== null)), [
    gpu.uniform([C, C4, oCount, oSorted, kGroups, T, typeVocab]), dwte, dout, work, runs,
    ...(dwtt && partial ? [dwtt, partial] : []),
  ], Math.ceil(C4 / (LANES * E)), y, z);
}

function checkIds(name: string, what: string, ids: ArrayLike<number>, n: number, V: number): void {
  for (let p = 0; p < n; p++) {
    const id = ids[p];
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`${name}: ${what}[${p}] = ${id} is outside [0, ${V})`);
  }
}

/** float64 reference of embedding_forward (V = wte.length / C); throws on out-of-range ids. */
export function embedding_forward_reference(out: Float64Array, ids: ArrayLike<number>, typeIds: ArrayLike<number> | null,
  wte: ArrayLike<number>, wpe: ArrayLike<number>, wtt: ArrayLike<number> | null, B: number, T: number, C: number, typeVocab = 2): void {
  const name = 'embedding_forward_reference';
  checkDims(name, { B, T, C, typeVocab });
  const N = B * T;
  checkArray(name, 'out', out, N * C);
  checkArray(name, 'wpe', wpe, T * C);
  checkIds(name, 'ids', ids, N, Math.floor(wte.length / C));
  if (typeIds && wtt) {
    checkArray(name, 'wtt', wtt, typeVocab * C);
    checkIds(name, 'typeIds', typeIds, N, typeVocab);
  }
  for (let p = 0; p < N; p++) {
    const t = p % T;
    for (let c = 0; c < C; c++) {
      let x = wte[ids[p] * C + c] + wpe[t * C + c];
      if (typeIds && wtt) x += wtt[typeIds[p] * C + c];
      out[p * C + c] = x;
    }
  }
}

/** float64 reference of embedding_backward (+= into all three); throws on out-of-range ids. */
export function embedding_backward_reference(dwte: Float64Array, dwpe: Float64Array, dwtt: Float64Array | null, dout: ArrayLike<number>,
  ids: ArrayLike<number>, typeIds: ArrayLike<number> | null, B: number, T: number, C: number, V: number, typeVocab = 2): void {
  const name = 'embedding_backward_reference';
  checkDims(name, { B, T, C, V, typeVocab });
  const N = B * T;
  checkArray(name, 'dwte', dwte, V * C);
  checkArray(name, 'dwpe', dwpe, T * C);
  checkArray(name, 'dout', dout, N * C);
  checkIds(name, 'ids', ids, N, V);
  if (typeIds && dwtt) {
    checkArray(name, 'dwtt', dwtt, typeVocab * C);
    checkIds(name, 'typeIds', typeIds, N, typeVocab);
  }
  for (let p = 0; p < N; p++) {
    const t = p % T;
    for (let c = 0; c < C; c++) {
      const g = dout[p * C + c];
      dwte[ids[p] * C + c] += g;
      dwpe[t * C + c] += g;
      if (typeIds && dwtt) dwtt[typeIds[p] * C + c] += g;
    }
  }
}
