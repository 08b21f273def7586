// Prose extraction and cleaning for pretrain_en: turns HTML / XML / Markdown / plain-text
// documents into paragraphs, and decides which paragraphs are English prose (kept) and which are
// code, tables, headers, licence boilerplate, e-mail or markup residue (dropped, with a reason
// the builder counts for the card).
//
// The HTML walker is hand-written on purpose: every input is machine-generated, well-formed
// documentation (DocBook XSL, Sphinx, Mallard), the rules are "which elements are blocks, which
// are skipped", and keeping it here means the unit tests run offline with no build tool.

/** Named entities seen in the shipped documentation; any other `&name;` survives and the
 * paragraph is then dropped as markup residue. */
const ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«', raquo: '»', copy: '©', reg: '®', trade: '™',
  eacute: 'é', egrave: 'è', aacute: 'á', agrave: 'à', ouml: 'ö', uuml: 'ü', auml: 'ä', ccedil: 'ç',
  times: '×', deg: '°', middot: '·', bull: '•', rarr: '→', larr: '←', minus: '−', shy: '', zwj: '', zwnj: '',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/gu, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

/** Whitespace (including no-break and zero-width characters) collapsed to single spaces. */
export function tidy(s: string): string {
  return s.replace(/[\u200b-\u200d\u2060\ufeff\u00ad]/gu, '').replace(/[\s\u00a0]+/gu, ' ').trim();
}

const VOID = new Set(['br', 'img', 'hr', 'meta', 'link', 'input', 'col', 'area', 'base', 'wbr', 'source', 'embed', 'param']);
/** Elements that end a paragraph (opening or closing). */
const BLOCK = new Set(['p', 'div', 'li', 'dd', 'dt', 'ul', 'ol', 'dl', 'blockquote', 'section', 'article', 'body', 'tr', 'td', 'th',
  'figure', 'hr', 'item', 'list', 'note', 'page', 'steps', 'terms', 'tree', 'example']);
/** Elements whose whole content is dropped: code, tables, headings, navigation, metadata. */
const SKIP = new Set(['pre', 'script', 'style', 'table', 'head', 'title', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'nav', 'header', 'footer',
  'button', 'svg', 'math', 'screen', 'info', 'links', 'media', 'synopsis', 'cmdsynopsis', 'programlisting', 'desc',
  'credit', 'license', 'comment', 'figcaption', 'caption', 'textarea', 'select', 'noscript', 'form']);
/** class names (DocBook XSL, Sphinx, Publican) of navigation and front matter. */
const SKIP_CLASS = /\b(titlepage|navheader|navfooter|toc|legalnotice|footnotes?|index|breadcrumbs?|title|related|sphinxsidebar|headerlink|docnav|producttitle|edition|abstract|authorgroup|revhistory|screen|programlisting|synopsis)\b/u;

/** Paragraph texts of an HTML or XML document: text of block elements, inline markup kept as
 * its text, code / tables / headings / navigation dropped (`skipTags` adds element names). */
export function htmlParagraphs(html: string, skipTags: readonly string[] = []): string[] {
  const skip = new Set([...SKIP, ...skipTags]);
  const out: string[] = [];
  let buf = '';
  const flush = (): void => {
    const t = tidy(decodeEntities(buf));
    if (t) out.push(t);
    buf = '';
  };
  // While inside a skipped element: its name and how deeply it is nested in itself.
  let skipName: string | null = null;
  let skipDepth = 0;
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<([!?])[^>]*>|<(\/?)([a-zA-Z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+)|</gu;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const [, cdata, decl, close, rawName, attrs, text] = m;
    if (decl) continue;
    if (rawName === undefined) {
      const t = cdata ?? text ?? (m[0] === '<' ? '<' : '');
      if (!skipName) buf += t;
      continue;
    }
    const name = rawName.toLowerCase().replace(/^.*:/u, '');
    const selfClosing = VOID.has(name) || /\/\s*$/u.test(attrs ?? '');
    if (skipName) {
      if (name === skipName && !selfClosing) skipDepth += close ? -1 : 1;
      if (skipDepth === 0) skipName = null;
      continue;
    }
    if (!close && !selfClosing) {
      const cls = /\bclass\s*=\s*["']([^"']*)["']/u.exec(attrs ?? '')?.[1] ?? '';
      if (skip.has(name) || SKIP_CLASS.test(cls)) {
        if (BLOCK.has(name) || name.startsWith('h') || name === 'pre' || name === 'table') flush();
        skipName = name;
        skipDepth = 1;
        continue;
      }
    }
    if (BLOCK.has(name)) flush();
    else if (name === 'br') buf += ' ';
  }
  flush();
  return out;
}

/** Paragraphs of a Markdown document: blank-line separated blocks; fenced and indented code,
 * headings, tables, link-reference lines and HTML lines dropped; emphasis and link syntax reduced
 * to their text; block quotes unwrapped. */
export function markdownParagraphs(md: string): string[] {
  const out: string[] = [];
  let fenced = false;
  let cur: string[] = [];
  const flush = (): void => {
    if (cur.length) {
      // A word hyphenated at a line end ("co-\noperative") is joined without a space.
      const t = tidy(cur.reduce((acc, l) => (acc === '' ? l : /\p{L}-$/u.test(acc) ? acc + l : `${acc} ${l}`), '')
        .replace(/!\[[^\]]*\]\([^)]*\)/gu, '')
        .replace(/\[([^\]]+)\]\([^)]*\)/gu, '$1')
        .replace(/\[([^\]]+)\]\[[^\]]*\]/gu, '$1')
        .replace(/(\*\*|__)(.+?)\1/gu, '$2')
        .replace(/(^|[\s(])[*_](\S(?:.*?\S)?)[*_](?=[\s).,;:!?"']|$)/gu, '$1$2')
        .replace(/\s+([,.;:!?])/gu, '$1'));
      if (t) out.push(decodeEntities(t));
    }
    cur = [];
  };
  for (const raw of md.replace(/\r\n?/gu, '\n').split('\n')) {
    if (/^\s*(```|~~~)/u.test(raw)) { flush(); fenced = !fenced; continue; }
    if (fenced) continue;
    let line = raw;
    while (/^\s{0,3}>\s?/u.test(line)) line = line.replace(/^\s{0,3}>\s?/u, '');
    if (line.trim() === '') { flush(); continue; }
    if (/^( {4}|\t)/u.test(line) && cur.length === 0) continue; // indented code block
    if (/^\s{0,3}(#{1,6}\s|[-=]{3,}\s*$|\|)|^\s*\[[^\]]+\]:\s|^\s*<\/?[a-zA-Z]/u.test(line)) { flush(); continue; }
    if (/^\s*([-*+]|\d+[.)])\s+/u.test(line)) { flush(); line = line.replace(/^\s*([-*+]|\d+[.)])\s+/u, ''); }
    cur.push(line.trim());
  }
  flush();
  return out;
}

/** Splits text into sentences (after . ! ? and an optional closing quote/bracket, before a
 * space and an upper-case letter, digit or opening quote). Joining the pieces with single spaces
 * gives back the tidied text. */
export function sentences(text: string): string[] {
  const t = tidy(text);
  if (!t) return [];
  return t.split(/(?<=[.!?]["'’”)\]]?)\s+(?=["'‘“(\[]?[A-Z0-9])/u);
}

/** Cuts a paragraph into pieces of at most `max` characters, at sentence ends when it can, else
 * at a space; no piece is empty and no character other than joining spaces is lost. */
export function splitLong(text: string, max: number): string[] {
  const t = tidy(text);
  if (t.length <= max) return t ? [t] : [];
  const out: string[] = [];
  let cur = '';
  const push = (s: string): void => {
    if (!cur) cur = s;
    else if (cur.length + 1 + s.length <= max) cur += ' ' + s;
    else { out.push(cur); cur = s; }
  };
  for (const s of sentences(t)) {
    if (s.length <= max) { push(s); continue; }
    for (const w of s.split(' ')) {
      if (w.length > max) { for (let i = 0; i < w.length; i += max) push(w.slice(i, i + max)); } else push(w);
    }
  }
  if (cur) out.push(cur);
  return out;
}

const EMAIL_ADDRESS = /[\w.+-]+@[\w-]+(\.[\w-]+)+/u;
const MAIL_HEADER = /^(from|to|cc|bcc|subject|date|reply-to|message-id|sender|received|return-path|x-[\w-]+):\s/iu;
const LICENCE = /\b(copyright\s*(©|\(c\)|\d{4})|©\s*\d{4}|all rights reserved|permission is (hereby )?granted|without any warranty|(gnu )?(general|lesser|library|free documentation) (public )?licen[cs]e|creative ?commons|licensed under|distributed under the terms|warranty of merchantability|free software foundation|public domain dedication|spdx-license)/iu;
const CODE_TOKEN = /[{}<>=;$\\|`~^]|::|->|=>|\(\)|^[-]{1,2}[a-z]|^\/\w|\w\/\w+\/|\.\w{1,4}$|^[a-z]+[A-Z]\w*$|\w_\w/u;

/** Why a paragraph is not usable English prose, or null when it is. `minWords` is the shortest
 * paragraph kept (WordNet fragments are handled elsewhere). */
export function proseProblem(p: string, minWords = 6): string | null {
  if (looksLikeMail(p)) return 'e-mail';
  const words = p.split(' ').filter(Boolean);
  if (words.length < minWords) return 'short';
  const nonSpace = p.replace(/\s/gu, '').length;
  const letters = (p.match(/\p{L}/gu) ?? []).length;
  if (letters < 0.72 * nonSpace) return 'few letters';
  if ((p.match(/[A-Za-z]/gu) ?? []).length < 0.9 * letters) return 'not English script';
  if (LICENCE.test(p)) return 'licence';
  if (/https?:\/\/|www\.\w|ftp:\/\//iu.test(p)) return 'url';
  if (/&[a-zA-Z]+;|<\/?[a-zA-Z][^>]*>|\{\{|\}\}|\[\[|\]\]/u.test(p)) return 'markup';
  if (/\t|\s\|\s|(\S\s{3,}\S.*){2}|\.{4,}|_{3,}|-{3,}|={3,}|\*{2,}/u.test(p)) return 'table or layout';
  const codeLike = words.filter((w) => CODE_TOKEN.test(w.replace(/^["'‘“(]+|[)"'’”.,;:!?]+$/gu, ''))).length;
  if (codeLike > Math.max(1, words.length * 0.12)) return 'code';
  const upper = (p.match(/\p{Lu}/gu) ?? []).length;
  if (upper > 0.3 * letters) return 'capitals';
  // A sentence end, possibly followed by a closing quote or bracket, or by a bracketed citation
  // ("… the master. [Proudhon, What is Property, p. 264]").
  if (!/[.!?]["'’”)\]]*(\s*\[[^\]]{1,200}\])?$/u.test(p)) return 'no sentence end';
  if (!/\b(the|a|an|of|to|and|is|are|in|it|you|that|for|was|be|with|on|as|this|by|or)\b/iu.test(p)) return 'no function words';
  return null;
}

/** An e-mail address, a mail header line, a salutation or a sign-off: the base model must not see
 * e-mail text (the domain suite adapts it to e-mail later). */
export function looksLikeMail(p: string): boolean {
  return EMAIL_ADDRESS.test(p) || p.split('\n').some((l) => MAIL_HEADER.test(l.trim())) || /^(dear|hi|hello) [\w .]{1,40},/iu.test(p)
    || /\b(unsubscribe|regards|sincerely)\b/iu.test(p);
}
