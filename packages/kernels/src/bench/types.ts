// The interface between the kernel benchmark CLI (cli.ts) and the case files in ./cases/*.ts.
// See the header of cli.ts for how a case file is found and run.

import type { Gpu, StepEncoder } from '../runtime.js';
import type { RooflineCeilings } from './roofline.js';
import type { GpuCounters } from '../counters.js';

export interface BenchContext {
  gpu: Gpu;
  /** --quick: CI smoke run (cases may pick smaller inputs; timing loops are short anyway). */
  quick: boolean;
  /** Seeded random numbers in [0, 1), for filling inputs. */
  rand: () => number;
}

/** What setup() returns: recorders for one step, and cleanup. */
export interface BenchInstance {
  /** Record the kernel(s) under test into `enc` (no submit: the harness submits and syncs). */
  run(enc: StepEncoder): void;
  /** Record a naive kernel computing the same thing: the yardstick for "ratio to naive". */
  naive?(enc: StepEncoder): void;
  /** Extra facts to store in the record (e.g. which variant ran). */
  info?: Record<string, string | number | boolean>;
  /** Free the buffers. */
  dispose(): void;
}

export interface BenchCase {
  /** Kernel family, e.g. 'matmul' (also the case file's name by convention). */
  family: string;
  /** Unique, regex-friendly name, e.g. 'matmul nn 1024x1024x1024'; --filter matches it. */
  name: string;
  /** Shape parameters, stored in the record. */
  shape: Record<string, number | string | boolean>;
  /** Floating-point operations of one run (a multiply-add counts 2). */
  flops: number;
  /** Bytes one run must move at least: every input read once, every output written once. */
  bytes: number;
  setup(ctx: BenchContext): BenchInstance | Promise<BenchInstance>;
}

/** A case file's export: `export const cases: BenchCase[]` or `export default (ctx) => BenchCase[]`. */
export type BenchCaseFactory = (ctx: { quick: boolean }) => BenchCase[];

/** One line of the results file. */
export interface BenchRecord {
  family: string;
  name: string;
  shape: Record<string, number | string | boolean>;
  info: Record<string, string | number | boolean>;
  flops: number;
  bytes: number;
  samples: number;
  /** Every timed run, ms (absent in files written before it was kept). */
  samples_ms?: number[];
  /** Structural counters of one warm run (absent in older files). */
  counters?: GpuCounters;
  median_ms: number;
  mean_ms: number;
  min_ms: number;
  gflops: number;
  gbps: number;
  naive_median_ms: number | null;
  /** naive median / kernel median (how many times faster than the naive kernel). */
  speedup_vs_naive: number | null;
  /** median / roofline bound of the same run (see roofline.ts); ≤ 2 = within 2× of matmul's or copy's efficiency. */
  roofline_ratio: number | null;
  /** The ceiling that binds the case. */
  roofline_bound: 'flops' | 'bytes' | null;
  /** Dispatches one run records (the roofline charges a launch cost for each). */
  dispatches: number;
  /** The ceilings the ratio used (the last measurement before the case's family). */
  roofline_ceilings: RooflineCeilings | null;
}

export interface BenchResultsFile {
  kind: 'tunebench-kernel-bench';
  version: 1;
  started: string;
  finished: string;
  quick: boolean;
  filter: string | null;
  adapter: { vendor: string; architecture: string; device: string; description: string; isSoftware: boolean };
  features: string[];
  dawnFlags: string[];
  node: string;
  loadavg: number[];
  records: BenchRecord[];
  /**
   * First ceilings of this run and every reference measurement (the first full set, then one
   * shorter set before each further family); null with --no-roofline.
   */
  roofline: { ceilings: RooflineCeilings; references: BenchRecord[] } | null;
}
