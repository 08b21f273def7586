// SMOTE and Tomek links against imbalanced-learn 0.10 (fixtures/imblearn.json, made by
// scripts/make-imblearn-fixture.py with Debian's python3-imblearn). The neighbour lists and the
// Tomek-cleaned indices are deterministic and compared exactly; SMOTE's random draws come from
// numpy there and from mulberry32 here, so its synthetic points — ours and imbalanced-learn's —
// are checked by property: each lies on a segment from a minority point to one of its k nearest
// minority neighbours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { kNearestNeighbors, smote, tomekClean, tomekLinks } from '../src/index.js';

interface SmoteCase { X: number[][]; y: number[]; k: number; targetClass: number; nSamples: number; neighbors: number[][]; minority: number[]; synthetic: number[][] }
interface TomekCase { X: number[][]; y: number[]; kept: number[] }
const fx = JSON.parse(readFileSync(new URL('./fixtures/imblearn.json', import.meta.url), 'utf8')) as { generatedBy: string; versions: Record<string, string>; smote: SmoteCase[]; tomek: TomekCase[] };

/** The (base, neighbour, u) that puts p on a segment base → neighbour, u ∈ [0, 1], or null. */
function onSegment(p: number[], c: SmoteCase): { base: number; neighbor: number; u: number } | null {
  for (const [a, idx] of c.minority.entries()) {
    const xa = c.X[idx]!;
    for (const nb of c.neighbors[a]!) {
      const xb = c.X[nb]!;
      let num = 0, den = 0;
      for (let d = 0; d < p.length; d++) {
        num += (p[d]! - xa[d]!) * (xb[d]! - xa[d]!);
        den += (xb[d]! - xa[d]!) ** 2;
      }
      const u = den > 0 ? num / den : 0;
      if (u < -1e-9 || u > 1 + 1e-9) continue;
      let r = 0;
      for (let d = 0; d < p.length; d++) r += (xa[d]! + u * (xb[d]! - xa[d]!) - p[d]!) ** 2;
      if (Math.sqrt(r) <= 1e-7 * (1 + Math.sqrt(den))) return { base: idx, neighbor: nb, u };
    }
  }
  return null;
}

test('the fixture names its script and library versions', () => {
  assert.equal(fx.generatedBy, 'packages/eval/scripts/make-imblearn-fixture.py');
  assert.match(fx.versions.imblearn!, /^0\.10/);
  assert.ok(fx.smote.length >= 8 && fx.tomek.length >= 10);
  assert.ok(fx.tomek.some((c) => c.kept.length < c.y.length), 'some Tomek case removes points');
});

test('SMOTE: minority neighbour lists = imbalanced-learn (k nearest, closest first)', () => {
  for (const [i, c] of fx.smote.entries()) {
    const r = smote(c.X, c.y, { targetClass: c.targetClass, k: c.k, seed: i });
    assert.deepEqual(r.neighbors.map((n) => n.index), c.minority, `case ${i} minority`);
    assert.deepEqual(r.neighbors.map((n) => n.neighbors), c.neighbors, `case ${i} neighbours`);
  }
});

test("SMOTE: as many synthetic points as imbalanced-learn, and every one (ours and imbalanced-learn's) on a minority-neighbour segment", () => {
  for (const [i, c] of fx.smote.entries()) {
    const r = smote(c.X, c.y, { targetClass: c.targetClass, k: c.k, seed: i });
    assert.equal(r.synthetic.length, c.synthetic.length, `case ${i} count`);
    assert.equal(r.synthetic.length, c.nSamples);
    assert.equal(r.X.length, c.X.length + c.nSamples);
    assert.deepEqual(r.X.slice(0, c.X.length), c.X, 'the input points come first, unchanged');
    assert.ok(r.y.slice(c.y.length).every((v) => v === c.targetClass));
    for (const [j, p] of c.synthetic.entries()) assert.ok(onSegment(p, c), `case ${i}: imbalanced-learn's synthetic point ${j} is on no minority-neighbour segment`);
    for (const [j, p] of r.X.slice(c.X.length).entries()) {
      const s = r.synthetic[j]!;
      assert.ok(onSegment(p, c), `case ${i}: our synthetic point ${j} is on no minority-neighbour segment`);
      const a = c.minority.indexOf(s.base);
      assert.ok(a >= 0 && c.neighbors[a]!.includes(s.neighbor), `case ${i}: point ${j} says base ${s.base}, neighbour ${s.neighbor}`);
      assert.ok(s.step >= 0 && s.step < 1);
    }
  }
});

test('SMOTE: the same seed gives the same points; another seed other points', () => {
  const c = fx.smote[0]!;
  const a = smote(c.X, c.y, { targetClass: 1, k: c.k, seed: 7 });
  assert.deepEqual(smote(c.X, c.y, { targetClass: 1, k: c.k, seed: 7 }).X, a.X);
  assert.notDeepEqual(smote(c.X, c.y, { targetClass: 1, k: c.k, seed: 8 }).X, a.X);
});

test('Tomek links: kept indices = imbalanced-learn (sampling_strategy auto), every removed point is in a link', () => {
  for (const [i, c] of fx.tomek.entries()) {
    const r = tomekClean(c.X, c.y);
    assert.deepEqual(r.kept, c.kept, `case ${i}`);
    const nn = kNearestNeighbors(c.X, 1).map((x) => x[0]!);
    for (const [a, b] of r.links) {
      assert.ok(nn[a] === b && nn[b] === a && c.y[a] !== c.y[b], `case ${i}: (${a}, ${b}) is not a Tomek link`);
    }
    for (const idx of r.removed) assert.ok(r.links.some(([a, b]) => a === idx || b === idx), `case ${i}: removed ${idx} is in no link`);
  }
});

test('Tomek links: property on random points — a link is a mutual nearest-neighbour pair of different labels, and every such pair is found', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 2 })), { minLength: 2, maxLength: 30 }),
    (pts) => {
      const X = pts.map(([a, b], i) => [a + i * 1e-6, b]); // distinct points: no distance ties between neighbours
      const y = pts.map((p) => p[2]);
      const nn = kNearestNeighbors(X, 1).map((x) => x[0]!);
      const expected: [number, number][] = [];
      for (let i = 0; i < X.length; i++) if (i < nn[i]! && nn[nn[i]!] === i && y[i] !== y[nn[i]!]) expected.push([i, nn[i]!]);
      assert.deepEqual(tomekLinks(X, y), expected);
    },
  ));
});

test('bad input: clear errors', () => {
  assert.throws(() => smote([[0, 0], [1, 1]], [0, 1], { targetClass: 2 }), /no point of targetClass 2/);
  assert.throws(() => smote([[0, 0], [1, 1], [2, 2]], [0, 1, 1], { targetClass: 1, k: 5 }), /has 2 points; SMOTE with k = 5 needs at least k \+ 1 = 6/);
  assert.throws(() => smote([[0, 0], [1, NaN]], [0, 1], { targetClass: 1, k: 1 }), /X\[1\]/);
  assert.throws(() => kNearestNeighbors([[0], [1]], 2), /k = 2 neighbours asked of 2 points/);
  assert.throws(() => tomekLinks([[0], [1]], [0]), /'X' has 2 entries but 'y' has 1/);
});
