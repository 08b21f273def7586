// Chinese word boundaries for whole-word masking. BERT's tokenizer makes every CJK character its
// own token, so "whole word" for Chinese needs a segmenter: jieba (@node-rs/jieba, its bundled
// dictionary, HMM on as in Python jieba's default). Hugging Face's older whole-word collator took
// the same information as a precomputed `chinese_ref` list from LTP.
//
// Loaded lazily (the dictionary takes a moment) and synchronously through createRequire, since
// the collators are synchronous.

import { createRequire } from 'node:module';

export type ChineseSegmenter = (text: string) => string[];

interface JiebaLike {
  cut(sentence: string, hmm?: boolean | null): string[];
}

let jieba: JiebaLike | null = null;

/** jieba's segmentation of `text` (words whose concatenation is `text`). */
export const jiebaSegmenter: ChineseSegmenter = (text: string) => {
  if (jieba === null) {
    const require = createRequire(import.meta.url);
    const { Jieba } = require('@node-rs/jieba') as { Jieba: { withDict(d: Uint8Array): JiebaLike } };
    const { dict } = require('@node-rs/jieba/dict.js') as { dict: Uint8Array };
    jieba = Jieba.withDict(dict);
  }
  return jieba.cut(text, true);
};
