// ner_en: silver BIO labels (PER / LOC / ORG) on WordNet definitions and example sentences,
// found by longest match against gazetteers. Silver, not gold: see the card.
import { normalise, sha256Hex } from '../text.js';
import { pct, pickByHash, splitByHash, type Built } from './common.js';
import { countsTable } from './output.js';
import type { Synset } from './wordnet.js';

type EntType = 'PER' | 'LOC' | 'ORG';
const ABBREV = new Set(['St', 'Mt', 'Ft', 'Dr', 'Mr', 'Mrs', 'Ms', 'Jr', 'Sr', 'Gen', 'Col', 'Capt', 'Lt',
  'Sgt', 'Rev', 'Gov', 'Sen', 'Pres', 'Co', 'Corp', 'Inc', 'Ltd', 'Bros', 'vs', 'etc', 'e.g', 'i.e']);

/** Word tokenizer: words (with inner . ' ’ - &), numbers, and single punctuation marks. A final
 * period stays on known abbreviations and dotted initialisms (St., U.S.) and is split otherwise. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}]+(?:[.'’&-][\p{L}\p{N}]+)*\.?|\S/gu)) {
    const t = m[0];
    if (t.length > 1 && t.endsWith('.')) {
      const w = t.slice(0, -1);
      if (ABBREV.has(w) || w.includes('.') || /^\p{Lu}$/u.test(w)) { out.push(t); continue; }
      out.push(w, '.');
    } else out.push(t);
  }
  return out;
}

const isCap = (t: string): boolean => /^\p{Lu}/u.test(t);

export interface Gazetteer {
  names: Map<string, EntType>; // token sequence joined by ' ' → type
  ambiguous: Set<string>;
  firstNames: Set<string>;
  maxLen: number;
  counts: Record<string, number>;
}

export function buildGazetteer(synsets: readonly Synset[], firstNames: readonly string[], states: readonly string[]): Gazetteer {
  // noun.object instances are natural places (oceans, rivers, mountains, islands): LOC.
  const typeOf: Record<string, EntType> = { 'noun.person': 'PER', 'noun.location': 'LOC', 'noun.object': 'LOC', 'noun.group': 'ORG' };
  const types = new Map<string, Set<EntType>>();
  const add = (name: string, t: EntType): void => {
    const k = tokenize(name).join(' ');
    if (!k) return;
    let s = types.get(k);
    if (!s) types.set(k, (s = new Set()));
    s.add(t);
  };
  const commonWords = new Set<string>();
  for (const s of synsets) {
    for (const l of s.lemmas) if (!isCap(l)) commonWords.add(l.toLowerCase());
    const t = typeOf[s.lexname];
    if (!t || !s.pointers.some(([sym]) => sym === '@i')) continue; // instances only
    for (const l of s.lemmas) if (isCap(l)) add(l, t);
  }
  // ORG: instances are few, so also every capitalised name whose hypernym chain reaches
  // organization.n.01 ("a group of people who work together"): parties, companies, agencies.
  // Two-letter abbreviations (AA, NT) are skipped: too often something else.
  const byKey = new Map(synsets.map((s) => [s.key, s]));
  const orgRoot = synsets.find((s) => s.pos === 'noun' && s.lemmas[0] === 'organization' && s.definition === 'a group of people who work together');
  if (orgRoot) {
    const memo = new Map<string, boolean>();
    const isOrg = (key: string, depth: number): boolean => {
      if (key === orgRoot.key) return true;
      const m = memo.get(key);
      if (m !== undefined) return m;
      const s = byKey.get(key);
      // Movements (the Enlightenment) are ideas, not organisations: the chain stops there.
      const r = depth < 40 && !!s && s.lemmas[0] !== 'movement' && s.pointers.some(([p, k]) => (p === '@' || p === '@i') && isOrg(k, depth + 1));
      memo.set(key, r);
      return r;
    };
    for (const s of synsets) {
      if (s.pos !== 'noun' || !isOrg(s.key, 0)) continue;
      for (const l of s.lemmas) if (isCap(l) && !/^\p{Lu}{1,2}$/u.test(l) && !/ism$/u.test(l)) add(l, 'ORG');
    }
  }
  for (const st of states) add(st, 'LOC');
  const first = new Set<string>();
  for (const n of firstNames) {
    if (commonWords.has(n.toLowerCase())) continue; // May, Will, Mark, Rose …
    first.add(n);
    if (!types.has(n)) add(n, 'PER');
  }
  const names = new Map<string, EntType>();
  const ambiguous = new Set<string>();
  const counts: Record<string, number> = { PER: 0, LOC: 0, ORG: 0 };
  let maxLen = 1;
  for (const [k, s] of types) {
    if (s.size > 1) { ambiguous.add(k); continue; }
    const t = [...s][0]!;
    names.set(k, t);
    counts[t]!++;
    maxLen = Math.max(maxLen, k.split(' ').length);
  }
  return { names, ambiguous, firstNames: first, maxLen, counts };
}

/** Longest-match tagging over spans that start with a capitalised token. A known first name
 * followed by capitalised tokens not in the gazetteer becomes one PER span ("John Smith").
 * Returns null when the sentence holds an ambiguous name (it is dropped rather than mislabelled). */
export function tagTokens(tokens: readonly string[], g: Gazetteer): string[] | null {
  const tags = tokens.map(() => 'O');
  for (let i = 0; i < tokens.length;) {
    if (!isCap(tokens[i]!)) { i++; continue; }
    let matched = 0;
    let type: EntType | undefined;
    for (let n = Math.min(g.maxLen, tokens.length - i); n >= 1; n--) {
      const k = tokens.slice(i, i + n).join(' ');
      if (g.ambiguous.has(k) && n > matched) return null;
      const t = g.names.get(k);
      if (t) { matched = n; type = t; break; }
    }
    if (type === 'PER' && matched === 1 && g.firstNames.has(tokens[i]!)) {
      while (i + matched < tokens.length && /^\p{Lu}\p{Ll}+$/u.test(tokens[i + matched]!) && !g.names.has(tokens[i + matched]!)) matched++;
    }
    if (!type) { i++; continue; }
    for (let j = 0; j < matched; j++) tags[i + j] = `${j === 0 ? 'B' : 'I'}-${type}`;
    i += matched;
  }
  return tags;
}

export interface NerResult { built: Built; heldOutSynsets: Set<string>; heldOutTexts: string[] }

export function buildNer(synsets: readonly Synset[], g: Gazetteer, sources: string[], maxRows: number): NerResult {
  const seen = new Set<string>();
  const positives: { key: string; tokens: string[]; tags: string[]; text: string }[] = [];
  const negatives: typeof positives = [];
  let droppedAmbiguous = 0;
  for (const s of synsets) {
    for (const text of [s.definition, ...s.examples]) {
      const norm = normalise(text);
      if (seen.has(norm) || text.length < 10) continue;
      seen.add(norm);
      const tokens = tokenize(text);
      if (tokens.length < 3 || tokens.length > 80) continue;
      const tags = tagTokens(tokens, g);
      if (!tags) { droppedAmbiguous++; continue; }
      (tags.some((t) => t !== 'O') ? positives : negatives).push({ key: s.key, tokens, tags, text });
    }
  }
  // One sentence without entities for every four with entities (real text has many such).
  const nPos = Math.min(positives.length, Math.round(maxRows * 0.8));
  const pos = pickByHash(positives, nPos, 'ner_en', (x) => normalise(x.text));
  const neg = pickByHash(negatives, Math.round(nPos / 4), 'ner_en', (x) => normalise(x.text));
  const splits = splitByHash([...pos, ...neg], 'ner_en', (x) => normalise(x.text));
  const row = (x: (typeof pos)[number]): object => ({ id: `ner-${x.key.replace(':', '-')}-${normaliseHash(x.text)}`, tokens: x.tokens, tags: x.tags });
  const heldOutSynsets = new Set([...splits.dev, ...splits.test].map((x) => x.key));
  const built: Built = {
    name: 'ner_en',
    sources,
    files: {
      'train.jsonl': { kind: 'ner', rows: splits.train.map(row) },
      'dev.jsonl': { kind: 'ner', rows: splits.dev.map(row) },
      'test.jsonl': { kind: 'ner', rows: splits.test.map(row) },
    },
    card: (files) => `# ner_en — English named entities, SILVER labels (PER / LOC / ORG)

**These labels are silver: produced by gazetteer matching, not by human annotators.** Use the
dataset to compare fine-tuning strategies against each other, not to claim absolute NER quality.

**Sources:** ${sources.map((s) => `\`${s}\``).join(', ')} (npm).
**Licences:** WordNet 3.1 licence (text and instance names); @stdlib first-name and state lists:
data PDDL-1.0 / CC0 (code Apache-2.0). See ../LICENSES.md.
**Task:** word-level BIO tagging; rows are \`{id, tokens, tags}\`, tags in O, B-/I-PER, B-/I-LOC, B-/I-ORG.

## How it was built
1. Gazetteer (${g.names.size} unambiguous names: PER ${g.counts.PER}, LOC ${g.counts.LOC}, ORG ${g.counts.ORG}):
   capitalised lemmas of WordNet *instance* synsets (pointer \`@i\`) in noun.person → PER,
   noun.location and noun.object (oceans, rivers, mountains, islands) → LOC, noun.group → ORG,
   plus every capitalised name whose hypernym chain reaches organization.n.01 → ORG (parties,
   companies, agencies; not movements, not names in -ism, no two-letter abbreviations); the 50 US state names → LOC; English first names
   (@stdlib female + male lists) → PER, minus ${g.ambiguous.size} names listed under two types and minus first
   names that are also common WordNet words (May, Will, Mark, Rose …).
2. Sentences: every WordNet definition and quoted example, tokenised (words, numbers, single
   punctuation; a final period stays on abbreviations such as "St.").
3. Longest match (up to ${g.maxLen} tokens) over spans starting with a capitalised token; a known
   first name followed by capitalised words becomes one PER span ("John Smith").
   ${droppedAmbiguous} sentences containing an ambiguous name (e.g. a name that is both a person and a
   place) were dropped instead of being labelled one way.
4. Deduplicated by normalised text before splitting; ${pos.length} sentences with entities (of
   ${positives.length} available) + ${neg.length} without, chosen by seeded hash; split 80/10/10 by hash.

## Counts (label columns = entity mentions)
${countsTable(files)}

## Leakage checks
- Split overlap: the datasets test asserts that no normalised sentence is in two splits.
- Pretraining: the synsets behind dev/test sentences (${heldOutSynsets.size}) are removed from \`pretrain_en\`,
  and the test checks that no pretraining line equals a dev/test sentence.
- The labels come from the gazetteer only; no label text is added to the tokens.

## Known noise (silver)
- Misses: names not in WordNet's instance list, lowercase or sentence-initial mentions of
  uncommon forms, nationality adjectives (Roman, French) are never tagged.
- False positives: a capitalised word that equals a person's first name or a place name used
  in another sense (e.g. a book title).
- ORG is the rarest type; WordNet files religious denominations and churches (Roman Catholic,
  Protestant) and armies under organization, so they are ORG here (OntoNotes would say NORP).
  Per-type F1 for ORG has wide confidence intervals.
- ${pct(neg.length, pos.length + neg.length)} of rows have no entity at all.
`,
  };
  return { built, heldOutSynsets, heldOutTexts: [...splits.dev, ...splits.test].map((x) => x.text) };
}


function normaliseHash(s: string): string {
  return sha256Hex(normalise(s)).slice(0, 12);
}
