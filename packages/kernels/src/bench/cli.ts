// Kernel benchmarks: `npm run bench:kernels [-- options]` from the repository root
// (nx → `node --import tsx --expose-gc src/bench/cli.ts` in packages/kernels).
//
//   --filter <regex>   run only cases whose name matches, e.g. --filter 'linear_backward|bias' or
//                      npm run bench:kernels -- --filter='matmul nn 1024' (the root script runs
//                      this file directly, so npm passes the quoted argument whole; where a
//                      launcher such as nx drops the quotes, the words that follow --filter are
//                      joined back with single spaces)
//   --quick            few iterations (CI smoke); numbers are rough
//   --out <path>       results file (default packages/kernels/bench-results/kernels-<timestamp>.json)
//   --no-naive         skip the naive yardstick kernels
//   --list             print the case names and exit
//   --no-roofline      skip the reference cases and the roofline column
//
// Each record keeps its timing samples (samples_ms) and the structural counters of one run
// (counters), so `tunebench bench compare --baseline a.json --current b.json` reads two of these
// files too (the matmul roofline reference is the reference kernel there).
//
// For each case it prints the median time, GFLOP/s and GB/s at the median, GFLOP/s of the fastest
// run ("best", steadier on a shared machine) and the speed-up over a naive kernel computing the
// same thing, measured in the same process (compare ratios, not absolute numbers: the machine may
// be shared; the load average is printed and stored). The "×roof" column is the case's median over
// its roofline bound from ceilings measured first in the same run — matmul's GFLOP/s, a copy's
// GB/s at about the case's size and a one-element step's fixed cost (roofline.ts) — and a summary
// names every case above 2×. Every timed iteration records the step, submits it and awaits
// gpu.sync(), so the time is the GPU's work plus one submit round trip (~0.1 ms on lavapipe).
//
// Adding benchmarks for a kernel family: drop a file in src/bench/cases/<family>.ts that exports
//   export const cases: BenchCase[] = [...]                     or
//   export default function (ctx: { quick: boolean }): BenchCase[] { ... }
// (types in ./types.ts). A BenchCase has a unique name, its shape, FLOPs and minimal bytes per
// run, and setup(ctx) → { run(enc), naive?(enc), info?, dispose() }: run/naive record dispatches
// into the StepEncoder, never submit. The CLI finds every file in cases/ by itself; nothing else
// needs editing. Cases run in file-name order, then in array order.

import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { openGpu, type Gpu } from '../runtime.js';
import { countersDelta } from '../counters.js';
import { mulberry32 } from '../testing.js';
import type { BenchCase, BenchCaseFactory, BenchRecord, BenchResultsFile } from './types.js';
import { ROOFLINE_REFERENCES, rooflineBoundBy, rooflineRatio, type RooflineCeilings } from './roofline.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Load every case file in cases/ (sorted), in order. */
export async function loadCases(quick: boolean, dir = join(here, 'cases')): Promise<BenchCase[]> {
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const all: BenchCase[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { cases?: BenchCase[]; default?: BenchCaseFactory };
    const list = mod.cases ?? (typeof mod.default === 'function' ? mod.default({ quick }) : undefined);
    if (!Array.isArray(list)) throw new Error(`bench case file ${f}: export 'cases' (BenchCase[]) or a default function returning one`);
    for (const c of list) {
      if (!c || typeof c.name !== 'string' || typeof c.setup !== 'function' || !(c.flops >= 0) || !(c.bytes >= 0)) {
        throw new Error(`bench case file ${f}: a case lacks name, setup(), flops or bytes`);
      }
    }
    all.push(...list);
  }
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.name)) throw new Error(`bench: two cases are named '${c.name}'`);
    seen.add(c.name);
  }
  return all;
}

/** Median, mean and min of one tinybench task, in ms. */
async function timeIt(
  fn: () => Promise<void>,
  iterations: number,
  timeMs: number,
  warmup: boolean,
): Promise<{ median: number; mean: number; min: number; samples: number; samplesMs: number[] }> {
  const bench = new Bench({
    iterations,
    time: timeMs,
    warmup,
    warmupIterations: 1,
    warmupTime: 0,
    throws: true,
    retainSamples: true,
  });
  bench.add('t', fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`benchmark task ended in state ${r.state}`);
  const kept = (r.latency as { samples?: number[] }).samples ?? [];
  return { median: r.latency.p50, mean: r.latency.mean, min: r.latency.min, samples: kept.length || bench.tasks[0].runs, samplesMs: [...kept] };
}

async function runCase(gpu: Gpu, c: BenchCase, quick: boolean, naive: boolean, short = false): Promise<BenchRecord> {
  const inst = await c.setup({ gpu, quick, rand: mulberry32(0x5eed) });
  try {
    // Count the dispatches one run records (never submitted).
    const probe = gpu.encoder('bench-probe');
    inst.run(probe);
    const dispatches = probe.size;
    // The structural counters of the last timed run (warm: its pipelines were compiled before).
    let counters = countersDelta(gpu.snapshotCounters(), gpu.snapshotCounters());
    const step = (record: (enc: ReturnType<Gpu['encoder']>) => void, count = false) => async () => {
      const before = count ? gpu.snapshotCounters() : null;
      const enc = gpu.encoder('bench');
      record(enc);
      await enc.submit();
      await gpu.sync();
      if (before) counters = countersDelta(gpu.snapshotCounters(), before);
    };
    // One warm-up run (compiles the pipeline), then at least 7 timed runs and 1.5 s per kernel
    // (2 runs with --quick). The naive yardstick is often 10-30× slower: one warm-up run, then 3
    // timed runs only if that one took under 2 s (1 with --quick); else the warm-up run itself
    // is the measurement.
    // short: the roofline references re-measured before each family (5 runs and 0.3 s at least).
    const t = await timeIt(step((e) => inst.run(e), true), quick ? 2 : short ? 5 : 7, quick ? 0 : short ? 300 : 1500, true);
    let nv: { median: number } | null = null;
    if (naive && inst.naive) {
      const once = step((e) => inst.naive!(e));
      const t0 = performance.now();
      await once();
      const first = performance.now() - t0;
      nv = quick || first > 2000 ? { median: first } : await timeIt(once, 3, 0, false);
    }
    return {
      family: c.family,
      name: c.name,
      shape: c.shape,
      info: inst.info ?? {},
      flops: c.flops,
      bytes: c.bytes,
      samples: t.samples,
      samples_ms: t.samplesMs,
      counters,
      median_ms: t.median,
      mean_ms: t.mean,
      min_ms: t.min,
      gflops: c.flops / (t.median * 1e6),
      gbps: c.bytes / (t.median * 1e6),
      naive_median_ms: nv ? nv.median : null,
      speedup_vs_naive: nv ? nv.median / t.median : null,
      dispatches,
      roofline_ratio: null,
      roofline_bound: null,
      roofline_ceilings: null,
    };
  } finally {
    inst.dispose();
  }
}

/** One table row (without the tag): median, GFLOP/s, GB/s, best, naive. */
function row(c: BenchCase, r: BenchRecord): string {
  const nv = r.naive_median_ms === null ? '       -       -' : `${fmt(r.naive_median_ms)} ${fmt(r.speedup_vs_naive!, 1)}`;
  const best = c.flops / (r.min_ms * 1e6);
  return `${c.name.padEnd(44)} ${fmt(r.median_ms, 2)}  ${fmt(r.gflops)}  ${fmt(r.gbps)}  ${fmt(best)}   ${nv}`;
}

function annotate(r: BenchRecord, c: RooflineCeilings): void {
  r.roofline_ceilings = c;
  r.roofline_ratio = rooflineRatio(r.median_ms, r.flops, r.bytes, c, r.dispatches);
  r.roofline_bound = rooflineBoundBy(r.flops, r.bytes, c);
}

function fmt(x: number, digits = 1): string {
  return x.toFixed(digits).padStart(8);
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      filter: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-naive': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      'no-roofline': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  if (positionals.length) {
    // `--filter=matmul nn 1024` that lost its quotes on the way arrives as three arguments.
    if (values.filter === undefined) throw new Error(`unexpected argument(s) ${positionals.join(' ')} (options: --filter, --quick, --out, --no-naive, --list, --no-roofline)`);
    values.filter = [values.filter, ...positionals].join(' ');
  }
  let filter: RegExp | null = null;
  if (values.filter !== undefined) {
    try {
      filter = new RegExp(values.filter);
    } catch (e) {
      throw new Error(`--filter '${values.filter}' is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const all = await loadCases(quick);
  const cases = all.filter((c) => !filter || filter.test(c.name));
  if (values.list) {
    for (const c of cases) console.log(c.name);
    return 0;
  }
  if (cases.length === 0) {
    console.error(`no benchmark case matches --filter ${values.filter}`);
    return 1;
  }
  const roofline = !values['no-roofline'];
  const refs = roofline
    ? [ROOFLINE_REFERENCES.flops, ...ROOFLINE_REFERENCES.bytes, ROOFLINE_REFERENCES.overhead, ROOFLINE_REFERENCES.dispatch].map((name) => {
        const c = all.find((x) => x.name === name);
        if (!c) throw new Error(`bench: the roofline reference case '${name}' is missing from src/bench/cases`);
        return c;
      })
    : [];
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const out = resolve(values.out ?? join(here, '..', '..', 'bench-results', `kernels-${stamp}.json`));

  const gpu = await openGpu();
  const records: BenchRecord[] = [];
  const refRecords: BenchRecord[] = [];
  let ceilings: RooflineCeilings | null = null;
  try {
    const a = gpu.adapterInfo;
    console.log(`adapter: ${a.description || a.device} (${a.isSoftware ? 'software' : 'hardware'}); ${cases.length} case(s)${quick ? ', --quick' : ''}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const header = `${'case'.padEnd(44)}  median ms   GFLOP/s      GB/s   best GF/s  naive ms  ×naive`;
    // Ceilings first, so every row can show its ratio; re-measured (shorter) before each family, so
    // a load change on a shared machine during a long run moves cases and ceilings together.
    const measureCeilings = async (short: boolean, title: string): Promise<RooflineCeilings> => {
      const recs: BenchRecord[] = [];
      for (const c of refs) recs.push(await runCase(gpu, c, quick, false, short));
      const f = recs[0];
      const o = recs[recs.length - 2];
      const x8 = recs[recs.length - 1];
      const copies = recs.slice(1, -2).map((r) => ({ bytes: r.bytes, gbps: r.gbps }));
      const ceil = { gflops: f.gflops, copies, overhead_ms: o.median_ms, dispatch_ms: Math.max(0, (x8.median_ms - o.median_ms) / (x8.dispatches - 1)) };
      for (const r of recs) annotate(r, ceil);
      refRecords.push(...recs);
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      console.log(`ceilings${title}: ${ceil.gflops.toFixed(1)} GFLOP/s (${f.name}); copy ${copies.map((c) => `${c.gbps.toFixed(2)} GB/s at ${mib(c.bytes)}`).join(', ')}; ${ceil.overhead_ms.toFixed(3)} ms per step (${o.name}) + ${ceil.dispatch_ms.toFixed(3)} ms per further dispatch (${x8.name})`);
      return ceil;
    };
    if (roofline) ceilings = await measureCeilings(false, ' (same run)');
    console.log(`${''.padEnd(8)}${header}${roofline ? '   ×roof' : ''}`);
    let family = cases[0].family;
    for (const [i, c] of cases.entries()) {
      const tag = `[${i + 1}/${cases.length}]`.padEnd(8);
      if (roofline && c.family !== family) ceilings = await measureCeilings(true, ` (re-measured before ${c.family})`);
      family = c.family;
      if (process.stdout.isTTY) process.stdout.write(`${tag}${c.name} …\r`);
      const r = await runCase(gpu, c, quick, !values['no-naive']);
      if (ceilings) annotate(r, ceilings);
      records.push(r);
      console.log(`${tag}${row(c, r)}${r.roofline_ratio === null ? '' : fmt(r.roofline_ratio, 2)}`);
    }
    if (ceilings) {
      const over = records.filter((r) => r.roofline_ratio! > 2);
      console.log(`roofline: ${records.length - over.length}/${records.length} case(s) within 2× of the same-run ceilings` + (over.length ? '; over 2×:' : ''));
      for (const r of over) console.log(`  ${r.name.padEnd(50)} ${fmt(r.roofline_ratio!, 2)}× (${r.roofline_bound}-bound)`);
    }
  } finally {
    const file: BenchResultsFile = {
      kind: 'tunebench-kernel-bench',
      version: 1,
      started: started.toISOString(),
      finished: new Date().toISOString(),
      quick,
      filter: values.filter ?? null,
      adapter: { ...gpu.adapterInfo },
      features: [...gpu.features],
      dawnFlags: [...gpu.dawnFlags],
      node: process.version,
      loadavg: loadavg(),
      records,
      roofline: ceilings ? { ceilings: refRecords[0].roofline_ceilings!, references: refRecords } : null,
    };
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(file, null, 1) + '\n');
    console.log(`results: ${out}`);
    gpu.destroy();
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error((e as Error).message ?? e);
      process.exit(1);
    },
  );
}
