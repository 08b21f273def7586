// The few-shot sampling protocol. For one seed, the labelled sample is `shots` rows per class
// drawn from the training split (stratified), and it depends on nothing but (rows, labels, shots,
// seed): every strategy of that seed sees the same examples (and a sample of 8 per class is the
// first 8 of that class's seed-shuffled order, so the 8-shot sample is inside the 16-shot one).
// The unlabelled pool of self-training is the rest of the training split with the labels removed
// (a new object per row holding only id and text, so no code path can read a label from it).
import { seededRng, shuffleInPlace } from '@tunebench/trainer';

export interface LabelledRow {
  id: string;
  text: string;
  label: string;
}
export interface UnlabelledRow {
  readonly id: string;
  readonly text: string;
}

/** Stratified sample: `shots` rows of each label in `labels`, in (label, draw) order. */
export function drawLabelledSample(rows: readonly LabelledRow[], labels: readonly string[], shots: number, seed: number): LabelledRow[] {
  if (!Number.isInteger(shots) || shots < 1) throw new Error(`few-shot sample: shots must be an integer ≥ 1, got ${shots}`);
  const byLabel = new Map<string, LabelledRow[]>(labels.map((l) => [l, []]));
  for (const r of rows) {
    const list = byLabel.get(r.label);
    if (!list) throw new Error(`few-shot sample: row ${r.id} has label ${JSON.stringify(r.label)}, not in [${labels.join(', ')}]`);
    list.push(r);
  }
  const out: LabelledRow[] = [];
  labels.forEach((label, li) => {
    const list = byLabel.get(label)!;
    if (list.length < shots) throw new Error(`few-shot sample: label ${JSON.stringify(label)} has ${list.length} training rows, fewer than ${shots} shots`);
    // Sorted by id first, so the draw does not depend on the order of the file.
    const sorted = [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // One stream per (seed, label): a class's draw does not change when another class changes.
    shuffleInPlace(sorted, seededRng((seed * 1_000_003 + li * 7919 + 17) >>> 0));
    out.push(...sorted.slice(0, shots).map((r) => ({ id: r.id, text: r.text, label: r.label })));
  });
  return out;
}

/** The training rows outside the sample, as {id, text} only (labels are not copied). */
export function unlabelledPool(rows: readonly LabelledRow[], sample: readonly LabelledRow[], limit = 0): UnlabelledRow[] {
  const taken = new Set(sample.map((r) => r.id));
  const out: UnlabelledRow[] = [];
  for (const r of rows) {
    if (taken.has(r.id)) continue;
    out.push(Object.freeze({ id: r.id, text: r.text }));
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}
