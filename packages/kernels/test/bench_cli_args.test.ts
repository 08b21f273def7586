// `npm run bench:kernels -- --filter='matmul nn 1024'`: a filter with spaces selects the cases
// whose names contain it, also when a launcher (nx) dropped the quotes and split it into words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/bench/cli.js';

async function listed(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try {
    assert.equal(await main([...argv, '--list']), 0);
  } finally {
    console.log = log;
  }
  return lines;
}

test('--filter with spaces, quoted or split into words, selects the same cases', async () => {
  const whole = await listed(['--filter=matmul nn 1024']);
  assert.ok(whole.length >= 1);
  for (const name of whole) assert.match(name, /matmul nn 1024/);
  assert.deepEqual(await listed(['--filter=matmul', 'nn', '1024']), whole);
  assert.deepEqual(await listed(['--filter', 'matmul nn 1024']), whole);
  await assert.rejects(main(['stray', '--list']), /unexpected argument\(s\) stray/);
});
