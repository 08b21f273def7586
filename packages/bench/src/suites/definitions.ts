// The built-in suites as TypeScript: the generators of packages/bench/suites/*.yaml (npm run
// suites:write -w @tunebench/bench) and the reference the shipped files are tested against
// (test/builtin_suites.test.ts: each file parses to this Suite and plans the same runs). At run
// time tunebench reads the files (suites/index.ts), not these.
import { freezing } from './freezing.js';
import { domain } from './domain.js';
import { masking } from './masking.js';
import { sensitivity } from './sensitivity.js';
import { ner } from './ner.js';
import { zhVocab } from './zh_vocab.js';
import { fewshot } from './fewshot.js';
import { costly } from './costly.js';
import { baseCheck } from './base_check.js';
import { edge } from './edge.js';
import type { Suite } from './types.js';

export const BUILTIN_SUITE_DEFS: Record<string, Suite> = { freezing, domain, masking, sensitivity, ner, zh_vocab: zhVocab, fewshot, costly, base_check: baseCheck, edge };

