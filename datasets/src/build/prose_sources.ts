// Readers for the prose sources of pretrain_en: each turns an unpacked Debian package into
// documents (a name and its paragraphs, in reading order). Cleaning happens later, in one place
// (prose.ts: proseProblem), so every source is judged by the same rules.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { cmp } from '../text.js';
import { htmlParagraphs, markdownParagraphs, tidy } from './prose.js';

export interface ProseDoc {
  /** Source name (as in the card's table), e.g. "debian-handbook". */
  source: string;
  /** Document name inside the source (a file, a dictionary headword, a Bible book). */
  doc: string;
  paragraphs: string[];
}

/** Files under `dir` (recursively) whose name matches, sorted byte-wise by relative path. */
export function listFiles(dir: string, match: RegExp): string[] {
  if (!existsSync(dir)) throw new Error(`missing source folder ${dir}`);
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort(cmp)) {
      const p = join(d, f);
      const st = lstatSync(p); // symlinks (Sphinx _static links into other packages) are skipped
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && match.test(f)) out.push(p);
    }
  };
  walk(dir);
  return out.sort((a, b) => cmp(relative(dir, a), relative(dir, b)));
}

function readMaybeGz(path: string): string {
  const buf = readFileSync(path);
  return (path.endsWith('.gz') || path.endsWith('.dz') ? gunzipSync(buf) : buf).toString('utf8');
}

/** HTML (or Mallard XML) documentation: one document per file. */
export function htmlDocs(source: string, dir: string, match: RegExp, skipTags: readonly string[] = []): ProseDoc[] {
  return listFiles(dir, match).map((f) => ({ source, doc: relative(dir, f), paragraphs: htmlParagraphs(readMaybeGz(f), skipTags) }));
}

export function markdownDocs(source: string, dir: string, match: RegExp): ProseDoc[] {
  return listFiles(dir, match).map((f) => ({ source, doc: relative(dir, f), paragraphs: markdownParagraphs(readMaybeGz(f)) }));
}

/** A dictd database (.dict.dz is gzip-compatible dictzip; .index lines are `headword\toffset\tlength`
 * in dictd's base64 digits). Returns each entry's text, in index order, without the 00-database-*
 * metadata entries. */
export function dictdEntries(dictDz: string, indexFile: string): { head: string; body: string }[] {
  const data = gunzipSync(readFileSync(dictDz));
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const num = (s: string): number => [...s].reduce((n, c) => n * 64 + B64.indexOf(c), 0);
  const seen = new Set<string>();
  const out: { head: string; body: string }[] = [];
  for (const line of readFileSync(indexFile, 'utf8').split('\n')) {
    const [head, off, len] = line.split('\t');
    if (!head || off === undefined || len === undefined || head.startsWith('00-database') || head.startsWith('00database')) continue;
    const key = `${off}:${len}`;
    if (seen.has(key)) continue; // several headwords share one entry
    seen.add(key);
    out.push({ head, body: data.subarray(num(off), num(off) + num(len)).toString('utf8') });
  }
  return out;
}

/** Plain-text dictionary entry → paragraphs: blank-line separated blocks, the headword line
 * dropped, {cross-reference} braces and [source] tags removed. */
export function dictParagraphs(body: string): string[] {
  const blocks = body.replace(/\r\n?/gu, '\n').split(/\n\s*\n/u);
  return blocks.slice(1).map((b) => tidy(b.replace(/^\s*<[^>]*>\s*/u, '').replace(/\{([^{}]*)\}/gu, '$1').replace(/\[(\{?Jargon File\}?|[A-Z]{2,}[^\]]*)\]/gu, '')))
    .filter(Boolean);
}

/** GCIDE (Webster 1913 + additions): definitions ("1. To act upon; …") and literary
 * quotations, each a paragraph. Blocks credited to WordNet are dropped: that text is
 * WordNet's, whose held-out synsets must stay out. */
export function gcideParagraphs(body: string): string[] {
  const out: string[] = [];
  // Each sense or quotation ends with a line holding only its source tag: [1913 Webster], [PJC], [WordNet 1.5].
  const re = /([\s\S]*?)\n\s*\[([^\]\n]*)\]\s*(?=\n|$)/gu;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    if (/wordnet/iu.test(m[2]!)) continue;
    for (const part of m[1]!.replace(/\r\n?/gu, '\n').split(/\n\s*\n/u)) {
      let t = part;
      if (/^\S/u.test(t) && /\\/u.test(t.split('\n')[0]!)) {
        // A headword line ("Affect \\Af*fect"\\, v. t. [etymology]"): keep only a numbered sense
        // that follows it.
        const s = /\n\s+\d+\.\s/u.exec(t);
        if (!s) continue;
        t = t.slice(s.index);
      }
      t = t.replace(/^\s*\d+\.\s+/u, '').replace(/^\s*\([A-Z][\w. &]*\)\s*/u, '')
        .replace(/\[(1913 Webster|PJC|Webster 1913 Suppl\.|Century Dict\.|[A-Z]{2,4})\]/gu, '')
        .replace(/\s--\s*\S*["*]\S*[\s\S]*$/u, '') // derived forms: "-- Book\"ish*ly, adv."
        .replace(/--\s*[A-Z][\w. &']*\.?\s*$/u, '') // "--Milton." attribution
        .replace(/\{([^{}]*)\}/gu, '$1').replace(/\[(Obs|R|Colloq|Archaic|Poetic|Prov\. Eng|Scot|Eng|U\. S)\.\]/gu, '')
        .replace(/\\[^\\]*\\/gu, '');
      const c = tidy(t);
      if (c) out.push(c);
    }
  }
  return out;
}

/** A SWORD zText Bible module (BlockType=BOOK, CompressType=ZIP, OSIS markup): every
 * compressed block of ot/nt, notes and titles removed, split at OSIS paragraph milestones. */
export function swordParagraphs(moduleDir: string): ProseDoc[] {
  const docs: ProseDoc[] = [];
  for (const t of ['ot', 'nt']) {
    const bzs = readFileSync(join(moduleDir, `${t}.bzs`));
    const bzz = readFileSync(join(moduleDir, `${t}.bzz`));
    for (let i = 0; i + 12 <= bzs.length; i += 12) {
      const off = bzs.readUInt32LE(i);
      const size = bzs.readUInt32LE(i + 4);
      if (size === 0) continue;
      const osis = inflateSync(bzz.subarray(off, off + size)).toString('utf8');
      const book = /osisID="([^"]+)"[^>]*type="book"/u.exec(osis)?.[1] ?? `${t}${i / 12}`;
      const text = osis.replace(/<note\b[\s\S]*?<\/note>/gu, '').replace(/<title\b[\s\S]*?<\/title>/gu, '');
      const paragraphs = text.split(/<div\b[^>]*type="x-p"[^>]*\/>|<lg\b[^>]*\/>|<chapter\b[^>]*\/>/u)
        .map((p) => tidy(p.replace(/<[^>]*>/gu, '').replace(/\s+([,.;:!?’”])/gu, '$1'))).filter(Boolean);
      docs.push({ source: 'sword-text-web', doc: book, paragraphs });
    }
  }
  return docs;
}

/** Every prose document of the unpacked DEB_PROSE packages (name → unpacked root), in a fixed
 * order: package order of DEB_PROSE, then sorted file or index order inside each. */
export function proseDocs(roots: Map<string, string>): ProseDoc[] {
  const root = (pkg: string): string => {
    const r = roots.get(pkg);
    if (!r) throw new Error(`pretrain_en: package ${pkg} was not fetched`);
    return r;
  };
  const dict = (pkg: string, name: string, para: (body: string) => string[]): ProseDoc[] => {
    const d = join(root(pkg), 'usr/share/dictd');
    return dictdEntries(join(d, `${name}.dict.dz`), join(d, `${name}.index`)).map((e) => ({ source: pkg, doc: e.head, paragraphs: para(e.body) }));
  };
  const readers: Record<string, () => ProseDoc[]> = {
    'dict-gcide': () => dict('dict-gcide', 'gcide', gcideParagraphs),
    anarchism: () => markdownDocs('anarchism', join(root('anarchism'), 'usr/share/doc/anarchism/markdown'), /\.md\.gz$/u),
    'sword-text-web': () => swordParagraphs(join(root('sword-text-web'), 'usr/share/sword/modules/texts/ztext/engWEB2015eb')),
    'dict-foldoc': () => dict('dict-foldoc', 'foldoc', dictParagraphs),
    'gimp-help-en': () => htmlDocs('gimp-help-en', join(root('gimp-help-en'), 'usr/share/gimp/2.0/help/en'), /\.html$/u),
    'dict-jargon': () => dict('dict-jargon', 'jargon', dictParagraphs),
    'debian-handbook': () => htmlDocs('debian-handbook', join(root('debian-handbook'), 'usr/share/doc/debian-handbook/html/en-US'), /\.html$/u),
    'gnome-user-docs': () => htmlDocs('gnome-user-docs', join(root('gnome-user-docs'), 'usr/share/help/C'), /\.page$/u),
    'debian-policy': () => htmlDocs('debian-policy', join(root('debian-policy'), 'usr/share/doc/debian-policy/policy.html'), /\.html$/u),
    'debian-reference-en': () => htmlDocs('debian-reference-en', join(root('debian-reference-en'), 'usr/share/debian-reference'), /\.en\.html$/u),
    'developers-reference': () => htmlDocs('developers-reference', join(root('developers-reference'), 'usr/share/developers-reference'),
      /^(?!index\.|search\.|genindex\.|developers-reference\.).*\.html$/u),
  };
  const out: ProseDoc[] = [];
  for (const pkg of roots.keys()) {
    const read = readers[pkg];
    if (!read) throw new Error(`pretrain_en: no reader for package ${pkg} (add one to proseDocs)`);
    for (const d of read()) out.push(d);
  }
  return out;
}
