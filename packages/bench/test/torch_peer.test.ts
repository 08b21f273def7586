// The PyTorch CPU peer of `bench peers` (src/perf/torch_peer.ts, scripts/torch_peer.py): the
// parsing of the script's JSON (every malformed field named), the skip paths (no interpreter; a
// python that cannot import torch), and, when Debian's python3-torch is present, one real step of
// each case (its output shape only — no timings are asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEBIAN_PYTHON, parseTorchPeerOutput, runTorchPeer, TORCH_PEER_SCRIPT } from '../src/perf/torch_peer.js';

const good = { peer: 'pytorch-cpu', case: 'layer', torch: '1.13.0', threads: 2, steps: 2, warmup: 1, ms: [41.5, 39.25] };

test('parseTorchPeerOutput: reads the last JSON line, ignoring warnings printed before it', () => {
  const r = parseTorchPeerOutput(`UserWarning: something\n\n${JSON.stringify(good)}\n`, 'layer');
  assert.deepEqual(r, { kind: 'measured', case: 'layer', torch: '1.13.0', threads: 2, ms: [41.5, 39.25] });
});

test('parseTorchPeerOutput: a skip line is a skip with its reason', () => {
  assert.deepEqual(parseTorchPeerOutput('{"skipped": "no torch here"}\n', 'tiny'), { kind: 'skipped', reason: 'no torch here' });
  assert.throws(() => parseTorchPeerOutput('{"skipped": ""}', 'tiny'), /field "skipped" must be a non-empty string/);
});

test('parseTorchPeerOutput: malformed output names what is wrong', () => {
  const bad = (o: unknown) => JSON.stringify(o);
  assert.throws(() => parseTorchPeerOutput('', 'layer'), /printed nothing/);
  assert.throws(() => parseTorchPeerOutput('Traceback (most recent call last):', 'layer'), /last output line is not JSON/);
  assert.throws(() => parseTorchPeerOutput('[1, 2]', 'layer'), /expected a JSON object/);
  assert.throws(() => parseTorchPeerOutput(bad({ ...good, peer: 'tfjs' }), 'layer'), /field "peer" must be "pytorch-cpu"/);
  assert.throws(() => parseTorchPeerOutput(bad(good), 'tiny'), /field "case" must be "tiny", got "layer"/);
  assert.throws(() => parseTorchPeerOutput(bad({ ...good, torch: 1.13 }), 'layer'), /field "torch" must be a version string/);
  assert.throws(() => parseTorchPeerOutput(bad({ ...good, threads: 0 }), 'layer'), /field "threads" must be a positive integer/);
  assert.throws(() => parseTorchPeerOutput(bad({ ...good, ms: [] }), 'layer'), /field "ms" must be a non-empty array/);
  assert.throws(() => parseTorchPeerOutput(bad({ ...good, ms: [1, 'x'] }), 'layer'), /field "ms"\[1\] must be a finite number/);
  assert.throws(() => parseTorchPeerOutput(bad({ ...good, ms: [1, null] }), 'layer'), /field "ms"\[1\]/);
});

test('runTorchPeer: a missing interpreter is a skip naming it, not a failure', async () => {
  const r = await runTorchPeer('layer', { steps: 1, warmup: 0, python: '/nonexistent/bin/python3' });
  assert.equal(r.kind, 'skipped');
  assert.match(r.kind === 'skipped' ? r.reason : '', /\/nonexistent\/bin\/python3 not found.*python3-torch/);
});

const hasPython = existsSync(DEBIAN_PYTHON);
const hasTorch = hasPython && spawnSync(DEBIAN_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test('the script, run by a python that cannot import torch, prints a skip line', { skip: hasPython ? false : `needs ${DEBIAN_PYTHON}` }, () => {
  // -S leaves out site-packages/dist-packages, where Debian's python3-torch lives (-I also drops PYTHONPATH).
  const r = spawnSync(DEBIAN_PYTHON, ['-S', '-I', TORCH_PEER_SCRIPT, 'layer', '--steps', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const p = parseTorchPeerOutput(r.stdout, 'layer');
  assert.equal(p.kind, 'skipped');
  assert.match(p.kind === 'skipped' ? p.reason : '', /PyTorch cannot be imported.*torch/);
});

test('the script rejects bad arguments with a non-zero exit and runTorchPeer reports it as an error', { skip: hasPython ? false : `needs ${DEBIAN_PYTHON}` }, async () => {
  const r = spawnSync(DEBIAN_PYTHON, [TORCH_PEER_SCRIPT, 'layer', '--steps', '0'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--steps ≥ 1/);
  await assert.rejects(runTorchPeer('layer', { steps: 0, warmup: 0 }), /torch_peer\.py layer failed[\s\S]*--steps ≥ 1/);
});

test('with python3-torch: one step of each case runs and prints its JSON', { skip: hasTorch ? false : `needs ${DEBIAN_PYTHON} with torch (Debian: apt-get install python3-torch)` }, async () => {
  for (const which of ['layer', 'tiny'] as const) {
    const r = await runTorchPeer(which, { steps: 1, warmup: 0, threads: 1 });
    assert.equal(r.kind, 'measured', JSON.stringify(r));
    if (r.kind !== 'measured') continue;
    assert.equal(r.case, which);
    assert.equal(r.threads, 1);
    assert.equal(r.ms.length, 1);
    assert.match(r.torch, /^\d+\.\d+/);
  }
});
