// The run directory every command writes:
//   config.json      the resolved config (defaults filled in), seeds included
//   log.txt          the progress lines, appended as the run goes
//   metrics.json     the result record (final metrics with main_score, history, throughput, ...)
//   checkpoint/      the latest resumable checkpoint (model + optimizer + trainer state)
// A directory that already holds a run is not overwritten unless the run resumes it, and a resumed
// run must have the same config (apart from how long it runs) — otherwise the result would mix two runs.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { recoverDirAtomic, writeFileAtomic } from '../checkpoint/atomic.js';
import { ConfigError } from './load.js';

export const RUN_CONFIG_FILE = 'config.json';
export const RUN_LOG_FILE = 'log.txt';
export const RUN_METRICS_FILE = 'metrics.json';
export const RUN_CHECKPOINT_DIR = 'checkpoint';

/** Keys a resumed run may change (they only say how long to run or how often to report). */
// outputDir: a run folder moved elsewhere resumes where it now is (the move is logged).
const RESUME_MAY_DIFFER = new Set(['outputDir', 'training.epochs', 'training.maxSteps', 'training.logEvery', 'training.evalEvery', 'training.saveEvery']);

function flatten(o: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(o));
  return out;
}

/** Keys whose values differ between two configs (a → b), as 'key: a → b'. */
export function configDiff(a: unknown, b: unknown, ignore: Set<string> = new Set()): string[] {
  const fa = flatten(a), fb = flatten(b);
  const out: string[] = [];
  for (const k of new Set([...fa.keys(), ...fb.keys()])) {
    if (ignore.has(k)) continue;
    if (fa.get(k) !== fb.get(k)) out.push(`${k}: ${fa.get(k) ?? '(absent)'} → ${fb.get(k) ?? '(absent)'}`);
  }
  return out.sort();
}

export function gitRevision(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export class RunDir {
  readonly dir: string;
  readonly checkpointDir: string;

  /**
   * Open (create) a run directory for `config`. With resume = false the directory must not hold a
   * run already; with resume = true it must, with the same config.
   */
  constructor(dir: string, config: unknown, opts: { resume: boolean; command: string; defaults?: unknown }) {
    this.dir = dir;
    this.checkpointDir = join(dir, RUN_CHECKPOINT_DIR);
    RunDir.check(dir, config, opts);
    const movedFrom = opts.resume ? RunDir.savedOutputDir(dir) : null;
    mkdirSync(dir, { recursive: true });
    const notes = recoverDirAtomic(this.checkpointDir);
    if (movedFrom !== null && movedFrom !== (config as { outputDir?: unknown }).outputDir) {
      notes.push(`this run was started in ${movedFrom}; it has moved to ${dir} and continues here`);
    }
    writeFileAtomic(join(dir, RUN_CONFIG_FILE), JSON.stringify({ command: opts.command, config, gitRevision: gitRevision(), node: process.version }, null, 2) + '\n');
    for (const n of notes) {
      this.log(n);
      console.error(`[tunebench] ${n}`);
    }
  }

  /**
   * Throws unless `dir` can take this run: a fresh run needs a directory without a run in it; a
   * resumed one needs a run of the same command and config there. Writes nothing.
   */
  static check(dir: string, config: unknown, opts: { resume: boolean; command: string; defaults?: unknown }): void {
    const cfgPath = join(dir, RUN_CONFIG_FILE);
    const exists = existsSync(cfgPath);
    if (opts.resume) {
      if (!exists) throw new ConfigError(`--resume: ${dir} holds no run (no ${RUN_CONFIG_FILE}); start it without --resume`);
      const saved = JSON.parse(readFileSync(cfgPath, 'utf8')) as { command?: string; config?: unknown };
      if (saved.command !== opts.command) throw new ConfigError(`--resume: ${dir} is a '${saved.command}' run, not '${opts.command}'`);
      // Keys added to the schema after the run started are absent from its saved config: fine
      // as long as the resumed run uses their defaults (the behaviour the run had).
      const defaults = opts.defaults ? flatten(opts.defaults) : new Map<string, string>();
      const savedFlat = flatten(saved.config);
      const newFlat = flatten(config);
      const ignore = new Set(RESUME_MAY_DIFFER);
      for (const [k, v] of newFlat) if (!savedFlat.has(k) && defaults.get(k) === v) ignore.add(k);
      const diff = configDiff(saved.config, config, ignore);
      if (diff.length) throw new ConfigError(`--resume: the config differs from the one ${dir} was started with:\n  ${diff.join('\n  ')}`);
    } else if (exists) {
      throw new ConfigError(`${dir} already holds a run; use --resume to continue it, or choose another output directory`);
    }
  }

  /** The outputDir a run directory's saved config names (null when none is recorded). */
  private static savedOutputDir(dir: string): string | null {
    const saved = JSON.parse(readFileSync(join(dir, RUN_CONFIG_FILE), 'utf8')) as { config?: { outputDir?: unknown } };
    return typeof saved.config?.outputDir === 'string' ? saved.config.outputDir : null;
  }

  log(line: string): void {
    appendFileSync(join(this.dir, RUN_LOG_FILE), line.endsWith('\n') ? line : line + '\n');
  }

  writeMetrics(record: unknown): void {
    writeFileAtomic(join(this.dir, RUN_METRICS_FILE), JSON.stringify(record, null, 2) + '\n');
  }
}
