// Tokenizer fertility: how many tokens a tokenizer spends per character of text, and how often it
// gives up ([UNK]). Characters are Unicode code points (so one CJK character or emoji counts once,
// not as two UTF-16 units).

import { checkNonEmpty, fail } from './check.js';

export interface TokenizationStats {
  texts: number;
  chars: number;
  tokens: number;
  unknown: number;
  tokensPerChar: number;
  /** unknown / tokens. */
  unkRate: number;
}

/**
 * `tokenIds[i]` is the encoding of `texts[i]` without special tokens ([CLS]/[SEP]); `unkId` is
 * the id of [UNK].
 */
export function tokenizationStats(texts: readonly string[], tokenIds: ReadonlyArray<ArrayLike<number>>, unkId: number): TokenizationStats {
  const fn = 'tokenizationStats';
  checkNonEmpty(fn, 'texts', texts);
  if (texts.length !== tokenIds.length) fail(fn, `'texts' has ${texts.length} entries but 'tokenIds' has ${tokenIds.length}`);
  if (!Number.isInteger(unkId)) fail(fn, `'unkId' = ${String(unkId)} must be an integer token id`);
  let chars = 0, tokens = 0, unknown = 0;
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') fail(fn, `'texts[${i}]' is not a string`);
    for (const _ of texts[i]) chars++;
    const ids = tokenIds[i];
    tokens += ids.length;
    for (let j = 0; j < ids.length; j++) if (ids[j] === unkId) unknown++;
  }
  if (chars === 0) fail(fn, `'texts' contains no characters`);
  return { texts: texts.length, chars, tokens, unknown, tokensPerChar: tokens / chars, unkRate: tokens ? unknown / tokens : 0 };
}
