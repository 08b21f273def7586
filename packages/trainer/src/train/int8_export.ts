// `tunebench export --int8`: a checkpoint's quantised weights with their scales, as safetensors
// (layout in packages/trainer/src/cli/README.md, "INT8 export"), and reading them back.
//
// Directory: model.int8.safetensors + config.json (the checkpoint's, with a
// tunebench.quantization block) + vocab.txt. In the safetensors file every quantised linear layer
// (model/int8.ts: the six per encoder layer) has
//   <name>.weight        I8  (N, K)  q[n, k], row-major (= the kernels' packed words when K % 4 = 0)
//   <name>.weight_scale  F32 (N)     s[n]:  W[n, k] ≈ s[n] · q[n, k]
//   <name>.bias          F32 (N)
// and every other parameter is F32 under its usual (Hugging Face) name. A different file name
// than model.safetensors, so that a reader expecting float weights never takes I8 ones for them.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { int8Bytes, int8Values, packInt8, quantizeModel, dequantizeLinear, type QuantizedLinears, type ParamStore, type BertConfig } from '../model/index.js';
import { encodeSafetensors, decodeSafetensors, type TensorIn } from '../checkpoint/safetensors.js';
import { writeDirAtomic, writeFileAtomic } from '../checkpoint/atomic.js';
import { CheckpointError, CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE } from '../checkpoint/checkpoint.js';

export const INT8_WEIGHTS_FILE = 'model.int8.safetensors';
export const INT8_FORMAT = 'tunebench-int8-v1';

/** The safetensors bytes of an int8 model: quantised linears as I8 + F32 scales, the rest F32. */
export function encodeInt8Weights(store: ParamStore, q: QuantizedLinears): Uint8Array {
  const tensors: Record<string, TensorIn> = {};
  for (const s of store.specs) tensors[s.name] = { shape: s.shape, data: store.get(s.name) };
  for (const [name, ql] of q) {
    tensors[`${name}.weight`] = { shape: [ql.N, ql.K], data: int8Values(ql) };
    tensors[`${name}.weight_scale`] = { shape: [ql.N], data: ql.scales };
  }
  return encodeSafetensors(tensors, {
    format: INT8_FORMAT,
    scheme: 'symmetric int8; weights per output channel (W ≈ weight_scale[n]·weight[n,k]); activations quantised per row at run time',
  });
}

/**
 * Read model.int8.safetensors: the quantised linears, and every parameter of `store` filled (the
 * quantised weights with their dequantised values, so an fp32 forward of the store is the
 * weight-only-quantised model). Errors name the file and tensor.
 */
export function readInt8Weights(path: string, config: BertConfig, store: ParamStore): QuantizedLinears {
  const dec = decodeSafetensors(readFileSync(path), path);
  if (dec.metadata.format !== INT8_FORMAT) throw new CheckpointError(`${path}: __metadata__.format is ${JSON.stringify(dec.metadata.format)}, expected '${INT8_FORMAT}'`);
  const q: QuantizedLinears = new Map();
  const scaleNames = [...dec.tensors.keys()].filter((n) => n.endsWith('.weight_scale'));
  for (const sn of scaleNames) {
    const name = sn.slice(0, -'.weight_scale'.length);
    const w = dec.tensors.get(`${name}.weight`);
    const s = dec.tensors.get(sn)!;
    if (!w || w.dtype !== 'I8' || w.shape.length !== 2) throw new CheckpointError(`${path}: '${sn}' needs an I8 (N, K) tensor '${name}.weight'`);
    if (s.dtype !== 'F32' || s.shape.length !== 1 || s.shape[0] !== w.shape[0]) throw new CheckpointError(`${path}: '${sn}' must be F32 (${w.shape[0]})`);
    const ql = packInt8(w.data as Int8Array, s.data as Float32Array, w.shape[0], w.shape[1]);
    q.set(name, ql);
  }
  for (const spec of store.specs) {
    const t = dec.tensors.get(spec.name);
    if (!t) throw new CheckpointError(`${path}: tensor '${spec.name}' is missing`);
    if (JSON.stringify(t.shape) !== JSON.stringify(spec.shape)) throw new CheckpointError(`${path}: '${spec.name}' is [${t.shape}], the model needs [${spec.shape}]`);
    const ql = spec.name.endsWith('.weight') ? q.get(spec.name.slice(0, -'.weight'.length)) : undefined;
    if (ql) store.set(spec.name, dequantizeLinear(ql));
    else if (t.dtype !== 'F32') throw new CheckpointError(`${path}: '${spec.name}' is ${t.dtype}, expected F32`);
    else store.set(spec.name, t.data as Float32Array);
  }
  const unknown = [...q.keys()].filter((n) => !store.has(`${n}.weight`));
  if (unknown.length) throw new CheckpointError(`${path}: quantised tensors for layers the model lacks: ${unknown.join(', ')}`);
  return q;
}

export interface Int8ExportResult {
  dir: string;
  /** Bytes of model.int8.safetensors and of the checkpoint's fp32 model.safetensors. */
  bytes: number;
  fp32Bytes: number;
  /** The quantised linear layers alone: int8 weights + scales, and the same weights in fp32. */
  linearBytes: { int8: number; fp32: number };
  linears: number;
}

/** `tunebench export --int8`: quantise `checkpointDir`'s linear layers and write them to `outDir` (atomically). */
export async function exportInt8(checkpointDir: string, outDir: string): Promise<Int8ExportResult> {
  const { loadModel } = await import('./infer.js');
  const m = loadModel(checkpointDir);
  if (m.lora) throw new CheckpointError(`${checkpointDir}: a LoRA checkpoint; merge the adapter into the base weights before an int8 export`);
  const q = m.int8 ?? quantizeModel(m.config, m.store);
  const bytes = encodeInt8Weights(m.store, q);
  const config = JSON.parse(readFileSync(join(checkpointDir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  const tb = (config.tunebench ?? {}) as Record<string, unknown>;
  config.tunebench = { ...tb, quantization: { format: INT8_FORMAT, weights: INT8_WEIGHTS_FILE, linears: [...q.keys()], source: checkpointDir } };
  writeDirAtomic(outDir, (tmp) => {
    writeFileAtomic(join(tmp, INT8_WEIGHTS_FILE), bytes);
    writeFileAtomic(join(tmp, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    writeFileAtomic(join(tmp, VOCAB_FILE), readFileSync(join(checkpointDir, VOCAB_FILE)));
  });
  const fp32Path = join(checkpointDir, WEIGHTS_FILE);
  return {
    dir: outDir, bytes: bytes.length, fp32Bytes: existsSync(fp32Path) ? statSync(fp32Path).size : Number.NaN,
    linearBytes: int8Bytes(q), linears: q.size,
  };
}
