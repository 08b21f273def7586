// One sweep per output folder (a lock file naming its holder; stale locks taken over; shards of
// one sweep share a folder), and a damaged record is rerun, not counted as done. The child
// command is the fake trainer (fixtures/fake-trainer.mjs), so no model trains here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planSweep, PRESETS, runSweep, parseShard, recordPath, type SweepPlan } from '../src/index.js';
import { acquireSweepLock, SweepLockedError } from '../src/sweep_lock.js';

const fake = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const plan = (): SweepPlan => planSweep(PRESETS.micro, { suites: ['freezing'] });
const sweep = (outDir: string, lines: string[] = [], shard?: string) => runSweep(plan(), {
  outDir, backend: 'cpu', childCommand: [process.execPath, fake], log: (l) => lines.push(l), shard: shard ? parseShard(shard) : null,
});
/** A pid that is certainly not running: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('a second sweep on the same folder refuses at once, naming the holder; the first is unharmed', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tb-lock-'));
  const first = sweep(out);
  await assert.rejects(sweep(out), (e: unknown) => e instanceof SweepLockedError &&
    new RegExp(`in use by another sweep \\(pid ${process.pid} on ${hostname()}, started .*lock file .*\\.sweep\\.lock`).test(e.message));
  const s = await first;
  assert.equal(s.failed.length, 0);
  assert.equal(s.done, s.total);
  assert.ok(!existsSync(join(out, '.sweep.lock')), 'the lock is released at the end');
});

test('a lock left by a process that is gone is taken over with a message', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tb-lock-'));
  const pid = deadPid();
  writeFileSync(join(out, '.sweep.lock'), JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00Z', shard: null }));
  const lines: string[] = [];
  const s = await sweep(out, lines);
  assert.equal(s.done, s.total);
  assert.ok(lines.some((l) => l.includes(`no longer running (pid ${pid} on ${hostname()}`)), lines.join('\n'));
  // Another host's lock cannot be checked: it counts as held.
  writeFileSync(join(out, '.sweep.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'x', shard: null }));
  assert.throws(() => acquireSweepLock(out), /pid 1 on elsewhere/);
});

test('shards of one sweep share a folder; a whole sweep and the same shard are refused beside them', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tb-lock-'));
  const r1 = acquireSweepLock(out, { index: 1, count: 2 }, () => {});
  const r2 = acquireSweepLock(out, { index: 2, count: 2 }, () => {});
  assert.throws(() => acquireSweepLock(out, { index: 1, count: 2 }, () => {}), /\.sweep-1of2\.lock/);
  assert.throws(() => acquireSweepLock(out, undefined, () => {}), SweepLockedError);
  r1();
  r2();
  const whole = acquireSweepLock(out, undefined, () => {});
  assert.throws(() => acquireSweepLock(out, { index: 2, count: 2 }, () => {}), /\.sweep\.lock/);
  whole();
  const [a, b] = await Promise.all([sweep(out, [], '1/2'), sweep(out, [], '2/2')]);
  assert.equal(a.failed.length + b.failed.length, 0);
  assert.equal(a.done + b.done, plan().runs.length);
  assert.deepEqual(readdirSync(out).filter((n) => n.endsWith('.lock')), []);
});

test('a damaged record is moved aside and its run done again; good records are kept', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tb-lock-'));
  const s1 = await sweep(out);
  assert.equal(s1.done, s1.total);
  const p = plan();
  const bad = recordPath(out, p.runs[0]!.runId);
  const good = recordPath(out, p.runs[1]!.runId);
  const goodBefore = readFileSync(good, 'utf8');
  writeFileSync(bad, readFileSync(bad, 'utf8').slice(0, 50)); // cut short
  const lines: string[] = [];
  const s2 = await sweep(out, lines);
  assert.equal(s2.done, 1);
  assert.equal(s2.skipped, s2.total - 1);
  assert.ok(lines.some((l) => /not JSON.*moved it to .*\.bad-\d+; the run is done again/.test(l)), lines.join('\n'));
  assert.ok(readdirSync(join(bad, '..')).some((n) => /\.bad-\d+$/.test(n)));
  assert.doesNotThrow(() => JSON.parse(readFileSync(bad, 'utf8')));
  assert.equal(readFileSync(good, 'utf8'), goodBefore);
});
