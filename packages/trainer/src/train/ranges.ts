// From a strategy plan to the element ranges the AdamW kernel updates.
//
// The parameters live in one flat buffer (ParamStore: each tensor at a 64-float aligned offset).
// AdamW takes a list of { offset, length, weightDecay, lrScale } ranges in elements and touches
// nothing else, so a frozen parameter is simply absent from the list and stays bit-identical.
// Parameter groups (Hugging Face's usual split: no weight decay on biases and LayerNorm weights)
// become a per-range weightDecay of 0. Neighbouring ranges with the same settings are merged
// when they are exactly contiguous (no padding between), so the kernel sees few ranges.

import type { StrategyPlan } from './strategy.js';

/** The part of ParamStore the ranges need (structural: ParamStore satisfies it). */
export interface StoreLayout {
  range(name: string): { offset: number; length: number };
}

export interface AdamwRange {
  offset: number;
  length: number;
  weightDecay: number;
  lrScale: number;
  /**
   * Adam's step count for this range when it differs from the optimizer's (a parameter unfrozen
   * later starts its own count at 1, as in PyTorch, where a parameter's state starts with its
   * first gradient). Absent: the optimizer's step.
   */
  step?: number;
}

/** Group ranges by their Adam step count (`fallback` for ranges without one). */
export function groupRangesByStep(ranges: readonly AdamwRange[], fallback: number): Map<number, AdamwRange[]> {
  const groups = new Map<number, AdamwRange[]>();
  for (const r of ranges) {
    const t = r.step ?? fallback;
    if (!Number.isInteger(t) || t < 1) throw new Error(`AdamW range at ${r.offset}: step ${t} must be an integer ≥ 1`);
    let g = groups.get(t);
    if (!g) groups.set(t, (g = []));
    g.push({ offset: r.offset, length: r.length, weightDecay: r.weightDecay, lrScale: r.lrScale });
  }
  return groups;
}

/**
 * AdamW ranges for the trainable parameters of `plan`, sorted by offset.
 * `weightDecay` applies to parameters whose spec says noDecay = false; the others get 0.
 */
export function adamwRanges(layout: StoreLayout, plan: StrategyPlan, weightDecay: number, stepOf?: (name: string) => number | undefined): AdamwRange[] {
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
    throw new Error(`adamwRanges: weightDecay=${weightDecay} must be a finite number ≥ 0`);
  }
  const raw: AdamwRange[] = [];
  for (const p of plan.params) {
    if (!p.trainable) continue;
    let r: { offset: number; length: number };
    try {
      r = layout.range(p.name);
    } catch (e) {
      throw new Error(`adamwRanges: parameter '${p.name}' of the plan is not in the store (${(e as Error).message})`);
    }
    if (r.length !== p.elements) {
      throw new Error(`adamwRanges: parameter '${p.name}' has ${r.length} elements in the store but ${p.elements} in the plan`);
    }
    if (r.length === 0) continue;
    const range: AdamwRange = { offset: r.offset, length: r.length, weightDecay: p.decay ? weightDecay : 0, lrScale: p.lrScale };
    const t = stepOf?.(p.name);
    if (t !== undefined) range.step = t;
    raw.push(range);
  }
  raw.sort((a, b) => a.offset - b.offset);
  const out: AdamwRange[] = [];
  for (const r of raw) {
    const last = out[out.length - 1];
    if (last && last.offset + last.length > r.offset) {
      throw new Error(`adamwRanges: ranges overlap at element ${r.offset}; the store layout is inconsistent`);
    }
    if (last && last.offset + last.length === r.offset && last.weightDecay === r.weightDecay && last.lrScale === r.lrScale && last.step === r.step) {
      last.length += r.length;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** Total elements covered by `ranges`. */
export function rangeElements(ranges: readonly AdamwRange[]): number {
  return ranges.reduce((a, r) => a + r.length, 0);
}
