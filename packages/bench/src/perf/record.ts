// Performance records: one file per benchmark run of a benchmark set (kernels and training
// steps), every benchmark with its raw timing samples and the reference kernel measured in the
// same process — so a comparison can divide out the speed of the machine. Validated with ajv.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { GpuCounters } from '@tunebench/kernels';

/** 2: optional structural counters per result, an optional A/A calibration, the load average. Version 1 files are still read. */
export const PERF_SCHEMA_VERSION = 2;
const READABLE_VERSIONS = [1, 2];
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
  /** Structural counters of one steady-state sample (after warm-up), exact (kernels/src/counters.ts). */
  counters?: GpuCounters;
}

/** One benchmark's A/A calibration: its ratio to the reference in each of K runs of the same code. */
export interface CalibrationEntry {
  ratios: number[];
  /** sd of log(ratio) over the runs. */
  sdLog: number;
  largestSeen: number;
  /** The run-to-run change same-code runs exceed with probability < alpha (stats.ts noiseFloor). */
  floor: number;
}

export interface Calibration {
  runs: number;
  alpha: number;
  samplesPerRun: number;
  createdAt: string;
  /** Load averages (1, 5, 15 min) at the start of the calibration. */
  loadavg: number[];
  benchmarks: Record<string, CalibrationEntry>;
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
  /** Load averages (1, 5, 15 min) when the run started. */
  loadavg?: number[];
  /** Present in a baseline made by `bench calibrate`. */
  calibration?: Calibration;
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
    loadavg: { type: 'array', items: { type: 'number' } },
    calibration: {
      type: 'object',
      required: ['runs', 'alpha', 'samplesPerRun', 'createdAt', 'loadavg', 'benchmarks'],
      additionalProperties: false,
      properties: {
        runs: { type: 'integer', minimum: 3 },
        alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        samplesPerRun: { type: 'integer', minimum: 1 },
        createdAt: { type: 'string' },
        loadavg: { type: 'array', items: { type: 'number' } },
        benchmarks: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            required: ['ratios', 'sdLog', 'largestSeen', 'floor'],
            additionalProperties: false,
            properties: {
              ratios: { type: 'array', minItems: 3, items: { type: 'number', exclusiveMinimum: 0 } },
              sdLog: { type: 'number', minimum: 0 },
              largestSeen: { type: 'number', minimum: 0 },
              floor: { type: 'number', minimum: 0 },
            },
          },
        },
      },
    },
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
          counters: {
            type: 'object',
            required: ['dispatches', 'submits', 'pipelinesCompiled', 'bytesBound', 'flops', 'workgroups', 'buffersCreated', 'bytesAllocated', 'uploads', 'uploadBytes', 'readbacks', 'readbackBytes', 'kernels'],
            additionalProperties: false,
            properties: {
              dispatches: { type: 'integer', minimum: 0 }, submits: { type: 'integer', minimum: 0 }, pipelinesCompiled: { type: 'integer', minimum: 0 },
              bytesBound: { type: 'number', minimum: 0 }, flops: { type: 'number', minimum: 0 }, workgroups: { type: 'number', minimum: 0 },
              buffersCreated: { type: 'integer', minimum: 0 }, bytesAllocated: { type: 'number', minimum: 0 }, uploads: { type: 'integer', minimum: 0 },
              uploadBytes: { type: 'number', minimum: 0 }, readbacks: { type: 'integer', minimum: 0 }, readbackBytes: { type: 'number', minimum: 0 },
              kernels: {
                type: 'object',
                additionalProperties: {
                  type: 'object',
                  required: ['dispatches', 'workgroups', 'invocations', 'bytesBound', 'flops'],
                  additionalProperties: false,
                  properties: {
                    dispatches: { type: 'integer', minimum: 0 }, workgroups: { type: 'number', minimum: 0 }, invocations: { type: ['number', 'null'] },
                    bytesBound: { type: 'number', minimum: 0 }, flops: { type: 'number', minimum: 0 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(SCHEMA);

/** The reference kernel of a `npm run bench:kernels` file: its roofline FLOP reference. */
export const KERNEL_BENCH_REFERENCE = 'matmul nn 1024x1024x1024';

interface KernelBenchRecord { name: string; samples_ms?: number[]; median_ms: number; flops: number; bytes: number; counters?: GpuCounters }

/**
 * A `npm run bench:kernels` results file (kind 'tunebench-kernel-bench') as a PerfFile, so compare
 * reads it: every record with its samples; the reference is the matmul roofline reference (every
 * measurement of it in the run, pooled), so the file needs the roofline (no --no-roofline).
 */
export function fromKernelBench(x: Record<string, unknown>, where: string): PerfFile {
  const records = x.records as KernelBenchRecord[] | undefined;
  const roof = x.roofline as { references?: KernelBenchRecord[] } | null | undefined;
  if (!Array.isArray(records)) throw new Error(`${where}: a kernel bench file without records`);
  const refs = (roof?.references ?? []).filter((r) => r.name === KERNEL_BENCH_REFERENCE);
  if (!refs.length) throw new Error(`${where}: this kernel bench run has no '${KERNEL_BENCH_REFERENCE}' reference (run without --no-roofline)`);
  const samplesOf = (r: KernelBenchRecord) => {
    if (!r.samples_ms?.length) throw new Error(`${where}: '${r.name}' has no samples_ms (a file from before bench:kernels kept its samples: run it again)`);
    return r.samples_ms;
  };
  const refSamples = refs.flatMap(samplesOf);
  const adapter = x.adapter as { description?: string; device?: string; vendor?: string; architecture?: string } | undefined;
  const f: PerfFile = {
    schemaVersion: PERF_SCHEMA_VERSION, benchmark: PERF_BENCHMARK, set: 'kernel-bench/v1', reference: KERNEL_BENCH_REFERENCE,
    adapter: `${adapter?.description || adapter?.device || '?'} (${adapter?.vendor ?? '?'}, ${adapter?.architecture ?? '?'})`,
    dawnFlags: (x.dawnFlags as string[] | undefined) ?? [], gitRevision: null, createdAt: String(x.started ?? ''),
    loadavg: x.loadavg as number[] | undefined,
    results: [
      { name: KERNEL_BENCH_REFERENCE, unit: 'ms', samples: refSamples, median: median(refSamples), flops: refs[0]!.flops, bytes: refs[0]!.bytes, ...(refs[0]!.counters ? { counters: refs[0]!.counters } : {}) },
      ...records.filter((r) => r.name !== KERNEL_BENCH_REFERENCE).map((r) => ({
        name: r.name, unit: 'ms' as const, samples: samplesOf(r), median: r.median_ms, flops: r.flops, bytes: r.bytes, ...(r.counters ? { counters: r.counters } : {}),
      })),
    ],
  };
  return checkPerfFile(f, where);
}

export function checkPerfFile(x: unknown, where: string): PerfFile {
  const r = x as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') throw new Error(`${where}: not a performance record file`);
  if (r.kind === 'tunebench-kernel-bench') return fromKernelBench(r, where);
  if (r.benchmark !== PERF_BENCHMARK) throw new Error(`${where}: not a ${PERF_BENCHMARK} file (benchmark ${JSON.stringify(r.benchmark)})`);
  if (!READABLE_VERSIONS.includes(r.schemaVersion as number)) throw new Error(`${where}: schema version ${JSON.stringify(r.schemaVersion)}; this tunebench reads versions ${READABLE_VERSIONS.join(' and ')}`);
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
