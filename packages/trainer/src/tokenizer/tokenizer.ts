// The BERT WordPiece tokenizer: basic tokenizer + WordPiece + [CLS]/[SEP] framing, pairs,
// truncation, word ids and character offsets, decode, vocab.txt IO.
//
// Defaults follow Hugging Face's BertTokenizerFast (bert-base-uncased): lowercase, strip accents
// with lowercase, split CJK characters, special tokens [PAD] [UNK] [CLS] [SEP] [MASK],
// max 100 code points per word, model_max_length 512, `longest_first` truncation once a
// maxLength is given (the Rust tokenizer's rule for pairs, checked against it in the tests). Where it differs (on purpose):
//   - a sequence longer than the limit with truncation off is an error, not a warning;
//   - offsets are UTF-16 indices (JavaScript strings), not code points;
//   - decode() does not "clean up tokenization spaces" unless asked (Hugging Face's default
//     for BERT was true; it makes decode lossy: "a ." → "a.").

import { basicTokenize, resolveBasicOptions, wordSpan, type BasicOptions, type BasicWord, type ResolvedBasicOptions } from './basic.js';
import { Vocab, readVocabFile, writeVocabFile } from './vocab.js';
import { CONTINUATION_PREFIX, WordPieceModel } from './wordpiece.js';
import { trainWordPiece, type TrainOptions } from './train.js';

export type SpecialRole = 'pad' | 'unk' | 'cls' | 'sep' | 'mask';
export const SPECIAL_ROLES: readonly SpecialRole[] = ['pad', 'unk', 'cls', 'sep', 'mask'];
export type SpecialTokens = Record<SpecialRole, string>;
export const DEFAULT_SPECIAL_TOKENS: Readonly<SpecialTokens> = Object.freeze({
  pad: '[PAD]',
  unk: '[UNK]',
  cls: '[CLS]',
  sep: '[SEP]',
  mask: '[MASK]',
});

export interface TokenizerOptions extends BasicOptions {
  /** Override special-token strings by role; each must be in the vocabulary. */
  specialTokens?: Partial<SpecialTokens>;
  /** A word longer than this many code points becomes [UNK]. Default 100 (BERT). */
  maxInputCharsPerWord?: number;
  /** Longest sequence the model accepts (position embeddings). Default 512. */
  modelMaxLength?: number;
  /** Recognise special-token strings such as "[MASK]" written in the text. Default true. */
  splitSpecialTokens?: boolean;
  /** Names the vocabulary in error messages (a file path). */
  source?: string;
}

export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';

export interface EncodeOptions {
  /** Total length limit including [CLS]/[SEP]. Default: no truncation, but ≤ modelMaxLength. */
  maxLength?: number;
  /** Default 'longest_first' when maxLength is given (as Hugging Face), else false. */
  truncation?: Truncation;
  /** Add [CLS] … [SEP] (… [SEP]). Default true. */
  addSpecialTokens?: boolean;
}

export interface Encoding {
  ids: number[];
  tokens: string[];
  attentionMask: number[];
  tokenTypeIds: number[];
  /** Index of the input word each token came from (per sequence), null for added specials. */
  wordIds: (number | null)[];
  /** 0 or 1 for tokens of the first / second text, null for added specials. */
  sequenceIds: (number | null)[];
  /** [start, end) of each token in its own text (UTF-16 indices); [0, 0] for added specials. */
  offsets: [number, number][];
  /** 1 for tokens added by the tokenizer ([CLS], [SEP]), else 0. */
  specialTokensMask: number[];
  /** How many tokens truncation removed (0 when nothing was cut). */
  numTruncated: number;
}

export interface DecodeOptions {
  /** Drop [CLS], [SEP], [PAD], [MASK], [UNK]. Default false (Hugging Face's default). */
  skipSpecialTokens?: boolean;
  /** Hugging Face's clean-up (" ." → ".", " n't" → "n't", …). Default false. */
  cleanUpTokenizationSpaces?: boolean;
}

/** Tokens of one sequence before framing. */
interface Piece {
  id: number;
  word: number;
  start: number;
  end: number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class WordPieceTokenizer {
  readonly vocab: Vocab;
  readonly basic: ResolvedBasicOptions;
  readonly specialTokens: Readonly<SpecialTokens>;
  readonly specialIds: Readonly<Record<SpecialRole, number>>;
  readonly modelMaxLength: number;
  readonly maxInputCharsPerWord: number;
  readonly splitSpecialTokens: boolean;
  readonly source: string;
  private readonly model: WordPieceModel;
  private readonly specialIdSet: Set<number>;
  private readonly specialRe: RegExp | null;

  constructor(vocab: Vocab, options: TokenizerOptions = {}) {
    this.source = options.source ?? 'vocabulary';
    for (const k of Object.keys(options.specialTokens ?? {})) {
      if (!(SPECIAL_ROLES as readonly string[]).includes(k)) {
        throw new Error(`${this.source}: unknown special token role '${k}' (expected one of ${SPECIAL_ROLES.join(', ')})`);
      }
    }
    const specials = { ...DEFAULT_SPECIAL_TOKENS, ...(options.specialTokens ?? {}) };
    const ids = {} as Record<SpecialRole, number>;
    for (const role of SPECIAL_ROLES) {
      const id = vocab.id(specials[role]);
      if (id === undefined) {
        throw new Error(`${this.source}: special token ${specials[role]} (${role}) is not in the vocabulary`);
      }
      ids[role] = id;
    }
    this.vocab = vocab;
    this.basic = resolveBasicOptions(options);
    this.specialTokens = Object.freeze(specials);
    this.specialIds = Object.freeze(ids);
    this.specialIdSet = new Set(Object.values(ids));
    this.modelMaxLength = options.modelMaxLength ?? 512;
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    this.splitSpecialTokens = options.splitSpecialTokens ?? true;
    this.model = new WordPieceModel(vocab, ids.unk, this.maxInputCharsPerWord);
    // Longest first, so "[MASK]" wins over a shorter special that is its prefix.
    const sorted = [...new Set(Object.values(specials))].sort((a, b) => b.length - a.length);
    this.specialRe = this.splitSpecialTokens ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : null;
  }

  /** A tokenizer over the given tokens (id = index). */
  static fromVocab(tokens: readonly string[], options: TokenizerOptions = {}): WordPieceTokenizer {
    return new WordPieceTokenizer(new Vocab(tokens, options.source ?? 'vocabulary'), options);
  }

  /** Read BERT's vocab.txt (one token per line). */
  static fromVocabFile(path: string, options: TokenizerOptions = {}): WordPieceTokenizer {
    return new WordPieceTokenizer(new Vocab(readVocabFile(path), path), { ...options, source: options.source ?? path });
  }

  /** Train a WordPiece vocabulary on a corpus (see train.ts); deterministic. */
  static train(corpus: Iterable<string>, options: TrainOptions = {}): WordPieceTokenizer {
    return trainWordPiece(corpus, options);
  }

  /** The options that rebuild this tokenizer over another vocabulary. */
  get options(): TokenizerOptions {
    return {
      lowercase: this.basic.lowercase,
      stripAccents: this.basic.stripAccents,
      tokenizeChineseChars: this.basic.tokenizeChineseChars,
      specialTokens: { ...this.specialTokens },
      maxInputCharsPerWord: this.maxInputCharsPerWord,
      modelMaxLength: this.modelMaxLength,
      splitSpecialTokens: this.splitSpecialTokens,
    };
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  saveVocab(path: string): void {
    writeVocabFile(path, this.vocab.tokens);
  }

  tokenToId(token: string): number {
    const id = this.vocab.id(token);
    if (id === undefined) throw new Error(`${this.source}: token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  idToToken(id: number): string {
    return this.vocab.token(id);
  }

  /** True for the ids of [PAD] [UNK] [CLS] [SEP] [MASK]. */
  isSpecialId(id: number): boolean {
    return this.specialIdSet.has(id);
  }

  /** The basic-tokenizer words of a text (special-token strings kept whole when enabled). */
  basicWords(text: string): BasicWord[] {
    const out: BasicWord[] = [];
    if (this.specialRe === null) return basicTokenize(text, this.basic, out);
    let last = 0;
    this.specialRe.lastIndex = 0;
    for (let m = this.specialRe.exec(text); m !== null; m = this.specialRe.exec(text)) {
      basicTokenize(text, this.basic, out, last, m.index);
      out.push({ text: m[0], start: m.index, end: m.index + m[0].length, srcStart: null, srcEnd: null, special: true });
      last = m.index + m[0].length;
    }
    basicTokenize(text, this.basic, out, last, text.length);
    return out;
  }

  /** WordPiece ids of one basic word. */
  wordPieceIds(word: string, continuation = false): number[] {
    return this.model.pieces(word, continuation).ids;
  }

  /** Token strings of a text, no special tokens added (like Hugging Face's `tokenize`). */
  tokenize(text: string): string[] {
    return this.pieces(text, 0).map((p) => this.vocab.token(p.id));
  }

  /** Token ids of a text, no special tokens added. */
  tokenizeToIds(text: string): number[] {
    return this.pieces(text, 0).map((p) => p.id);
  }

  /** Pieces of one text; word ids count from `wordBase`. */
  private pieces(text: string, wordBase: number, out: Piece[] = []): Piece[] {
    if (typeof text !== 'string') throw new Error(`tokenizer: expected a string, got ${typeof text}`);
    const words = this.basicWords(text);
    for (let w = 0; w < words.length; w++) {
      this.wordToPieces(words[w], wordBase + w, out);
    }
    return out;
  }

  private wordToPieces(word: BasicWord, wordId: number, out: Piece[]): void {
    if (word.special) {
      out.push({ id: this.vocab.id(word.text)!, word: wordId, start: word.start, end: word.end });
      return;
    }
    const wp = this.model.pieces(word.text);
    let a = 0;
    for (let k = 0; k < wp.ids.length; k++) {
      const b = wp.ends[k];
      const [s, e] = wordSpan(word, a, b);
      out.push({ id: wp.ids[k], word: wordId, start: s, end: e });
      a = b;
    }
  }

  /** Pieces of pre-split words (NER): word ids are indices into `words`; offsets are per word. */
  private wordsToPieces(words: readonly string[], what: string): Piece[] {
    const out: Piece[] = [];
    words.forEach((w, i) => {
      if (typeof w !== 'string') throw new Error(`${what}: word ${i} is not a string (${typeof w})`);
      for (const bw of this.basicWords(w)) this.wordToPieces(bw, i, out);
    });
    return out;
  }

  /** Encode a text, or a pair of texts, as BERT input. */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): Encoding {
    const a = this.pieces(text, 0);
    const b = pair === undefined || pair === null ? null : this.pieces(pair, 0);
    return this.frame(a, b, options, text);
  }

  /** Encode pre-split words (token classification); wordIds index into `words`. */
  encodeWords(words: readonly string[], pairWords?: readonly string[] | null, options: EncodeOptions = {}): Encoding {
    if (!Array.isArray(words)) throw new Error('encodeWords: expected an array of words');
    const a = this.wordsToPieces(words, 'encodeWords');
    const b = pairWords ? this.wordsToPieces(pairWords, 'encodeWords (pair)') : null;
    return this.frame(a, b, options, words.join(' '));
  }

  /** Encode many texts (same options). */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): Encoding[] {
    return texts.map((t) => this.encode(t, null, options));
  }

  private frame(a: Piece[], b: Piece[] | null, options: EncodeOptions, what: string): Encoding {
    const addSpecial = options.addSpecialTokens ?? true;
    const numSpecial = addSpecial ? (b ? 3 : 2) : 0;
    const maxLength = options.maxLength;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < numSpecial + (b ? 2 : 1))) {
      throw new Error(`encode: maxLength must be an integer ≥ ${numSpecial + (b ? 2 : 1)}, got ${maxLength}`);
    }
    const truncation: Truncation = options.truncation ?? (maxLength !== undefined ? 'longest_first' : false);
    const limit = maxLength ?? this.modelMaxLength;
    const total = a.length + (b ? b.length : 0) + numSpecial;
    let numTruncated = 0;
    if (total > limit) {
      if (truncation === false) {
        const preview = what.length > 40 ? what.slice(0, 40) + '…' : what;
        throw new Error(
          `encode: ${total} tokens is more than ${maxLength !== undefined ? `maxLength ${maxLength}` : `the model's maximum ${limit}`} ` +
            `(text ${JSON.stringify(preview)}); pass truncation: true (or a larger maxLength)`,
        );
      }
      const remove = total - limit;
      numTruncated = remove;
      const mode = truncation === true ? 'longest_first' : truncation;
      if (mode === 'only_first' || (mode === 'longest_first' && !b)) {
        if (remove >= a.length && b) throw new Error(`encode: cannot truncate the first text by ${remove} tokens (it has ${a.length})`);
        a = a.slice(0, Math.max(0, a.length - remove));
      } else if (mode === 'only_second') {
        if (!b) throw new Error(`encode: truncation 'only_second' needs a pair of texts`);
        if (remove >= b.length) throw new Error(`encode: cannot truncate the second text by ${remove} tokens (it has ${b.length})`);
        b = b.slice(0, b.length - remove);
      } else if (b) {
        // longest_first with a pair, as Hugging Face's Rust tokenizer (BertTokenizerFast): cut the
        // longer text down to what the shorter leaves; if both are still too long, split the
        // budget in half, the odd token going to the text that was longer (to the second on a tie).
        const budget = limit - numSpecial;
        const swap = a.length > b.length;
        let short = swap ? b.length : a.length;
        let long = swap ? a.length : b.length;
        long = short > budget ? short : Math.max(short, budget - short);
        if (short + long > budget) {
          short = Math.floor(budget / 2);
          long = short + (budget % 2);
        }
        a = a.slice(0, swap ? long : short);
        b = b.slice(0, swap ? short : long);
      }
    }
    const enc: Encoding = {
      ids: [],
      tokens: [],
      attentionMask: [],
      tokenTypeIds: [],
      wordIds: [],
      sequenceIds: [],
      offsets: [],
      specialTokensMask: [],
      numTruncated,
    };
    const pushSpecial = (id: number, typeId: number) => {
      enc.ids.push(id);
      enc.tokens.push(this.vocab.token(id));
      enc.attentionMask.push(1);
      enc.tokenTypeIds.push(typeId);
      enc.wordIds.push(null);
      enc.sequenceIds.push(null);
      enc.offsets.push([0, 0]);
      enc.specialTokensMask.push(1);
    };
    const pushSeq = (ps: Piece[], seq: number) => {
      for (const p of ps) {
        enc.ids.push(p.id);
        enc.tokens.push(this.vocab.token(p.id));
        enc.attentionMask.push(1);
        enc.tokenTypeIds.push(seq);
        enc.wordIds.push(p.word);
        enc.sequenceIds.push(seq);
        enc.offsets.push([p.start, p.end]);
        enc.specialTokensMask.push(0);
      }
    };
    if (addSpecial) pushSpecial(this.specialIds.cls, 0);
    pushSeq(a, 0);
    if (addSpecial) pushSpecial(this.specialIds.sep, 0);
    if (b) {
      pushSeq(b, 1);
      if (addSpecial) pushSpecial(this.specialIds.sep, 1);
    }
    return enc;
  }

  /**
   * Ids back to text: tokens joined by spaces, "##" pieces glued to the previous token (as
   * Hugging Face's convert_tokens_to_string).
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (options.skipSpecialTokens && this.specialIdSet.has(id)) continue;
      parts.push(this.vocab.token(id));
    }
    let s = parts.join(' ').split(' ' + CONTINUATION_PREFIX).join('').trim();
    if (options.cleanUpTokenizationSpaces) s = cleanUpTokenizationSpaces(s);
    return s;
  }
}

/** Hugging Face's `clean_up_tokenization` (English detokenisation heuristics). */
export function cleanUpTokenizationSpaces(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
