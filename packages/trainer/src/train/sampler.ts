// Which example comes next: a seeded epoch sampler and the mixed-corpus sampler.
//
// Both keep their position as plain JSON (SamplerState) so a resumed run continues with the
// exact same example it would have drawn next.

import { StatefulRng, permutation, deriveSeed } from './rng.js';

export interface EpochSamplerState {
  epoch: number;
  /** Index into the current epoch's permutation. */
  index: number;
}

/** Visits 0..n-1 in a fresh seeded order each epoch (shuffle = false: in order). */
export class EpochSampler {
  private order: Int32Array;
  state: EpochSamplerState = { epoch: 0, index: 0 };

  constructor(readonly n: number, readonly seed: number, readonly shuffle = true) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`EpochSampler: dataset size ${n} must be ≥ 1`);
    this.order = this.orderFor(0);
  }

  private orderFor(epoch: number): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.n }, (_, i) => i);
    return permutation(this.seed, epoch, this.n);
  }

  /** Next example index; moves to the next epoch (new order) when one ends. */
  next(): number {
    if (this.state.index >= this.n) {
      this.state = { epoch: this.state.epoch + 1, index: 0 };
      this.order = this.orderFor(this.state.epoch);
    }
    return this.order[this.state.index++];
  }

  /** The next `b` indices (may cross an epoch boundary). */
  batch(b: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < b; i++) out.push(this.next());
    return out;
  }

  /** Fractional epochs done. */
  get epochProgress(): number {
    return this.state.epoch + this.state.index / this.n;
  }

  restore(s: EpochSamplerState): void {
    if (s.index < 0 || s.index > this.n) throw new Error(`EpochSampler: saved index ${s.index} outside 0..${this.n} (different dataset?)`);
    this.state = { ...s };
    this.order = this.orderFor(s.epoch);
  }
}

export interface MixedSamplerState {
  rng: number;
  general: EpochSamplerState;
  domain: EpochSamplerState;
}

/**
 * Mixed-corpus sampling for continued pretraining: each example comes from the general corpus
 * with probability `generalRatio` (e.g. 0.5 = 1:1, 0.25 = 1:3), otherwise from the domain corpus;
 * each corpus is walked in its own seeded order. Returns { source, index }.
 */
export class MixedSampler {
  private rng: StatefulRng;
  readonly general: EpochSampler;
  readonly domain: EpochSampler;

  constructor(nGeneral: number, nDomain: number, readonly generalRatio: number, readonly seed: number) {
    if (!(generalRatio >= 0 && generalRatio <= 1)) throw new Error(`mixed corpus: generalRatio=${generalRatio} must be in [0, 1]`);
    if (generalRatio > 0 && nGeneral < 1) throw new Error('mixed corpus: generalRatio > 0 but the general corpus is empty');
    if (generalRatio < 1 && nDomain < 1) throw new Error('mixed corpus: generalRatio < 1 but the domain corpus is empty');
    this.rng = new StatefulRng(deriveSeed(seed, 0x6d1c));
    this.general = new EpochSampler(Math.max(1, nGeneral), deriveSeed(seed, 1));
    this.domain = new EpochSampler(Math.max(1, nDomain), deriveSeed(seed, 2));
  }

  next(): { source: 'general' | 'domain'; index: number } {
    const fromGeneral = this.rng.next() < this.generalRatio;
    return fromGeneral ? { source: 'general', index: this.general.next() } : { source: 'domain', index: this.domain.next() };
  }

  get state(): MixedSamplerState {
    return { rng: this.rng.state, general: { ...this.general.state }, domain: { ...this.domain.state } };
  }

  restore(s: MixedSamplerState): void {
    this.rng.state = s.rng;
    this.general.restore(s.general);
    this.domain.restore(s.domain);
  }
}
