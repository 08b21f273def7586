// report/svg.ts chart(): CI bands for learning curves (score vs labels per class, the SetFit figure).
// Checked on the SVG text: one shaded polygon per run of consecutive points with a CI, through the
// upper ends left → right and the lower ends back, enclosing each point; whiskers only where no band.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chart, type Series } from '../src/report/svg.js';

const polygons = (svg: string) => [...svg.matchAll(/<polygon class="ci-band"[^>]* points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]));
const circles = (svg: string) => [...svg.matchAll(/<circle class="mark" cx="([\d.-]+)" cy="([\d.-]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
const whiskers = (svg: string) => (svg.match(/class="ci"/g) ?? []).length;

test('a banded series: one polygon enclosing every point, its x at the points, no whiskers; the same series unbanded has whiskers', () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { minLength: 2, maxLength: 6 }),
    // Scores on a 1/1000 grid (chart's tick scale assumes a non-degenerate range, as scores have).
    fc.array(fc.tuple(fc.integer({ min: 100, max: 900 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 })).map((t) => t.map((v) => v / 1000)), { minLength: 6, maxLength: 6 }),
    (xsRaw, ys) => {
      const xs = [...xsRaw].sort((a, b) => a - b);
      const pts = xs.map((x, i) => ({ x, y: ys[i]![0], lo: ys[i]![0] - ys[i]![1], hi: ys[i]![0] + ys[i]![2], label: `k=${x}` }));
      const s: Series = { name: 'setfit', line: true, band: true, points: [...pts].reverse() };
      const svg = chart([s], { title: 't', xLabel: 'shots', yLabel: 'accuracy', xLog: true });
      const polys = polygons(svg);
      assert.equal(polys.length, 1);
      const poly = polys[0]!;
      const n = pts.length;
      assert.equal(poly.length, 2 * n);
      const marks = circles(svg);
      assert.equal(marks.length, n);
      marks.forEach(([cx, cy], i) => {
        assert.equal(poly[i]![0], cx, 'upper edge at the point');
        assert.equal(poly[2 * n - 1 - i]![0], cx, 'lower edge back at the point');
        assert.ok(poly[i]![1] <= cy + 0.05 && cy <= poly[2 * n - 1 - i]![1] + 0.05, 'the band encloses the mean (SVG y grows downwards)');
      });
      assert.equal(whiskers(svg), 0);
      assert.equal(whiskers(chart([{ ...s, band: false }], { title: 't', xLabel: 'x', yLabel: 'y' })), n);
    },
  ), { numRuns: 60 });
});

test('a point without a CI splits the band; a lone CI keeps its whisker', () => {
  const p = (x: number, ci: boolean) => ({ x, y: 0.5, ...(ci ? { lo: 0.4, hi: 0.6 } : {}), label: String(x) });
  const svg = chart([{ name: 'a', line: true, band: true, points: [p(8, true), p(16, true), p(32, false), p(64, true), p(128, true), p(256, false), p(512, true)] }], { title: 't', xLabel: 'x', yLabel: 'y', xLog: true });
  assert.deepEqual(polygons(svg).map((q) => q.length), [4, 4]);
  assert.equal(whiskers(svg), 1);
});
