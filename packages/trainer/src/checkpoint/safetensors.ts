// safetensors: the tensor file format of Hugging Face (https://github.com/huggingface/safetensors).
//
// Layout:  [8 bytes: N, unsigned little-endian u64] [N bytes: JSON header, UTF-8] [byte buffer]
// Header:  { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
//            "__metadata__": { "<key>": "<string value>" } (optional, string → string only) }
// Offsets are relative to the start of the byte buffer; tensors are stored little-endian,
// row-major, back to back with no holes, and together cover the whole buffer (the Rust reader
// rejects holes and overlaps). We pad the header with spaces so the buffer starts 8-byte aligned
// (as the reference writer does), and write tensors in name order (its order too).

export type SafetensorsDtype = 'F32' | 'I32' | 'I64' | 'F64' | 'U8' | 'I8';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, I64: 8, F64: 8, U8: 1, I8: 1 };

export interface TensorIn {
  shape: number[];
  /** F32 for Float32Array, I32 for Int32Array, F64 for Float64Array, U8 for Uint8Array, I8 for Int8Array. */
  data: Float32Array | Int32Array | Float64Array | Uint8Array | Int8Array;
}

export interface TensorOut {
  dtype: SafetensorsDtype;
  shape: number[];
  /** A copy of the tensor's bytes as a typed array (Float32Array for F32, ...; I64 as BigInt64Array). */
  data: Float32Array | Int32Array | Float64Array | Uint8Array | Int8Array | BigInt64Array;
}

function dtypeOf(a: TensorIn['data']): SafetensorsDtype {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int8Array) return 'I8';
  return 'U8';
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Serialise tensors (+ optional string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Map<string, TensorIn> | Record<string, TensorIn>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Null prototype: a tensor named '__proto__' must become a key, not a prototype assignment.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string (got ${typeof v})`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error("safetensors: a tensor cannot be named '__metadata__'");
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`safetensors: tensor '${name}' has a bad shape [${t.shape}]`);
    const n = numel(t.shape);
    if (t.data.length !== n) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values but shape [${t.shape}] needs ${n}`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, t] of entries) {
    // Typed arrays are little-endian on every platform node runs on that we support.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Map<string, TensorOut>;
  metadata: Record<string, string>;
}

/** Parse safetensors bytes, validating the header as the reference reader does. `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): DecodedSafetensors {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file (${bytes.length} bytes, shorter than the 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8) || n64 > 100_000_000n) {
    throw new Error(`${source}: header length ${n64} exceeds the file (${bytes.length} bytes); not a safetensors file or truncated`);
  }
  const n = Number(n64);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${source}: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${source}: the header is not a JSON object`);
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const tensors = new Map<string, TensorOut>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: __metadata__ is not a JSON object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${source}: __metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: the header entry of tensor '${name}' is not a JSON object`);
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) throw new Error(`${source}: tensor '${name}' has unsupported dtype ${JSON.stringify(info.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    const shape = info.shape as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${source}: tensor '${name}' has a bad shape ${JSON.stringify(info.shape)}`);
    const off = info.data_offsets as [number, number];
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0] || off[1] > dataLen) {
      throw new Error(`${source}: tensor '${name}' has bad data_offsets ${JSON.stringify(info.data_offsets)} (data section is ${dataLen} bytes)`);
    }
    const want = numel(shape) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== want) throw new Error(`${source}: tensor '${name}' spans ${off[1] - off[0]} bytes but ${dtype}[${shape}] needs ${want}`);
    spans.push([off[0], off[1], name]);
    // Copy into a fresh aligned buffer (the data section need not be aligned for this dtype).
    // (Not bytes.slice: on a node Buffer that is a view into a shared pool, not a copy.)
    const copyBytes = new Uint8Array(off[1] - off[0]);
    copyBytes.set(bytes.subarray(dataStart + off[0], dataStart + off[1]));
    const copy = copyBytes.buffer;
    const data =
      dtype === 'F32' ? new Float32Array(copy) : dtype === 'I32' ? new Int32Array(copy) : dtype === 'F64' ? new Float64Array(copy) : dtype === 'I64' ? new BigInt64Array(copy) : dtype === 'I8' ? new Int8Array(copy) : new Uint8Array(copy);
    tensors.set(name, { dtype, shape, data });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [b, e, name] of spans) {
    if (b !== end) throw new Error(`${source}: tensor '${name}' starts at byte ${b}, expected ${end} (hole or overlap in the data section)`);
    end = e;
  }
  if (end !== dataLen) throw new Error(`${source}: tensors cover ${end} bytes but the data section has ${dataLen}`);
  return { tensors, metadata };
}
