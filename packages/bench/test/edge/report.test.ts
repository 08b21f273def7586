// The edge suite's report table (src/report/edge.ts): one row per model × deployment variant with
// its runtime (from params.deploy), size and latency; rows that are not edge rows get no table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeParetoPlot, edgeRuntime, edgeTables } from '../../src/report/edge.js';
import { EDGE_RUNTIMES, EDGE_VARIANTS } from '../../src/edge/config.js';
import type { Aggregate } from '../../src/leaderboard.js';

const row = (model: string, deploy: string | undefined, size: number, mean: number): Aggregate => ({
  suite: 'edge', dataset: 'wn_topic', strategy: deploy ? `${model}.${deploy}` : model, params: deploy ? { model, deploy } : { model },
  mean, isBaseline: false, ciLo: null, ciHi: null,
  metrics: { topic_accuracy: mean, ner_strict_f1: mean, search_recall_at_1: mean, params: 1000, size_mb: size, ms_per_example: 0.5, train_tokens: 10 },
} as unknown as Aggregate);

test('edge table: a runtime column naming each deployment variant\'s runtime; the size column is the variant\'s', () => {
  const rows = EDGE_VARIANTS.map((v, i) => row('multitask', v, 1 - 0.2 * i, 0.5 - 0.01 * i));
  const [t] = edgeTables(rows);
  assert.ok(t);
  const col = t.head.indexOf('runtime');
  assert.ok(col > 0, t.head.join(' | '));
  assert.deepEqual(t.body.map((r) => r[col]), EDGE_VARIANTS.map((v) => EDGE_RUNTIMES[v]));
  assert.deepEqual(t.body.map((r) => r[t.head.indexOf('size MB')]), ['1.000', '0.800', '0.600', '0.400']);
  // a row without a variant (a suite file's own edge row) has an empty runtime, an unknown one its name
  assert.equal(edgeRuntime(row('x', undefined, 1, 0.5)), '');
  assert.equal(edgeRuntime(row('x', 'tflite', 1, 0.5)), 'tflite');
  // the score-vs-size plot has one labelled point per row
  const svg = edgeParetoPlot(rows)!;
  for (const v of EDGE_VARIANTS) assert.match(svg, new RegExp(`multitask\\.${v}: `));
  // not edge rows (no size_mb): no table, no plot
  const plain = { ...rows[0]!, metrics: { main_score: 0.5 } } as Aggregate;
  assert.deepEqual(edgeTables([plain]), []);
  assert.equal(edgeParetoPlot([plain]), null);
});
