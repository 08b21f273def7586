// pretrain_en: general English for the base model. Units (one per line): WordNet definitions and
// example sentences, Debian fortunes, and paragraphs of prose from pinned Debian packages
// (dictionaries, manuals, a Bible translation, an FAQ), cleaned by prose.ts. Rows are documents
// of ≤ 1,000 characters. The full corpus (pretrain_en_full, not committed) holds every row; the
// committed pretrain_en is a seeded sample of those rows that fits the repository budget.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmp, normalise, sha256Hex } from '../text.js';
import { packLines, pct, pickByHash, shortId, type Built } from './common.js';
import { countsTable } from './output.js';
import { looksLikeMail, proseProblem, splitLong } from './prose.js';
import type { ProseDoc } from './prose_sources.js';
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

/** Longest row (characters); a longer paragraph is cut at sentence ends. */
export const ROW_CHARS = 1000;

export interface PretrainInputs {
  synsets: readonly Synset[];
  fortunesDir: string;
  /** Prose documents of every other source, in a fixed order. */
  docs: readonly ProseDoc[];
  /** Synsets behind wn_topic / ner_en dev and test rows: none of their text is used. */
  heldOutSynsets: Set<string>;
  /** Normalised texts that must not appear as a unit: every dev/test text of every labelled
   * dataset, and every e-mail body (any split). */
  heldOutTexts: Set<string>;
  /** Per-source cap in characters of kept paragraphs (whole documents, seeded order). */
  caps: Record<string, number>;
  sources: string[];
  sampleBytes: number;
}

interface Unit { text: string; src: string }
interface SourceStats { docs: number; paragraphs: number; chars: number; kept: number; keptChars: number; dropped: Record<string, number> }

/** Per-source statistics and the kept units of each source, documents in order (a dictionary
 * entry is a document of one or two paragraphs, so rows are packed across documents of one
 * source: a row may end one document and begin the next). */
function proseUnits(docs: readonly ProseDoc[], caps: Record<string, number>, stats: Map<string, SourceStats>): Unit[][] {
  const bySource = new Map<string, ProseDoc[]>();
  for (const d of docs) {
    let xs = bySource.get(d.source);
    if (!xs) bySource.set(d.source, (xs = []));
    xs.push(d);
  }
  const out: Unit[][] = [];
  for (const [source, ds] of bySource) {
    const st: SourceStats = { docs: 0, paragraphs: 0, chars: 0, kept: 0, keptChars: 0, dropped: {} };
    stats.set(source, st);
    const cap = caps[source] ?? Infinity;
    // A capped source contributes whole documents in a seeded order until the cap.
    const ordered = Number.isFinite(cap) ? pickByHash(ds, ds.length, `pretrain_en:${source}`, (d) => d.doc) : ds;
    const units: Unit[] = [];
    for (const d of ordered) {
      if (st.keptChars >= cap) break;
      st.docs++;
      for (const p of d.paragraphs) {
        st.paragraphs++;
        st.chars += p.length;
        const why = proseProblem(p);
        if (why) { st.dropped[why] = (st.dropped[why] ?? 0) + 1; continue; }
        st.kept++;
        st.keptChars += p.length;
        for (const piece of splitLong(p, ROW_CHARS)) units.push({ text: piece, src: source });
      }
    }
    if (units.length) out.push(units);
  }
  return out;
}

export function buildPretrainEn(inp: PretrainInputs): { sample: Built; full: Built } {
  const stats = new Map<string, SourceStats>();
  // 1. WordNet and fortunes: short units, shuffled and packed as before.
  const wnSt: SourceStats = { docs: 0, paragraphs: 0, chars: 0, kept: 0, keptChars: 0, dropped: {} };
  const shortUnits: Unit[] = [];
  let skippedSynsets = 0;
  for (const s of inp.synsets) {
    if (inp.heldOutSynsets.has(s.key)) { skippedSynsets++; continue; }
    for (const t of [s.definition, ...s.examples]) {
      if (!t) continue;
      wnSt.paragraphs++;
      wnSt.chars += t.length;
      wnSt.kept++;
      wnSt.keptChars += t.length;
      shortUnits.push({ text: t, src: 'wordnet' });
    }
  }
  stats.set('wordnet', wnSt);
  const heldOutWordNet = new Set<string>();
  for (const s of inp.synsets) if (inp.heldOutSynsets.has(s.key)) for (const t of [s.definition, ...s.examples]) if (t) heldOutWordNet.add(normalise(t));
  const foSt: SourceStats = { docs: 0, paragraphs: 0, chars: 0, kept: 0, keptChars: 0, dropped: {} };
  for (const f of fortuneFiles(inp.fortunesDir, ['ascii-art'])) {
    foSt.docs++;
    for (const e of splitFortunes(readFileSync(f, 'utf8'))) {
      const t = e.replace(/\s+/gu, ' ').trim();
      foSt.paragraphs++;
      foSt.chars += t.length;
      if (looksLikeMail(t)) { foSt.dropped['e-mail'] = (foSt.dropped['e-mail'] ?? 0) + 1; continue; }
      foSt.kept++;
      foSt.keptChars += t.length;
      for (const piece of splitLong(t, ROW_CHARS)) shortUnits.push({ text: piece, src: 'fortunes' });
    }
  }
  stats.set('fortunes', foSt);
  // 2. Prose: paragraphs judged by proseProblem, kept in document order.
  const docUnits = proseUnits(inp.docs, inp.caps, stats);

  // 3. One dedupe and exclusion pass over everything, in a fixed order (short units first).
  const seen = new Set<string>();
  let dupes = 0;
  let heldOut = 0;
  const keep = (u: Unit): boolean => {
    const k = normalise(u.text);
    if (!k) return false;
    if (inp.heldOutTexts.has(k) || heldOutWordNet.has(k)) { heldOut++; return false; }
    if (seen.has(k)) { dupes++; return false; }
    seen.add(k);
    return true;
  };
  const short = shortUnits.filter(keep);
  const shuffled = pickByHash(short, short.length, 'pretrain_en', (u) => normalise(u.text));
  const texts: { text: string; src: string }[] = [];
  for (const d of packLines(shuffled.map((u) => u.text), ROW_CHARS)) texts.push({ text: d, src: 'short' });
  for (const units of docUnits) {
    const kept = units.filter(keep);
    for (const d of packLines(kept.map((u) => u.text), ROW_CHARS)) texts.push({ text: d, src: units[0]!.src });
  }
  // 4. All rows in one seeded order; the sample is the seeded prefix that fits the budget.
  const rows = texts.map((t) => ({ h: sha256Hex(`order:pretrain_en:${normalise(t.text)}`), row: { id: shortId('pe', t.text), text: t.text } }))
    .sort((a, b) => cmp(a.h, b.h)).map((x) => x.row);
  const sample: typeof rows = [];
  let bytes = 0;
  for (const r of rows) {
    const b = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (bytes + b > inp.sampleBytes) break;
    sample.push(r);
    bytes += b;
  }
  const fullChars = rows.reduce((n, r) => n + r.text.length, 0);
  const statTable = (): string => {
    const head = '| source | documents | paragraphs / units | characters in | kept | kept characters | dropped (reason: count) |\n|---|---:|---:|---:|---:|---:|---|';
    const lines = [...stats].map(([s, st]) => `| ${s} | ${st.docs} | ${st.paragraphs} | ${st.chars} | ${st.kept} | ${st.keptChars} | ${Object.entries(st.dropped).sort(([a], [b]) => cmp(a, b)).map(([k, v]) => `${k}: ${v}`).join(', ')} |`);
    return [head, ...lines].join('\n');
  };
  const common = `**Sources:** ${inp.sources.map((s) => `\`${s}\``).join(", ")}.
**Licences:** see ../LICENSES.md (pretrain_en section): WordNet licence, BSD (fortunes), GPL-2+ /
GPL-3+ (GCIDE, handbook, FAQ, references), GFDL (FOLDOC, GIMP manual), CC-BY-SA-3.0 (GNOME help),
public domain (Jargon File, World English Bible).
**Rows:** \`{id, text}\`; each text is a document of ≤ ${ROW_CHARS} characters, **one unit per line**
(a WordNet definition or example, a fortune, or a paragraph of prose; consecutive paragraphs of one
source document stay together and in order).

## Two files
- \`pretrain_en/corpus.jsonl\` (committed): ${sample.length} of the ${rows.length} rows, the prefix of the
  seeded row order that fits ${(inp.sampleBytes / 1e6).toFixed(1)} MB. Tests and the \`micro\` preset use it offline.
- \`pretrain_en_full/corpus.jsonl\` (**not committed**, git-ignored): all ${rows.length} rows, ${(fullChars / 1e6).toFixed(1)} M characters.
  Build it with \`npm run datasets:build -- pretrain_en\` (downloads the pinned packages, a few
  minutes); \`npm run datasets:verify\` checks it against manifest.json when it is present. Use it with
  \`tunebench pretrain --dataset pretrain_en_full\` (or \`data.dataset: "pretrain_en_full"\`).

## How it was built
1. WordNet: every definition and quoted example sentence except those of the ${skippedSynsets} synsets behind the
   dev/test rows of wn_topic and ner_en. Fortunes: every entry of every file but \`ascii-art\`,
   line breaks collapsed (\`fortunes-off\` is not used).
2. Prose sources: HTML / Mallard / Markdown / dictionary text → paragraphs (src/build/prose_sources.ts);
   code blocks, tables, headings, navigation and front matter are never read. Each paragraph is then
   judged by \`proseProblem\` (src/build/prose.ts), which drops: short (< 6 words), few letters,
   e-mail (addresses, headers, salutations), licence boilerplate, URLs, markup residue, table or
   layout, code (> 12 % code-like words), capitals, no sentence end, no function words.
   Paragraphs over ${ROW_CHARS} characters are cut at sentence ends.${Object.keys(inp.caps).length ? `
   Capped sources (whole documents in seeded order until the cap): ${Object.entries(inp.caps).map(([s, c]) => `${s} ${(c / 1e6).toFixed(1)} M characters`).join(', ')}.` : ''}
3. Removed ${heldOut} units equal (normalised) to a dev/test text of any labelled dataset, an e-mail body of any
   split, or a text of a held-out synset; removed ${dupes} repeated units (normalised text).
4. WordNet and fortune units are shuffled (seed \`pretrain_en\`) and packed; prose units are packed
   per source, documents in order (so a row may end one document and begin the next; a dictionary
   entry is a short document). All rows are then ordered by a seeded hash of their text.

## Per source (kept = after the prose filter, before dedupe)
${statTable()}

## Leakage checks
- The datasets tests assert that no line of the committed sample equals (normalised) any row of any
  dev or test split (wn_topic, ner_en, email, changelog_urgency, en_zh_pairs English side; the
  wn_topic / ner_en rows are the glosses of the held-out synsets) nor any e-mail body of any split,
  and that it holds no e-mail address or mail header line; when pretrain_en_full is built, that
  every sample row is one of its rows.
- The examples of held-out synsets are not in the shipped data, so the test cannot see them: the
  builder drops them (steps 1 and 3), for the full corpus and the sample alike.

## Known noise
- WordNet and GCIDE definitions are fragments ("a small dog …"); GCIDE is Webster 1913 (archaic
  spellings, literary quotations). The FAQ (anarchism) argues one political position (hence its cap).
  Manuals (Debian, GIMP, GNOME) are technical: command and file names occur inside sentences.
- WordNet / fortune rows are shuffled units, not coherent discourse; prose rows keep paragraph order.
`;
  const sampleFiles = { 'corpus.jsonl': { kind: 'corpus' as const, rows: sample } };
  const fullFiles = { 'corpus.jsonl': { kind: 'corpus' as const, rows } };
  return {
    sample: { name: 'pretrain_en', sources: inp.sources, files: sampleFiles,
      card: (files) => `# pretrain_en — general English pretraining corpus (committed sample)\n\n${common}\n## Counts (sample)\n${countsTable(files)}\n` },
    full: { name: 'pretrain_en_full', sources: inp.sources, files: fullFiles,
      card: (files) => `# pretrain_en_full — the full general English corpus (built on demand, not committed)\n\nThe card of both files is ../pretrain_en/README.md. Build: \`npm run datasets:build -- pretrain_en\`.\n\n## Counts (full)\n${countsTable(files)}\n` },
  };
}
