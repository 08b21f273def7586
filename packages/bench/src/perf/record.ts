// Performance records: one file per benchmark run of a benchmark set (kernels and training
// steps), every benchmark with its raw timing samples and the reference kernel measured in the
// same process — so a comparison can divide out the speed of the machine. Validated with ajv.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

export const PERF_SCHEMA_VERSION = 1;
export const PERF_BENCHMARK = 'tunebench-perf';
/** The benchmark set: bump when the cases change meaning (shapes, what a sample covers). */
export const PERF_SET = 'kernels+train-step/v1';

export interface PerfResult {
  name: string;
  unit: 'ms';
  /** Wall time of each sample (record, submit, wait for the GPU), ms. */
  samples: number[];
  median: number;
  flops: number;
  bytes: number;
}

export interface PerfFile {
  schemaVersion: number;
  benchmark: string;
  set: string;
  /** Name of the result that is the reference kernel. */
  reference: string;
  adapter: string;
  dawnFlags: string[];
  gitRevision: string | null;
  createdAt: string;
  results: PerfResult[];
}

const SCHEMA = {
  type: 'object',
  required: ['schemaVersion', 'benchmark', 'set', 'reference', 'adapter', 'dawnFlags', 'gitRevision', 'createdAt', 'results'],
  additionalProperties: false,
  properties: {
    schemaVersion: { type: 'integer' },
    benchmark: { type: 'string' },
    set: { type: 'string' },
    reference: { type: 'string' },
    adapter: { type: 'string' },
    dawnFlags: { type: 'array', items: { type: 'string' } },
    gitRevision: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    results: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'unit', 'samples', 'median', 'flops', 'bytes'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          unit: { const: 'ms' },
          samples: { type: 'array', minItems: 1, items: { type: 'number', exclusiveMinimum: 0 } },
          median: { type: 'number', exclusiveMinimum: 0 },
          flops: { type: 'number', minimum: 0 },
          bytes: { type: 'number', minimum: 0 },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(SCHEMA);

export function checkPerfFile(x: unknown, where: string): PerfFile {
  const r = x as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') throw new Error(`${where}: not a performance record file`);
  if (r.benchmark !== PERF_BENCHMARK) throw new Error(`${where}: not a ${PERF_BENCHMARK} file (benchmark ${JSON.stringify(r.benchmark)})`);
  if (r.schemaVersion !== PERF_SCHEMA_VERSION) throw new Error(`${where}: schema version ${JSON.stringify(r.schemaVersion)}; this tunebench reads version ${PERF_SCHEMA_VERSION}`);
  if (!validate(x)) throw new Error(`${where}: invalid performance file: ${(validate.errors ?? []).slice(0, 4).map((e) => `${e.instancePath || '(top)'} ${e.message}`).join('; ')}`);
  const f = x as PerfFile;
  if (!f.results.some((res) => res.name === f.reference)) throw new Error(`${where}: the reference '${f.reference}' has no results`);
  return f;
}

export function readPerfFile(path: string): PerfFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  return checkPerfFile(parsed, path);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
