// Text helpers shared by the builder and the tests: normalisation for deduplication, content
// hashes, hash-based split assignment. Everything here is a pure function of its input, so a
// rebuild from the same sources gives the same rows in the same order.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'dev' | 'test';
export const SPLITS: readonly Split[] = ['train', 'dev', 'test'];

/** Normalised form used for deduplication and overlap checks: NFKC, lower case, whitespace
 * collapsed to one space, trimmed. Two texts that differ only in spacing, case or full-width
 * forms are "the same text". */
export function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of the normalised text, salted with a dataset-specific seed so that two datasets built
 * from the same pool do not select and split identically. */
export function textKey(text: string, seed = ''): string {
  return sha256Hex(`${seed}\u0000${normalise(text)}`);
}

/** A uniform number in [0, 1) read from the first 52 bits of a hex hash. */
export function unitFromHash(hex: string): number {
  return parseInt(hex.slice(0, 13), 16) / 2 ** 52;
}

/** Split assignment from a hash: train 80 %, dev 10 %, test 10 % unless told otherwise. */
export function splitOf(hex: string, fractions: { dev: number; test: number } = { dev: 0.1, test: 0.1 }): Split {
  const u = unitFromHash(hex);
  if (u < fractions.test) return 'test';
  if (u < fractions.test + fractions.dev) return 'dev';
  return 'train';
}

/** Keeps the first item for each key, in input order. Returns kept items and how many were dropped. */
export function dedupeBy<T>(items: readonly T[], key: (item: T) => string): { kept: T[]; dropped: number } {
  const seen = new Set<string>();
  const kept: T[] = [];
  for (const it of items) {
    const k = key(it);
    if (seen.has(k)) continue;
    seen.add(k);
    kept.push(it);
  }
  return { kept, dropped: items.length - kept.length };
}

/** Byte-wise string comparison (never locale-dependent), for deterministic sorting. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Removes ANSI colour escapes (fortunes-zh carries them, some broken across a line break, such
 * as "\x1b[" at a line end and "34;1m" on the next line), then any stray ESC. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;\s]*[A-Za-z]?/gu, '').replace(/\x1b/gu, '');
}

/** Truncates to at most `max` characters, cutting at the last whitespace in the final 20 % when
 * there is one, so the text does not end mid-word. Code points are never split. */
export function truncate(text: string, max: number): string {
  const cps = Array.from(text);
  if (cps.length <= max) return text;
  const head = cps.slice(0, max).join('');
  const cut = head.search(/\s\S*$/u);
  return (cut > max * 0.8 ? head.slice(0, cut) : head).trimEnd();
}
