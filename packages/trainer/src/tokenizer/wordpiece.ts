// WordPiece: greedy longest-match-first over one basic word, "##" marking pieces that continue a
// word. A word with no cover, or longer than `maxInputCharsPerWord` code points (100, as in BERT),
// becomes a single [UNK]. Results are cached per word: real text repeats words, so tokenizing
// 100k short texts is mostly cache hits.

import type { Vocab } from './vocab.js';

export const CONTINUATION_PREFIX = '##';

/** Pieces of one word: token ids and, for each piece, its end in the word's UTF-16 units. */
export interface WordPieces {
  ids: number[];
  ends: number[];
}

export class WordPieceModel {
  readonly vocab: Vocab;
  readonly unkId: number;
  readonly maxInputCharsPerWord: number;
  /** Longest vocabulary entry in code points (without "##"): no match can be longer. */
  private readonly maxPieceChars: number;
  private cache = new Map<string, WordPieces>();
  private contCache = new Map<string, WordPieces>();
  private static readonly CACHE_LIMIT = 500_000;

  constructor(vocab: Vocab, unkId: number, maxInputCharsPerWord = 100) {
    this.vocab = vocab;
    this.unkId = unkId;
    this.maxInputCharsPerWord = maxInputCharsPerWord;
    let m = 1;
    for (const t of vocab.tokens) {
      const body = t.startsWith(CONTINUATION_PREFIX) ? t.slice(CONTINUATION_PREFIX.length) : t;
      let n = 0;
      for (const _ of body) n++;
      if (n > m) m = n;
    }
    this.maxPieceChars = m;
  }

  /**
   * Pieces of `word` (a basic-tokenizer word). With `continuation`, the first piece is also
   * looked up with "##" (how a new token that continues a word splits under this vocabulary).
   */
  pieces(word: string, continuation = false): WordPieces {
    const cache = continuation ? this.contCache : this.cache;
    const hit = cache.get(word);
    if (hit) return hit;
    const r = this.compute(word, continuation);
    if (cache.size >= WordPieceModel.CACHE_LIMIT) cache.clear();
    cache.set(word, r);
    return r;
  }

  private compute(word: string, continuation: boolean): WordPieces {
    // Code-point boundaries (a piece never splits a surrogate pair).
    const bounds: number[] = [0];
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      bounds.push(i);
    }
    const n = bounds.length - 1;
    const unk: WordPieces = { ids: [this.unkId], ends: [word.length] };
    if (n === 0 || n > this.maxInputCharsPerWord) return unk;
    const ids: number[] = [];
    const ends: number[] = [];
    let start = 0;
    while (start < n) {
      let end = Math.min(n, start + this.maxPieceChars);
      let found = -1;
      while (end > start) {
        let sub = word.slice(bounds[start], bounds[end]);
        if (start > 0 || continuation) sub = CONTINUATION_PREFIX + sub;
        const id = this.vocab.id(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return unk;
      ids.push(found);
      ends.push(bounds[end]);
      start = end;
    }
    return { ids, ends };
  }
}
