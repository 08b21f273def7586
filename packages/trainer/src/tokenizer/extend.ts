// Vocabulary extension (new language on an old tokenizer): train a vocabulary on new-language
// text, append only the tokens the old vocabulary lacks, and report, for each new token, how the
// old tokenizer split it (its "sub-tokens", used to initialise its embedding row).
//
// Guarantee: the old language tokenizes exactly as before. A new token can change greedy
// longest-match only inside a word it can match; so by default only tokens containing at least
// one character that no old (non-special) token contains are added. Any word the old tokenizer
// could cover uses only old characters, so no new token can match inside it. Words with a new
// character were [UNK] before (no old token contains that character) and may now be covered.
// `onlyNewCharacters: false` adds every missing token and drops the guarantee.
//
// Tokens that can never be produced are dropped too: with CJK splitting on, a CJK character is
// always a word of its own, so "##中" or "中国" can never match.

import { isChineseChar } from './basic.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { trainWordPiece } from './train.js';
import { CONTINUATION_PREFIX } from './wordpiece.js';

export type ExtensionSource =
  | { corpus: Iterable<string>; vocabSize: number; minFrequency?: number; limitAlphabet?: number }
  | { tokens: readonly string[] }
  | WordPieceTokenizer;

export interface ExtendOptions {
  /** Add only tokens with a character the old vocabulary lacks (keeps old tokenization). Default true. */
  onlyNewCharacters?: boolean;
  /** Add at most this many tokens (the first ones in the source's order). */
  maxNewTokens?: number;
}

export interface VocabularyExtension {
  /** The merged tokenizer: old tokens keep their ids, new ones follow. */
  tokenizer: WordPieceTokenizer;
  oldVocabSize: number;
  /** New tokens in id order; their ids are oldVocabSize, oldVocabSize + 1, … */
  addedTokens: string[];
  addedIds: number[];
  /** Old id → id in the merged vocabulary (the identity here: tokens are appended). */
  oldToNew: Int32Array;
  /** For each added token, its pieces (old ids) under the old tokenizer ([UNK] when uncovered). */
  newTokenPieces: number[][];
  /** Source tokens not added: already present, only old characters, or never producible. */
  skipped: { existing: number; oldCharactersOnly: number; unreachable: number; overLimit: number };
}

function body(token: string): string {
  return token.startsWith(CONTINUATION_PREFIX) ? token.slice(CONTINUATION_PREFIX.length) : token;
}

/** True when WordPiece can never emit `token` because CJK characters are always whole words. */
function unreachable(token: string, splitCjk: boolean): boolean {
  if (!splitCjk) return false;
  const b = body(token);
  let hasCjk = false;
  let n = 0;
  for (const ch of b) {
    n++;
    if (isChineseChar(ch.codePointAt(0)!)) hasCjk = true;
  }
  return hasCjk && (n > 1 || token.startsWith(CONTINUATION_PREFIX));
}

export function extendVocabulary(
  base: WordPieceTokenizer,
  source: ExtensionSource,
  options: ExtendOptions = {},
): VocabularyExtension {
  let candidates: readonly string[];
  if (source instanceof WordPieceTokenizer) candidates = source.vocab.tokens;
  else if ('tokens' in source) candidates = source.tokens;
  else {
    candidates = trainWordPiece(source.corpus, {
      ...base.options,
      vocabSize: source.vocabSize,
      minFrequency: source.minFrequency,
      limitAlphabet: source.limitAlphabet,
      source: 'new-language vocabulary',
    }).vocab.tokens;
  }
  const onlyNew = options.onlyNewCharacters ?? true;
  const special = new Set(Object.values(base.specialTokens));
  const oldChars = new Set<string>();
  for (const t of base.vocab.tokens) {
    if (special.has(t)) continue;
    for (const ch of body(t)) oldChars.add(ch);
  }
  const skipped = { existing: 0, oldCharactersOnly: 0, unreachable: 0, overLimit: 0 };
  const added: string[] = [];
  const seen = new Set<string>();
  candidates.forEach((t, i) => {
    if (typeof t !== 'string' || t.length === 0) throw new Error(`extendVocabulary: source token ${i} is empty or not a string`);
    if (base.vocab.has(t) || seen.has(t)) {
      skipped.existing++;
      return;
    }
    if (unreachable(t, base.basic.tokenizeChineseChars) || body(t).length === 0) {
      skipped.unreachable++;
      return;
    }
    if (onlyNew && [...body(t)].every((ch) => oldChars.has(ch))) {
      skipped.oldCharactersOnly++;
      return;
    }
    if (options.maxNewTokens !== undefined && added.length >= options.maxNewTokens) {
      skipped.overLimit++;
      return;
    }
    seen.add(t);
    added.push(t);
  });
  const oldSize = base.vocabSize;
  const tokenizer = WordPieceTokenizer.fromVocab([...base.vocab.tokens, ...added], { ...base.options, source: 'extended vocabulary' });
  const oldToNew = new Int32Array(oldSize);
  for (let i = 0; i < oldSize; i++) oldToNew[i] = i;
  return {
    tokenizer,
    oldVocabSize: oldSize,
    addedTokens: added,
    addedIds: added.map((_, k) => oldSize + k),
    oldToNew,
    newTokenPieces: subtokenPieces(base, added),
    skipped,
  };
}

/** Each token's pieces (ids) under the old tokenizer `base`: what 'subtoken' initialisation averages. */
export function subtokenPieces(base: WordPieceTokenizer, tokens: readonly string[]): number[][] {
  return tokens.map((t) => base.wordPieceIds(body(t), t.startsWith(CONTINUATION_PREFIX)));
}
