// Fertility report: how many tokens a tokenizer spends on a corpus, and how much it cannot
// represent. An English vocabulary on Chinese shows up here as an [UNK] rate near 1.

import { isRemovedChar, isWhitespaceChar } from './basic.js';
import type { WordPieceTokenizer } from './tokenizer.js';

export interface FertilityReport {
  texts: number;
  /** Code points that are neither whitespace nor removed control characters. */
  characters: number;
  /** Basic-tokenizer words (a punctuation mark and each CJK character count as words). */
  words: number;
  /** WordPiece tokens, without [CLS]/[SEP]. */
  tokens: number;
  unkTokens: number;
  wordsWithUnk: number;
  tokensPerCharacter: number;
  tokensPerWord: number;
  /** unkTokens / tokens. */
  unkRate: number;
  /** wordsWithUnk / words. */
  unkWordRate: number;
}

export function fertilityReport(tokenizer: WordPieceTokenizer, texts: Iterable<string>): FertilityReport {
  const unk = tokenizer.specialIds.unk;
  let n = 0;
  let characters = 0;
  let words = 0;
  let tokens = 0;
  let unkTokens = 0;
  let wordsWithUnk = 0;
  for (const text of texts) {
    if (typeof text !== 'string') throw new Error(`fertilityReport: text ${n} is not a string (${typeof text})`);
    n++;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (!isRemovedChar(cp, ch) && !isWhitespaceChar(cp, ch)) characters++;
    }
    for (const w of tokenizer.basicWords(text)) {
      words++;
      const ids = w.special ? [tokenizer.tokenToId(w.text)] : tokenizer.wordPieceIds(w.text);
      tokens += ids.length;
      let u = 0;
      for (const id of ids) if (id === unk) u++;
      unkTokens += u;
      if (u > 0) wordsWithUnk++;
    }
  }
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    texts: n,
    characters,
    words,
    tokens,
    unkTokens,
    wordsWithUnk,
    tokensPerCharacter: div(tokens, characters),
    tokensPerWord: div(tokens, words),
    unkRate: div(unkTokens, tokens),
    unkWordRate: div(wordsWithUnk, words),
  };
}
