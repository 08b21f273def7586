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
// on the GPU with a stable counting sort (integer work only), then one invocation per (run of equal
// ids, 8 columns) adds that id's dout rows in increasing position order and adds the sum into dwte.
// Sort steps: (1) zero a per-block histogram (blocks of 256 positions × V), (2) one invocation per
// block walks its positions in order giving each its rank among equal ids in the block, (3) one
// invocation per id turns the block histogram into per-block offsets (exclusive prefix over
// blocks) and a count, (4) one workgroup scans the counts into run starts, (5) each position is
// written to start[id] + block offset + rank. Keys are (id, position), all distinct, so any
// correct sort gives the same order: the result does not depend on scheduling.
// dwpe: one invocation per (t, column) sums over b in order. dwtt: per (block of 128 positions,
// type, column) partial sums, then a fixed-order sum over blocks.

import { bindingSize, type Binding, type Gpu, type StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { fill, grid2d, scratch } from './elementwise.js';

const WG = 64;
const SORT_BLOCK = 256;
const TYPE_BLOCK = 128;
const COLS = 8; // columns per invocation in the dwte accumulation

const FORWARD_WGSL = /* wgsl */ `
struct Params { N: u32, T: u32, C: u32, V: u32, TV: u32, has_types: u32, nan: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> type_ids: array<i32>;
@group(0) @binding(4) var<storage, read> wte: array<f32>;
@group(0) @binding(5) var<storage, read> wpe: array<f32>;
@group(0) @binding(6) var<storage, read> wtt: array<f32>;

// One workgroup per position (a 2-D grid of them), invocations striding over the columns: the
// position, its ids and its t are worked out once per invocation, not per element (integer
// division is a scalar instruction per SIMD lane on lavapipe).
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let pos = wid.y * nwg.x + wid.x;
  if (pos >= P.N) { return; }
  let t = pos % P.T;
  let id = ids[pos];
  var ok = id >= 0 && u32(id) < P.V;
  let we = u32(max(id, 0)) * P.C;
  let pe = t * P.C;
  var te = 0u;
  if (P.has_types != 0u) {
    let tt = type_ids[pos];
    ok = ok && tt >= 0 && u32(tt) < P.TV;
    te = u32(max(tt, 0)) * P.C;
  }
  let o = pos * P.C;
  for (var c = lid.x; c < P.C; c += ${WG}u) {
    var x = wte[we + c] + wpe[pe + c];
    if (P.has_types != 0u) { x += wtt[te + c]; }
    // An out-of-range id gives NaN (taken from the uniform: WGSL constant expressions may not be NaN).
    out[o + c] = select(P.nan, x, ok);
  }
}
`;

// (2) per-block ranks: hist (blocks × V) counts ids in each block; rank[p] = earlier equal ids in the block.
const BLOCK_RANK_WGSL = /* wgsl */ `
struct Params { N: u32, V: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> hist: array<u32>;
@group(0) @binding(2) var<storage, read_write> rank: array<i32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let blk = gid.x;
  if (blk >= P.blocks) { return; }
  let p1 = min((blk + 1u) * ${SORT_BLOCK}u, P.N);
  for (var p = blk * ${SORT_BLOCK}u; p < p1; p++) {
    let id = ids[p];
    if (id < 0 || u32(id) >= P.V) { rank[p] = -1; continue; }
    let h = blk * P.V + u32(id);
    let r = hist[h];
    hist[h] = r + 1u;
    rank[p] = i32(r);
  }
}
`;

// (3) per id: exclusive prefix over blocks (in place) and the id's total count.
const BLOCK_PREFIX_WGSL = /* wgsl */ `
struct Params { N: u32, V: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> hist: array<u32>;
@group(0) @binding(2) var<storage, read_write> count: array<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let v = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (v >= P.V) { return; }
  var run = 0u;
  for (var b = 0u; b < P.blocks; b++) {
    let t = hist[b * P.V + v];
    hist[b * P.V + v] = run;
    run += t;
  }
  count[v] = run;
}
`;

// (4) one workgroup: start[v] = Σ_{u < v} count[u]; start[V] = number of valid positions.
const SCAN_WGSL = /* wgsl */ `
struct Params { N: u32, V: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> start: array<u32>;
@group(0) @binding(2) var<storage, read> count: array<u32>;
var<workgroup> sums: array<u32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  let chunk = (P.V + ${WG - 1}u) / ${WG}u;
  let v0 = min(lid.x * chunk, P.V);
  let v1 = min(v0 + chunk, P.V);
  var s = 0u;
  for (var v = v0; v < v1; v++) { s += count[v]; }
  sums[lid.x] = s;
  workgroupBarrier();
  var run = 0u;
  for (var j = 0u; j < lid.x; j++) { run += sums[j]; }
  for (var v = v0; v < v1; v++) { start[v] = run; run += count[v]; }
  if (lid.x == ${WG - 1}u) { start[P.V] = run; }
}
`;

// (5) scatter positions to their sorted slots.
const SCATTER_WGSL = /* wgsl */ `
struct Params { N: u32, V: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> sorted: array<u32>;
@group(0) @binding(2) var<storage, read> rank: array<i32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
@group(0) @binding(4) var<storage, read> hist: array<u32>;
@group(0) @binding(5) var<storage, read> start: array<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let p = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (p >= P.N) { return; }
  let r = rank[p];
  if (r < 0) { return; }
  let id = u32(ids[p]);
  sorted[start[id] + hist[(p / ${SORT_BLOCK}u) * P.V + id] + u32(r)] = p;
}
`;

// (6) invocation (slot s, 8 columns): if s starts a run of equal ids, sum the run's dout rows in
// position order and add into dwte[id].
const ACCUMULATE_WGSL = /* wgsl */ `
struct Params { N: u32, V: u32, C: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> dwte: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> sorted: array<u32>;
@group(0) @binding(4) var<storage, read> ids: array<i32>;
@group(0) @binding(5) var<storage, read> start: array<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = gid.x;
  let nvalid = start[P.V];
  if (s >= nvalid) { return; }
  let id = ids[sorted[s]];
  if (s > 0u && ids[sorted[s - 1u]] == id) { return; }
  let c0 = gid.y * ${COLS}u;
  let C = P.C;
  let C1 = C - 1u;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var j = s;
  loop {
    let row = sorted[j] * C;
    acc0 += vec4f(dout[row + c0], dout[row + min(c0 + 1u, C1)], dout[row + min(c0 + 2u, C1)], dout[row + min(c0 + 3u, C1)]);
    acc1 += vec4f(dout[row + min(c0 + 4u, C1)], dout[row + min(c0 + 5u, C1)], dout[row + min(c0 + 6u, C1)], dout[row + min(c0 + 7u, C1)]);
    j++;
    if (j >= nvalid || ids[sorted[j]] != id) { break; }
  }
  let o = u32(id) * C;
  for (var k = 0u; k < ${COLS}u; k++) {
    let c = c0 + k;
    if (c >= C) { break; }
    dwte[o + c] += select(acc0[k & 3u], acc1[k & 3u], k >= 4u);
  }
}
`;

// dwpe[t, c] += Σ_b dout[b, t, c], b in order.
const POSITION_WGSL = /* wgsl */ `
struct Params { B: u32, T: u32, C: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> dwpe: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let t = gid.y;
  if (c >= P.C) { return; }
  var acc = 0.0;
  for (var b = 0u; b < P.B; b++) { acc += dout[(b * P.T + t) * P.C + c]; }
  dwpe[t * P.C + c] += acc;
}
`;

// Token types, pass 1: partial[(blk·TV + k)·C + c] = Σ_{p in block, type_ids[p] = k} dout[p, c].
const TYPE_PARTIAL_WGSL = /* wgsl */ `
struct Params { N: u32, C: u32, TV: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> type_ids: array<i32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let blk = gid.y;
  let k = gid.z;
  if (c >= P.C) { return; }
  let p1 = min((blk + 1u) * ${TYPE_BLOCK}u, P.N);
  var acc = 0.0;
  for (var p = blk * ${TYPE_BLOCK}u; p < p1; p++) {
    if (type_ids[p] == i32(k)) { acc += dout[p * P.C + c]; }
  }
  partial[(blk * P.TV + k) * P.C + c] = acc;
}
`;

// Token types, pass 2: dwtt[k, c] += Σ_blk partial, blocks in order.
const TYPE_FINAL_WGSL = /* wgsl */ `
struct Params { N: u32, C: u32, TV: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> dwtt: array<f32>;
@group(0) @binding(2) var<storage, read> partial: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let k = gid.y;
  if (c >= P.C) { return; }
  var acc = 0.0;
  for (var b = 0u; b < P.blocks; b++) { acc += partial[(b * P.TV + k) * P.C + c]; }
  dwtt[k * P.C + c] += acc;
}
`;

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
  const [x, y] = grid2d(N);
  enc.dispatch(gpu.pipeline(name, FORWARD_WGSL), [
    gpu.uniform([N, T, C, V, typeVocab, typeIds ? 1 : 0, 0x7fc00000]), out, ids, typeIds ?? ids, wte, wpe, wtt ?? wte,
  ], x, y);
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
  // Word embeddings: stable counting sort of positions by id, then per-run sums.
  const blocks = Math.ceil(N / SORT_BLOCK);
  const hist = scratch(gpu, 'embedding_hist', blocks * V);
  const rank = scratch(gpu, 'embedding_rank', N);
  const count = scratch(gpu, 'embedding_count', V);
  const start = scratch(gpu, 'embedding_start', V + 1);
  const sorted = scratch(gpu, 'embedding_sorted', N);
  const params = gpu.uniform([N, V, blocks]);
  fill(gpu, enc, hist, 0, blocks * V); // +0.0 has the bits of u32 0
  enc.dispatch(gpu.pipeline(`${name}:block_rank`, BLOCK_RANK_WGSL), [params, hist, rank, ids], Math.ceil(blocks / WG));
  const [vx, vy] = grid2d(Math.ceil(V / WG));
  enc.dispatch(gpu.pipeline(`${name}:block_prefix`, BLOCK_PREFIX_WGSL), [params, hist, count], vx, vy);
  enc.dispatch(gpu.pipeline(`${name}:scan`, SCAN_WGSL), [params, start, count], 1);
  const [px, py] = grid2d(Math.ceil(N / WG));
  enc.dispatch(gpu.pipeline(`${name}:scatter`, SCATTER_WGSL), [params, sorted, rank, ids, hist, start], px, py);
  enc.dispatch(gpu.pipeline(`${name}:accumulate`, ACCUMULATE_WGSL), [gpu.uniform([N, V, C]), dwte, dout, sorted, ids, start],
    Math.ceil(N / WG), Math.ceil(C / COLS));
  // Positions.
  enc.dispatch(gpu.pipeline(`${name}:positions`, POSITION_WGSL), [gpu.uniform([B, T, C]), dwpe, dout], Math.ceil(C / WG), T);
  // Token types.
  if (typeIds && dwtt) {
    const tblocks = Math.ceil(N / TYPE_BLOCK);
    const partial = scratch(gpu, 'embedding_type_partial', tblocks * typeVocab * C);
    const tparams = gpu.uniform([N, C, typeVocab, tblocks]);
    enc.dispatch(gpu.pipeline(`${name}:types_partial`, TYPE_PARTIAL_WGSL), [tparams, partial, dout, typeIds], Math.ceil(C / WG), tblocks, typeVocab);
    enc.dispatch(gpu.pipeline(`${name}:types_final`, TYPE_FINAL_WGSL), [tparams, dwtt, partial], Math.ceil(C / WG), typeVocab);
  }
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
