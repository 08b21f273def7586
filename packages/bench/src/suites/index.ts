// The registry of suites: `tunebench bench run [suite...]` runs these.
import { freezing } from './freezing.js';
import { domain } from './domain.js';
import { masking } from './masking.js';
import { sensitivity } from './sensitivity.js';
import { ner } from './ner.js';
import { zhVocab } from './zh_vocab.js';
import { fewshot } from './fewshot.js';
import { costly } from './costly.js';
import { baseCheck } from './base_check.js';
import type { Suite } from './types.js';

export * from './types.js';
export * from './presets.js';
export { zhVocabSuite, type ZhVocabOptions } from './zh_vocab.js';

export const SUITES: Record<string, Suite> = { freezing, domain, masking, sensitivity, ner, zh_vocab: zhVocab, fewshot, costly, base_check: baseCheck };
export const SUITE_NAMES = Object.keys(SUITES);

export function suiteByName(name: string): Suite {
  const s = SUITES[name];
  if (!s) throw new Error(`unknown suite '${name}' (known: ${SUITE_NAMES.join(', ')})`);
  return s;
}
