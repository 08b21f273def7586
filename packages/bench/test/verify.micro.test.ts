// On the real trainer (micro preset, float64 CPU reference): the finetune phase's per-example test
// predictions become sidecars whose recomputed main metric is the record's (token_cls strict F1;
// a costly-class run's expected cost under its dev-chosen threshold), and `tunebench bench verify`
// reruns records bit for bit, and fails on a record whose score was changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEvidence, loadRecords, recordPath, sampleRecords, subsetMetricOf } from '../src/index.js';

const bin = fileURLToPath(new URL('../../../bin/tunebench.mjs', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 600_000 });

test('micro sweep: sidecars agree with the records; bench verify reproduces them and catches a changed score', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-verify-'));
  // ner: first_subtoken (baseline); costly: ce (baseline) and ce.threshold (threshold chosen on dev)
  const r = run(['bench', 'run', 'ner', 'costly', '--preset', 'micro', '--strategy', 'ce.threshold,first_subtoken', '--seeds', '0', '--out', out, '--no-report']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const recs = loadRecords(join(out, 'records'));
  assert.deepEqual(recs.map((x) => x.strategy).sort(), ['ce', 'ce.threshold', 'first_subtoken']);
  for (const rec of recs) {
    const ev = loadEvidence(rec);
    assert.ok(ev, `${rec.runId} has its predictions`);
    assert.equal(ev.kind, rec.suite === 'ner' ? 'token_cls' : 'seq_cls');
    const m = subsetMetricOf(rec, ev, 'main_score');
    assert.ok(m, `${rec.runId}: ${rec.mainMetric} is computable from the predictions`);
    const all = Int32Array.from(ev.ids, (_, i) => i);
    assert.ok(Math.abs(m(all) - rec.metrics.main_score) < 1e-12, `${rec.runId}: ${rec.mainMetric} from the sidecar ${m(all)} vs the record's ${rec.metrics.main_score}`);
  }
  assert.match(String(recs.find((x) => x.strategy === 'ce.threshold')!.costly?.decision), /threshold/);

  // All three: ce.threshold's score phase started from the phase cache's copy of ce's fine-tune,
  // which the rerun maps to its own train phase.
  const ok = run(['bench', 'verify', '--out', out, '--sample', '3']);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  for (const rec of recs) assert.match(ok.stdout, new RegExp(`reproduced: ${rec.runId}: bit-identical on the same adapter`));
  const picked = sampleRecords(recs, 2, 1).map((x) => x.runId);
  assert.match(ok.stdout, /\| test predictions \| \d+ examples \| identical \| yes \|/);

  // A record whose score was edited is not reproduced: exit 1, the row says NO.
  const id = picked[0]!;
  const file = recordPath(out, id);
  const rec = JSON.parse(readFileSync(file, 'utf8'));
  rec.metrics.main_score += 0.125;
  writeFileSync(file, JSON.stringify(rec, null, 2));
  const bad = run(['bench', 'verify', '--out', out, '--sample', '2', '--seed', '1']);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, new RegExp(`NOT reproduced: ${id}`));
  assert.match(bad.stdout, /\| main_score \([a-z_]+\) \| .* \| \*\*NO\*\* \|/);
  rmSync(out, { recursive: true, force: true });
});
