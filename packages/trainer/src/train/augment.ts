// data.augment: EDA copies of the training rows of a text-classification run (Wei & Zou 2019,
// eda.py; data/eda.ts): synonym replacement from the shipped WordNet map, random insertion, swap
// and deletion at the configured rates, `copies` new sentences per row, each keeping its row's
// label. Only the training split grows; dev and test are never augmented. Deterministic for the
// run's data seed, so a resumed run sees the same rows.
import type { AugmentConfig } from '../config/schema.js';
import { eda, edaModeOf, loadSynonymMap, type SynonymMap } from '../data/eda.js';
import { seededRng } from '../data/rng.js';
import { deriveSeed } from './rng.js';
import type { Row } from './data.js';

/** The stream of the EDA draws: derived from the data seed, apart from the sampler's. */
export const augmentSeed = (dataSeed: number): number => deriveSeed(dataSeed, 0xeda);

/**
 * The EDA copies of `rows` (not the rows themselves), in row order: ids `<id>/eda<k>`, the row's
 * label. eda() ends its list with the cleaned original, which is not a copy and is left out; a row
 * with no words gives no copy.
 */
export function augmentRows(rows: readonly Row[], a: AugmentConfig, seed: number, synonyms: SynonymMap = loadSynonymMap()): Row[] {
  const rng = seededRng(augmentSeed(seed));
  const out: Row[] = [];
  rows.forEach((r, i) => {
    if (typeof r.text !== 'string') throw new Error(`data.augment: training row ${i + 1} (id ${r.id}) has no text (EDA rewrites a row's text)`);
    // Chinese rows (a Chinese character in the text) take eda.ts's 'zh' mode: eda.py's a–z cleaning would empty them.
    const aug = eda(r.text, { synonyms, rng, alphaSr: a.alphaSr, alphaRi: a.alphaRi, alphaRs: a.alphaRs, pRd: a.pRd, numAug: a.copies, normalize: edaModeOf(r.text) });
    aug.slice(0, -1).slice(0, a.copies).forEach((text, k) => out.push({ ...r, id: `${r.id}/eda${k}`, text }));
  });
  return out;
}
