// `tunebench export onnx`: a checkpoint as an ONNX model (opset 17), every head an output, built
// as protobuf messages with `onnx-proto` (protobufjs code generated from the official onnx.proto)
// — no hand-written bytes.
//
// Inputs (int64, dynamic axes 'batch' × 'sequence'): input_ids, attention_mask, token_type_ids.
// Outputs: last_hidden_state (batch, sequence, H) and one per head (onnxHeadOutputs):
//   mlm        mlm_logits        (batch, sequence, V)   every position (our GPU head: masked rows only)
//   seq_cls    seq_cls_logits    (batch, C)             'cls' pooling: pooler dense + tanh on [CLS]; 'mean': masked mean
//   token_cls  token_cls_logits  (batch, sequence, C)   a CRF head's emissions (Viterbi stays on the host, crf_head.ts)
//   embedding  sentence_embedding (batch, H)            masked mean (+ L2 normalisation when the head normalises)
// A kind that occurs twice gets the head's index appended (seq_cls_logits_2).
//
// The graph is the float64 reference's (model/reference.ts) in standard operators: Gather for the
// embeddings, LayerNormalization, attention as MatMul / Softmax with an additive mask of −1e9 on
// padded keys (exp underflows to exactly 0, as the kernels' masking), GELU from Erf (or Tanh for
// gelu_tanh). Linear weights are stored transposed (K, N) for MatMul; the MLM decoder is tied to
// the word embeddings through a Transpose node (ONNX Runtime folds it; the table is stored once).
//
// quantized: the encoder's linear layers (model/int8.ts) as the INT8 path computes them — the
// input quantised per row (ReduceMax |x|, ·127/max, Round half-to-even, Clip ±127, Cast int8),
// MatMulInteger with the int8 weights (K, N), then (s_x ⊗ s_w)·acc + b in float. Integer sums are
// exact, so it equals our int8 forward up to float rounding.

import { writeFileSync, renameSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { geluApproximate, int8Values, quantizeModel, type BertConfig, type HeadSpec, type ParamStore, type QuantizedLinears } from '../model/index.js';
import { classifierPrefix } from '../model/heads.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

export const ONNX_OPSET = 17;
export const ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/** The output name of each head (same order as `heads`). */
export function onnxHeadOutputs(heads: HeadSpec[]): string[] {
  const base = (h: HeadSpec) => (h.kind === 'embedding' ? 'sentence_embedding' : `${h.kind}_logits`);
  return heads.map((h, i) => (heads.filter((o) => o.kind === h.kind).length > 1 ? `${base(h)}_${i}` : base(h)));
}

type Attr = number | number[] | { f: number } | { fs: number[] };

/** Nodes and initializers of one graph, with fresh value names. */
class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private n = 0;

  private fresh(op: string): string {
    return `${op.toLowerCase()}_${this.n++}`;
  }

  /** An initializer (float32, int8 or int64 data). */
  init(name: string, dims: number[], data: Float32Array | Int8Array | BigInt64Array): string {
    const dataType = data instanceof Float32Array ? T.FLOAT : data instanceof Int8Array ? T.INT8 : T.INT64;
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType, rawData }));
    return name;
  }

  private readonly consts = new Map<string, string>();

  /** A 1-D float32 constant (one initializer per distinct value list). */
  f32(values: number[]): string {
    const key = `f:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.init(this.fresh('const'), [values.length], Float32Array.from(values))));
    return name;
  }

  /** A 1-D int64 constant. */
  i64(values: number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = this.init(this.fresh('const'), [values.length], BigInt64Array.from(values.map(BigInt)))));
    return name;
  }

  /** A node with one output (its fresh name is returned). */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(opType);
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: A.INT, i: v });
      if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
      if ('f' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.f });
      return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.fs });
    });
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [out], name: out, attribute }));
    return out;
  }
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
}

/** (N, K) row-major → (K, N). */
function transposed(w: Float32Array, N: number, K: number): Float32Array {
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[k * N + n] = w[n * K + k];
  return out;
}
function transposedI8(w: Int8Array, N: number, K: number): Int8Array {
  const out = new Int8Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[k * N + n] = w[n * K + k];
  return out;
}

export interface OnnxExportOptions {
  /** Encoder linear layers through MatMulInteger (int8 weights, per-row int8 activations). */
  quantized?: boolean;
  /** Quantised weights to use (an int8 export); default: quantise the store's. */
  int8?: QuantizedLinears | null;
}

/** The ONNX ModelProto of a model (config + heads + weights). */
export function buildOnnxModel(config: BertConfig, heads: HeadSpec[], store: ParamStore, opts: OnnxExportOptions = {}): InstanceType<typeof onnx.ModelProto> {
  const g = new GraphBuilder();
  const H = config.hiddenSize, NH = config.numHeads, HS = H / NH, F = config.intermediateSize, V = config.vocabSize;
  const P = (name: string) => store.get(name);
  const shape = (name: string) => store.spec(name).shape;
  const q = opts.quantized ? (opts.int8 ?? quantizeModel(config, store)) : null;
  const param = (name: string) => g.init(name, shape(name), P(name).slice());

  const ln = (x: string, name: string) =>
    g.op('LayerNormalization', [x, param(`${name}.weight`), param(`${name}.bias`)], { axis: -1, epsilon: { f: config.layerNormEps } });
  const half = () => g.f32([0.5]), one = () => g.f32([1]);
  const gelu = (x: string) => {
    if (geluApproximate(config.hiddenAct) === 'none') {
      // 0.5·x·(1 + erf(x/√2))
      return g.op('Mul', [g.op('Mul', [x, half()]), g.op('Add', [one(), g.op('Erf', [g.op('Mul', [x, g.f32([Math.SQRT1_2])])])])]);
    }
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
    const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [x3, g.f32([0.044715])])]), g.f32([Math.sqrt(2 / Math.PI)])]);
    return g.op('Mul', [g.op('Mul', [x, half()]), g.op('Add', [one(), g.op('Tanh', [inner])])]);
  };
  /** A linear layer y = x·Wᵀ + b by HF name prefix (through MatMulInteger when quantised). */
  const linear = (x: string, name: string, N: number, K: number) => {
    const ql = q?.get(name);
    const bias = param(`${name}.bias`);
    if (!ql) return g.op('Add', [g.op('MatMul', [x, g.init(`${name}.weight`, [K, N], transposed(P(`${name}.weight`), N, K))]), bias]);
    // per-row quantisation of x, as quantize_rows_int8: q = clamp(round(x · (127 / max|x|)), ±127)
    const c127 = g.f32([127]);
    const amax = g.op('ReduceMax', [g.op('Abs', [x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Div', [c127, g.op('Max', [amax, g.f32([1e-30])])]); // an all-zero row: q = 0, scale 0
    const qx = g.op('Cast', [g.op('Clip', [g.op('Round', [g.op('Mul', [x, inv])]), g.f32([-127]), c127])], { to: T.INT8 });
    const sx = g.op('Div', [amax, c127]);
    const wq = g.init(`${name}.weight_quantized`, [K, N], transposedI8(int8Values(ql), N, K));
    const acc = g.op('Cast', [g.op('MatMulInteger', [qx, wq])], { to: T.FLOAT });
    // (acc · s_w) · s_x: the column scale first. ONNX Runtime's MatMulIntegerToFloat fusion
    // (optimisation level 'extended') takes the Mul after the Cast for A's or B's scale; given the
    // outer product s_x ⊗ s_w there (the kernel's order) it computed wrong values (1.8 off on a
    // tiny model, onnxruntime-node 1.31), while a per-column scale is one it handles.
    const colScaled = g.op('Mul', [acc, g.init(`${name}.weight_scale`, [N], ql.scales.slice())]);
    return g.op('Add', [g.op('Mul', [colScaled, sx]), bias]);
  };

  // Embeddings: word + position (rows 0 .. sequence−1 of the table) + token type, then LayerNorm.
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), g.i64([1])], { axis: 0 });
  const pos = g.op('Slice', [param('bert.embeddings.position_embeddings.weight'), g.i64([0]), seqLen, g.i64([0])]);
  const wte = param('bert.embeddings.word_embeddings.weight');
  const emb = g.op('Add', [g.op('Add', [g.op('Gather', [wte, 'input_ids'], { axis: 0 }), pos]),
    g.op('Gather', [param('bert.embeddings.token_type_embeddings.weight'), 'token_type_ids'], { axis: 0 })]);
  let x = ln(emb, 'bert.embeddings.LayerNorm');

  // Additive attention mask (batch, 1, 1, sequence): 0 on real keys, −1e9 on padding.
  const maskF = g.op('Cast', ['attention_mask'], { to: T.FLOAT });
  const maskBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one(), maskF]), g.f32([-1e9])]), g.i64([1, 2])]);
  const headsShape = g.i64([0, 0, NH, HS]), mergeShape = g.i64([0, 0, H]);
  const scale = g.f32([1 / Math.sqrt(HS)]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const split = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, headsShape])], { perm });
    const qh = split(linear(x, `${p}.attention.self.query`, H, H), [0, 2, 1, 3]); // (B, NH, T, HS)
    const kh = split(linear(x, `${p}.attention.self.key`, H, H), [0, 2, 3, 1]); // (B, NH, HS, T)
    const vh = split(linear(x, `${p}.attention.self.value`, H, H), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [qh, kh]), scale]), maskBias]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), vh]);
    const att = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), mergeShape]);
    const ln1 = ln(g.op('Add', [linear(att, `${p}.attention.output.dense`, H, H), x]), `${p}.attention.output.LayerNorm`);
    const ffn = linear(gelu(linear(ln1, `${p}.intermediate.dense`, F, H)), `${p}.output.dense`, H, F);
    x = ln(g.op('Add', [ffn, ln1]), `${p}.output.LayerNorm`);
  }
  const hidden = g.op('Identity', [x], {}, 'last_hidden_state');

  // Masked mean over the sequence: Σ_t mask·h / max(Σ_t mask, 1e-9) (mean_pool_forward's POOL_EPS).
  let pooledMean: string | null = null;
  const meanPool = () => {
    if (pooledMean) return pooledMean;
    const summed = g.op('ReduceSum', [g.op('Mul', [hidden, g.op('Unsqueeze', [maskF, g.i64([2])])]), g.i64([1])], { keepdims: 0 });
    const count = g.op('Max', [g.op('ReduceSum', [maskF, g.i64([1])], { keepdims: 1 }), g.f32([1e-9])]);
    return (pooledMean = g.op('Div', [summed, count]));
  };
  const names = onnxHeadOutputs(heads);
  const outputs = [valueInfo('last_hidden_state', T.FLOAT, ['batch', 'sequence', H])];
  heads.forEach((head, i) => {
    const out = names[i]!;
    if (head.kind === 'mlm') {
      const t = ln(gelu(linear(hidden, 'cls.predictions.transform.dense', H, H)), 'cls.predictions.transform.LayerNorm');
      g.op('Add', [g.op('MatMul', [t, g.op('Transpose', [wte], { perm: [1, 0] })]), param('cls.predictions.bias')], {}, out);
      outputs.push(valueInfo(out, T.FLOAT, ['batch', 'sequence', V]));
    } else if (head.kind === 'seq_cls') {
      let feats: string;
      if (head.pooling === 'cls') {
        const cls = g.op('Gather', [hidden, g.init(`cls_index_${i}`, [], BigInt64Array.of(0n))], { axis: 1 });
        feats = g.op('Tanh', [linear(cls, 'bert.pooler.dense', H, H)]);
      } else feats = meanPool();
      g.op('Identity', [linear(feats, classifierPrefix(heads, i), head.numLabels, H)], {}, out);
      outputs.push(valueInfo(out, T.FLOAT, ['batch', head.numLabels]));
    } else if (head.kind === 'token_cls') {
      g.op('Identity', [linear(hidden, classifierPrefix(heads, i), head.numLabels, H)], {}, out);
      outputs.push(valueInfo(out, T.FLOAT, ['batch', 'sequence', head.numLabels]));
    } else {
      const e = meanPool();
      if (head.normalize) {
        const norm = g.op('Max', [g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [e, e]), g.i64([1])], { keepdims: 1 })]), g.f32([1e-12])]);
        g.op('Div', [e, norm], {}, out);
      } else g.op('Identity', [e], {}, out);
      outputs.push(valueInfo(out, T.FLOAT, ['batch', H]));
    }
  });

  const graph = onnx.GraphProto.create({
    name: 'tunebench_bert',
    node: g.nodes,
    initializer: g.inits,
    input: ONNX_INPUTS.map((n) => valueInfo(n, T.INT64, ['batch', 'sequence'])),
    output: outputs,
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tunebench',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph,
    metadataProps: [
      { key: 'heads', value: JSON.stringify(heads) },
      { key: 'outputs', value: JSON.stringify(names) },
      { key: 'quantized', value: q ? 'int8 MatMulInteger (encoder linears; per-channel weights, per-row activations)' : 'no' },
    ],
  });
}

/** Serialise a ModelProto. */
export function encodeOnnx(model: InstanceType<typeof onnx.ModelProto>): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Decode ONNX bytes (for tests and inspection). */
export function decodeOnnx(bytes: Uint8Array): InstanceType<typeof onnx.ModelProto> {
  return onnx.ModelProto.decode(bytes);
}

export interface OnnxExportResult {
  path: string;
  bytes: number;
  outputs: string[];
  quantized: boolean;
}

/** `tunebench export onnx`: write `checkpointDir` as ONNX to `outPath` (temp file + rename). */
export async function exportOnnx(checkpointDir: string, outPath: string, opts: { quantized?: boolean } = {}): Promise<OnnxExportResult> {
  const { loadModel } = await import('../train/infer.js');
  const m = loadModel(checkpointDir);
  if (m.lora) throw new Error(`${checkpointDir}: a LoRA checkpoint; merge the adapter into the base weights before an ONNX export`);
  const bytes = encodeOnnx(buildOnnxModel(m.config, m.heads, m.store, { quantized: opts.quantized ?? false, int8: m.int8 }));
  const tmp = `${outPath}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, outPath);
  return { path: outPath, bytes: bytes.length, outputs: onnxHeadOutputs(m.heads), quantized: opts.quantized ?? false };
}
