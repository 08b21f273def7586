// Token-classification label alignment (NER): word labels → one label per WordPiece token, and
// token predictions → one label per word.
//
// As Hugging Face's run_ner.py / the token-classification course:
//   'first'  the first sub-token of a word gets the word's label, later pieces −100;
//   'all'    every sub-token gets a label; a B-X word's later pieces get I-X when I-X is in the
//            label set (run_ner.py's b_to_i_label), otherwise the same label;
// added specials ([CLS], [SEP], padding) are −100 in both. The inverse map takes the prediction
// at each word's first sub-token (the usual evaluation, and exact on both modes' labels).

export const IGNORE_INDEX = -100;

/** A label set: list (id = index) or map label → id. */
export type LabelSet = readonly string[] | ReadonlyMap<string, number>;

export function labelIdMap(labels: LabelSet): Map<string, number> {
  if (labels instanceof Map) return new Map(labels);
  const m = new Map<string, number>();
  (labels as readonly string[]).forEach((l, i) => {
    if (m.has(l)) throw new Error(`label set: duplicate label ${JSON.stringify(l)} at index ${i}`);
    m.set(l, i);
  });
  return m;
}

export type AlignMode = 'first' | 'all';

/**
 * Token labels for one encoded example. `wordIds` from the encoding (null = special),
 * `wordLabels` one label per input word. `where` names the example in errors.
 */
export function alignLabels(
  wordIds: readonly (number | null)[],
  wordLabels: readonly string[],
  labels: LabelSet,
  mode: AlignMode = 'first',
  where = 'example',
): Int32Array {
  if (mode !== 'first' && mode !== 'all') throw new Error(`alignLabels: mode must be 'first' or 'all', got '${mode}'`);
  const ids = labelIdMap(labels);
  const wordLabelIds = wordLabels.map((l, w) => {
    const id = ids.get(l);
    if (id === undefined) {
      throw new Error(`${where}: label ${JSON.stringify(l)} of word ${w} is not in the label set [${[...ids.keys()].join(', ')}]`);
    }
    return id;
  });
  // B-X → I-X for continuation pieces ('all' mode).
  const cont = wordLabels.map((l, w) => {
    if (l.startsWith('B-')) {
      const i = ids.get('I-' + l.slice(2));
      if (i !== undefined) return i;
    }
    return wordLabelIds[w];
  });
  const out = new Int32Array(wordIds.length).fill(IGNORE_INDEX);
  let prev: number | null = null;
  for (let t = 0; t < wordIds.length; t++) {
    const w = wordIds[t];
    if (w === null) {
      prev = null;
      continue;
    }
    if (!Number.isInteger(w) || w < 0 || w >= wordLabels.length) {
      throw new Error(`${where}: token ${t} belongs to word ${w}, but there are ${wordLabels.length} word labels`);
    }
    if (w !== prev) out[t] = wordLabelIds[w];
    else if (mode === 'all') out[t] = cont[w];
    prev = w;
  }
  return out;
}

/**
 * One label id per word from per-token predictions (the first sub-token's prediction).
 * Words with no token (empty, or cut by truncation) get `missing` (default −1).
 */
export function wordPredictions(
  wordIds: readonly (number | null)[],
  tokenPredictions: ArrayLike<number>,
  numWords: number,
  missing = -1,
): Int32Array {
  if (tokenPredictions.length < wordIds.length) {
    throw new Error(`wordPredictions: ${tokenPredictions.length} predictions for ${wordIds.length} tokens`);
  }
  const out = new Int32Array(numWords).fill(missing);
  const seen = new Uint8Array(numWords);
  for (let t = 0; t < wordIds.length; t++) {
    const w = wordIds[t];
    if (w === null) continue;
    if (w < 0 || w >= numWords) throw new Error(`wordPredictions: token ${t} belongs to word ${w}, outside 0..${numWords - 1}`);
    if (!seen[w]) {
      seen[w] = 1;
      out[w] = tokenPredictions[t];
    }
  }
  return out;
}

/** Word labels as strings from `wordPredictions` (missing words → `missingLabel`, default 'O'). */
export function wordLabelsFromPredictions(
  wordIds: readonly (number | null)[],
  tokenPredictions: ArrayLike<number>,
  numWords: number,
  labels: readonly string[],
  missingLabel = 'O',
): string[] {
  return Array.from(wordPredictions(wordIds, tokenPredictions, numWords), (id) => {
    if (id === -1) return missingLabel;
    const l = labels[id];
    if (l === undefined) throw new Error(`wordLabelsFromPredictions: predicted label id ${id} is outside the label list (${labels.length} labels)`);
    return l;
  });
}
