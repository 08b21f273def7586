// Seeded randomness for resampling: every resampling function takes a seed (default 0), so a
// reported CI or p-value is reproducible. The generator is @tunebench/rng's mulberry32.
export { mulberry32 } from '@tunebench/rng';

/** A uniform integer in [0, n). */
export function randomIndex(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}
