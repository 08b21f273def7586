// Atomic writes: a reader (or a crash) never sees a half-written file or checkpoint directory.
// Files: write to a temp name in the same directory, fsync, rename over the target.
// Directories: build the whole directory under a temp name, then rename it into place; an old
// directory of the same name is moved aside first and removed only after the new one is in place.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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
