// The batch the model consumes: int32 ids, masks and labels, row-major (B, T).

export interface ModelBatch {
  B: number;
  T: number;
  inputIds: Int32Array;
  /** 1 = real token, 0 = padding. */
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  /** −100 = ignore; per token (B·T) for mlm / token_cls, per row (B) for seq_cls; unused for embedding. */
  labels: Int32Array;
}

/** Throws an Error naming the bad field when `batch` does not fit `vocabSize` / `maxPositions`. */
export function validateBatch(batch: ModelBatch, vocabSize: number, maxPositions: number, typeVocabSize: number): void {
  const { B, T } = batch;
  if (!Number.isInteger(B) || B < 1) throw new Error(`batch.B must be a positive integer, got ${String(B)}`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`batch.T must be a positive integer, got ${String(T)}`);
  if (T > maxPositions) throw new Error(`batch.T = ${T} exceeds the model's maxPositions ${maxPositions}`);
  for (const k of ['inputIds', 'attentionMask', 'tokenTypeIds'] as const) {
    const a = batch[k];
    if (!(a instanceof Int32Array)) throw new Error(`batch.${k} must be an Int32Array`);
    if (a.length !== B * T) throw new Error(`batch.${k} has ${a.length} entries, expected B·T = ${B * T}`);
  }
  for (let i = 0; i < B * T; i++) {
    const id = batch.inputIds[i];
    if (id < 0 || id >= vocabSize) throw new Error(`batch.inputIds[${i}] = ${id} is outside the vocabulary [0, ${vocabSize})`);
    const tt = batch.tokenTypeIds[i];
    if (tt < 0 || tt >= typeVocabSize) throw new Error(`batch.tokenTypeIds[${i}] = ${tt} is outside [0, ${typeVocabSize})`);
    const m = batch.attentionMask[i];
    if (m !== 0 && m !== 1) throw new Error(`batch.attentionMask[${i}] = ${m} must be 0 or 1`);
  }
  for (let b = 0; b < B; b++) {
    let any = false;
    for (let t = 0; t < T; t++) any ||= batch.attentionMask[b * T + t] === 1;
    if (!any) throw new Error(`batch row ${b} has no real token (attentionMask all 0)`);
  }
  if (!(batch.labels instanceof Int32Array)) throw new Error('batch.labels must be an Int32Array');
}

/** Check labels for a head: length `n`, each in [0, numClasses) or −100. */
export function validateLabels(labels: Int32Array, n: number, numClasses: number, what: string): void {
  if (labels.length !== n) throw new Error(`batch.labels has ${labels.length} entries, the ${what} head needs ${n}`);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== -100 && (y < 0 || y >= numClasses || !Number.isInteger(y))) {
      throw new Error(`batch.labels[${i}] = ${y} is not −100 and not a class of the ${what} head [0, ${numClasses})`);
    }
  }
}
