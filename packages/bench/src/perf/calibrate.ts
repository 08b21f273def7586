// `tunebench bench calibrate`: how much does a benchmark move between runs of the *same* code on
// this machine? K runs of `bench perf`, each in its own process (a process is the unit that
// varies: JIT, allocation, what else the machine does), give K reference-normalised ratios per
// benchmark; stats.ts noiseFloor turns them into the change same-code runs exceed with
// probability < alpha. The first run's results are the baseline, and the file carries the
// calibration, so `bench compare --baseline` holds each benchmark to max(--threshold, its floor).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../plan.js';
import { median, readPerfFile, type Calibration, type PerfFile } from './record.js';
import { noiseFloor } from './stats.js';

/** Each benchmark's median over the reference's median in one run. */
export function ratiosOf(f: PerfFile): Map<string, number> {
  const ref = median(f.results.find((r) => r.name === f.reference)!.samples);
  return new Map(f.results.filter((r) => r.name !== f.reference).map((r) => [r.name, median(r.samples) / ref]));
}

/** The calibration from K ≥ 3 runs of the same code (the same benchmark set). */
export function calibrationFrom(runs: PerfFile[], alpha: number, loadAtStart: number[] = []): Calibration {
  if (runs.length < 3) throw new Error(`calibration needs at least 3 runs (got ${runs.length})`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`--alpha ${alpha}: expected a probability in (0, 1)`);
  const sets = new Set(runs.map((r) => r.set));
  if (sets.size > 1) throw new Error(`calibration runs are from different benchmark sets: ${[...sets].join(', ')}`);
  const per = runs.map(ratiosOf);
  const benchmarks: Calibration['benchmarks'] = {};
  for (const name of per[0]!.keys()) {
    const ratios = per.map((m) => m.get(name)).filter((x): x is number => x !== undefined);
    if (ratios.length < runs.length) continue;
    const { floor, sdLog, largestSeen } = noiseFloor(ratios, alpha);
    benchmarks[name] = { ratios, sdLog, largestSeen, floor };
  }
  return {
    runs: runs.length, alpha, samplesPerRun: Math.min(...runs.flatMap((r) => r.results.map((x) => x.samples.length))),
    createdAt: new Date().toISOString(), loadavg: loadAtStart, benchmarks,
  };
}

export interface PerfProcessOptions {
  samples: number;
  filter?: string | null;
  /** Extra environment for the child (e.g. TUNEBENCH_SLOWDOWN). */
  env?: NodeJS.ProcessEnv;
  /** The checkout whose bin/tunebench.mjs runs (default this one). */
  root?: string;
  log?: (l: string) => void;
}

/** One `bench perf` in a child process (so a native abort costs one run), its file read back. */
export function perfInProcess(out: string, o: PerfProcessOptions): PerfFile {
  const root = o.root ?? repoRoot;
  const args = [join(root, 'bin', 'tunebench.mjs'), 'bench', 'perf', '--samples', String(o.samples), '--out', out];
  if (o.filter) args.push('--filter', o.filter);
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...o.env }, timeout: 30 * 60_000 });
  if (r.status !== 0) throw new Error(`bench perf in ${root} failed (exit ${r.status ?? r.signal}):\n${(r.stdout + r.stderr).trim().split('\n').slice(-15).join('\n')}`);
  return readPerfFile(out);
}

export async function runCalibration(o: { runs: number; samples: number; alpha: number; filter?: string | null; log?: (l: string) => void }): Promise<PerfFile> {
  if (!Number.isInteger(o.runs) || o.runs < 3) throw new Error(`--runs ${o.runs}: at least 3`);
  const log = o.log ?? ((l: string) => console.log(l));
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-calibrate-'));
  const load = loadavg();
  try {
    const files: PerfFile[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = Date.now();
      files.push(perfInProcess(join(dir, `run-${i}.json`), { samples: o.samples, filter: o.filter }));
      log(`calibration run ${i + 1}/${o.runs}: ${((Date.now() - t0) / 1000).toFixed(1)} s (load ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    }
    return { ...files[0]!, calibration: calibrationFrom(files, o.alpha, load) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function calibrationTable(c: Calibration): string {
  const rows = Object.entries(c.benchmarks).map(([name, e]) => `${name.padEnd(44)} ${e.ratios.map((r) => r.toFixed(3)).join(' ')}  sd(log) ${e.sdLog.toFixed(3)}  largest A/A change ${(100 * e.largestSeen).toFixed(1)} %  noise floor ${(100 * e.floor).toFixed(1)} %`);
  return [`A/A calibration: ${c.runs} runs × ${c.samplesPerRun}+ samples, alpha ${c.alpha} (ratios to the reference per run)`, ...rows].join('\n');
}
