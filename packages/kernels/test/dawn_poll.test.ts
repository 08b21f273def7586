// The back-off for Dawn's event polling (src/dawn_poll.ts): JavaScript callbacks of setImmediate
// are untouched, native ones (Dawn's poll) move to timers once a wait lasts, and GPU waits still
// resolve with the back-off installed.
import { test } from 'node:test';
import { gpuForTests } from '../src/test_gpu.js';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { copy, dawnPollBackoffInstalled, installDawnPollBackoff, isNativeCallback, pollDelayMs, type Gpu } from '../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

test('pollDelayMs: no delay in the first millisecond, then nondecreasing, at most 4 ms and at most 1/16 of the wait so far', () => {
  assert.equal(pollDelayMs(0), 0);
  assert.equal(pollDelayMs(0.99), 0);
  fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (a, b) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    assert.ok(pollDelayMs(lo) <= pollDelayMs(hi));
    assert.ok(pollDelayMs(hi) <= 4 && pollDelayMs(hi) <= hi / 16);
  }));
});

test('isNativeCallback: native functions yes; arrow, plain, async and bound JavaScript functions no', () => {
  assert.ok(isNativeCallback(Atomics.store));
  assert.ok(isNativeCallback(Math.max));
  for (const f of [() => 1, function named() {}, async () => {}, (() => 1).bind(null), Math.max.bind(null)]) assert.equal(isNativeCallback(f), false, String(f));
  assert.equal(isNativeCallback(undefined), false);
});

test('openGpu installs the back-off unless TUNEBENCH_DAWN_POLL=spin', () => {
  assert.equal(dawnPollBackoffInstalled(), process.env.TUNEBENCH_DAWN_POLL !== 'spin');
  assert.equal(installDawnPollBackoff({ TUNEBENCH_DAWN_POLL: 'spin' }), false);
});

test('installed: JavaScript callbacks run as immediates with their arguments; promisify still works', async () => {
  assert.ok(installDawnPollBackoff({}));
  assert.ok(dawnPollBackoffInstalled());
  assert.notEqual(setImmediate.name, '', 'the wrapper keeps a name');
  const got: number[] = [];
  await new Promise<void>((resolve) => {
    const handle = setImmediate((a: number, b: number) => { got.push(a, b); resolve(); }, 3, 4);
    assert.equal('refresh' in handle, false, 'a JavaScript callback is an Immediate, not a Timeout');
  });
  assert.deepEqual(got, [3, 4]);
  assert.equal(await promisify(setImmediate)('x'), 'x');
});

test('a chain of native polls starts as immediates and moves to timers once it is older than 1 ms', async () => {
  const cell = new Int32Array(1);
  // Atomics.store is a native function that needs no \`this\`: it stands in for Dawn's poll.
  const nativeStore = Atomics.store as unknown as (...args: unknown[]) => void;
  // A wait starts after ≥ 50 ms without native polls (earlier GPU tests may have polled).
  await new Promise((r) => setTimeout(r, 60));
  const first = setImmediate(nativeStore, cell, 0, 1);
  assert.equal('refresh' in first, false, 'the first poll of a wait is immediate');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(cell[0], 1, 'the native callback ran with its arguments');
  const t0 = performance.now();
  while (performance.now() - t0 < 2) { /* let the wait grow older than 1 ms */ }
  const later = setImmediate(nativeStore, cell, 0, 2);
  assert.equal('refresh' in later, true, 'a later poll of the same wait is a Timeout');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(cell[0], 2);
});

test('GPU waits (onSubmittedWorkDone, mapAsync) resolve with the back-off installed, with correct data', async () => {
  const n = 1 << 16;
  const src = gpu.buffer(Float32Array.from({ length: n }, (_, i) => i));
  const dst = gpu.zeros(n * 4);
  for (let round = 0; round < 3; round++) {
    const enc = gpu.encoder();
    for (let i = 0; i < 20; i++) copy(gpu, enc, i % 2 ? src : dst, i % 2 ? dst : src, n);
    await enc.submit();
    await gpu.sync();
    const out = await gpu.read(src);
    assert.equal(out[n - 1], n - 1);
    assert.equal(out[12345], 12345);
  }
});
