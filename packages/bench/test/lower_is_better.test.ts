// A lower-is-better main score (the costly suite's expected cost per example) in every
// leaderboard output: aggregation order and ranks, the sign and verdict of Δ vs the baseline,
// "best" markers, the Pareto front, and the rows of the CSV, Markdown, JSON and HTML files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregate, paretoFront, writeReports, type RunRecord } from '../src/index.js';
import { COST_MATRIX } from '../src/suites/costly.js';
import { makeRecord } from './helpers.js';
import { findChromium, renderReport } from './chromium.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** ce (baseline) costs 0.5, weighted_ce_inverse 0.3 (better), focal 0.7 (worse, and more parameters than ce). */
function costRecords(): RunRecord[] {
  const spec = [
    { strategy: 'ce', cost: 0.5, trainable: 1000 },
    { strategy: 'weighted_ce_inverse', cost: 0.3, trainable: 2000 },
    { strategy: 'focal', cost: 0.7, trainable: 3000 },
  ];
  return spec.flatMap((s) => [0, 1, 2].map((seed) => {
    const r = makeRecord({ suite: 'costly', dataset: 'changelog_urgency', strategy: s.strategy, seed, score: s.cost + (seed - 1) * 0.01, trainable: s.trainable, params: { training: s.strategy } });
    r.mainMetric = 'expected_cost';
    r.metrics = { main_score: r.metrics.main_score, expected_cost: r.metrics.main_score, costly_recall: 1 - s.cost, accuracy: 0.9 };
    r.curve = [{ step: 5, loss: 1, dev_main_score: s.cost + 0.1 }, { step: 10, loss: 0.5, dev_main_score: s.cost }];
    r.costly = {
      costlyClass: 'high', labels: ['high', 'low', 'medium'], costMatrix: COST_MATRIX, decision: 'argmax', targetRecall: null, threshold: null, split: 'test',
      confusion: [[3, 1, 1], [2, 30, 4], [1, 5, 40]],
      prCurve: { precision: [1, 0.75, 0.5], recall: [0.2, 0.6, 1] },
      costCurve: { threshold: [0, 0.5, 1], cost: [0.9, s.cost, 1.1] },
    };
    return r;
  }));
}

test('aggregate: a lower-is-better main score orders rows lowest first, ranks them, and says which Δ is better', () => {
  const rows = aggregate(costRecords(), { resamples: 300 });
  assert.deepEqual(rows.map((r) => r.strategy), ['weighted_ce_inverse', 'ce', 'focal']);
  assert.deepEqual(rows.map((r) => r.rank), [1, 2, 3]);
  assert.ok(rows.every((r) => !r.higherIsBetter && r.mainMetric === 'expected_cost'));
  const [w, ce, focal] = rows;
  assert.ok(ce!.isBaseline && ce!.vsBaseline === null);
  close(w!.vsBaseline!.delta, -0.2);
  assert.equal(w!.vsBaseline!.better, true, 'a lower cost than the baseline is better');
  close(focal!.vsBaseline!.delta, 0.2);
  assert.equal(focal!.vsBaseline!.better, false);
  // The same numbers as accuracies: highest first, the signs of "better" flip.
  const acc = aggregate(costRecords().map((r) => ({ ...r, mainMetric: 'accuracy' })), { resamples: 300 });
  assert.deepEqual(acc.map((r) => r.strategy), ['focal', 'ce', 'weighted_ce_inverse']);
  assert.equal(acc.find((r) => r.strategy === 'focal')!.vsBaseline!.better, true);
  // One board cannot mix directions.
  const mixed = costRecords().map((r) => (r.strategy === 'focal' ? { ...r, mainMetric: 'accuracy' } : r));
  assert.throws(() => aggregate(mixed, { resamples: 100 }), /main metrics of opposite directions in one leaderboard/);
});

test('Pareto front: fewer parameters and a lower cost dominate', () => {
  const rows = aggregate(costRecords(), { resamples: 100 });
  const names = (xs: typeof rows) => xs.map((r) => r.strategy).sort();
  assert.deepEqual(names(paretoFront(rows, (r) => r.trainableParams, (r) => r.mean, false)), ['ce', 'weighted_ce_inverse']);
  // read as higher-is-better, focal (the most expensive) would wrongly be on the front
  assert.deepEqual(names(paretoFront(rows, (r) => r.trainableParams, (r) => r.mean)), ['ce', 'focal']);
});

test('CSV, Markdown, JSON and HTML list the lowest cost first, mark it best, and give Δ with its verdict', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-lower-'));
  for (const r of costRecords()) {
    const p = join(dir, 'records', `${r.runId}.json`);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, JSON.stringify(r));
  }
  const rep = writeReports(dir, { resamples: 300 });
  // wide CSV
  const wide = readFileSync(rep.files.wideCsv, 'utf8').trim().split('\n').map((l) => l.split(','));
  const h = wide[0]!;
  const col = (row: string[], name: string) => row[h.indexOf(name)]!;
  assert.deepEqual(wide.slice(1).map((r) => col(r, 'strategy')), ['weighted_ce_inverse', 'ce', 'focal']);
  assert.deepEqual(wide.slice(1).map((r) => col(r, 'rank')), ['1', '2', '3']);
  assert.deepEqual(wide.slice(1).map((r) => col(r, 'higher_is_better')), ['no', 'no', 'no']);
  assert.deepEqual(wide.slice(1).map((r) => col(r, 'delta_verdict')), ['better', '', 'worse']);
  close(Number(col(wide[1]!, 'delta_vs_baseline')), -0.2);
  // Markdown
  const md = readFileSync(rep.files.markdown, 'utf8');
  assert.match(md, /## Costly class: expected cost on changelog urgency — changelog_urgency \(expected_cost, lower is better\)/);
  assert.match(md, /\| high \| 0 \| 10 \| 10 \|\n\| low \| 1 \| 0 \| 1 \|\n\| medium \| 1 \| 1 \| 0 \|/, 'the cost matrix is printed');
  const order = ['| weighted_ce_inverse |', '| ce (baseline) |', '| focal |'].map((s) => md.indexOf(s));
  assert.ok(order.every((i) => i > 0) && order[0]! < order[1]! && order[1]! < order[2]!, `row order ${order}`);
  assert.match(md, /\| weighted_ce_inverse \| 0\.3000 ± 0\.0100 ★ best \| .* \| -0\.2000 \[.*\] \(better\) \|/);
  assert.match(md, /\| focal \| 0\.7000 ± 0\.0100 \| .* \| \+0\.2000 \[.*\] \(worse\) \|/);
  assert.equal(md.match(/★ best/g)!.length, 1);
  // JSON
  const json = JSON.parse(readFileSync(rep.files.json, 'utf8'));
  assert.deepEqual(json.results.map((x: { model_name: string }) => x.model_name), ['costly/weighted_ce_inverse', 'costly/ce', 'costly/focal']);
  assert.deepEqual(json.results.map((x: { scores: { test: { rank: number; higher_is_better: boolean }[] } }) => [x.scores.test[0]!.rank, x.scores.test[0]!.higher_is_better]), [[1, false], [2, false], [3, false]]);
  // HTML: the table rows in the same order, the best row marked, the cost matrix, confusion matrices and costly plots
  const html = readFileSync(rep.files.html, 'utf8');
  const rowsHtml = [...html.matchAll(/<tr( class="([^"]*)")?><td>([^<]*)<\/td>/g)].map((m) => [m[3], m[2] ?? '']);
  assert.deepEqual(rowsHtml, [['weighted_ce_inverse', 'best'], ['ce (baseline)', 'baseline'], ['focal', '']]);
  assert.match(html, /main_score = expected_cost \(lower is better\)/);
  assert.match(html, /<caption>cost matrix \(costly class &#39;high&#39;\)<\/caption>|<caption>cost matrix \(costly class 'high'\)<\/caption>/);
  assert.equal(html.match(/<table class="matrix">/g)!.length, 4, 'the cost matrix and one confusion matrix per strategy');
  assert.match(html, /precision-recall curve of 'high'|precision-recall curve of &#39;high&#39;/);
  assert.match(html, /expected cost vs threshold/);
  const chromium = findChromium();
  if (chromium) {
    const r = await renderReport(rep.files.html, chromium);
    assert.deepEqual(r.tables.map((t) => t.rows), [3]);
    const params = r.plots.find((p) => p.label.includes('vs trainable parameters'))!;
    assert.equal(params.lines, 1, 'the Pareto front');
    const pr = r.plots.find((p) => p.label.includes('precision-recall curve'))!;
    assert.equal(pr.marks, 9, 'three points per strategy');
    for (const p of r.plots) assert.equal(p.visibleMarks, p.marks, p.label);
  }
  const front = html.match(/<polyline class="front" points="([^"]*)"/)![1]!.trim().split(' ');
  assert.equal(front.length, 2, 'two strategies on the front of cost vs parameters');
  rmSync(dir, { recursive: true, force: true });
});
