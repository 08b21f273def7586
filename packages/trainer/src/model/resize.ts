// Vocabulary growth: a new store for a larger vocabulary, with the word embeddings given by the
// caller (e.g. the tokenizer's growEmbeddings: old rows kept, new rows mean / sub-token / normal
// initialised) and the tied MLM decoder following them; the decoder bias cls.predictions.bias
// keeps its old entries and gets zeros for the new tokens (as transformers' resize_token_embeddings).

import type { BertConfig } from './config.js';
import type { HeadSpec } from './heads.js';
import { paramSpecs, ParamStore, type LoraConfig } from './params.js';

export function resizeVocab(
  store: ParamStore, config: BertConfig, heads: HeadSpec[], lora: LoraConfig | null, vocabSize: number, wordEmbeddings: Float32Array,
): { config: BertConfig; store: ParamStore } {
  if (!Number.isInteger(vocabSize) || vocabSize < config.vocabSize) {
    throw new Error(`resizeVocab: vocabSize ${vocabSize} must be an integer ≥ the current ${config.vocabSize}`);
  }
  const H = config.hiddenSize;
  if (wordEmbeddings.length !== vocabSize * H) {
    throw new Error(`resizeVocab: wordEmbeddings has ${wordEmbeddings.length} floats, expected vocabSize·hiddenSize = ${vocabSize}·${H}`);
  }
  const next: BertConfig = { ...config, vocabSize };
  const out = new ParamStore(paramSpecs(next, heads, lora));
  for (const s of out.specs) {
    if (s.name === 'bert.embeddings.word_embeddings.weight') out.set(s.name, wordEmbeddings);
    else if (s.name === 'cls.predictions.bias') out.get(s.name).set(store.get(s.name)); // new entries stay 0
    else out.set(s.name, store.get(s.name));
  }
  return { config: next, store: out };
}
