// One JSON record per benchmark run: what ran (suite, strategy and its parameters, dataset and
// the hash of its manifest entry, split, seed, the resolved config of every phase), what came out
// (metrics with a named main_score, trainable / total parameters, tokens, wall time, tokens/s)
// and where (adapter, tunebench git revision). Records are validated with ajv on write and on
// read, so a leaderboard is never built from a half-written or foreign file.

import type { CostlyDetails } from '@tunebench/trainer';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';

/** Bump when a field changes meaning; readers refuse records of another version. */
export const RECORD_SCHEMA_VERSION = 1;
/** The benchmark set a record belongs to (strategy sweeps; kernel benchmarks have their own). */
export const STRATEGY_BENCHMARK = 'tunebench-strategies';

export interface PhaseResult {
  /** 'pretrain' | 'mlm_eval' (held-out MLM of the base, measured, not trained) | 'train' (a fine-tune the scored phase evaluates) | 'finetune' | 'probe' (forgetting probe) | 'base' */
  name: string;
  command: 'pretrain' | 'mlm_eval' | 'finetune' | 'score' | 'fewshot' | 'edge';
  dataset: string;
  steps: number;
  tokens: number;
  wallTimeS: number;
  main_score: number | null;
  trainableParams: number;
  totalParams: number;
  /** The resolved trainer config (config.json of the phase's run directory). */
  config: Record<string, unknown>;
  /** Content key of the phase's resolved config and inputs (phase_cache.ts); absent with --no-cache. */
  cacheKey?: string;
  /** Set when this run did not run the phase but reused an identical one from the phase cache: who ran it. */
  cachedFrom?: { runId: string; phase: string; gitRevision: string | null };
}

export interface CurvePoint {
  step: number;
  loss?: number;
  dev_main_score?: number;
}

export interface RunRecord {
  schemaVersion: number;
  benchmark: string;
  runId: string;
  suite: string;
  preset: string;
  strategy: string;
  /** The strategy's own parameters (k, LoRA r, mask rate, learning rate, ...). */
  params: Record<string, string | number | boolean | null>;
  dataset: string;
  /** sha256 of the dataset's entry in datasets/manifest.json (files, hashes, row counts). */
  manifestHash: string;
  split: 'test' | 'dev';
  seed: number;
  /** Name of the main metric (e.g. accuracy, f1) and its value as metrics.main_score. */
  mainMetric: string;
  metrics: { main_score: number } & Record<string, number | null>;
  trainableParams: number;
  totalParams: number;
  /** Tokens processed by every training phase of the run (pretraining included). */
  tokens: number;
  wallTimeS: number;
  tokensPerSecond: number;
  adapter: string;
  gitRevision: string | null;
  baseModel: { source: string; sha256: string | null } | null;
  phases: PhaseResult[];
  /** Learning curve of the final phase: training loss and dev main score by step. */
  curve: CurvePoint[];
  createdAt: string;
  /** A dataset directory (bring your own data): its path, each file's sha256, the dev-carving rule. */
  datasetFiles?: {
    dir: string; files: { file: string; sha256: string }[]; devCarved: string | null;
    /** The card's (or inferred) task kind and label set, costly class and language. */
    kind?: string; labels?: string[]; costlyClass?: string | null; language?: string | null;
  };
  /** The run started from this base instead of baseModel (the suite's datasetBases, e.g. zh_poetry's Chinese-capable base). */
  datasetBase?: { source: string; sha256: string | null };
  /** The suite file the run was planned from (sha256 of its text) and its baseline strategy. */
  suiteFile?: { file: string; sha256: string; baseline: string };
  /** main_score ranks ascending (the suite says so). */
  lowerIsBetter?: boolean;
  /** Costly-class runs (task.costlyClass): cost matrix, decision rule and the curves of the report (test split). */
  costly?: CostlyDetails;
  /** Per-example test predictions (evidence.ts): sidecar files, paths relative to this record's directory. */
  predictions?: PredictionsRef;
  /** A few-shot run of the plan's first seed: its PCA projection of the test embeddings (report/projection.ts), beside the record, sha256 of the decompressed JSON. */
  projection?: { file: string; sha256: string };
}

/**
 * Where a record's per-example predictions are: `file` (this run's predictions, beside the record)
 * and `gold` (the gold labels of the dataset's split, once per output directory), each with the
 * sha256 of its decompressed JSONL text (independent of the gzip level or zlib version).
 */
export interface PredictionsRef {
  kind: 'seq_cls' | 'token_cls';
  file: string;
  sha256: string;
  gold: string;
  goldSha256: string;
  /** Labelled test examples. */
  count: number;
}

/** The trainer's metrics.json `costly` block (one definition, in packages/trainer/src/train/costly.ts). */
export type { CostlyDetails };

const num = { type: 'number' };
const nullableNum = { type: ['number', 'null'] };

export const RECORD_SCHEMA = {
  $id: 'tunebench/run-record',
  type: 'object',
  required: [
    'schemaVersion', 'benchmark', 'runId', 'suite', 'preset', 'strategy', 'params', 'dataset', 'manifestHash', 'split', 'seed',
    'mainMetric', 'metrics', 'trainableParams', 'totalParams', 'tokens', 'wallTimeS', 'tokensPerSecond', 'adapter', 'gitRevision',
    'baseModel', 'phases', 'curve', 'createdAt',
  ],
  additionalProperties: false,
  properties: {
    schemaVersion: { type: 'integer' },
    benchmark: { type: 'string' },
    runId: { type: 'string', pattern: '^[A-Za-z0-9_.=+-]+(/[A-Za-z0-9_.=+-]+)*$' },
    suite: { type: 'string', minLength: 1 },
    preset: { type: 'string', minLength: 1 },
    strategy: { type: 'string', minLength: 1 },
    params: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
    dataset: { type: 'string', minLength: 1 },
    manifestHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    split: { enum: ['test', 'dev'] },
    seed: { type: 'integer', minimum: 0 },
    mainMetric: { type: 'string', minLength: 1 },
    metrics: { type: 'object', required: ['main_score'], properties: { main_score: num }, additionalProperties: nullableNum },
    trainableParams: { type: 'integer', minimum: 0 },
    totalParams: { type: 'integer', minimum: 1 },
    tokens: { type: 'integer', minimum: 0 },
    wallTimeS: { type: 'number', minimum: 0 },
    tokensPerSecond: { type: 'number', minimum: 0 },
    adapter: { type: 'string' },
    gitRevision: { type: ['string', 'null'] },
    baseModel: {
      type: ['object', 'null'],
      required: ['source', 'sha256'],
      additionalProperties: false,
      properties: { source: { type: 'string' }, sha256: { type: ['string', 'null'] } },
    },
    phases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'command', 'dataset', 'steps', 'tokens', 'wallTimeS', 'main_score', 'trainableParams', 'totalParams', 'config'],
        properties: {
          name: { type: 'string' },
          command: { enum: ['pretrain', 'mlm_eval', 'finetune', 'score', 'fewshot', 'edge'] },
          dataset: { type: 'string' },
          steps: { type: 'integer', minimum: 0 },
          tokens: { type: 'integer', minimum: 0 },
          wallTimeS: { type: 'number', minimum: 0 },
          main_score: nullableNum,
          trainableParams: { type: 'integer', minimum: 0 },
          totalParams: { type: 'integer', minimum: 0 },
          config: { type: 'object' },
          cacheKey: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          cachedFrom: {
            type: 'object',
            additionalProperties: false,
            required: ['runId', 'phase', 'gitRevision'],
            properties: { runId: { type: 'string', minLength: 1 }, phase: { type: 'string', minLength: 1 }, gitRevision: { type: ['string', 'null'] } },
          },
        },
      },
    },
    curve: {
      type: 'array',
      items: {
        type: 'object',
        required: ['step'],
        additionalProperties: false,
        properties: { step: { type: 'integer', minimum: 0 }, loss: num, dev_main_score: num },
      },
    },
    createdAt: { type: 'string' },
    datasetFiles: {
      type: 'object', additionalProperties: false, required: ['dir', 'files', 'devCarved'],
      properties: {
        dir: { type: 'string' },
        files: {
          type: 'array', minItems: 1,
          items: { type: 'object', additionalProperties: false, required: ['file', 'sha256'], properties: { file: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
        },
        devCarved: { type: ['string', 'null'] },
        kind: { type: 'string' },
        labels: { type: 'array', items: { type: 'string' } },
        costlyClass: { type: ['string', 'null'] },
        language: { type: ['string', 'null'] },
      },
    },
    datasetBase: {
      type: 'object', additionalProperties: false, required: ['source', 'sha256'],
      properties: { source: { type: 'string' }, sha256: { type: ['string', 'null'], pattern: '^[0-9a-f]{64}$' } },
    },
    suiteFile: {
      type: 'object', additionalProperties: false, required: ['file', 'sha256', 'baseline'],
      properties: { file: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, baseline: { type: 'string' } },
    },
    lowerIsBetter: { type: 'boolean' },
    predictions: {
      type: 'object', additionalProperties: false, required: ['kind', 'file', 'sha256', 'gold', 'goldSha256', 'count'],
      properties: {
        kind: { enum: ['seq_cls', 'token_cls'] },
        file: { type: 'string', pattern: '^[^/\\\\]+\\.pred\\.jsonl\\.gz$' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        gold: { type: 'string', pattern: '^(\\.\\./)*gold/[^/\\\\]+\\.jsonl\\.gz$' },
        goldSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        count: { type: 'integer', minimum: 1 },
      },
    },
    projection: {
      type: 'object', additionalProperties: false, required: ['file', 'sha256'],
      properties: { file: { type: 'string', pattern: '^[^/\\\\]+\\.projection\\.json\\.gz$' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    },
    costly: {
      type: 'object',
      additionalProperties: false,
      required: ['costlyClass', 'labels', 'costMatrix', 'decision', 'targetRecall', 'threshold', 'split', 'confusion', 'prCurve', 'costCurve'],
      properties: {
        costlyClass: { type: 'string' },
        labels: { type: 'array', items: { type: 'string' } },
        costMatrix: { type: 'array', items: { type: 'array', items: num } },
        decision: { enum: ['argmax', 'threshold', 'min_cost'] },
        targetRecall: nullableNum,
        threshold: nullableNum,
        split: { enum: ['test', 'dev'] },
        confusion: { type: 'array', items: { type: 'array', items: { type: 'integer', minimum: 0 } } },
        prCurve: { type: 'object', additionalProperties: false, required: ['precision', 'recall'], properties: { precision: { type: 'array', items: num }, recall: { type: 'array', items: num } } },
        costCurve: { type: 'object', additionalProperties: false, required: ['threshold', 'cost'], properties: { threshold: { type: 'array', items: num }, cost: { type: 'array', items: num } } },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(RECORD_SCHEMA);

export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(record)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`).join('; ');
}

/** Throws a RecordError naming `where` and the offending field unless `rec` is a valid record of this version. */
export function checkRecord(rec: unknown, where: string): RunRecord {
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new RecordError(`${where}: not a run record (expected a JSON object)`);
  const r = rec as Record<string, unknown>;
  if (r.schemaVersion !== RECORD_SCHEMA_VERSION) {
    throw new RecordError(`${where}: record schema version ${JSON.stringify(r.schemaVersion)}; this tunebench reads version ${RECORD_SCHEMA_VERSION} (re-run the sweep, or use the tunebench that wrote it)`);
  }
  if (r.benchmark !== STRATEGY_BENCHMARK) {
    throw new RecordError(`${where}: a record of benchmark set ${JSON.stringify(r.benchmark)}, not ${STRATEGY_BENCHMARK}`);
  }
  if (!validate(rec)) throw new RecordError(`${where}: invalid run record: ${describe(validate.errors)}`);
  return rec as unknown as RunRecord;
}

/** The file each record was read from (readRecord), so its sidecars can be found by path. */
const recordFiles = new WeakMap<RunRecord, string>();
export function recordFileOf(rec: RunRecord): string | undefined {
  return recordFiles.get(rec);
}
export function setRecordFile(rec: RunRecord, path: string): void {
  recordFiles.set(rec, path);
}

export function readRecord(path: string): RunRecord {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RecordError(`${path}: cannot read (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RecordError(`${path}: not JSON (${(e as Error).message})`);
  }
  const rec = checkRecord(parsed, path);
  recordFiles.set(rec, path);
  return rec;
}
