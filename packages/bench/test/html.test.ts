// The static HTML report, opened in headless Chromium: every plot rendered with its marks inside
// it (scores vs parameters with the Pareto front, vs compute, learning curves, per-seed dots with
// CIs, the sensitivity curve) and every leaderboard table has its rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReports } from '../src/index.js';
import { makeRecord } from './helpers.js';
import { findChromium, renderReport, NO_CHROMIUM } from './chromium.js';

function outDirWithRecords(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-html-'));
  const recs = [
    ...[0, 1, 2].flatMap((seed) => [
      makeRecord({ strategy: 'full', seed, score: 0.8 + seed * 0.01, trainable: 100000, tokens: 9000 }),
      makeRecord({ strategy: 'head_only', seed, score: 0.7 + seed * 0.01, trainable: 1000, tokens: 9000 }),
      makeRecord({ strategy: 'lora_r4', seed, score: 0.78 - seed * 0.01, trainable: 5000, tokens: 9000 }),
    ]),
    ...[0, 1].flatMap((seed) => [1e-4, 3e-4, 1e-3].flatMap((lr) => [
      makeRecord({ suite: 'sensitivity', dataset: 'email', strategy: `ft_lr_${lr.toExponential(0)}`, seed, score: 0.9 - Math.abs(Math.log10(lr / 3e-4)) * 0.05 + seed * 0.005, params: { stage: 'finetune', lr } }),
      makeRecord({ suite: 'sensitivity', dataset: 'email', strategy: `pt_lr_${lr.toExponential(0)}`, seed, score: 0.88 - Math.abs(Math.log10(lr / 1e-4)) * 0.04, tokens: 20000, params: { stage: 'pretrain', lr } }),
    ])),
  ];
  for (const r of recs) {
    const p = join(dir, 'records', `${r.runId}.json`);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, JSON.stringify(r));
  }
  return dir;
}

test('the HTML report renders its plots and tables in headless Chromium', async (t) => {
  const chromium = findChromium();
  if (!chromium) {
    t.skip(NO_CHROMIUM);
    return;
  }
  const dir = outDirWithRecords();
  const rep = writeReports(dir, { resamples: 500 });
  const html = readFileSync(rep.files.html, 'utf8');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no scripts, no external resources');
  const r = await renderReport(rep.files.html, chromium);
  assert.match(r.title, /tunebench leaderboard \(quick\)/);
  assert.equal(r.sections, 2);
  assert.deepEqual(r.tables.map((x) => x.rows), [3, 6]);
  for (const tb of r.tables) assert.ok(tb.width > 300);
  for (const p of r.plots) {
    assert.ok(p.width > 300 && p.height > 200, `${p.label}: ${p.width}×${p.height}`);
    assert.equal(p.visibleMarks, p.marks, `${p.label}: every mark is drawn inside the plot`);
    assert.ok(p.marks > 0, `${p.label}: has marks`);
  }
  const freezing = r.plots.slice(0, 5);
  const byTitle = (s: string, list = r.plots) => list.find((p) => p.label.includes(s))!;
  // Parameters plot: one dot per strategy with its CI, plus the dashed Pareto front.
  const params = byTitle('vs trainable parameters', freezing);
  assert.equal(params.marks, 3);
  assert.equal(params.cis, 3);
  assert.equal(params.lines, 1);
  assert.equal(byTitle('vs compute', freezing).marks, 3);
  // Learning curves: 2 steps × 3 strategies, drawn as lines.
  assert.equal(byTitle('dev main_score', freezing).marks, 6);
  assert.equal(byTitle('dev main_score', freezing).lines, 3);
  assert.equal(byTitle('training loss', freezing).marks, 6);
  // Per-seed dots: 3 strategies × 3 seeds, one CI whisker per strategy.
  const seeds = byTitle('per seed', freezing);
  assert.equal(seeds.marks, 9);
  assert.equal(seeds.cis, 3);
  // Sensitivity: a curve of score vs lr per stage (3 points each).
  const curve = byTitle('vs lr, one curve per stage');
  assert.equal(curve.marks, 6);
  assert.equal(curve.lines, 2);
  rmSync(dir, { recursive: true, force: true });
});
