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

/** How a checkpoint's vocab.txt is to be used: the tokenizer options its config.json records (tunebench.tokenizer). */
export interface CheckpointTokenizerOptions {
  lowercase?: boolean;
  stripAccents?: boolean;
  tokenizeChineseChars?: boolean;
  specialTokens?: Partial<Record<'pad' | 'unk' | 'cls' | 'sep' | 'mask', string>>;
}

/**
 * The tokenizer options recorded in config.json's tunebench.tokenizer (our checkpoints; for a
 * Hugging Face directory, hf_import.ts fills them from tokenizer_config.json). Options a checkpoint
 * does not record are left out, so the caller's defaults apply (older checkpoints record lowercase only).
 */
export function checkpointTokenizerOptions(config: Record<string, unknown>, source = 'config.json'): CheckpointTokenizerOptions {
  const t = (config.tunebench as { tokenizer?: unknown } | undefined)?.tokenizer;
  if (t === undefined || t === null) return {};
  if (typeof t !== 'object' || Array.isArray(t)) throw new CheckpointError(`${source}: tunebench.tokenizer must be an object`);
  const r = t as Record<string, unknown>;
  const out: CheckpointTokenizerOptions = {};
  for (const k of ['lowercase', 'stripAccents', 'tokenizeChineseChars'] as const) {
    if (r[k] === undefined || r[k] === null) continue;
    if (typeof r[k] !== 'boolean') throw new CheckpointError(`${source}: tunebench.tokenizer.${k} must be a boolean, got ${JSON.stringify(r[k])}`);
    out[k] = r[k] as boolean;
  }
  if (r.specialTokens !== undefined && r.specialTokens !== null) {
    if (typeof r.specialTokens !== 'object') throw new CheckpointError(`${source}: tunebench.tokenizer.specialTokens must be an object`);
    out.specialTokens = { ...(r.specialTokens as Record<string, string>) };
  }
  return out;
}
