// Merging a LoRA adapter into its base weights (PEFT's merge_and_unload): W ← W + (α/r)·B·A for
// every adapted linear layer, giving a plain BERT store with the same function (eval mode).
// Done on the CPU in float64 (the kernels' lora_merge_reference) then rounded once to float32: it
// runs once per export, not per step, and a GPU merge in float32 would round twice.

import { lora_merge_reference } from '@tunebench/kernels';
import type { BertConfig } from './config.js';
import type { HeadSpec } from './heads.js';
import { loraLinearName, paramSpecs, ParamStore, validateLora, type LoraConfig } from './params.js';

/** W (N, K) + scale·B·A with B (N, r), A (r, K): float64 accumulation, one rounding to float32. */
function mergedWeight(w: ArrayLike<number>, A: ArrayLike<number>, B: ArrayLike<number>, N: number, K: number, r: number, scale: number): Float32Array {
  const W = Float64Array.from(w);
  lora_merge_reference(W, A, B, N, K, r, scale);
  return Float32Array.from(W);
}

/** A new store without LoRA parameters whose adapted weights include (α/r)·B·A. */
export function mergeLora(store: ParamStore, config: BertConfig, heads: HeadSpec[], lora: LoraConfig): ParamStore {
  const merged = new ParamStore(paramSpecs(config, heads, null));
  for (const s of merged.specs) {
    if (!store.has(s.name)) throw new Error(`mergeLora: the adapter store has no parameter '${s.name}'`);
    merged.set(s.name, store.get(s.name));
  }
  const scale = lora.alpha / lora.r;
  for (let l = 0; l < config.numLayers; l++) {
    for (const t of lora.targets) {
      const name = loraLinearName(l, t);
      const W = merged.get(`${name}.weight`);
      const [N, K] = merged.spec(`${name}.weight`).shape;
      // A (r, K), B (N, r)
      W.set(mergedWeight(W, store.get(`${name}.lora_A.weight`), store.get(`${name}.lora_B.weight`), N, K, lora.r, scale));
    }
  }
  return merged;
}

export type NamedTensors = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * The same merge on a checkpoint's name → tensor map (which may also hold heads this run does
 * not build): returns a new map where every `<linear>.weight` adapted by `lora` includes
 * (α/r)·B·A and no `.lora_A` / `.lora_B` tensor is left. Every adapter tensor must belong to one
 * of `lora.targets` and every target must have both tensors with shapes A (r, K), B (N, r) for
 * W (N, K); otherwise an Error naming `source` and the tensor.
 */
export function mergeLoraTensors(weights: NamedTensors, lora: LoraConfig, source = 'checkpoint'): NamedTensors {
  validateLora(lora);
  const out: NamedTensors = new Map();
  const adapters = new Set<string>();
  for (const [name, t] of weights) {
    if (name.includes('.lora_')) adapters.add(name);
    else out.set(name, t);
  }
  const used = new Set<string>();
  const scale = lora.alpha / lora.r;
  const r = lora.r;
  for (let l = 0; ; l++) {
    const name = loraLinearName(l, lora.targets[0]);
    if (!weights.has(`${name}.weight`)) break;
    for (const t of lora.targets) {
      const lin = loraLinearName(l, t);
      const w = weights.get(`${lin}.weight`), a = weights.get(`${lin}.lora_A.weight`), b = weights.get(`${lin}.lora_B.weight`);
      if (!w) throw new Error(`${source}: LoRA target '${t}' but there is no tensor '${lin}.weight'`);
      if (!a || !b) throw new Error(`${source}: config.json records LoRA on '${t}' but '${lin}.lora_${a ? 'B' : 'A'}.weight' is missing`);
      const [N, K] = w.shape;
      if (a.shape.length !== 2 || a.shape[0] !== r || a.shape[1] !== K) throw new Error(`${source}: '${lin}.lora_A.weight' has shape [${a.shape.join(', ')}], expected [${r}, ${K}] (r = ${r})`);
      if (b.shape.length !== 2 || b.shape[0] !== N || b.shape[1] !== r) throw new Error(`${source}: '${lin}.lora_B.weight' has shape [${b.shape.join(', ')}], expected [${N}, ${r}] (r = ${r})`);
      used.add(`${lin}.lora_A.weight`).add(`${lin}.lora_B.weight`);
      out.set(`${lin}.weight`, { shape: w.shape, data: mergedWeight(w.data, a.data, b.data, N, K, r, scale) });
    }
  }
  const stray = [...adapters].filter((n) => !used.has(n));
  if (stray.length) throw new Error(`${source}: LoRA tensors outside the recorded targets (${lora.targets.join(', ')}): ${stray.join(', ')}`);
  return out;
}
