import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mulberry32, mulberry32Output, mulberry32Step } from '../src/index.js';

// The values every package's seeds have always produced (recorded from the generator before the
// copies in eval, kernels and trainer became this one): a change here changes every seeded result.
test('mulberry32 gives the recorded sequence', () => {
  const first3 = (seed: number) => { const r = mulberry32(seed); return [r(), r(), r()]; };
  assert.deepEqual(first3(0), [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
  assert.deepEqual(first3(1), [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  assert.deepEqual(first3(0xffffffff), [0.8964226141106337, 0.189478256739676, 0.7156526781618595]);
  assert.deepEqual(first3(2), [0.7342509443406016, 0.32499843230471015, 0.28529605525545776]);
});

test('the seed is taken as a u32, and outputs lie in [0, 1)', () => {
  fc.assert(fc.property(fc.integer({ min: -(2 ** 32), max: 2 ** 33 }), (seed) => {
    const a = mulberry32(seed), b = mulberry32(seed >>> 0);
    for (let i = 0; i < 8; i++) {
      const x = a();
      assert.equal(x, b());
      assert.ok(x >= 0 && x < 1, `${x}`);
    }
  }));
});

test('step + output is the generator, one state at a time (what a checkpointed generator keeps)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
    const r = mulberry32(seed);
    let s = seed;
    for (let i = 0; i < 8; i++) {
      s = mulberry32Step(s);
      assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
      assert.equal(mulberry32Output(s), r());
    }
  }));
});
