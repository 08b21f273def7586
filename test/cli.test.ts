// The `tunebench` command end to end: doctor passes on this machine's adapter, and without any
// adapter it ends with the message that names what to install (not a stack trace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/tunebench.mjs', import.meta.url));

function tunebench(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
}

test('tunebench doctor prints the adapter and a passing self-check', () => {
  const r = tunebench(['doctor']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^adapter /m);
  assert.match(r.stdout, /ok {4}matmul 130×257×64 \(\+bias\) matches the float64 reference/);
  assert.match(r.stdout, /time {2}matmul 512³: [\d.]+ ms/);
  assert.match(r.stdout, /doctor: all checks passed/);
});

test('tunebench doctor without an adapter exits 1 with what to install', () => {
  const r = tunebench(['doctor'], { VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /No WebGPU adapter was found/);
  assert.match(r.stdout, /mesa-vulkan-drivers/);
  assert.doesNotMatch(r.stdout + r.stderr, /at openGpu|node:internal/);
});

test('an unknown subcommand is a clear error', () => {
  const r = tunebench(['frobnicate']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
