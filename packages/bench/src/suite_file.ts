// Suites as data: a YAML (or JSON) file says what a TypeScript suite says — the question, the
// datasets (shipped names, or dataset directories relative to the file), the baseline, the
// strategies as named sets of trainer-config overrides for up to three phases (continued
// pretraining, the scored fine-tune, the forgetting probe) or one few-shot phase, per-preset
// subsets, sizes and seeds, which metric is main_score, and the claims to check. The built-in
// suites are such files (packages/bench/suites/*.yaml). Parsing is suites/from_file.ts; here the
// checks that need the trainer's config loader and the claims file. `tunebench bench run
// --suite-file my_suite.yaml` runs one; `tunebench bench schema` prints SUITE_FILE_SCHEMA.

import { loadClaims, checkClaim, evaluateClaims, DEFAULT_CLAIMS_FILE, type Claim, type ClaimTest, type ClaimsFile, type ClaimsReport } from './claims.js';
import { relative } from 'node:path';
import { repoRoot, variantProblem } from './plan.js';
import type { RunRecord } from './record.js';
import { parseSuiteFile, type RawSuite } from './suites/from_file.js';
import type { Suite } from './suites/index.js';

export { SUITE_FILE_SCHEMA, SuiteFileError, lineOf, parseSuiteText, parseSuiteFile } from './suites/from_file.js';
export { suiteToFile, suiteYaml } from './suites/to_yaml.js';

/** Parses and validates a suite file (YAML or JSON) into a Suite: schema, dataset directories,
 * every strategy's overrides through the trainer's own config loader, and its claims (ids of the
 * shipped claims file, or claims written in the file), each error at its line. */
export function loadSuiteFile(pathIn: string): Suite {
  const { suite, raw: s, fail } = parseSuiteFile(pathIn);
  // An unknown or ill-typed key is an error here, at its line, not a skipped variant an hour into the sweep.
  for (const v of suite.variants) {
    const problem = variantProblem(suite, v);
    if (problem) {
      const phase = v.fewshot ? 'fewshot' : /^pretrain phase/.test(problem) ? 'pretrain' : /^mlm_eval phase/.test(problem) ? 'mlmEval' : 'finetune';
      const r = s.strategies[v.name]!;
      const set = (phase === 'pretrain' ? r.pretrain?.set : phase === 'mlmEval' ? r.mlmEval?.set : phase === 'fewshot' ? r.fewshot?.set : { ...r.finetune, ...r.decide }) ?? {};
      // The override the loader complains about (the longest key named in the message), if any.
      const key = Object.keys(set).filter((k) => problem.includes(k)).sort((a, b) => b.length - a.length)[0];
      const finetuneAt = key && r.decide && key in r.decide ? ['decide'] : ['finetune'];
      const where = ['strategies', v.name, ...(phase === 'pretrain' ? ['pretrain', 'set'] : phase === 'mlmEval' ? ['mlmEval', 'set'] : phase === 'fewshot' ? ['fewshot', 'set'] : finetuneAt), ...(key ? [key] : [])];
      const last = problem.split('\n').pop()!.trim().replace(/^(pretrain|mlm_eval|finetune|probe) phase( [A-Za-z0-9_.]+)?( \(fewshot\))?: (invalid configuration: )?/, '');
      fail(where, last);
    }
  }
  if (s.claims) suite.claims = suiteClaims(suite, s, fail);
  return suite;
}

/** A suite file's claims as claims of this suite: an id is looked up in the shipped claims file and
 * retargeted (the seed's claim about `freezing`, checked on a copy of freezing over your data);
 * a claim written in the file takes the suite's name as its suite and, by default, as its question. */
function suiteClaims(suite: Suite, s: RawSuite, fail: (p: (string | number)[], problem: string) => never): Claim[] {
  const names = suite.variants.map((v) => v.name);
  let shipped: Claim[] | null = null;
  const seen = new Map<string, number>();
  return s.claims!.map((c, i) => {
    const at = (p: (string | number)[], problem: string): never => fail(['claims', i, ...p], problem);
    let claim: Claim;
    if (typeof c === 'string') {
      shipped ??= loadClaims(DEFAULT_CLAIMS_FILE).claims;
      const found = shipped.find((x) => x.id === c);
      if (!found) at([], `no claim '${c}' in ${relative(repoRoot, DEFAULT_CLAIMS_FILE)} (ids: ${shipped.map((x) => x.id).join(', ')}); or write the claim here`);
      claim = checkClaim({ ...found!, suite: suite.name }, names, (_p, problem) => at([], `claim '${c}' of the claims file: ${problem}`));
    } else {
      if (c.suite !== undefined && c.suite !== suite.name) at(['suite'], `a claim in a suite file is about that suite ('${suite.name}'); leave suite out`);
      const full = { ...c, suite: suite.name, question: c.question ?? suite.name, tests: c.tests as unknown as (Omit<ClaimTest, 'metric'> & { metric?: string })[] };
      claim = checkClaim(full, names, at);
    }
    if (seen.has(claim.id)) at([], `claim '${claim.id}' appears twice (also claims[${seen.get(claim.id)}])`);
    seen.set(claim.id, i);
    return claim;
  });
}

/** The claims of the suite files that records were planned from (record.suiteFile), for `bench
 * claims` and the report. A file that is gone or changed since is skipped, with a note (its
 * claims would no longer be the ones the runs were made for). */
export function suiteFileClaims(records: RunRecord[]): { claims: Claim[]; files: NonNullable<ClaimsReport['suiteFiles']>; notes: string[] } {
  const files = new Map<string, string>();
  for (const r of records) if (r.suiteFile) files.set(r.suiteFile.file, r.suiteFile.sha256);
  const claims: Claim[] = [];
  const used: NonNullable<ClaimsReport['suiteFiles']> = [];
  const notes: string[] = [];
  for (const [file, sha] of files) {
    let suite: Suite;
    try {
      suite = loadSuiteFile(file);
    } catch (e) {
      notes.push(`claims of suite file ${file} not checked: ${(e as Error).message}`);
      continue;
    }
    if (suite.source!.sha256 !== sha) {
      notes.push(`claims of suite file ${file} not checked: the file changed since its runs (sha256 ${sha.slice(0, 12)}… then, ${suite.source!.sha256.slice(0, 12)}… now)`);
      continue;
    }
    if (!suite.claims?.length) continue;
    claims.push(...suite.claims);
    used.push({ file, sha256: sha, claims: suite.claims.map((c) => c.id) });
  }
  return { claims, files: used, notes };
}

/** The claims file and the claims of the suite files behind `records`, evaluated on them. */
export function evaluateAllClaims(records: RunRecord[], file: ClaimsFile): ClaimsReport {
  const extra = suiteFileClaims(records);
  const r = evaluateClaims(records, { ...file, claims: [...file.claims, ...extra.claims] });
  return { ...r, ...(extra.files.length ? { suiteFiles: extra.files } : {}), ...(extra.notes.length ? { notes: extra.notes } : {}) };
}
