// Class-imbalance samplers (random over- and under-sampling), as imbalanced-learn's
// RandomOverSampler / RandomUnderSampler. They return example indices; the caller builds the
// resampled training set from them.
//
// sampling strategy (imbalanced-learn's names and defaults):
//   over:  'not majority' (default 'auto'): every class but the majority up to the majority count;
//          'minority': only the smallest class; 'all'; a number r (two classes): the minority up
//          to r × majority; or an explicit { label: target count } (≥ the current count).
//   under: 'not minority' (default 'auto'): every class but the minority down to the minority
//          count; 'majority'; 'all'; a number r (two classes): the majority down to minority / r;
//          or { label: target count } (≤ the current count).
// Over-sampling draws with replacement within a class; under-sampling without (unless
// `replacement`). Output: over-sampling returns all original indices in order, then the drawn
// extras class by class (sorted labels); under-sampling returns the kept indices ascending.

import { randInt, shuffleInPlace, type Rng } from './rng.js';

export type Label = number | string;
export type OverStrategy = 'auto' | 'not majority' | 'minority' | 'all' | number | Record<string, number>;
export type UnderStrategy = 'auto' | 'not minority' | 'majority' | 'all' | number | Record<string, number>;

/** Indices of each label, labels sorted (numbers numerically, strings lexically). */
export function indicesByClass(labels: ArrayLike<Label>): Map<Label, number[]> {
  const m = new Map<Label, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (typeof l !== 'number' && typeof l !== 'string') throw new Error(`samplers: label ${i} is ${typeof l}, expected a number or string`);
    let list = m.get(l);
    if (!list) m.set(l, (list = []));
    list.push(i);
  }
  const keys = [...m.keys()].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0,
  );
  return new Map(keys.map((k) => [k, m.get(k)!]));
}

export function classCounts(labels: ArrayLike<Label>): Map<Label, number> {
  return new Map([...indicesByClass(labels)].map(([k, v]) => [k, v.length]));
}

function explicitTargets(by: Map<Label, number[]>, targets: Record<string, number>, what: string, over: boolean): Map<Label, number> {
  const out = new Map<Label, number>();
  const byName = new Map([...by.keys()].map((k) => [String(k), k]));
  for (const [name, n] of Object.entries(targets)) {
    const label = byName.get(name);
    if (label === undefined) throw new Error(`${what}: label ${JSON.stringify(name)} in the sampling strategy is not among the labels [${[...byName.keys()].join(', ')}]`);
    const have = by.get(label)!.length;
    if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: target count for ${name} must be a non-negative integer, got ${n}`);
    if (over && n < have) throw new Error(`${what}: target ${n} for ${name} is below its ${have} examples (over-sampling only adds)`);
    if (!over && n > have) throw new Error(`${what}: target ${n} for ${name} is above its ${have} examples (under-sampling only removes)`);
    out.set(label, n);
  }
  return out;
}

/** Class sizes with the largest and smallest (first in label order on ties). */
function classExtremes(by: Map<Label, number[]>) {
  const counts = [...by].map(([k, v]) => [k, v.length] as const);
  const max = Math.max(...counts.map((c) => c[1]));
  const min = Math.min(...counts.map((c) => c[1]));
  const majority = counts.find((c) => c[1] === max)![0];
  const minority = counts.find((c) => c[1] === min)![0];
  return { counts, max, min, majority, minority };
}

/** Target count per class for over-sampling. */
function overTargets(by: Map<Label, number[]>, strategy: OverStrategy): Map<Label, number> {
  const { counts, max, min, majority, minority } = classExtremes(by);
  const t = new Map<Label, number>();
  if (typeof strategy === 'number') {
    if (counts.length !== 2) throw new Error(`randomOverSample: a ratio strategy needs exactly 2 classes, got ${counts.length}`);
    if (!(strategy > 0 && strategy <= 1)) throw new Error(`randomOverSample: ratio must be in (0, 1], got ${strategy}`);
    const want = Math.floor(strategy * max);
    if (want < min) throw new Error(`randomOverSample: ratio ${strategy} asks for ${want} minority examples, fewer than the ${min} there are`);
    t.set(minority, want);
    return t;
  }
  if (typeof strategy === 'object') return explicitTargets(by, strategy, 'randomOverSample', true);
  for (const [k] of counts) {
    if (strategy === 'auto' || strategy === 'not majority') {
      if (k !== majority) t.set(k, max);
    } else if (strategy === 'minority') {
      if (k === minority) t.set(k, max);
    } else if (strategy === 'all') t.set(k, max);
    else throw new Error(`randomOverSample: unknown sampling strategy ${JSON.stringify(strategy)}`);
  }
  return t;
}

function underTargets(by: Map<Label, number[]>, strategy: UnderStrategy): Map<Label, number> {
  const { counts, max, min, majority, minority } = classExtremes(by);
  const t = new Map<Label, number>();
  if (typeof strategy === 'number') {
    if (counts.length !== 2) throw new Error(`randomUnderSample: a ratio strategy needs exactly 2 classes, got ${counts.length}`);
    if (!(strategy > 0 && strategy <= 1)) throw new Error(`randomUnderSample: ratio must be in (0, 1], got ${strategy}`);
    const want = Math.floor(min / strategy);
    if (want > max) throw new Error(`randomUnderSample: ratio ${strategy} asks for ${want} majority examples, more than the ${max} there are`);
    t.set(majority, want);
    return t;
  }
  if (typeof strategy === 'object') return explicitTargets(by, strategy, 'randomUnderSample', false);
  for (const [k] of counts) {
    if (strategy === 'auto' || strategy === 'not minority') {
      if (k !== minority) t.set(k, min);
    } else if (strategy === 'majority') {
      if (k === majority) t.set(k, min);
    } else if (strategy === 'all') t.set(k, min);
    else throw new Error(`randomUnderSample: unknown sampling strategy ${JSON.stringify(strategy)}`);
  }
  return t;
}

/** Random over-sampling: original indices, then extra draws (with replacement) per class. */
export function randomOverSample(labels: ArrayLike<Label>, rng: Rng, options: { strategy?: OverStrategy } = {}): Int32Array {
  if (labels.length === 0) throw new Error('randomOverSample: no labels');
  const by = indicesByClass(labels);
  const targets = overTargets(by, options.strategy ?? 'auto');
  const out: number[] = Array.from({ length: labels.length }, (_, i) => i);
  for (const [k, idx] of by) {
    const want = targets.get(k);
    if (want === undefined) continue;
    for (let n = idx.length; n < want; n++) out.push(idx[randInt(rng, idx.length)]);
  }
  return Int32Array.from(out);
}

/** Random under-sampling: kept indices, ascending. */
export function randomUnderSample(
  labels: ArrayLike<Label>,
  rng: Rng,
  options: { strategy?: UnderStrategy; replacement?: boolean } = {},
): Int32Array {
  if (labels.length === 0) throw new Error('randomUnderSample: no labels');
  const by = indicesByClass(labels);
  const targets = underTargets(by, options.strategy ?? 'auto');
  const out: number[] = [];
  for (const [k, idx] of by) {
    const want = targets.get(k);
    if (want === undefined) out.push(...idx);
    else if (options.replacement) for (let n = 0; n < want; n++) out.push(idx[randInt(rng, idx.length)]);
    else out.push(...shuffleInPlace([...idx], rng).slice(0, want));
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}
