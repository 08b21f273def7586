// The benchmark commands are wired into `tunebench` (packages/bench/src/cli.ts) and `npm start`
// runs the quick preset of every suite (the main job): its command is parsed by the CLI itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli, planSweep, presetByName, PRESETS, SUITE_NAMES, SUITES } from '@tunebench/bench';

const bin = fileURLToPath(new URL('../bin/tunebench.mjs', import.meta.url));
const tunebench = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

test('tunebench lists bench and profile beside doctor and the trainer commands', () => {
  const r = tunebench(['--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const c of ['doctor', 'bench', 'profile']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  const b = tunebench(['bench', '--help']);
  for (const c of ['run', 'plan', 'report', 'merge', 'list', 'perf', 'compare', 'peers']) assert.match(b.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  const run = tunebench(['bench', 'run', '--help']);
  assert.match(run.stdout, /^  --no-cache +run every phase, even one equal/m);
});

test('bench list: the suites with their baselines, three presets', () => {
  const r = tunebench(['bench', 'list']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^freezing: .*baseline full\)$/m);
  assert.match(r.stdout, /^domain: .*baseline a_base_finetune\)$/m);
  assert.match(r.stdout, /^masking: .*baseline rate15_random\)$/m);
  assert.match(r.stdout, /^sensitivity: .*baseline ft_lr_3e-4\)$/m);
  assert.match(r.stdout, /^ner: .*baseline first_subtoken\)$/m);
  for (const s of ['first_subtoken', 'all_subtokens', 'crf_first', 'crf_all']) assert.match(r.stdout, new RegExp(`^  ${s} +labels=`, 'm'));
  assert.match(r.stdout, /^fewshot: .*baseline full\.k8\)$/m);
  for (const p of ['micro', 'quick', 'full']) assert.match(r.stdout, new RegExp(`^preset ${p}: `, 'm'));
});

test('bench list --suite-file: lists that file\'s suite (checked as bench run would), not the built-ins; a bad file names itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-list-'));
  const shipped = readFileSync(fileURLToPath(new URL('../packages/bench/suites/freezing.yaml', import.meta.url)), 'utf8');
  const mine = join(dir, 'my_freezing.yaml');
  writeFileSync(mine, shipped.replace(/^name: freezing$/m, 'name: my_freezing'));
  const r = tunebench(['bench', 'list', '--suite-file', mine]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^my_freezing: .*baseline full\)$/m);
  assert.ok(r.stdout.includes(`from ${mine}`), r.stdout);
  assert.doesNotMatch(r.stdout, /^domain: /m);
  assert.match(r.stdout, /^preset quick: /m);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, shipped.replace(/^name: freezing$/m, 'name: bad').replace(/^baseline: full$/m, 'baseline: full\nno_such_key: 1'));
  const e = tunebench(['bench', 'list', '--suite-file', bad]);
  assert.notEqual(e.status, 0);
  assert.match(e.stderr, /bad\.yaml/);
});

test('npm start is the quick preset of every suite: its command parses, through the real CLI, to that sweep', async () => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'));
  const [node, script, ...argv] = (pkg.scripts.start as string).split(/\s+/);
  assert.equal(node, 'node');
  assert.equal(fileURLToPath(new URL(`../${script}`, import.meta.url)), bin);
  // The `bench run` command of the CLI the binary runs, with its action caught instead of sweeping.
  const cli = buildCli().exitOverride();
  const run = cli.commands.find((c) => c.name() === 'bench')?.commands.find((c) => c.name() === 'run');
  assert.ok(run, 'tunebench bench run exists');
  const calls: { suites: string[]; flags: Record<string, unknown> }[] = [];
  run.exitOverride().action((suites: string[], flags: Record<string, unknown>) => { calls.push({ suites, flags }); });
  await cli.parseAsync(argv, { from: 'user' });
  assert.equal(calls.length, 1, `npm start (${pkg.scripts.start}) reaches tunebench bench run`);
  const { suites, flags } = calls[0]!;
  assert.equal(flags.preset, 'quick');
  assert.deepEqual([suites, flags.strategy, flags.dataset, flags.seeds, flags.shard, flags.report], [[], [], [], undefined, undefined, true]);
  // No suite named means every suite, each with the variants the quick preset picks, at its seeds.
  const baseDir = mkdtempSync(join(tmpdir(), 'tunebench-start-'));
  writeFileSync(join(baseDir, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  const plan = planSweep(presetByName(flags.preset as string), { suites, baseDir });
  assert.deepEqual([...new Set(plan.runs.map((r) => r.suite))].sort(), [...SUITE_NAMES].sort());
  // (at the preset's seeds, or the suite's own for that preset: fewshot)
  for (const name of SUITE_NAMES) {
    const seeds = [...new Set(plan.runs.filter((r) => r.suite === name).map((r) => r.seed))];
    assert.deepEqual(seeds, SUITES[name]!.presets?.quick?.seeds ?? PRESETS.quick.seeds, name);
  }
});
