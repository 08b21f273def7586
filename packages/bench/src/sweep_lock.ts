// One sweep per output folder. A sweep deletes and rewrites run folders under its --out (a failed
// attempt is removed before its retry), so two sweeps on one folder destroy each other's work.
// Each sweep holds a lock file there while it runs: `.sweep.lock` for a whole sweep,
// `.sweep-<i>of<n>.lock` for shard i of n (shards of one sweep own disjoint runs and may share a
// folder). The file says who holds it (pid, host, start time); a lock whose process is gone (same
// host, pid no longer alive) is stale and is taken over with a message.

import { openSync, writeSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  shard: string | null;
}

export class SweepLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepLockedError';
  }
}

const LOCK_RE = /^\.sweep(?:-(\d+)of(\d+))?\.lock$/;

function lockName(shard: { index: number; count: number } | undefined): string {
  return shard ? `.sweep-${shard.index}of${shard.count}.lock` : '.sweep.lock';
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null;
  } catch {
    return null; // being written, or removed meanwhile: treated as held below only if it reappears
  }
}

/** Does process `pid` exist on this host? (Also used by the phase cache's locks.) */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Is `holder` a live process? Only checkable on this host; another host's lock counts as live. */
function isLive(holder: LockHolder): boolean {
  return holder.host !== hostname() || alive(holder.pid);
}

/**
 * Take the lock of `outDir` for a sweep (or one shard of it). Throws SweepLockedError naming the
 * holder when a live sweep that overlaps this one holds a lock there. Returns the release function.
 */
export function acquireSweepLock(outDir: string, shard?: { index: number; count: number }, log: (l: string) => void = console.log): () => void {
  const mine = lockName(shard);
  for (const name of readdirSync(outDir)) {
    const m = LOCK_RE.exec(name);
    if (!m) continue;
    // A whole sweep overlaps everything; a shard overlaps a whole sweep and the same shard.
    const overlaps = !shard || !m[1] || name === mine;
    if (!overlaps) continue;
    const path = join(outDir, name);
    const holder = readHolder(path);
    if (holder && !isLive(holder)) {
      log(`note: ${path} was left by a sweep that is no longer running (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}); taking it over`);
      rmSync(path, { force: true });
      continue;
    }
    const who = holder ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}${holder.shard ? `, shard ${holder.shard}` : ''}` : 'a sweep that is starting';
    throw new SweepLockedError(`${outDir} is in use by another sweep (${who}; lock file ${path}). ` +
      'Wait for it to finish or use another --out; if no such sweep runs, remove the lock file.');
  }
  const path = join(outDir, mine);
  const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), shard: shard ? `${shard.index}/${shard.count}` : null };
  let fd: number;
  try {
    fd = openSync(path, 'wx'); // fails if another sweep created it since we looked
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const h = readHolder(path);
    throw new SweepLockedError(`${outDir} is in use by another sweep (${h ? `pid ${h.pid} on ${h.host}` : 'starting now'}; lock file ${path})`);
  }
  writeSync(fd, JSON.stringify(holder) + '\n');
  closeSync(fd);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const h = readHolder(path);
    if (h && h.pid === holder.pid && h.host === holder.host) rmSync(path, { force: true });
  };
}
