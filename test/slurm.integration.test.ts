// A real Slurm runs a sharded sweep: this test installs Debian's Slurm (slurmctld, slurmd,
// slurm-client) and munge when they are missing, starts a single-node cluster of its own (its own
// munged socket, ports, state and logs in a temp folder; slurm.conf written here), submits the
// files `tunebench bench plan --emit slurm --shards 3` wrote for the micro sweep of one suite (a
// 3-task job array and a merge job queued --dependency=afterok on it), waits, and checks that
// the merged leaderboard equals an unsharded run of the same sweep, timings aside. Every daemon
// it started is stopped (by the pid it wrote) whatever happens. Where Slurm cannot start (not
// root, no apt-get, the Debian mirror unreachable) the test is skipped with the reason;
// TUNEBENCH_NO_SLURM=1 skips it on a machine where root should not install packages.
// How a single-node Slurm starts on this machine kind: ../shared/notes/slurm-local.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecords, recordResults } from '@tunebench/bench';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = join(repo, 'bin', 'tunebench.mjs');
const SLURM_PACKAGES = ['slurmctld', 'slurmd', 'slurm-client', 'munge'];
// The micro preset of one suite, one seed: 3 runs, one per array task.
const SWEEP = ['freezing', '--preset', 'micro', '--seeds', '0'];

function sh(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...o.env }, timeout: o.timeout ?? 60_000 });
}
const have = (exe: string) => sh('sh', ['-c', `command -v ${exe}`]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Installs Slurm and munge if missing; returns why they cannot be had, or null. */
function installSlurm(): string | null {
  if (process.env.TUNEBENCH_NO_SLURM === '1') return 'TUNEBENCH_NO_SLURM=1 (no Slurm installed or started on this machine)';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (starting slurmctld, slurmd and munged needs root)';
  if (['slurmctld', 'slurmd', 'sbatch', 'munged'].every((e) => have(e) || existsSync(`/usr/sbin/${e}`))) return null;
  if (!have('apt-get')) return 'Slurm is not installed and there is no apt-get to install it';
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  // The lock timeout: another apt-get on the machine (setup scripts) finishes first.
  const install = () => sh('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', ...SLURM_PACKAGES], { env, timeout: 600_000 });
  let r = install();
  if (r.status !== 0) {
    // A fresh machine has no package lists yet.
    const u = sh('apt-get', ['update', '-q', '-o', 'DPkg::Lock::Timeout=300'], { env, timeout: 300_000 });
    if (u.status !== 0) return `apt-get update failed (is the Debian mirror reachable?): ${u.stderr.trim().split('\n').slice(-2).join(' ')}`;
    r = install();
  }
  if (r.status !== 0) return `apt-get install ${SLURM_PACKAGES.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
  return null;
}

/** One single-node Slurm cluster in `dir`: its own munged socket, ports and files. */
class LocalSlurm {
  readonly conf: string;
  readonly env: NodeJS.ProcessEnv;
  private pidFiles: string[] = [];
  constructor(readonly dir: string) {
    this.conf = join(dir, 'slurm.conf');
    this.env = { SLURM_CONF: this.conf };
  }

  /** Starts munged, slurmctld and slurmd; returns why it could not, or null. */
  async start(): Promise<string | null> {
    const d = this.dir;
    chmodSync(d, 0o755);
    // munged runs as the munge user and wants its socket folder reachable by all, not writable.
    const m = join(d, 'munge');
    mkdirSync(m);
    const id = sh('id', ['-u', 'munge']), gid = sh('id', ['-g', 'munge']);
    if (id.status !== 0) return 'no munge user (the munge package did not install one)';
    chownSync(m, Number(id.stdout), Number(gid.stdout));
    chmodSync(m, 0o755);
    const socket = join(m, 'munge.sock');
    this.pidFiles.push(join(m, 'munged.pid'));
    const mu = sh('su', ['-s', '/bin/sh', 'munge', '-c', `/usr/sbin/munged --socket=${socket} --pid-file=${m}/munged.pid --log-file=${m}/munged.log --seed-file=${m}/munged.seed`]);
    if (mu.status !== 0) return `munged did not start: ${mu.stderr.trim()}`;
    const check = sh('sh', ['-c', `munge -S ${socket} -n | unmunge -S ${socket}`]);
    if (!/Success/.test(check.stdout)) return `munge does not work: ${check.stdout}${check.stderr}`;

    const host = hostname().split('.')[0]!;
    for (const sub of ['state', 'spool', 'log']) mkdirSync(join(d, sub));
    // Ports of our own (not 6817/6818), so a cluster already on the machine is not disturbed.
    const port = 20000 + (process.pid % 20000);
    writeFileSync(this.conf, [
      'ClusterName=tunebench-test',
      // Loopback addresses: no name resolution needed on a fresh machine.
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'MpiDefault=none',
      'SchedulerParameters=bf_interval=5',
      `StateSaveLocation=${d}/state`,
      `SlurmdSpoolDir=${d}/spool`,
      `SlurmctldPidFile=${d}/slurmctld.pid`,
      `SlurmdPidFile=${d}/slurmd.pid`,
      `SlurmctldLogFile=${d}/log/slurmctld.log`,
      `SlurmdLogFile=${d}/log/slurmd.log`,
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus().length} RealMemory=2000 State=UNKNOWN`,
      'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'));
    // Under nice 19: the jobs inherit it and leave the CPU to whatever else runs here.
    for (const daemon of ['slurmctld', 'slurmd']) {
      this.pidFiles.push(join(d, `${daemon}.pid`));
      const r = sh('nice', ['-n', '19', `/usr/sbin/${daemon}`, '-f', this.conf], { env: this.env });
      if (r.status !== 0) return `${daemon} did not start: ${r.stderr.trim()} (log: ${this.log(daemon)})`;
    }
    for (let i = 0; i < 60; i++) {
      const s = sh('sinfo', ['-h', '-o', '%t'], { env: this.env });
      if (s.status === 0 && /^idle/m.test(s.stdout)) return null;
      await sleep(1000);
    }
    return `the node did not become idle within 60 s (sinfo: ${sh('sinfo', [], { env: this.env }).stdout.trim()}; slurmd log: ${this.log('slurmd')})`;
  }

  log(daemon: string): string {
    const f = join(this.dir, 'log', `${daemon}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-15).join('\n') : '(none)';
  }

  /** Cancels our jobs, then stops slurmd, slurmctld and munged by their pid files. */
  async stop(): Promise<void> {
    if (existsSync(this.conf)) sh('scancel', ['--full', '--partition=test'], { env: this.env, timeout: 20_000 });
    for (const f of [...this.pidFiles].reverse()) {
      if (!existsSync(f)) continue;
      const pid = Number(readFileSync(f, 'utf8').trim());
      if (!(pid > 1)) continue;
      try { process.kill(pid, 'SIGTERM'); } catch { continue; }
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(200);
      if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** A small CSV reader (quoted fields with commas, doubled quotes), enough for our leaderboards. */
function readCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; } else if (c !== '\r') field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}
const TIMING_COLUMNS = ['wall_time_s', 'tokens_per_s'];
const leaderboard = (out: string) => readCsv(readFileSync(join(out, 'leaderboard', 'wide.csv'), 'utf8'))
  .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING_COLUMNS.includes(k))));
const results = (out: string) => loadRecords(join(out, 'records')).map(recordResults).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

const reason = installSlurm();

test('a real Slurm runs the micro sweep as a 3-task job array plus an afterok merge job; the merged leaderboard equals an unsharded run', { skip: reason ?? false, timeout: 15 * 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-slurm-'));
  chmodSync(dir, 0o755); // munged (the munge user) reaches its socket folder inside
  const slurm = new LocalSlurm(join(dir, 'cluster'));
  mkdirSync(slurm.dir);
  try {
    const why = await slurm.start();
    if (why) {
      // Installed but cannot run here (e.g. a sandbox without the kernel features): say so.
      t.skip(`Slurm does not start here: ${why}`);
      return;
    }
    const sharded = join(dir, 'sharded'), whole = join(dir, 'whole'), jobs = join(dir, 'jobs');
    const emit = sh(process.execPath, [bin, 'bench', 'plan', ...SWEEP, '--emit', 'slurm', '--shards', '3', '--cpus', '1', '--out', sharded, '--dir', jobs], { timeout: 120_000 });
    assert.equal(emit.status, 0, emit.stderr);
    // sbatch hands its environment to the jobs: this node first on their PATH.
    const submit = sh(join(jobs, 'submit.sh'), [], { env: { ...slurm.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
    assert.equal(submit.status, 0, `${submit.stdout}${submit.stderr}\n${slurm.log('slurmctld')}`);
    const [, arrayId, mergeId] = /array job (\d+) \(3 tasks\), merge job (\d+)/.exec(submit.stdout) ?? [];
    assert.ok(arrayId && mergeId, submit.stdout);
    const queued = sh('squeue', ['-h', '-r', '-o', '%i %j %E'], { env: slurm.env });
    assert.match(queued.stdout, new RegExp(`^${mergeId} tunebench-micro-merge (afterok|\\(null\\))`, 'm'));

    // The unsharded sweep meanwhile (same command line, no --shard), outside Slurm.
    const ref = spawnSync('nice', ['-n', '19', process.execPath, bin, 'bench', 'run', ...SWEEP, '--out', whole], { encoding: 'utf8', timeout: 12 * 60_000 });
    assert.equal(ref.status, 0, `${ref.stdout}\n${ref.stderr}`);

    // Wait for the array and the merge to leave the queue.
    const deadline = Date.now() + 12 * 60_000;
    while (Date.now() < deadline) {
      const q = sh('squeue', ['-h', '-j', `${arrayId},${mergeId}`, '-o', '%i %T %r'], { env: slurm.env });
      if (q.status === 0 && !q.stdout.trim()) break;
      if (/DependencyNeverSatisfied/.test(q.stdout)) break; // a shard failed: the merge never runs
      await sleep(3000);
    }
    const logs = join(sharded, 'slurm-logs');
    const logText = () => (existsSync(logs) ? readdirSync(logs).map((f) => `--- ${f}\n${readFileSync(join(logs, f), 'utf8').split('\n').slice(-20).join('\n')}`).join('\n') : '(no job logs)');
    // Three array tasks ran (one log each) and the merge ran after them.
    const names = existsSync(logs) ? readdirSync(logs).sort() : [];
    assert.deepEqual(names, [0, 1, 2].map((k) => `tunebench-micro-${arrayId}_${k}.out`).concat(`tunebench-micro-merge-${mergeId}.out`).sort(), logText());
    assert.ok(existsSync(join(sharded, 'leaderboard', 'wide.csv')), `no merged leaderboard\n${logText()}`);
    for (const k of [1, 2, 3]) assert.equal(loadRecords(join(sharded, 'shards', `${k}of3`, 'records')).length, 1, `shard ${k} staged its one run`);
    assert.match(readFileSync(join(logs, `tunebench-micro-merge-${mergeId}.out`), 'utf8'), /merge: 3 records copied, 0 already present/);

    assert.deepEqual(results(sharded), results(whole), 'the same records, timings and paths aside');
    assert.deepEqual(leaderboard(sharded), leaderboard(whole), 'the same leaderboard, timings aside');
    assert.equal(leaderboard(whole).length, 3);
  } finally {
    await slurm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
