// Masked-LM collator: choose positions, replace them (80 % [MASK], 10 % a random token, 10 %
// unchanged by default), label them with the original id, −100 everywhere else.
//
// Strategies (which positions):
//   random      every maskable token independently with probability p (Hugging Face's
//               DataCollatorForLanguageModeling: the masked count is Binomial(n, p)).
//   whole-word  whole words until max(1, round(n·p)) tokens, skipping a word that would overshoot
//               (HF's older DataCollatorForWholeWordMask). Words are "##" groups; runs of CJK
//               character tokens are grouped into words by jieba.
//   span        SpanBERT: span lengths in words from a geometric distribution (p = 0.2)
//               truncated to 1..10 and renormalised (mean 3.8), starting at a random word, until
//               round(n·p) tokens; whole words only (the last word may overshoot the budget by
//               its extra pieces, where SpanBERT would cut it).
//   entity      gazetteer phrases found in the sequence (word-aligned) are masked whole first,
//               then random whole words fill the budget round(n·p).
//   mixture     one strategy per sequence, drawn by weight.
// n counts maskable tokens: never [CLS] [SEP] [PAD] [UNK] [MASK] (HF's special-token mask; HF's
// whole-word budget counts the specials in n, we do not). Random replacement draws uniformly
// from the non-special ids (HF draws from the whole vocabulary, specials included).
// Replacement is decided per token (HF); `replaceBy: 'unit'` decides once per word / span
// (SpanBERT).

import type { WordPieceTokenizer } from '../tokenizer/tokenizer.js';
import { isChineseChar } from '../tokenizer/basic.js';
import { CONTINUATION_PREFIX } from '../tokenizer/wordpiece.js';
import { jiebaSegmenter, type ChineseSegmenter } from './chinese.js';
import { padBatch, type TokenBatch, type TokenizedExample } from './pad.js';
import { randInt, shuffleInPlace, weightedChoice, type Rng } from './rng.js';

export type MaskStrategyName = 'random' | 'whole-word' | 'span' | 'entity';
export const MASK_STRATEGIES: readonly MaskStrategyName[] = ['random', 'whole-word', 'span', 'entity'];
export type MaskStrategy = MaskStrategyName | { mixture: readonly { strategy: MaskStrategyName; weight: number }[] };

export interface MlmOptions {
  /** Share of maskable tokens to choose. Default 0.15. */
  probability?: number;
  /** Of the chosen: share replaced by [MASK]. Default 0.8. */
  maskFraction?: number;
  /** Of the chosen: share replaced by a random token. Default 0.1 (the rest stay unchanged). */
  randomFraction?: number;
  strategy?: MaskStrategy;
  /** Geometric parameter of span lengths (in words). Default 0.2 (SpanBERT). */
  spanP?: number;
  /** Longest span in words. Default 10 (SpanBERT). */
  spanMaxWords?: number;
  /** Entity phrases for the 'entity' strategy (tokenized with the collator's tokenizer). */
  gazetteer?: readonly string[];
  /** Group CJK character tokens into words (whole-word, span, entity). Default true. */
  chineseWords?: boolean;
  /** Chinese segmenter. Default jieba. */
  segmentChinese?: ChineseSegmenter;
  /** Decide [MASK] / random / keep per token (default, HF) or per word or span ('unit'). */
  replaceBy?: 'token' | 'unit';
}

export interface MaskedSequence {
  inputIds: Int32Array;
  /** Original id at chosen positions, −100 elsewhere. */
  labels: Int32Array;
  strategy: MaskStrategyName;
}

export interface MlmBatch extends TokenBatch {
  labels: Int32Array;
  /** The strategy used for each row. */
  strategies: MaskStrategyName[];
}

function checkFraction(name: string, v: number): void {
  if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new Error(`MlmCollator: ${name} must be in [0, 1], got ${v}`);
}

export class MlmCollator {
  readonly tokenizer: WordPieceTokenizer;
  readonly probability: number;
  readonly maskFraction: number;
  readonly randomFraction: number;
  readonly strategy: MaskStrategy;
  readonly replaceBy: 'token' | 'unit';
  private readonly spanCdf: number[];
  private readonly entities: Map<number, number[][]>;
  private readonly chineseWords: boolean;
  private readonly segment: ChineseSegmenter;
  private readonly randomIds: Int32Array;
  private readonly isCont: Uint8Array;
  private readonly isCjkChar: Uint8Array;

  constructor(tokenizer: WordPieceTokenizer, options: MlmOptions = {}) {
    this.tokenizer = tokenizer;
    this.probability = options.probability ?? 0.15;
    this.maskFraction = options.maskFraction ?? 0.8;
    this.randomFraction = options.randomFraction ?? 0.1;
    checkFraction('probability', this.probability);
    checkFraction('maskFraction', this.maskFraction);
    checkFraction('randomFraction', this.randomFraction);
    if (this.maskFraction + this.randomFraction > 1 + 1e-12) {
      throw new Error(`MlmCollator: maskFraction + randomFraction must be ≤ 1, got ${this.maskFraction} + ${this.randomFraction}`);
    }
    this.strategy = options.strategy ?? 'random';
    const names = typeof this.strategy === 'string' ? [this.strategy] : this.strategy.mixture?.map((m) => m.strategy);
    if (!Array.isArray(names) || names.length === 0) throw new Error(`MlmCollator: strategy must be a name or { mixture: [...] } with at least one entry`);
    for (const n of names) {
      if (!MASK_STRATEGIES.includes(n)) throw new Error(`MlmCollator: unknown masking strategy '${n}' (expected ${MASK_STRATEGIES.join(', ')})`);
    }
    if (typeof this.strategy !== 'string') {
      const ws = this.strategy.mixture.map((m) => m.weight);
      if (ws.some((w) => !(w >= 0)) || !(ws.reduce((a, b) => a + b, 0) > 0)) {
        throw new Error(`MlmCollator: mixture weights must be ≥ 0 with a positive sum, got [${ws.join(', ')}]`);
      }
    }
    this.replaceBy = options.replaceBy ?? 'token';
    if (this.replaceBy !== 'token' && this.replaceBy !== 'unit') throw new Error(`MlmCollator: replaceBy must be 'token' or 'unit', got '${this.replaceBy}'`);

    // Truncated geometric over span lengths 1..max (SpanBERT), as a cumulative table.
    const p = options.spanP ?? 0.2;
    const maxWords = options.spanMaxWords ?? 10;
    if (!(p > 0 && p <= 1)) throw new Error(`MlmCollator: spanP must be in (0, 1], got ${p}`);
    if (!Number.isInteger(maxWords) || maxWords < 1) throw new Error(`MlmCollator: spanMaxWords must be a positive integer, got ${maxWords}`);
    const w = Array.from({ length: maxWords }, (_, k) => p * (1 - p) ** k);
    const total = w.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.spanCdf = w.map((x) => (acc += x / total));

    this.entities = new Map();
    const usesEntity = names.includes('entity');
    if (usesEntity && !options.gazetteer) throw new Error(`MlmCollator: the 'entity' strategy needs a gazetteer (a list of entity phrases)`);
    (options.gazetteer ?? []).forEach((phrase, i) => {
      if (typeof phrase !== 'string') throw new Error(`MlmCollator: gazetteer entry ${i} is not a string`);
      const ids = tokenizer.tokenizeToIds(phrase);
      if (ids.length === 0) return;
      let list = this.entities.get(ids[0]);
      if (!list) this.entities.set(ids[0], (list = []));
      list.push(ids);
    });
    this.chineseWords = options.chineseWords ?? true;
    this.segment = options.segmentChinese ?? jiebaSegmenter;

    const V = tokenizer.vocabSize;
    const randomIds: number[] = [];
    this.isCont = new Uint8Array(V);
    this.isCjkChar = new Uint8Array(V);
    for (let id = 0; id < V; id++) {
      const t = tokenizer.vocab.tokens[id];
      if (!tokenizer.isSpecialId(id)) randomIds.push(id);
      if (t.startsWith(CONTINUATION_PREFIX)) this.isCont[id] = 1;
      const cp = t.codePointAt(0)!;
      if (t.length === (cp > 0xffff ? 2 : 1) && isChineseChar(cp)) this.isCjkChar[id] = 1;
    }
    if (randomIds.length === 0) throw new Error('MlmCollator: the vocabulary has no non-special tokens');
    this.randomIds = Int32Array.from(randomIds);
  }

  /** Maskable positions grouped into whole words (## groups, CJK runs segmented by jieba). */
  wordUnits(ids: ArrayLike<number>): number[][] {
    const tk = this.tokenizer;
    const units: number[][] = [];
    let prevMaskable = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= tk.vocabSize) {
        throw new Error(`MlmCollator: token id ${id} at position ${i} is outside the vocabulary (size ${tk.vocabSize})`);
      }
      if (tk.isSpecialId(id)) {
        prevMaskable = false;
        continue;
      }
      if (this.isCont[id] && prevMaskable) units[units.length - 1].push(i);
      else units.push([i]);
      prevMaskable = true;
    }
    if (!this.chineseWords) return units;
    // Merge runs of single-CJK-character units by jieba's word boundaries.
    const out: number[][] = [];
    for (let u = 0; u < units.length; ) {
      const isCjkUnit = (k: number) => k < units.length && units[k].length === 1 && this.isCjkChar[ids[units[k][0]]] === 1 &&
        (k === u || units[k][0] === units[k - 1][0] + 1);
      if (!isCjkUnit(u)) {
        out.push(units[u++]);
        continue;
      }
      let v = u + 1;
      while (isCjkUnit(v)) v++;
      if (v - u === 1) {
        out.push(units[u++]);
        continue;
      }
      const chars = units.slice(u, v).map((x) => tk.vocab.tokens[ids[x[0]]]);
      const words = this.segment(chars.join(''));
      const lens = words.map((wd) => [...wd].length);
      if (lens.reduce((a, b) => a + b, 0) !== chars.length) {
        for (let k = u; k < v; k++) out.push(units[k]); // segmenter disagreed: fall back to characters
      } else {
        let k = u;
        for (const len of lens) {
          out.push(units.slice(k, k + len).map((x) => x[0]));
          k += len;
        }
      }
      u = v;
    }
    return out;
  }

  private pickStrategy(rng: Rng): MaskStrategyName {
    if (typeof this.strategy === 'string') return this.strategy;
    const m = this.strategy.mixture;
    return m[weightedChoice(rng, m.map((x) => x.weight))].strategy;
  }

  /** A span length in words: geometric(spanP) truncated to 1..spanMaxWords and renormalised. */
  spanLength(rng: Rng): number {
    const u = rng();
    for (let k = 0; k < this.spanCdf.length; k++) if (u < this.spanCdf[k]) return k + 1;
    return this.spanCdf.length;
  }

  /** Chosen units (groups of positions) for one sequence. */
  private choose(ids: ArrayLike<number>, strategy: MaskStrategyName, rng: Rng): number[][] {
    const tk = this.tokenizer;
    if (strategy === 'random') {
      const chosen: number[][] = [];
      for (let i = 0; i < ids.length; i++) {
        if (!tk.isSpecialId(ids[i]) && rng() < this.probability) chosen.push([i]);
      }
      // Validate ids the way wordUnits does (random never calls it).
      for (let i = 0; i < ids.length; i++) {
        if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= tk.vocabSize) {
          throw new Error(`MlmCollator: token id ${ids[i]} at position ${i} is outside the vocabulary (size ${tk.vocabSize})`);
        }
      }
      return chosen;
    }
    const units = this.wordUnits(ids);
    let n = 0;
    for (const u of units) n += u.length;
    if (n === 0 || this.probability === 0) return [];
    const budget = Math.max(1, Math.round(n * this.probability));
    const taken = new Uint8Array(units.length);
    const chosen: number[][] = [];
    let covered = 0;
    const wholeWords = (order: number[]) => {
      for (const k of order) {
        if (covered >= budget) break;
        if (taken[k] || covered + units[k].length > budget) continue;
        taken[k] = 1;
        chosen.push(units[k]);
        covered += units[k].length;
      }
    };
    const remaining = () => shuffleInPlace(units.map((_, k) => k).filter((k) => !taken[k]), rng);

    if (strategy === 'whole-word') {
      wholeWords(remaining());
    } else if (strategy === 'span') {
      let attempts = 0;
      while (covered < budget && attempts++ < 10 * units.length + 10) {
        const len = this.spanLength(rng);
        const anchor = randInt(rng, units.length);
        if (taken[anchor]) continue;
        const span: number[] = [];
        for (let k = anchor; k < units.length && k < anchor + len && !taken[k] && covered < budget; k++) {
          taken[k] = 1;
          span.push(...units[k]);
          covered += units[k].length;
        }
        chosen.push(span);
      }
    } else {
      // entity: word-aligned gazetteer matches first, whole; then random whole words.
      const unitOfPos = new Int32Array(ids.length).fill(-1);
      units.forEach((u, k) => u.forEach((p) => (unitOfPos[p] = k)));
      const matches: number[][] = [];
      for (let k = 0; k < units.length; k++) {
        const start = units[k][0];
        for (const phrase of this.entities.get(ids[start]) ?? []) {
          const end = start + phrase.length; // exclusive
          if (end > ids.length) continue;
          let ok = true;
          for (let j = 0; j < phrase.length && ok; j++) ok = ids[start + j] === phrase[j] && unitOfPos[start + j] >= 0;
          if (!ok) continue;
          const lastUnit = unitOfPos[end - 1];
          const lu = units[lastUnit];
          if (lu[lu.length - 1] !== end - 1) continue; // must end at a word end
          const span: number[] = [];
          for (let q = k; q <= lastUnit; q++) span.push(q);
          matches.push(span);
        }
      }
      shuffleInPlace(matches, rng);
      for (const m of matches) {
        if (covered >= budget) break;
        if (m.some((q) => taken[q])) continue;
        const size = m.reduce((a, q) => a + units[q].length, 0);
        if (covered + size > budget) continue;
        const span: number[] = [];
        for (const q of m) {
          taken[q] = 1;
          span.push(...units[q]);
        }
        chosen.push(span);
        covered += size;
      }
      wholeWords(remaining());
    }
    return chosen;
  }

  /** Mask one sequence (ids including [CLS]/[SEP]; no padding needed). */
  maskSequence(ids: ArrayLike<number>, rng: Rng, strategy?: MaskStrategyName): MaskedSequence {
    const s = strategy ?? this.pickStrategy(rng);
    if (!MASK_STRATEGIES.includes(s)) throw new Error(`MlmCollator: unknown masking strategy '${s}'`);
    const inputIds = Int32Array.from(ids);
    const labels = new Int32Array(ids.length).fill(-100);
    const maskId = this.tokenizer.specialIds.mask;
    const replace = (pos: number, u: number) => {
      labels[pos] = ids[pos];
      if (u < this.maskFraction) inputIds[pos] = maskId;
      else if (u < this.maskFraction + this.randomFraction) inputIds[pos] = this.randomIds[randInt(rng, this.randomIds.length)];
    };
    for (const unit of this.choose(ids, s, rng)) {
      if (this.replaceBy === 'unit') {
        const u = rng();
        for (const p of unit) replace(p, u);
      } else {
        for (const p of unit) replace(p, rng());
      }
    }
    return { inputIds, labels, strategy: s };
  }

  /** Mask and pad a batch. */
  collate(examples: readonly TokenizedExample[], rng: Rng, pad: { padTo?: number; padToMultipleOf?: number } = {}): MlmBatch {
    const masked = examples.map((e, b) => {
      if (!e || e.ids === undefined) throw new Error(`MlmCollator.collate: example ${b} has no ids`);
      return this.maskSequence(e.ids, rng);
    });
    const batch = padBatch(
      masked.map((m, b) => ({ ids: m.inputIds, tokenTypeIds: examples[b].tokenTypeIds })),
      { padId: this.tokenizer.specialIds.pad, ...pad },
      { tokenLabels: masked.map((m) => m.labels) },
    );
    return { ...batch, labels: batch.labels!, strategies: masked.map((m) => m.strategy) };
  }
}
