// The benchmark commands are wired into `tunebench` (packages/bench/src/cli.ts) and `npm start`
// runs the quick preset of every suite (the main job).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/tunebench.mjs', import.meta.url));
const tunebench = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

test('tunebench lists bench and profile beside doctor and the trainer commands', () => {
  const r = tunebench(['--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const c of ['doctor', 'bench', 'profile']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  const b = tunebench(['bench', '--help']);
  for (const c of ['run', 'report', 'merge', 'list', 'perf', 'compare', 'peers']) assert.match(b.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  const run = tunebench(['bench', 'run', '--help']);
  assert.match(run.stdout, /^  --no-cache +run every phase, even one equal/m);
});

test('bench list: four suites with their baselines, three presets', () => {
  const r = tunebench(['bench', 'list']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^freezing: .*baseline full\)$/m);
  assert.match(r.stdout, /^domain: .*baseline a_base_finetune\)$/m);
  assert.match(r.stdout, /^masking: .*baseline rate15_random\)$/m);
  assert.match(r.stdout, /^sensitivity: .*baseline ft_lr_3e-4\)$/m);
  for (const p of ['micro', 'quick', 'full']) assert.match(r.stdout, new RegExp(`^preset ${p}: `, 'm'));
});

test('npm start is the quick preset of every suite', () => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'));
  assert.equal(pkg.scripts.start, 'node bin/tunebench.mjs bench run --preset quick');
});
