// Loads the PyTorch golden fixtures (test/fixtures/bert_*.json, written by scripts/golden_bert.py)
// and rebuilds their parameters with the same deterministic rule.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mulberry32, ParamStore, paramSpecs, type BertConfig, type HeadSpec, type ModelBatch } from '../../src/model/index.js';

export interface Golden {
  config: BertConfig;
  heads: HeadSpec[];
  seed: number;
  paramOrder: string[];
  batch: { B: number; T: number; inputIds: number[]; attentionMask: number[]; tokenTypeIds: number[]; labels: number[] };
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
  adamw: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; steps: number };
  stepLosses: number[];
  after: Record<string, number[]>;
}

export function loadGolden(file: 'bert_mlm.json' | 'bert_seq_cls.json'): Golden {
  const path = fileURLToPath(new URL(`../fixtures/${file}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Golden;
}

function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The fixture's parameters in float64 (exactly the script's values) and a ParamStore (f32). */
export function goldenParams(g: Golden): { p64: Map<string, Float64Array>; store: ParamStore } {
  const store = new ParamStore(paramSpecs(g.config, g.heads));
  const p64 = new Map<string, Float64Array>();
  for (const s of store.specs) {
    const rand = mulberry32((fnv1a(s.name) ^ g.seed) >>> 0);
    const [span, base] = s.init === 'ones' ? [0.4, 1] : s.init === 'zeros' ? [0.2, 0] : [0.6, 0];
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = base + (rand() - 0.5) * span;
    p64.set(s.name, v);
    store.set(s.name, v);
  }
  return { p64, store };
}

export function goldenBatch(g: Golden): ModelBatch {
  const b = g.batch;
  return {
    B: b.B, T: b.T, inputIds: Int32Array.from(b.inputIds), attentionMask: Int32Array.from(b.attentionMask),
    tokenTypeIds: Int32Array.from(b.tokenTypeIds), labels: Int32Array.from(b.labels),
  };
}
