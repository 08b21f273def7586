// en_zh_pairs: English ↔ Chinese UI sentences from the zh_CN gettext catalogues (.mo) shipped in
// Debian packages. Placeholders and accelerator marks are normalised on both sides so that a
// retrieval model cannot match pairs by their shared format strings.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cmp, normalise, sha256Hex } from '../text.js';
import { pct, pickByHash, splitByHash, type Built } from './common.js';
import { readMo } from './mo.js';
import { countsTable } from './output.js';

export const MIN_EN_WORDS = 5;
export const MAX_CHARS = 300;
/** Pairs kept (seeded hash choice) so the file stays within its size budget. */
export const MAX_PAIRS = 15000;

/** Every zh_CN / zh-CN .mo file under a folder, sorted. */
export function zhCatalogues(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort(cmp)) {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (n.endsWith('.mo') && /(^|\/)zh[_-]CN(\/|$)/u.test(relative(root, p))) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** Placeholders (printf %s / %1$s / %lu, Qt/LibreOffice %1, $(ARG1), {0}, %PRODUCTNAME) become
 * "%s"; accelerators (_File, &File, ~File, and the Chinese "(_F)" / "(&F)" suffixes) are removed;
 * whitespace collapsed. Applied to both sides. */
export function normaliseMessage(s: string): string {
  return s
    .replace(/[(（]\s*[_&~]?[A-Za-z0-9]\s*[)）]/gu, '') // 打开(_O) → 打开
    .replace(/%%/gu, '\u0000')
    .replace(/%(\d+\$)?[-+ #0']*(\d+|\*)?(\.(\d+|\*))?(hh|h|ll|l|L|q|j|z|t|I64|PRI[a-z0-9]+)?[diouxXeEfFgGaAcspn]/gu, '%s')
    .replace(/%[A-Z][A-Z0-9_]*%?|%\d+|\$\([A-Za-z0-9_]+\)|\$\d+\b|\{\d+\}|<[a-z]+>/gu, '%s')
    .replace(/\u0000/gu, '%')
    .replace(/(^|[\s(])[_&~](?=[\p{L}\p{N}])/gu, '$1')
    .replace(/(?<=[\p{L}\p{N}])[_&~](?=[\p{L}\p{N}])/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
}

const HAN = /\p{Script=Han}/u;

export interface PairsResult { built: Built; trainZh: string[] }

export function buildPairs(roots: Map<string, string>, sources: string[]): PairsResult {
  const perPkg: Record<string, { entries: number; kept: number }> = {};
  const candidates: { en: string; zh: string; pkg: string }[] = [];
  for (const [pkg, root] of [...roots].sort(([a], [b]) => cmp(a, b))) {
    const stat = (perPkg[pkg] = { entries: 0, kept: 0 });
    for (const file of zhCatalogues(root)) {
      for (const e of readMo(readFileSync(file), file)) {
        if (!e.msgid || e.msgidPlural !== null) continue; // header; plural forms are not sentence pairs
        stat.entries++;
        const en = normaliseMessage(e.msgid);
        const zh = normaliseMessage(e.msgstr[0] ?? '');
        if (!zh || !HAN.test(zh) || normalise(en) === normalise(zh)) continue;
        if ((en.match(/[A-Za-z]+/gu) ?? []).length < MIN_EN_WORDS) continue;
        if (en.length > MAX_CHARS || zh.length > MAX_CHARS) continue;
        if (/^\s*-/u.test(en)) continue; // command-line option help: the option names match on both sides

        candidates.push({ en, zh, pkg });
      }
    }
  }
  // Dedupe by English, then by Chinese (two English strings with one translation would make the
  // retrieval target ambiguous), before splitting.
  const seenEn = new Set<string>();
  const seenZh = new Set<string>();
  const kept: typeof candidates = [];
  for (const c of candidates) {
    const ke = normalise(c.en);
    const kz = normalise(c.zh);
    if (seenEn.has(ke) || seenZh.has(kz)) continue;
    seenEn.add(ke);
    seenZh.add(kz);
    kept.push(c);
    perPkg[c.pkg]!.kept++;
  }
  const chosen = pickByHash(kept, MAX_PAIRS, 'en_zh_pairs', (x) => normalise(x.en));
  const splits = splitByHash(chosen, 'en_zh_pairs', (x) => normalise(x.en));
  const row = (x: (typeof kept)[number]): object => ({ id: `mo-${x.pkg}-${hash8(x.en)}`, en: x.en, zh: x.zh });
  const built: Built = {
    name: 'en_zh_pairs',
    sources,
    files: {
      'train.jsonl': { kind: 'pairs', rows: splits.train.map(row) },
      'dev.jsonl': { kind: 'pairs', rows: splits.dev.map(row) },
      'test.jsonl': { kind: 'pairs', rows: splits.test.map(row) },
    },
    card: (files) => `# en_zh_pairs — English ↔ Simplified Chinese sentence pairs (software UI)

**Sources (Debian bookworm, \`apt-get download\` + \`dpkg -x\`, never installed):**
${sources.map((s) => `\`${s}\``).join(', ')}.
**Licences:** each catalogue carries its package's licence: GPL-2+/GPL-3+ (gcc, util-linux,
coreutils, gnupg, gettext, binutils, tar, grep), LGPL-2.1+ (glibc's libc-l10n, iso-codes),
MPL-2.0 (LibreOffice). See ../LICENSES.md.
**Rows:** \`{id, en, zh}\`; ids are \`mo-<package>-<hash>\`.

## How it was built
1. Read every \`zh_CN\` (or \`zh-CN\`) \`.mo\` file with our own reader (\`src/build/mo.ts\`: magic
   0x950412de, original/translation offset tables, \`\\x04\` context, \`\\0\` plurals). Plural
   entries and the header are skipped.
2. Both sides normalised: printf/Qt/LibreOffice placeholders (\`%s\`, \`%1$s\`, \`%1\`, \`$(ARG1)\`,
   \`{0}\`, \`%PRODUCTNAME\`) → \`%s\`; accelerators \`_\`, \`&\`, \`~\` and Chinese \`(_O)\` suffixes removed;
   whitespace collapsed.
3. Kept pairs with ≥ ${MIN_EN_WORDS} English words, a Han character on the Chinese side, ≤ ${MAX_CHARS} characters
   per side, and a translation that differs from the source. Command-line option help lines
   (English starting with \`-\`) are dropped: the option names are identical on both sides.
4. Deduplicated by normalised English, then by normalised Chinese (first package in name order
   wins), before splitting. Per package (catalogue entries → kept pairs):
   ${Object.entries(perPkg).map(([p, s]) => `${p} ${s.entries} → ${s.kept}`).join('; ')}.
5. ${chosen.length} of ${kept.length} pairs chosen by seeded hash (size budget), then split 80/10/10 by a seeded
   hash of the normalised English.

## Counts
${countsTable(files)}

## Leakage checks
- No English or Chinese side repeats within or across splits (dedupe on both sides; the test
  asserts no overlap of either side between splits).
- Shared placeholders are normalised, so a format string is not a matching shortcut.
- zh_pretrain only uses the Chinese side of the *train* split; the test checks that no
  zh_pretrain line equals a dev/test Chinese sentence.

## Known noise
- UI strings: many are imperative fragments and option descriptions; terminology repeats.
- Some translations are partial, outdated or add/drop details (${pct(kept.length, candidates.length)} of candidates survive dedupe).
`,
  };
  return { built, trainZh: splits.train.map((x) => x.zh) };
}


function hash8(s: string): string {
  return sha256Hex(normalise(s)).slice(0, 12);
}
