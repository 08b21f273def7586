// Hand-written SVG charts for the static report (no JavaScript, no external files): scatter with
// optional Pareto line and error bars, line charts for learning curves, and per-seed dot plots
// with CI whiskers. Each chart is one <svg> with class="plot" and a <title> per mark, so a browser
// shows values on hover and a test can count the marks.

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#637939'];

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Scale {
  (v: number): number;
  ticks: number[];
  label: (v: number) => string;
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a !== 0 && a < 1e-2) return v.toExponential(0);
  return String(+v.toPrecision(3));
}

function scale(values: number[], r0: number, r1: number, log: boolean): Scale {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (log) {
    lo = Math.log10(Math.max(lo, 1e-12));
    hi = Math.log10(Math.max(hi, 1e-12));
  }
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || (log ? 0.5 : 0.05);
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
  }
  const f = ((v: number) => r0 + ((log ? Math.log10(Math.max(v, 1e-12)) : v) - lo) / (hi - lo) * (r1 - r0)) as Scale;
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ticks.push(10 ** e);
    if (ticks.length < 2) for (const m of [2, 5]) for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) { const t = m * 10 ** e; if (Math.log10(t) >= lo && Math.log10(t) <= hi) ticks.push(t); }
    // A narrow range holds no 1·2·5 × 10^e value: label its ends instead.
    if (!ticks.length) for (const e of [lo + (hi - lo) * 0.1, hi - (hi - lo) * 0.1]) ticks.push(+(10 ** e).toPrecision(2));
    f.ticks = ticks.sort((a, b) => a - b);
  } else {
    const step = niceStep(hi - lo, 5);
    const ticks: number[] = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(+t.toPrecision(12));
    f.ticks = ticks;
    // Enough decimals to tell neighbouring ticks apart (0.8312 vs 0.8314), no more.
    const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    f.label = (v: number) => (Math.abs(v) >= 1e3 ? fmtTick(v) : v.toFixed(decimals));
    return f;
  }
  f.label = fmtTick;
  return f;
}

export interface Point {
  x: number;
  y: number;
  lo?: number;
  hi?: number;
  label: string;
  /** Marker radius in pixels (a third quantity as point size); default 4.5 (2.5 on lines). */
  r?: number;
}
export interface Series {
  name: string;
  points: Point[];
  /** Connect the points (sorted by x). */
  line?: boolean;
  /** Fixed colour (so a strategy keeps its colour across plots); default: by position. */
  color?: string;
  /**
   * Draw the points' CIs as a shaded band (a polygon through the upper ends left to right and the
   * lower ends back, under the line) instead of whiskers: the learning-curve figure (score vs k).
   * A point without a CI interrupts the band.
   */
  band?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  width?: number;
  height?: number;
  /** Extra polyline drawn under the points (the Pareto front), in data coordinates. */
  front?: { x: number; y: number }[];
}

const W = 560, H = 360, M = { l: 64, r: 150, t: 34, b: 48 };

function frame(o: ChartOptions, xs: Scale, ys: Scale, w: number, h: number, body: string, legend: string): string {
  const axes: string[] = [];
  for (const t of xs.ticks) {
    const x = xs(t);
    axes.push(`<line x1="${x}" y1="${M.t}" x2="${x}" y2="${h - M.b}" class="grid"/><text x="${x}" y="${h - M.b + 16}" text-anchor="middle">${esc(xs.label(t))}</text>`);
  }
  for (const t of ys.ticks) {
    const y = ys(t);
    axes.push(`<line x1="${M.l}" y1="${y}" x2="${w - M.r}" y2="${y}" class="grid"/><text x="${M.l - 6}" y="${y + 4}" text-anchor="end">${esc(ys.label(t))}</text>`);
  }
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(o.title)}">
<style>text{font:11px sans-serif;fill:#333}.grid{stroke:#e4e4e4}.axis{stroke:#555}.front{fill:none;stroke:#888;stroke-dasharray:5 3;stroke-width:1.5}.t{font-weight:bold;font-size:13px}</style>
<text x="${M.l}" y="18" class="t">${esc(o.title)}</text>
${axes.join('\n')}
<line x1="${M.l}" y1="${h - M.b}" x2="${w - M.r}" y2="${h - M.b}" class="axis"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${h - M.b}" class="axis"/>
<text x="${(M.l + w - M.r) / 2}" y="${h - 10}" text-anchor="middle">${esc(o.xLabel)}${o.xLog ? ' (log scale)' : ''}</text>
<text transform="translate(14 ${(M.t + h - M.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>
${body}
${legend}
</svg>`;
}

/** Scatter / line chart of several series; points may carry a CI (lo, hi) drawn as a whisker, or as a band (Series.band). */
export function chart(series: Series[], o: ChartOptions): string {
  const w = o.width ?? W, h = o.height ?? H;
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.xLog || p.x > 0));
  if (!pts.length) return `<p class="empty">${esc(o.title)}: no data</p>`;
  const xs = scale(pts.map((p) => p.x), M.l, w - M.r, !!o.xLog);
  const ys = scale(pts.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]).filter(Number.isFinite), h - M.b, M.t, false);
  const body: string[] = [];
  if (o.front && o.front.length) {
    const f = [...o.front].sort((a, b) => a.x - b.x);
    body.push(`<polyline class="front" points="${f.map((p) => `${xs(p.x).toFixed(1)},${ys(p.y).toFixed(1)}`).join(' ')}"><title>Pareto front</title></polyline>`);
  }
  const legend: string[] = [];
  series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length];
    const ok = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.xLog || p.x > 0)).sort((a, b) => a.x - b.x);
    const hasCi = (p: Point): p is Point & { lo: number; hi: number } => p.lo !== undefined && p.hi !== undefined && Number.isFinite(p.lo) && Number.isFinite(p.hi);
    if (s.band) {
      // Consecutive points with a CI make one polygon each: upper ends left → right, lower ends right → left.
      const runs: Point[][] = [];
      let run: Point[] = [];
      for (const p of ok) {
        if (hasCi(p)) run.push(p);
        else if (run.length) (runs.push(run), (run = []));
      }
      if (run.length) runs.push(run);
      for (const r of runs) {
        if (r.length < 2) continue; // a lone CI has no width: its whisker below
        const up = r.map((p) => `${xs(p.x).toFixed(1)},${ys(p.hi!).toFixed(1)}`);
        const down = [...r].reverse().map((p) => `${xs(p.x).toFixed(1)},${ys(p.lo!).toFixed(1)}`);
        body.push(`<polygon class="ci-band" fill="${c}" fill-opacity="0.18" stroke="none" points="${[...up, ...down].join(' ')}"><title>${esc(`${s.name}: 95 % CI`)}</title></polygon>`);
      }
    }
    const banded = new Set<Point>();
    if (s.band) ok.forEach((p, j) => { if (hasCi(p) && ((j > 0 && hasCi(ok[j - 1]!)) || (j + 1 < ok.length && hasCi(ok[j + 1]!)))) banded.add(p); });
    if (s.line && ok.length > 1) body.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${ok.map((p) => `${xs(p.x).toFixed(1)},${ys(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of ok) {
      const cx = xs(p.x).toFixed(1), cy = ys(p.y).toFixed(1);
      if (hasCi(p) && !banded.has(p)) {
        body.push(`<line x1="${cx}" x2="${cx}" y1="${ys(p.lo).toFixed(1)}" y2="${ys(p.hi).toFixed(1)}" stroke="${c}" stroke-width="1.2" class="ci"/>`);
      }
      body.push(`<circle class="mark" cx="${cx}" cy="${cy}" r="${p.r ?? (s.line ? 2.5 : 4.5)}" fill="${c}"><title>${esc(p.label)}</title></circle>`);
    }
    const ly = M.t + 6 + i * 16;
    legend.push(`<circle cx="${w - M.r + 14}" cy="${ly}" r="4.5" fill="${c}"/><text x="${w - M.r + 24}" y="${ly + 4}">${esc(s.name.length > 22 ? s.name.slice(0, 21) + '…' : s.name)}</text>`);
  });
  return frame(o, xs, ys, w, h, body.join('\n'), legend.join('\n'));
}

/** One column per category: every seed as a dot, the mean as a bar, the 95 % CI as a whisker. */
export function dotPlot(cats: { name: string; values: number[]; mean: number; lo: number | null; hi: number | null; seeds: number[]; color?: string }[], o: { title: string; yLabel: string }): string {
  if (!cats.length) return `<p class="empty">${esc(o.title)}: no data</p>`;
  const w = Math.max(420, M.l + 40 + cats.length * 56), h = H + 50;
  const mb = M.b + 50;
  const all = cats.flatMap((c) => [...c.values, c.mean, c.lo ?? c.mean, c.hi ?? c.mean]);
  const ys = scale(all, h - mb, M.t, false);
  const step = (w - M.l - 20) / cats.length;
  const body: string[] = [];
  const axes: string[] = [];
  for (const t of ys.ticks) axes.push(`<line x1="${M.l}" y1="${ys(t)}" x2="${w - 20}" y2="${ys(t)}" class="grid"/><text x="${M.l - 6}" y="${ys(t) + 4}" text-anchor="end">${esc(ys.label(t))}</text>`);
  cats.forEach((c, i) => {
    const cx = M.l + step * (i + 0.5);
    const col = c.color ?? PALETTE[i % PALETTE.length];
    if (c.lo !== null && c.hi !== null) body.push(`<line class="ci" x1="${cx}" x2="${cx}" y1="${ys(c.lo).toFixed(1)}" y2="${ys(c.hi).toFixed(1)}" stroke="${col}" stroke-width="2"><title>${esc(`${c.name}: 95 % CI [${c.lo.toFixed(4)}, ${c.hi.toFixed(4)}]`)}</title></line>`);
    body.push(`<line x1="${cx - 14}" x2="${cx + 14}" y1="${ys(c.mean).toFixed(1)}" y2="${ys(c.mean).toFixed(1)}" stroke="${col}" stroke-width="3"><title>${esc(`${c.name}: mean ${c.mean.toFixed(4)}`)}</title></line>`);
    c.values.forEach((v, j) => {
      const jitter = c.values.length > 1 ? (j / (c.values.length - 1) - 0.5) * 16 : 0;
      body.push(`<circle class="mark seed" cx="${(cx + jitter).toFixed(1)}" cy="${ys(v).toFixed(1)}" r="3.5" fill="${col}" fill-opacity="0.65"><title>${esc(`${c.name} seed ${c.seeds[j]}: ${v.toFixed(4)}`)}</title></circle>`);
    });
    body.push(`<text transform="translate(${cx + 4} ${h - mb + 10}) rotate(40)" text-anchor="start">${esc(c.name)}</text>`);
  });
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(o.title)}">
<style>text{font:11px sans-serif;fill:#333}.grid{stroke:#e4e4e4}.axis{stroke:#555}.t{font-weight:bold;font-size:13px}</style>
<text x="${M.l}" y="18" class="t">${esc(o.title)}</text>
${axes.join('\n')}
<line x1="${M.l}" y1="${h - mb}" x2="${w - 20}" y2="${h - mb}" class="axis"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${h - mb}" class="axis"/>
<text transform="translate(14 ${(M.t + h - mb) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>
${body.join('\n')}
</svg>`;
}
