// Leaderboard files besides the HTML report: CSV (csv-stringify; long = one row per run × metric,
// wide = one row per strategy), a Markdown table per (suite, dataset), and an MTEB-like JSON
// summary (per task: main_score per split, with the seed statistics beside it).
import { stringify } from 'csv-stringify/sync';
import type { RunRecord } from '../record.js';
import type { Aggregate } from '../leaderboard.js';
import { SUITES } from '../suites/index.js';
import { nerTables } from './ner.js';
import { edgeTables } from './edge.js';

export function longCsv(records: RunRecord[]): string {
  const rows: (string | number | null)[][] = [];
  for (const r of [...records].sort((a, b) => a.runId.localeCompare(b.runId))) {
    for (const [metric, value] of Object.entries(r.metrics).sort(([a], [b]) => a.localeCompare(b))) {
      rows.push([r.suite, r.dataset, r.strategy, r.seed, r.split, metric, value, r.trainableParams, r.totalParams, r.tokens, r.wallTimeS, r.preset, r.manifestHash, r.gitRevision]);
    }
  }
  return stringify(rows, {
    header: true,
    columns: ['suite', 'dataset', 'strategy', 'seed', 'split', 'metric', 'value', 'trainable_params', 'total_params', 'tokens', 'wall_time_s', 'preset', 'manifest_sha256', 'git_revision'],
  });
}

export function wideCsv(rows: Aggregate[]): string {
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].filter((k) => k !== 'main_score').sort();
  const paramKeys = [...new Set(rows.flatMap((r) => Object.keys(r.params)))].sort();
  const data = rows.map((r) => [
    r.suite, r.dataset, r.strategy, r.isBaseline ? 'yes' : '', r.mainMetric, r.higherIsBetter ? 'yes' : 'no', r.rank, r.seeds.length, r.mean, r.std, r.ciLo, r.ciHi,
    r.vsBaseline?.delta ?? null, r.vsBaseline ? verdict(r.vsBaseline.better) : null, r.vsBaseline?.lo ?? null, r.vsBaseline?.hi ?? null, r.vsBaseline?.pPermutation ?? null, r.vsBaseline?.pBootstrap ?? null,
    r.vsBaseline?.method ?? null, r.vsBaseline?.test ?? null, r.vsBaseline?.p ?? null, r.vsBaseline?.pHolm ?? null, r.vsBaseline?.examples ?? null, r.vsBaseline?.mdd ?? null,
    r.trainableParams, r.totalParams, r.tokens, r.wallTimeS, r.tokensPerSecond,
    ...extra.map((k) => r.metrics[k] ?? null),
    ...paramKeys.map((k) => (r.params[k] === undefined ? null : String(r.params[k]))),
  ]);
  return stringify(data, {
    header: true,
    columns: [
      'suite', 'dataset', 'strategy', 'baseline', 'main_metric', 'higher_is_better', 'rank', 'seeds', 'main_score_mean', 'main_score_std', 'ci95_lo', 'ci95_hi',
      'delta_vs_baseline', 'delta_verdict', 'delta_ci95_lo', 'delta_ci95_hi', 'p_permutation', 'p_bootstrap',
      'comparison', 'p_test', 'p', 'p_holm', 'paired_examples', 'mdd',
      'trainable_params', 'total_params', 'tokens', 'wall_time_s', 'tokens_per_s',
      ...extra.map((k) => `mean_${k}`), ...paramKeys.map((k) => `param_${k}`),
    ],
  });
}

const TEST_NAMES: Record<string, string> = { 'mcnemar-exact': 'McNemar exact', 'paired-bootstrap': 'paired bootstrap', 'sign-flip': 'sign-flip', permutation: 'permutation', 't-test': 'paired t' };

/** How a row was paired with the baseline: over test examples (how many) or over seeds. */
function comparisonNote(v: NonNullable<Aggregate['vsBaseline']>): string {
  return v.method === 'paired-bootstrap' ? `${v.examples} examples` : `${v.seeds} seeds`;
}

/** The suite's minimum detectable difference (largest MDD among its example-paired comparisons), or null. */
export function suiteMdd(rows: Aggregate[]): number | null {
  const m = rows.map((r) => r.vsBaseline?.mdd).filter((x): x is number => typeof x === 'number');
  return m.length ? Math.max(...m) : null;
}

/** 'better' / 'worse' than the baseline in the main metric's direction ('same' for a zero Δ). */
export const verdict = (better: boolean | null): string => (better === null ? 'same' : better ? 'better' : 'worse');

export const BEST_MARK = '★ best';

export const fmt = (x: number | null | undefined, d = 4): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** Leaderboard columns shared by the Markdown and the HTML tables. */
export function tableRows(rows: Aggregate[]): { head: string[]; body: string[][] } {
  const head = ['strategy', 'main_score (mean ± std)', '95 % CI', 'Δ vs baseline [95 % CI]', 'p (Holm)', 'MDD', 'seeds', 'trainable / total params', 'tokens', 'wall time', 'extra'];
  const body = rows.map((r) => {
    const extra = ['probe_wn_topic', 'mlm_accuracy', 'costly_recall', 'costly_pr_auc', 'macro_f1', 'unk_rate', 'tokens_per_char', 'mlm_loss', 'mlm_unk_share', 'mlm_loss_general'].filter((k) => r.metrics[k] !== undefined).map((k) => `${k} ${fmt(r.metrics[k])}`).join(', ');
    return [
      r.isBaseline ? `${r.strategy} (baseline)` : r.strategy,
      `${fmt(r.mean)} ± ${fmt(r.std)}${r.rank === 1 ? ` ${BEST_MARK}` : ''}`,
      r.ciLo === null ? '–' : `[${fmt(r.ciLo)}, ${fmt(r.ciHi)}]`,
      r.vsBaseline ? `${r.vsBaseline.delta >= 0 ? '+' : ''}${fmt(r.vsBaseline.delta)} [${fmt(r.vsBaseline.lo)}, ${fmt(r.vsBaseline.hi)}] (${verdict(r.vsBaseline.better)})` : '–',
      r.vsBaseline ? `${fmt(r.vsBaseline.pHolm, 3)} (raw ${fmt(r.vsBaseline.p, 3)}, ${TEST_NAMES[r.vsBaseline.test ?? ''] ?? '–'} over ${comparisonNote(r.vsBaseline)})` : '–',
      r.vsBaseline?.mdd !== null && r.vsBaseline?.mdd !== undefined ? fmt(r.vsBaseline.mdd) : '–',
      String(r.seeds.length),
      `${fmtCount(r.trainableParams)} / ${fmtCount(r.totalParams)} (${((100 * r.trainableParams) / r.totalParams).toFixed(1)} %)`,
      fmtCount(r.tokens),
      `${r.wallTimeS.toFixed(1)} s`,
      extra || '–',
    ];
  });
  return { head, body };
}

export function groupBySuiteDataset(rows: Aggregate[]): { suite: string; dataset: string; rows: Aggregate[] }[] {
  const out: { suite: string; dataset: string; rows: Aggregate[] }[] = [];
  for (const r of rows) {
    let g = out.find((x) => x.suite === r.suite && x.dataset === r.dataset);
    if (!g) out.push((g = { suite: r.suite, dataset: r.dataset, rows: [] }));
    g.rows.push(r);
  }
  return out;
}

/** How Δ, its CI and p are computed (the Markdown and HTML reports say it once). */
export const COMPARISON_NOTE = "Δ vs the suite's baseline: where both have per-example test predictions, a paired bootstrap over test examples stratified by seed (95 % CI) with McNemar's exact test for accuracy (else the bootstrap's p); otherwise paired by seed (bootstrap CI over seeds, exact sign-flip p). p is Holm–Bonferroni adjusted over the suite's comparisons (raw p beside it). MDD: the smallest |Δ| the design detects at α 0.05 with power 0.8, (z₀.₉₇₅ + z₀.₈)·SE of the bootstrap.";

export const ONE_SEED_NOTE = '**One seed per run**: no standard deviation, confidence interval or significance test can be given, and differences between rows may be seed noise. Run `--seeds 0,1,2` or `--preset full` for those.';

export function markdown(rows: Aggregate[], meta: { preset: string; records: number; generatedAt: string }): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`# tunebench leaderboard (${meta.preset} preset)`, '', `${meta.records} runs; generated ${meta.generatedAt}. main_score on the ${rows[0]?.split ?? 'test'} split; mean ± sample std over seeds, 95 % percentile-bootstrap CI over seeds. ${COMPARISON_NOTE}`, ''];
  if (rows.length && rows.every((r) => r.seeds.length < 2)) lines.push(ONE_SEED_NOTE, '');
  for (const g of groupBySuiteDataset(rows)) {
    const suite = SUITES[g.suite];
    const first = g.rows[0]!;
    lines.push(`## ${suite?.title ?? g.suite} — ${g.dataset} (${first.mainMetric}${first.higherIsBetter ? '' : ', lower is better'})`, '');
    if (suite) lines.push(`_${suite.question}_`, '');
    if (suite?.costMatrix) lines.push(...costMatrixMarkdown(suite.costMatrix), '');
    const t = tableRows(g.rows);
    lines.push(`| ${t.head.map(esc).join(' | ')} |`, `|${t.head.map(() => '---').join('|')}|`);
    for (const b of t.body) lines.push(`| ${b.map(esc).join(' | ')} |`);
    lines.push('');
    const mdd = suiteMdd(rows.filter((r) => r.suite === g.suite));
    if (mdd !== null) lines.push(`Minimum detectable difference of the ${g.suite} suite: ${fmt(mdd)} (${first.mainMetric}; α 0.05, power 0.8, from the paired bootstrap's standard error).`, '');
    for (const n of [...edgeTables(g.rows), ...nerTables(g.rows)]) {
      lines.push(`_${n.caption}_`, '', `| ${n.head.map(esc).join(' | ')} |`, `|${n.head.map(() => '---').join('|')}|`);
      for (const b of n.body) lines.push(`| ${b.map(esc).join(' | ')} |`);
      lines.push('');
    }
  }
  return lines.join('\n');
}

/** The cost matrix as a Markdown table (rows: truth, columns: prediction). */
export function costMatrixMarkdown(c: { labels: string[]; costlyClass: string; matrix: number[][] }): string[] {
  return [
    `Cost matrix (rows: true label, columns: predicted; costly class \`${c.costlyClass}\`):`, '',
    `| true \\ predicted | ${c.labels.join(' | ')} |`, `|---|${c.labels.map(() => '---').join('|')}|`,
    ...c.labels.map((l, i) => `| ${l} | ${c.matrix[i]!.join(' | ')} |`),
  ];
}

/** MTEB-like summary: one entry per (suite, strategy, task) with scores per split. */
export function mtebJson(rows: Aggregate[], meta: { preset: string; generatedAt: string }): unknown {
  return {
    benchmark: 'tunebench-strategies',
    preset: meta.preset,
    generated_at: meta.generatedAt,
    results: rows.map((r) => ({
      model_name: `${r.suite}/${r.strategy}`,
      task_name: r.dataset,
      dataset_revision: r.manifestHash,
      evaluation_time: r.wallTimeS,
      scores: {
        [r.split]: [{
          hf_subset: 'default',
          languages: ['eng-Latn'],
          main_score: r.mean,
          main_metric: r.mainMetric,
          higher_is_better: r.higherIsBetter,
          rank: r.rank,
          ...Object.fromEntries(Object.entries(r.metrics).filter(([k]) => k !== 'main_score')),
          main_score_std: r.std,
          main_score_ci95: r.ciLo === null ? null : [r.ciLo, r.ciHi],
          seeds: r.seeds,
        }],
      },
      params: r.params,
      trainable_params: r.trainableParams,
      total_params: r.totalParams,
      tokens: r.tokens,
    })),
  };
}
