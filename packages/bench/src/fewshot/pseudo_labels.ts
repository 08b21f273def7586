// Which unlabelled pool rows a self-training round adds, with which label. A row is eligible when
// its top class probability reaches `threshold`; its pseudo-label is that class (argmax, the
// lowest index on a tie). With `topPerClass` > 0 only the most confident eligible rows of each
// predicted class are kept, at most `topPerClass` of them (class-balanced selection, as in
// few-shot self-training where a weak teacher's probabilities are soft: measured on the quick
// sweep after 100 fine-tuning steps, the largest top probability over 3,000 pool rows was 0.36
// on wn_topic and 0.80 on zh_poetry, so a fixed 0.9 added nothing). Ties in confidence go to the
// earlier row. Picks come back in pool order.

export interface PseudoLabel {
  /** Row index in the pool. */
  index: number;
  /** Predicted class (argmax). */
  label: number;
  /** Its probability. */
  confidence: number;
}

/** probs: N × K row-major class probabilities of the pool's N rows. */
export function pickPseudoLabels(probs: ArrayLike<number>, K: number, threshold: number, topPerClass = 0): PseudoLabel[] {
  if (!(Number.isInteger(K) && K >= 1) || probs.length % K !== 0) throw new Error(`pickPseudoLabels: ${probs.length} probabilities are not rows of ${K} classes`);
  if (!(Number.isInteger(topPerClass) && topPerClass >= 0)) throw new Error(`pickPseudoLabels: topPerClass must be an integer ≥ 0, got ${topPerClass}`);
  const eligible: PseudoLabel[] = [];
  for (let i = 0; i < probs.length / K; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[i * K + k]! > probs[i * K + best]!) best = k;
    const confidence = probs[i * K + best]!;
    if (confidence >= threshold) eligible.push({ index: i, label: best, confidence });
  }
  if (topPerClass === 0) return eligible;
  const kept: PseudoLabel[] = [];
  for (let k = 0; k < K; k++) {
    const mine = eligible.filter((p) => p.label === k).sort((a, b) => b.confidence - a.confidence || a.index - b.index);
    kept.push(...mine.slice(0, topPerClass));
  }
  return kept.sort((a, b) => a.index - b.index);
}
