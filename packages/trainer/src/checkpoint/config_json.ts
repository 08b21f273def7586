// config.json: the model's architecture in Hugging Face BertConfig keys (so transformers can
// read it), plus a "tunebench" block with what HF has no key for (our head list, LoRA).

import type { BertConfig } from '../model/config.js';
import { CheckpointError } from './checkpoint.js';

/** The model's BertConfig: one definition, shared with src/model. */
export type BertConfigLike = BertConfig;

// BertConfig field ↔ Hugging Face key. gelu_tanh is HF's "gelu_new".
const KEYS: [keyof BertConfigLike, string][] = [
  ['vocabSize', 'vocab_size'],
  ['hiddenSize', 'hidden_size'],
  ['numLayers', 'num_hidden_layers'],
  ['numHeads', 'num_attention_heads'],
  ['intermediateSize', 'intermediate_size'],
  ['maxPositions', 'max_position_embeddings'],
  ['typeVocabSize', 'type_vocab_size'],
  ['hiddenDropout', 'hidden_dropout_prob'],
  ['attentionDropout', 'attention_probs_dropout_prob'],
  ['layerNormEps', 'layer_norm_eps'],
  ['initializerRange', 'initializer_range'],
  ['hiddenAct', 'hidden_act'],
];

/** Architecture keys: a checkpoint whose values differ cannot be loaded into the model. */
const ARCH_KEYS: (keyof BertConfigLike)[] = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize'];

/** Hugging Face class for a head kind (config.json "architectures"). */
export function hfArchitecture(headKind?: string): string {
  return headKind === 'mlm' ? 'BertForMaskedLM' : headKind === 'seq_cls' ? 'BertForSequenceClassification' : headKind === 'token_cls' ? 'BertForTokenClassification' : 'BertModel';
}

export function hfConfig(config: BertConfigLike, extra: Record<string, unknown> = {}, architecture = 'BertModel'): Record<string, unknown> {
  const out: Record<string, unknown> = { architectures: [architecture], model_type: 'bert', position_embedding_type: 'absolute' };
  for (const [k, hf] of KEYS) out[hf] = k === 'hiddenAct' ? (config.hiddenAct === 'gelu_tanh' ? 'gelu_new' : 'gelu') : config[k];
  out.tunebench = extra;
  return out;
}

export function bertConfigFromHf(json: Record<string, unknown>, source = 'config.json'): BertConfigLike {
  const out: Record<string, unknown> = {};
  for (const [k, hf] of KEYS) {
    const v = json[hf];
    if (v === undefined) throw new CheckpointError(`${source}: missing key '${hf}'`);
    if (k === 'hiddenAct') {
      if (v !== 'gelu' && v !== 'gelu_new' && v !== 'gelu_pytorch_tanh') throw new CheckpointError(`${source}: hidden_act '${String(v)}' is not supported (gelu, gelu_new)`);
      out[k] = v === 'gelu' ? 'gelu' : 'gelu_tanh';
    } else {
      if (typeof v !== 'number') throw new CheckpointError(`${source}: '${hf}' must be a number, got ${JSON.stringify(v)}`);
      out[k] = v;
    }
  }
  return out as unknown as BertConfigLike;
}

/**
 * Throws a CheckpointError listing every architecture key where `checkpoint` differs from
 * `model` (e.g. "a checkpoint from another config"). Dropout and init range may differ.
 */
export function assertSameArchitecture(model: BertConfigLike, checkpoint: BertConfigLike, source: string, ignore: (keyof BertConfigLike)[] = []): void {
  const diffs: string[] = [];
  for (const k of ARCH_KEYS) {
    if (ignore.includes(k)) continue;
    if (model[k] !== checkpoint[k]) {
      const hf = KEYS.find(([a]) => a === k)![1];
      diffs.push(`${hf}: checkpoint ${checkpoint[k]} vs requested ${model[k]}`);
    }
  }
  if (diffs.length) {
    throw new CheckpointError(`${source} was saved from a different model configuration:\n  ${diffs.join('\n  ')}`);
  }
}
