// The phase cache on the real trainer (micro preset, CPU reference backend): domain/b_continued
// and masking/rate15_random share their continued pretraining and fine-tune, which run once;
// rerun with --no-cache, rate15_random's phases run in their own processes and give the same
// bits (checkpoint bytes) and the same record numbers as the cached ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRecord, recordPath, type RunRecord } from '../src/index.js';

const bin = fileURLToPath(new URL('../../../bin/tunebench.mjs', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 600_000 });

test('micro: a phase shared by two strategies runs once, and --no-cache reproduces it bit for bit', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-cache-micro-'));
  const args = ['bench', 'run', 'domain', 'masking', '--preset', 'micro', '--strategy', 'b_continued,rate15_random', '--seeds', '0', '--out', out, '--no-report'];
  const r = run(args);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // a_base_finetune (finetune, probe) + b_continued (pretrain, finetune, probe); rate15_random reuses two.
  assert.match(r.stdout, /phases: 5 run, 2 reused from the phase cache, 0 resumed\n/);
  assert.match(r.stdout, /pretrain +email +3 steps, \d+ tokens, from the cache \(domain\/email\/b_continued\/seed0 pretrain\)/);
  const id = 'masking/email/rate15_random/seed0';
  const cached = readRecord(recordPath(out, id));
  assert.deepEqual(cached.phases.map((p) => p.cachedFrom?.runId), ['domain/email/b_continued/seed0', 'domain/email/b_continued/seed0']);
  const entry = join(out, 'cache', 'phases', cached.phases[0]!.cacheKey!);

  // Again without the cache: only rate15_random (its record removed) runs, both phases.
  rmSync(join(out, 'records', 'masking'), { recursive: true });
  const again = run([...args, '--no-cache']);
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /phases: 2 run, 0 reused from the phase cache, 0 resumed \(--no-cache\)/);
  const fresh = readRecord(recordPath(out, id));
  assert.ok(fresh.phases.every((p) => p.cachedFrom === undefined && p.cacheKey === undefined));
  const numbers = (x: RunRecord) => ({ metrics: x.metrics, tokens: x.tokens, trainable: x.trainableParams, curve: x.curve, phases: x.phases.map((p) => [p.name, p.main_score, p.steps, p.tokens]) });
  assert.deepEqual(numbers(fresh), numbers(cached));
  // Same seed, same bits: the pretraining checkpoint run now equals the cached one byte for byte.
  const weights = (dir: string) => readFileSync(join(dir, 'checkpoint', 'model.safetensors'));
  assert.ok(weights(join(out, 'runs', id, 'pretrain')).equals(weights(entry)));
  rmSync(out, { recursive: true, force: true });
});
