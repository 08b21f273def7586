// Smoke test of the kernel benchmark harness (src/bench/cli.ts): runs one small matmul case with
// --quick in a child process and checks the results file's shape. No speed is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCases } from '../src/bench/cli.js';
import type { BenchResultsFile } from '../src/bench/types.js';
import { copyRateFor, ROOFLINE_REFERENCES, rooflineBoundBy, rooflineBoundMs, rooflineRatio } from '../src/bench/roofline.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const cli = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', 'src/bench/cli.ts', ...args], {
    cwd: pkg,
    encoding: 'utf8',
    timeout: 120_000,
  });

test('the harness finds the case files; every case has a unique name, FLOPs (≥ 0) and bytes (> 0)', async () => {
  const cases = await loadCases(true);
  const names = cases.map((c) => c.name);
  assert.ok(names.includes('matmul nn 1024x1024x1024'));
  assert.ok(names.some((n) => n.startsWith('linear_backward')) && names.some((n) => n.startsWith('bias_backward')));
  assert.equal(new Set(names).size, names.length);
  // Pure data movement (gather, copy) has no FLOPs; every kernel moves bytes.
  for (const c of cases) assert.ok(c.flops >= 0 && c.bytes > 0 && c.family.length > 0, c.name);
});

test('bench --quick on one case writes a results file with one well-formed record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-bench-'));
  try {
    const out = join(dir, 'r.json');
    const r = cli(['--quick', '--filter', '^matmul nn 512x512x512$', '--out', out]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /matmul nn 512x512x512/);
    assert.ok(r.stdout.includes(`results: ${out}`));
    const file = JSON.parse(readFileSync(out, 'utf8')) as BenchResultsFile;
    assert.equal(file.kind, 'tunebench-kernel-bench');
    assert.equal(file.quick, true);
    assert.equal(typeof file.adapter.description, 'string');
    assert.equal(file.records.length, 1);
    const rec = file.records[0];
    assert.equal(rec.name, 'matmul nn 512x512x512');
    assert.equal(rec.family, 'matmul');
    assert.equal(rec.flops, 2 * 512 ** 3);
    assert.equal(rec.bytes, 3 * 512 * 512 * 4);
    assert.deepEqual(rec.shape, { M: 512, N: 512, K: 512, batch: 1, transA: false, transB: false, bias: false, accumulate: false });
    for (const k of ['median_ms', 'mean_ms', 'min_ms', 'gflops', 'gbps', 'naive_median_ms', 'speedup_vs_naive'] as const) {
      assert.ok(typeof rec[k] === 'number' && Number.isFinite(rec[k]) && rec[k]! > 0, `${k} = ${rec[k]}`);
    }
    assert.ok(Math.abs(rec.gflops - rec.flops / (rec.median_ms * 1e6)) < 1e-9 * rec.gflops);
    assert.ok(rec.samples >= 2);
    assert.equal(typeof rec.info.variant, 'string');
    // Roofline: ceilings from the reference cases of the same run, and the record's ratio.
    assert.ok(file.roofline, 'roofline missing');
    const refNames = [ROOFLINE_REFERENCES.flops, ...ROOFLINE_REFERENCES.bytes, ROOFLINE_REFERENCES.overhead, ROOFLINE_REFERENCES.dispatch];
    assert.deepEqual(file.roofline.references.map((r) => r.name), refNames);
    const c = file.roofline.ceilings;
    assert.equal(c.gflops, file.roofline.references[0].gflops);
    assert.deepEqual(c.copies, file.roofline.references.slice(1, -2).map((r) => ({ bytes: r.bytes, gbps: r.gbps })));
    assert.equal(c.overhead_ms, file.roofline.references.at(-2)!.median_ms);
    const x8 = file.roofline.references.at(-1)!;
    assert.equal(x8.dispatches, 8);
    assert.equal(c.dispatch_ms, Math.max(0, (x8.median_ms - c.overhead_ms) / 7));
    assert.equal(rec.dispatches, 1);
    assert.deepEqual(rec.roofline_ceilings, c);
    assert.equal(rec.roofline_bound, 'flops');
    assert.ok(Math.abs(rec.roofline_ratio! - rooflineRatio(rec.median_ms, rec.flops, rec.bytes, c, rec.dispatches)) < 1e-12);
    assert.match(r.stdout, /ceilings \(same run\): [\d.]+ GFLOP\/s/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench re-measures the roofline ceilings before each further family', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunebench-bench-'));
  try {
    const out = join(dir, 'r.json');
    const r = cli(['--quick', '--no-naive', '--filter', '^(fill N=1048576|matmul nn 512x512x512)$', '--out', out]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const file = JSON.parse(readFileSync(out, 'utf8')) as BenchResultsFile;
    const refNames = [ROOFLINE_REFERENCES.flops, ...ROOFLINE_REFERENCES.bytes, ROOFLINE_REFERENCES.overhead, ROOFLINE_REFERENCES.dispatch];
    assert.deepEqual(file.records.map((x) => x.family), ['elementwise', 'matmul']);
    // One full set first, one short set before the second family; each record uses the latest.
    assert.deepEqual(file.roofline!.references.map((x) => x.name), [...refNames, ...refNames]);
    const second = file.roofline!.references.slice(refNames.length);
    assert.equal(file.records[0].roofline_ceilings!.gflops, file.roofline!.references[0].gflops);
    assert.equal(file.records[1].roofline_ceilings!.gflops, second[0].gflops);
    assert.equal(file.records[1].roofline_ceilings!.overhead_ms, second.at(-2)!.median_ms);
    assert.match(r.stdout, /ceilings \(re-measured before matmul\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('roofline bound: fixed cost + the slower of FLOPs at the matmul rate and bytes at the copy rate for that size', () => {
  const c = { gflops: 20, copies: [{ bytes: 2 ** 23, gbps: 6 }, { bytes: 2 ** 25, gbps: 3 }], overhead_ms: 0.1, dispatch_ms: 0.03 };
  // Copy rate: the reference's at its size, clamped outside, log-linear between (2²⁴ is halfway).
  assert.equal(copyRateFor(2 ** 20, c.copies), 6);
  assert.equal(copyRateFor(2 ** 23, c.copies), 6);
  assert.ok(Math.abs(copyRateFor(2 ** 24, c.copies) - 4.5) < 1e-12);
  assert.equal(copyRateFor(2 ** 30, c.copies), 3);
  // 2·1024³ FLOPs at 20 GFLOP/s = 107.37 ms; 12 MiB at ≈ 5.1 GB/s ≈ 2.5 ms → FLOP-bound.
  assert.ok(Math.abs(rooflineBoundMs(2 * 1024 ** 3, 3 * 4 * 1024 ** 2, c) - (0.1 + 2 * 1024 ** 3 / 20e6)) < 1e-9);
  assert.equal(rooflineBoundBy(2 * 1024 ** 3, 3 * 4 * 1024 ** 2, c), 'flops');
  // 8 MiB moved at 6 GB/s = 1.398 ms (+ 0.1); a kernel taking 2.896 ms sits at 2×.
  const bound = rooflineBoundMs(0, 2 ** 23, c);
  assert.ok(Math.abs(bound - (0.1 + 2 ** 23 / 6e6)) < 1e-12);
  assert.equal(rooflineBoundBy(0, 2 ** 23, c), 'bytes');
  assert.ok(Math.abs(rooflineRatio(2 * bound, 0, 2 ** 23, c) - 2) < 1e-12);
  // Each further dispatch adds its launch cost: 5 dispatches of no work = 0.1 + 4 · 0.03 ms.
  assert.ok(Math.abs(rooflineBoundMs(0, 4, c, 5) - (0.1 + 4 * 0.03 + 4 / 6e6)) < 1e-12);
  assert.ok(Math.abs(rooflineRatio(0.44, 0, 4, c, 5) / rooflineRatio(0.44, 0, 4, c, 1) - rooflineBoundMs(0, 4, c, 1) / rooflineBoundMs(0, 4, c, 5)) < 1e-12);
  assert.throws(() => rooflineBoundMs(1, 1, { ...c, gflops: 0 }), /ceilings must be positive/);
  assert.throws(() => rooflineBoundMs(1, 1, { ...c, dispatch_ms: -1 }), /ceilings must be positive/);
});

test('bench rejects a filter that matches nothing or is not a regex', () => {
  const none = cli(['--quick', '--filter', '^no such case$']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no benchmark case matches/);
  const bad = cli(['--filter', '(']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /not a valid regular expression/);
});
