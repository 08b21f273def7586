// ETA of a sweep. Runs of one sweep differ 100× in cost (a frozen-embeddings few-shot run takes
// seconds, an edge distillation or a full-preset fine-tune many minutes), and a sweep runs them
// suite by suite, strategy by strategy, so one mean over the runs done so far misleads: after 30
// cheap runs it promised "ETA 33 s" for 15 runs of 90 s each. Each remaining run is therefore
// estimated from the finished runs most like it: the same suite, dataset and strategy; else the
// same suite and strategy; else the same suite and strategy family (the name before the first '.',
// `setfit` for `setfit.k8`); else the same suite; else all finished runs. Records already in the
// output folder (a resumed sweep) count as finished runs with their recorded wall time.

export interface EtaRun {
  suite: string;
  dataset: string;
  strategy: string;
}

interface Mean {
  sum: number;
  n: number;
}

function keysOf(r: EtaRun): string[] {
  const family = r.strategy.split('.')[0]!;
  return [`${r.suite}\0${r.dataset}\0${r.strategy}`, `${r.suite}\0\0${r.strategy}`, `${r.suite}\0\0\0${family}`, r.suite, ''];
}

export class SweepEta {
  private readonly means = new Map<string, Mean>();

  /** A finished run took `seconds` (wall time). Non-finite or negative times are ignored. */
  add(run: EtaRun, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    for (const k of keysOf(run)) {
      const m = this.means.get(k) ?? { sum: 0, n: 0 };
      m.sum += seconds;
      m.n += 1;
      this.means.set(k, m);
    }
  }

  /** Estimated seconds of one run, or null before any run finished. */
  estimateRun(run: EtaRun): number | null {
    return this.match(run)?.seconds ?? null;
  }

  /** The estimate and what it rests on: runs of the same suite, or only runs of other suites. */
  match(run: EtaRun): { seconds: number; from: 'suite' | 'other suites' } | null {
    const keys = keysOf(run);
    for (let i = 0; i < keys.length; i++) {
      const m = this.means.get(keys[i]!);
      if (m && m.n > 0) return { seconds: m.sum / m.n, from: i < keys.length - 1 ? 'suite' : 'other suites' };
    }
    return null;
  }

  /** Estimated seconds of all these runs, or null before any run finished. */
  estimate(runs: readonly EtaRun[]): number | null {
    let total = 0;
    for (const r of runs) {
      const s = this.estimateRun(r);
      if (s === null) return null;
      total += s;
    }
    return total;
  }
}

/** 42 s, 12.5 min, 3.2 h, 2.1 days. */
export function formatSeconds(s: number): string {
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}
