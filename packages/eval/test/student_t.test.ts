// Student's t against scipy.stats.t (fixtures/student_t-scipy.json, written by Debian's python3:
//   from scipy import stats
//   ppf: [q, df, stats.t.ppf(q, df)] for df in 1 2 3 4 5 9 29 100 1000, q in .975 .95 .995 .6 .025
//   cdf: [t, df, stats.t.cdf(t, df)], sf2: [t, df, 2*stats.t.sf(abs(t), df)]
//        for df in 1 2 4 7.5 30 500, t in −40 −3.2 −1 −0.1 0 .5 2.1 6 25)
// plus the closed forms of ν = 1 (Cauchy) and ν = 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { studentTCdf, studentTQuantile, studentTTwoSided, incompleteBeta } from '../src/index.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/student_t-scipy.json', import.meta.url), 'utf8')) as {
  ppf: [number, number, number][]; cdf: [number, number, number][]; sf2: [number, number, number][];
};
const close = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-300), `${what}: ${got} vs scipy ${want}`);

test('studentTQuantile matches scipy.stats.t.ppf to 1e-9 (relative)', () => {
  for (const [q, df, want] of fx.ppf) close(studentTQuantile(q, df), want, 1e-9, `ppf(${q}, ${df})`);
});

test('studentTCdf and the two-sided p match scipy to 1e-10 (relative)', () => {
  for (const [t, df, want] of fx.cdf) close(studentTCdf(t, df), want, 1e-10, `cdf(${t}, ${df})`);
  for (const [t, df, want] of fx.sf2) close(studentTTwoSided(t, df), want, 1e-10, `2·sf(|${t}|, ${df})`);
});

test('closed forms: ν = 1 is Cauchy, ν = 2 has F(t) = ½ + t / (2√(2 + t²))', () => {
  fc.assert(fc.property(fc.double({ min: -1e3, max: 1e3, noNaN: true }), (t) => {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-11, `cauchy cdf(${t})`);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-11, `ν=2 cdf(${t})`);
  }));
  fc.assert(fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), (q) => {
    close(studentTQuantile(q, 1), Math.tan(Math.PI * (q - 0.5)), 1e-9, `cauchy ppf(${q})`);
  }));
});

test('quantile inverts the cdf; cdf is symmetric; incomplete beta obeys I_x(a,b) = 1 − I_{1−x}(b,a)', () => {
  fc.assert(fc.property(fc.double({ min: 0.0005, max: 0.9995, noNaN: true }), fc.double({ min: 0.5, max: 300, noNaN: true }), (q, df) => {
    const t = studentTQuantile(q, df);
    assert.ok(Math.abs(studentTCdf(t, df) - q) < 1e-10, `cdf(ppf(${q}, ${df})) = ${studentTCdf(t, df)}`);
    assert.ok(Math.abs(studentTCdf(-t, df) - (1 - q)) < 1e-10);
  }));
  fc.assert(fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.double({ min: 0.1, max: 50, noNaN: true }), fc.double({ min: 0.1, max: 50, noNaN: true }), (x, a, b) => {
    assert.ok(Math.abs(incompleteBeta(x, a, b) - (1 - incompleteBeta(1 - x, b, a))) < 1e-10);
  }));
});

test('bad arguments end with a message naming the function and the argument', () => {
  assert.throws(() => studentTQuantile(1, 3), /studentTQuantile: q must be in \(0, 1\)/);
  assert.throws(() => studentTCdf(0.3, 0), /studentTCdf: degrees of freedom must be a positive finite number/);
});
