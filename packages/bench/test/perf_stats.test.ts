// The statistics behind `bench calibrate` / `bench compare`: t quantiles against published
// values, the A/A noise floor, calibration from runs, the inconclusive verdict, and the exact
// comparison of structural counters (which kernels grew). No GPU, no timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mulberry32 } from '@tunebench/eval';
import { newCounters, type GpuCounters } from '@tunebench/kernels';
import { compare, compareCounters, counterReport } from '../src/perf/compare.js';
import { calibrationFrom } from '../src/perf/calibrate.js';
import { PERF_BENCHMARK, PERF_SCHEMA_VERSION, PERF_SET, checkPerfFile, type PerfFile } from '../src/perf/record.js';
import { medianRatioInterval, noiseFloor, tCdf, tInterval, tQuantile } from '../src/perf/stats.js';

test('tQuantile: published two-sided 95 % and 99 % critical values; the normal limit', () => {
  const table: [number, number, number][] = [[0.975, 1, 12.706], [0.975, 4, 2.776], [0.975, 10, 2.228], [0.995, 10, 3.169], [0.995, 2, 9.925], [0.975, 30, 2.042]];
  for (const [p, df, want] of table) assert.ok(Math.abs(tQuantile(p, df) - want) < 2e-3 * want, `t(${p}, ${df}) = ${tQuantile(p, df)}, want ${want}`);
  assert.ok(Math.abs(tQuantile(0.975, 1e7) - 1.95996) < 1e-4);
  assert.ok(Math.abs(tQuantile(0.025, 4) + 2.776) < 6e-3);
  fc.assert(fc.property(fc.double({ min: -8, max: 8, noNaN: true }), fc.integer({ min: 1, max: 50 }), (t, df) => {
    assert.ok(Math.abs(tCdf(t, df) + tCdf(-t, df) - 1) < 1e-9);
  }), { numRuns: 50 });
});

test('tInterval and medianRatioInterval cover what they should', () => {
  const ci = tInterval([1, 2, 3, 4, 5], 0.95);
  assert.ok(Math.abs(ci.halfWidth - 2.776 * Math.sqrt(2.5) / Math.sqrt(5)) < 5e-3);
  const rand = mulberry32(2);
  const base = Array.from({ length: 30 }, () => 1 + 0.02 * rand()), cur = base.map((x) => 1.2 * x);
  const r = medianRatioInterval(base, cur);
  assert.ok(r.lo < 0.2 + 1e-9 && r.hi > 0.2 - 0.03 && r.lo > 0.15, JSON.stringify(r));
  assert.deepEqual(medianRatioInterval(base, cur), r, 'seeded: the same data give the same interval');
});

test('noiseFloor: grows with the spread of same-code runs, at least the largest change seen', () => {
  const tight = noiseFloor([1, 1.01, 0.99, 1.0, 1.005], 0.01);
  const loose = noiseFloor([1, 1.2, 0.85, 1.1, 0.9], 0.01);
  assert.ok(loose.floor > tight.floor);
  assert.ok(loose.floor >= loose.largestSeen - 1e-12);
  assert.ok(Math.abs(loose.largestSeen - (1.2 / 0.85 - 1)) < 1e-12);
  // Identical runs: no noise.
  assert.equal(noiseFloor([2, 2, 2], 0.05).floor, 0);
  assert.throws(() => noiseFloor([1, 2], 0.05), /at least 3 runs/);
});

const REF = 'ref';
function file(scale: Record<string, number>, seed: number, noise = 0.03, n = 10): PerfFile {
  const rand = mulberry32(seed);
  const res = (name: string, m: number) => {
    const samples = Array.from({ length: n }, () => m * (1 + noise * (rand() - 0.5)));
    return { name, unit: 'ms' as const, samples, median: m, flops: 0, bytes: 0 };
  };
  return {
    schemaVersion: PERF_SCHEMA_VERSION, benchmark: PERF_BENCHMARK, set: PERF_SET, reference: REF, adapter: 'test', dawnFlags: [], gitRevision: null,
    createdAt: '2026-12-07T00:00:00Z', results: Object.entries({ [REF]: 1, ...scale }).map(([k, v]) => res(k, v)),
  };
}

test('calibration: the baseline carries a floor per benchmark, and compare holds each to max(threshold, floor)', () => {
  // "noisy" moves ±25 % between runs of the same code, "steady" ±1 %.
  const rand = mulberry32(9);
  const runs = Array.from({ length: 6 }, (_, i) => file({ steady: 2 * (1 + 0.02 * (rand() - 0.5)), noisy: 3 * (1 + 0.5 * (rand() - 0.5)) }, 10 + i));
  const cal = calibrationFrom(runs, 0.01, [1, 2, 3]);
  assert.equal(cal.runs, 6);
  assert.ok(cal.benchmarks.noisy!.floor > 0.2, String(cal.benchmarks.noisy!.floor));
  assert.ok(cal.benchmarks.steady!.floor < 0.1, String(cal.benchmarks.steady!.floor));
  const base: PerfFile = { ...runs[0]!, calibration: cal };
  checkPerfFile(JSON.parse(JSON.stringify(base)), 'calibrated.json');
  // Both 15 % slower than the baseline: above the 10 % threshold, but within noisy's floor.
  const cur = file({ steady: base.results[1]!.median * 1.15, noisy: base.results[2]!.median * 1.15 }, 99);
  const rows = Object.fromEntries(compare(base, cur).map((r) => [r.name, r]));
  assert.equal(rows.steady!.verdict, 'regression');
  assert.equal(rows.noisy!.verdict, 'same');
  assert.equal(rows.noisy!.noiseFloor, cal.benchmarks.noisy!.floor);
  assert.equal(rows.noisy!.threshold, cal.benchmarks.noisy!.floor);
  assert.equal(rows.steady!.threshold, 0.1);
  assert.throws(() => calibrationFrom(runs.slice(0, 2), 0.01), /at least 3 runs/);
});

test('compare: too few or too spread samples for a verdict is INCONCLUSIVE, never SAME', () => {
  const base = file({ a: 2 }, 1, 0.6, 6), cur = file({ a: 2 }, 2, 0.6, 6);
  const [row] = compare(base, cur);
  assert.equal(row!.verdict, 'inconclusive');
  assert.ok((row!.ciHi! - row!.ciLo!) / 2 > 0.1 / 3);
  // The same spread but a change far beyond the threshold: its whole interval is beyond it, a verdict.
  const [far] = compare(base, file({ a: 8 }, 3, 0.6, 6));
  assert.equal(far!.verdict, 'regression');
});

function counters(kernels: Record<string, number>): GpuCounters {
  const c = newCounters();
  for (const [k, n] of Object.entries(kernels)) {
    c.kernels[k] = { dispatches: n, workgroups: 4 * n, invocations: 256 * n, bytesBound: 1000 * n, flops: 0 };
    c.dispatches += n; c.workgroups += 4 * n; c.bytesBound += 1000 * n;
  }
  c.submits = 1;
  return c;
}

test('compareCounters: exact; any increase is reported with the kernels responsible', () => {
  const base = file({ a: 2, b: 3 }, 1), cur = file({ a: 2, b: 3 }, 2);
  base.results[1]!.counters = counters({ 'gelu:none': 1, matmul: 2 });
  base.results[2]!.counters = counters({ layernorm: 1 });
  cur.results[1]!.counters = counters({ 'gelu:none': 2, matmul: 2 });
  cur.results[2]!.counters = counters({ layernorm: 1 });
  const ch = compareCounters(base, cur);
  assert.equal(ch.length, 1);
  assert.equal(ch[0]!.name, 'a');
  assert.deepEqual(ch[0]!.increased.find((x) => x[0] === 'dispatches'), ['dispatches', 3, 4]);
  assert.deepEqual(ch[0]!.kernels, ['gelu:none (dispatches 1 → 2, workgroups 4 → 8, invocations 256 → 512, bytesBound 1000 → 2000)']);
  assert.match(counterReport(ch), /a: UP dispatches 3 → 4.*\n\s+kernels responsible: gelu:none/);
  assert.equal(counterReport(compareCounters(base, base)), 'structural counters: identical to the baseline');
  // A kernel that appears is named as new.
  cur.results[2]!.counters = counters({ layernorm: 1, extra_copy: 1 });
  assert.match(compareCounters(base, cur).find((c) => c.name === 'b')!.kernels[0]!, /^extra_copy \(new: 1 dispatch/);
  // Files without counters (schema version 1) compare timings only.
  delete cur.results[1]!.counters;
  assert.equal(compareCounters(base, cur).some((c) => c.name === 'a'), false);
});

test('a bench:kernels results file is read as a performance file (the matmul roofline reference divides)', () => {
  const rec = (name: string, m: number, seed: number, counters?: GpuCounters) => {
    const rand = mulberry32(seed);
    const samples_ms = Array.from({ length: 7 }, () => m * (1 + 0.02 * (rand() - 0.5)));
    return { family: 'x', name, shape: {}, info: {}, flops: 10, bytes: 20, samples: 7, samples_ms, median_ms: m, mean_ms: m, min_ms: m, ...(counters ? { counters } : {}) };
  };
  const kfile = (slow: number) => ({
    kind: 'tunebench-kernel-bench', version: 1, started: '2026-12-07T00:00:00Z', finished: '', quick: false, filter: null,
    adapter: { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe', isSoftware: true }, features: [], dawnFlags: [], node: 'v20', loadavg: [1, 1, 1],
    records: [rec('gelu_forward 1M', 2 * slow, 1, counters({ gelu: slow > 1 ? 2 : 1 })), rec('layernorm 4096x128', 1, 2)],
    roofline: { ceilings: {}, references: [rec('matmul nn 1024x1024x1024', 100, 3), rec('copy N=262144', 1, 4), rec('matmul nn 1024x1024x1024', 100, 5)] },
  });
  const base = checkPerfFile(kfile(1), 'k1.json');
  assert.equal(base.reference, 'matmul nn 1024x1024x1024');
  assert.equal(base.results[0]!.samples.length, 14, 'every measurement of the reference, pooled');
  assert.deepEqual(base.results.map((r) => r.name), ['matmul nn 1024x1024x1024', 'gelu_forward 1M', 'layernorm 4096x128']);
  const rows = Object.fromEntries(compare(base, checkPerfFile(kfile(1.5), 'k2.json')).map((r) => [r.name, r.verdict]));
  assert.deepEqual(rows, { 'gelu_forward 1M': 'regression', 'layernorm 4096x128': 'same' });
  assert.equal(compareCounters(base, checkPerfFile(kfile(1.5), 'k2.json'))[0]!.kernels[0], 'gelu (dispatches 1 → 2, workgroups 4 → 8, invocations 256 → 512, bytesBound 1000 → 2000)');
  const old = kfile(1);
  delete (old.records[0] as { samples_ms?: number[] }).samples_ms;
  assert.throws(() => checkPerfFile(old, 'old.json'), /old\.json: 'gelu_forward 1M' has no samples_ms/);
  assert.throws(() => checkPerfFile({ ...kfile(1), roofline: null }, 'nr.json'), /no 'matmul nn 1024x1024x1024' reference \(run without --no-roofline\)/);
});

test('interleaved verdicts (sequential paired t-intervals), simulated: few false verdicts in A/A, a 30 % slow-down caught', async () => {
  const { pairedVerdict } = await import('../src/perf/interleave.js');
  const rand = mulberry32(7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  // One comparison: pairs of log differences (effect + noise) until a verdict or 40 pairs, as interleavedCompare does.
  const once = (effect: number, sigma: number) => {
    const d: number[] = [];
    for (let i = 0; i < 40; i++) {
      d.push(Math.log1p(effect) + sigma * gauss());
      const v = pairedVerdict(d, 0.1, 0.99, 3);
      if (v) return v;
    }
    return 'inconclusive';
  };
  const tally = (effect: number, sigma: number, n: number) => {
    const c: Record<string, number> = { regression: 0, improvement: 0, same: 0, inconclusive: 0 };
    for (let k = 0; k < n; k++) c[once(effect, sigma)]!++;
    return c;
  };
  // Same code, per-pair noise 15 % (this machine under load): at most 1 % REGRESSION or IMPROVEMENT.
  const aa = tally(0, 0.15, 300);
  assert.ok(aa.regression! + aa.improvement! <= 3, JSON.stringify(aa));
  // Quiet noise (5 %): same code is called SAME.
  assert.ok(tally(0, 0.05, 100).same! >= 99);
  // 30 % slower with 15 % noise: caught.
  assert.ok(tally(0.3, 0.15, 100).regression! >= 95);
  // 30 % faster: an improvement, never a regression.
  const fast = tally(-0.3 / 1.3, 0.15, 100);
  assert.equal(fast.regression, 0);
  assert.ok(fast.improvement! >= 95, JSON.stringify(fast));
  assert.equal(pairedVerdict([0.5, 0.5], 0.1, 0.99, 3), null, 'no verdict before min pairs');
});
