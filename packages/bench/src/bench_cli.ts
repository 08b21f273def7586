// `tunebench bench run | plan | report | claims | merge | verify | list | compare | peers` and `tunebench profile`:
// commander subcommands, registered by cli.ts. The work lives in runner.ts, report/,
// merge.ts, perf/ and profile/.

import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { planSweep, findShippedBase, repoRoot, skippedName } from './plan.js';
import { runSweep, parseShard, shardRuns } from './runner.js';
import { EMIT_TARGETS, emitJobs, writeEmitted, type EmitTarget } from './emit.js';
import { writeReports } from './report/index.js';
import { loadRecords } from './leaderboard.js';
import { claimsMarkdown, loadClaims, writeClaims, DEFAULT_CLAIMS_FILE } from './claims.js';
import { mergeRecords } from './merge.js';
import { statusText, sweepStatus } from './sweep_status.js';
import { DEFAULT_VERIFY_TOLERANCE, verifySweep, verifyTable } from './verify.js';
import { PRESETS, PRESET_NAMES, SUITES, presetByName, type PresetName } from './suites/index.js';
import type { Suite } from './suites/types.js';
import { perfCommands } from './perf/commands.js';
import { evaluateAllClaims, loadSuiteFile, SUITE_FILE_SCHEMA } from './suite_file.js';
import { runProfile, profileTable, writeTrace } from './profile.js';

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function defaultOutDir(preset: string): string {
  return join(repoRoot, 'bench-results', preset);
}

function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

interface PlanFlags {
  preset: string;
  strategy: string[];
  dataset: string[];
  seeds?: string;
  suiteFile: string[];
  base?: string;
  backend?: 'gpu' | 'cpu';
  phaseTimeout?: string;
  emit?: EmitTarget;
  shards: string;
  out?: string;
  dir?: string;
  name?: string;
  workdir: string;
  image: string;
  pvc: string;
  cpus: string;
}

interface RunFlags {
  preset: string;
  strategy: string[];
  dataset: string[];
  seeds?: string;
  out?: string;
  shard?: string;
  base?: string;
  backend?: 'gpu' | 'cpu';
  retries: string;
  report: boolean;
  cache: boolean;
  phaseTimeout?: string;
  suiteFile: string[];
}

function resolveBase(preset: PresetName, flag: string | undefined): string | null {
  if (PRESETS[preset].base !== 'shipped') return null;
  if (flag) {
    const d = resolve(flag);
    for (const f of ['config.json', 'model.safetensors', 'vocab.txt']) {
      if (!existsSync(join(d, f))) throw new Error(`--base ${flag}: not a checkpoint directory (no ${f})`);
    }
    return d;
  }
  const found = findShippedBase(repoRoot);
  if (!found && PRESETS[preset].fallbackBase) return null;
  if (!found) {
    throw new Error(`the ${preset} preset starts from the shipped base model, but models/ holds no checkpoint (config.json + model.safetensors + vocab.txt). ` +
      'Pass --base <checkpoint dir> (e.g. one written by `tunebench pretrain --dataset pretrain_en`), or try the pipeline with --preset micro.');
  }
  return found;
}

/** The sweep a `bench run` (or `bench plan`) command line stands for: planned and validated. */
export function planFromFlags(suites: string[], f: Omit<RunFlags, 'retries' | 'report' | 'cache'>, log: (l: string) => void = console.log) {
  const preset = presetByName(f.preset);
  const seeds = f.seeds === undefined ? undefined : f.seeds.split(',').map((s) => {
    if (!/^\d+$/.test(s.trim())) throw new Error(`--seeds ${f.seeds}: expected comma-separated non-negative integers`);
    return Number(s);
  });
  let baseDir = resolveBase(preset.name, f.base);
  let effective = preset;
  if (preset.base === 'shipped' && !baseDir && preset.fallbackBase) {
    log(`NOTE: no shipped base model under models/ (a checkpoint directory with config.json, model.safetensors, vocab.txt);`);
    log(`      this sweep first pretrains its own ${preset.fallbackBase.preset} base model on ${preset.fallbackBase.dataset} (${preset.fallbackBase.sizes.maxSteps} steps). Pass --base DIR to use another.`);
    effective = { ...preset, base: preset.fallbackBase };
    baseDir = null;
  }
  const suiteDefs = (f.suiteFile ?? []).map(loadSuiteFile);
  const clash = suiteDefs.find((s) => SUITES[s.name] || suites.includes(s.name));
  if (clash) throw new Error(`${clash.source!.file}: suite name '${clash.name}' is a built-in suite's; give the file's suite another name`);
  const plan = planSweep(effective, { suites, suiteDefs, strategies: f.strategy, datasets: f.dataset, seeds, baseDir });
  return { preset, plan, baseDir };
}

export async function benchRun(suites: string[], f: RunFlags): Promise<number> {
  const { preset, plan, baseDir } = planFromFlags(suites, f);
  const outDir = resolve(f.out ?? defaultOutDir(preset.name));
  const shard = f.shard ? parseShard(f.shard) : null;
  const retries = Number(f.retries);
  if (!Number.isInteger(retries) || retries < 0) throw new Error(`--retries ${f.retries}: expected a non-negative integer`);
  const backend = f.backend ?? preset.backend;
  if (f.phaseTimeout !== undefined && !(Number(f.phaseTimeout) > 0)) throw new Error(`--phase-timeout ${f.phaseTimeout}: expected a positive number of seconds`);
  console.log(`tunebench bench: ${preset.name} preset (${preset.description}); ${plan.runs.length} runs over suites ${[...new Set(plan.runs.map((r) => r.suite))].join(', ')}${shard ? `, shard ${shard.index}/${shard.count}` : ''}; backend ${backend}`);
  console.log(`base model: ${baseDir ? shown(baseDir) : 'pretrained by the sweep'}; output: ${shown(outDir)}`);
  const summary = await runSweep(plan, {
    outDir, backend, baseDir, shard, retries, cache: f.cache,
    phaseTimeoutS: f.phaseTimeout ? Number(f.phaseTimeout) : preset.phaseTimeoutS,
  });
  console.log(`sweep: ${summary.done} runs done, ${summary.skipped} skipped (record exists), ${summary.failed.length} failed, in ${summary.wallTimeS.toFixed(0)} s`);
  const ph = summary.phases;
  console.log(`phases: ${ph.ran} run, ${ph.cached} reused from the phase cache, ${ph.resumed} resumed${f.cache ? '' : ' (--no-cache)'}`);
  for (const x of summary.failed) console.log(`  failed: ${x.runId}: ${x.error} (see ${shown(join(summary.stageDir, 'failures', x.runId + '.json'))})`);
  if (shard) console.log(`shard ${shard.index}/${shard.count}: records in ${shown(summary.stageDir)}; join the shards with \`tunebench bench merge --out ${shown(outDir)}\``);
  if (f.report) {
    if (!summary.records.length) {
      console.log('no records: nothing to report');
    } else {
      // A shard reports its own part (its staging folder); the merge reports the whole sweep.
      const r = writeReports(existsSync(join(summary.stageDir, 'records')) ? summary.stageDir : outDir);
      console.log('');
      console.log(r.markdown);
      console.log(`report: ${shown(r.files.html)}`);
      console.log(`tables: ${shown(r.files.wideCsv)}, ${shown(r.files.longCsv)}, ${shown(r.files.markdown)}, ${shown(r.files.json)}`);
      console.log(`claims: ${claimsLine(r.claims.results)} (${shown(r.files.claimsMarkdown)}, ${shown(r.files.claimsJson)})`);
    }
  }
  return summary.failed.length ? 2 : 0;
}

/** "3 supported, 1 contradicted, ..." of a claims evaluation. */
function claimsLine(results: { verdict: string }[]): string {
  return ['supported', 'contradicted', 'inconclusive', 'no data'].map((v) => `${results.filter((c) => c.verdict === v).length} ${v}`).join(', ');
}

/** `bench claims`: evaluate the claims file on the records of `outDir`; writes leaderboard/claims.{json,md}. */
export function benchClaims(outDir: string, claimsFile: string = DEFAULT_CLAIMS_FILE): { json: string; markdown: string; text: string; summary: string } {
  const claims = loadClaims(claimsFile);
  const records = loadRecords(join(outDir, 'records'));
  const r = evaluateAllClaims(records, claims);
  const files = writeClaims(join(outDir, 'leaderboard'), r);
  return { ...files, text: claimsMarkdown(r), summary: claimsLine(r.results) };
}

/** The options that select a sweep's runs, shared by run, plan and status. */
function withRunSelection(cmd: Command, datasetHelp: string): Command {
  return cmd
    .argument('[suites...]', `suites to run (default: all of ${Object.keys(SUITES).join(', ')})`)
    .addOption(new Option('-p, --preset <name>', 'size of every run').choices([...PRESET_NAMES]).default('quick'))
    .option('-s, --strategy <names>', 'only these strategies (repeatable or comma-separated; the baseline is added)', collect, [])
    .option('-d, --dataset <names>', datasetHelp, collect, [])
    .option('-f, --suite-file <file>', 'a suite described as data (YAML or JSON; `tunebench bench schema` prints its schema); repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .option('--seeds <list>', "seeds, e.g. 0,1,2 (default: the preset's)");
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('strategy benchmark suites, leaderboards, performance regression checks');

  withRunSelection(bench
    .command('run')
    .description('run (or resume) the suites of a preset and write the leaderboard'), 'only these datasets (repeatable or comma-separated); a dataset directory is run in addition')
    .option('-o, --out <dir>', 'output directory (default bench-results/<preset>)')
    .option('--shard <i/n>', 'run only every n-th run, starting at the i-th (1-based): split a sweep across machines')
    .option('--base <dir>', 'base model checkpoint directory (default: the shipped one under models/)')
    .addOption(new Option('--backend <name>', "trainer backend (default: the preset's; micro uses cpu)").choices(['gpu', 'cpu']))
    .option('--retries <n>', 'retries of a failed run', '1')
    .option('--phase-timeout <s>', "kill a phase after this many seconds (counts as a failure; default: the preset's)")
    .option('--no-report', 'do not write the leaderboard at the end')
    .option('--no-cache', 'run every phase, even one equal (same resolved config and inputs) to a phase already run in the output directory')
    .action(async (suites: string[], f: RunFlags) => {
      process.exitCode = await benchRun(suites, f);
    });

  withRunSelection(bench
    .command('plan')
    .description('print how a sweep splits into shards, or write ready-to-submit job descriptions for it (--emit slurm|k8s|github)'), 'only these datasets (repeatable or comma-separated); a dataset directory is run in addition')
    .option('--base <dir>', 'base model checkpoint directory (default: the shipped one under models/)')
    .addOption(new Option('--backend <name>', "trainer backend (default: the preset's)").choices(['gpu', 'cpu']))
    .option('--phase-timeout <s>', 'kill a phase after this many seconds')
    .addOption(new Option('--emit <engine>', 'write job descriptions for this engine').choices([...EMIT_TARGETS]))
    .option('--shards <n>', 'number of shards (array tasks, pods, matrix jobs)', '1')
    .option('-o, --out <dir>', 'the sweep\'s output folder as the jobs see it (default: slurm bench-results/<preset> here, k8s /results/<name>, github bench-results/<preset>)')
    .option('--dir <dir>', 'where to write the job files (default bench-results/jobs/<name>/<engine>)')
    .option('--name <name>', 'job name (default tunebench-<preset>)')
    .option('--workdir <dir>', 'slurm: the tunebench checkout on the shared folder', repoRoot)
    .option('--image <image>', 'k8s: container image (this repository at /app, npm run setup done)', 'tunebench:latest')
    .option('--pvc <claim>', 'k8s: ReadWriteMany PersistentVolumeClaim mounted at /results', 'tunebench-results')
    .option('--cpus <n>', 'CPUs per shard', '2')
    .action((suites: string[], f: PlanFlags) => {
      const shards = Number(f.shards);
      if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards ${f.shards}: expected a positive integer`);
      const cpus = Number(f.cpus);
      if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`--cpus ${f.cpus}: expected a positive integer`);
      const { preset, plan } = planFromFlags(suites, f);
      const parts = Array.from({ length: shards }, (_, i) => shardRuns(plan.runs, { index: i + 1, count: shards }));
      console.log(`${plan.runs.length} runs (${preset.name} preset) in ${shards} shard${shards > 1 ? 's' : ''}: ${parts.map((p) => p.length).join(', ')} runs each`);
      for (const s of plan.skipped) console.log(`note: ${skippedName(s)} is left out: ${s.reason.split('\n').join(' ')}`);
      if (!f.emit) {
        parts.forEach((p, i) => console.log(`shard ${i + 1}/${shards}:\n${p.map((r) => `  ${r.runId}`).join('\n')}`));
        return;
      }
      const name = f.name ?? `tunebench-${preset.name}`;
      // Slurm jobs see this machine's shared folder: paths are made absolute. In a container or a
      // checkout on a runner, paths are those of the repository (relative to its root, as given).
      const path = (p: string) => (f.emit === 'slurm' ? resolve(p) : p);
      const runArgs = [
        ...suites, '--preset', preset.name,
        ...(f.strategy.length ? ['--strategy', f.strategy.join(',')] : []),
        ...(f.dataset.length ? ['--dataset', f.dataset.map((d) => (existsSync(d) ? path(d) : d)).join(',')] : []),
        ...(f.seeds !== undefined ? ['--seeds', f.seeds] : []),
        ...f.suiteFile.flatMap((x) => ['--suite-file', path(x)]),
        ...(f.base ? ['--base', path(f.base)] : []),
        ...(f.backend ? ['--backend', f.backend] : []),
        ...(f.phaseTimeout ? ['--phase-timeout', f.phaseTimeout] : []),
      ];
      const outDir = f.out ? path(f.out) : f.emit === 'slurm' ? defaultOutDir(preset.name) : f.emit === 'k8s' ? `/results/${name}` : `bench-results/${preset.name}`;
      const files = emitJobs({ target: f.emit, shards, runArgs, outDir, name, workdir: resolve(f.workdir), image: f.image, pvc: f.pvc, cpus, runs: plan.runs.length, preset: preset.name });
      const dir = resolve(f.dir ?? join(repoRoot, 'bench-results', 'jobs', name, f.emit));
      for (const p of writeEmitted(dir, files)) console.log(`wrote ${shown(p)}`);
      const how = { slurm: `sh ${shown(join(dir, 'submit.sh'))}`, k8s: `sh ${shown(join(dir, 'submit.sh'))}`, github: `copy ${shown(join(dir, `${name}.yml`))} to .github/workflows/ and run it (workflow_dispatch)` }[f.emit];
      console.log(`submit: ${how}`);
    });

  withRunSelection(bench
    .command('status')
    .description('how far a sweep run in pieces has come: per suite and dataset the runs done, failed and left, and the time left at the pace of its own records (reads files only)'), 'only these datasets (repeatable or comma-separated)')
    .option('--base <dir>', 'base model checkpoint directory (default: the shipped one under models/)')
    .option('-o, --out <dir>', 'output directory (default bench-results/<preset>)')
    .action((suites: string[], f: Omit<RunFlags, 'retries' | 'report' | 'cache'>) => {
      const { preset, plan } = planFromFlags(suites, f, () => {});
      const outDir = f.out ?? defaultOutDir(preset.name);
      if (!existsSync(outDir)) throw new Error(`${outDir}: no such directory (nothing run yet: tunebench bench run --preset ${preset.name} --out ${outDir})`);
      console.log(statusText(sweepStatus(plan.runs, resolve(outDir)), outDir, preset.name));
    });

  bench
    .command('report')
    .description('aggregate the records of an output directory into CSV, Markdown, JSON and HTML')
    .option('-o, --out <dir>', 'output directory of a sweep', defaultOutDir('quick'))
    .action((f: { out: string }) => {
      const r = writeReports(resolve(f.out));
      console.log(r.markdown);
      console.log(`report: ${shown(r.files.html)}`);
      console.log(`claims: ${claimsLine(r.claims.results)} (${shown(r.files.claimsMarkdown)})`);
    });

  bench
    .command('claims')
    .description("evaluate the seed's claims (packages/bench/claims.yaml), and the claims of the suite files the runs were planned from, on the records of an output directory: leaderboard/claims.json and claims.md")
    .option('-o, --out <dir>', 'output directory of a sweep', defaultOutDir('quick'))
    .option('--claims <file>', 'claims file (YAML or JSON)', DEFAULT_CLAIMS_FILE)
    .action((f: { out: string; claims: string }) => {
      const r = benchClaims(resolve(f.out), f.claims);
      console.log(r.text);
      console.log(`claims: ${r.summary}`);
      console.log(`written: ${shown(r.markdown)}, ${shown(r.json)}`);
    });

  bench
    .command('merge')
    .description('join the records of sharded sweeps into one output directory (refuses two different records of one run, naming both files)')
    .argument('[sources...]', "output directories of the shards (their records/ and shards/<i>of<n>/records/); default: the --out folder's own shards")
    .requiredOption('-o, --out <dir>', 'merged output directory')
    .option('--no-report', 'do not write the leaderboard')
    .action((sources: string[], f: { out: string; report: boolean }) => {
      const m = mergeRecords(f.out, sources.length ? sources : [f.out]);
      console.log(`merge: ${m.copied} records copied, ${m.identical} already present`);
      if (f.report) console.log(`report: ${shown(writeReports(resolve(f.out)).files.html)}`);
    });

  bench
    .command('verify')
    .description('rerun K random records of a finished sweep and check their scores are reproduced (bit-identical on the same adapter)')
    .requiredOption('-o, --out <dir>', 'output directory of a finished sweep')
    .option('--sample <k>', 'records to rerun', '3')
    .option('--seed <s>', 'seed of the random draw', '0')
    .option('--run <id>', 'rerun this record instead of a random draw (its run id, e.g. ner/ner_en/crf_first/seed0); repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--backend <name>', "rerun on this backend (default: the record's: cpu for the CPU reference, else gpu)").choices(['gpu', 'cpu']))
    .option('--tolerance <x>', `largest |Δ| of a metric when the rerun's adapter is not the record's (default ${DEFAULT_VERIFY_TOLERANCE})`)
    .option('--keep', 'keep the rerun directories')
    .action((f: { out: string; sample: string; seed: string; run: string[]; backend?: 'gpu' | 'cpu'; tolerance?: string; keep?: boolean }) => {
      const sample = Number(f.sample), seed = Number(f.seed), tolerance = f.tolerance === undefined ? undefined : Number(f.tolerance);
      if (!Number.isInteger(sample) || sample < 1) throw new Error(`--sample ${f.sample}: expected a positive integer`);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed ${f.seed}: expected a non-negative integer`);
      if (tolerance !== undefined && !(tolerance >= 0)) throw new Error(`--tolerance ${f.tolerance}: expected a number ≥ 0`);
      const results = verifySweep(resolve(f.out), { sample, seed, runs: f.run, backend: f.backend, tolerance, keep: f.keep, log: (l) => console.log(l) });
      console.log('');
      console.log(verifyTable(results));
      process.exitCode = results.every((r) => r.ok) ? 0 : 1;
    });

  bench
    .command('list')
    .description('print the suites, their strategies and the presets (with --suite-file: the suites of those files, checked as bench run would)')
    .option('-f, --suite-file <file>', 'a suite file (YAML or JSON) to list instead of the built-in suites; repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .action((f: { suiteFile: string[] }) => {
      // A file's suite is loaded and checked exactly as `bench run --suite-file` would (unknown keys,
      // strategies that cannot run: an error naming the file and line), so `list` is the dry check.
      const suites = f.suiteFile.length > 0 ? f.suiteFile.map(loadSuiteFile) : Object.values(SUITES);
      for (const s of suites) printSuite(s);
      for (const p of Object.values(PRESETS)) console.log(`preset ${p.name}: ${p.description}; seeds ${p.seeds.join(',')}`);
    });

  bench
    .command('schema')
    .description('print the JSON schema of suite files (bench run --suite-file)')
    .action(() => {
      console.log(JSON.stringify(SUITE_FILE_SCHEMA, null, 2));
    });

  for (const c of perfCommands()) bench.addCommand(c);
  return bench;
}

const posInt = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${flag} ${v}: expected a positive integer`);
  return Number(v);
};

/** One suite of `bench list`: title, datasets, baseline, where it comes from, claims, per-preset seeds, cost matrix, strategies. */
function printSuite(s: Suite): void {
  console.log(`${s.name}: ${s.title} (datasets ${s.datasets.join(', ')}; baseline ${s.baseline})`);
  console.log(`  from ${s.shipped ?? s.source?.file ?? '(built in)'} (copy it, edit it, run it with --suite-file; format: tunebench bench schema)`);
  if (s.claims?.length) console.log(`  claims: ${s.claims.map((c) => c.id).join(', ')}`);
  for (const [p, sel] of Object.entries(s.presets ?? {})) if (sel?.seeds) console.log(`  (preset ${p}: seeds ${sel.seeds.join(',')})`);
  if (s.costMatrix) console.log(`  cost matrix (rows: true label, columns: predicted; ${s.costMatrix.labels.join(', ')}; costly class ${s.costMatrix.costlyClass}): ${JSON.stringify(s.costMatrix.matrix)}; main_score = expected cost per test example (lower is better)`);
  for (const v of s.variants) console.log(`  ${v.name.padEnd(18)} ${Object.entries(v.params).map(([k, x]) => `${k}=${String(x)}`).join(' ')}`);
}

/** `tunebench profile`: per-dispatch GPU timestamps over N training steps. */
export function profileCommand(): Command {
  return new Command('profile')
    .description('time every dispatch of N training steps (GPU timestamps): per-kernel table and a Chrome trace for Perfetto')
    .addOption(new Option('--model <preset>', 'BERT preset').choices(['tiny', 'mini']).default('tiny'))
    .option('--steps <n>', 'profiled steps (after one warm-up step)', posInt('--steps'), 3)
    .option('--batch <n>', 'batch size', posInt('--batch'), 32)
    .option('--seq <n>', 'sequence length', posInt('--seq'), 128)
    .option('--vocab <n>', 'vocabulary size', posInt('--vocab'), 8192)
    .option('--trace <file>', 'Chrome trace JSON (default bench-results/profile/trace-<time>.json)')
    .action(async (f: { model: 'tiny' | 'mini'; steps: number; batch: number; seq: number; vocab: number; trace?: string }) => {
      const r = await runProfile({ model: f.model, steps: f.steps, batch: f.batch, seq: f.seq, vocab: f.vocab });
      console.log(profileTable(r));
      const out = resolve(f.trace ?? join(repoRoot, 'bench-results', 'profile', `trace-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
      writeTrace(out, r.trace);
      console.log(`trace: ${shown(out)} (open in https://ui.perfetto.dev or chrome://tracing)`);
    });
}
