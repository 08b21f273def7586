// Masked-LM loss: gather the masked rows, project them with the tied word-embedding matrix,
// fused softmax cross-entropy, and the whole backward — at a cost proportional to the number of
// masked rows n, never to the number of tokens.
//
//   hm       = hidden[rows]                      (n, C)   (skipped when rows = null: hidden is hm)
//   logits   = hm · wteᵀ + bias                  (n, V)   wte (V, C) is the tied embedding matrix
//   losses_i = CE(logits_i, targets_i)           (n)      targets −100 → ignored (loss 0, no gradient)
//   dlogits  = ∂(Σ losses / normalizer)/∂logits           (in place over the logits scratch)
//   dhm      = dlogits · wte                     (n, C)
//   dwte    += dlogitsᵀ · hm ;  dbias += Σ_i dlogits_i     (parameter gradients: +=)
//   dhidden[rows] = dhm                          rows = null: dhidden (n, C) = dhm
//
// mlm_loss_forward_backward(gpu, enc, args: MlmLossArgs) — see MlmLossArgs for every field.
// dhidden is an activation gradient: overwritten (rows not masked are set to 0, a totalRows·C
// memset) unless accumulateDhidden, which only adds into the masked rows (cost ∝ n·C).
// Mean loss = Σ losses / normalizer; pass normalizer = number of masked rows whose target is not
// −100 (Hugging Face's BertForMaskedLM: CrossEntropyLoss over labels ≠ −100).
//
// Work: 3 matmuls of n·V·C multiply-adds (projection, dhm, dwte) via matmul.ts, plus the fused
// CE (a few passes over n·V). The logits live in an internal scratch buffer processed in chunks
// of ≤ 2^23 logits (rows in multiples of 64, so every sub-range binding is 256-byte aligned):
// memory stays bounded and every dispatch short whatever n·V is.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims } from './check.js';
import { gather_rows_backward, gather_rows_forward } from './gather.js';
import { linear_backward, linear_forward } from './matmul.js';
import { IGNORE_INDEX, softmax_cross_entropy, softmax_cross_entropy_reference } from './softmax_cross_entropy.js';

const MAX_LOGITS_PER_CHUNK = 1 << 23;
const ROW_ALIGN = 64; // 64 rows × 4 bytes = 256 bytes: losses/targets sub-ranges stay aligned

export interface MlmLossArgs {
  /** (n) per-masked-row loss, 0 for ignored rows. */
  losses: Binding;
  /** Gradient w.r.t. hidden (totalRows, C) when rows are given, else (n, C); null = no input gradient. */
  dhidden: Binding | null;
  /** (V, C) += gradient of the tied embedding matrix; null = frozen. */
  dwte: Binding | null;
  /** (V) += gradient of the decoder bias; null = none / frozen. */
  dbias: Binding | null;
  /** (totalRows, C) final hidden states when rows are given, else the n gathered rows (n, C). */
  hidden: Binding;
  /** i32 (n): masked row indices into hidden (unique); null when hidden is already gathered. */
  rows: Binding | null;
  /** i32 (n): target token id of each masked row, or −100 to ignore it. */
  targets: Binding;
  /** (V, C) word embeddings (tied decoder weight). */
  wte: Binding;
  /** (V) decoder bias, or null. */
  bias: Binding | null;
  /** Masked rows. */
  n: number;
  V: number;
  C: number;
  /** Rows of hidden when rows are given (B·T); ignored otherwise. */
  totalRows?: number;
  /** Divides the gradient: count of masked rows with a target ≠ −100. */
  normalizer: number;
  /** Add into dhidden instead of overwriting it. */
  accumulateDhidden?: boolean;
  /** Only −100 is supported. */
  ignoreIndex?: -100;
  /** Logits per chunk (default 2^23 = 32 MiB); rounded down to whole multiples of 64 rows, at least 64 rows. Tests lower it. */
  maxLogitsPerChunk?: number;
}

export interface MlmLossReferenceArgs {
  losses: Float64Array;
  dhidden: Float64Array | null;
  dwte: Float64Array | null;
  dbias: Float64Array | null;
  hidden: ArrayLike<number>;
  rows: ArrayLike<number> | null;
  targets: ArrayLike<number>;
  wte: ArrayLike<number>;
  bias: ArrayLike<number> | null;
  n: number;
  V: number;
  C: number;
  totalRows?: number;
  normalizer: number;
  accumulateDhidden?: boolean;
  ignoreIndex?: -100;
}

const ZERO_WGSL = /* wgsl */ `
struct P { n: u32, groupsX: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> buf: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = (gid.y * p.groupsX) * 256u + gid.x;
  if (i < p.n) { buf[i] = 0.0; }
}
`;

function zeroFill(gpu: Gpu, enc: StepEncoder, buf: Binding, n: number): void {
  const groups = Math.ceil(n / 256);
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const gx = Math.min(groups, max);
  enc.dispatch(gpu.pipeline('mlm_loss_zero', ZERO_WGSL), [gpu.uniform([n, gx, 0, 0]), buf], gx, Math.ceil(groups / gx));
}

interface Scratch {
  hm: GPUBuffer | null;
  dhm: GPUBuffer | null;
  logits: GPUBuffer | null;
}
const scratches = new WeakMap<Gpu, Scratch>();
/** Per-device scratch, grown when needed; old buffers are dropped (an unsubmitted encoder may bind them). */
function scratch(gpu: Gpu, key: keyof Scratch, elements: number): GPUBuffer {
  let s = scratches.get(gpu);
  if (!s) scratches.set(gpu, (s = { hm: null, dhm: null, logits: null }));
  const have = s[key];
  if (have && have.size >= elements * 4) return have;
  const b = gpu.zeros(2 ** Math.ceil(Math.log2(Math.max(elements * 4, 1024))), `mlm_loss:${key}`);
  s[key] = b;
  return b;
}

/** Sub-range of a binding, in f32 elements (offset must land on a 256-byte boundary). */
function sub(b: Binding, offsetElements: number, elements: number): Binding {
  const isRange = 'buffer' in b && typeof (b as GPUBufferBinding).buffer === 'object';
  const buffer = isRange ? (b as GPUBufferBinding).buffer : (b as GPUBuffer);
  const base = isRange ? ((b as GPUBufferBinding).offset ?? 0) : 0;
  return { buffer, offset: base + offsetElements * 4, size: elements * 4 };
}

function checkArgs(name: string, a: { n: number; V: number; C: number; rows: unknown; totalRows?: number; normalizer: number; ignoreIndex?: number }): number {
  checkDims(name, { n: a.n, V: a.V, C: a.C });
  if (!Number.isFinite(a.normalizer) || a.normalizer <= 0) throw new Error(`${name}: normalizer=${a.normalizer} must be a positive number (masked rows with a target ≠ −100)`);
  if (a.ignoreIndex !== undefined && a.ignoreIndex !== IGNORE_INDEX) throw new Error(`${name}: ignoreIndex=${a.ignoreIndex} is not supported; only ${IGNORE_INDEX}`);
  if (a.rows === null) return a.n;
  if (a.totalRows === undefined) throw new Error(`${name}: totalRows is required when rows are given`);
  checkDims(name, { totalRows: a.totalRows });
  if (a.n > a.totalRows) throw new Error(`${name}: n=${a.n} masked rows exceed totalRows=${a.totalRows}`);
  return a.totalRows;
}

/** Record the masked-LM loss forward and backward (see the file header and MlmLossArgs). */
export function mlm_loss_forward_backward(gpu: Gpu, enc: StepEncoder, a: MlmLossArgs): void {
  const name = 'mlm_loss_forward_backward';
  const { n, V, C } = a;
  const hiddenRows = checkArgs(name, a);
  checkBuffer(name, 'losses', a.losses, n);
  checkBuffer(name, 'hidden', a.hidden, hiddenRows * C);
  if (a.rows) checkBuffer(name, 'rows', a.rows, n);
  checkBuffer(name, 'targets', a.targets, n);
  checkBuffer(name, 'wte', a.wte, V * C);
  if (a.bias) checkBuffer(name, 'bias', a.bias, V);
  if (a.dhidden) checkBuffer(name, 'dhidden', a.dhidden, hiddenRows * C);
  if (a.dwte) checkBuffer(name, 'dwte', a.dwte, V * C);
  if (a.dbias) checkBuffer(name, 'dbias', a.dbias, V);
  for (const [k, b] of [['losses', a.losses], ['targets', a.targets], ['hidden', a.hidden]] as const) {
    const off = 'buffer' in b && typeof (b as GPUBufferBinding).buffer === 'object' ? ((b as GPUBufferBinding).offset ?? 0) : 0;
    if (off % 256 !== 0) throw new Error(`${name}: binding '${k}' offset ${off} must be a multiple of 256`);
  }

  // 2. Chunks of rows (sized here so a bad maxLogitsPerChunk fails before any dispatch): project,
  //    fused CE in place, backward into dhm / dwte / dbias.
  const maxLogits = a.maxLogitsPerChunk ?? MAX_LOGITS_PER_CHUNK;
  if (!Number.isInteger(maxLogits) || maxLogits < 1) throw new Error(`${name}: maxLogitsPerChunk=${maxLogits} must be a positive integer`);
  const chunkRows = Math.max(ROW_ALIGN, Math.floor(maxLogits / V / ROW_ALIGN) * ROW_ALIGN);
  // 1. Gather the masked rows (or use hidden as it is).
  let hm: Binding = a.hidden;
  if (a.rows) {
    hm = scratch(gpu, 'hm', n * C);
    gather_rows_forward(gpu, enc, hm, a.hidden, a.rows, n, C, hiddenRows);
  }
  const wantDh = a.dhidden !== null;
  const dhm: Binding | null = wantDh ? (a.rows ? scratch(gpu, 'dhm', n * C) : a.dhidden) : null;

  const logits = scratch(gpu, 'logits', Math.min(n, chunkRows) * V);
  for (let r0 = 0; r0 < n; r0 += chunkRows) {
    const rc = Math.min(chunkRows, n - r0);
    const lg = sub(logits, 0, rc * V);
    const hmC = sub(hm, r0 * C, rc * C);
    linear_forward(gpu, enc, lg, hmC, a.wte, a.bias, rc, V, C);
    softmax_cross_entropy(gpu, enc, sub(a.losses, r0, rc), lg, lg, sub(a.targets, r0, rc), rc, V, { normalizer: a.normalizer });
    const dhmC = dhm ? sub(dhm, r0 * C, rc * C) : null;
    const accumulate = dhm !== null && !a.rows && (a.accumulateDhidden ?? false);
    linear_backward(gpu, enc, dhmC, a.dwte, a.dbias, lg, hmC, a.wte, rc, V, C, accumulate);
  }

  // 3. Scatter the row gradients back.
  if (a.rows && a.dhidden && dhm) {
    if (!a.accumulateDhidden) zeroFill(gpu, enc, a.dhidden, hiddenRows * C);
    gather_rows_backward(gpu, enc, a.dhidden, dhm, a.rows, n, C, hiddenRows);
  }
}

/** float64 reference of mlm_loss_forward_backward (the specification). */
export function mlm_loss_forward_backward_reference(a: MlmLossReferenceArgs): void {
  const name = 'mlm_loss_forward_backward_reference';
  const { n, V, C } = a;
  const hiddenRows = checkArgs(name, a);
  checkArray(name, 'losses', a.losses, n);
  checkArray(name, 'hidden', a.hidden, hiddenRows * C);
  checkArray(name, 'targets', a.targets, n);
  checkArray(name, 'wte', a.wte, V * C);
  if (a.bias) checkArray(name, 'bias', a.bias, V);
  if (a.dhidden) checkArray(name, 'dhidden', a.dhidden, hiddenRows * C);
  if (a.dwte) checkArray(name, 'dwte', a.dwte, V * C);
  if (a.dbias) checkArray(name, 'dbias', a.dbias, V);
  const rowOf = (i: number) => (a.rows ? a.rows[i] : i);
  if (a.rows) {
    checkArray(name, 'rows', a.rows, n);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const r = a.rows[i];
      if (!Number.isInteger(r) || r < 0 || r >= hiddenRows) throw new Error(`${name}: rows[${i}]=${r} is outside [0, ${hiddenRows})`);
      if (seen.has(r)) throw new Error(`${name}: rows[${i}]=${r} repeats an earlier row`);
      seen.add(r);
    }
  }
  const logits = new Float64Array(n * V);
  for (let i = 0; i < n; i++) {
    const h = rowOf(i) * C;
    for (let v = 0; v < V; v++) {
      let s = a.bias ? a.bias[v] : 0;
      for (let c = 0; c < C; c++) s += a.hidden[h + c] * a.wte[v * C + c];
      logits[i * V + v] = s;
    }
  }
  const dl = new Float64Array(n * V);
  softmax_cross_entropy_reference(a.losses, dl, logits, a.targets, n, V, { normalizer: a.normalizer });
  if (a.dhidden && !a.accumulateDhidden) a.dhidden.fill(0, 0, hiddenRows * C);
  for (let i = 0; i < n; i++) {
    const h = rowOf(i) * C;
    for (let v = 0; v < V; v++) {
      const g = dl[i * V + v];
      if (g === 0) continue;
      if (a.dbias) a.dbias[v] += g;
      for (let c = 0; c < C; c++) {
        if (a.dhidden) a.dhidden[h + c] += g * a.wte[v * C + c];
        if (a.dwte) a.dwte[v * C + c] += g * a.hidden[h + c];
      }
    }
  }
}
