// `tunebench bench perf | compare | peers`.
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../plan.js';
import { compare, compareCounters, compareTable, counterReport, githubActionBenchmark } from './compare.js';
import { calibrationTable, runCalibration } from './calibrate.js';
import { interleavedCompare, interleavedTable, prepareRevision } from './interleave.js';
import { readPerfFile } from './record.js';
import { runPerf, writePerfFile } from './run.js';
import { runPeers } from './peers.js';

const num = (flag: string, lo: number, hi: number) => (v: string) => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < lo || x > hi) throw new Error(`${flag} ${v}: expected a number in [${lo}, ${hi}]`);
  return x;
};
const filterOf = (s: string | undefined) => {
  if (s === undefined) return null;
  try {
    return new RegExp(s);
  } catch (e) {
    throw new Error(`--filter ${s}: not a regular expression (${(e as Error).message})`);
  }
};
const envOf = (flag: string, xs: string[] | undefined): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const x of xs ?? []) {
    const at = x.indexOf('=');
    if (at <= 0) throw new Error(`${flag} ${x}: expected KEY=VALUE`);
    env[x.slice(0, at)] = x.slice(at + 1);
  }
  return env;
};
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

export function perfCommands(): Command[] {
  const perf = new Command('perf')
    .description('time the kernel and training-step benchmarks (tinybench, samples kept) and write a performance file')
    .option('-o, --out <file>', 'performance file (default bench-results/perf/perf-<time>.json)')
    .option('--samples <n>', 'samples per benchmark (≥ 6)', num('--samples', 6, 1000), 10)
    .option('--filter <regex>', 'only benchmarks whose name matches')
    .action(async (f: { out?: string; samples: number; filter?: string }) => {
      const file = await runPerf({ samples: f.samples, filter: filterOf(f.filter) });
      const out = resolve(f.out ?? join(repoRoot, 'bench-results', 'perf', `perf-${stamp()}.json`));
      writePerfFile(out, file);
      console.log(`performance file: ${out}`);
    });

  const cmp = new Command('compare')
    .description('compare a run with a baseline performance file (--baseline) or, interleaved, with another revision (--against); exit 1 on a regression')
    .option('--baseline <file>', 'baseline performance file (from `tunebench bench perf` or `bench calibrate`)')
    .option('--against <rev>', 'interleaved A/B: build REV in a git worktree and run it and this checkout alternately, in separate processes')
    .option('--confidence <c>', '--against: confidence of the paired t-interval', num('--confidence', 0.5, 0.9999), 0.99)
    .option('--min-pairs <n>', '--against: pairs before any verdict', num('--min-pairs', 2, 1000), 3)
    .option('--max-pairs <n>', '--against: at most this many pairs', num('--max-pairs', 2, 10000), 40)
    .option('--env-a <KEY=VALUE...>', '--against: extra environment of the REV processes')
    .option('--env-b <KEY=VALUE...>', '--against: extra environment of this checkout\'s processes (e.g. TUNEBENCH_SLOWDOWN=gelu:1.3 to prove a slow-down is caught)')
    .option('--current <file>', 'current performance file (default: measure now)')
    .option('--threshold <fraction>', 'slow-down of the ratio that counts (0.1 = 10 %)', num('--threshold', 0, 100), 0.1)
    .option('--alpha <p>', 'significance level of the one-sided Mann-Whitney U test', num('--alpha', 1e-9, 0.5), 0.002)
    .option('--samples <n>', 'samples per benchmark when measuring now (≥ 6; the first round when sampling to precision)', num('--samples', 6, 1000), 10)
    .option('--budget <seconds>', 'time for extra samples (pairs with --against) until each interval is within a third of its threshold (default 60; 600 with --against)', num('--budget', 0, 86400))
    .option('--filter <regex>', 'when measuring now: only these benchmarks')
    .option('--save <file>', 'when measuring now: also write the current performance file here')
    .option('--export-gab <file>', "write the current results in github-action-benchmark's format (customSmallerIsBetter)")
    .action(async (f: {
      baseline?: string; against?: string; current?: string; threshold: number; alpha: number; samples: number; budget?: number; filter?: string; save?: string; exportGab?: string;
      confidence: number; minPairs: number; maxPairs: number; envA?: string[]; envB?: string[];
    }) => {
      if (!!f.baseline === !!f.against) throw new Error('bench compare: give either --baseline <file> or --against <rev>');
      if (f.against) {
        filterOf(f.filter);
        const against = prepareRevision(f.against);
        const o = {
          against, samples: f.samples, threshold: f.threshold, confidence: f.confidence, budgetMs: (f.budget ?? 600) * 1000,
          minPairs: f.minPairs, maxPairs: Math.max(f.minPairs, f.maxPairs), filter: f.filter ?? null, envA: envOf('--env-a', f.envA), envB: envOf('--env-b', f.envB),
        };
        const r = interleavedCompare(o);
        console.log(interleavedTable(r, o));
        console.log(counterReport(r.counters));
        const bad = r.rows.filter((x) => x.verdict === 'regression');
        const unsure = r.rows.filter((x) => x.verdict === 'inconclusive');
        const countersUp = r.counters.filter((c) => c.increased.length > 0);
        console.log(bad.length ? `REGRESSION in ${bad.length} benchmark(s): ${bad.map((x) => x.name).join('; ')}` : 'no regression');
        if (unsure.length) console.log(`INCONCLUSIVE (the budget ran out before the interval was narrow enough; raise --budget): ${unsure.map((x) => x.name).join('; ')}`);
        if (countersUp.length) console.log(`COUNTERS UP in ${countersUp.length} benchmark(s): ${countersUp.map((c) => c.name).join('; ')}`);
        process.exitCode = bad.length || countersUp.length ? 1 : 0;
        return;
      }
      const base = readPerfFile(f.baseline!);
      let current;
      if (f.current) current = readPerfFile(f.current);
      else {
        // Each benchmark's own interval must be within ± threshold/3/√2 (the change's interval
        // combines two runs' spreads), the threshold being max(--threshold, its noise floor).
        const targetHalfWidth = (name: string) => Math.max(f.threshold, base.calibration?.benchmarks[name]?.floor ?? 0) / 3 / Math.SQRT2;
        current = await runPerf({ samples: f.samples, filter: filterOf(f.filter), targetHalfWidth, budgetMs: (f.budget ?? 60) * 1000 });
        if (f.save) writePerfFile(resolve(f.save), current);
      }
      const rows = compare(base, current, { threshold: f.threshold, alpha: f.alpha });
      console.log(compareTable(rows, base, current, { threshold: f.threshold, alpha: f.alpha }));
      if (f.exportGab) {
        writeFileSync(resolve(f.exportGab), JSON.stringify(githubActionBenchmark(current), null, 2) + '\n');
        console.log(`github-action-benchmark file: ${resolve(f.exportGab)}`);
      }
      const counters = compareCounters(base, current);
      console.log(counterReport(counters));
      const countersUp = counters.filter((c) => c.increased.length > 0);
      const bad = rows.filter((r) => r.verdict === 'regression');
      const unsure = rows.filter((r) => r.verdict === 'inconclusive');
      console.log(bad.length ? `REGRESSION in ${bad.length} benchmark(s): ${bad.map((r) => r.name).join('; ')}` : 'no regression');
      if (unsure.length) console.log(`INCONCLUSIVE (not precise enough for a verdict; raise --budget or --samples): ${unsure.map((r) => r.name).join('; ')}`);
      if (countersUp.length) console.log(`COUNTERS UP in ${countersUp.length} benchmark(s): ${countersUp.map((c) => c.name).join('; ')}`);
      process.exitCode = bad.length || countersUp.length ? 1 : 0;
    });

  const calibrate = new Command('calibrate')
    .description('A/A calibration: run the benchmark set K times (separate processes) and write a baseline that carries each benchmark\'s noise floor')
    .option('--runs <k>', 'runs of the same code (≥ 3; 8 or more for a floor from more than the model)', num('--runs', 3, 1000), 6)
    .option('--samples <n>', 'samples per benchmark per run (≥ 6)', num('--samples', 6, 1000), 10)
    .option('--alpha <p>', 'the floor is the change same-code runs exceed with probability < alpha', num('--alpha', 1e-9, 0.5), 0.01)
    .option('--filter <regex>', 'only benchmarks whose name matches')
    .option('-o, --out <file>', 'baseline file (default bench-results/perf/baseline-<time>.json)')
    .action(async (f: { runs: number; samples: number; alpha: number; filter?: string; out?: string }) => {
      filterOf(f.filter);
      const file = await runCalibration({ runs: f.runs, samples: f.samples, alpha: f.alpha, filter: f.filter ?? null });
      console.log(calibrationTable(file.calibration!));
      const out = resolve(f.out ?? join(repoRoot, 'bench-results', 'perf', `baseline-${stamp()}.json`));
      writePerfFile(out, file);
      console.log(`calibrated baseline: ${out}`);
    });

  const peers = new Command('peers')
    .description('the same matmul, encoder-layer and tiny-MLM training steps through tfjs-webgpu on this adapter, PyTorch on this CPU and jax-js (WebGPU on this adapter, Wasm): our ratio to each')
    .option('--samples <n>', 'samples per measurement', num('--samples', 3, 1000), 6)
    .action(async (f: { samples: number }) => {
      try {
        const r = await runPeers({ samples: f.samples });
        const used = [
          r.tfjsVersion ? `tfjs-core ${r.tfjsVersion} with @tensorflow/tfjs-backend-webgpu on ${r.adapter}` : null,
          r.torch ? `PyTorch ${r.torch.version} on the CPU with ${r.torch.threads} threads` : null,
          r.jax && r.jax.devices.length ? `jax-js ${r.jax.version} on ${r.jax.devices.join(' and ')}` : null,
        ].filter((x) => x !== null);
        console.log(`ours on ${r.adapter}; ${used.join('; ') || 'no peer ran'}; medians of ${f.samples} samples (ours, tfjs and jax-webgpu: each ends with a GPU wait)`);
        for (const s of r.skipped) console.log(`skipped ${s.peer} (${s.what}): ${s.reason}`);
        if (r.failed.length) process.exitCode = 1;
        else if (r.rows.length === 0) {
          console.error('tunebench bench peers: no peer could run (see the reasons above)');
          process.exitCode = 2;
        }
      } catch (e) {
        console.error(`tunebench bench peers: ${(e as Error).message}`);
        process.exitCode = 2;
      }
    });
  return [perf, cmp, calibrate, peers];
}
