// Expected calibration error (Guo et al. 2017, "On Calibration of Modern Neural Networks"):
// confidence = the top class probability, correct = (argmax == true class); confidences are put
// in nBins equal-width bins (lo, hi] (a confidence of exactly 0 goes to the first bin), and
//   ECE = Σ_b (|B_b| / N) · |accuracy(B_b) − mean confidence(B_b)|.
// scikit-learn has no ECE; 15 bins is the paper's (and most libraries') default.

import { checkMatrix, checkNonEmpty, checkPositiveInt, checkSameLength, fail } from './check.js';

export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  /** NaN for an empty bin. */
  accuracy: number;
  confidence: number;
}

export interface Calibration {
  ece: number;
  /** max over non-empty bins of |accuracy − confidence| (maximum calibration error). */
  mce: number;
  bins: CalibrationBin[];
}

/** Index of the first maximum (np.argmax's tie rule). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/**
 * Calibration of class probabilities. `probs[i]` is example i's probability row; `yTrue[i]` is its
 * class index (column). Probabilities must lie in [0, 1].
 */
export function calibration(probs: ReadonlyArray<ArrayLike<number>>, yTrue: ArrayLike<number>, opts: { nBins?: number } = {}): Calibration {
  const fn = 'expectedCalibrationError';
  const nBins = opts.nBins ?? 15;
  checkPositiveInt(fn, 'nBins', nBins);
  checkNonEmpty(fn, 'probs', probs);
  checkSameLength(fn, 'probs', probs, 'yTrue', yTrue);
  const cols = checkMatrix(fn, 'probs', probs);
  const count = new Array<number>(nBins).fill(0);
  const correct = new Array<number>(nBins).fill(0);
  const conf = new Array<number>(nBins).fill(0);
  for (let i = 0; i < probs.length; i++) {
    const y = yTrue[i];
    if (!Number.isInteger(y) || y < 0 || y >= cols) fail(fn, `'yTrue[${i}]' = ${String(y)} is not a class index in [0, ${cols})`);
    const k = argmax(probs[i]);
    const c = probs[i][k];
    if (c < 0 || c > 1) fail(fn, `'probs[${i}]' has a probability ${c} outside [0, 1]`);
    // bin b covers (b/n, (b+1)/n], compared against the boundaries as floats (b/n), as
    // implementations that test lo < c ≤ hi do; ceil(c·n) − 1 is only the first guess, since
    // c·n can round across an integer. c = 0 goes to bin 0.
    let b = Math.min(nBins - 1, Math.max(0, Math.ceil(c * nBins) - 1));
    while (b > 0 && c <= b / nBins) b--;
    while (b < nBins - 1 && c > (b + 1) / nBins) b++;
    count[b]++;
    conf[b] += c;
    if (k === y) correct[b]++;
  }
  const n = probs.length;
  let ece = 0;
  let mce = 0;
  const bins: CalibrationBin[] = [];
  for (let b = 0; b < nBins; b++) {
    const acc = count[b] ? correct[b] / count[b] : NaN;
    const mc = count[b] ? conf[b] / count[b] : NaN;
    if (count[b]) {
      const gap = Math.abs(acc - mc);
      ece += (count[b] / n) * gap;
      mce = Math.max(mce, gap);
    }
    bins.push({ lo: b / nBins, hi: (b + 1) / nBins, count: count[b], accuracy: acc, confidence: mc });
  }
  return { ece, mce, bins };
}

/** ECE alone; see `calibration` for the bins. */
export function expectedCalibrationError(probs: ReadonlyArray<ArrayLike<number>>, yTrue: ArrayLike<number>, opts: { nBins?: number } = {}): number {
  return calibration(probs, yTrue, opts).ece;
}
