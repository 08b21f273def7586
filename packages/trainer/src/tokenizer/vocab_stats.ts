// `tunebench vocab stats`: how well a vocabulary fits a text collection. The fertility report
// (tokens per character, [UNK] rate) plus two numbers that matter for a new language:
//
//   tokens per word   for text with Chinese characters the words are jieba's (a basic-tokenizer
//                     "word" there is a single character, so tokens / basic word says nothing);
//                     for other text the basic tokenizer's words (whitespace and punctuation).
//   covered share     of the characters of the basic tokenizer's words, the share inside words
//                     that tokenize without [UNK] (an [UNK] piece loses its whole word).

import { isChineseChar } from './basic.js';
import { fertilityReport, type FertilityReport } from './fertility.js';
import type { WordPieceTokenizer } from './tokenizer.js';

export type WordSegmenter = (text: string) => string[];

export interface VocabStats extends FertilityReport {
  /** Words counted for tokensPerWord: jieba words in texts with a Chinese character, basic words elsewhere. */
  segmentedWords: number;
  /** tokens / segmentedWords. */
  tokensPerSegmentedWord: number;
  /** 'jieba' (every text had Chinese), 'basic' (none had), or 'mixed'. */
  wordUnit: 'jieba' | 'basic' | 'mixed';
  /** Characters (code points) of all basic words, and of those that tokenize without [UNK]. */
  wordCharacters: number;
  coveredCharacters: number;
  /** coveredCharacters / wordCharacters. */
  coveredCharacterShare: number;
}

const hasChinese = (text: string): boolean => {
  for (const ch of text) if (isChineseChar(ch.codePointAt(0)!)) return true;
  return false;
};

/** Counts of `texts` under `tokenizer`; `segment` splits Chinese text into words (jieba in the CLI). */
export function vocabStats(tokenizer: WordPieceTokenizer, texts: readonly string[], segment: WordSegmenter): VocabStats {
  const fert = fertilityReport(tokenizer, texts);
  const unk = tokenizer.specialIds.unk;
  let segmentedWords = 0;
  let chineseTexts = 0;
  let wordCharacters = 0;
  let coveredCharacters = 0;
  for (const text of texts) {
    if (hasChinese(text)) {
      chineseTexts++;
      for (const w of segment(text)) if (w.trim() !== '') segmentedWords++;
    } else {
      segmentedWords += tokenizer.basicWords(text).length;
    }
    for (const w of tokenizer.basicWords(text)) {
      const n = [...w.text].length;
      wordCharacters += n;
      const ids = w.special ? [tokenizer.tokenToId(w.text)] : tokenizer.wordPieceIds(w.text);
      if (!ids.includes(unk)) coveredCharacters += n;
    }
  }
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    ...fert,
    segmentedWords,
    tokensPerSegmentedWord: div(fert.tokens, segmentedWords),
    wordUnit: chineseTexts === 0 ? 'basic' : chineseTexts === fert.texts ? 'jieba' : 'mixed',
    wordCharacters,
    coveredCharacters,
    coveredCharacterShare: div(coveredCharacters, wordCharacters),
  };
}

/** A two-column table (name, value) of the stats, for the terminal. */
export function formatVocabStats(s: VocabStats, title: string): string {
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4));
  const rows: [string, string][] = [
    ['texts', f(s.texts)],
    ['characters', f(s.characters)],
    ['tokens', f(s.tokens)],
    ['[UNK] tokens', f(s.unkTokens)],
    ['UNK rate', f(s.unkRate)],
    ['tokens / character', f(s.tokensPerCharacter)],
    [`words (${s.wordUnit === 'basic' ? 'basic tokenizer' : s.wordUnit === 'jieba' ? 'jieba' : 'jieba for Chinese texts, basic elsewhere'})`, f(s.segmentedWords)],
    ['tokens / word', f(s.tokensPerSegmentedWord)],
    ['characters covered', `${f(s.coveredCharacters)} / ${f(s.wordCharacters)} = ${f(s.coveredCharacterShare)}`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}
