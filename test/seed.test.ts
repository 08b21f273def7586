// The test runner fixes fast-check's seed for every file (scripts/fc-seed.mjs), so CI is repeatable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

test('fast-check runs from the fixed seed (or FC_SEED)', () => {
  assert.equal(fc.readConfigureGlobal().seed, Number(process.env.FC_SEED ?? 20261128));
});
