// SetFit's pair generation (setfit's sentence_pairs_generation, v0.x): for each of `iterations`
// rounds, every labelled example is the first sentence of one positive pair (another example of
// its label, drawn at random) and of one negative pair (an example of another label), so the
// pairs are 2·n·iterations, half positive; the cosine-similarity target is 1 for a positive and 0
// for a negative. Only the labelled sample is used, and an example is never paired with itself.
// For MNR (in-batch negatives) only the positive pairs are used: the other rows of a batch are
// the negatives.
import { randInt, seededRng } from '@tunebench/trainer';

export interface SentencePair {
  /** Indices into the labelled sample. */
  a: number;
  b: number;
  /** 1 = same label, 0 = different labels. */
  target: 0 | 1;
}

export function generatePairs(labels: readonly string[], iterations: number, seed: number): SentencePair[] {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`pair generation: iterations must be an integer ≥ 1, got ${iterations}`);
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => {
    if (!byLabel.has(l)) byLabel.set(l, []);
    byLabel.get(l)!.push(i);
  });
  if (byLabel.size < 2) throw new Error('pair generation: the sample has a single label; negatives need two');
  for (const [l, idx] of byLabel) if (idx.length < 2) throw new Error(`pair generation: label ${JSON.stringify(l)} has one example; positives need two`);
  const rng = seededRng(seed >>> 0);
  const out: SentencePair[] = [];
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < labels.length; i++) {
      const same = byLabel.get(labels[i])!;
      // A random other index of the same label (skip i without rejection sampling).
      let j = same[randInt(rng, same.length - 1)];
      if (j === i) j = same[same.length - 1];
      out.push({ a: i, b: j, target: 1 });
      let k = randInt(rng, labels.length - same.length);
      // The k-th index whose label differs.
      for (let x = 0; x < labels.length; x++) {
        if (labels[x] === labels[i]) continue;
        if (k-- === 0) {
          out.push({ a: i, b: x, target: 0 });
          break;
        }
      }
    }
  }
  return out;
}
