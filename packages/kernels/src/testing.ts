// Helpers for tests that compare a GPU kernel against its float64 reference.

import type { Gpu } from './runtime.js';

/** A storage buffer of `n` f32 NaNs: an element the kernel fails to write stays NaN and fails the comparison. */
export function poisoned(gpu: Gpu, n: number, label = 'poisoned'): GPUBuffer {
  return gpu.buffer(new Float32Array(n).fill(Number.NaN), label);
}

/** Round a float64 array to float32 (inputs are drawn in f64, the GPU sees f32). */
export function toF32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  bound: number;
}

/**
 * First element where |actual − expected| > bound(i), or where actual is not finite while
 * expected is. `bound` gets the index so callers can scale it by each element's magnitude.
 */
export function firstMismatch(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: (i: number) => number,
): Mismatch | null {
  if (actual.length < expected.length) {
    return { index: actual.length, actual: Number.NaN, expected: expected[actual.length], bound: 0 };
  }
  for (let i = 0; i < expected.length; i++) {
    const x = actual[i];
    const y = expected[i];
    const b = bound(i);
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (!(Math.abs(x - y) <= b)) return { index: i, actual: x, expected: y, bound: b };
  }
  return null;
}

/** Throws a readable error when `firstMismatch` finds one. */
export function assertAllClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: (i: number) => number,
): void {
  const m = firstMismatch(actual, expected, bound);
  if (m) {
    throw new Error(
      `${what}: element ${m.index} is ${m.actual}, expected ${m.expected} (allowed error ${m.bound.toExponential(2)})`,
    );
  }
}

/** Max |actual − expected| / max(|expected|, floor) over all elements (reported by tests). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}

/** Tests and benches draw their values from this seeded PRNG (from a fast-check seed): @tunebench/rng's, re-exported. */
export { mulberry32 } from '@tunebench/rng';

/** `n` distinct indices of 0..total−1 in random order: the first `n` of a Fisher–Yates shuffle (rows to gather). */
export function pickRows(rand: () => number, total: number, n: number): Int32Array {
  const all = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return Int32Array.from(all.slice(0, n));
}

/** `n` floats uniform in [lo, hi), rounded to f32. */
export function randomF32(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}
