// Random resampling of a seq_cls training split around its costly class (data.resample):
//   oversample   draw extra copies of costly-class examples, uniformly with replacement, until
//                the class holds ratio × (the largest other class) examples (imbalanced-learn's
//                RandomOverSampler with that target for the one class);
//   undersample  keep a uniform random subset, without replacement, of every other class of at
//                most count(costly) / ratio examples (RandomUnderSampler of the majority classes).
// The resampled list keeps the original order of the kept examples with the extra copies after
// them; the training sampler shuffles anyway. Seeded: the same seed gives the same list.

import { ConfigError } from '../config/load.js';
import { deriveSeed, permutation } from './rng.js';
import { seededRng } from '../data/index.js';

export type ResampleMethod = 'none' | 'oversample' | 'undersample';

export interface ResampleReport {
  before: number[];
  after: number[];
}

/** Resample `items` (labels via `labelOf`, class indices < numLabels) around class `cls`. */
export function resampleAroundClass<T>(items: readonly T[], labelOf: (t: T) => number, numLabels: number, cls: number, method: ResampleMethod, ratio: number, seed: number): { items: T[]; report: ResampleReport } {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new ConfigError(`data.resampleRatio must be a finite number > 0 (got ${ratio})`);
  const byClass: number[][] = Array.from({ length: numLabels }, () => []);
  items.forEach((t, i) => {
    const y = labelOf(t);
    if (y >= 0 && y < numLabels) byClass[y]!.push(i);
  });
  const before = byClass.map((c) => c.length);
  if (method === 'none') return { items: [...items], report: { before, after: before } };
  const nCostly = before[cls]!;
  if (nCostly === 0) throw new ConfigError(`data.resample '${method}': the training rows hold no example of the costly class (label index ${cls}); nothing to resample around (use more training rows)`);
  const largestOther = Math.max(0, ...before.filter((_, i) => i !== cls));
  if (method === 'oversample') {
    const target = Math.ceil(ratio * largestOther);
    const extra = Math.max(0, target - nCostly);
    const rng = seededRng(deriveSeed(seed, 0x0e5a));
    const out = [...items];
    for (let i = 0; i < extra; i++) out.push(items[byClass[cls]![Math.floor(rng() * nCostly)]!]!);
    const after = [...before];
    after[cls] = nCostly + extra;
    return { items: out, report: { before, after } };
  }
  if (method === 'undersample') {
    const cap = Math.max(1, Math.floor(nCostly / ratio));
    const keep = new Set<number>(byClass[cls]);
    byClass.forEach((idx, c) => {
      if (c === cls) return;
      if (idx.length <= cap) return idx.forEach((i) => keep.add(i));
      const perm = permutation(deriveSeed(seed, 0x0d5a), c, idx.length);
      for (let k = 0; k < cap; k++) keep.add(idx[perm[k]!]!);
    });
    // Examples without a class (ignored labels) are kept as they are.
    items.forEach((t, i) => {
      const y = labelOf(t);
      if (!(y >= 0 && y < numLabels)) keep.add(i);
    });
    const out = items.filter((_, i) => keep.has(i));
    const after = before.map((n, c) => (c === cls ? n : Math.min(n, cap)));
    return { items: out, report: { before, after } };
  }
  throw new ConfigError(`data.resample '${String(method)}' is not one of none, oversample, undersample`);
}

/** The run's training examples after data.resample (logged), or the same list when it is 'none'. */
export function resampleTraining<T extends { label: number }>(examples: T[], method: ResampleMethod, ratio: number, labels: string[], costlyClass: string | null, seed: number, log: (line: string) => void): T[] {
  if (method === 'none') return examples;
  const cls = costlyClass === null ? -1 : labels.indexOf(costlyClass);
  if (cls < 0) throw new ConfigError(`data.resample '${method}' needs task.costlyClass to be one of the labels (${labels.join(', ')})`);
  const r = resampleAroundClass(examples, (e) => e.label, labels.length, cls, method, ratio, seed);
  log(`data.resample ${method} (ratio ${ratio}) around '${costlyClass}': ${labels.map((l, i) => `${l} ${r.report.before[i]}→${r.report.after[i]}`).join(', ')} (${examples.length}→${r.items.length} training examples)`);
  return r.items;
}
