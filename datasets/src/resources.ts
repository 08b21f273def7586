// Resources for augmentation and masking: the WordNet synonym map shipped in
// datasets/resources/, and the jieba dictionary that ships inside @node-rs/jieba.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DATASETS_DIR } from './loader.js';

export const SYNONYMS_PATH = join(DATASETS_DIR, 'resources', 'wordnet_synonyms.json');

/** lemma (lower case, single word) → synonyms, most frequent WordNet sense first. */
export function loadSynonyms(path = SYNONYMS_PATH): Map<string, string[]> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read the synonym map (${(e as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${path}: expected an object lemma → synonyms`);
  const m = new Map<string, string[]>();
  for (const [k, v] of Object.entries(data)) {
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`${path}: entry ${JSON.stringify(k)} is not a list of strings`);
    m.set(k, v as string[]);
  }
  return m;
}

/** The jieba dictionary (`word freq POS` per line, 349,045 words) that @node-rs/jieba ships as
 * `dict.txt` (a dependency of this package). Use with `Jieba.withDict(readFileSync(path))`. */
export function jiebaDictPath(): string {
  try {
    return join(createRequire(import.meta.url).resolve('@node-rs/jieba/package.json'), '..', 'dict.txt');
  } catch {
    throw new Error('@node-rs/jieba is not installed: run `npm install` at the repository root (it is a dependency of @tunebench/datasets)');
  }
}
