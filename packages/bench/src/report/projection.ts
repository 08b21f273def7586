// Q133 made visible: the 2-D PCA projection of a few-shot run's test embeddings, coloured by label,
// before and after SetFit's contrastive step (the phase's projection.json, fewshot/phase.ts), with
// the separation numbers of its record. One pair of scatter plots per (dataset, strategy) of the
// first seed, for the strategies that train the encoder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../record.js';
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

/** HTML of the projection figures of `outDir`'s fewshot runs ('' when there are none). */
export function projectionSection(outDir: string, records: RunRecord[], maxRuns = 8): string {
  const seed = Math.min(...records.map((r) => r.seed));
  const figs: string[] = [];
  for (const r of records) {
    if (r.suite !== 'fewshot' || r.seed !== seed || figs.length >= maxRuns) continue;
    const file = join(outDir, 'runs', r.runId, 'finetune', 'projection.json');
    if (!existsSync(file)) continue;
    const p = JSON.parse(readFileSync(file, 'utf8')) as Projection;
    const m = r.metrics;
    const num = (k: string) => (typeof m[k] === 'number' ? (m[k] as number).toFixed(3) : '–');
    figs.push(`<h3><code>${esc(r.dataset)}</code> / <code>${esc(r.strategy)}</code> (seed ${r.seed})</h3>
<p class="meta">silhouette (cosine) ${num('separation_silhouette_before')} → ${num('separation_silhouette_after')}; leave-one-out nearest-centroid accuracy ${num('separation_centroid_acc_before')} → ${num('separation_centroid_acc_after')}</p>
<div class="plots"><figure>${scatter(p, 'before', 'test embeddings before the contrastive step')}</figure><figure>${scatter(p, 'after', 'after the contrastive step')}</figure></div>`);
  }
  if (!figs.length) return '';
  return `<section id="fewshot-projection" class="suite"><h2>Few labels: test embeddings before / after the contrastive step (PCA)</h2>\n${figs.join('\n')}\n</section>`;
}
