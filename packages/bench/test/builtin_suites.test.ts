// The built-in suites are suite files (packages/bench/suites/*.yaml), read at start-up. Each file
// must say exactly what its TypeScript definition (src/suites/definitions.ts, the generator of the
// file) says: the same Suite once parsed, and the same runs — run keys, params, every phase's
// resolved config, the skipped variants — for every preset. A user's copy of a file, renamed,
// plans the same configs under its own name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { planSweep, PRESETS, SUITES, SUITE_NAMES, SHIPPED_SUITES_DIR, SUITE_FILE_SCHEMA, loadSuiteFile, suiteYaml, repoRoot, zhVocabSuite, type SweepPlan } from '../src/index.js';
import { BUILTIN_SUITE_DEFS } from '../src/suites/definitions.js';

const runsOf = (p: SweepPlan) => p.runs.map((r) => ({ ...r }));
// The real presets; quick and full start from a shipped base, named here (the planner reads only
// its vocabulary size, given), so no checkpoint is needed to plan.
const base = { baseDir: '/nonexistent/base', scratchVocabSize: 8192 };

test('every built-in suite is a shipped file that parses to its TypeScript definition', () => {
  assert.deepEqual(SUITE_NAMES, Object.keys(BUILTIN_SUITE_DEFS));
  const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(SUITE_FILE_SCHEMA);
  for (const name of SUITE_NAMES) {
    const file = join(SHIPPED_SUITES_DIR, `${name}.yaml`);
    assert.ok(validate(parse(readFileSync(file, 'utf8'))), `${name}: ${JSON.stringify(validate.errors)}`);
    const { shipped, ...fromFile } = SUITES[name]!;
    assert.equal(shipped, `packages/bench/suites/${name}.yaml`);
    assert.equal(join(repoRoot, shipped), file);
    assert.deepEqual(fromFile, BUILTIN_SUITE_DEFS[name], name);
  }
  // zh_vocab's file is the definition with its default options (zhVocabSuite({ enRatio, size })
  // makes other mixtures; in a file they are the values of data.generalRatio and tokenizer.extendSize).
  assert.deepEqual(BUILTIN_SUITE_DEFS.zh_vocab, zhVocabSuite());
});

test('every built-in suite file plans exactly the runs of its TypeScript definition, for every preset', () => {
  for (const name of SUITE_NAMES) {
    for (const preset of Object.values(PRESETS)) {
      const fromFile = planSweep(preset, { suites: [name], ...base });
      const fromTs = planSweep(preset, { suiteDefs: [BUILTIN_SUITE_DEFS[name]!], ...base });
      assert.ok(fromFile.runs.length > 0, `${name} ${preset.name}`);
      assert.deepEqual(runsOf(fromFile), runsOf(fromTs), `${name} ${preset.name}`);
      assert.deepEqual(fromFile.skipped, fromTs.skipped, `${name} ${preset.name}`);
      assert.deepEqual(fromFile.basePhase, fromTs.basePhase, `${name} ${preset.name}`);
      // Built-in runs record no suite file: their records are what they were before the suites were files.
      for (const r of fromFile.runs) assert.equal(r.suiteFile, undefined);
    }
  }
});

test('a renamed copy of a built-in suite file, run with --suite-file, plans the same configs under its name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-builtin-copy-'));
  for (const name of ['freezing', 'costly', 'zh_vocab', 'fewshot']) {
    const text = readFileSync(join(SHIPPED_SUITES_DIR, `${name}.yaml`), 'utf8').replace(`\nname: ${name}\n`, `\nname: my_${name}\n`);
    const file = join(dir, `my_${name}.yaml`);
    writeFileSync(file, text);
    const mine = loadSuiteFile(file);
    for (const preset of Object.values(PRESETS)) {
      const builtIn = planSweep(preset, { suites: [name], ...base });
      const copy = planSweep(preset, { suiteDefs: [mine], ...base });
      const strip = (p: SweepPlan, suite: string) => p.runs.map((r) => ({ ...r, runId: r.runId.replace(`${suite}/`, ''), suite: undefined, suiteFile: undefined }));
      assert.deepEqual(strip(copy, `my_${name}`), strip(builtIn, name), `${name} ${preset.name}`);
      for (const r of copy.runs) assert.deepEqual(r.suiteFile?.file, file);
    }
  }
});

test('the writer is the inverse of the parser: each definition written again reads back the same', () => {
  for (const name of SUITE_NAMES) {
    const dir = mkdtempSync(join(tmpdir(), 'tb-builtin-write-'));
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, suiteYaml(BUILTIN_SUITE_DEFS[name]!, ['header']));
    const { source, claims: _c, ...again } = loadSuiteFile(file);
    assert.ok(source);
    assert.deepEqual(again, BUILTIN_SUITE_DEFS[name], name);
  }
});
