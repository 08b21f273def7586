// Seeded randomness for the training loop, with state that fits in a checkpoint.
//
// Every random choice of a run (data order, masking, corpus mixing, dropout seeds) comes from a
// StatefulRng whose whole state is one u32, so resume restores it exactly. Data order per epoch does not
// even need saved state: permutation(seed, epoch, n) is a pure function.
import { mulberry32Output, mulberry32Step } from '@tunebench/rng';

/** @tunebench/rng's mulberry32 with its state in view: small, fast, good enough for shuffling and sampling; state is one u32. */
export class StatefulRng {
  private s: number;
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`StatefulRng: seed=${seed} must be a finite number`);
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = mulberry32Step(this.s);
    return mulberry32Output(this.s);
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A u32, for seeding kernels (dropout) or child generators. */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
  get state(): number {
    return this.s;
  }
  set state(v: number) {
    this.s = v >>> 0;
  }
}

/** Mix two integers into a seed (splitmix-style), so (seed, epoch) pairs give unrelated streams. */
export function deriveSeed(seed: number, salt: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((salt >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Fisher–Yates permutation of 0..n-1 for (seed, epoch). */
export function permutation(seed: number, epoch: number, n: number): Int32Array {
  const rng = new StatefulRng(deriveSeed(seed, epoch));
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
