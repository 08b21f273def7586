// `tunebench bench perf`: times every case of the benchmark set with tinybench (samples kept),
// the reference kernel twice (first and last, so slow drift of a shared machine shows in both
// halves of its samples), and writes one PerfFile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadavg } from 'node:os';
import { Bench } from 'tinybench';
import { countersDelta, openGpu, type Gpu, type GpuCounters } from '@tunebench/kernels';
import { perfCases, REFERENCE_NAME, type PerfCase } from './cases.js';
import { medianRelativeHalfWidth } from './stats.js';
import { median, PERF_BENCHMARK, PERF_SCHEMA_VERSION, PERF_SET, type PerfFile, type PerfResult } from './record.js';
import { repoRoot } from '../plan.js';

interface Sampling {
  /** Stop adding samples once the median's 95 % interval is within ± this fraction of it (null: a fixed count). */
  targetHalfWidth: number | null;
  /** Wall time this benchmark may take for extra samples, ms. */
  budgetMs: number;
}

/**
 * Samples of one case: `iterations` first, then, while the median's relative interval is wider
 * than the target and the budget lasts, `iterations` more at a time. Also the structural counters
 * of one steady-state sample (after the warm-up, so no compiles).
 */
async function samplesOf(gpu: Gpu, c: PerfCase, iterations: number, sampling: Sampling = { targetHalfWidth: null, budgetMs: 0 }): Promise<{ samples: number[]; counters: GpuCounters; precise: boolean }> {
  const inst = c.setup(gpu);
  try {
    const t0 = performance.now();
    const samples = await timedSamples(gpu, c, inst, iterations);
    const precise = () => sampling.targetHalfWidth === null || medianRelativeHalfWidth(samples) <= sampling.targetHalfWidth;
    while (!precise() && performance.now() - t0 < sampling.budgetMs && samples.length < 1000) {
      samples.push(...(await timedSamples(gpu, c, inst, iterations)));
    }
    const before = gpu.snapshotCounters();
    const enc = gpu.encoder('perf');
    inst.run(enc);
    await enc.submit();
    await gpu.sync();
    return { samples, counters: countersDelta(gpu.snapshotCounters(), before), precise: precise() };
  } finally {
    inst.dispose();
  }
}

async function timedSamples(gpu: Gpu, c: PerfCase, inst: ReturnType<PerfCase['setup']>, iterations: number): Promise<number[]> {
  {
    const bench = new Bench({ iterations, time: 0, warmupIterations: 2, warmupTime: 0, retainSamples: true, throws: true });
    bench.add(c.name, async () => {
      const enc = gpu.encoder('perf');
      inst.run(enc);
      await enc.submit();
      await gpu.sync();
    });
    await bench.run();
    const r = bench.tasks[0]!.result as { state?: string; latency?: { samples?: number[] } };
    const s = r.latency?.samples;
    if (!s || !s.length) throw new Error(`${c.name}: tinybench kept no samples`);
    return [...s];
  }
}

export interface RunPerfOptions {
  /** Samples per benchmark (the first round when sampling to a precision). */
  samples?: number;
  filter?: RegExp | null;
  log?: (l: string) => void;
  /** Sample each benchmark until its median's 95 % interval is within ± this fraction (per benchmark name; null: fixed count). */
  targetHalfWidth?: ((name: string) => number | null) | null;
  /** Total wall time for extra samples, ms, shared evenly by the benchmarks (default 60 s). */
  budgetMs?: number;
}

export async function runPerf(opts: RunPerfOptions = {}): Promise<PerfFile> {
  const samples = opts.samples ?? 10;
  if (!Number.isInteger(samples) || samples < 6) throw new Error(`--samples ${samples}: at least 6 (the Mann-Whitney test of compare needs them)`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const cases = perfCases();
  const ref = cases.find((c) => c.name === REFERENCE_NAME)!;
  const chosen = cases.filter((c) => c !== ref && (!opts.filter || opts.filter.test(c.name)));
  if (!chosen.length) throw new Error(`no benchmark matches --filter ${String(opts.filter)}`);
  const load = loadavg();
  const gpu = await openGpu();
  try {
    const half = Math.ceil(samples / 2);
    const results: PerfResult[] = [];
    const budgetEach = (opts.budgetMs ?? 60_000) / (chosen.length + 1);
    const target = (name: string) => ({ targetHalfWidth: opts.targetHalfWidth ? opts.targetHalfWidth(name) : null, budgetMs: budgetEach });
    const refFirst = await samplesOf(gpu, ref, half);
    for (const c of chosen) {
      const { samples: s, counters, precise } = await samplesOf(gpu, c, samples, target(c.name));
      const m = median(s);
      results.push({ name: c.name, unit: 'ms', samples: s, median: m, flops: c.flops, bytes: c.bytes, counters });
      log(`${c.name.padEnd(44)} ${m.toFixed(3).padStart(9)} ms${c.flops ? `  ${(c.flops / (m * 1e6)).toFixed(2).padStart(7)} GFLOP/s` : ''}  ${s.length} samples${precise ? '' : ' (target precision not reached in the budget)'}`);
    }
    // The reference's second half: as many samples again as its first (it needs the same precision).
    const refSecond = await samplesOf(gpu, ref, Math.max(samples - half, 1), target(ref.name));
    const refSamples = [...refFirst.samples, ...refSecond.samples];
    results.unshift({ name: ref.name, unit: 'ms', samples: refSamples, median: median(refSamples), flops: ref.flops, bytes: ref.bytes, counters: refFirst.counters });
    log(`${ref.name.padEnd(44)} ${median(refSamples).toFixed(3).padStart(9)} ms (reference)`);
    let git: string | null = null;
    try {
      git = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch { /* not a git checkout */ }
    const a = gpu.adapterInfo;
    return {
      schemaVersion: PERF_SCHEMA_VERSION, benchmark: PERF_BENCHMARK, set: PERF_SET, reference: ref.name,
      adapter: `${a.description || a.device} (${a.vendor}, ${a.architecture})`, dawnFlags: [...gpu.dawnFlags], gitRevision: git,
      createdAt: new Date().toISOString(), results, loadavg: load,
    };
  } finally {
    gpu.destroy();
  }
}

export function writePerfFile(path: string, f: PerfFile): void {
  mkdirSync(dirname(path), { recursive: true });
  // Atomically: a reader (or an interrupted run) never sees half a file.
  writeFileSync(path + '.tmp', JSON.stringify(f, null, 1) + '\n');
  renameSync(path + '.tmp', path);
}
