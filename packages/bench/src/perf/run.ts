// `tunebench bench perf`: times every case of the benchmark set with tinybench (samples kept),
// the reference kernel twice (first and last, so slow drift of a shared machine shows in both
// halves of its samples), and writes one PerfFile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Bench } from 'tinybench';
import { openGpu, type Gpu } from '@tunebench/kernels';
import { perfCases, REFERENCE_NAME, type PerfCase } from './cases.js';
import { median, PERF_BENCHMARK, PERF_SCHEMA_VERSION, PERF_SET, type PerfFile, type PerfResult } from './record.js';
import { repoRoot } from '../plan.js';

async function samplesOf(gpu: Gpu, c: PerfCase, iterations: number): Promise<number[]> {
  const inst = c.setup(gpu);
  try {
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
  } finally {
    inst.dispose();
  }
}

export async function runPerf(opts: { samples?: number; filter?: RegExp | null; log?: (l: string) => void } = {}): Promise<PerfFile> {
  const samples = opts.samples ?? 10;
  if (!Number.isInteger(samples) || samples < 6) throw new Error(`--samples ${samples}: at least 6 (the Mann-Whitney test of compare needs them)`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const cases = perfCases();
  const ref = cases.find((c) => c.name === REFERENCE_NAME)!;
  const chosen = cases.filter((c) => c !== ref && (!opts.filter || opts.filter.test(c.name)));
  if (!chosen.length) throw new Error(`no benchmark matches --filter ${String(opts.filter)}`);
  const gpu = await openGpu();
  try {
    const half = Math.ceil(samples / 2);
    const results: PerfResult[] = [];
    const refSamples = await samplesOf(gpu, ref, half);
    for (const c of chosen) {
      const s = await samplesOf(gpu, c, samples);
      const m = median(s);
      results.push({ name: c.name, unit: 'ms', samples: s, median: m, flops: c.flops, bytes: c.bytes });
      log(`${c.name.padEnd(44)} ${m.toFixed(3).padStart(9)} ms${c.flops ? `  ${(c.flops / (m * 1e6)).toFixed(2).padStart(7)} GFLOP/s` : ''}`);
    }
    refSamples.push(...(await samplesOf(gpu, ref, samples - half)));
    results.unshift({ name: ref.name, unit: 'ms', samples: refSamples, median: median(refSamples), flops: ref.flops, bytes: ref.bytes });
    log(`${ref.name.padEnd(44)} ${median(refSamples).toFixed(3).padStart(9)} ms (reference)`);
    let git: string | null = null;
    try {
      git = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch { /* not a git checkout */ }
    const a = gpu.adapterInfo;
    return {
      schemaVersion: PERF_SCHEMA_VERSION, benchmark: PERF_BENCHMARK, set: PERF_SET, reference: ref.name,
      adapter: `${a.description || a.device} (${a.vendor}, ${a.architecture})`, dawnFlags: [...gpu.dawnFlags], gitRevision: git,
      createdAt: new Date().toISOString(), results,
    };
  } finally {
    gpu.destroy();
  }
}

export function writePerfFile(path: string, f: PerfFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(f, null, 1) + '\n');
}
