// The one static HTML report: for each (suite, dataset) the leaderboard table and four plots —
// score vs trainable parameters with the Pareto front, score vs compute (tokens processed by the
// method, pretraining included), learning curves (dev main_score and training loss by step), and
// per-seed dots with the mean and its 95 % CI — plus a score-vs-parameter curve for sweeps
// (sensitivity). Everything is inline (CSS and SVG); the file opens from disk without a server.
import type { Aggregate } from '../leaderboard.js';
import { paretoFront } from '../leaderboard.js';
import { SUITES } from '../suites/index.js';
import { chart, dotPlot, esc, PALETTE, type Series } from './svg.js';
import { COMPARISON_NOTE, fmt, groupBySuiteDataset, suiteMdd, tableRows, ONE_SEED_NOTE } from './tables.js';
import { nerTables } from './ner.js';
import { edgeParetoPlot, edgeTables } from './edge.js';

function table(rows: Aggregate[]): string {
  const t = tableRows(rows);
  const head = t.head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = t.body.map((b, i) => {
    const cells = b.map((c) => `<td>${esc(c)}</td>`).join('');
    const cls = [rows[i]!.isBaseline ? 'baseline' : '', rows[i]!.rank === 1 ? 'best' : ''].filter(Boolean).join(' ');
    return `<tr${cls ? ` class="${cls}"` : ''}>${cells}</tr>`;
  });
  return `<table class="leaderboard"><thead><tr>${head}</tr></thead><tbody>
${body.join('\n')}
</tbody></table>`;
}

/** A small table: rows = true label, columns = predicted label. */
function matrixTable(caption: string, labels: string[], m: number[][], highlight?: string): string {
  const head = labels.map((l) => `<th>${esc(l)}</th>`).join('');
  const body = labels.map((l, i) => {
    const cells = m[i]!.map((v) => `<td>${esc(String(v))}</td>`).join('');
    return `<tr${l === highlight ? ' class="costly"' : ''}><th>${esc(l)}</th>${cells}</tr>`;
  });
  return `<table class="matrix"><caption>${esc(caption)}</caption><thead><tr><th>true \\ predicted</th>${head}</tr></thead><tbody>
${body.join('\n')}
</tbody></table>`;
}

/** Costly-class sections: PR curve of the costly class and expected cost vs threshold (one line per strategy), and each strategy's confusion matrix. */
function costlyPlots(rows: Aggregate[], colorOf: (r: Aggregate) => string): { plots: string[]; matrices: string[] } {
  const withC = rows.filter((r) => r.costly);
  if (!withC.length) return { plots: [], matrices: [] };
  const cls = withC[0]!.costly!.details.costlyClass;
  const split = withC[0]!.costly!.details.split;
  const seedOf = (r: Aggregate) => `${r.strategy} (seed ${r.costly!.seed})`;
  const pr: Series[] = withC.map((r) => {
    const d = r.costly!.details;
    return {
      name: r.strategy, color: colorOf(r), line: true,
      points: d.prCurve.recall.map((x, i) => ({ x, y: d.prCurve.precision[i]!, label: `${seedOf(r)}: recall ${x.toFixed(3)}, precision ${d.prCurve.precision[i]!.toFixed(3)}` })),
    };
  });
  const cost: Series[] = withC.map((r) => {
    const d = r.costly!.details;
    return {
      name: r.strategy, color: colorOf(r), line: true,
      points: d.costCurve.threshold.map((x, i) => ({ x, y: d.costCurve.cost[i]!, label: `${seedOf(r)}: threshold ${x.toFixed(2)}, expected cost ${d.costCurve.cost[i]!.toFixed(4)}` })),
    };
  });
  const plots = [
    chart(pr, { title: `precision-recall curve of '${cls}' (${split}, one seed per strategy)`, xLabel: `recall of '${cls}'`, yLabel: `precision of '${cls}'` }),
    chart(cost, { title: `expected cost vs threshold on p('${cls}') (${split})`, xLabel: `threshold on p('${cls}')`, yLabel: 'expected cost per example' }),
  ];
  const matrices = withC.map((r) => {
    const d = r.costly!.details;
    const how = d.targetRecall === null ? 'lowest cost' : `recall ≥ ${d.targetRecall}`;
    const rule = d.decision === 'threshold' ? `threshold ${d.threshold === null ? 'never' : d.threshold.toFixed(3)} (chosen on dev, ${how})` : d.decision;
    return matrixTable(`${r.strategy} — ${split}, seed ${r.costly!.seed}, decision: ${rule}`, d.labels, d.confusion, d.costlyClass);
  });
  return { plots, matrices };
}

function sectionPlots(rows: Aggregate[], metric: string): string[] {
  const plots: string[] = [];
  // Lower-is-better main scores (expected cost): the Pareto fronts minimise the score.
  const dir = rows[0]?.higherIsBetter ?? true;
  // One colour per strategy in every plot of the section.
  const colorOf = (r: Aggregate) => PALETTE[rows.indexOf(r) % PALETTE.length];
  const byStrategy = (f: (r: Aggregate) => number): Series[] => rows.map((r) => ({
    name: r.strategy,
    color: colorOf(r),
    points: [{
      x: f(r), y: r.mean, lo: r.ciLo ?? undefined, hi: r.ciHi ?? undefined,
      label: `${r.strategy}: ${r.mean.toFixed(4)} at ${f(r)}`,
    }],
  }));
  const front = paretoFront(rows, (r) => r.trainableParams, (r) => r.mean, dir).map((r) => ({ x: r.trainableParams, y: r.mean }));
  plots.push(chart(byStrategy((r) => r.trainableParams), {
    title: `${metric} vs trainable parameters (Pareto front dashed)`, xLabel: 'trainable parameters', yLabel: metric, xLog: true, front,
  }));
  const cfront = paretoFront(rows, (r) => r.tokens, (r) => r.mean, dir).map((r) => ({ x: r.tokens, y: r.mean }));
  plots.push(chart(byStrategy((r) => r.tokens), {
    title: `${metric} vs compute (training tokens, all phases)`, xLabel: 'tokens processed', yLabel: metric, xLog: true, front: cfront,
  }));
  // Learning curves: one line per strategy through the curve points that carry the value.
  const curve = (key: 'dev_main_score' | 'loss', what: string): Series[] => rows
    .filter((r) => r.curve.some((p) => p[key] !== undefined))
    .map((r) => ({
      name: r.strategy,
      color: colorOf(r),
      line: true,
      points: r.curve.filter((p) => p[key] !== undefined)
        .map((p) => ({ x: p.step, y: p[key]!, label: `${r.strategy} step ${p.step}: ${what} ${p[key]!.toFixed(4)}` })),
    }));
  const dev = curve('dev_main_score', 'dev');
  const xLabel = 'optimizer step';
  if (dev.length) plots.push(chart(dev, { title: 'learning curves: dev main_score (mean over seeds)', xLabel, yLabel: `dev ${metric}` }));
  const loss = curve('loss', 'loss');
  if (loss.length) plots.push(chart(loss, { title: 'learning curves: training loss (mean over seeds)', xLabel, yLabel: 'training loss' }));
  // Domain adaptation: the score on the task vs on the general probe (forgetting), and vs the
  // masked-token accuracy of the pretraining phase (masking), when the records carry them.
  const byMetric = [
    ['probe_wn_topic', 'wn_topic accuracy after pretraining (forgetting probe)'],
    ['mlm_accuracy', 'masked-token accuracy of the pretraining phase (dev)'],
  ] as const;
  for (const [key, label] of byMetric) {
    const withKey = rows.filter((r) => typeof r.metrics[key] === 'number');
    if (withKey.length >= 2) {
      const series = withKey.map((r) => ({
        name: r.strategy,
        color: colorOf(r),
        points: [{
          x: r.metrics[key]!, y: r.mean,
          label: `${r.strategy}: ${metric} ${r.mean.toFixed(4)}, ${key} ${r.metrics[key]!.toFixed(4)}`,
        }],
      }));
      plots.push(chart(series, { title: `${metric} vs ${key}`, xLabel: label, yLabel: metric }));
    }
  }
  const perSeed = rows.map((r) => ({
    name: r.strategy, values: r.scores, mean: r.mean, lo: r.ciLo, hi: r.ciHi, seeds: r.seeds, color: colorOf(r),
  }));
  plots.push(...costlyPlots(rows, colorOf).plots);
  plots.push(dotPlot(perSeed, { title: `${metric} per seed (bar: mean, whisker: 95 % CI)`, yLabel: metric }));
  return plots;
}

/**
 * Vocabulary suites: the trade-off of the target-language score (y) against English retention
 * (x: the wn_topic probe); the marker radius grows with tokens per character on the scored text
 * (3 px + 7 px · sqrt(share of the largest)).
 */
function tradeOffPlot(rows: Aggregate[], metric: string): string | null {
  const ok = rows.filter((r) => typeof r.metrics.probe_wn_topic === 'number' && typeof r.metrics.tokens_per_char === 'number');
  if (ok.length < 2) return null;
  const maxTpc = Math.max(...ok.map((r) => r.metrics.tokens_per_char!));
  const unk = (r: Aggregate) => (typeof r.metrics.unk_rate === 'number' ? r.metrics.unk_rate.toFixed(4) : '–');
  const series: Series[] = ok.map((r) => {
    const probe = r.metrics.probe_wn_topic!, tpc = r.metrics.tokens_per_char!;
    const label = `${r.strategy}: ${metric} ${r.mean.toFixed(4)}, English probe ${probe.toFixed(4)}, ` +
      `${tpc.toFixed(3)} tokens/char, UNK rate ${unk(r)}`;
    const point = { x: probe, y: r.mean, r: 3 + 7 * Math.sqrt(tpc / maxTpc), label };
    return { name: r.strategy, color: PALETTE[rows.indexOf(r) % PALETTE.length], points: [point] };
  });
  const title = `trade-off: ${metric} vs English retention (point size: tokens per character)`;
  return chart(series, { title, xLabel: 'wn_topic accuracy after pretraining (English retention)', yLabel: metric });
}

function curvePlot(rows: Aggregate[], param: string, metric: string, group = 'stage'): string | null {
  const withParam = rows.filter((r) => typeof r.params[param] === 'number');
  if (withParam.length < 2) return null;
  const stages = [...new Set(withParam.map((r) => String(r.params[group] ?? 'all')))];
  const series: Series[] = stages.map((s) => ({
    name: s,
    line: true,
    band: true,
    points: withParam.filter((r) => String(r.params[group] ?? 'all') === s).map((r) => ({
      x: r.params[param] as number, y: r.mean, lo: r.ciLo ?? undefined, hi: r.ciHi ?? undefined,
      label: `${r.strategy}: ${r.mean.toFixed(4)}`,
    })),
  }));
  return chart(series, { title: `${metric} vs ${param}, one curve per ${group}`, xLabel: param, yLabel: metric, xLog: true });
}

/** What the report says about the whole set of runs (beside the rows). */
export interface HtmlReportMeta {
  preset: string;
  records: number;
  generatedAt: string;
  failures: string[];
  skipped: string[];
  /** Extra sections (HTML) after the suites' (e.g. report/projection.ts). */
  extra?: string;
  /** A section before the suites' (the claims: "What the evidence says", claims.ts). */
  top?: string;
}

/** The last line of the style sheet (a constant: the line is long, the page's bytes stay the same). */
const CSS_WARNING_META = '.question{font-style:italic}.warning{background:#fff4e5;border-left:4px solid #f0a030;padding:6px 10px}'
  + '.meta{color:#666;font-size:12px}code{font-size:12px}';

/** The claims table (claims.ts): one colour per verdict. */
const CSS_CLAIMS = 'td.v-supported{background:#e6f4ea}td.v-contradicted{background:#fde8e8}td.v-inconclusive{background:#f4f4f4}td.v-nodata{color:#888}'
  + 'table.claims td{vertical-align:top}table.claims td.test,table.claims td.method{text-align:left}table.claims td.num{white-space:nowrap}';

/** How the numbers are computed, under the title. */
const METHOD_NOTE = 'Scores are means over seeds ± sample std; 95 % CIs are percentile bootstraps over seeds. '
  + COMPARISON_NOTE + ' (Paired by seed, the smallest sign-flip p with n seeds is 2/2ⁿ.) Compute counts the tokens of every training phase of a method '
  + '(continued pretraining included; the forgetting probe excluded).';

/** ONE_SEED_NOTE (Markdown) as HTML: its first **bold** run and its `code` spans. */
function oneSeedWarning(): string {
  const html = esc(ONE_SEED_NOTE).replace(/\*\*(.*?)\*\*/, '<strong>$1</strong>').replace(/`([^`]+)`/g, '<code>$1</code>');
  return `<p class="warning">${html}</p>`;
}

export function htmlReport(rows: Aggregate[], meta: HtmlReportMeta): string {
  const sections: string[] = [];
  const toc: string[] = [];
  for (const g of groupBySuiteDataset(rows)) {
    const suite = SUITES[g.suite];
    const id = `${g.suite}-${g.dataset}`;
    const first = g.rows[0]!;
    const metric = first.mainMetric;
    const lower = first.higherIsBetter ? '' : ' (lower is better)';
    const matrices = costlyPlots(g.rows, (r) => PALETTE[g.rows.indexOf(r) % PALETTE.length]!).matrices;
    const cm = suite?.costMatrix;
    const costs = cm ? `<div class="costs">${matrixTable(`cost matrix (costly class '${cm.costlyClass}')`, cm.labels, cm.matrix, cm.costlyClass)}</div>\n` : '';
    toc.push(`<li><a href="#${esc(id)}">${esc(suite?.title ?? g.suite)} — ${esc(g.dataset)}</a></li>`);
    const plots = sectionPlots(g.rows, metric);
    if (suite?.languageMetrics) {
      const t = tradeOffPlot(g.rows, metric);
      if (t) plots.unshift(t);
    }
    const pareto = edgeParetoPlot(g.rows);
    if (pareto) plots.unshift(pareto);
    if (suite?.curveParam) {
      const c = curvePlot(g.rows, suite.curveParam, metric, suite.curveGroup);
      if (c) plots.unshift(c);
    }
    const question = suite ? `<p class="question">${esc(suite.question)} Baseline: <code>${esc(suite.baseline)}</code>.</p>` : '';
    const where = `on the ${esc(first.split)} split · dataset manifest sha256 <code>${esc(first.manifestHash.slice(0, 16))}…</code>`;
    sections.push(`<section id="${esc(id)}" class="suite">
<h2>${esc(suite?.title ?? g.suite)} — <code>${esc(g.dataset)}</code></h2>
${question}
<p class="meta">main_score = ${esc(metric)}${lower} ${where} · adapter ${esc(first.adapter)}</p>
${costs}${table(g.rows)}
${(() => { const m = suiteMdd(rows.filter((r) => r.suite === g.suite)); return m === null ? '' : `<p class="meta">minimum detectable difference of the suite: ${esc(fmt(m))} (α 0.05, power 0.8, from the paired bootstrap over test examples)</p>\n`; })()}${[...edgeTables(g.rows), ...nerTables(g.rows)].map((t) => `<table class="ner"><caption>${esc(t.caption)}</caption><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${t.body.map((b) => `<tr>${b.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`).join('\n')}
${matrices.length ? `<div class="matrices">${matrices.join('\n')}</div>\n` : ''}<div class="plots">${plots.map((p) => `<figure>${p}</figure>`).join('\n')}</div>
</section>`);
  }
  const notes = [
    ...meta.failures.map((f) => `<li class="failure">failed: ${esc(f)}</li>`),
    ...meta.skipped.map((s) => `<li class="skipped">left out: ${esc(s)}</li>`),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tunebench leaderboard (${esc(meta.preset)})</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1240px;padding:0 16px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f4f4f4}caption{text-align:left;font-size:12px;color:#444;padding:2px 0}td:first-child,th:first-child{text-align:left}tr.baseline td{background:#fffbe6}tr.best td{font-weight:bold}
.matrices{display:flex;flex-wrap:wrap;gap:12px}table.matrix caption{font-size:12px;text-align:left}tr.costly th{color:#b00}
.plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #eee;padding:4px}
${CSS_WARNING_META}
${CSS_CLAIMS}
</style></head>
<body>
<h1>tunebench leaderboard — ${esc(meta.preset)} preset</h1>
<p>${meta.records} runs, generated ${esc(meta.generatedAt)}. ${METHOD_NOTE}</p>
${rows.length && rows.every((r) => r.seeds.length < 2) ? oneSeedWarning() : ''}
${meta.top ? meta.top + '\n' : ''}<ul class="toc">${toc.join('')}</ul>
${notes.length ? `<ul class="notes">${notes.join('')}</ul>` : ''}
${sections.join('\n')}${meta.extra ? '\n' + meta.extra : ''}
</body></html>
`;
}
