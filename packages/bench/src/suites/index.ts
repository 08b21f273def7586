// The registry of suites: `tunebench bench run [suite...]` runs these. Each built-in suite is a
// suite file shipped with the package (packages/bench/suites/<name>.yaml, the format of
// `--suite-file`, so a user can copy one and edit it), read here when tunebench starts. The
// TypeScript that generated them (definitions.ts) is their reference in the tests.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSuiteText } from './from_file.js';
import type { Suite } from './types.js';

export * from './types.js';
export * from './presets.js';
export { zhVocabSuite, type ZhVocabOptions } from './zh_vocab.js';

/** The built-in suites, in the order runs, reports and leaderboards list them. */
export const SUITE_NAMES = ['freezing', 'domain', 'masking', 'sensitivity', 'ner', 'zh_vocab', 'fewshot', 'costly', 'base_check', 'edge'];

// packages/bench/suites, from src/suites/ (tsx) or from dist/ (the esbuild bundle).
const here = dirname(fileURLToPath(import.meta.url));
export const SHIPPED_SUITES_DIR = [join(here, '..', '..', 'suites'), join(here, '..', 'suites')].find((d) => existsSync(join(d, `${SUITE_NAMES[0]}.yaml`)))
  ?? join(here, '..', '..', 'suites');

/** A shipped suite file, parsed (no trainer checks here: the planner validates every phase and
 * skips a variant the trainer cannot run, with the reason, as it does for every suite). */
export function loadShippedSuite(name: string): Suite {
  const path = join(SHIPPED_SUITES_DIR, `${name}.yaml`);
  const shown = `packages/bench/suites/${name}.yaml`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${shown}: cannot read the built-in suite file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { suite } = parseSuiteText(text, path, shown);
  if (suite.name !== name) throw new Error(`${shown}: names the suite '${suite.name}'; a built-in suite file is named after its suite`);
  // A built-in suite's runs record no suite file (their records stay what they were before the
  // suites became files); where it comes from is `shipped`.
  const { source: _source, ...rest } = suite;
  return { ...rest, shipped: shown };
}

// A null-prototype table: 'constructor' or 'toString' is an unknown suite, not an inherited property.
export const SUITES: Record<string, Suite> = Object.assign(Object.create(null) as Record<string, Suite>, Object.fromEntries(SUITE_NAMES.map((n) => [n, loadShippedSuite(n)])));

export function suiteByName(name: string): Suite {
  const s = SUITES[name];
  if (!s) throw new Error(`unknown suite '${name}' (known: ${SUITE_NAMES.join(', ')})`);
  return s;
}
