// WordPiece training, the way Hugging Face's `tokenizers` WordPieceTrainer does it: count the
// basic-tokenizer words of the corpus, start from single characters (a word's first character as
// is, later ones with "##"), then repeatedly merge the most frequent adjacent pair (weighted by
// word count) into a new token until the vocabulary reaches `vocabSize` or the best pair occurs
// fewer than `minFrequency` times. The vocabulary is every symbol ever created, in creation
// order: special tokens, the alphabet (sorted by code point), the "##" alphabet (sorted), merges.
//
// Deterministic: ties between pairs of equal count go to the pair with the smaller
// (left id, right id), ids being creation order (Hugging Face breaks ties the same way, but its
// "##" alphabet order comes from a hash map, so its ids can differ run to run).

import { basicTokenize, resolveBasicOptions, type ResolvedBasicOptions } from './basic.js';
import { DEFAULT_SPECIAL_TOKENS, SPECIAL_ROLES, WordPieceTokenizer, type TokenizerOptions } from './tokenizer.js';
import { CONTINUATION_PREFIX } from './wordpiece.js';

export interface TrainOptions extends TokenizerOptions {
  /** Target vocabulary size including special tokens. Default 30000 (Hugging Face). */
  vocabSize?: number;
  /** Stop when the most frequent pair occurs fewer times than this. Default 0 (Hugging Face). */
  minFrequency?: number;
  /** Keep only the this-many most frequent characters; the rest become [UNK]. Default: all. */
  limitAlphabet?: number;
  /** Characters always in the alphabet, even if the corpus lacks them. */
  initialAlphabet?: string[];
}

export interface VocabTrainOptions {
  vocabSize: number;
  minFrequency?: number;
  limitAlphabet?: number;
  initialAlphabet?: string[];
  /** Tokens placed first (ids 0..n-1), e.g. the special tokens. */
  specialTokens?: string[];
}

/** Count basic-tokenizer words over a corpus. */
export function countWords(corpus: Iterable<string>, basic: ResolvedBasicOptions, counts = new Map<string, number>()): Map<string, number> {
  let line = 0;
  for (const text of corpus) {
    if (typeof text !== 'string') throw new Error(`countWords: corpus item ${line} is not a string (${typeof text})`);
    for (const w of basicTokenize(text, basic)) counts.set(w.text, (counts.get(w.text) ?? 0) + 1);
    line++;
  }
  return counts;
}

// Max-heap of candidate merges: higher count first, then smaller (a, b).
class MergeHeap {
  private count: number[] = [];
  private a: number[] = [];
  private b: number[] = [];
  get size(): number {
    return this.count.length;
  }
  private before(i: number, j: number): boolean {
    if (this.count[i] !== this.count[j]) return this.count[i] > this.count[j];
    if (this.a[i] !== this.a[j]) return this.a[i] < this.a[j];
    return this.b[i] < this.b[j];
  }
  private swap(i: number, j: number): void {
    [this.count[i], this.count[j]] = [this.count[j], this.count[i]];
    [this.a[i], this.a[j]] = [this.a[j], this.a[i]];
    [this.b[i], this.b[j]] = [this.b[j], this.b[i]];
  }
  push(count: number, a: number, b: number): void {
    this.count.push(count);
    this.a.push(a);
    this.b.push(b);
    let i = this.count.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number, number] {
    const top: [number, number, number] = [this.count[0], this.a[0], this.b[0]];
    const last = this.count.length - 1;
    this.swap(0, last);
    this.count.pop();
    this.a.pop();
    this.b.pop();
    let i = 0;
    const n = this.count.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

const SHIFT = 2 ** 24; // pair key = a·2²⁴ + b (ids stay far below 2²⁴)

/** Train a WordPiece vocabulary (token list, id = index) from word counts. */
export function trainWordPieceVocab(wordCounts: ReadonlyMap<string, number>, options: VocabTrainOptions): string[] {
  const vocabSize = options.vocabSize;
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`train: vocabSize must be a positive integer, got ${vocabSize}`);
  const minFrequency = options.minFrequency ?? 0;
  if (!(minFrequency >= 0)) throw new Error(`train: minFrequency must be ≥ 0, got ${minFrequency}`);

  const tokens: string[] = [];
  const idOf = new Map<string, number>();
  const add = (t: string): number => {
    let id = idOf.get(t);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(t);
      idOf.set(t, id);
    }
    return id;
  };
  for (const t of options.specialTokens ?? []) add(t);

  // Alphabet: characters by total count; optionally only the most frequent ones.
  const charCount = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + c);
  let alphabet = [...charCount.keys()];
  if (options.limitAlphabet !== undefined && alphabet.length > options.limitAlphabet) {
    alphabet.sort((x, y) => charCount.get(y)! - charCount.get(x)! || (x < y ? -1 : x > y ? 1 : 0));
    alphabet = alphabet.slice(0, options.limitAlphabet);
  }
  const kept = new Set([...alphabet, ...(options.initialAlphabet ?? [])]);
  const byCodePoint = (x: string, y: string) => x.codePointAt(0)! - y.codePointAt(0)!;
  for (const ch of [...kept].sort(byCodePoint)) add(ch);
  const contChars = new Set<string>();
  for (const w of wordCounts.keys()) {
    let first = true;
    for (const ch of w) {
      if (!first && kept.has(ch)) contChars.add(ch);
      first = false;
    }
  }
  for (const ch of [...contChars].sort(byCodePoint)) add(CONTINUATION_PREFIX + ch);

  // Words as symbol-id arrays (−1 = a character outside the alphabet: no pair crosses it).
  // Sorted so the result does not depend on the map's insertion order.
  const entries = [...wordCounts].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of entries) {
    const syms: number[] = [];
    let first = true;
    for (const ch of w) {
      syms.push(kept.has(ch) ? idOf.get(first ? ch : CONTINUATION_PREFIX + ch)! : -1);
      first = false;
    }
    words.push(syms);
    counts.push(c);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    for (let i = 0; i + 1 < s.length; i++) {
      if (s[i] < 0 || s[i + 1] < 0) continue;
      const k = s[i] * SHIFT + s[i + 1];
      pairCount.set(k, (pairCount.get(k) ?? 0) + counts[w]);
      let list = pairWords.get(k);
      if (!list) pairWords.set(k, (list = []));
      if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new MergeHeap();
  for (const [k, c] of pairCount) heap.push(c, Math.floor(k / SHIFT), k % SHIFT);

  const stamp = new Int32Array(words.length).fill(-1);
  let step = 0;
  while (tokens.length < vocabSize && heap.size > 0) {
    const [count, a, b] = heap.pop();
    const key = a * SHIFT + b;
    const cur = pairCount.get(key) ?? 0;
    if (cur !== count) {
      if (cur > 0) heap.push(cur, a, b); // stale entry: requeue with the true count
      continue;
    }
    if (cur < 1 || cur < minFrequency) break;
    const right = tokens[b].startsWith(CONTINUATION_PREFIX) ? tokens[b].slice(CONTINUATION_PREFIX.length) : tokens[b];
    const merged = add(tokens[a] + right);
    step++;
    const delta = new Map<number, number>();
    const bump = (k: number, d: number) => {
      delta.set(k, (delta.get(k) ?? 0) + d);
      pairCount.set(k, (pairCount.get(k) ?? 0) + d);
    };
    for (const w of pairWords.get(key) ?? []) {
      if (stamp[w] === step) continue;
      stamp[w] = step;
      const s = words[w];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) has = true;
      if (!has) continue;
      const c = counts[w];
      for (let i = 0; i + 1 < s.length; i++) if (s[i] >= 0 && s[i + 1] >= 0) bump(s[i] * SHIFT + s[i + 1], -c);
      const t: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          t.push(merged);
          i++;
        } else t.push(s[i]);
      }
      for (let i = 0; i + 1 < t.length; i++) {
        if (t[i] < 0 || t[i + 1] < 0) continue;
        const k = t[i] * SHIFT + t[i + 1];
        bump(k, c);
        if (t[i] === merged || t[i + 1] === merged) {
          let list = pairWords.get(k);
          if (!list) pairWords.set(k, (list = []));
          if (list[list.length - 1] !== w) list.push(w);
        }
      }
      words[w] = t;
    }
    pairWords.delete(key);
    for (const [k, d] of delta) {
      if (d > 0) heap.push(pairCount.get(k)!, Math.floor(k / SHIFT), k % SHIFT);
      if (pairCount.get(k) === 0) pairCount.delete(k);
    }
  }
  return tokens;
}

/** Train a WordPiece tokenizer on a corpus of texts. */
export function trainWordPiece(corpus: Iterable<string>, options: TrainOptions = {}): WordPieceTokenizer {
  const basic = resolveBasicOptions(options);
  const specials = { ...DEFAULT_SPECIAL_TOKENS, ...(options.specialTokens ?? {}) };
  for (const k of Object.keys(options.specialTokens ?? {})) {
    if (!(SPECIAL_ROLES as readonly string[]).includes(k)) {
      throw new Error(`train: unknown special token role '${k}' (expected one of ${SPECIAL_ROLES.join(', ')})`);
    }
  }
  const counts = countWords(corpus, basic);
  const tokens = trainWordPieceVocab(counts, {
    vocabSize: options.vocabSize ?? 30000,
    minFrequency: options.minFrequency,
    limitAlphabet: options.limitAlphabet,
    initialAlphabet: options.initialAlphabet,
    specialTokens: SPECIAL_ROLES.map((r) => specials[r]),
  });
  return WordPieceTokenizer.fromVocab(tokens, { ...options, source: options.source ?? 'trained vocabulary' });
}
