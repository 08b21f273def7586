// INT8 inference of a trained BERT: which linear layers are quantised, their int8 weights and
// scales, and the float64 reference of a quantised linear layer (the spec the GPU path in bert.ts
// and the ONNX export's MatMulInteger graph are tested against).
//
// Scheme (the kernels' int8_matmul.ts): symmetric, per output channel for the weights
// (s_n = max_k |W[n,k]| / 127, q = round-half-even(W / s_n) clamped to ±127), per row for the
// activations, quantised dynamically on every forward; y = s_x[m]·s_w[n]·Σ_k qx·qw + b, the sums
// exact in integers. The weights are quantised once, on the CPU (quantize_weights_int8_reference),
// so the GPU model, the reference, `tunebench export --int8` and the ONNX export hold the same
// int8 values; the scales are kept as float32 (what the GPU binds and the files store).
//
// Quantised: the six linear layers of every encoder layer (Q, K, V, attention output, FFN in,
// FFN out) — ≈ all of the encoder's compute and most of its weights. Not quantised (fp32): the
// embeddings (a lookup, no matmul), every LayerNorm, and the heads: the classifier is H × C
// (a few thousand weights), the MLM decoder is the tied word-embedding table (kept fp32 with the
// embeddings), and the pooler / MLM transform run on B (not B·T) rows or on the masked rows only.

import { int8_linear_forward_reference, quantize_rows_int8_reference, quantize_weights_int8_reference } from '@tunebench/kernels';
import type { BertConfig } from './config.js';
import type { ParamStore } from './params.js';

/** The six quantised linear layers of encoder layer l (HF name prefixes). */
export function int8LayerLinears(l: number): string[] {
  const p = `bert.encoder.layer.${l}`;
  return [`${p}.attention.self.query`, `${p}.attention.self.key`, `${p}.attention.self.value`, `${p}.attention.output.dense`,
    `${p}.intermediate.dense`, `${p}.output.dense`];
}

/** Every quantised linear layer of a model, in layer order. */
export function int8LinearNames(config: BertConfig): string[] {
  return Array.from({ length: config.numLayers }, (_, l) => int8LayerLinears(l)).flat();
}

/** One quantised linear layer: weight (N, K) as packed int8 words and per-output-channel scales. */
export interface QuantizedLinear {
  N: number;
  K: number;
  /** N · ceil(K/4) words, 4 int8 per word, little-endian by k (int8_matmul.ts's packing). */
  packed: Uint32Array;
  /** N scales (float32): W[n, k] ≈ scales[n] · q[n, k]. */
  scales: Float32Array;
}

export type QuantizedLinears = Map<string, QuantizedLinear>;

/** Quantise weight (N, K) per output channel. */
export function quantizeLinear(weight: ArrayLike<number>, N: number, K: number): QuantizedLinear {
  const packed = new Uint32Array(N * Math.ceil(K / 4));
  const scales64 = new Float64Array(N);
  quantize_weights_int8_reference(packed, scales64, weight, N, K);
  return { N, K, packed, scales: Float32Array.from(scales64) };
}

/** Quantise every linear layer of int8LinearNames from the store's (fp32) weights. */
export function quantizeModel(config: BertConfig, store: ParamStore): QuantizedLinears {
  const out: QuantizedLinears = new Map();
  for (const name of int8LinearNames(config)) {
    const w = `${name}.weight`;
    const [N, K] = store.specs.find((s) => s.name === w)?.shape ?? [];
    if (N === undefined || K === undefined) throw new Error(`quantizeModel: the model has no 2-D parameter '${w}'`);
    out.set(name, quantizeLinear(store.get(w), N, K));
  }
  return out;
}

/** The int8 values of a quantised weight, (N, K) row-major (unpacked; the export's layout). */
export function int8Values(ql: QuantizedLinear): Int8Array {
  const { N, K } = ql;
  const K4 = Math.ceil(K / 4);
  const bytes = new Int8Array(ql.packed.buffer, ql.packed.byteOffset, ql.packed.byteLength);
  if (K % 4 === 0) return bytes.slice();
  const out = new Int8Array(N * K);
  for (let n = 0; n < N; n++) out.set(bytes.subarray(n * K4 * 4, n * K4 * 4 + K), n * K);
  return out;
}

/** Rebuild a QuantizedLinear from its int8 values (N, K) and scales (reading an int8 export). */
export function packInt8(values: Int8Array, scales: Float32Array, N: number, K: number): QuantizedLinear {
  if (values.length !== N * K) throw new Error(`packInt8: ${values.length} int8 values, expected N·K = ${N}·${K}`);
  if (scales.length !== N) throw new Error(`packInt8: ${scales.length} scales, expected N = ${N}`);
  const K4 = Math.ceil(K / 4);
  const packed = new Uint32Array(N * K4);
  const bytes = new Int8Array(packed.buffer);
  for (let n = 0; n < N; n++) bytes.set(values.subarray(n * K, (n + 1) * K), n * K4 * 4);
  return { N, K, packed, scales: Float32Array.from(scales) };
}

/** The fp32 weights the int8 ones stand for: W[n,k] = scales[n] · q[n,k]. */
export function dequantizeLinear(ql: QuantizedLinear): Float32Array {
  const q = int8Values(ql);
  const out = new Float32Array(ql.N * ql.K);
  for (let n = 0; n < ql.N; n++) for (let k = 0; k < ql.K; k++) out[n * ql.K + k] = ql.scales[n] * q[n * ql.K + k];
  return out;
}

/** Bytes the int8 linear layers take on disk (int8 weights + f32 scales) and what they took in fp32. */
export function int8Bytes(q: QuantizedLinears): { int8: number; fp32: number } {
  let int8 = 0, fp32 = 0;
  for (const ql of q.values()) {
    int8 += ql.N * ql.K + 4 * ql.N;
    fp32 += 4 * ql.N * ql.K;
  }
  return { int8, fp32 };
}

/**
 * Float64 reference of a quantised linear layer: x (rows, K) quantised per row, then
 * y (rows, N) = s_x ⊗ s_w · (qx · qwᵀ) + bias (bias null: none, as the FFN-in layer whose bias the
 * GELU adds).
 */
export function int8_linear_reference(y: Float64Array, x: ArrayLike<number>, ql: QuantizedLinear, bias: ArrayLike<number> | null, rows: number): void {
  const { N, K } = ql;
  const qx = new Uint32Array(rows * Math.ceil(K / 4));
  const sx = new Float64Array(rows);
  quantize_rows_int8_reference(qx, sx, x, rows, K);
  int8_linear_forward_reference(y, qx, sx, ql.packed, ql.scales, bias, rows, N, K);
}
