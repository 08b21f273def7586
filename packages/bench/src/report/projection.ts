// Q133 made visible: the 2-D PCA projection of a few-shot run's test embeddings, coloured by label,
// before and after SetFit's contrastive step (the phase's projection.json, fewshot/phase.ts), with
// the separation numbers of its record. One pair of scatter plots per (dataset, strategy) of the
// first seed, for the strategies that train the encoder. The runner keeps the phase's projection
// beside the record of the plan's first seed (writeProjection), so a report rebuilt from the
// committed records (another machine, CI) still draws it; run directories are read as a fallback.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { recordFileOf, RecordError, type RunRecord } from '../record.js';
import { sha256, writeAtomic } from '../evidence.js';
import { chart, esc, type Series } from './svg.js';

interface Projection {
  labels: string[];
  y: number[];
  before: { points: number[][]; explained: number[] };
  after: { points: number[][]; explained: number[] };
}

function scatter(p: Projection, which: 'before' | 'after', title: string): string {
  const series: Series[] = p.labels.map((name, k) => ({
    name,
    points: p[which].points.flatMap((xy, i) => (p.y[i] === k ? [{ x: xy[0]!, y: xy[1]!, label: `${name} (test row ${i + 1})` }] : [])),
  }));
  const ev = p[which].explained.map((e) => `${(100 * e).toFixed(0)} %`).join(', ');
  return chart(series, { title, xLabel: `PC 1 (variance explained: ${ev})`, yLabel: 'PC 2' });
}

export const PROJECTION_FILE = 'projection.json';

/**
 * The few-shot phase's projection.json, compressed beside the record (`<runId>.projection.json.gz`,
 * coordinates to 4 significant digits: a figure, not data to recompute from); null when the phase
 * wrote none. Its reference goes into the record.
 */
export function writeProjection(outDir: string, runId: string, phaseDir: string): RunRecord['projection'] | null {
  const src = join(phaseDir, PROJECTION_FILE);
  if (!existsSync(src)) return null;
  const round = (v: unknown): unknown => (typeof v === 'number' ? Number(v.toPrecision(4)) : Array.isArray(v) ? v.map(round) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)])) : v);
  const p = JSON.parse(readFileSync(src, 'utf8')) as Projection;
  const text = JSON.stringify({ ...p, before: round(p.before), after: round(p.after) });
  const path = join(outDir, 'records', `${runId}.projection.json.gz`);
  writeAtomic(path, gzipSync(text, { level: 9 }));
  return { file: path.slice(dirname(path).length + 1), sha256: sha256(text) };
}

/** A record's projection: its sidecar (checked against the record's hash), else its run directory's file, else null. */
export function readProjection(outDir: string, r: RunRecord): Projection | null {
  const file = recordFileOf(r);
  if (r.projection && file) {
    const path = resolve(dirname(file), r.projection.file);
    if (!existsSync(path)) throw new RecordError(`${file}: its projection file ${path} is missing`);
    const text = gunzipSync(readFileSync(path)).toString('utf8');
    if (sha256(text) !== r.projection.sha256) throw new RecordError(`${path}: sha256 of its content differs from the record's; the file was changed or belongs to another run`);
    return JSON.parse(text) as Projection;
  }
  const dir = join(outDir, 'runs', r.runId, 'finetune', PROJECTION_FILE);
  return existsSync(dir) ? (JSON.parse(readFileSync(dir, 'utf8')) as Projection) : null;
}

/** HTML of the projection figures of `outDir`'s fewshot runs ('' when there are none). */
export function projectionSection(outDir: string, records: RunRecord[], maxRuns = 8): string {
  const seed = Math.min(...records.map((r) => r.seed));
  const figs: string[] = [];
  for (const r of records) {
    if (r.suite !== 'fewshot' || r.seed !== seed || figs.length >= maxRuns) continue;
    const p = readProjection(outDir, r);
    if (!p) continue;
    const m = r.metrics;
    const num = (k: string) => (typeof m[k] === 'number' ? (m[k] as number).toFixed(3) : '–');
    figs.push(`<h3><code>${esc(r.dataset)}</code> / <code>${esc(r.strategy)}</code> (seed ${r.seed})</h3>
<p class="meta">silhouette (cosine) ${num('separation_silhouette_before')} → ${num('separation_silhouette_after')}; leave-one-out nearest-centroid accuracy ${num('separation_centroid_acc_before')} → ${num('separation_centroid_acc_after')}</p>
<div class="plots"><figure>${scatter(p, 'before', 'test embeddings before the contrastive step')}</figure><figure>${scatter(p, 'after', 'after the contrastive step')}</figure></div>`);
  }
  if (!figs.length) return '';
  return `<section id="fewshot-projection" class="suite"><h2>Few labels: test embeddings before / after the contrastive step (PCA)</h2>\n${figs.join('\n')}\n</section>`;
}
