// The phase cache: a phase (pretrain, finetune, probe) whose resolved config and inputs equal
// those of a phase already run in the same output directory is reused, not run again. Today's
// suites share phases (masking/rate15_random's continued pretraining and fine-tune are
// domain/b_continued's; sensitivity/ft_lr_3e-4 is domain/a_base_finetune's fine-tune), and a
// phase is deterministic (same seed, same bits), so running it twice only costs time.
//
// The key is the sha256 of a canonical JSON of everything that decides the phase's output:
//   - the trainer command and its fully resolved config (the trainer's own loader fills every
//     default), minus outputDir (where it is written does not change what is written);
//   - the init checkpoint: the content hash of its model files (MODEL_FILES), or, for a
//     phase that starts from another phase's output, that phase's cache key (a chain of keys);
//   - the content of every input the config names: a shipped dataset by the sha256 of its
//     datasets/manifest.json entry, a file (data.train, tokenizer.vocab, ...) by its sha256;
//   - the backend (the float64 CPU reference and the GPU kernels do not give the same bits).
// Not in the key: run id, output paths, directory names, timestamps, and the git revision. An
// output directory holds one sweep: its records are already reused on resume whatever the
// revision, so a revision in the key would add no safety there, while a commit between a killed
// sweep and its resume (docs, tests) would rerun every phase. The entry records the producer's
// revision, and the runner says when it differs. Change PHASE_KEY_VERSION when the trainer's output
// changes meaning.
//
// Layout: <out>/cache/phases/<key>/ is a copy of the producing phase's run directory (hard links,
// so no second copy of the bytes; a copy where links fail) plus cache-entry.json (key, its
// material, producer, sha256 and size of every file). An entry is built under a temp name and
// renamed into place, so a reader sees all of it or nothing; it is checked file by file before
// use, and a damaged one is set aside with a message (the phase then runs again). Only a phase
// that exited 0 with its metrics.json is published. <key>.lock (created exclusively) says that a
// process is running the phase now: another sweep on the same folder (a shard) waits for the entry
// instead of running the phase too. The lock only saves work: correctness rests on the atomic
// rename (two publishers: the first wins, the second's copy is dropped).

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { DATASETS } from '@tunebench/datasets';
import { INIT_BASE, INIT_PRETRAINED, INIT_TRAINED, resolvePhaseConfig, type PhasePlan } from './plan.js';
import { GLOSS_PAIRS } from './edge/config.js';
import { alive } from './sweep_lock.js';

// 2: a checkpoint used as init is identified by its model files (MODEL_FILES), not every file.
export const PHASE_KEY_VERSION = 2;
export const ENTRY_FILE = 'cache-entry.json';

/** What identifies the phase's starting weights. */
export type InitIdentity = { none: true } | { checkpointSha256: string } | { phaseKey: string };

/** Everything the key is the hash of (stored in the entry, so two entries can be diffed). */
export interface PhaseKeyMaterial {
  version: number;
  command: PhasePlan['command'];
  /** The trainer's resolved config without outputDir; model.init is replaced by `init`. */
  config: Record<string, unknown>;
  init: InitIdentity;
  /** Config key → content hash of the input it names (dataset manifest entry or file). */
  inputs: Record<string, string>;
  backend: string;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`canonicalJson: ${value} has no JSON form`);
  return JSON.stringify(value);
}

export function phaseKey(m: PhaseKeyMaterial): string {
  return createHash('sha256').update(canonicalJson(m)).digest('hex');
}

export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Content hash of a checkpoint directory: every file's relative path and sha256. */
export function checkpointSha256(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new Error(`phase cache: the init checkpoint ${abs} is not a directory`);
  const hash = createHash('sha256');
  for (const rel of filesUnder(abs)) hash.update(`${rel}\0${fileSha256(join(abs, rel))}\n`);
  return hash.digest('hex');
}

// The files a checkpoint used as model.init is read from (readCheckpoint, hf_import): weights,
// config, vocabulary and a Hugging Face directory's tokenizer files. Not its README, metrics,
// logs, trainer state or optimizer moments: editing a base model's README, or the optimizer state a
// sweep's own pretraining leaves beside its weights, does not change what a phase starting from it
// computes, so it must not change the phase's key.
export const MODEL_FILES = ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'tokenizer.json'] as const;

/** Content hash of the model a checkpoint directory holds (MODEL_FILES present, by name and sha256). */
export function modelSha256(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new Error(`phase cache: the init checkpoint ${abs} is not a directory`);
  if (!existsSync(join(abs, 'model.safetensors'))) throw new Error(`phase cache: the init checkpoint ${abs} has no model.safetensors`);
  const hash = createHash('sha256');
  for (const name of MODEL_FILES) if (existsSync(join(abs, name))) hash.update(`${name}\0${fileSha256(join(abs, name))}\n`);
  return hash.digest('hex');
}

/** sha256 of a dataset's entry in the manifest (the same hash records carry as manifestHash). */
export type ManifestHash = (dataset: string) => string;

// Config keys that name an input (a shipped dataset, or a file relative to the repository root).
// A new trainer key that reads a file must be added here (phase_cache.test.ts checks the schema).
export const INPUT_KEYS = ['data.dataset', 'data.train', 'data.dev', 'data.test', 'data.general', 'tokenizer.vocab', 'masking.gazetteer', 'ewc.data', 'tokenizer.extendCorpus'] as const;

function at(o: Record<string, unknown>, key: string): unknown {
  let v: unknown = o;
  for (const p of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

/** Content hashes of the inputs a resolved config names (inline values, e.g. a gazetteer list, are in the config itself). */
export function inputHashes(config: Record<string, unknown>, root: string, manifestHash: ManifestHash): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of INPUT_KEYS) {
    const v = at(config, key);
    if (typeof v !== 'string' || !v) continue;
    if (DATASETS[v]) out[key] = `dataset:${manifestHash(v)}`;
    else {
      const path = resolve(root, v);
      if (!existsSync(path)) throw new Error(`phase cache: ${key} names ${v}, which is neither a shipped dataset nor a file (${path})`);
      out[key] = statSync(path).isDirectory() ? `dir:${checkpointSha256(path)}` : `file:${fileSha256(path)}`;
    }
  }
  return out;
}

/** What the phase starts from: its plan's model.init, with the sweep's base model and the key of the run's pretrain phase. */
export function initIdentity(init: unknown, ctx: { baseSha256: () => string; pretrainKey: string | null; trainKey?: string | null }): InitIdentity {
  if (init === null || init === undefined) return { none: true };
  if (init === INIT_BASE) return { checkpointSha256: ctx.baseSha256() };
  if (init === INIT_PRETRAINED) {
    if (!ctx.pretrainKey) throw new Error('phase cache: the phase starts from the pretrain phase, which has no key');
    return { phaseKey: ctx.pretrainKey };
  }
  if (init === INIT_TRAINED) {
    if (!ctx.trainKey) throw new Error('phase cache: the phase starts from the train phase, which has no key');
    return { phaseKey: ctx.trainKey };
  }
  if (typeof init === 'string') return { checkpointSha256: modelSha256(init) };
  throw new Error(`phase cache: model.init ${JSON.stringify(init)} is not a path`);
}

/** The key material of a planned phase (its config resolved by the trainer's loader). */
export function phaseKeyMaterial(phase: PhasePlan, init: InitIdentity, backend: string, ctx: { root: string; manifestHash: ManifestHash }): PhaseKeyMaterial {
  const config = resolvePhaseConfig(phase);
  delete config.outputDir;
  delete config.$schema;
  (config.model as Record<string, unknown>).init = null; // identified by `init`
  const inputs = inputHashes(config, ctx.root, ctx.manifestHash);
  if (phase.command === 'edge') Object.assign(inputs, edgeInputHashes(config, phase.config, init, ctx.manifestHash));
  return { version: PHASE_KEY_VERSION, command: phase.command, config, init, inputs, backend };
}

/**
 * An edge phase's inputs: each task's dataset (the gloss pairs are mined from wn_topic) and the
 * teacher's init, which is the run's base (identified by `init`) or a checkpoint directory.
 */
function edgeInputHashes(config: Record<string, unknown>, planned: Record<string, unknown>, init: InitIdentity, manifestHash: ManifestHash): Record<string, string> {
  const out: Record<string, string> = {};
  const tasks = (config.multi as { tasks: { name: string; dataset: string }[] }).tasks;
  for (const t of tasks) out[`multi.tasks.${t.name}`] = `dataset:${manifestHash(t.dataset === GLOSS_PAIRS ? 'wn_topic' : t.dataset)}`;
  const distill = config.distill as { teacher: { model: { init: string | null } } } | null;
  if (distill) {
    const planInit = (planned.distill as { teacher: { model: { init: string } } }).teacher.model.init;
    out['distill.teacher.model.init'] = planInit === INIT_BASE ? `same-as-init:${JSON.stringify(init)}` : `model:${modelSha256(planInit)}`;
    distill.teacher.model.init = null;
  }
  return out;
}

// ---------------------------------------------------------------- the store

export interface CacheEntry {
  key: string;
  material: PhaseKeyMaterial;
  producer: { runId: string; phase: string; gitRevision: string | null };
  createdAt: string;
  files: Record<string, { size: number; sha256: string }>;
}

export interface CacheHit {
  dir: string;
  entry: CacheEntry;
}

export class PhaseCache {
  readonly root: string;
  constructor(outDir: string, private readonly log: (line: string) => void) {
    this.root = join(outDir, 'cache', 'phases');
  }

  dirOf(key: string): string {
    return join(this.root, key);
  }

  /** The entry of `key` when it exists and every file is intact; a damaged entry is set aside (with a message) and missed. */
  lookup(key: string): CacheHit | null {
    const dir = this.dirOf(key);
    if (!existsSync(dir)) return null;
    const problem = checkEntry(dir, key);
    if (typeof problem !== 'string') return { dir, entry: problem };
    this.log(`    phase cache: entry ${relative(dirname(dirname(this.root)), dir)} is damaged (${problem}); ignoring it and running the phase again`);
    // Move it aside (atomic; a concurrent reader either sees it whole or not at all), then delete.
    const aside = join(this.root, `.damaged-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      renameSync(dir, aside);
      rmSync(aside, { recursive: true, force: true });
    } catch {
      // another process moved it first
    }
    return null;
  }

  /**
   * Run a phase through the cache: its key is looked up first (waiting while another process runs
   * the same phase), and a phase `run` finished is published under its key; `run` throws for a
   * phase that failed, which is then never published. `resumable`: the run's own finished phase
   * directory exists (`run` reuses it; it is published if a killed sweep did not get to it).
   */
  async run<T extends { dir: string }>(material: PhaseKeyMaterial, producer: CacheEntry['producer'], o: { resumable: boolean; staleAfterS: number }, run: () => Promise<T>): Promise<{ key: string; ran: T } | { key: string; hit: CacheHit }> {
    const key = phaseKey(material);
    if (o.resumable) {
      const ran = await run();
      if (!existsSync(this.dirOf(key))) this.publish(key, material, ran.dir, producer);
      return { key, ran };
    }
    const claim = await this.claim(key, o.staleAfterS);
    if ('entry' in claim) return { key, hit: claim };
    try {
      const ran = await run();
      this.publish(key, material, ran.dir, producer);
      return { key, ran };
    } finally {
      claim.release();
    }
  }

  /**
   * Publish a finished phase's run directory under `key` (hard links into a temp directory, the
   * entry file, one rename). An existing entry wins: then nothing changes. Returns the entry's directory.
   */
  publish(key: string, material: PhaseKeyMaterial, phaseDir: string, producer: CacheEntry['producer']): string {
    const dir = this.dirOf(key);
    if (existsSync(dir)) return dir;
    mkdirSync(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const files: CacheEntry['files'] = {};
      for (const rel of filesUnder(phaseDir)) {
        const src = join(phaseDir, rel);
        const dst = join(tmp, rel);
        mkdirSync(dirname(dst), { recursive: true });
        try {
          linkSync(src, dst);
        } catch {
          copyFileSync(src, dst); // another file system, or links not allowed
        }
        files[rel] = { size: statSync(dst).size, sha256: fileSha256(dst) };
      }
      if (!files['metrics.json'] || !files['config.json']) throw new Error(`${phaseDir} has no metrics.json or config.json`);
      const entry: CacheEntry = { key, material, producer, createdAt: new Date().toISOString(), files };
      writeFileSync(join(tmp, ENTRY_FILE), JSON.stringify(entry, null, 2) + '\n');
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTEMPTY / EEXIST: another process published the same key between our check and rename.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') this.log(`    phase cache: could not publish ${key.slice(0, 12)}… (${(e as Error).message}); the phase result stands, later identical phases will run again`);
    }
    return dir;
  }

  /**
   * Wait until this process may run the phase of `key`: returns a hit when the entry exists (or
   * appears while another process holds the lock), or a release function when this process now
   * holds the lock. A lock whose holder is gone (same host, process dead; or older than
   * `staleAfterS`) is taken over.
   */
  async claim(key: string, staleAfterS: number, pollMs = 1000): Promise<CacheHit | { release: () => void }> {
    mkdirSync(this.root, { recursive: true });
    const lockPath = join(this.root, `${key}.lock`);
    let said = false;
    for (;;) {
      const hit = this.lookup(key);
      if (hit) return hit;
      const release = tryLock(lockPath);
      if (release) {
        // Published between our lookup and the lock?
        const again = this.lookup(key);
        if (again) {
          release();
          return again;
        }
        return { release };
      }
      const why = staleLock(lockPath, staleAfterS);
      if (why) {
        this.log(`    phase cache: taking over the lock of ${key.slice(0, 12)}… (${why})`);
        rmSync(lockPath, { force: true });
        continue;
      }
      if (!said) {
        this.log(`    phase cache: another process is running this phase (${lockHolder(lockPath)}); waiting for its result`);
        said = true;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/** The entry when `dir` holds a complete, intact entry of `key`; otherwise what is wrong. */
function checkEntry(dir: string, key: string): CacheEntry | string {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(readFileSync(join(dir, ENTRY_FILE), 'utf8')) as CacheEntry;
  } catch (e) {
    return `${ENTRY_FILE}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  if (!entry || entry.key !== key || !entry.files || typeof entry.files !== 'object' || !entry.producer) return `${ENTRY_FILE} is not an entry of this key`;
  if (!entry.files['metrics.json'] || !entry.files['config.json']) return 'no metrics.json or config.json';
  for (const [rel, f] of Object.entries(entry.files)) {
    const p = join(dir, rel);
    if (!existsSync(p)) return `${rel} is missing`;
    if (statSync(p).size !== f.size) return `${rel} has ${statSync(p).size} bytes, not ${f.size}`;
    if (fileSha256(p) !== f.sha256) return `${rel} does not match its sha256`;
  }
  return entry;
}

function tryLock(path: string): (() => void) | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw e;
  }
  writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
  closeSync(fd);
  return () => {
    try {
      unlinkSync(path);
    } catch {
      // taken over as stale by another process: nothing to release
    }
  };
}

function readLock(path: string): { pid?: number; host?: string; at?: string } | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function lockHolder(path: string): string {
  const l = readLock(path);
  return l ? `pid ${l.pid} on ${l.host} since ${l.at}` : 'holder unknown';
}

/** Why the lock at `path` is stale, or null while its holder may still be working. */
function staleLock(path: string, staleAfterS: number): string | null {
  let ageS: number;
  try {
    ageS = (Date.now() - statSync(path).mtimeMs) / 1000;
  } catch {
    return null; // released meanwhile: the next round takes it
  }
  const l = readLock(path);
  if (!l) return ageS > 10 ? 'unreadable lock file' : null; // being written right now, or garbage
  if (l.host === hostname() && typeof l.pid === 'number' && !alive(l.pid)) return `process ${l.pid} is gone`;
  if (ageS > staleAfterS) return `held for ${ageS.toFixed(0)} s, longer than a phase may run`;
  return null;
}
