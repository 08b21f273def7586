// The JSON schema of one claim: shared by the claims file (claims.ts) and the `claims` list of a
// suite file (suites/from_file.ts), so a claim reads the same in both. No imports: the suite-file
// parser loads it before anything that knows the built-in suites.

export const CLAIM_SIDES = ['>', '>=', '<', '<=', 'within'] as const;
export const CLAIM_COMPARE_KINDS = ['difference', 'ratio', 'spread', 'trainable_fraction'] as const;
export const CLAIM_TEST_KEYS = ['label', 'compare', 'metric', 'a', 'b', 'pairBy', 'claim', 'threshold'];
export const CLAIM_KEYS = ['id', 'question', 'text', 'suite', 'datasets', 'tests'];

const testSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['compare', 'a', 'claim', 'threshold'],
  properties: {
    label: { type: 'string', minLength: 1 },
    compare: { enum: CLAIM_COMPARE_KINDS },
    metric: { type: 'string', minLength: 1, description: 'a key of the records\' metrics (default main_score)' },
    a: { type: 'string', minLength: 1 },
    b: { type: 'string', minLength: 1 },
    pairBy: { type: 'string', minLength: 1 },
    claim: { enum: CLAIM_SIDES },
    threshold: { type: 'number' },
  },
} as const;

const claimProperties = {
  id: { type: 'string', pattern: '^[a-z0-9_.-]+$', description: 'unique name of the claim' },
  question: { type: 'string', pattern: '^Q[0-9]+([–-]Q[0-9]+)?$', description: "the seed's question it comes from (Q130, Q131–Q133)" },
  text: { type: 'string', minLength: 1 },
  suite: { type: 'string', minLength: 1, description: 'the suite whose records decide it' },
  datasets: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } },
  tests: { type: 'array', minItems: 1, items: testSchema },
} as const;

/** A claim of the claims file (packages/bench/claims.yaml). */
export const CLAIM_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'question', 'text', 'suite', 'tests'],
  properties: claimProperties,
} as const;

/** A claim written inside a suite file: the same fields; `suite` (default and only allowed value:
 * the file's suite) and `question` (default: the suite's name) may be left out. */
export const SUITE_CLAIM_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'text', 'tests'],
  properties: { ...claimProperties, question: { type: 'string', minLength: 1, description: 'the question it answers (default: the suite\'s name)' } },
} as const;
