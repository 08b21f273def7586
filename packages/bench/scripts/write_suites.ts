// Writes packages/bench/suites/<name>.yaml from the TypeScript definitions (src/suites/definitions.ts),
// each under its definition's header comment. Run after changing a definition:
//   npm run suites:write -w @tunebench/bench
// test/builtin_suites.test.ts fails while a file and its definition plan different runs.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_SUITE_DEFS } from '../src/suites/definitions.js';
import { suiteYaml } from '../src/suites/to_yaml.js';

const srcDir = new URL('../src/suites/', import.meta.url).pathname;
const outDir = new URL('../suites/', import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
for (const name of Object.keys(BUILTIN_SUITE_DEFS)) {
  const def = BUILTIN_SUITE_DEFS[name]!;
  // The definition's leading // comment block, then where the file comes from.
  const ts = readFileSync(join(srcDir, `${name}.ts`), 'utf8').split('\n');
  const header: string[] = [];
  for (const line of ts) {
    if (!line.startsWith('//')) break;
    header.push(line.replace(/^\/\/ ?/, ''));
  }
  header.push('', `Built-in suite '${name}'. Copy this file, rename the suite, edit, and run it with`, `  tunebench bench run --suite-file my_suite.yaml --preset micro`,
    '(format: tunebench bench schema). Written by npm run suites:write from src/suites/' + `${name}.ts;`,
    'test/builtin_suites.test.ts checks that it plans the same runs as that definition.');
  const path = join(outDir, `${name}.yaml`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, suiteYaml(def, header));
  renameSync(tmp, path);
  console.log(`wrote ${path}`);
}
