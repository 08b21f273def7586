// Seeded randomness for resampling: mulberry32, a small 32-bit generator. Every resampling
// function takes a seed (default 0), so a reported CI or p-value is reproducible.

/** Floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [0, n). */
export function randomIndex(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}
