// Seeded randomness for every package: mulberry32, a small 32-bit generator whose whole state is
// one u32. Kernel tests and benches, weight init, data order, masking and the resampling statistics
// all draw from it, so a seed names the same numbers everywhere (and a checkpoint can hold the
// state). Not for cryptography.
//
// Its own package because both leaves need it: kernels (tests, doctor, benches) and eval (bootstrap,
// permutation tests); eval knows nothing of GPUs and kernels knows nothing of eval, so neither can
// host it for the other. Dependencies: none.

/** The state after `state`: mulberry32 steps its u32 state by a fixed odd constant (a Weyl sequence). */
export function mulberry32Step(state: number): number {
  return (state + 0x6d2b79f5) >>> 0;
}

/** The float in [0, 1) that mulberry32 outputs for a state (the state after its step). */
export function mulberry32Output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Floats uniform in [0, 1) from a 32-bit seed (`seed >>> 0`: -1 and 2³²−1 are the same seed). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = mulberry32Step(s);
    return mulberry32Output(s);
  };
}
