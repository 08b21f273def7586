// NER sections of the report (suites whose records carry the trainer's token_cls metrics, see
// packages/trainer/src/train/evaluate.ts nerMetrics): a per-type F1 table (strict IOB2 and
// seqeval's lenient default mode, micro and per entity type, word accuracy) and, per strategy, a
// confusion table of gold vs predicted entity types counted on exact spans, with a 'missed'
// column (gold entities no prediction has the span of) and a 'spurious' row (predictions on no
// gold span). Values are means over seeds.
import type { Aggregate } from '../leaderboard.js';
import { fmt } from './tables.js';

export interface SimpleTable {
  caption: string;
  head: string[];
  body: string[][];
}

/** Entity types present in the rows' metrics (from the per-type strict F1 keys), sorted. */
export function nerTypes(rows: Aggregate[]): string[] {
  const types = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metrics)) if (k.startsWith('strict_f1_')) types.add(k.slice('strict_f1_'.length));
  return [...types].sort();
}

/** The NER tables of one (suite, dataset) section, or none when its records carry no NER metrics. */
export function nerTables(rows: Aggregate[]): SimpleTable[] {
  const types = nerTypes(rows);
  if (!types.length || !rows.some((r) => typeof r.metrics.strict_f1 === 'number')) return [];
  const tables: SimpleTable[] = [];
  const support = (t: string) => rows.find((r) => typeof r.metrics[`support_${t}`] === 'number')?.metrics[`support_${t}`];
  tables.push({
    caption: 'Entity F1 per type: strict IOB2 (main_score\'s mode) / seqeval default (lenient); word accuracy. Mean over seeds.',
    head: ['strategy', 'micro strict', 'micro lenient', ...types.map((t) => `${t} strict / lenient (support ${fmt(support(t), 0)})`), 'word accuracy'],
    body: rows.map((r) => [
      r.isBaseline ? `${r.strategy} (baseline)` : r.strategy,
      fmt(r.metrics.strict_f1), fmt(r.metrics.f1),
      ...types.map((t) => `${fmt(r.metrics[`strict_f1_${t}`])} / ${fmt(r.metrics[`f1_${t}`])}`),
      fmt(r.metrics.token_accuracy),
    ]),
  });
  for (const r of rows) {
    const cell = (g: string, p: string) => fmt(r.metrics[`confusion_${g}_${p}`] ?? 0, r.seeds.length > 1 ? 1 : 0);
    tables.push({
      caption: `${r.strategy}: gold entity type (rows) vs predicted (columns), strict IOB2 entities on exact spans; mean count over ${r.seeds.length} seed(s)`,
      head: ['gold \\ predicted', ...types, 'missed'],
      body: [
        ...types.map((g) => [g, ...types.map((p) => cell(g, p)), cell(g, 'missed')]),
        ['spurious', ...types.map((p) => cell('spurious', p)), '–'],
      ],
    });
  }
  return tables;
}
