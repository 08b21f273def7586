// pretrain_en: general English for the base model — WordNet definitions and example sentences
// plus Debian fortunes, one unit per line, packed into documents of ≤ 1,000 characters.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmp, normalise } from '../text.js';
import { packLines, pct, pickByHash, shortId, type Built } from './common.js';
import { countsTable } from './output.js';
import type { Synset } from './wordnet.js';

/** Reads a strfile-style fortune file: entries separated by lines holding only '%'. */
export function splitFortunes(content: string): string[] {
  return content.replace(/\r\n/gu, '\n').split(/\n%\n/u).map((e) => e.replace(/^%\n/u, '').replace(/\n%\s*$/u, '').trim()).filter(Boolean);
}

/** Every plain fortune file (no .dat index, no symlinks) under a folder, by sorted name. */
export function fortuneFiles(dir: string, exclude: readonly string[] = []): string[] {
  if (!existsSync(dir)) throw new Error(`no fortunes folder at ${dir}`);
  return readdirSync(dir).sort(cmp).filter((f) => !f.endsWith('.dat') && !f.endsWith('.u8') && !exclude.includes(f) && lstatSync(join(dir, f)).isFile()).map((f) => join(dir, f));
}

export function buildPretrainEn(synsets: readonly Synset[], fortunesDir: string, heldOutSynsets: Set<string>,
  heldOutTexts: Set<string>, sources: string[], maxBytes: number): Built {
  const units: { text: string; src: 'definition' | 'example' | 'fortune' }[] = [];
  let skippedSynsets = 0;
  for (const s of synsets) {
    if (heldOutSynsets.has(s.key)) { skippedSynsets++; continue; }
    if (s.definition) units.push({ text: s.definition, src: 'definition' });
    for (const e of s.examples) units.push({ text: e, src: 'example' });
  }
  let fortuneCount = 0;
  for (const f of fortuneFiles(fortunesDir, ['ascii-art'])) {
    for (const e of splitFortunes(readFileSync(f, 'utf8'))) {
      units.push({ text: e.replace(/\s+/gu, ' ').trim(), src: 'fortune' });
      fortuneCount++;
    }
  }
  const seen = new Set<string>();
  const unique: typeof units = [];
  let dupes = 0;
  let heldOut = 0;
  for (const u of units) {
    const k = normalise(u.text);
    if (!k) continue;
    if (heldOutTexts.has(k)) { heldOut++; continue; }
    if (seen.has(k)) { dupes++; continue; }
    seen.add(k);
    unique.push(u);
  }
  // A seeded shuffle, then the longest prefix that fits the byte budget.
  const shuffled = pickByHash(unique, unique.length, 'pretrain_en', (u) => normalise(u.text));
  const chosen: typeof units = [];
  let bytes = 0;
  for (const u of shuffled) {
    const b = Buffer.byteLength(u.text) + 1;
    if (bytes + b > maxBytes) break;
    chosen.push(u);
    bytes += b;
  }
  const bySrc = (xs: typeof units, s: string): number => xs.filter((u) => u.src === s).length;
  const docs = packLines(chosen.map((u) => u.text), 1000);
  const rows = docs.map((d) => ({ id: shortId('pe', d), text: d }));
  return {
    name: 'pretrain_en',
    sources,
    files: { 'corpus.jsonl': { kind: 'corpus', rows } },
    card: (files) => `# pretrain_en — general English pretraining corpus

**Sources:** ${sources.map((s) => `\`${s}\``).join(', ')}.
**Licences:** WordNet 3.1 licence (BSD-like); Debian \`fortunes\` is BSD-licensed (the separate
\`fortunes-off\` package is not used). See ../LICENSES.md.
**Rows:** \`{id, text}\`; each text is a document of ≤ 1,000 characters made of whole units,
**one unit per line** (a definition, an example sentence, or one fortune with its line breaks
collapsed to spaces).

## How it was built
1. Units: every WordNet definition and quoted example sentence (${bySrc(units, 'definition')} + ${bySrc(units, 'example')}), and
   every entry of every fortunes file (${fortuneCount}; \`%\`-separated).
2. Removed the ${skippedSynsets} synsets behind the dev/test rows of wn_topic and ner_en, and ${heldOut} units
   equal (normalised) to a dev/test text of wn_topic or ner_en.
3. Deduplicated by normalised text (${dupes} repeats removed).
4. Seeded shuffle (seed \`pretrain_en\`), then the prefix that fits ${(maxBytes / 1e6).toFixed(1)} MB (the repository
   budget): ${chosen.length} of ${unique.length} units kept (${pct(chosen.length, unique.length)}): ${bySrc(chosen, 'definition')} definitions,
   ${bySrc(chosen, 'example')} examples, ${bySrc(chosen, 'fortune')} fortunes.
5. Packed in shuffled order into documents of at most 1,000 characters.

## Counts
${countsTable(files)}

## Leakage checks
- The datasets test asserts that no line of this corpus equals (normalised) any row of any
  dev or test split (wn_topic, ner_en, email, changelog_urgency, en_zh_pairs English side).
- wn_topic / ner_en dev and test synsets are excluded entirely (definitions and examples).

## Known noise
- WordNet definitions are fragments ("a small dog …"), not full sentences; fortunes include
  jokes, verse and ASCII layouts flattened to one line.
- Units are shuffled, so documents are not coherent discourse (fine for MLM, not for NSP).
`,
  };
}
