// Opening a report in headless Chromium (Debian's `chromium` package) through playwright-core, and
// measuring what rendered: every plot's on-screen size and marks, every table's rows.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function findChromium(): string | null {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (p && existsSync(p)) return p;
  return null;
}

export const NO_CHROMIUM = 'chromium is not installed: `apt-get install -y chromium` (scripts/setup.sh installs it when run as root on Debian/Ubuntu), or set CHROMIUM_PATH';

export interface Rendered {
  title: string;
  plots: { label: string; width: number; height: number; marks: number; visibleMarks: number; cis: number; lines: number }[];
  tables: { rows: number; width: number }[];
  sections: number;
}

// Runs in the page (a string: this package compiles without the DOM typings).
const MEASURE = `(() => {
  const box = (e) => e.getBoundingClientRect();
  const plots = [...document.querySelectorAll('svg.plot')].map((svg) => {
    const marks = [...svg.querySelectorAll('circle.mark')];
    const b = box(svg);
    // A mark is visible when it has a size and lies inside its plot.
    const visible = marks.filter((m) => {
      const r = box(m);
      return r.width > 0 && r.height > 0 && r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
    });
    return {
      label: svg.getAttribute('aria-label') || '', width: b.width, height: b.height, marks: marks.length, visibleMarks: visible.length,
      cis: svg.querySelectorAll('.ci').length, lines: svg.querySelectorAll('polyline').length,
    };
  });
  const tables = [...document.querySelectorAll('table.leaderboard')].map((t) => ({ rows: t.querySelectorAll('tbody tr').length, width: box(t).width }));
  return { title: document.title, plots, tables, sections: document.querySelectorAll('section.suite').length };
})()`;

export async function renderReport(htmlPath: string, executablePath: string): Promise<Rendered> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // playwright-core gives the browser a fresh profile directory of its own (no --user-data-dir flag).
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(htmlPath).href);
    return (await page.evaluate(MEASURE)) as Rendered;
  } finally {
    await browser.close();
  }
}
