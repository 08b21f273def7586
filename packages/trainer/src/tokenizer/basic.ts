// BERT's basic tokenizer (the step before WordPiece), with character offsets.
//
// It follows Hugging Face's *fast* BERT pipeline (BertNormalizer + BertPreTokenizer, what
// AutoTokenizer loads), because that is the one that reports offsets:
//   1. clean: drop U+0000, U+FFFD and control characters (general category C*, except \t \n \r);
//      map whitespace to a space;
//   2. every CJK ideograph (the BERT ranges below) becomes a word of its own;
//   3. optional accent stripping (NFD, then drop non-spacing marks Mn), then optional lowercase,
//      applied character by character (so no final-sigma rule, as in the fast tokenizer);
//   4. split on whitespace, and make every punctuation character (Unicode P*, plus the ASCII
//      symbols $ + < = > ^ ` | ~) a word of its own.
// Differences from the *slow* Python BertTokenizer: it NFC-normalises the text first and lowercases
// before stripping accents; results differ only for rare sequences (a base letter followed by a
// combining mark when lowercase is off, final sigma).
//
// Offsets are UTF-16 code-unit indices into the original string (JavaScript's own indexing, so
// `text.slice(start, end)` is the source), where Python reports code-point indices. A removed
// character (control, or a combining mark stripped with the accents) belongs to no token's span,
// as in Hugging Face (checked against its Rust tokenizer: test/tokenizer/fixtures).

/** One word of the basic tokenizer: its normalised text and where it came from. */
export interface BasicWord {
  /** Normalised text (lowercased / accent-stripped as configured). Never empty. */
  text: string;
  /** Start of the source span in the original string (UTF-16 index). */
  start: number;
  /** End (exclusive) of the source span. */
  end: number;
  /**
   * Source span of each UTF-16 unit of `text`, when normalisation changed lengths; null when
   * `text` maps one-to-one onto the original `start..end`.
   */
  srcStart: number[] | null;
  srcEnd: number[] | null;
  /** A special-token string found whole in the text (e.g. "[MASK]"): one token, no WordPiece. */
  special?: boolean;
}

export interface BasicOptions {
  /** Lowercase (BERT "uncased"). Default true. */
  lowercase?: boolean;
  /** Strip accents (NFD, drop Mn). Default: same as `lowercase` (Hugging Face's rule). */
  stripAccents?: boolean;
  /** Split every CJK ideograph into its own word. Default true. */
  tokenizeChineseChars?: boolean;
}

export interface ResolvedBasicOptions {
  lowercase: boolean;
  stripAccents: boolean;
  tokenizeChineseChars: boolean;
}

export function resolveBasicOptions(o: BasicOptions = {}): ResolvedBasicOptions {
  const lowercase = o.lowercase ?? true;
  return {
    lowercase,
    stripAccents: o.stripAccents ?? lowercase,
    tokenizeChineseChars: o.tokenizeChineseChars ?? true,
  };
}

const CONTROL = /^\p{C}$/u;
const WHITESPACE = /^\p{White_Space}$/u;
const PUNCT = /^\p{P}$/u;
const MARK_MN = /\p{Mn}/gu;

/** BERT's CJK ranges (CJK Unified Ideographs and extensions, compatibility ideographs). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** Removed by cleaning: NUL, U+FFFD, and category C* except tab / newline / carriage return. */
export function isRemovedChar(cp: number, ch: string): boolean {
  if (cp === 0 || cp === 0xfffd) return true;
  if (cp === 9 || cp === 10 || cp === 13) return false;
  if (cp < 0x20 || cp === 0x7f) return true;
  if (cp < 0x80) return false;
  return CONTROL.test(ch);
}

export function isWhitespaceChar(cp: number, ch: string): boolean {
  if (cp === 32 || cp === 9 || cp === 10 || cp === 13) return true;
  if (cp < 0x80) return false;
  return WHITESPACE.test(ch);
}

/** BERT punctuation: all ASCII non-alphanumeric printable symbols, and Unicode category P*. */
export function isPunctuationChar(cp: number, ch: string): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0x80) return false;
  return PUNCT.test(ch);
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Per-character normalisation: strip accents (NFD, drop Mn) then lowercase, as configured. */
export function normalizeChar(ch: string, o: ResolvedBasicOptions): string {
  let s = ch;
  if (s.charCodeAt(0) < 0x80) return o.lowercase ? s.toLowerCase() : s;
  if (o.stripAccents) s = s.normalize('NFD').replace(MARK_MN, '');
  if (o.lowercase) s = s.toLowerCase();
  return s;
}

/**
 * Basic-tokenize `text` (or the part `from..to` of it), appending words to `out`. Offsets are
 * indices into `text` itself, so a caller that pre-splits special tokens keeps true offsets.
 */
export function basicTokenize(
  text: string,
  o: ResolvedBasicOptions,
  out: BasicWord[] = [],
  from = 0,
  to = text.length,
): BasicWord[] {
  let cur = '';
  let curStart = -1;
  let curEnd = -1;
  let srcStart: number[] | null = null;
  let srcEnd: number[] | null = null;
  const explicitMap = (len: number, start: number): [number[], number[]] => {
    const a: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < len; k++) {
      a.push(start + k);
      b.push(start + k + 1);
    }
    return [a, b];
  };
  const flush = () => {
    if (cur.length > 0) out.push({ text: cur, start: curStart, end: curEnd, srcStart, srcEnd });
    cur = '';
    curStart = -1;
    srcStart = null;
    srcEnd = null;
  };
  // Append normalised text `s` that came from text[i..j).
  const append = (s: string, i: number, j: number) => {
    if (cur.length === 0) {
      curStart = i;
      cur = s;
      curEnd = j;
      if (s.length !== j - i) {
        srcStart = [];
        srcEnd = [];
        for (let k = 0; k < s.length; k++) {
          srcStart.push(i);
          srcEnd.push(j);
        }
      }
      return;
    }
    if (srcStart === null && (s.length !== j - i || i !== curEnd)) {
      // Switch to an explicit map: everything so far was one-to-one.
      [srcStart, srcEnd] = explicitMap(cur.length, curStart);
    }
    if (srcStart !== null && srcEnd !== null) {
      for (let k = 0; k < s.length; k++) {
        if (s.length === j - i) {
          srcStart.push(i + k);
          srcEnd.push(i + k + 1);
        } else {
          srcStart.push(i);
          srcEnd.push(j);
        }
      }
    }
    cur += s;
    curEnd = j;
  };
  const single = (s: string, i: number, j: number) => {
    flush();
    append(s, i, j);
    flush();
  };
  let i = from;
  while (i < to) {
    const cp = text.codePointAt(i)!;
    if (isAsciiAlnum(cp)) {
      // Fast path: a run of ASCII letters and digits is one piece of a word.
      let j = i + 1;
      while (j < to && isAsciiAlnum(text.charCodeAt(j))) j++;
      const run = text.slice(i, j);
      append(o.lowercase ? run.toLowerCase() : run, i, j);
      i = j;
      continue;
    }
    const w = cp > 0xffff ? 2 : 1;
    const j = Math.min(i + w, to);
    const ch = w === 1 ? text[i] : text.slice(i, j);
    if (isRemovedChar(cp, ch)) {
      i = j;
      continue;
    }
    if (isWhitespaceChar(cp, ch)) {
      flush();
      i = j;
      continue;
    }
    if (o.tokenizeChineseChars && isChineseChar(cp)) {
      const s = normalizeChar(ch, o);
      if (s.length > 0) single(s, i, j);
      i = j;
      continue;
    }
    const s = normalizeChar(ch, o);
    if (s.length === ch.length && s === ch) {
      // Common case: unchanged character.
      if (isPunctuationChar(cp, ch)) single(s, i, j);
      else append(s, i, j);
    } else if (s.length > 0) {
      // Normalisation changed the character: classify what it became, code point by code point.
      for (const d of s) {
        const dcp = d.codePointAt(0)!;
        if (isPunctuationChar(dcp, d)) single(d, i, j);
        else if (isWhitespaceChar(dcp, d)) flush();
        else append(d, i, j);
      }
    }
    i = j;
  }
  flush();
  return out;
}

/** The basic-normalised form of a text: its basic words joined by single spaces. */
export function basicNormalize(text: string, options: BasicOptions = {}): string {
  return basicTokenize(text, resolveBasicOptions(options))
    .map((w) => w.text)
    .join(' ');
}

/** Source span of the normalised units `a..b` of a word (b exclusive, b > a). */
export function wordSpan(w: BasicWord, a: number, b: number): [number, number] {
  if (w.srcStart === null || w.srcEnd === null) return [w.start + a, w.start + b];
  return [w.srcStart[a], w.srcEnd[b - 1]];
}
