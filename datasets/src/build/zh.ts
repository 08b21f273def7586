// zh_poetry (4-way genre of classical poems) and zh_pretrain (Chinese pretraining text).
// Everything is converted to simplified characters with opencc-js (t → cn): chinese-poetry keeps
// Tang and Song shi in traditional script and ci/qu in simplified, which would give the label away.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmp, normalise, stripAnsi } from '../text.js';
import { dedupeLabelled, packLines, pct, pickByHash, shortId, splitByHash, type Built } from './common.js';
import { countsTable } from './output.js';
import { splitFortunes } from './pretrain_en.js';

export const PER_GENRE = 2500;
type Convert = (s: string) => string;
interface Poem { paragraphs?: string[]; title?: string; rhythmic?: string; author?: string }

function readPoems(dir: string, pattern: RegExp): Poem[] {
  const out: Poem[] = [];
  const files = readdirSync(dir).filter((f) => pattern.test(f))
    .sort((a, b) => Number(a.match(/\d+/u)?.[0] ?? 0) - Number(b.match(/\d+/u)?.[0] ?? 0) || cmp(a, b));
  for (const f of files) out.push(...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Poem[]));
  return out;
}

/** Clauses of a Chinese text (split on sentence and clause punctuation), for overlap checks. */
export function zhClauses(text: string): string[] {
  return text.split(/[，。！？；：、,.!?;:\s]+/u).filter((c) => Array.from(c).length >= 5);
}

export interface PoetryResult { built: Built; songShiPool: string[]; heldOutClauses: Set<string> }

/** Applies a conversion until the text stops changing (opencc's t → cn is not idempotent on a
 * few characters), so the stored text is a fixed point of the converter. */
export function toFixedPoint(convert: Convert): Convert {
  return (s) => {
    let a = s;
    for (let i = 0; i < 4; i++) {
      const b = convert(a);
      if (b === a) return a;
      a = b;
    }
    return a;
  };
}

export function buildZhPoetry(distDir: string, t2sOnce: Convert, source: string, tool: string): PoetryResult {
  const t2s = toFixedPoint(t2sOnce);
  const genres: [string, Poem[]][] = [
    ['tang_shi', readPoems(join(distDir, 'quantangshi'), /^poet\.tang\.\d+\.json$/u)],
    ['song_shi', readPoems(join(distDir, 'quantangshi'), /^poet\.song\.\d+\.json$/u)],
    ['song_ci', readPoems(join(distDir, 'songci'), /^ci\.song\.\d+\.json$/u)],
    ['yuan_qu', readPoems(join(distDir, 'yuanqu'), /^yuanqu\.json$/u)],
  ];
  const raw: Record<string, number> = {};
  let dropped = 0;
  const items: { text: string; label: string }[] = [];
  for (const [label, poems] of genres) {
    raw[label] = poems.length;
    for (const p of poems) {
      const text = t2s((p.paragraphs ?? []).join('').replace(/\s+/gu, ''));
      const n = Array.from(text).length;
      // Missing characters (□, ○) and fragments are noise; very long pieces are rare outliers.
      if (n < 10 || n > 300 || /[□○■\uFFFD]/u.test(text) || !/\p{Script=Han}/u.test(text)) { dropped++; continue; }
      items.push({ text, label });
    }
  }
  const { kept, duplicates, conflicting } = dedupeLabelled(items);
  const chosen: typeof kept = [];
  const available: Record<string, number> = {};
  for (const [label] of genres) {
    const pool = kept.filter((x) => x.label === label);
    available[label] = pool.length;
    chosen.push(...pickByHash(pool, PER_GENRE, 'zh_poetry', (x) => normalise(x.text)));
  }
  const chosenSet = new Set(chosen.map((x) => normalise(x.text)));
  const splits = splitByHash(chosen, 'zh_poetry', (x) => normalise(x.text));
  const heldOutClauses = new Set([...splits.dev, ...splits.test].flatMap((x) => zhClauses(x.text)));
  const songShiPool = kept.filter((x) => x.label === 'song_shi' && !chosenSet.has(normalise(x.text))).map((x) => x.text);
  const stillTraditional = chosen.filter((x) => t2sOnce(x.text) !== x.text).length;
  const row = (x: (typeof chosen)[number]): object => ({ id: shortId(`zp-${x.label}`, x.text), text: x.text, label: x.label });
  const built: Built = {
    name: 'zh_poetry',
    sources: [source],
    files: {
      'train.jsonl': { kind: 'classification', rows: splits.train.map(row) },
      'dev.jsonl': { kind: 'classification', rows: splits.dev.map(row) },
      'test.jsonl': { kind: 'classification', rows: splits.test.map(row) },
    },
    card: (files) => `# zh_poetry — classical Chinese poem → genre / dynasty (4 classes)

**Source:** \`${source}\` (npm; \`dist/quantangshi/poet.{tang,song}.N.json\`, \`dist/songci/ci.song.N.json\`,
\`dist/yuanqu/yuanqu.json\`), converted with \`${tool}\`.
**Licence:** MIT (chinese-poetry); the poems themselves are centuries old. See ../LICENSES.md.
**Task:** ${genres.map(([l]) => l).join(' / ')}. Tang shi vs Song shi is the hard pair (same form).

## How it was built
1. Read all records (${Object.entries(raw).map(([k, v]) => `${k} ${v}`).join(', ')}); text = the paragraphs joined
   without separators (title, author and tune name are never included: the ci tune name and the
   qu title would give the genre away).
2. **Converted every poem to simplified characters** (opencc-js, from \`t\` to \`cn\`, repeated until
   the text no longer changes): the source keeps shi in traditional and ci/qu in simplified script.
3. Dropped ${dropped} pieces shorter than 10 or longer than 300 characters, or with missing-character
   marks (□ ○).
4. Deduplicated by normalised text before splitting: ${duplicates} repeats removed, ${conflicting} rows dropped
   whose text appears under two genres.
5. ${PER_GENRE} per genre chosen by seeded hash (available: ${Object.entries(available).map(([k, v]) => `${k} ${v}`).join(', ')}); split 80/10/10 by hash.

## Counts
${countsTable(files)}

## Leakage checks
- Script: after conversion, ${stillTraditional} of ${chosen.length} rows change when converted again (t → cn), i.e.
  no row keeps characters that opencc maps to simplified forms.
- No title, author, tune name (词牌) or qu title is in the input.
- zh_pretrain draws Song shi only from poems not chosen here, and drops any unit that shares a
  clause of ≥ 5 characters with a dev/test poem (famous lines are quoted across poems).
- The datasets test asserts no normalised poem is in two splits.

## Known noise
- Attribution of poems to dynasties in the collections is imperfect (some Five Dynasties
  poems sit with Tang; some Song shi are by Tang-era authors).
- Yuan qu are much more colloquial and longer, and the collection's qu (sanqu and zaju arias)
  carry stage directions in parentheses such as (云) or (正旦唱): the easy class. ${pct(dropped, items.length + dropped)} of pieces dropped.
`,
  };
  return { built, songShiPool, heldOutClauses };
}

/** A fortunes-zh entry without colour escapes and without its `-- 《source》` attribution line. */
export function cleanZhFortune(entry: string): string {
  return stripAnsi(entry).split('\n')
    .map((l) => l.replace(/(^|\s)(--|——|－－).*$/u, '').trimEnd())
    .join('\n').replace(/\s+/gu, ' ').trim();
}

export function buildZhPretrain(fortunesZhDir: string, songShiPool: readonly string[], trainZh: readonly string[],
  heldOutClauses: Set<string>, heldOutTexts: Set<string>, sources: string[], maxBytes: number): Built {
  const fortunes = splitFortunes(readFileSync(join(fortunesZhDir, 'chinese'), 'utf8'));
  const withAttribution = fortunes.filter((f) => /(^|\s)(--|——)/u.test(stripAnsi(f))).length;
  const fortuneUnits = fortunes.map(cleanZhFortune).filter((t) => /\p{Script=Han}/u.test(t));
  const units: { text: string; src: string }[] = [
    ...fortuneUnits.map((text) => ({ text, src: 'fortunes-zh' })),
    ...trainZh.map((text) => ({ text, src: 'catalogue' })),
  ];
  const seen = new Set<string>();
  let removed = 0;
  const keep = (t: string): boolean => {
    const k = normalise(t);
    if (seen.has(k)) return false;
    if (heldOutTexts.has(k) || zhClauses(t).some((c) => heldOutClauses.has(c))) { removed++; return false; }
    seen.add(k);
    return true;
  };
  const chosen = units.filter((u) => keep(u.text));
  let bytes = chosen.reduce((s, u) => s + Buffer.byteLength(u.text) + 1, 0);
  // Fill the rest of the budget with Song shi not used by zh_poetry, in seeded order.
  let poems = 0;
  for (const p of pickByHash(songShiPool, songShiPool.length, 'zh_pretrain', (t) => normalise(t))) {
    const b = Buffer.byteLength(p) + 1;
    if (bytes + b > maxBytes) break;
    if (!keep(p)) continue;
    chosen.push({ text: p, src: 'song_shi' });
    bytes += b;
    poems++;
  }
  const shuffled = pickByHash(chosen, chosen.length, 'zh_pretrain:order', (u) => normalise(u.text));
  const rows = packLines(shuffled.map((u) => u.text), 500).map((d) => ({ id: shortId('zh', d), text: d }));
  const n = (s: string): number => chosen.filter((u) => u.src === s).length;
  return {
    name: 'zh_pretrain',
    sources,
    files: { 'corpus.jsonl': { kind: 'corpus', rows } },
    card: (files) => `# zh_pretrain — Chinese pretraining corpus (simplified)

**Sources:** ${sources.map((s) => `\`${s}\``).join(', ')}.
**Licences:** fortunes-zh is **GPL-3.0+**; chinese-poetry MIT; catalogue strings carry their
packages' licences (GPL / LGPL / MPL-2.0). See ../LICENSES.md.
**Rows:** \`{id, text}\`; documents of ≤ 500 characters, **one unit per line**.

## How it was built
1. fortunes-zh \`chinese\` (modern prose, proverbs, quotations; ${fortunes.length} entries). \`tang300\` and
   \`song100\` are not used (they overlap the zh_poetry genres). ANSI colour escapes stripped;
   the \`-- 《source》\` attribution removed from ${withAttribution} entries; whitespace collapsed.
2. The Chinese side of the en_zh_pairs **train** split (${trainZh.length} UI strings; modern Chinese, useful
   for whole-word masking with jieba).
3. Song shi (simplified with opencc-js) that zh_poetry did not choose, in seeded order, until
   the ${(maxBytes / 1e6).toFixed(1)} MB budget is reached: ${poems} poems.
4. Deduplicated by normalised text; ${removed} units removed because they equal a dev/test text or share
   a clause of ≥ 5 characters with a zh_poetry dev/test poem.
5. Shuffled with a seeded hash and packed into documents. Units: fortunes-zh ${n('fortunes-zh')},
   catalogue ${n('catalogue')}, Song shi ${n('song_shi')}.

## Counts
${countsTable(files)}

## Leakage checks
- The test asserts: no ANSI escape, no \`-- …《…》\` attribution line, no line equal to any dev/test
  row of any dataset (zh_poetry texts, en_zh_pairs Chinese side).
- No zh_poetry poem (any split) is used as a Song shi unit here.

## Known noise
- Mixed registers: classical verse and modern prose/UI strings.
- jieba segments classical poetry mostly into single characters; whole-word masking matters
  mainly on the prose and UI lines.
`,
  };
}
