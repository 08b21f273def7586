// Input checks shared by every metric. A metric that silently accepts a length mismatch or a NaN
// score produces a plausible-looking wrong number on a leaderboard, so every entry point checks
// first and names the function and the argument in its error.

/** A class label: integer class ids or strings (never mixed within one call). */
export type Label = number | string;

export function fail(fn: string, message: string): never {
  throw new Error(`${fn}: ${message}`);
}

export function checkNonEmpty(fn: string, name: string, a: ArrayLike<unknown>): void {
  if (a == null || typeof a.length !== 'number') fail(fn, `'${name}' must be an array`);
  if (a.length === 0) fail(fn, `'${name}' is empty`);
}

export function checkSameLength(fn: string, nameA: string, a: ArrayLike<unknown>, nameB: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) {
    fail(fn, `'${nameA}' has ${a.length} entries but '${nameB}' has ${b.length}`);
  }
}

/** Throws on NaN (and, unless allowInfinite, on ±Infinity), naming the first bad index. */
export function checkFinite(fn: string, name: string, a: ArrayLike<number>, allowInfinite = false): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number' || Number.isNaN(v) || (!allowInfinite && !Number.isFinite(v))) {
      fail(fn, `'${name}[${i}]' is ${String(v)}; scores must be finite numbers`);
    }
  }
}

/** Checks a rows × cols matrix given as an array of rows; returns cols. */
export function checkMatrix(fn: string, name: string, m: ReadonlyArray<ArrayLike<number>>, cols?: number): number {
  checkNonEmpty(fn, name, m);
  const c = cols ?? m[0].length;
  for (let i = 0; i < m.length; i++) {
    const row = m[i];
    if (row == null || typeof row.length !== 'number') fail(fn, `'${name}[${i}]' is not an array`);
    if (row.length !== c) fail(fn, `'${name}[${i}]' has ${row.length} columns, expected ${c}`);
    checkFinite(fn, `${name}[${i}]`, row);
  }
  return c;
}

export function checkLabels(fn: string, name: string, a: ArrayLike<Label>): void {
  let kind: string | null = null;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    const k = typeof v;
    if (k !== 'number' && k !== 'string') fail(fn, `'${name}[${i}]' is ${String(v)}; labels must be numbers or strings`);
    if (k === 'number' && !Number.isFinite(v as number)) fail(fn, `'${name}[${i}]' is ${String(v)}; numeric labels must be finite`);
    if (kind !== null && k !== kind) fail(fn, `'${name}' mixes number and string labels (index ${i})`);
    kind = k;
  }
}

/** Sort order of np.unique: numbers ascending, strings by code unit. */
export function compareLabels(a: Label, b: Label): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Sorted union of the labels present in the given arrays (scikit-learn's unique_labels). */
export function uniqueLabels(...arrays: ArrayLike<Label>[]): Label[] {
  const seen = new Set<Label>();
  for (const a of arrays) for (let i = 0; i < a.length; i++) seen.add(a[i]);
  const out = [...seen];
  const kinds = new Set(out.map((v) => typeof v));
  if (kinds.size > 1) throw new Error('uniqueLabels: mix of number and string labels');
  return out.sort(compareLabels);
}

/**
 * Maps each label to its index in `labels`. Throws, naming the array and index, for a value
 * outside `labels`. (scikit-learn silently drops such values; here a label outside the declared
 * set is a bug in the caller, so it fails loudly.)
 */
export function indexLabels(fn: string, name: string, a: ArrayLike<Label>, labels: readonly Label[]): Int32Array {
  const pos = new Map<Label, number>();
  labels.forEach((l, i) => {
    if (pos.has(l)) fail(fn, `'labels' lists ${JSON.stringify(l)} twice`);
    pos.set(l, i);
  });
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const p = pos.get(a[i]);
    if (p === undefined) {
      fail(fn, `'${name}[${i}]' = ${JSON.stringify(a[i])} is not one of labels ${JSON.stringify(labels)}`);
    }
    out[i] = p;
  }
  return out;
}

export function checkProbability(fn: string, name: string, v: number, openLow = false): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || v > 1 || (openLow && v === 0)) {
    fail(fn, `'${name}' = ${String(v)} must be in ${openLow ? '(0, 1]' : '[0, 1]'}`);
  }
}

export function checkPositiveInt(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) fail(fn, `'${name}' = ${String(v)} must be a positive integer`);
}
