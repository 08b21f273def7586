// Entity-level NER scores from BIO tags, as seqeval computes them.
//
// Default mode (seqeval's default, conlleval-compatible and lenient): chunks are read with
// conlleval's start/end rules, which accept IOB1/IOB2/IOBES tags: an I-X after O or after a
// different type starts a new chunk, so predicted `I-X I-X` matches gold `B-X I-X`.
// Strict mode (seqeval mode='strict' with scheme IOB2, the default here, or IOBES): tags outside
// the scheme are an error, and only well-formed entities count.
//   IOB2:  a B-X followed by the longest run of I-X; an I-X that does not continue a B-X/I-X of
//          the same type belongs to no entity.
//   IOBES: S-X alone, or B-X, any I-X, then E-X, all of one type; an unfinished B-X I-X… is no
//          entity.
// Either way an entity is (sentence, type, start, end), and a prediction counts only when all
// four match a gold entity. Scores are reported per type (sorted), micro, macro and weighted,
// with 0/0 → 0 (seqeval's default zero_division).

import { checkNonEmpty, checkSameLength, fail } from './check.js';

export interface Entity {
  sentence: number;
  type: string;
  /** First token, inclusive. */
  start: number;
  /** Last token, inclusive. */
  end: number;
}

export type NerMode = 'default' | 'strict';
export type NerScheme = 'IOB2' | 'IOBES';

interface Tag { prefix: string; type: string }

function parseTag(fn: string, where: string, tag: string, mode: NerMode, scheme: NerScheme): Tag {
  if (typeof tag !== 'string') fail(fn, `${where} is ${String(tag)}; tags must be strings`);
  if (tag === 'O') return { prefix: 'O', type: '_' };
  const allowed = mode === 'strict' && scheme === 'IOB2' ? 'BI' : 'BIES';
  const prefix = tag[0];
  if (!allowed.includes(prefix) || (tag.length > 1 && tag[1] !== '-')) {
    const name = mode === 'strict' ? scheme : 'IOB/IOBES';
    fail(fn, `${where} = ${JSON.stringify(tag)} is not a valid ${name} tag (expected O, ${[...allowed].map((p) => `${p}-TYPE`).join(', ')})`);
  }
  // seqeval: type = text after the first '-', '_' when there is none
  return { prefix, type: tag.slice(2) || '_' };
}

// conlleval's rules, as seqeval's end_of_chunk / start_of_chunk
function endOfChunk(prev: Tag, cur: Tag): boolean {
  const p = prev.prefix, t = cur.prefix;
  if (p === 'E' || p === 'S') return true;
  if ((p === 'B' || p === 'I') && (t === 'B' || t === 'S' || t === 'O')) return true;
  return p !== 'O' && prev.type !== cur.type;
}

function startOfChunk(prev: Tag, cur: Tag): boolean {
  const p = prev.prefix, t = cur.prefix;
  if (t === 'B' || t === 'S') return true;
  if ((p === 'E' || p === 'S' || p === 'O') && (t === 'E' || t === 'I')) return true;
  return t !== 'O' && prev.type !== cur.type;
}

const OUTSIDE: Tag = { prefix: 'O', type: '_' };

/** Entities of one tagged sentence. */
export function sentenceEntities(
  tags: readonly string[],
  opts: { mode?: NerMode; scheme?: NerScheme; sentence?: number; fn?: string; name?: string } = {},
): Entity[] {
  const mode = opts.mode ?? 'default';
  const scheme = opts.scheme ?? 'IOB2';
  const fn = opts.fn ?? 'sentenceEntities';
  if (scheme !== 'IOB2' && scheme !== 'IOBES') fail(fn, `'scheme' must be 'IOB2' or 'IOBES', got ${String(scheme)}`);
  const name = opts.name ?? 'tags';
  const sentence = opts.sentence ?? 0;
  const parsed = tags.map((t, i) => parseTag(fn, `${name}[${i}]`, t, mode, scheme));
  const out: Entity[] = [];
  if (mode === 'strict' && scheme === 'IOBES') {
    let i = 0;
    while (i < parsed.length) {
      const t = parsed[i];
      if (t.prefix === 'S') { out.push({ sentence, type: t.type, start: i, end: i }); i++; continue; }
      if (t.prefix !== 'B') { i++; continue; }
      let j = i + 1;
      while (j < parsed.length && parsed[j].prefix === 'I' && parsed[j].type === t.type) j++;
      if (j < parsed.length && parsed[j].prefix === 'E' && parsed[j].type === t.type) {
        out.push({ sentence, type: t.type, start: i, end: j });
        i = j + 1;
      } else {
        i = j; // unfinished: B-X I-X… not closed by E-X is no entity
      }
    }
    return out;
  }
  if (mode === 'strict') {
    let i = 0;
    while (i < parsed.length) {
      const t = parsed[i];
      if (t.prefix !== 'B') { i++; continue; }
      let j = i + 1;
      while (j < parsed.length && parsed[j].prefix === 'I' && parsed[j].type === t.type) j++;
      out.push({ sentence, type: t.type, start: i, end: j - 1 });
      i = j;
    }
    return out;
  }
  let prev = OUTSIDE;
  let begin = 0;
  for (let i = 0; i <= parsed.length; i++) {
    const cur = i < parsed.length ? parsed[i] : OUTSIDE; // a trailing O closes the last chunk
    if (endOfChunk(prev, cur)) out.push({ sentence, type: prev.type, start: begin, end: i - 1 });
    if (startOfChunk(prev, cur)) begin = i;
    prev = cur;
  }
  return out;
}

export interface NerTypeScores {
  precision: number;
  recall: number;
  f1: number;
  /** Gold entities of this type. */
  support: number;
  /** Predicted entities of this type. */
  predicted: number;
  /** Correct predicted entities. */
  correct: number;
}

export interface NerScores {
  /** Per entity type, types sorted. */
  perType: Record<string, NerTypeScores>;
  micro: NerTypeScores;
  macro: { precision: number; recall: number; f1: number; support: number };
  weighted: { precision: number; recall: number; f1: number; support: number };
}

function prf(correct: number, predicted: number, support: number): NerTypeScores {
  const precision = predicted ? correct / predicted : 0;
  const recall = support ? correct / support : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, support, predicted, correct };
}

/**
 * Entity-level precision / recall / F1 of predicted tag sequences against gold ones, one array
 * of tags per sentence. mode 'default' = seqeval's default (lenient); 'strict' = seqeval
 * mode='strict' with `scheme` (IOB2 by default, or IOBES). `scheme` is ignored in default mode.
 */
export function nerScores(
  gold: ReadonlyArray<readonly string[]>,
  pred: ReadonlyArray<readonly string[]>,
  opts: { mode?: NerMode; scheme?: NerScheme } = {},
): NerScores {
  const fn = 'nerScores';
  const mode = opts.mode ?? 'default';
  const scheme = opts.scheme ?? 'IOB2';
  if (mode !== 'default' && mode !== 'strict') fail(fn, `'mode' must be 'default' or 'strict', got ${String(mode)}`);
  checkNonEmpty(fn, 'gold', gold);
  checkSameLength(fn, 'gold', gold, 'pred', pred);
  const key = (e: Entity) => `${e.sentence}\u0000${e.start}\u0000${e.end}`;
  const goldBy = new Map<string, Set<string>>();
  const predBy = new Map<string, Set<string>>();
  for (let s = 0; s < gold.length; s++) {
    if (!Array.isArray(gold[s])) fail(fn, `'gold[${s}]' is not an array of tags`);
    if (!Array.isArray(pred[s])) fail(fn, `'pred[${s}]' is not an array of tags`);
    if (gold[s].length !== pred[s].length) {
      fail(fn, `sentence ${s}: 'gold[${s}]' has ${gold[s].length} tags but 'pred[${s}]' has ${pred[s].length}`);
    }
    for (const [arr, by, name] of [[gold[s], goldBy, 'gold'], [pred[s], predBy, 'pred']] as const) {
      for (const e of sentenceEntities(arr, { mode, scheme, sentence: s, fn, name: `${name}[${s}]` })) {
        if (!by.has(e.type)) by.set(e.type, new Set());
        by.get(e.type)!.add(key(e));
      }
    }
  }
  const types = [...new Set([...goldBy.keys(), ...predBy.keys()])].sort();
  const perType: Record<string, NerTypeScores> = {};
  let c = 0, p = 0, g = 0;
  for (const type of types) {
    const gs = goldBy.get(type) ?? new Set<string>();
    const ps = predBy.get(type) ?? new Set<string>();
    let correct = 0;
    for (const k of ps) if (gs.has(k)) correct++;
    perType[type] = prf(correct, ps.size, gs.size);
    c += correct; p += ps.size; g += gs.size;
  }
  const list = types.map((t) => perType[t]);
  const mean = (k: 'precision' | 'recall' | 'f1') => (list.length ? list.reduce((s, x) => s + x[k], 0) / list.length : 0);
  const wmean = (k: 'precision' | 'recall' | 'f1') => (g ? list.reduce((s, x) => s + x[k] * x.support, 0) / g : 0);
  return {
    perType,
    micro: prf(c, p, g),
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support: g },
    weighted: { precision: wmean('precision'), recall: wmean('recall'), f1: wmean('f1'), support: g },
  };
}

/** Row or column of a confusion table that is not an entity type. */
export const MISSED = 'missed';
export const SPURIOUS = 'spurious';

/**
 * Confusion of entity types, counted on entity spans: counts[gold][pred]. A gold entity whose
 * exact span (sentence, start, end) a predicted entity also has counts under that prediction's
 * type (the diagonal = correct types); a gold entity with no predicted entity on its span counts
 * under pred = 'missed'; a predicted entity on no gold span counts under gold = 'spurious'.
 * Entities are read as nerScores reads them (mode / scheme). Each gold entity is counted once,
 * each predicted entity at most once: Σ over a gold row = gold entities of that type, Σ over a
 * predicted column (incl. 'spurious') = predicted entities of that type.
 */
export function nerConfusion(
  gold: ReadonlyArray<readonly string[]>,
  pred: ReadonlyArray<readonly string[]>,
  opts: { mode?: NerMode; scheme?: NerScheme } = {},
): Record<string, Record<string, number>> {
  const fn = 'nerConfusion';
  checkNonEmpty(fn, 'gold', gold);
  checkSameLength(fn, 'gold', gold, 'pred', pred);
  const counts: Record<string, Record<string, number>> = {};
  const add = (g: string, p: string) => {
    counts[g] ??= {};
    counts[g][p] = (counts[g][p] ?? 0) + 1;
  };
  for (let s = 0; s < gold.length; s++) {
    if (gold[s].length !== pred[s].length) fail(fn, `sentence ${s}: 'gold[${s}]' has ${gold[s].length} tags but 'pred[${s}]' has ${pred[s].length}`);
    const ge = sentenceEntities(gold[s], { ...opts, sentence: s, fn, name: `gold[${s}]` });
    const pe = sentenceEntities(pred[s], { ...opts, sentence: s, fn, name: `pred[${s}]` });
    const span = (e: Entity) => `${e.start}:${e.end}`;
    const predBySpan = new Map(pe.map((e) => [span(e), e]));
    const goldSpans = new Set(ge.map(span));
    for (const e of ge) add(e.type, predBySpan.get(span(e))?.type ?? MISSED);
    for (const e of pe) if (!goldSpans.has(span(e))) add(SPURIOUS, e.type);
  }
  return counts;
}
