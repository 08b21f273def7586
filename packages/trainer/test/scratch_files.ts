// A temporary directory for a test file's inputs: write(name, text) and jsonl(name, rows) put a
// file in it and return its path (shared by the loop-feature, vocab-extension and mlm_eval tests).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export function scratchDir(prefix: string): { dir: string; write: (name: string, content: string) => string; jsonl: (name: string, rows: object[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const write = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const jsonl = (name: string, rows: object[]) => write(name, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { dir, write, jsonl };
}
