// `tunebench bench compare --against REV`: interleaved A/B against another revision.
//
// A stored baseline was measured at another time, under another load; on a shared machine that
// drift alone moves benchmarks by ±30 %. Here REV is checked out in a git worktree (its own
// `npm ci`, cached by the lockfile's hash, so a second comparison against any revision with the
// same lockfile installs nothing), and REV's `bench perf` (A) and this checkout's (B) run
// alternately, each in its own process: A B, B A, A B, … (the order flips every pair, so a
// steady trend hurts both sides alike). Each pair gives, per benchmark, one paired difference
// d = log(ratio_B / ratio_A) (ratio: the benchmark's median over the reference kernel's median in
// the same process); drift that hits both runs of a pair cancels. The verdict comes from a
// Student-t interval of the mean d at `confidence`:
//   REGRESSION   the change exp(mean d) − 1 > threshold, the interval above 0, and the interval
//                narrower than ± threshold/3 or wholly above the threshold;
//   IMPROVEMENT  the mirror image;
//   SAME         the interval narrower than ± threshold/3, neither of the above;
//   INCONCLUSIVE the budget ran out first (never a verdict).
// Benchmarks that reached a verdict leave the set: later pairs run only the undecided ones
// (--filter), so the budget goes where it is needed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../plan.js';
import { compareCounters, type CounterChange } from './compare.js';
import { perfInProcess, ratiosOf } from './calibrate.js';
import type { PerfFile } from './record.js';
import { tInterval } from './stats.js';

export interface Revision {
  rev: string;
  sha: string;
  /** The checkout (a git worktree) with its node_modules. */
  dir: string;
}

const git = (args: string[], cwd = repoRoot) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export function cacheRoot(): string {
  return process.env.TUNEBENCH_CACHE ?? join(homedir(), '.cache', 'tunebench');
}

/** Where node_modules live in an npm-workspaces checkout: the root's and any package's own. */
function moduleDirs(root: string): string[] {
  const out = ['node_modules'];
  for (const group of ['packages', '.']) {
    const g = join(root, group);
    if (!existsSync(g)) continue;
    for (const name of readdirSync(g)) {
      const rel = group === '.' ? join(name, 'node_modules') : join(group, name, 'node_modules');
      if (rel !== 'node_modules' && existsSync(join(root, rel))) out.push(rel);
    }
  }
  return out;
}

/** Copy trees as hard links where possible (same filesystem: instant, no space), else plainly. */
function copyTree(from: string, to: string): void {
  mkdirSync(join(to, '..'), { recursive: true });
  try {
    execFileSync('cp', ['-al', from, to], { stdio: 'ignore' });
  } catch {
    rmSync(to, { recursive: true, force: true });
    execFileSync('cp', ['-a', from, to], { stdio: 'ignore' });
  }
}

/**
 * REV checked out in a worktree under the cache, with its dependencies: node_modules are copied
 * (hard links) from ~/.cache/tunebench/rev-<sha256 of package-lock.json>, which is filled by one
 * `npm ci` the first time that lockfile is seen (or from this checkout, when its lockfile is the same).
 */
export function prepareRevision(rev: string, log: (l: string) => void = console.log): Revision {
  let sha: string;
  try {
    sha = git(['rev-parse', '--verify', `${rev}^{commit}`]);
  } catch {
    throw new Error(`--against ${rev}: not a commit of the repository at ${repoRoot}`);
  }
  const root = cacheRoot();
  const dir = join(root, 'worktrees', sha);
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(join(root, 'worktrees'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    try { git(['worktree', 'prune']); } catch { /* nothing to prune */ }
    git(['worktree', 'add', '--detach', dir, sha]);
    log(`checked out ${rev} (${sha.slice(0, 12)}) in ${dir}`);
  }
  if (!existsSync(join(dir, 'node_modules'))) {
    const lock = readFileSync(join(dir, 'package-lock.json'));
    const hash = createHash('sha256').update(lock).digest('hex').slice(0, 16);
    const cache = join(root, `rev-${hash}`);
    if (!existsSync(join(cache, '.complete'))) {
      rmSync(cache, { recursive: true, force: true });
      const stage = mkdtempSync(join(root, `rev-${hash}-`));
      const own = existsSync(join(repoRoot, 'package-lock.json')) && createHash('sha256').update(readFileSync(join(repoRoot, 'package-lock.json'))).digest('hex').slice(0, 16) === hash;
      if (own && existsSync(join(repoRoot, 'node_modules'))) {
        log(`dependencies of ${rev}: the same lockfile as this checkout; caching its node_modules in ${cache}`);
        for (const m of moduleDirs(repoRoot)) copyTree(join(repoRoot, m), join(stage, m));
      } else {
        log(`dependencies of ${rev}: npm ci (lockfile ${hash}; once, then cached in ${cache})`);
        execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
        for (const m of moduleDirs(dir)) copyTree(join(dir, m), join(stage, m));
      }
      execFileSync('touch', [join(stage, '.complete')]);
      renameSync(stage, cache);
    }
    for (const m of moduleDirs(cache)) if (!existsSync(join(dir, m))) copyTree(join(cache, m), join(dir, m));
  }
  return { rev, sha, dir };
}

export type PairedVerdict = 'regression' | 'improvement' | 'same' | 'inconclusive';

export interface PairedRow {
  name: string;
  pairs: number;
  /** exp(mean of the paired log differences) − 1: B's change against A. */
  change: number;
  lo: number;
  hi: number;
  verdict: PairedVerdict;
}

/** The verdict of one benchmark from its paired log differences; null while undecided. */
export function pairedVerdict(diffs: readonly number[], threshold: number, confidence: number, minPairs: number): PairedVerdict | null {
  if (diffs.length < Math.max(2, minPairs)) return null;
  const ci = tInterval(diffs, confidence);
  const change = Math.expm1(ci.mean), lo = Math.expm1(ci.lo), hi = Math.expm1(ci.hi);
  const precise = (hi - lo) / 2 <= threshold / 3;
  if (change > threshold && lo > 0 && (precise || lo > threshold)) return 'regression';
  if (change < -threshold && hi < 0 && (precise || hi < -threshold)) return 'improvement';
  return precise ? 'same' : null;
}

export interface InterleavedOptions {
  against: Revision;
  samples: number;
  threshold: number;
  confidence: number;
  budgetMs: number;
  minPairs: number;
  maxPairs: number;
  filter?: string | null;
  /** Extra environment of the A (REV) and B (this checkout) processes. */
  envA?: NodeJS.ProcessEnv;
  envB?: NodeJS.ProcessEnv;
  log?: (l: string) => void;
}

export interface InterleavedResult {
  rows: PairedRow[];
  pairs: number;
  counters: CounterChange[];
  loadavg: number[];
  seconds: number;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function interleavedCompare(o: InterleavedOptions): InterleavedResult {
  const log = o.log ?? ((l: string) => console.log(l));
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-ab-'));
  const t0 = Date.now();
  const load = loadavg();
  const diffs = new Map<string, number[]>();
  const decided = new Map<string, PairedVerdict>();
  let counters: CounterChange[] = [];
  let filter = o.filter ?? null;
  let pairs = 0;
  try {
    while (pairs < o.maxPairs && (pairs < o.minPairs || Date.now() - t0 < o.budgetMs)) {
      const run = (side: 'A' | 'B'): PerfFile => perfInProcess(join(dir, `${side}-${pairs}.json`), {
        samples: o.samples, filter, root: side === 'A' ? o.against.dir : repoRoot, env: side === 'A' ? o.envA : o.envB,
      });
      let a: PerfFile, b: PerfFile;
      if (pairs % 2 === 0) { a = run('A'); b = run('B'); } else { b = run('B'); a = run('A'); }
      if (pairs === 0) counters = compareCounters(a, b);
      pairs++;
      const ra = ratiosOf(a), rb = ratiosOf(b);
      for (const [name, x] of rb) {
        const y = ra.get(name);
        if (y === undefined || decided.has(name)) continue;
        const d = diffs.get(name) ?? [];
        d.push(Math.log(x / y));
        diffs.set(name, d);
        const v = pairedVerdict(d, o.threshold, o.confidence, o.minPairs);
        if (v) decided.set(name, v);
      }
      const open = [...diffs.keys()].filter((n) => !decided.has(n));
      log(`pair ${pairs} (${pairs % 2 ? 'A B' : 'B A'}), ${((Date.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()[0]!.toFixed(1)}: ${decided.size} decided, ${open.length} open`);
      if (!open.length) break;
      filter = `^(${open.map(escapeRe).join('|')})$`;
    }
    const rows: PairedRow[] = [...diffs.entries()].map(([name, d]) => {
      const ci = tInterval(d, o.confidence);
      return { name, pairs: d.length, change: Math.expm1(ci.mean), lo: Math.expm1(ci.lo), hi: Math.expm1(ci.hi), verdict: decided.get(name) ?? 'inconclusive' };
    });
    return { rows, pairs, counters, loadavg: load, seconds: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function interleavedTable(r: InterleavedResult, o: { against: Revision; threshold: number; confidence: number }): string {
  const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %` : '∞');
  const head = ['benchmark', 'pairs', 'change', `${(100 * o.confidence).toFixed(0)} % interval`, 'verdict'];
  const body = r.rows.map((x) => [x.name, String(x.pairs), pct(x.change), `${pct(x.lo)} … ${pct(x.hi)}`, x.verdict.toUpperCase()]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `interleaved A/B: A = ${o.against.rev} (${o.against.sha.slice(0, 12)}), B = this checkout; ${r.pairs} pairs in ${r.seconds.toFixed(0)} s, load at start ${r.loadavg.map((x) => x.toFixed(1)).join(' ')}`,
    `change = B against A from paired log differences of the ratio to the reference; threshold ${(100 * o.threshold).toFixed(1)} %; a verdict needs the interval within ± a third of it or wholly beyond it`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}
