// BertConfig: the shape of a BERT encoder (post-LayerNorm, as in Devlin et al. and Hugging Face's
// BertModel), with the names and defaults of Hugging Face's BertConfig where one exists.

import type { GeluApproximate } from '@tunebench/kernels';

export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  hiddenDropout: number;
  attentionDropout: number;
  layerNormEps: number;
  initializerRange: number;
  hiddenAct: 'gelu' | 'gelu_tanh';
}

/** The kernels' GELU flavour of `hiddenAct`: 'gelu' is the exact erf form ('none'), 'gelu_tanh' the tanh approximation. */
export function geluApproximate(act: BertConfig['hiddenAct']): GeluApproximate {
  return act === 'gelu' ? 'none' : 'tanh';
}

type Shape = Pick<BertConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'intermediateSize'>;

/** Google's BERT miniatures (Turc et al. 2019); the vocabulary size comes from the tokenizer. */
export const BERT_PRESETS: { tiny: Shape; mini: Shape } = {
  tiny: { numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 },
  mini: { numLayers: 4, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 },
};

/** A full config from a preset name (or explicit shape) plus the tokenizer's vocabulary size. */
export function makeConfig(
  preset: keyof typeof BERT_PRESETS | Shape,
  vocabSize: number,
  overrides: Partial<BertConfig> = {},
): BertConfig {
  const shape = typeof preset === 'string' ? BERT_PRESETS[preset] : preset;
  if (!shape) throw new Error(`makeConfig: unknown preset '${String(preset)}' (known: ${Object.keys(BERT_PRESETS).join(', ')})`);
  const c: BertConfig = {
    vocabSize,
    ...shape,
    maxPositions: 512,
    typeVocabSize: 2,
    hiddenDropout: 0.1,
    attentionDropout: 0.1,
    layerNormEps: 1e-12,
    initializerRange: 0.02,
    hiddenAct: 'gelu',
    ...overrides,
  };
  validateConfig(c);
  return c;
}

/** Throws an Error naming the first bad field of `c` (and why). */
export function validateConfig(c: BertConfig): void {
  if (c === null || typeof c !== 'object') throw new Error('BertConfig: expected an object');
  const posInt = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize'] as const;
  for (const k of posInt) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`BertConfig.${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.hiddenSize % c.numHeads !== 0) {
    throw new Error(`BertConfig.hiddenSize (${c.hiddenSize}) must be divisible by numHeads (${c.numHeads})`);
  }
  for (const k of ['hiddenDropout', 'attentionDropout'] as const) {
    const v = c[k];
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`BertConfig.${k} must be in [0, 1), got ${String(v)}`);
  }
  if (typeof c.layerNormEps !== 'number' || !(c.layerNormEps > 0)) throw new Error(`BertConfig.layerNormEps must be > 0, got ${String(c.layerNormEps)}`);
  if (typeof c.initializerRange !== 'number' || !(c.initializerRange > 0)) {
    throw new Error(`BertConfig.initializerRange must be > 0, got ${String(c.initializerRange)}`);
  }
  if (c.hiddenAct !== 'gelu' && c.hiddenAct !== 'gelu_tanh') {
    throw new Error(`BertConfig.hiddenAct must be 'gelu' or 'gelu_tanh', got ${JSON.stringify(c.hiddenAct)}`);
  }
}
