// email: SpamAssassin public corpus bodies → easy_ham / hard_ham / spam. MIME parsing by
// postal-mime (multipart, quoted-printable, base64, charsets via TextDecoder); text/plain is
// preferred, HTML-only mails are reduced to text by stripHtml.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cmp, normalise, truncate } from '../text.js';
import { dedupeLabelled, pct, splitByHash, type Built } from './common.js';
import { countsTable } from './output.js';

export const MAX_CHARS = 2000;
const GROUP_LABEL: Record<string, string> = {
  'easy-ham-1': 'easy_ham', 'easy-ham-2': 'easy_ham', 'hard-ham-1': 'hard_ham', 'spam-1': 'spam', 'spam-2': 'spam',
};

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™' };

/** HTML → plain text: drops script/style/comments, turns block ends into line breaks, removes
 * tags, decodes character references. */
export function stripHtml(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/gu, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/giu, ' ')
    .replace(/<(br|\/p|\/div|\/tr|\/li|\/h[1-6]|\/table|p|div|tr|li)\b[^>]*>/giu, '\n')
    .replace(/<[^>]*>/gu, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/giu, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp < 0x110000 ? String.fromCodePoint(cp) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** Whitespace clean-up for bodies: spaces/tabs collapsed, at most one blank line in a row. */
export function tidyBody(text: string): string {
  return text.replace(/\r\n?/gu, '\n').replace(/[ \t\u00a0]+/gu, ' ').replace(/ *\n */gu, '\n')
    .replace(/\n{3,}/gu, '\n\n').trim();
}

type Parse = (raw: Uint8Array) => Promise<{ text?: string; html?: string }>;

export async function buildEmail(dataDir: string, parse: Parse, source: string, tool: string): Promise<Built> {
  const items: { text: string; label: string; file: string }[] = [];
  const perGroup: Record<string, number> = {};
  let empty = 0;
  let fromHtml = 0;
  let truncated = 0;
  let saLines = 0;
  for (const group of Object.keys(GROUP_LABEL)) {
    const files = readdirSync(join(dataDir, group)).filter((f) => f.endsWith('.txt')).sort(cmp);
    perGroup[group] = files.length;
    for (const f of files) {
      const mail = await parse(readFileSync(join(dataDir, group, f)));
      let body = mail.text?.trim() ? mail.text : '';
      if (!body && mail.html) { body = stripHtml(mail.html); fromHtml++; }
      // SpamAssassin's own report lines, when a rewritten mail carries them in the body, state the label.
      const before = body;
      body = tidyBody(body.split(/\r?\n/u).filter((l) => !/^[\s>]*(X-Spam-[\w-]+|SPAM):/u.test(l)).join('\n'));
      if (body !== tidyBody(before)) saLines++;
      if (!body) { empty++; continue; }
      if (Array.from(body).length > MAX_CHARS) truncated++;
      items.push({ text: truncate(body, MAX_CHARS), label: GROUP_LABEL[group]!, file: `${group}/${f}` });
    }
  }
  const { kept, duplicates, conflicting } = dedupeLabelled(items);
  const splits = splitByHash(kept, 'email', (x) => normalise(x.text));
  const row = (x: (typeof kept)[number]): object => ({ id: `sa-${x.file.replace(/\.txt$/u, '').replace(/\//gu, '-').replace(/\.[0-9a-f]{32}$/u, '')}`, text: x.text, label: x.label });
  const total = Object.values(perGroup).reduce((a, b) => a + b, 0);
  return {
    name: 'email',
    sources: [source],
    files: {
      'train.jsonl': { kind: 'classification', rows: splits.train.map(row) },
      'dev.jsonl': { kind: 'classification', rows: splits.dev.map(row) },
      'test.jsonl': { kind: 'classification', rows: splits.test.map(row) },
    },
    card: (files) => `# email — SpamAssassin public corpus (domain corpus + ham/spam + 3-class)

**Source:** \`${source}\` (npm; raw RFC 822 files \`data/<group>/<n>.<md5>.txt\`), parsed with \`${tool}\`.
**Licence:** data PDDL-1.0, message contents CC0-1.0 (as declared by the stdlib package; code
Apache-2.0). See ../LICENSES.md.
**Task:** 3-class \`easy_ham / hard_ham / spam\` (the label is the source folder). The 2-class
view ham/spam maps easy_ham and hard_ham to ham: \`emailBinaryLabel(label)\` in
\`@tunebench/datasets\`. **Domain corpus** for continued MLM pretraining: the *train split's*
bodies only, read with \`loadDataset('email', 'corpus')\` (same ids and text as train.jsonl, no
labels; not stored twice, to stay within the repository's size budget).

## How it was built
1. Read ${total} messages (${Object.entries(perGroup).map(([g, n]) => `${g} ${n}`).join(', ')}).
2. Body only (headers, subject and addresses are never used): the text/plain part when there is
   one; otherwise the HTML part with scripts/styles/tags removed and entities decoded
   (${fromHtml} mails). postal-mime decodes quoted-printable/base64 and charsets.
   ${empty} messages with no text were dropped. SpamAssassin report lines inside bodies
   (\`X-Spam-…:\`, \`SPAM:\`) were removed from ${saLines} mails (they state the label).
3. Whitespace tidied; bodies longer than ${MAX_CHARS} characters cut at a word boundary (${truncated}).
4. Deduplicated by normalised body before splitting: ${duplicates} repeats removed,
   ${conflicting} rows dropped whose identical body appears under two labels.
5. Split 80/10/10 by a seeded hash of the normalised body; ids are \`sa-<group>-<number>\`.

## Counts
${countsTable(files)}

hard_ham is ${pct(kept.filter((x) => x.label === 'hard_ham').length, kept.length)} of rows: report macro-F1 / per-class recall.

## Leakage checks
- Only bodies are used: no header of the message itself (X-Spam-*, From, Subject, Received) is
  in the text; the test asserts that no body holds an \`X-Spam-…:\` or \`SPAM:\` line. Forwarded
  mails and digests do quote other mails' headers in their bodies; that is content, kept.
- Identical bodies across folders (spam-1 ↔ spam-2, ham ↔ spam) are removed before splitting;
  the test asserts no normalised text is in two splits and that the email corpus is exactly
  the train split's text (so continued pretraining never sees a dev/test body).

## Known noise
- Mailing-list footers and signatures (e.g. list names) are strong but genuine cues.
- Some spam is HTML-heavy and becomes short, link-like text after tag stripping.
- 2002-era mail: the domain is old; charset decoding falls back where a label is unknown.
`,
  };
}
