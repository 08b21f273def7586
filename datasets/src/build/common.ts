// Shared types and steps of the dataset builders.
import type { RowKind } from '../schema.js';
import { cmp, normalise, sha256Hex, splitOf, type Split } from '../text.js';
import type { FileEntry } from './output.js';

export interface Built {
  name: string;
  files: Record<string, { kind: RowKind; rows: object[] }>;
  /** Extra JSON files written beside the rows (audit data the leakage tests read). */
  extra?: Record<string, unknown>;
  sources: string[];
  card: (files: Record<string, FileEntry>) => string;
}

/** Dedupes labelled items by normalised text. A text seen with two different labels is dropped
 * entirely (it is label noise the model cannot learn); a text repeated with one label is kept once
 * (the first in input order). */
export function dedupeLabelled<T extends { text: string; label: string }>(items: readonly T[]): {
  kept: T[]; duplicates: number; conflicting: number;
} {
  const byText = new Map<string, { first: T; labels: Set<string>; n: number }>();
  for (const it of items) {
    const k = normalise(it.text);
    const g = byText.get(k);
    if (g) { g.labels.add(it.label); g.n++; } else byText.set(k, { first: it, labels: new Set([it.label]), n: 1 });
  }
  const kept: T[] = [];
  let duplicates = 0;
  let conflicting = 0;
  for (const g of byText.values()) {
    if (g.labels.size > 1) { conflicting += g.n; continue; }
    duplicates += g.n - 1;
    kept.push(g.first);
  }
  return { kept, duplicates, conflicting };
}

/** Assigns each item to a split from a seeded hash of its split key (its normalised text unless
 * given), and orders each split by that hash (a fixed shuffle). */
export function splitByHash<T>(items: readonly T[], seed: string, splitKey: (it: T) => string,
  fractions?: { dev: number; test: number }): Record<Split, T[]> {
  const out: Record<Split, { h: string; it: T }[]> = { train: [], dev: [], test: [] };
  for (const it of items) {
    const k = splitKey(it);
    const h = sha256Hex(`split:${seed}:${k}`);
    const rowHash = sha256Hex(`order:${seed}:${k}:${JSON.stringify(it)}`);
    out[splitOf(h, fractions)].push({ h: rowHash, it });
  }
  const sorted = (xs: { h: string; it: T }[]): T[] => xs.sort((a, b) => cmp(a.h, b.h)).map((x) => x.it);
  return { train: sorted(out.train), dev: sorted(out.dev), test: sorted(out.test) };
}

/** Seeded deterministic selection: the `n` items with the smallest hash of (seed, key). */
export function pickByHash<T>(items: readonly T[], n: number, seed: string, key: (it: T) => string): T[] {
  return items.map((it) => ({ h: sha256Hex(`pick:${seed}:${key(it)}`), it }))
    .sort((a, b) => cmp(a.h, b.h)).slice(0, n).map((x) => x.it);
}

/** Packs lines into documents of at most `maxChars` characters joined by '\n' (a line longer
 * than that is its own document). Used for pretraining corpora: few rows, little JSON overhead,
 * and one unit per line so the overlap checks can look at each unit. */
export function packLines(lines: readonly string[], maxChars: number): string[] {
  const docs: string[] = [];
  let cur: string[] = [];
  let len = 0;
  for (const l of lines) {
    if (cur.length && len + 1 + l.length > maxChars) { docs.push(cur.join('\n')); cur = []; len = 0; }
    cur.push(l);
    len += (cur.length > 1 ? 1 : 0) + l.length;
  }
  if (cur.length) docs.push(cur.join('\n'));
  return docs;
}

export function pct(n: number, d: number): string {
  return d === 0 ? '0 %' : `${((100 * n) / d).toFixed(1)} %`;
}

export function shortId(prefix: string, text: string): string {
  return `${prefix}-${sha256Hex(normalise(text)).slice(0, 12)}`;
}

/** Splits by group (e.g. source package) so no group spans two splits, aiming at 80/10/10 of the
 * rows and of the rare label at once. Groups are visited in seeded-hash order and each goes to
 * the split furthest below its target share (rows + rare-label rows, normalised). Deterministic. */
export function splitGroupsBalanced<T extends { label: string }>(items: readonly T[], seed: string, group: (it: T) => string,
  rareLabel: string): Record<Split, T[]> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const g = group(it);
    let xs = groups.get(g);
    if (!xs) groups.set(g, (xs = []));
    xs.push(it);
  }
  const order = [...groups.keys()].map((g) => ({ g, h: sha256Hex(`group:${seed}:${g}`) })).sort((a, b) => cmp(a.h, b.h));
  const target: Record<Split, number> = { train: 0.8, dev: 0.1, test: 0.1 };
  const totalRows = items.length;
  const totalRare = Math.max(1, items.filter((x) => x.label === rareLabel).length);
  const rows: Record<Split, number> = { train: 0, dev: 0, test: 0 };
  const rare: Record<Split, number> = { train: 0, dev: 0, test: 0 };
  const out: Record<Split, T[]> = { train: [], dev: [], test: [] };
  for (const { g } of order) {
    const xs = groups.get(g)!;
    const nRare = xs.filter((x) => x.label === rareLabel).length;
    let best: Split = 'train';
    let bestDeficit = -Infinity;
    for (const s of ['train', 'dev', 'test'] as Split[]) {
      const deficit = (target[s] - rows[s] / totalRows) + (nRare ? target[s] - rare[s] / totalRare : 0);
      if (deficit > bestDeficit) { bestDeficit = deficit; best = s; }
    }
    rows[best] += xs.length;
    rare[best] += nRare;
    out[best].push(...xs);
  }
  const shuffle = (xs: T[]): T[] => xs.map((it) => ({ h: sha256Hex(`order:${seed}:${JSON.stringify(it)}`), it }))
    .sort((a, b) => cmp(a.h, b.h)).map((x) => x.it);
  return { train: shuffle(out.train), dev: shuffle(out.dev), test: shuffle(out.test) };
}
