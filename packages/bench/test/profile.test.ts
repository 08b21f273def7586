// `tunebench profile`: per-dispatch timestamps over real training steps, the per-kernel table and
// the Chrome trace; matmul FLOP accounting on a hand-made dispatch list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { matmulFlops, kernelTable, chromeTrace, type TimedDispatch } from '../src/profile.js';

const d = (label: string, dims: number[] | null, z: number, start: number, end: number, step = 1): TimedDispatch =>
  ({ label, dims, bytes: 1000, workgroups: [1, 1, z], step, index: 0, startNs: BigInt(start), endNs: BigInt(end) });

test('matmul FLOPs: 2·rows·N·K per dispatch, rows split across consecutive dispatches of one call', () => {
  // One call M=100 split at m0 = 0, 64 (rows 64 and 36), then a single-dispatch call with 3 batch items.
  const ds = [
    d('linear_forward:subgroup', [100, 8, 16, 0, 0, 0, 0, 0, 0], 1, 0, 1000),
    d('linear_forward:subgroup', [100, 8, 16, 0, 0, 0, 0, 64, 0], 1, 1000, 2000),
    d('matmul:register', [10, 4, 5, 0, 0, 0, 0, 0, 0], 3, 2000, 2500),
    d('layernorm_forward', [10, 4], 1, 2500, 3000),
  ];
  assert.deepEqual(matmulFlops(ds), [2 * 64 * 8 * 16, 2 * 36 * 8 * 16, 2 * 10 * 4 * 5 * 3, 0]);
  assert.equal(matmulFlops(ds).reduce((a, b) => a + b, 0), 2 * 100 * 8 * 16 + 2 * 10 * 4 * 5 * 3);
  const rows = kernelTable(ds, 1, { gflops: 10, gbps: 10 });
  const lin = rows.find((r) => r.kernel === 'linear_forward:subgroup')!;
  assert.equal(lin.calls, 2);
  assert.ok(Math.abs(lin.totalMs - 0.002) < 1e-12);
  assert.ok(Math.abs(lin.gflops! - (2 * 100 * 8 * 16) / 2e-6 / 1e9) < 1e-9);
  assert.ok(Math.abs(rows.reduce((s, r) => s + r.pctOfStep, 0) - 100) < 1e-9);
  assert.equal(rows.find((r) => r.kernel === 'layernorm_forward')!.gflops, null);
  const trace = chromeTrace(ds, {}) as { traceEvents: { ph: string; ts: number; dur: number; name: string }[] };
  const x = trace.traceEvents.filter((e) => e.ph === 'X');
  assert.deepEqual(x.map((e) => [e.name, e.ts, e.dur]), [['linear_forward:subgroup', 0, 1], ['linear_forward:subgroup', 1, 1], ['matmul:register', 2, 0.5], ['layernorm_forward', 2.5, 0.5]]);
});

const bin = fileURLToPath(new URL('../../../bin/tunebench.mjs', import.meta.url));

test('tunebench profile on this adapter: a table of kernels and a Chrome trace of every dispatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-profile-'));
  const tracePath = join(dir, 'trace.json');
  const r = spawnSync(process.execPath, [bin, 'profile', '--steps', '2', '--batch', '2', '--seq', '16', '--vocab', '512', '--trace', tracePath], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Dawn flags: .*disable-dawn-features=timestamp_quantization/);
  assert.match(r.stdout, /measured peaks: [\d.]+ GFLOP\/s .* [\d.]+ GB\/s/);
  assert.match(r.stdout, /^kernel +calls\/step +ms\/step +% of step +GFLOP\/s +GB\/s\* +share of peak$/m);
  assert.match(r.stdout, /^linear_forward\S* +\d+ +[\d.]+ +[\d.]+ +[\d.]+ /m, 'matmul rows have GFLOP/s');
  assert.match(r.stdout, /^adamw_update\S* +1 /m);
  const trace = JSON.parse(readFileSync(tracePath, 'utf8')) as { traceEvents: { ph: string; ts: number; dur: number; name: string; args: { step: number } }[] };
  const x = trace.traceEvents.filter((e) => e.ph === 'X');
  const perStep = x.filter((e) => e.args.step === 1).length;
  assert.ok(perStep > 20, `${perStep} dispatches per step`);
  assert.equal(x.filter((e) => e.args.step === 2).length, perStep, 'the same dispatches every step');
  for (const e of x) assert.ok(e.dur >= 0 && e.ts >= 0);
  // Within a step the passes run in order: each starts after the previous one started.
  const s1 = x.filter((e) => e.args.step === 1);
  for (let i = 1; i < s1.length; i++) assert.ok(s1[i]!.ts >= s1[i - 1]!.ts, `dispatch ${i} starts before ${i - 1}`);
  rmSync(dir, { recursive: true, force: true });
});
