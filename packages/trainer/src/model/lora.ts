// Merging a LoRA adapter into its base weights (PEFT's merge_and_unload): W ← W + (α/r)·B·A for
// every adapted linear layer, giving a plain BERT store with the same function (eval mode).
// Done on the CPU in float64 then rounded once: it runs once per export, not per step.

import type { BertConfig } from './config.js';
import type { HeadSpec } from './heads.js';
import { loraLinearName, paramSpecs, ParamStore, type LoraConfig } from './params.js';

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
      const A = store.get(`${name}.lora_A.weight`); // (r, K)
      const B = store.get(`${name}.lora_B.weight`); // (N, r)
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let j = 0; j < lora.r; j++) s += B[n * lora.r + j] * A[j * K + k];
          W[n * K + k] = W[n * K + k] + scale * s;
        }
      }
    }
  }
  return merged;
}
