// changelog_urgency: Debian changelog entry → urgency (low / medium / high). The header line
// (package, version, distribution, urgency=) and the trailer line (maintainer, date) are removed:
// the first holds the label, the second dates that correlate with it.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cmp, normalise, truncate } from '../text.js';
import { dedupeLabelled, pct, splitGroupsBalanced, type Built } from './common.js';
import { countsTable } from './output.js';

export const MAX_CHARS = 1000;
const HEADER = /^(\S+) \(([^)]+)\) ([^;]+);(.*)$/u;
const TRAILER = /^ -- .*\S/u;
const URGENCY: Record<string, string> = { low: 'low', medium: 'medium', high: 'high', critical: 'high', emergency: 'high' };

export interface ChangelogEntry { source: string; version: string; urgency: string; body: string }

/** Splits a Debian changelog into entries: header, body lines, trailer (debian-policy §4.4). */
export function parseChangelog(text: string): ChangelogEntry[] {
  const out: ChangelogEntry[] = [];
  let cur: { source: string; version: string; urgency: string; lines: string[] } | null = null;
  for (const line of text.split('\n')) {
    const h: RegExpExecArray | null = cur ? null : HEADER.exec(line);
    if (h) {
      const u = /urgency=([A-Za-z]+)/u.exec(h[4]!);
      cur = { source: h[1]!, version: h[2]!, urgency: (u?.[1] ?? '').toLowerCase(), lines: [] };
      continue;
    }
    if (!cur) continue;
    if (TRAILER.test(line)) {
      out.push({ source: cur.source, version: cur.version, urgency: cur.urgency, body: tidy(cur.lines) });
      cur = null;
      continue;
    }
    cur.lines.push(line);
  }
  return out;
}

/** Body lines: trailing spaces removed, blank lines at both ends dropped, common indentation
 * removed, runs of blank lines collapsed. */
function tidy(lines: string[]): string {
  const ls = lines.map((l) => l.replace(/\s+$/u, ''));
  while (ls.length && !ls[0]) ls.shift();
  while (ls.length && !ls[ls.length - 1]) ls.pop();
  const indent = Math.min(...ls.filter(Boolean).map((l) => l.match(/^ */u)![0].length));
  return ls.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n').replace(/\n{3,}/gu, '\n\n');
}

/** The changelog.Debian.gz files (real files, not symlinks) inside one unpacked package. */
export function changelogFiles(root: string): string[] {
  const doc = join(root, 'usr/share/doc');
  if (!existsSync(doc)) return [];
  return readdirSync(doc).sort(cmp).map((d) => join(doc, d, 'changelog.Debian.gz'))
    .filter((f) => existsSync(f) && lstatSync(f).isFile());
}

export function buildChangelog(roots: Map<string, string>, sources: string[]): Built {
  const entries: (ChangelogEntry & { text: string; label: string })[] = [];
  const seen = new Set<string>();
  let raw = 0;
  let dupVersions = 0;
  let noBody = 0;
  let unknownUrgency = 0;
  let strippedUrgencyLines = 0;
  let truncated = 0;
  const noChangelog: string[] = [];
  const rawLabels: Record<string, number> = {};
  for (const [pkg, root] of [...roots].sort(([a], [b]) => cmp(a, b))) {
    const files = changelogFiles(root);
    if (!files.length) noChangelog.push(pkg);
    for (const f of files) {
      for (const e of parseChangelog(gunzipSync(readFileSync(f)).toString('utf8'))) {
        raw++;
        const key = `${e.source}\u0000${e.version}`;
        if (seen.has(key)) { dupVersions++; continue; }
        seen.add(key);
        rawLabels[e.urgency] = (rawLabels[e.urgency] ?? 0) + 1;
        const label = URGENCY[e.urgency];
        if (!label) { unknownUrgency++; continue; }
        let body = e.body;
        if (/urgency\s*=/iu.test(body)) {
          body = body.split('\n').filter((l) => !/urgency\s*=/iu.test(l)).join('\n');
          strippedUrgencyLines++;
        }
        if (!body.trim()) { noBody++; continue; }
        if (Array.from(body).length > MAX_CHARS) truncated++;
        entries.push({ ...e, text: truncate(body, MAX_CHARS), label });
      }
    }
  }
  const { kept, duplicates, conflicting } = dedupeLabelled(entries);
  const splits = splitGroupsBalanced(kept, 'changelog_urgency', (x) => x.source, 'high');
  const row = (x: (typeof kept)[number]): object => ({ id: `${x.source}/${x.version.replace(/[^\x21-\x7e]/gu, '_')}`, text: x.text, label: x.label });
  const nSources = new Set(kept.map((x) => x.source)).size;
  return {
    name: 'changelog_urgency',
    sources,
    files: {
      'train.jsonl': { kind: 'classification', rows: splits.train.map(row) },
      'dev.jsonl': { kind: 'classification', rows: splits.dev.map(row) },
      'test.jsonl': { kind: 'classification', rows: splits.test.map(row) },
    },
    card: (files) => `# changelog_urgency — Debian changelog entry → urgency (imbalanced)

**Sources:** \`changelog.Debian.gz\` from ${sources.length} pinned Debian bookworm binary packages
(\`apt-get download name=version\` + \`dpkg -x\`, never installed; the list is
\`src/build/changelog-packages.txt\`, one binary package per source package, each under 500 kB).
**Licence:** each changelog belongs to its package (all DFSG-free: GPL, LGPL, BSD, MIT, …); the
entries are short factual notes. See ../LICENSES.md.
**Task:** low / medium / high (critical and emergency merged into high). Report macro-F1 and
PR-AUC / recall for \`high\`, not accuracy. Ids are \`<source package>/<version>\`.

## How it was built
1. Parsed ${raw} entries (header \`pkg (version) dist; urgency=…\`, body, trailer \` -- name <mail>  date\`).
   ${noChangelog.length} packages had no changelog of their own (a symlinked doc folder): ${noChangelog.slice(0, 12).join(', ')}${noChangelog.length > 12 ? ' …' : ''}.
2. **Text = body only**: the header line (holds \`urgency=\`) and the trailer line (maintainer and
   date) are removed; ${strippedUrgencyLines} bodies mentioned \`urgency=\` themselves and lost those lines.
   Common indentation removed; bodies cut to ${MAX_CHARS} characters at a word boundary (${truncated}).
3. Deduplicated by (source package, version): ${dupVersions} repeats (binary packages of one source
   share a changelog). Raw urgency values: ${Object.entries(rawLabels).sort().map(([k, v]) => `${k || '(none)'} ${v}`).join(', ')}; ${unknownUrgency} with another value dropped, ${noBody} with an empty body dropped.
4. Deduplicated by normalised text: ${duplicates} repeats removed, ${conflicting} rows dropped whose identical
   text carries two different urgencies (e.g. "* New upstream release." at low and medium).
5. **Split by source package** (${nSources} packages), so no package's entries are in two splits:
   packages are visited in seeded-hash order and each goes to the split furthest below its
   80/10/10 target of rows and of \`high\` rows (plain hash splitting left 4 high rows in dev).

## Counts
${countsTable(files)}

high is ${pct(kept.filter((x) => x.label === 'high').length, kept.length)} of rows.

## Leakage checks
- The test asserts that no text contains \`urgency=\`, a changelog header line or a trailer line,
  that no source package (id prefix) is in two splits, and no normalised text is in two splits.

## Known noise
- Urgency is set by maintainers and is inconsistent (\`high\` for a rebuild, \`medium\` as a
  default for most uploads); security fixes (CVE-…) correlate with high but not perfectly.
- Split by package gives uneven class ratios between splits.
`,
  };
}
