// The WordNet synonym map used by EDA augmentation: lemma → synonyms, most frequent sense first.
// Single-word, lower-case lemmas only (proper nouns and multiword expressions are left out to keep
// the file small and the replacements safe); at most MAX_SYNONYMS per lemma.
import { cmp } from '../text.js';
import { POS_FILES, type Synset } from './wordnet.js';

export const MAX_SYNONYMS = 5;
const WORD = /^[a-z][a-z'-]*$/u;

/** `indexes[pos]` maps lemma → synset keys in sense-frequency order (index.<pos>). Senses are
 * visited rank by rank across parts of speech (rank 1 of noun, verb, adj, adv, then rank 2 …). */
export function buildSynonymMap(synsets: readonly Synset[], indexes: Record<string, Map<string, string[]>>): Record<string, string[]> {
  const byKey = new Map(synsets.map((s) => [s.key, s]));
  const lemmas = new Set<string>();
  for (const pos of POS_FILES) for (const l of indexes[pos]!.keys()) if (WORD.test(l)) lemmas.add(l);
  const out: Record<string, string[]> = {};
  for (const lemma of [...lemmas].sort(cmp)) {
    const senses = POS_FILES.map((p) => indexes[p]!.get(lemma) ?? []);
    const syns: string[] = [];
    const maxRank = Math.max(...senses.map((s) => s.length));
    for (let r = 0; r < maxRank && syns.length < MAX_SYNONYMS; r++) {
      for (const list of senses) {
        const s = list[r] ? byKey.get(list[r]!) : undefined;
        if (!s) continue;
        for (const l of s.lemmas) {
          const w = l.toLowerCase();
          if (w !== lemma && l === w && WORD.test(w) && !syns.includes(w) && syns.length < MAX_SYNONYMS) syns.push(w);
        }
      }
    }
    if (syns.length) out[lemma] = syns;
  }
  return out;
}
