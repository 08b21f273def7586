// Structural counters (counters.ts) and the TUNEBENCH_SLOWDOWN switch (slowdown.ts): exact counts
// of what a launcher does, against what its shapes say it must do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuForTests } from '../src/test_gpu.js';
import {
  countersDelta, gelu_forward, matmul_forward, mulberry32, parseSlowdown, randomF32, workgroupSizeOf, type Gpu,
} from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

test('workgroupSizeOf: literals, override constants, module constants, the right entry point', () => {
  assert.equal(workgroupSizeOf('@compute @workgroup_size(64) fn main() {}'), 64);
  assert.equal(workgroupSizeOf('@compute @workgroup_size(8u, 4u, 2) fn main() {}'), 64);
  assert.equal(workgroupSizeOf('override WG: u32 = 32u;\n@compute @workgroup_size(WG, 2)\nfn main() {}'), 64);
  assert.equal(workgroupSizeOf('override WG: u32 = 32u;\n@compute @workgroup_size(WG) fn main() {}', { WG: 128 }), 128);
  assert.equal(workgroupSizeOf('@compute @workgroup_size(16) fn a() {}\n@compute @workgroup_size(256) fn main() {}'), 256);
  assert.equal(workgroupSizeOf('@compute @workgroup_size(WG * 2) fn main() {}'), null);
  assert.equal(workgroupSizeOf('@compute @workgroup_size(64) fn other() {}'), null);
});

test('parseSlowdown: label regex and factor after the last colon; bad input names the part', () => {
  const s = parseSlowdown('gelu_forward:1.5, matmul.*:2')!;
  assert.equal(s.factorOf('gelu_forward:none'), 1.5);
  assert.equal(s.factorOf('matmul_forward:subgroup:v4'), 2);
  assert.equal(s.factorOf('layernorm_forward'), 1);
  // Whole repeats, then the fraction over the largest axis.
  assert.deepEqual(s.extra('gelu_forward:none', [10, 3, 1]), [[5, 3, 1]]);
  assert.deepEqual(s.extra('matmul_forward:x', [4, 2, 1]), [[4, 2, 1]]);
  // A one-workgroup dispatch: the fraction carries over (0.5 + 0.5 → one extra every second time).
  assert.deepEqual([0, 1, 2, 3].map(() => s.extra('gelu_forward:none', [1, 1, 1]).length), [0, 1, 0, 1]);
  assert.equal(parseSlowdown('  '), null);
  assert.throws(() => parseSlowdown('gelu'), /TUNEBENCH_SLOWDOWN: 'gelu': expected <kernel-label-regex>:<factor/);
  assert.throws(() => parseSlowdown('gelu:0.5'), /'gelu:0.5': the factor must be a number in \[1, 100\]/);
  assert.throws(() => parseSlowdown('(:2'), /not a regular expression/);
});

test('counters: a matmul counts its dispatches, FLOPs from the shapes, bound bytes, one compile, readbacks', async () => {
  const rand = mulberry32(3);
  const M = 64, N = 48, K = 32;
  const a = gpu.buffer(randomF32(rand, M * K, -1, 1)), b = gpu.buffer(randomF32(rand, K * N, -1, 1)), c = gpu.zeros(M * N * 4);
  const run = async () => {
    const before = gpu.snapshotCounters();
    const enc = gpu.encoder('t');
    matmul_forward(gpu, enc, c, a, b, null, M, N, K);
    await enc.submit();
    await gpu.sync();
    return countersDelta(gpu.snapshotCounters(), before);
  };
  const first = await run();
  const second = await run();
  for (const d of [first, second]) {
    assert.equal(d.flops, 2 * M * N * K, 'FLOPs = 2·M·N·K');
    assert.equal(d.submits, 1);
    assert.equal(d.readbacks, 0);
    assert.ok(d.dispatches >= 1);
    assert.equal(Object.values(d.kernels).reduce((s, k) => s + k.dispatches, 0), d.dispatches);
    // Every dispatch binds at least A, B and C.
    assert.ok(d.bytesBound >= 4 * (M * K + K * N + M * N), String(d.bytesBound));
    for (const k of Object.values(d.kernels)) assert.ok(k.invocations === null || k.invocations >= k.workgroups);
  }
  assert.ok(first.pipelinesCompiled >= 1, 'the first run compiles');
  assert.equal(second.pipelinesCompiled, 0, 'the second run hits the pipeline cache');
  assert.equal(second.buffersCreated, 0, 'uniforms are cached: a repeated step allocates nothing');
  assert.deepEqual(second.kernels, first.kernels, 'the same shapes count the same, kernel by kernel');
  const before = gpu.snapshotCounters();
  await gpu.read(c);
  const r = countersDelta(gpu.snapshotCounters(), before);
  assert.deepEqual([r.readbacks, r.readbackBytes, r.submits, r.dispatches], [1, M * N * 4, 1, 0]);
  const z = gpu.zeros(1000);
  assert.equal(countersDelta(gpu.snapshotCounters(), before).bytesAllocated, 1000);
  [a, b, c, z].forEach((x) => x.destroy());
});

test('counters: an encoder that is never submitted counts nothing; an injected slow-down is counted', async () => {
  const n = 4096;
  const x = gpu.buffer(randomF32(mulberry32(5), n, -3, 3)), out = gpu.zeros(n * 4);
  const before = gpu.snapshotCounters();
  gelu_forward(gpu, gpu.encoder('probe'), out, x, n);
  assert.equal(countersDelta(gpu.snapshotCounters(), before).dispatches, 0);
  const once = async () => {
    const b0 = gpu.snapshotCounters();
    const enc = gpu.encoder('t');
    gelu_forward(gpu, enc, out, x, n);
    await enc.submit();
    await gpu.sync();
    return countersDelta(gpu.snapshotCounters(), b0);
  };
  const plain = await once();
  // The Gpu reads TUNEBENCH_SLOWDOWN once when it opens; swap a rule set in for this check.
  const g = gpu as unknown as { slowdown: unknown };
  const saved = g.slowdown;
  g.slowdown = parseSlowdown('gelu:2');
  try {
    const slowed = await once();
    assert.equal(slowed.dispatches, 2 * plain.dispatches);
    assert.equal(slowed.workgroups, 2 * plain.workgroups);
  } finally {
    g.slowdown = saved;
  }
  x.destroy();
  out.destroy();
});
