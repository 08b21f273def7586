// Plan drift: a record kept on resume was made from the plan of its day. When the plan has changed
// since (a suite's step budget, a default), the record no longer measures what the sweep now asks
// for, and the leaderboard would silently mix two protocols. The runner and `bench status` compare
// each kept record's phase configs with the current plan's and say where they differ.
//
// Compared: every setting both configs have (a key the trainer added later is not drift: the
// record's run used the behaviour that key's default now names, or the key did not exist). Not
// compared: where the phase wrote (outputDir), what it started from (model.init: a path, checked
// by the base model's sha256 instead), and file paths (absolute paths name places, not content).

import { resolvePhaseConfig, type RunPlan } from './plan.js';
import type { RunRecord } from './record.js';

export interface DriftItem {
  phase: string;
  key: string;
  recorded: unknown;
  planned: unknown;
}

const IGNORED_KEYS = new Set(['outputDir', '$schema', 'model.init']);

function isPath(v: unknown): boolean {
  return typeof v === 'string' && (v.startsWith('/') || /^[A-Za-z]:[\\/]/.test(v));
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Leaves of `planned` and `recorded` that both have and that differ (arrays compared whole). */
export function configDrift(recorded: unknown, planned: unknown, prefix = ''): { key: string; recorded: unknown; planned: unknown }[] {
  if (IGNORED_KEYS.has(prefix) || prefix.endsWith('.outputDir') || prefix.endsWith('.model.init')) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(recorded) && isObj(planned)) {
    const out: { key: string; recorded: unknown; planned: unknown }[] = [];
    for (const k of Object.keys(planned).sort()) {
      if (!(k in recorded)) continue;
      out.push(...configDrift(recorded[k], planned[k], prefix ? `${prefix}.${k}` : k));
    }
    return out;
  }
  if (isPath(recorded) && isPath(planned)) return [];
  return sameValue(recorded, planned) ? [] : [{ key: prefix, recorded, planned }];
}

/** Where a record's phases differ from the phases the current plan would run for the same run id. */
export function recordDrift(rec: RunRecord, run: RunPlan): DriftItem[] {
  const out: DriftItem[] = [];
  const planned = new Map<string, RunPlan['phases'][number]>(run.phases.map((p) => [p.name, p]));
  for (const ph of rec.phases) {
    const p = planned.get(ph.name);
    if (!p) {
      out.push({ phase: ph.name, key: '(phase)', recorded: 'present', planned: 'absent' });
      continue;
    }
    for (const d of configDrift(ph.config, resolvePhaseConfig(p))) out.push({ phase: ph.name, ...d });
  }
  for (const p of run.phases) if (!rec.phases.some((ph) => ph.name === p.name)) out.push({ phase: p.name, key: '(phase)', recorded: 'absent', planned: 'present' });
  return out;
}

/** One line naming the first differences, e.g. "finetune training.maxSteps 9 → 200". */
export function describeDrift(items: DriftItem[], max = 3): string {
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const head = items.slice(0, max).map((d) => `${d.phase} ${d.key} ${show(d.recorded)} → ${show(d.planned)}`).join('; ');
  return items.length > max ? `${head}; and ${items.length - max} more` : head;
}
