// The sweep runner. Each phase of each run is its own child process (`tunebench pretrain |
// finetune --config <file>`), so a native abort in Dawn or an out-of-memory costs one run, never
// the sweep: a failed run is recorded (failures/<runId>.json with the tail of its stderr),
// retried once, and the sweep moves on. A run whose record exists is skipped, and a phase whose
// metrics.json exists is reused, so a killed sweep continues where it stopped. `shard i/n` runs
// every n-th run (by position in the plan), for splitting a sweep across machines; `merge`
// (merge.ts) joins the records afterwards. A shard writes everything it owns into its own staging
// folder `shards/<i>of<n>/` (records, failures, run directories, sweep.json, its base model), so
// shards sharing one --out folder (a cluster's shared disk) never write the same file; only the
// phase cache (cache/phases/, with its own locks) and the lock files are shared. A phase equal to
// one already run in the output directory (same resolved config and inputs) is taken from the
// phase cache (phase_cache.ts); shards share the sweep's own base model through it.
//
// Layout of the output directory:
//   records/<suite>/<dataset>/<strategy>/seed<N>.json    one validated RunRecord per finished run
//   records/<same path>.pred.jsonl.gz                    its per-example test predictions (evidence.ts)
//   gold/<dataset>.<split>.<sha>.jsonl.gz                the gold labels of a test set, once (evidence.ts)
//   failures/<same path>.json                            the last failure of a run that has no record
//   runs/<runId>/<phase>/                                the trainer's run directories
//   cache/phases/<key>/                                  finished phases by content key (phase_cache.ts)
//   base/                                                the sweep's own base model (micro preset)
//   shards/<i>of<n>/                                     a shard's staging folder: records/, failures/,
//                                                        runs/, base/, sweep.json (merge joins them)

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { INIT_BASE, INIT_PRETRAINED, INIT_TRAINED, applyOverrides, manifestHash, datasetDirManifestHash, datasetFilesOf, repoRoot, skippedName, type PhasePlan, type RunPlan, type SweepPlan } from './plan.js';
import { acquireSweepLock } from './sweep_lock.js';
import { PhaseCache, initIdentity, modelSha256, phaseKeyMaterial } from './phase_cache.js';
import { SUITES } from './suites/index.js';
import { writeEvidence } from './evidence.js';
import { writeProjection } from './report/projection.js';
import { describeDrift, recordDrift } from './plan_drift.js';
import { SweepEta, formatSeconds } from './sweep_eta.js';
import { RECORD_SCHEMA_VERSION, STRATEGY_BENCHMARK, checkRecord, readRecord, type CostlyDetails, type CurvePoint, type PhaseResult, type RunRecord } from './record.js';

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--shard ${s}: expected i/n, e.g. 1/4`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new Error(`--shard ${s}: need 1 ≤ i ≤ n`);
  return { index, count };
}

export function shardRuns<T>(runs: T[], shard: Shard | null | undefined): T[] {
  if (!shard) return runs;
  return runs.filter((_, i) => i % shard.count === shard.index - 1);
}

export interface RunnerOptions {
  outDir: string;
  backend: 'gpu' | 'cpu';
  /** Base model checkpoint directory (presets that use the shipped model). */
  baseDir?: string | null;
  shard?: Shard | null;
  /** Attempts after the first failure (default 1). */
  retries?: number;
  /** Child command prefix; the phase arguments (`<command> --config <file> --backend <b>`) follow.
   * Default: this node + bin/tunebench.mjs. Tests inject a fake trainer here. */
  childCommand?: string[];
  env?: NodeJS.ProcessEnv;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
  /** Kill a phase after this many seconds (default: none). */
  phaseTimeoutS?: number;
  /** Reuse phases equal to one already run in outDir (default true; `--no-cache` sets false). */
  cache?: boolean;
}

export interface SweepSummary {
  total: number;
  skipped: number;
  done: number;
  failed: { runId: string; error: string }[];
  records: string[];
  /** Where the records were written: the output folder, or the shard's staging folder in it. */
  stageDir: string;
  wallTimeS: number;
  /** Phases of runs (the base model aside) by where their result came from. */
  phases: { ran: number; cached: number; resumed: number };
}

const DEFAULT_BIN = join(repoRoot, 'bin', 'tunebench.mjs');

/** The staging folder of shard i/n inside a shared output folder. */
export function shardDir(outDir: string, shard: Shard): string {
  return join(outDir, 'shards', `${shard.index}of${shard.count}`);
}

export function recordPath(outDir: string, runId: string): string {
  return join(outDir, 'records', `${runId}.json`);
}
export function failurePath(outDir: string, runId: string): string {
  return join(outDir, 'failures', `${runId}.json`);
}

/** A temp name beside `path` that no other process, on this host or another sharing the disk, uses. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

function gitRevision(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function fileSha256(path: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return null;
  }
}

class PhaseFailure extends Error {
  stdoutTail = '';
  constructor(message: string, readonly stderrTail: string, readonly exitCode: number | null, readonly signal: string | null) {
    super(message);
  }
}

interface PhaseOutcome {
  dir: string;
  metrics: Record<string, unknown>;
  config: Record<string, unknown>;
  /** ran: a child process ran it now; resumed: its metrics.json was there; cached: another run's phase. */
  source: 'ran' | 'resumed' | 'cached';
  cacheKey?: string;
  cachedFrom?: { runId: string; phase: string; gitRevision: string | null };
}

function readOutcome(dir: string, source: PhaseOutcome['source']): PhaseOutcome {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { config?: Record<string, unknown> };
  return { dir, metrics: JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')), config: config.config ?? {}, source };
}

function tail(text: string, lines = 40): string {
  return text.split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
}

/** The config a phase's child process gets in `dir`: the planned config with its output folder and init paths filled in. */
function phaseChildConfig(phase: PhasePlan, dir: string, init: PhaseInits): Record<string, unknown> {
  let cfg = applyOverrides(phase.config, { outputDir: dir });
  const initKey = (cfg.model as { init?: unknown } | undefined)?.init;
  if (initKey === INIT_BASE) cfg = applyOverrides(cfg, { 'model.init': init.base });
  if (initKey === INIT_PRETRAINED) cfg = applyOverrides(cfg, { 'model.init': init.pretrained });
  if (initKey === INIT_TRAINED) cfg = applyOverrides(cfg, { 'model.init': init.trained ?? null });
  // An edge phase's teacher may start from the base too (its vocabulary, random weights of its shape).
  if ((cfg.distill as { teacher?: { model?: { init?: unknown } } } | null | undefined)?.teacher?.model?.init === INIT_BASE) cfg = applyOverrides(cfg, { 'distill.teacher.model.init': init.base });
  return cfg;
}

/** Beside a finished phase's outputs: the config its child process was given (phaseChildConfig). */
export const PHASE_PLAN_FILE = 'phase_plan.json';

/**
 * A finished phase directory is reused only when it was made from this very config: a changed plan
 * (another step budget, dataset, seed, init) must not pick up the old phase's results — it once
 * did, silently (few-shot fine-tunes of 9 steps reused after the plan said 200). A directory
 * without the file (older sweeps) is run again.
 */
function finishedFromSameConfig(dir: string, cfg: Record<string, unknown>): boolean {
  const plan = join(dir, PHASE_PLAN_FILE);
  if (!existsSync(join(dir, 'metrics.json')) || !existsSync(join(dir, 'config.json')) || !existsSync(plan)) return false;
  try {
    return readFileSync(plan, 'utf8') === configText(cfg);
  } catch {
    return false;
  }
}

/** How a child's config is written (the file it reads, kept beside the finished phase as PHASE_PLAN_FILE). */
const configText = (cfg: Record<string, unknown>) => JSON.stringify(cfg, null, 2) + '\n';

/** Runs one trainer phase as a child process in `dir` (reused when it finished there from the same config). */
/** Where a phase's init placeholders point: the base model, the run's pretraining and training checkpoints. */
interface PhaseInits {
  base: string | null;
  pretrained: string | null;
  trained?: string | null;
}

async function runPhase(phase: PhasePlan, dir: string, init: PhaseInits, opts: RunnerOptions, onLine: (l: string) => void): Promise<PhaseOutcome> {
  const metricsFile = join(dir, 'metrics.json');
  const configFile = join(dir, 'config.json');
  const cfg = phaseChildConfig(phase, dir, init);
  if (finishedFromSameConfig(dir, cfg)) return readOutcome(dir, 'resumed');
  if (existsSync(metricsFile)) (opts.log ?? console.log)(`    note: ${dir} holds a finished ${phase.name} phase made from another config (or before configs were kept beside it); running it again`);
  // A phase killed half-way, or made from another config: start it again from nothing (a partial directory would be refused).
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const cfgFile = `${dir}.config.json`;
  writeFileSync(cfgFile, configText(cfg));
  const [exe, ...pre] = opts.childCommand ?? [process.execPath, DEFAULT_BIN];
  const args = [...pre, phase.command, '--config', cfgFile, '--backend', opts.backend];
  const stdoutPath = `${dir}.stdout.log`;
  const stderrPath = `${dir}.stderr.log`;
  const out = createWriteStream(stdoutPath);
  const err = createWriteStream(stderrPath);
  let stderrText = '';
  let stdoutText = '';
  let timedOut = false;
  const code = await new Promise<{ code: number | null; signal: string | null }>((resolveP, rejectP) => {
    const child = spawn(exe!, args, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let timer: NodeJS.Timeout | null = null;
    if (opts.phaseTimeoutS) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.phaseTimeoutS * 1000);
    }
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      out.write(d);
      stdoutText = (stdoutText + d.toString('utf8')).slice(-20000);
      buf += d.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) onLine(l);
    });
    child.stderr.on('data', (d: Buffer) => {
      err.write(d);
      stderrText = (stderrText + d.toString('utf8')).slice(-20000);
    });
    child.on('error', (e) => rejectP(new PhaseFailure(`cannot start ${exe}: ${e.message}`, '', null, null)));
    child.on('close', (c, s) => {
      if (timer) clearTimeout(timer);
      resolveP({ code: c, signal: s });
    });
  });
  await Promise.all([new Promise((r) => out.end(r)), new Promise((r) => err.end(r))]);
  if (code.code !== 0) {
    const why = timedOut ? `timed out after ${opts.phaseTimeoutS} s (killed)` : code.signal ? `killed by ${code.signal}` : `exit code ${code.code}`;
    const last = tail(stderrText, 1) || '(no stderr)';
    const f = new PhaseFailure(`${phase.name} phase (${phase.command}) failed: ${why}: ${last}`, tail(stderrText), code.code, code.signal);
    f.stdoutTail = tail(stdoutText, 20);
    throw f;
  }
  if (!existsSync(metricsFile)) throw new PhaseFailure(`${phase.name} phase exited 0 but wrote no ${metricsFile}`, tail(stderrText), 0, null);
  renameSync(cfgFile, join(dir, PHASE_PLAN_FILE));
  return { dir, metrics: JSON.parse(readFileSync(metricsFile, 'utf8')), config: JSON.parse(readFileSync(configFile, 'utf8')).config ?? cfg, source: 'ran' };
}

interface CacheContext {
  cache: PhaseCache;
  runId: string;
  gitRevision: string | null;
  baseSha256: () => string;
  pretrainKey: string | null;
  trainKey: string | null;
}

/** runPhase through the phase cache (phase_cache.ts): an identical phase already run is reused. */
async function runPhaseCached(phase: PhasePlan, dir: string, init: PhaseInits, ctx: CacheContext, opts: RunnerOptions, onLine: (l: string) => void): Promise<PhaseOutcome> {
  const initId = initIdentity((phase.config.model as { init?: unknown } | undefined)?.init, { baseSha256: ctx.baseSha256, pretrainKey: ctx.pretrainKey, trainKey: ctx.trainKey });
  const material = phaseKeyMaterial(phase, initId, opts.backend, { root: repoRoot, manifestHash });
  const resumable = finishedFromSameConfig(dir, phaseChildConfig(phase, dir, init));
  const staleAfterS = (opts.phaseTimeoutS ?? 6 * 3600) + 60;
  const r = await ctx.cache.run(material, { runId: ctx.runId, phase: phase.name, gitRevision: ctx.gitRevision }, { resumable, staleAfterS }, () => runPhase(phase, dir, init, opts, onLine));
  if ('hit' in r) return { ...readOutcome(r.hit.dir, 'cached'), cacheKey: r.key, cachedFrom: r.hit.entry.producer };
  return { ...r.ran, cacheKey: r.key };
}

const n = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const int = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x) : 0);

function phaseResult(p: PhasePlan, o: PhaseOutcome): PhaseResult {
  const m = o.metrics;
  const score = (m.test as { main_score?: number } | null)?.main_score ?? (m.dev as { main_score?: number } | null)?.main_score ?? (m.main_score as number | null);
  return {
    name: p.name,
    command: p.command,
    dataset: p.dataset,
    steps: int(m.steps),
    tokens: int(m.tokens),
    wallTimeS: n(m.wallTimeS) ?? 0,
    main_score: n(score),
    trainableParams: int(m.trainableParams),
    totalParams: int(m.totalParams),
    config: o.config,
    ...(o.cacheKey ? { cacheKey: o.cacheKey } : {}),
    ...(o.cachedFrom ? { cachedFrom: o.cachedFrom } : {}),
  };
}

const MAIN_METRIC: Record<string, string> = { seq_cls: 'accuracy', token_cls: 'strict_f1', mlm: 'accuracy', embedding: 'main_score' };

/** Turn the phases' metrics.json into the run's record (validated). */
export function buildRecord(run: RunPlan, plan: SweepPlan, outcomes: Map<string, PhaseOutcome>, ctx: { gitRevision: string | null; baseModel: RunRecord['baseModel'] }): RunRecord {
  const phases = run.phases.map((p) => phaseResult(p, outcomes.get(p.name)!));
  const ft = outcomes.get('finetune')!.metrics;
  // An edge row takes the scores of its deployment variant (fp32, int8, ...) from the phase's variants.
  const variants = ft.variants as Record<string, Record<string, number>> | undefined;
  if (run.deploy && !variants?.[run.deploy]) throw new Error(`${run.runId}: the edge phase scored no deployment variant '${run.deploy}' (has: ${Object.keys(variants ?? {}).join(', ') || 'none'})`);
  const test = run.deploy ? variants![run.deploy]! : (ft.test as Record<string, number> | null);
  const dev = ft.dev as Record<string, number> | null;
  const scored = test ?? dev;
  if (!scored || typeof scored.main_score !== 'number') throw new Error(`${run.runId}: the finetune phase reported no main_score (metrics.json has neither test nor dev scores)`);
  // A suite may name the metric that is main_score (suite files: mainMetric).
  const main = run.mainMetric ? scored[run.mainMetric] : scored.main_score;
  if (typeof main !== 'number') throw new Error(`${run.runId}: the suite's mainMetric '${run.mainMetric}' is not among the finetune phase's test metrics (${Object.keys(scored).join(', ')})`);
  const metrics: RunRecord['metrics'] = { main_score: main };
  for (const [k, v] of Object.entries(scored)) if (k !== 'main_score' && k !== 'count' && typeof v === 'number') metrics[k] = v;
  if (dev && test) metrics.dev_main_score = n(dev.main_score);
  const maj = (ft.majorityBaseline as { test?: number; dev?: number } | null) ?? null;
  if (maj) metrics.majority_baseline = n(test ? maj.test : maj.dev);
  // The held-out MLM scores: the pretraining phase's at its end, or an mlm_eval phase's (the same
  // rows and masks, measured on the base without training).
  const pre = outcomes.get('pretrain') ?? outcomes.get('mlm_eval');
  type Held = { main_score?: number; loss?: number; unk_share?: number } | null | undefined;
  const heldDev = pre?.metrics.dev as Held;
  if (pre) metrics.mlm_accuracy = n(heldDev?.main_score);
  if (SUITES[run.suite]?.languageMetrics) {
    // Vocabulary suites: how the run's vocabulary fits the scored text, and the held-out MLM loss of its pretraining.
    const fert = ft.tokenizer as { unkRate?: number; tokensPerCharacter?: number } | null | undefined;
    metrics.unk_rate = n(fert?.unkRate);
    metrics.tokens_per_char = n(fert?.tokensPerCharacter);
    metrics.mlm_loss = pre ? n(heldDev?.loss) : null;
    metrics.mlm_loss_general = pre ? n((pre.metrics.devGeneral as Held)?.loss) : null;
    // [UNK] is never masked, so mlm_loss covers only the rest of the held-out text: the share it leaves out.
    metrics.mlm_unk_share = pre ? n(heldDev?.unk_share) : null;
  }
  const probe = outcomes.get('probe');
  if (probe) metrics.probe_wn_topic = n((probe.metrics.test as { main_score?: number } | null)?.main_score ?? (probe.metrics.dev as { main_score?: number } | null)?.main_score);
  // Compute of the method: every phase except the forgetting probe and mlm_eval (measurements, not training).
  const method = phases.filter((p) => p.name !== 'probe' && p.name !== 'mlm_eval');
  const tokens = method.reduce((s, p) => s + p.tokens, 0);
  const wall = method.reduce((s, p) => s + p.wallTimeS, 0);
  // A scored-only finetune phase (`score`) has no history of its own: the curve is its train phase's.
  const ftHistory = (ft.history as Record<string, number>[] | undefined) ?? [];
  const history = ftHistory.length ? ftHistory : ((outcomes.get('train')?.metrics.history as Record<string, number>[] | undefined) ?? []);
  const curve: CurvePoint[] = [];
  for (const h of history) {
    const pt: CurvePoint = { step: int(h.step) };
    if (n(h.loss) !== null) pt.loss = h.loss;
    if (n(h.dev_main_score) !== null) pt.dev_main_score = h.dev_main_score;
    if (pt.loss !== undefined || pt.dev_main_score !== undefined) curve.push(pt);
  }
  const ftPhase = phases.find((p) => p.name === 'finetune')!;
  const rec: RunRecord = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    benchmark: STRATEGY_BENCHMARK,
    runId: run.runId,
    suite: run.suite,
    preset: plan.preset.name,
    strategy: run.strategy,
    params: run.params,
    dataset: run.dataset,
    manifestHash: run.datasetDir ? datasetDirManifestHash(run.datasetDir) : manifestHash(run.dataset),
    split: test ? 'test' : 'dev',
    seed: run.seed,
    // A suite file's main metric first; else a costly-class run names its own (expected_cost,
    // lower is better); else the task's.
    mainMetric: run.mainMetric ?? (typeof ft.mainMetric === 'string' ? ft.mainMetric : undefined) ?? MAIN_METRIC[String(ft.task)] ?? 'main_score',
    metrics,
    trainableParams: ftPhase.trainableParams,
    totalParams: Math.max(1, ftPhase.totalParams),
    tokens,
    wallTimeS: wall,
    tokensPerSecond: tokens / Math.max(1e-9, wall),
    adapter: String(ft.device ?? 'unknown'),
    gitRevision: ctx.gitRevision,
    baseModel: ctx.baseModel,
    phases,
    curve,
    createdAt: new Date().toISOString(),
  };
  // Bring your own data / suite: the files the dataset was read from (sha256 each, dev carving),
  // the suite file and its hash, the ranking direction.
  if (run.datasetDir) rec.datasetFiles = datasetFilesOf(run.datasetDir);
  // A dataset scored from its own base (suite.datasetBases): which one, by content.
  if (run.datasetBase) rec.datasetBase = { source: run.datasetBase.startsWith(repoRoot) ? run.datasetBase.slice(repoRoot.length + 1) : run.datasetBase, sha256: fileSha256(join(run.datasetBase, 'model.safetensors')) };
  if (run.suiteFile) rec.suiteFile = run.suiteFile;
  if (run.lowerIsBetter) rec.lowerIsBetter = true;
  if (ft.costly) rec.costly = ft.costly as CostlyDetails;
  return checkRecord(rec, `record of ${run.runId}`);
}

/** Shows the trainer's latest progress line at most every 20 s, so a long phase is visibly alive. */
function heartbeat(log: (l: string) => void, everyMs = 20000): (line: string) => void {
  let last = Date.now();
  return (line) => {
    if (!/^step \d+\/\d+/.test(line)) return;
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    log(`      ${line}`);
  };
}

/** Run (or resume) a sweep, holding the lock of its output folder (sweep_lock.ts). Never throws
 * for a failed run: failures are in the summary. */
export async function runSweep(plan: SweepPlan, opts: RunnerOptions): Promise<SweepSummary> {
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const release = acquireSweepLock(outDir, opts.shard ?? undefined, opts.log);
  try {
    return await runSweepLocked(plan, opts);
  } finally {
    release();
  }
}

/** A record that exists and reads back as a valid record of this version: the run is done. A
 * corrupt one (cut short, edited, another schema) is moved aside with a message and rerun. */
function hasGoodRecord(path: string, log: (l: string) => void): boolean {
  if (!existsSync(path)) return false;
  try {
    readRecord(path);
    return true;
  } catch (e) {
    const aside = `${path}.bad-${Date.now()}`;
    renameSync(path, aside);
    log(`note: ${(e as Error).message.split('\n')[0]}; moved it to ${aside}; the run is done again`);
    return false;
  }
}

/**
 * Kept records made from another plan than today's (plan_drift.ts): said, not rerun. A plan change
 * may be benign for old records (a clearer default) or not (a step budget); the user decides, and a
 * record deleted is rerun by the next resume.
 */
function warnDrift(kept: RunPlan[], pathOf: (r: RunPlan) => string, log: (l: string) => void): void {
  const drifted: { path: string; what: string }[] = [];
  for (const r of kept) {
    const path = pathOf(r);
    let items;
    try {
      items = recordDrift(readRecord(path), r);
    } catch {
      continue; // an unreadable record is reported where it is read
    }
    if (items.length) drifted.push({ path, what: `${r.runId}: ${describeDrift(items)}` });
  }
  if (!drifted.length) return;
  log(`warning: ${drifted.length} of the ${kept.length} kept records were made from another plan than today's (recorded → planned):`);
  for (const d of drifted.slice(0, 5)) log(`  ${d.what}`);
  if (drifted.length > 5) log(`  … and ${drifted.length - 5} more`);
  log(`  they are kept and count as done; to rerun them under today's plan, delete them and resume (\`tunebench bench status\` lists them), e.g. rm ${drifted[0]!.path}`);
}

async function runSweepLocked(plan: SweepPlan, opts: RunnerOptions): Promise<SweepSummary> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const outDir = resolve(opts.outDir);
  const retries = opts.retries ?? 1;
  const t0 = Date.now();
  const runs = shardRuns(plan.runs, opts.shard);
  const git = gitRevision();
  // Where this sweep writes: the folder itself, or a shard's own staging folder in it.
  const stage = opts.shard ? shardDir(outDir, opts.shard) : outDir;
  const summary: SweepSummary = { total: runs.length, skipped: 0, done: 0, failed: [], records: [], stageDir: stage, wallTimeS: 0, phases: { ran: 0, cached: 0, resumed: 0 } };
  mkdirSync(stage, { recursive: true });
  writeJsonAtomic(join(stage, 'sweep.json'), {
    preset: plan.preset.name, backend: opts.backend, shard: opts.shard ?? null, runs: runs.map((r) => r.runId), skippedVariants: plan.skipped, gitRevision: git, startedAt: new Date().toISOString(),
  });
  for (const s of plan.skipped) log(`note: ${skippedName(s)} is left out: ${s.reason.split('\n').join(' ')}`);

  // A shard's run is done when its staging folder or the merged records/ (an earlier merge) hold it.
  const doneAt = (r: RunPlan) => (opts.shard && existsSync(recordPath(outDir, r.runId)) && hasGoodRecord(recordPath(outDir, r.runId), log) ? recordPath(outDir, r.runId) : recordPath(stage, r.runId));
  const todo = runs.filter((r) => !hasGoodRecord(doneAt(r), log));
  summary.skipped = runs.length - todo.length;
  if (summary.skipped) log(`${summary.skipped} of ${runs.length} runs already have a record (skipped)`);
  for (const r of runs) if (!todo.includes(r)) summary.records.push(doneAt(r));
  // Records made from another base model must not be mixed with new ones in one leaderboard.
  if (summary.records.length && !plan.basePhase && opts.baseDir) {
    const sha = fileSha256(join(resolve(opts.baseDir), 'model.safetensors'));
    for (const path of summary.records) {
      const old = readRecord(path);
      if (old.preset !== plan.preset.name) throw new Error(`${outDir} holds ${old.preset}-preset records (${path}); use another --out for the ${plan.preset.name} preset`);
      if (old.baseModel?.sha256 && sha && old.baseModel.sha256 !== sha) {
        throw new Error(`${outDir} holds records made from another base model (${old.baseModel.source}, sha256 ${old.baseModel.sha256.slice(0, 12)}…; ${path}); the base now is ${opts.baseDir} (sha256 ${sha.slice(0, 12)}…). Use another --out, or remove the old records.`);
      }
    }
  }
  warnDrift(runs.filter((r) => !todo.includes(r)), doneAt, log);
  if (!todo.length) {
    summary.wallTimeS = (Date.now() - t0) / 1000;
    return summary;
  }

  // ---- the base model
  let baseDir: string | null = opts.baseDir ? resolve(opts.baseDir) : null;
  let baseModel: RunRecord['baseModel'] = null;
  const cache = opts.cache === false ? null : new PhaseCache(outDir, log);
  if (plan.basePhase) {
    const dir = join(stage, 'base');
    log(`base model: pretraining the preset's own base model (${plan.basePhase.dataset}) in ${dir}`);
    let outcome: PhaseOutcome | null = null;
    for (let attempt = 0; attempt <= retries && !outcome; attempt++) {
      try {
        const pretrainBase = () => runPhase(plan.basePhase!, dir, { base: null, pretrained: null }, opts, heartbeat(log));
        if (opts.shard && cache) {
          // Shards on one folder pretrain the base model once: the first takes the phase cache's
          // lock and runs it, the others wait for its entry (the same key: same config, no init).
          const material = phaseKeyMaterial(plan.basePhase, { none: true }, opts.backend, { root: repoRoot, manifestHash });
          const resumable = finishedFromSameConfig(dir, phaseChildConfig(plan.basePhase, dir, { base: null, pretrained: null }));
          const r = await cache.run(material, { runId: 'base', phase: 'base', gitRevision: git }, { resumable, staleAfterS: (opts.phaseTimeoutS ?? 6 * 3600) + 60 }, pretrainBase);
          outcome = 'hit' in r ? readOutcome(r.hit.dir, 'cached') : r.ran;
          if ('hit' in r) log(`base model: taken from the phase cache (${r.hit.dir})`);
        } else {
          outcome = await pretrainBase();
        }
      } catch (e) {
        log(`base model: ${(e as Error).message}${attempt < retries ? ' (retrying)' : ''}`);
      }
    }
    if (!outcome) throw new Error(`the base model could not be pretrained; see ${dir}.stderr.log`);
    baseDir = join(outcome.dir, 'checkpoint');
    baseModel = { source: `pretrained by the sweep (${plan.preset.name} preset) in ${baseDir}`, sha256: fileSha256(join(baseDir, 'model.safetensors')) };
  } else {
    if (!baseDir) throw new Error('no base model directory');
    baseModel = { source: baseDir.startsWith(repoRoot) ? baseDir.slice(repoRoot.length + 1) : baseDir, sha256: fileSha256(join(baseDir, 'model.safetensors')) };
  }

  let baseSha: string | null = null;
  const baseSha256 = () => (baseSha ??= modelSha256(baseDir!));
  const eta = new SweepEta();
  for (const path of summary.records) {
    try {
      const r = readRecord(path);
      eta.add(r, r.wallTimeS);
    } catch {
      // a record the leaderboard will complain about; it only makes the ETA less informed
    }
  }
  for (let i = 0; i < todo.length; i++) {
    const run = todo[i]!;
    const label = `[${i + 1}/${todo.length}] ${run.runId}`;
    const left = eta.estimate(todo.slice(i));
    log(`${label}${left === null ? '' : ` (ETA ${formatSeconds(left)})`}`);
    const tRun = Date.now();
    let lastError: PhaseFailure | Error | null = null;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const outcomes = new Map<string, PhaseOutcome>();
      try {
        for (const phase of run.phases) {
          const dir = join(stage, 'runs', run.runId, phase.name);
          const tp = Date.now();
          const ckpt = (name: string) => (outcomes.get(name) ? join(outcomes.get(name)!.dir, 'checkpoint') : null);
          const init = { base: baseDir, pretrained: ckpt('pretrain'), trained: ckpt('train') };
          const o = cache
            ? await runPhaseCached(phase, dir, init, { cache, runId: run.runId, gitRevision: git, baseSha256, pretrainKey: outcomes.get('pretrain')?.cacheKey ?? null, trainKey: outcomes.get('train')?.cacheKey ?? null }, opts, heartbeat(log))
            : await runPhase(phase, dir, init, opts, heartbeat(log));
          outcomes.set(phase.name, o);
          summary.phases[o.source]++;
          const r = phaseResult(phase, o);
          const how = o.cachedFrom ? `from the cache (${o.cachedFrom.runId} ${o.cachedFrom.phase}${o.cachedFrom.gitRevision !== git ? `, made at revision ${o.cachedFrom.gitRevision?.slice(0, 10) ?? 'unknown'}` : ''})` : `${formatSeconds((Date.now() - tp) / 1000)}`;
          log(`    ${phase.name.padEnd(8)} ${phase.dataset.padEnd(10)} ${r.steps} steps, ${r.tokens} tokens, ${how}: main_score ${r.main_score === null ? '-' : r.main_score.toFixed(4)}`);
        }
        const rec = buildRecord(run, plan, outcomes, { gitRevision: git, baseModel });
        // Per-example test predictions beside the record (evidence.ts), written before the record,
        // which marks the run done. A phase without them (older cache entry, MLM) has none.
        const ft = outcomes.get('finetune')!;
        const labels = Array.isArray(ft.metrics.labels) ? (ft.metrics.labels as string[]) : [];
        const preds = rec.split === 'test' ? writeEvidence(stage, rec, ft.dir, labels) : null;
        if (preds) rec.predictions = preds;
        // The report's few-shot projection figures show the first seed: keep that one's beside the record.
        const firstSeed = Math.min(...plan.runs.filter((r) => r.suite === run.suite).map((r) => r.seed));
        const proj = run.seed === firstSeed ? writeProjection(stage, run.runId, ft.dir) : null;
        if (proj) rec.projection = proj;
        writeJsonAtomic(recordPath(stage, run.runId), checkRecord(rec, `record of ${run.runId}`));
        rmSync(failurePath(stage, run.runId), { force: true });
        summary.records.push(recordPath(stage, run.runId));
        summary.done++;
        lastError = null;
        break;
      } catch (e) {
        lastError = e as Error;
        const f = e instanceof PhaseFailure ? e : null;
        writeJsonAtomic(failurePath(stage, run.runId), {
          runId: run.runId, attempt: attempt + 1, error: (e as Error).message, exitCode: f?.exitCode ?? null, signal: f?.signal ?? null,
          stderrTail: f?.stderrTail ?? String((e as Error).stack ?? ''), stdoutTail: f?.stdoutTail ?? '', at: new Date().toISOString(),
        });
        log(`    FAILED (attempt ${attempt + 1} of ${retries + 1}): ${(e as Error).message}`);
        // Retry from scratch: drop the phases of this attempt (a crash may have left them inconsistent).
        rmSync(join(stage, 'runs', run.runId), { recursive: true, force: true });
      }
    }
    if (lastError) summary.failed.push({ runId: run.runId, error: lastError.message });
    eta.add(run, (Date.now() - tRun) / 1000);
  }
  summary.wallTimeS = (Date.now() - t0) / 1000;
  return summary;
}
