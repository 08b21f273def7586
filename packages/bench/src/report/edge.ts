// The edge suite's sections of the report (records whose metrics carry size_mb, edge/phase.ts): a
// table of each row's task scores next to what deployment costs (parameters, size on disk, ms per
// example on the runtime of its deployment variant, training tokens), and the Pareto plot of the
// mean task score against size on disk (a row is on the front when no other row is both smaller
// and better). A row is a model × a deployment variant (fp32 / int8 on WebGPU, onnx / onnx_int8 on
// ONNX Runtime CPU: params.deploy, edge/deploy.ts). Values are means over seeds.
import type { Aggregate } from '../leaderboard.js';
import { paretoFront } from '../leaderboard.js';
import { chart, PALETTE } from './svg.js';
import type { SimpleTable } from './ner.js';
import { fmt } from './tables.js';
import { EDGE_RUNTIMES, type EdgeVariant } from '../edge/config.js';

/** The runtime of a row's deployment variant (params.deploy); '' for a row without one. */
export function edgeRuntime(r: Aggregate): string {
  const d = r.params.deploy;
  return typeof d === 'string' ? (EDGE_RUNTIMES[d as EdgeVariant] ?? d) : '';
}

/** The per-task score keys present (`<task>_<metric>` with metric accuracy / strict_f1 / recall_at_1), in a fixed order. */
export function edgeTaskKeys(rows: Aggregate[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metrics)) if (/^[a-z0-9]+_(accuracy|strict_f1|recall_at_1)$/.test(k) && !k.startsWith('teacher_')) keys.add(k);
  return [...keys].sort();
}

const isEdge = (rows: Aggregate[]) => rows.length > 0 && rows.every((r) => typeof r.metrics.size_mb === 'number');

/** The edge table of one (suite, dataset) section, or none when its records are not edge rows. */
export function edgeTables(rows: Aggregate[]): SimpleTable[] {
  if (!isEdge(rows)) return [];
  const keys = edgeTaskKeys(rows);
  return [{
    caption: 'Edge: score per task, mean (= main_score), and the cost of deploying the row — parameters (all models of the row), size on disk ' +
      '(the deployment variant\'s files: fp32 safetensors, the int8 export, the .onnx; MB = 10⁶ bytes), ms per example (batched inference on the row\'s ' +
      'runtime — WebGPU on the adapter of the run, or ONNX Runtime on the CPU, one thread — mean over tasks), training tokens. Mean over seeds.',
    head: ['strategy', ...keys, 'mean', 'params', 'size MB', 'ms / example', 'runtime', 'train tokens'],
    body: rows.map((r) => [
      r.isBaseline ? `${r.strategy} (baseline)` : r.strategy,
      ...keys.map((k) => fmt(r.metrics[k])),
      fmt(r.mean), fmt(r.metrics.params, 0), fmt(r.metrics.size_mb, 3), fmt(r.metrics.ms_per_example, 3), edgeRuntime(r), fmt(r.metrics.train_tokens, 0),
    ]),
  }];
}

/** Mean task score vs size on disk, one point per row, the Pareto front dashed; null when not edge rows. */
export function edgeParetoPlot(rows: Aggregate[]): string | null {
  if (!isEdge(rows)) return null;
  const size = (r: Aggregate) => r.metrics.size_mb as number;
  const front = paretoFront(rows, size, (r) => r.mean, true).map((r) => ({ x: size(r), y: r.mean }));
  return chart(rows.map((r, i) => ({
    name: r.strategy,
    color: PALETTE[i % PALETTE.length],
    points: [{ x: size(r), y: r.mean, lo: r.ciLo ?? undefined, hi: r.ciHi ?? undefined, label: `${r.strategy}: ${r.mean.toFixed(4)} at ${size(r).toFixed(2)} MB` }],
  })), { title: 'mean task score vs size on disk (Pareto front dashed)', xLabel: 'size on disk (MB)', yLabel: 'mean task score', xLog: true, front });
}
