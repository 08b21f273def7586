// Rows for new tokens in an embedding matrix (Float32Array, rows × cols, row-major), after a
// vocabulary extension. Statistics are accumulated in float64.
//
//   'mean'        every new row = mean of the old rows (new tokens start nearly identical).
//   'mean-noise'  Hugging Face's resize_token_embeddings(mean_resizing=True): draw each new row
//                 from N(mean, s·Σ), Σ the old rows' covariance (divided by the row count, as HF)
//                 and s = covarianceScale, 1e-9 in HF; falls back to the mean when s·Σ is not
//                 positive definite (as HF).
//   'subtoken'    the average of the old rows of the token's pieces under the old tokenizer.
//                 A token with no informative piece (no pieces, or only [UNK]: every single CJK
//                 character an English vocabulary lacks) would otherwise get the same row as every
//                 other such token (the [UNK] row), so nothing tells them apart at the start of
//                 training; it gets the mean of the old rows plus N(0, std²) noise from a seeded
//                 stream instead (`fallback`; without it, the plain mean).
//   'normal'      HF's mean_resizing=False: N(0, std²), std = initializer_range 0.02.

import { randNormal, type Rng } from '../data/rng.js';

export type EmbeddingInit =
  | { method: 'mean' }
  | { method: 'mean-noise'; rng: Rng; covarianceScale?: number }
  | {
    method: 'subtoken';
    pieces: readonly (readonly number[])[];
    /** The old tokenizer's [UNK] id: a token whose pieces are all [UNK] has no informative piece. */
    unkId?: number;
    /** Rows without an informative piece: mean + N(0, std²) per value (else the plain mean). */
    fallback?: { rng: Rng; std: number };
  }
  | { method: 'normal'; rng: Rng; std?: number };

function checkMatrix(what: string, w: Float32Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new Error(`${what}: rows and cols must be positive integers, got ${rows} × ${cols}`);
  }
  if (w.length !== rows * cols) throw new Error(`${what}: matrix has ${w.length} values, expected rows·cols = ${rows}·${cols} = ${rows * cols}`);
}

/** Column means of the rows (float64). */
export function embeddingMean(w: Float32Array, rows: number, cols: number): Float64Array {
  checkMatrix('embeddingMean', w, rows, cols);
  const m = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[c] += w[r * cols + c];
  for (let c = 0; c < cols; c++) m[c] /= rows;
  return m;
}

/** Covariance Σ = (W − μ)ᵀ(W − μ) / rows, cols × cols (float64, symmetric). */
export function embeddingCovariance(w: Float32Array, rows: number, cols: number, mean = embeddingMean(w, rows, cols)): Float64Array {
  checkMatrix('embeddingCovariance', w, rows, cols);
  const s = new Float64Array(cols * cols);
  const d = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) d[c] = w[r * cols + c] - mean[c];
    // Upper triangle only; mirrored below.
    for (let i = 0; i < cols; i++) {
      const di = d[i];
      if (di === 0) continue;
      const off = i * cols;
      for (let j = i; j < cols; j++) s[off + j] += di * d[j];
    }
  }
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      const v = s[i * cols + j] / rows;
      s[i * cols + j] = v;
      s[j * cols + i] = v;
    }
  }
  return s;
}

/** Lower Cholesky factor L (LLᵀ = A) of a symmetric n × n matrix, or null if not positive definite. */
export function choleskyLower(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(sum > 0)) return null;
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j];
      }
    }
  }
  return l;
}

/** The `added` new rows (added × cols) for an old matrix `old` (rows × cols). */
export function initAddedRows(old: Float32Array, rows: number, cols: number, added: number, init: EmbeddingInit): Float32Array {
  checkMatrix('initAddedRows', old, rows, cols);
  if (!Number.isInteger(added) || added < 0) throw new Error(`initAddedRows: added must be a non-negative integer, got ${added}`);
  const out = new Float32Array(added * cols);
  if (added === 0) return out;
  switch (init.method) {
    case 'mean': {
      const m = embeddingMean(old, rows, cols);
      for (let r = 0; r < added; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = m[c];
      return out;
    }
    case 'mean-noise': {
      const scale = init.covarianceScale ?? 1e-9;
      if (!(scale >= 0)) throw new Error(`initAddedRows: covarianceScale must be ≥ 0, got ${scale}`);
      const m = embeddingMean(old, rows, cols);
      const cov = embeddingCovariance(old, rows, cols, m);
      for (let k = 0; k < cov.length; k++) cov[k] *= scale;
      const l = scale > 0 ? choleskyLower(cov, cols) : null;
      const z = new Float64Array(cols);
      for (let r = 0; r < added; r++) {
        if (l) for (let c = 0; c < cols; c++) z[c] = randNormal(init.rng);
        for (let i = 0; i < cols; i++) {
          let v = m[i];
          if (l) for (let k = 0; k <= i; k++) v += l[i * cols + k] * z[k];
          out[r * cols + i] = v;
        }
      }
      return out;
    }
    case 'subtoken': {
      if (init.pieces.length !== added) {
        throw new Error(`initAddedRows: 'subtoken' needs pieces for each of the ${added} new rows, got ${init.pieces.length}`);
      }
      const fb = init.fallback;
      if (fb && !(fb.std >= 0)) throw new Error(`initAddedRows: 'subtoken' fallback std must be ≥ 0, got ${fb.std}`);
      let mean: Float64Array | null = null;
      const acc = new Float64Array(cols);
      init.pieces.forEach((ps, r) => {
        if (ps.length === 0 || (init.unkId !== undefined && ps.every((id) => id === init.unkId))) {
          mean ??= embeddingMean(old, rows, cols);
          // Rows are drawn in order, one stream: row r's noise depends only on the seed and r's rank among the fallback rows.
          for (let c = 0; c < cols; c++) out[r * cols + c] = mean[c] + (fb ? fb.std * randNormal(fb.rng) : 0);
          return;
        }
        acc.fill(0);
        for (const id of ps) {
          if (!Number.isInteger(id) || id < 0 || id >= rows) {
            throw new Error(`initAddedRows: piece id ${id} of new row ${r} is outside the old matrix (${rows} rows)`);
          }
          for (let c = 0; c < cols; c++) acc[c] += old[id * cols + c];
        }
        for (let c = 0; c < cols; c++) out[r * cols + c] = acc[c] / ps.length;
      });
      return out;
    }
    case 'normal': {
      const std = init.std ?? 0.02;
      for (let k = 0; k < out.length; k++) out[k] = std * randNormal(init.rng);
      return out;
    }
    default:
      throw new Error(`initAddedRows: unknown method ${JSON.stringify((init as { method: unknown }).method)} (expected mean, mean-noise, subtoken, normal)`);
  }
}

/** The grown matrix ((rows + added) × cols): old rows copied, new rows from `init`. */
export function growEmbeddings(old: Float32Array, rows: number, cols: number, added: number, init: EmbeddingInit): Float32Array {
  const rowsNew = initAddedRows(old, rows, cols, added, init);
  const out = new Float32Array((rows + added) * cols);
  out.set(old, 0);
  out.set(rowsNew, rows * cols);
  return out;
}
