// Resampling of feature vectors for an imbalanced class, as imbalanced-learn 0.10 defines it:
//   smote       SMOTE (Chawla et al. 2002): each synthetic point is x + u·(x_nn − x), x a random
//               minority point, x_nn one of its k nearest minority neighbours (chosen uniformly),
//               u ~ U[0, 1). The default count brings the class up to the largest class
//               (imbalanced-learn's sampling_strategy 'auto' for one class).
//   tomekLinks  pairs (i, j) of different labels that are each other's nearest neighbour.
//   tomekClean  drops the members of Tomek links whose label is in `removeClasses` (default: every
//               class except the smallest, imbalanced-learn's 'auto' = 'not minority').
// Distances are Euclidean; ties between neighbours go to the lower index (what a stable sort of
// the distances gives; scikit-learn's brute-force search agrees on untied data). The random draws
// use our own seeded generator, so the synthetic points differ from imbalanced-learn's numpy
// draws; the tests compare the neighbour sets exactly and the synthetic points by property.

import { checkFinite, checkMatrix, checkNonEmpty, checkPositiveInt, checkSameLength, fail } from './check.js';
import { mulberry32 } from './rng.js';

function sqDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

function checkPoints(fn: string, X: ReadonlyArray<ArrayLike<number>>): number {
  checkNonEmpty(fn, 'X', X);
  const d = checkMatrix(fn, 'X', X);
  X.forEach((row, i) => checkFinite(fn, `X[${i}]`, row));
  return d;
}

/** For each point, the indices of its k nearest other points (closest first; ties → lower index). */
export function kNearestNeighbors(X: ReadonlyArray<ArrayLike<number>>, k: number): number[][] {
  const fn = 'kNearestNeighbors';
  checkPoints(fn, X);
  checkPositiveInt(fn, 'k', k);
  if (k > X.length - 1) fail(fn, `k = ${k} neighbours asked of ${X.length} points (at most ${X.length - 1})`);
  return X.map((x, i) => {
    const others: { j: number; d: number }[] = [];
    for (let j = 0; j < X.length; j++) if (j !== i) others.push({ j, d: sqDist(x, X[j]) });
    others.sort((a, b) => a.d - b.d || a.j - b.j);
    return others.slice(0, k).map((o) => o.j);
  });
}

export interface SmoteOptions {
  /** The class to oversample. */
  targetClass: number;
  /** Minority neighbours per point (imbalanced-learn's k_neighbors, default 5). */
  k?: number;
  /** Synthetic points to make (default: up to the size of the largest class). */
  nSamples?: number;
  seed?: number;
}

export interface SmoteResult {
  /** The input points followed by the synthetic ones. */
  X: number[][];
  y: number[];
  /** Per synthetic point: indices (into the input) of its base point and neighbour, and u. */
  synthetic: { base: number; neighbor: number; step: number }[];
  /** The k nearest minority neighbours of each minority point (input indices). */
  neighbors: { index: number; neighbors: number[] }[];
}

export function smote(X: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>, opts: SmoteOptions): SmoteResult {
  const fn = 'smote';
  checkPoints(fn, X);
  checkSameLength(fn, 'X', X, 'y', y);
  const k = opts.k ?? 5;
  checkPositiveInt(fn, 'k', k);
  const minority: number[] = [];
  const counts = new Map<number, number>();
  for (let i = 0; i < y.length; i++) {
    if (!Number.isInteger(y[i])) fail(fn, `y[${i}] = ${y[i]} is not an integer class`);
    counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
    if (y[i] === opts.targetClass) minority.push(i);
  }
  if (minority.length === 0) fail(fn, `no point of targetClass ${opts.targetClass}`);
  if (minority.length < k + 1) fail(fn, `targetClass ${opts.targetClass} has ${minority.length} points; SMOTE with k = ${k} needs at least k + 1 = ${k + 1}`);
  const nSamples = opts.nSamples ?? Math.max(0, Math.max(...counts.values()) - minority.length);
  if (!Number.isInteger(nSamples) || nSamples < 0) fail(fn, `'nSamples' must be a non-negative integer, got ${nSamples}`);
  const nnLocal = kNearestNeighbors(minority.map((i) => X[i]), k);
  const rng = mulberry32(opts.seed ?? 0);
  const outX = X.map((r) => Array.from(r));
  const outY = Array.from(y);
  const synthetic: SmoteResult['synthetic'] = [];
  for (let s = 0; s < nSamples; s++) {
    const a = Math.floor(rng() * minority.length);
    const b = nnLocal[a][Math.floor(rng() * k)];
    const step = rng();
    const xa = X[minority[a]], xb = X[minority[b]];
    outX.push(Array.from(xa, (v, d) => v + step * (xb[d] - v)));
    outY.push(opts.targetClass);
    synthetic.push({ base: minority[a], neighbor: minority[b], step });
  }
  return { X: outX, y: outY, synthetic, neighbors: minority.map((idx, a) => ({ index: idx, neighbors: nnLocal[a].map((b) => minority[b]) })) };
}

/** Tomek links: pairs [i, j], i < j, of different labels, each the other's nearest neighbour. */
export function tomekLinks(X: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>): [number, number][] {
  const fn = 'tomekLinks';
  checkPoints(fn, X);
  checkSameLength(fn, 'X', X, 'y', y);
  if (X.length < 2) return [];
  const nn = kNearestNeighbors(X, 1).map((r) => r[0]);
  const out: [number, number][] = [];
  for (let i = 0; i < X.length; i++) {
    const j = nn[i];
    if (i < j && nn[j] === i && y[i] !== y[j]) out.push([i, j]);
  }
  return out;
}

/**
 * Indices of the points kept after removing, from every Tomek link, its members whose label is in
 * `removeClasses` (default: all classes but the smallest; ties → the lowest label is the minority).
 */
export function tomekClean(X: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>, opts: { removeClasses?: readonly number[] } = {}): { kept: number[]; removed: number[]; links: [number, number][] } {
  const links = tomekLinks(X, y);
  let remove = opts.removeClasses;
  if (!remove) {
    const counts = new Map<number, number>();
    for (let i = 0; i < y.length; i++) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
    const sorted = [...counts.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    remove = sorted.slice(1).map(([c]) => c);
  }
  const removeSet = new Set(remove);
  const removed = new Set<number>();
  for (const [i, j] of links) {
    if (removeSet.has(y[i])) removed.add(i);
    if (removeSet.has(y[j])) removed.add(j);
  }
  const kept: number[] = [];
  for (let i = 0; i < y.length; i++) if (!removed.has(i)) kept.push(i);
  return { kept, removed: [...removed].sort((a, b) => a - b), links };
}
