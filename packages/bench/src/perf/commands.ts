// `tunebench bench perf | compare | peers`.
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../plan.js';
import { compare, compareTable, githubActionBenchmark } from './compare.js';
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
    .description('compare a run with a baseline performance file by ratio to the reference kernel; exit 1 on a regression')
    .requiredOption('--baseline <file>', 'baseline performance file (from `tunebench bench perf`)')
    .option('--current <file>', 'current performance file (default: measure now)')
    .option('--threshold <fraction>', 'slow-down of the ratio that counts (0.1 = 10 %)', num('--threshold', 0, 100), 0.1)
    .option('--alpha <p>', 'significance level of the one-sided Mann-Whitney U test', num('--alpha', 1e-9, 0.5), 0.002)
    .option('--samples <n>', 'samples per benchmark when measuring now (≥ 6)', num('--samples', 6, 1000), 10)
    .option('--filter <regex>', 'when measuring now: only these benchmarks')
    .option('--save <file>', 'when measuring now: also write the current performance file here')
    .option('--export-gab <file>', "write the current results in github-action-benchmark's format (customSmallerIsBetter)")
    .action(async (f: { baseline: string; current?: string; threshold: number; alpha: number; samples: number; filter?: string; save?: string; exportGab?: string }) => {
      const base = readPerfFile(f.baseline);
      let current;
      if (f.current) current = readPerfFile(f.current);
      else {
        current = await runPerf({ samples: f.samples, filter: filterOf(f.filter) });
        if (f.save) writePerfFile(resolve(f.save), current);
      }
      const rows = compare(base, current, { threshold: f.threshold, alpha: f.alpha });
      console.log(compareTable(rows, base, current, { threshold: f.threshold, alpha: f.alpha }));
      if (f.exportGab) {
        writeFileSync(resolve(f.exportGab), JSON.stringify(githubActionBenchmark(current), null, 2) + '\n');
        console.log(`github-action-benchmark file: ${resolve(f.exportGab)}`);
      }
      const bad = rows.filter((r) => r.verdict === 'regression');
      console.log(bad.length ? `REGRESSION in ${bad.length} benchmark(s): ${bad.map((r) => r.name).join('; ')}` : 'no regression');
      process.exitCode = bad.length ? 1 : 0;
    });

  const peers = new Command('peers')
    .description('the same matmul, encoder-layer and tiny-MLM training steps through tfjs-webgpu on this adapter and PyTorch on this CPU: our ratio to each')
    .option('--samples <n>', 'samples per measurement', num('--samples', 3, 1000), 6)
    .action(async (f: { samples: number }) => {
      try {
        const r = await runPeers({ samples: f.samples });
        const used = [
          r.tfjsVersion ? `tfjs-core ${r.tfjsVersion} with @tensorflow/tfjs-backend-webgpu on ${r.adapter}` : null,
          r.torch ? `PyTorch ${r.torch.version} on the CPU with ${r.torch.threads} threads` : null,
        ].filter((x) => x !== null);
        console.log(`ours on ${r.adapter}; ${used.join('; ') || 'no peer ran'}; medians of ${f.samples} samples (ours and tfjs: each ends with a GPU wait)`);
        for (const s of r.skipped) console.log(`skipped ${s.peer}: ${s.reason}`);
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
  return [perf, cmp, peers];
}
