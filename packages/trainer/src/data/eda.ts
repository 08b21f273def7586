// EDA: Easy Data Augmentation (Wei & Zou 2019), following the authors' eda.py:
//   synonym replacement  n_sr = max(1, ⌊α_sr·words⌋) distinct non-stop-words replaced (every
//                        occurrence) by a random synonym;
//   random insertion     n_ri times: the first synonym of a random word (up to 10 tries to find a
//                        word with synonyms) inserted at a random position in [0, len − 1];
//   random swap          n_rs times: swap two random positions (up to 3 tries to find distinct ones);
//   random deletion      each word dropped with probability p_rd; never returns an empty sentence.
// Per sentence: ⌊num_aug/4⌋ + 1 sentences per technique, shuffled, the first num_aug kept, the
// cleaned original appended last. Defaults α = 0.1 for all four, num_aug = 9.
// Text is cleaned as eda.py's get_only_chars (lowercase, a–z and spaces only) unless
// `normalize: 'whitespace'` (split on whitespace, keep everything: for other languages), or
// `normalize: 'zh'` for Chinese: eda.py's cleaning would delete every character and Chinese has no
// spaces, so the words are jieba's (data/chinese.ts) and are joined without spaces; only swap and
// deletion run (the synonym map is English WordNet: replacement and insertion would find nothing
// and return the sentence unchanged), each with the budget ⌊num_aug/2⌋ + 1 sentences.
// Synonyms come from a map lemma → synonyms (most frequent sense first), e.g. the WordNet map
// that @tunebench/datasets ships (SYNONYMS_PATH, the default here); eda.py used NLTK's WordNet directly.

import { existsSync, readFileSync } from 'node:fs';
import { SYNONYMS_PATH } from '@tunebench/datasets';
import { randInt, shuffleInPlace, type Rng } from './rng.js';
import { jiebaSegmenter } from './chinese.js';
import { isChineseChar } from '../tokenizer/basic.js';

export type SynonymMap = ReadonlyMap<string, readonly string[]>;

/** eda.py's stop-word list (never chosen for synonym replacement). */
export const EDA_STOP_WORDS: ReadonlySet<string> = new Set([
  'i', 'me', 'my', 'myself', 'we', 'our', 'ours', 'ourselves', 'you', 'your', 'yours', 'yourself',
  'yourselves', 'he', 'him', 'his', 'himself', 'she', 'her', 'hers', 'herself', 'it', 'its', 'itself',
  'they', 'them', 'their', 'theirs', 'themselves', 'what', 'which', 'who', 'whom', 'this', 'that',
  'these', 'those', 'am', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'have', 'has', 'had',
  'having', 'do', 'does', 'did', 'doing', 'a', 'an', 'the', 'and', 'but', 'if', 'or', 'because', 'as',
  'until', 'while', 'of', 'at', 'by', 'for', 'with', 'about', 'against', 'between', 'into', 'through',
  'during', 'before', 'after', 'above', 'below', 'to', 'from', 'up', 'down', 'in', 'out', 'on', 'off',
  'over', 'under', 'again', 'further', 'then', 'once', 'here', 'there', 'when', 'where', 'why', 'how',
  'all', 'any', 'both', 'each', 'few', 'more', 'most', 'other', 'some', 'such', 'no', 'nor', 'not',
  'only', 'own', 'same', 'so', 'than', 'too', 'very', 's', 't', 'can', 'will', 'just', 'don',
  'should', 'now', '',
]);

/** Validate a plain object lemma → synonyms (or { synonyms: {...} }) into a SynonymMap. */
export function synonymMapFromObject(obj: unknown, source = 'synonym map'): SynonymMap {
  let o = obj;
  if (o && typeof o === 'object' && !Array.isArray(o) && 'synonyms' in o && typeof (o as { synonyms: unknown }).synonyms === 'object') {
    o = (o as { synonyms: unknown }).synonyms;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${source}: expected an object mapping each lemma to a list of synonyms`);
  const m = new Map<string, string[]>();
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      throw new Error(`${source}: the synonyms of ${JSON.stringify(k)} must be a list of strings`);
    }
    m.set(k, v as string[]);
  }
  return m;
}

/** Read a synonym-map JSON file; errors name the file. */
export function loadSynonymMap(path: string = SYNONYMS_PATH): SynonymMap {
  if (!existsSync(path)) throw new Error(`synonym map not found: ${path} (build it with the datasets package)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return synonymMapFromObject(parsed, path);
}

/** Like loadSynonymMap, but null when the file does not exist (yet). */
export function tryLoadSynonymMap(path: string = SYNONYMS_PATH): SynonymMap | null {
  return existsSync(path) ? loadSynonymMap(path) : null;
}

/** eda.py's get_only_chars: lowercase; apostrophes removed; a–z kept; everything else a space. */
export function edaCleanText(line: string): string {
  const s = line.replace(/[’']/g, '').replace(/[-\t\n]/g, ' ').toLowerCase();
  let out = '';
  for (const ch of s) out += ch >= 'a' && ch <= 'z' ? ch : ' ';
  return out.replace(/ +/g, ' ').replace(/^ /, '');
}

export interface EdaOptions {
  synonyms: SynonymMap;
  rng: Rng;
  alphaSr?: number;
  alphaRi?: number;
  alphaRs?: number;
  pRd?: number;
  numAug?: number;
  stopWords?: ReadonlySet<string>;
  /** 'eda' (default): eda.py's cleaning; 'whitespace': split on whitespace only; 'zh': jieba words, swap and deletion only. */
  normalize?: EdaNormalize;
}

export type EdaNormalize = 'eda' | 'whitespace' | 'zh';

/** The EDA mode of a text: 'zh' when it has a Chinese character, else eda.py's own ('eda'). */
export function edaModeOf(text: string): EdaNormalize {
  for (const ch of text) if (isChineseChar(ch.codePointAt(0)!)) return 'zh';
  return 'eda';
}

export interface EdaContext {
  synonyms: SynonymMap;
  rng: Rng;
  stopWords: ReadonlySet<string>;
  clean: boolean;
}

/** Synonyms of a word as eda.py's get_synonyms: cleaned, without the word itself, deduplicated. */
function synonymsOf(word: string, ctx: EdaContext): string[] {
  const raw = ctx.synonyms.get(word);
  if (!raw) return [];
  const out: string[] = [];
  for (const s0 of raw) {
    let s = s0.replace(/[_-]/g, ' ');
    if (ctx.clean) s = [...s.toLowerCase()].filter((c) => (c >= 'a' && c <= 'z') || c === ' ').join('');
    s = s.trim();
    if (s.length > 0 && s !== word && !out.includes(s)) out.push(s);
  }
  return out;
}

const resplit = (words: string[]) => words.join(' ').split(' ').filter((w) => w.length > 0);

export function synonymReplacement(words: readonly string[], n: number, ctx: EdaContext): string[] {
  let out = [...words];
  const candidates = shuffleInPlace([...new Set(words.filter((w) => !ctx.stopWords.has(w)))], ctx.rng);
  let replaced = 0;
  for (const w of candidates) {
    const syns = synonymsOf(w, ctx);
    if (syns.length >= 1) {
      const s = syns[randInt(ctx.rng, syns.length)];
      out = out.map((x) => (x === w ? s : x));
      replaced++;
    }
    if (replaced >= n) break;
  }
  return resplit(out);
}

export function randomInsertion(words: readonly string[], n: number, ctx: EdaContext): string[] {
  const out = [...words];
  for (let k = 0; k < n && out.length > 0; k++) {
    let syns: string[] = [];
    for (let tries = 0; syns.length < 1 && tries < 10; tries++) syns = synonymsOf(out[randInt(ctx.rng, out.length)], ctx);
    if (syns.length === 0) continue;
    out.splice(randInt(ctx.rng, out.length), 0, syns[0]);
  }
  return resplit(out);
}

export function randomSwap(words: readonly string[], n: number, rng: Rng): string[] {
  const out = [...words];
  if (out.length < 2) return out;
  for (let k = 0; k < n; k++) {
    const i = randInt(rng, out.length);
    let j = i;
    let tries = 0;
    while (j === i && tries++ <= 3) j = randInt(rng, out.length);
    if (j === i) continue;
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function randomDeletion(words: readonly string[], p: number, rng: Rng): string[] {
  if (words.length <= 1) return [...words];
  const out = words.filter(() => rng() > p);
  if (out.length === 0) return [words[randInt(rng, words.length)]];
  return out;
}

/** EDA augmentations of one sentence; the (cleaned) original is the last element. */
export function eda(sentence: string, options: EdaOptions): string[] {
  if (typeof sentence !== 'string') throw new Error(`eda: sentence must be a string, got ${typeof sentence}`);
  const { rng, synonyms } = options;
  if (typeof rng !== 'function') throw new Error('eda: options.rng (a seeded generator) is required');
  if (!synonyms || typeof synonyms.get !== 'function') throw new Error('eda: options.synonyms must be a Map lemma → synonyms (see loadSynonymMap)');
  const alphaSr = options.alphaSr ?? 0.1;
  const alphaRi = options.alphaRi ?? 0.1;
  const alphaRs = options.alphaRs ?? 0.1;
  const pRd = options.pRd ?? 0.1;
  const numAug = options.numAug ?? 9;
  for (const [k, v] of Object.entries({ alphaSr, alphaRi, alphaRs, pRd })) {
    if (!(v >= 0 && v <= 1)) throw new Error(`eda: ${k} must be in [0, 1], got ${v}`);
  }
  if (!(numAug >= 0)) throw new Error(`eda: numAug must be ≥ 0, got ${numAug}`);
  const mode = options.normalize ?? 'eda';
  const clean = mode === 'eda';
  const ctx: EdaContext = { synonyms, rng, stopWords: options.stopWords ?? EDA_STOP_WORDS, clean };
  const zh = mode === 'zh';
  const sep = zh ? '' : ' ';
  // The original as eda() returns it: eda.py's cleaning, whitespace collapsed, or (zh) jieba's words.
  const text = zh ? '' : clean ? edaCleanText(sentence) : sentence.trim().split(/\s+/u).join(' ');
  const words = zh ? jiebaSegmenter(sentence.trim()).filter((w) => w.trim().length > 0) : text.split(' ').filter((w) => w.length > 0);
  const cleaned = zh ? words.join(sep) : text;
  if (words.length === 0) return [cleaned];
  const techniques = zh ? 2 : 4;
  const perTechnique = Math.floor(numAug / techniques) + 1;
  const nOf = (alpha: number) => Math.max(1, Math.floor(alpha * words.length));
  let aug: string[] = [];
  if (!zh && alphaSr > 0) for (let k = 0; k < perTechnique; k++) aug.push(synonymReplacement(words, nOf(alphaSr), ctx).join(sep));
  if (!zh && alphaRi > 0) for (let k = 0; k < perTechnique; k++) aug.push(randomInsertion(words, nOf(alphaRi), ctx).join(sep));
  if (alphaRs > 0) for (let k = 0; k < perTechnique; k++) aug.push(randomSwap(words, nOf(alphaRs), rng).join(sep));
  if (pRd > 0) for (let k = 0; k < perTechnique; k++) aug.push(randomDeletion(words, pRd, rng).join(sep));
  if (clean) aug = aug.map(edaCleanText);
  shuffleInPlace(aug, rng);
  if (numAug >= 1) aug = aug.slice(0, Math.floor(numAug));
  else {
    const keep = aug.length === 0 ? 0 : numAug / aug.length;
    aug = aug.filter(() => rng() < keep);
  }
  aug.push(cleaned);
  return aug;
}

/** Internal context builder for callers using the single techniques directly. */
export function edaContext(synonyms: SynonymMap, rng: Rng, options: { stopWords?: ReadonlySet<string>; normalize?: EdaNormalize } = {}): EdaContext {
  return { synonyms, rng, stopWords: options.stopWords ?? EDA_STOP_WORDS, clean: (options.normalize ?? 'eda') === 'eda' };
}
