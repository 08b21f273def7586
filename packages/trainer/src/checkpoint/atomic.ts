// Atomic writes: a reader (or a crash) never sees a half-written file or checkpoint directory.
// Files: write to a temp name in the same directory, fsync, rename over the target.
// Directories: build the whole directory under a temp name, then rename it into place; an old
// directory of the same name is moved aside first and removed only after the new one is in place.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;
function tempName(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${process.pid}-${Date.now()}-${counter++}`);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path, 'tmp');
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/**
 * Create directory `path` atomically: `fill(tmpDir)` writes its contents into a fresh temp
 * directory beside it, which then replaces `path` (an existing `path` is replaced only after the
 * new contents are complete).
 */
export function writeDirAtomic(path: string, fill: (tmpDir: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path, 'tmpdir');
  mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(path)) {
    const old = tempName(path, 'old');
    renameSync(path, old);
    renameSync(tmp, path);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, path);
  }
}

/**
 * Repair what a kill in the middle of writeDirAtomic(path) left beside `path`: half-written temp
 * directories are removed; when the kill fell between moving the old directory aside and moving
 * the new one in, the old one is put back (it is complete). Returns one line per action.
 */
export function recoverDirAtomic(path: string): string[] {
  const parent = dirname(path);
  if (!existsSync(parent)) return [];
  const prefix = `.${basename(path)}.`;
  const said: string[] = [];
  const leftovers = readdirSync(parent).filter((n) => n.startsWith(prefix)).sort();
  const olds = leftovers.filter((n) => n.startsWith(`${prefix}old-`));
  for (const n of leftovers.filter((n) => n.startsWith(`${prefix}tmpdir-`))) {
    rmSync(join(parent, n), { recursive: true, force: true });
    said.push(`removed ${join(parent, n)}, a partial copy of ${path} left by an interrupted write`);
  }
  if (!existsSync(path) && olds.length > 0) {
    const keep = olds.pop()!;
    renameSync(join(parent, keep), path);
    said.push(`restored ${path} from ${join(parent, keep)} (a write of it was interrupted)`);
  }
  for (const n of olds) {
    rmSync(join(parent, n), { recursive: true, force: true });
    said.push(`removed ${join(parent, n)}, a replaced copy of ${path}`);
  }
  return said;
}
