// Parameters: their Hugging Face BERT names, shapes, initialisation, and one flat Float32Array
// holding all of them (the same layout as the model's flat GPU buffer; each tensor starts at a
// multiple of 64 floats = 256 bytes, the storage-buffer offset alignment of every adapter).

import { mulberry32 } from '@tunebench/rng';
import { validateConfig, type BertConfig } from './config.js';
import { classifierPrefix, validateHeads, type HeadSpec } from './heads.js';
import { crfParamName } from './crf_head.js';

export type LoraTarget = 'query' | 'key' | 'value' | 'attention_output' | 'ffn_in' | 'ffn_out';

/** PEFT-style LoRA: W (N, K) frozen, lora_A (r, K), lora_B (N, r), y += (α/r)·x·Aᵀ·Bᵀ. */
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
}

export type ParamModule = 'embeddings' | 'attention' | 'attention_output' | 'ffn' | 'layernorm' | 'pooler' | 'head' | 'lora';

export interface ParamSpec {
  /** Hugging Face BERT name, e.g. bert.encoder.layer.0.attention.self.query.weight. */
  name: string;
  shape: number[];
  /** 'kaiming_uniform' is PEFT's lora_A init: U(−1/√fan_in, 1/√fan_in). */
  init: 'normal' | 'zeros' | 'ones' | 'kaiming_uniform';
  /** −1 embeddings, 0..L−1 encoder layers, L heads (and pooler). */
  layer: number;
  module: ParamModule;
  /** Biases and LayerNorm parameters get no weight decay. */
  noDecay: boolean;
}

export const LORA_TARGETS: readonly LoraTarget[] = ['query', 'key', 'value', 'attention_output', 'ffn_in', 'ffn_out'];

/** Name (minus .weight) of the linear layer a LoRA target adapts, in encoder layer `l`. */
export function loraLinearName(l: number, t: LoraTarget): string {
  const p = `bert.encoder.layer.${l}`;
  switch (t) {
    case 'query':
    case 'key':
    case 'value':
      return `${p}.attention.self.${t}`;
    case 'attention_output':
      return `${p}.attention.output.dense`;
    case 'ffn_in':
      return `${p}.intermediate.dense`;
    case 'ffn_out':
      return `${p}.output.dense`;
  }
}

export function validateLora(lora: LoraConfig): void {
  if (!Number.isInteger(lora.r) || lora.r < 1) throw new Error(`LoraConfig.r must be a positive integer, got ${String(lora.r)}`);
  if (typeof lora.alpha !== 'number' || !(lora.alpha > 0)) throw new Error(`LoraConfig.alpha must be > 0, got ${String(lora.alpha)}`);
  if (typeof lora.dropout !== 'number' || !(lora.dropout >= 0 && lora.dropout < 1)) {
    throw new Error(`LoraConfig.dropout must be in [0, 1), got ${String(lora.dropout)}`);
  }
  if (!Array.isArray(lora.targets) || lora.targets.length === 0) throw new Error('LoraConfig.targets must be a non-empty array');
  for (const t of lora.targets) {
    if (!LORA_TARGETS.includes(t)) throw new Error(`LoraConfig.targets: unknown target ${JSON.stringify(t)} (known: ${LORA_TARGETS.join(', ')})`);
  }
}

/** Every parameter of a BERT with these heads (and LoRA adapters), in storage order. */
export function paramSpecs(config: BertConfig, heads: HeadSpec[], lora?: LoraConfig | null): ParamSpec[] {
  validateConfig(config);
  validateHeads(heads);
  if (lora) validateLora(lora);
  const { vocabSize: V, hiddenSize: H, intermediateSize: F, maxPositions: P, typeVocabSize: TV, numLayers: L } = config;
  const specs: ParamSpec[] = [];
  const weight = (name: string, shape: number[], layer: number, module: ParamModule) =>
    specs.push({ name, shape, init: 'normal', layer, module, noDecay: false });
  const bias = (name: string, n: number, layer: number, module: ParamModule) =>
    specs.push({ name, shape: [n], init: 'zeros', layer, module, noDecay: true });
  const layerNorm = (prefix: string, layer: number) => {
    specs.push({ name: `${prefix}.weight`, shape: [H], init: 'ones', layer, module: 'layernorm', noDecay: true });
    specs.push({ name: `${prefix}.bias`, shape: [H], init: 'zeros', layer, module: 'layernorm', noDecay: true });
  };
  const linear = (prefix: string, out: number, inp: number, layer: number, module: ParamModule) => {
    weight(`${prefix}.weight`, [out, inp], layer, module);
    bias(`${prefix}.bias`, out, layer, module);
  };

  weight('bert.embeddings.word_embeddings.weight', [V, H], -1, 'embeddings');
  weight('bert.embeddings.position_embeddings.weight', [P, H], -1, 'embeddings');
  weight('bert.embeddings.token_type_embeddings.weight', [TV, H], -1, 'embeddings');
  layerNorm('bert.embeddings.LayerNorm', -1);
  for (let l = 0; l < L; l++) {
    const p = `bert.encoder.layer.${l}`;
    linear(`${p}.attention.self.query`, H, H, l, 'attention');
    linear(`${p}.attention.self.key`, H, H, l, 'attention');
    linear(`${p}.attention.self.value`, H, H, l, 'attention');
    linear(`${p}.attention.output.dense`, H, H, l, 'attention_output');
    layerNorm(`${p}.attention.output.LayerNorm`, l);
    linear(`${p}.intermediate.dense`, F, H, l, 'ffn');
    linear(`${p}.output.dense`, H, F, l, 'ffn');
    layerNorm(`${p}.output.LayerNorm`, l);
    if (lora) {
      for (const t of LORA_TARGETS) {
        if (!lora.targets.includes(t)) continue;
        const name = loraLinearName(l, t);
        const [N, K] = t === 'ffn_in' ? [F, H] : t === 'ffn_out' ? [H, F] : [H, H];
        specs.push({ name: `${name}.lora_A.weight`, shape: [lora.r, K], init: 'kaiming_uniform', layer: l, module: 'lora', noDecay: false });
        specs.push({ name: `${name}.lora_B.weight`, shape: [N, lora.r], init: 'zeros', layer: l, module: 'lora', noDecay: false });
      }
    }
  }
  if (heads.some((h) => h.kind === 'seq_cls' && h.pooling === 'cls')) linear('bert.pooler.dense', H, H, L, 'pooler');
  heads.forEach((h, i) => {
    if (h.kind === 'mlm') {
      linear('cls.predictions.transform.dense', H, H, L, 'head');
      specs.push({ name: 'cls.predictions.transform.LayerNorm.weight', shape: [H], init: 'ones', layer: L, module: 'head', noDecay: true });
      specs.push({ name: 'cls.predictions.transform.LayerNorm.bias', shape: [H], init: 'zeros', layer: L, module: 'head', noDecay: true });
      // The decoder weight is tied to bert.embeddings.word_embeddings.weight; only its bias is its own.
      bias('cls.predictions.bias', V, L, 'head');
    } else if (h.kind === 'seq_cls' || h.kind === 'token_cls') {
      linear(classifierPrefix(heads, i), h.numLabels, H, L, 'head');
      // CRF: transitions, start and end scores packed as (K + 2, K) (crf_head.ts); zeros = no preference
      if (h.kind === 'token_cls' && h.crf) specs.push({ name: crfParamName(heads, i), shape: [h.numLabels + 2, h.numLabels], init: 'zeros', layer: L, module: 'head', noDecay: true });
    }
  });
  return specs;
}

export const PARAM_ALIGN = 64;

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** All parameters in one flat Float32Array, each tensor 64-float aligned. */
export class ParamStore {
  readonly specs: ParamSpec[];
  /** Element offset of each parameter (a multiple of 64). */
  readonly offsets = new Map<string, number>();
  readonly totalSize: number;
  readonly data: Float32Array;
  private readonly byName = new Map<string, ParamSpec>();

  constructor(specs: ParamSpec[], data?: Float32Array) {
    this.specs = specs;
    let off = 0;
    for (const s of specs) {
      if (this.byName.has(s.name)) throw new Error(`ParamStore: duplicate parameter name '${s.name}'`);
      this.byName.set(s.name, s);
      this.offsets.set(s.name, off);
      off += Math.ceil(numel(s.shape) / PARAM_ALIGN) * PARAM_ALIGN;
    }
    this.totalSize = Math.max(off, PARAM_ALIGN);
    if (data && data.length !== this.totalSize) {
      throw new Error(`ParamStore: data has ${data.length} floats, the layout needs ${this.totalSize}`);
    }
    this.data = data ?? new Float32Array(this.totalSize);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  spec(name: string): ParamSpec {
    const s = this.byName.get(name);
    if (!s) throw new Error(`ParamStore: no parameter named '${name}'`);
    return s;
  }

  /** {offset, length} in elements. */
  range(name: string): { offset: number; length: number } {
    return { offset: this.offsets.get(name)!, length: numel(this.spec(name).shape) };
  }

  /** A view (not a copy) of one parameter. */
  get(name: string): Float32Array {
    const { offset, length } = this.range(name);
    return this.data.subarray(offset, offset + length);
  }

  /** Overwrite one parameter, checking its length. */
  set(name: string, values: ArrayLike<number>): void {
    const { length } = this.range(name);
    if (values.length !== length) throw new Error(`ParamStore.set('${name}'): got ${values.length} values, shape ${JSON.stringify(this.spec(name).shape)} needs ${length}`);
    this.get(name).set(values);
  }
}

/** Deterministic 32-bit generator (mulberry32, from @tunebench/rng): weight init and tests draw from it. */
export { mulberry32 };

/** Standard normal samples from a uniform generator (Box–Muller). */
export function gaussian(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * BERT's initialisation: normal(0, initializerRange) for weights and embeddings, zeros for
 * biases, ones for LayerNorm weights; LoRA A Kaiming-uniform, B zeros (PEFT). Each parameter draws
 * from its own stream seeded by (seed, name), so adding a head does not change the encoder's init.
 */
export function initParams(store: ParamStore, seed: number, initializerRange = 0.02): void {
  store.data.fill(0);
  for (const s of store.specs) {
    const view = store.get(s.name);
    const rand = mulberry32(hashName(s.name) ^ Math.imul(seed >>> 0, 0x9e3779b1));
    if (s.init === 'ones') view.fill(1);
    else if (s.init === 'zeros') view.fill(0);
    else if (s.init === 'normal') {
      const g = gaussian(rand);
      for (let i = 0; i < view.length; i++) view[i] = g() * initializerRange;
    } else {
      const bound = 1 / Math.sqrt(s.shape[s.shape.length - 1]);
      for (let i = 0; i < view.length; i++) view[i] = (2 * rand() - 1) * bound;
    }
  }
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
