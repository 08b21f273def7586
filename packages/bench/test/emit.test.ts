// `bench plan --emit slurm|k8s|github`: the job descriptions are checked from outside. Kubernetes
// manifests are parsed (yaml) and validated against the Kubernetes OpenAPI schemas
// (kubernetes-models); GitHub workflows, the emitted one and .github/workflows/perf-regression.yml,
// by @action-validator/core (GitHub's workflow schema plus job-graph checks, offline, WASM). Every
// `tunebench` command line in them is parsed by the real CLI. The Slurm submit script runs against
// a fake sbatch that records its arguments (a real Slurm runs it in test/slurm.integration.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { validateWorkflow } from '@action-validator/core';
import { Command } from 'commander';
import { buildCli, emitJobs, shQuote, type EmitSpec } from '../src/index.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'bin', 'tunebench.mjs');
const tmp = () => mkdtempSync(join(tmpdir(), 'tunebench-emit-'));

/** Runs `tunebench bench plan ...`; returns its stdout and the folder the files went to. */
function plan(args: string[]): { dir: string; stdout: string } {
  const dir = tmp();
  const r = spawnSync(process.execPath, [bin, 'bench', 'plan', 'freezing', '--preset', 'micro', '--seeds', '0', ...args, '--dir', dir], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return { dir, stdout: r.stdout };
}

/** Parses a `tunebench ...` argument list with the real CLI (every action replaced): the command a
 * job runs exists and its options are valid. Returns the subcommand path and its options. */
async function parseTunebench(argv: string[]): Promise<{ path: string[]; opts: Record<string, unknown>; args: string[] }> {
  const cli = buildCli();
  let got: { path: string[]; opts: Record<string, unknown>; args: string[] } | null = null;
  const arm = (c: Command, path: string[]) => {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    if (path.length) c.action((...a: unknown[]) => { const self = a[a.length - 1] as Command; got = { path, opts: self.opts(), args: self.args }; });
    for (const s of c.commands) arm(s, [...path, s.name()]);
  };
  arm(cli, []);
  await cli.parseAsync(argv, { from: 'user' });
  assert.ok(got, `no subcommand ran for ${argv.join(' ')}`);
  return got;
}

/** The `tunebench` invocations of a script text (lines running bin/tunebench.mjs), as the shell
 * passes them (argv), with shell arithmetic like $((SLURM_ARRAY_TASK_ID+1)) and ${{ matrix.shard }}
 * replaced by 1. */
function tunebenchLines(text: string): string[][] {
  return text.split('\n').filter((l) => /bin\/tunebench\.mjs /.test(l) && !/^\s*#/.test(l)).map((l) => {
    const cmd = l.slice(l.indexOf('bin/tunebench.mjs ') + 'bin/tunebench.mjs '.length).replace(/\$\(\([^)]*\)\)|\$\{\{[^}]*\}\}/g, '1').replace(/\\$/, '');
    // The shell splits and unquotes the words (RUNNER_TEMP as on a runner).
    const r = spawnSync('sh', ['-c', `set -- ${cmd.split(' | ')[0]}; for a; do printf '%s\\0' "$a"; done`], { encoding: 'utf8', env: { ...process.env, RUNNER_TEMP: '/runner/temp' } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\0').slice(0, -1);
  });
}

test('shQuote: words pass, anything else is single-quoted so sh reads it back unchanged', () => {
  for (const s of ['plain', 'a b', "it's", '$(rm -rf /)', '*', 'x;y', '']) {
    const r = spawnSync('sh', ['-c', `printf %s ${shQuote(s)}`], { encoding: 'utf8' });
    assert.equal(r.stdout, s);
  }
});

test('slurm: a job array over the shards and a merge job queued afterok on the array id', async () => {
  const out = join(tmp(), 'shared out');
  const { dir, stdout } = plan(['--emit', 'slurm', '--shards', '3', '--out', out]);
  assert.match(stdout, /3 runs \(micro preset\) in 3 shards: 1, 1, 1 runs each/);
  const sweep = readFileSync(join(dir, 'sweep.sbatch'), 'utf8');
  const merge = readFileSync(join(dir, 'merge.sbatch'), 'utf8');
  assert.match(sweep, /^#SBATCH --array=0-2$/m);
  assert.match(sweep, /--shard \$\(\(SLURM_ARRAY_TASK_ID\+1\)\)\/3 /);
  assert.match(sweep, new RegExp(`--out '${out}' `));
  for (const t of [sweep, merge]) {
    assert.match(t, /^# Assumes:$/m);
    assert.match(t, /shared folder/);
    assert.match(t, /Vulkan/);
    assert.equal(spawnSync('bash', ['-n'], { input: t }).status, 0, 'bash syntax');
  }
  // #SBATCH lines come before the first command (sbatch stops reading them there).
  const firstCmd = sweep.split('\n').findIndex((l) => l && !l.startsWith('#'));
  assert.ok(sweep.split('\n').findLastIndex((l) => l.startsWith('#SBATCH')) < firstCmd);
  // Every tunebench command parses with the real CLI.
  const [run] = tunebenchLines(sweep);
  const p = await parseTunebench(run!);
  assert.deepEqual(p.path, ['bench', 'run']);
  assert.deepEqual([p.args, p.opts.preset, p.opts.seeds, p.opts.shard, p.opts.out, p.opts.report], [['freezing'], 'micro', '0', '1/3', out, false]);
  const m = await parseTunebench(tunebenchLines(merge)[0]!);
  assert.deepEqual([m.path, m.opts.out], [['bench', 'merge'], out]);
  // submit.sh against a fake sbatch: the merge depends on the array's id (the cluster suffix cut).
  const fakeBin = tmp();
  const log = join(fakeBin, 'calls');
  writeFileSync(join(fakeBin, 'sbatch'), `#!/bin/sh\necho "$*" >> ${shQuote(log)}\ncase "$*" in *merge*) echo "78;cluster";; *) echo "77;cluster";; esac\n`);
  chmodSync(join(fakeBin, 'sbatch'), 0o755);
  assert.ok(statSync(join(dir, 'submit.sh')).mode & 0o100, 'submit.sh is executable');
  const r = spawnSync(join(dir, 'submit.sh'), { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['--parsable sweep.sbatch', '--parsable --dependency=afterok:77 merge.sbatch']);
  assert.match(r.stdout, /array job 77 \(3 tasks\), merge job 78/);
});

test('k8s: an Indexed Job and a merge Job, valid against the Kubernetes schemas', async () => {
  const { dir } = plan(['--emit', 'k8s', '--shards', '4', '--image', 'registry.example/tunebench:1', '--name', 'sweep-a']);
  const docs = (f: string) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS();
  });
  const [job] = docs('sweep-job.yaml');
  const [merge] = docs('merge-job.yaml');
  for (const j of [job, merge]) new Job(j).validate(); // throws with the schema's errors
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.deepEqual([job.spec.completions, job.spec.parallelism], [4, 4]);
  const c = job.spec.template.spec.containers[0];
  assert.equal(c.image, 'registry.example/tunebench:1');
  assert.match(c.command[2], /--shard \$\(\(JOB_COMPLETION_INDEX\+1\)\)\/4 --out \/results\/sweep-a /);
  assert.deepEqual(job.spec.template.spec.volumes, [{ name: 'results', persistentVolumeClaim: { claimName: 'tunebench-results' } }]);
  assert.equal(c.volumeMounts[0].mountPath, '/results');
  const p = await parseTunebench(tunebenchLines(c.command[2])[0]!);
  assert.deepEqual([p.path, p.opts.shard, p.opts.out], [['bench', 'run'], '1/4', '/results/sweep-a']);
  const mc = merge.spec.template.spec.containers[0];
  assert.deepEqual((await parseTunebench(tunebenchLines(mc.command[2])[0]!)).path, ['bench', 'merge']);
  const text = readFileSync(join(dir, 'sweep-job.yaml'), 'utf8');
  for (const said of [/^# Assumes:/m, /image registry\.example\/tunebench:1/, /PersistentVolumeClaim/, /Vulkan/]) assert.match(text, said);
  // The schema check has teeth: a broken Job is refused.
  const broken = structuredClone(job);
  broken.spec.completions = 'four';
  delete broken.spec.template.spec.containers[0].name;
  assert.throws(() => new Job(broken).validate(), /spec\/completions must be integer.*containers\/0 must have required property name/);
  // submit.sh applies the Indexed Job, waits for it, then applies the merge.
  const fakeBin = tmp();
  const log = join(fakeBin, 'calls');
  writeFileSync(join(fakeBin, 'kubectl'), `#!/bin/sh\necho "$*" >> ${shQuote(log)}\n`);
  chmodSync(join(fakeBin, 'kubectl'), 0o755);
  const r = spawnSync(join(dir, 'submit.sh'), { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
    'apply -f sweep-job.yaml', 'wait --for=condition=complete --timeout=-1s job/sweep-a', 'apply -f merge-job.yaml', 'wait --for=condition=complete --timeout=-1s job/sweep-a-merge',
  ]);
});

test('github: a matrix over the shards and a merge job uploading the leaderboard; a valid workflow', async () => {
  const { dir } = plan(['--emit', 'github', '--shards', '3']);
  const text = readFileSync(join(dir, 'tunebench-micro.yml'), 'utf8');
  assert.deepEqual(validateWorkflow(text).errors, []);
  const wf = parse(text);
  assert.deepEqual(wf.jobs.shard.strategy.matrix.shard, [1, 2, 3]);
  assert.equal(wf.jobs.merge.needs, 'shard');
  const steps = wf.jobs.shard.steps as { uses?: string; run?: string; with?: Record<string, string> }[];
  const run = steps.find((s) => s.run?.includes('bench run'))!.run!;
  assert.match(run, /--shard \$\{\{ matrix\.shard \}\}\/3 --out bench-results\/micro /);
  const p = await parseTunebench(tunebenchLines(run)[0]!);
  assert.deepEqual([p.path, p.opts.shard], [['bench', 'run'], '1/3']);
  assert.ok(steps.some((s) => s.run === 'sudo bash scripts/setup-vulkan.sh'));
  const up = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
  assert.equal(up.with!.path!.split('\n')[0], 'bench-results/micro/shards/');
  const mergeSteps = wf.jobs.merge.steps as { uses?: string; run?: string; with?: Record<string, unknown> }[];
  const down = mergeSteps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
  assert.deepEqual(down.with, { pattern: 'shard-*', path: 'bench-results/micro/shards', 'merge-multiple': true });
  assert.deepEqual((await parseTunebench(tunebenchLines(mergeSteps.find((s) => s.run?.includes('bench merge'))!.run!)[0]!)).path, ['bench', 'merge']);
  assert.equal(mergeSteps.at(-1)!.with!.path, 'bench-results/micro/leaderboard');
  for (const said of [/^# Assumes:/m, /artifact store/, /Vulkan/]) assert.match(text, said);
  // The validator has teeth: a job that needs a missing job, or a misspelt key, is refused.
  assert.notDeepEqual(validateWorkflow(text.replace('needs: shard', 'needs: shards')).errors, []);
  assert.notDeepEqual(validateWorkflow(text.replace('runs-on:', 'runs_on:')).errors, []);
  rmSync(dir, { recursive: true, force: true });
});

test('emitJobs refuses names Kubernetes would refuse and non-positive shard counts', () => {
  const spec: EmitSpec = { target: 'k8s', shards: 2, runArgs: [], outDir: '/r', name: 'ok-name', workdir: '/w', image: 'i', pvc: 'p', cpus: 1, runs: 2, preset: 'micro' };
  assert.equal(emitJobs(spec).length, 3);
  assert.throws(() => emitJobs({ ...spec, name: 'Bad_Name' }), /--name Bad_Name/);
  assert.throws(() => emitJobs({ ...spec, shards: 0 }), /--shards 0/);
});

test('.github/workflows/perf-regression.yml: a valid workflow running bench perf, bench compare --baseline and github-action-benchmark on --export-gab', async () => {
  const text = readFileSync(join(repo, '.github', 'workflows', 'perf-regression.yml'), 'utf8');
  assert.deepEqual(validateWorkflow(text).errors, []);
  const wf = parse(text);
  const job = wf.jobs.perf;
  assert.equal(job.container.image, 'node:22-bookworm', 'a Debian 12 container: Mesa from bookworm-backports');
  const steps = job.steps as { uses?: string; run?: string; with?: Record<string, unknown>; if?: string }[];
  const runs = steps.map((s) => s.run ?? '').join('\n');
  assert.match(runs, /bash scripts\/setup-vulkan\.sh/);
  assert.match(readFileSync(join(repo, 'scripts', 'setup-vulkan.sh'), 'utf8'), /bookworm-backports/);
  const cmds = tunebenchLines(runs.replace(/\\\n\s*/g, ' '));
  const parsed = await Promise.all(cmds.map(parseTunebench));
  const perf = parsed.find((p) => p.path.join(' ') === 'bench perf');
  const cmp = parsed.find((p) => p.path.join(' ') === 'bench compare');
  assert.ok(perf && cmp, cmds.map((c) => c.join(' ')).join('\n'));
  assert.equal(cmp.opts.baseline, '/runner/temp/perf/baseline.json');
  assert.equal(perf.opts.out, cmp.opts.baseline, 'compare reads the baseline perf wrote');
  const gab = steps.find((s) => s.uses?.startsWith('benchmark-action/github-action-benchmark@'))!;
  assert.equal(gab.with!.tool, 'customSmallerIsBetter');
  assert.equal(gab.with!['output-file-path'], '${{ runner.temp }}/perf/gab.json');
  assert.equal(cmp.opts.exportGab, '/runner/temp/perf/gab.json', 'the action reads the file --export-gab wrote');
  assert.equal(gab.if, 'success() || failure()', 'the numbers are recorded even when the gate fails');
  assert.equal(job.defaults.run.shell, 'bash', 'bash -eo pipefail keeps the compare exit status through tee');
});
