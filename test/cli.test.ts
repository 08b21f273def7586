// The `tunebench` command end to end: doctor passes on this machine's adapter, and without any
// adapter it ends with the message that names what to install (not a stack trace); a tiny
// trainer run through the binary. (Here, not in a package: the binary loads every package.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test('the tunebench binary: a tiny finetune → evaluate run on the cpu backend, and exit code 1 with the message on bad input', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-cli-'));
  const sh = (args: string[]) => tunebench(args, { TUNEBENCH_DEBUG: '' });
  const train = join(dir, 'bin_train.jsonl');
  writeFileSync(train, Array.from({ length: 16 }, (_, i) => JSON.stringify({ id: `b${i}`, text: i % 2 ? 'good film' : 'bad film', label: i % 2 ? 'pos' : 'neg' })).join('\n') + '\n');
  const vocab = join(dir, 'bin_vocab.txt');
  writeFileSync(vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'film'].join('\n') + '\n');
  const out = join(dir, 'bin_run');
  const r = sh(['finetune', '--backend', 'cpu', '--train', train, '--dev', train, '--vocab', vocab, '--out', out, '--max-steps', '3', '--batch-size', '8',
    '--set', 'model.shape={"numLayers":1,"hiddenSize":8,"numHeads":2,"intermediateSize":16}', '--set', 'model.maxPositions=8', '--set', 'data.maxLength=8', '--set', 'training.logEvery=1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /step 3\/3 epoch \d+ loss \d/);
  assert.ok(existsSync(join(out, 'checkpoint', 'model.safetensors')));
  const e = sh(['evaluate', '--backend', 'cpu', '--checkpoint', join(out, 'checkpoint'), '--file', train, '--out', join(dir, 'bin_eval')]);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /accuracy \d\.\d{4}/);
  const bad = sh(['finetune', '--backend', 'cpu', '--train', train, '--vocab', vocab, '--out', out]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /tunebench: .*bin_run already holds a run; use --resume/);
});
