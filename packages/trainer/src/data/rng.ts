// Seeded randomness for the collators, samplers and augmentation. Every random choice in
// src/data takes an `Rng` argument: a function returning floats uniform in [0, 1). Pass
// `seededRng(seed)` (@tunebench/rng's `mulberry32(seed)`, with a check of the seed) so the same
// seed gives the same batch.
import { mulberry32 } from '@tunebench/rng';

/** A source of floats uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: small, fast, good enough for sampling masks and batches (not for cryptography). */
export function seededRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seededRng: seed must be a finite number, got ${seed}`);
  return mulberry32(seed);
}

/** Integer uniform in [0, n). */
export function randInt(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** Standard normal draw (Box–Muller; uses two uniforms). */
export function randNormal(rng: Rng): number {
  let u = rng();
  while (u <= 0) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Index drawn with probability proportional to weights[i] (all ≥ 0, sum > 0). */
export function weightedChoice(rng: Rng, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let r = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  // Floating-point leftovers: the last index with positive weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return weights.length - 1;
}
