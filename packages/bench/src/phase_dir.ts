// What every custom sweep phase (fewshot, edge) does first: read its JSON config file, and start
// a fresh run directory holding that config — refusing to overwrite a finished phase.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './runner.js';

/** The parsed JSON of a phase config file; a read or parse error names the file. */
export function readPhaseConfigFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Empties `dir` (a killed phase's leftovers) and writes its config.json; a finished phase (metrics.json) is refused. */
export function startPhaseDir(dir: string, command: string, config: unknown): void {
  if (existsSync(join(dir, 'metrics.json'))) throw new Error(`${dir} already holds a finished phase (metrics.json)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'config.json'), { command, config });
}
