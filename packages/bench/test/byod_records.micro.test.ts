// Bring your own data, end to end on the real trainer (micro preset): wn_topic's own rows as four
// dataset directories — JSONL and CSV, each with and without a dataset.json card — run through a
// suite file that is the shipped freezing.yaml renamed and pointed at them, in the same sweep as
// the built-in freezing suite on the shipped wn_topic. The same rows, labels, seeds and config
// must give the same records: every score and loss of every phase equal to the built-in run's.
// Only what names the data differs (dataset, datasetFiles, manifestHash, suiteFile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset, WN_TOPIC_LABELS } from '@tunebench/datasets';
import { loadRecords, SHIPPED_SUITES_DIR } from '../src/index.js';

const bin = fileURLToPath(new URL('../../../bin/tunebench.mjs', import.meta.url));
const cell = (s: string) => (/[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s);

test('wn_topic as JSONL and CSV directories, with and without a card, through a suite file: the built-in suite\'s records', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-byod-records-'));
  const dirs = { wn_jsonl_card: 'jsonl', wn_jsonl_plain: 'jsonl', wn_csv_card: 'csv', wn_csv_plain: 'csv' } as const;
  for (const [name, fmt] of Object.entries(dirs)) {
    const d = join(root, name);
    mkdirSync(d);
    for (const split of ['train', 'dev', 'test'] as const) {
      const rows = loadDataset('wn_topic', split);
      writeFileSync(join(d, `${split}.${fmt}`), fmt === 'jsonl'
        ? rows.map((r) => JSON.stringify(r)).join('\n') + '\n'
        : ['id,text,label', ...rows.map((r) => `${cell(r.id)},${cell(r.text)},${cell(r.label)}`)].join('\n') + '\n');
    }
    if (name.endsWith('_card')) writeFileSync(join(d, 'dataset.json'), JSON.stringify({ kind: 'seq_cls', labels: [...WN_TOPIC_LABELS], language: 'en' }));
  }
  // The shipped freezing suite, renamed, on the four directories (its presets' wn_topic subsets dropped).
  const shipped = readFileSync(join(SHIPPED_SUITES_DIR, 'freezing.yaml'), 'utf8');
  const mine = shipped.replace('\nname: freezing\n', '\nname: mine\n').replace('\ndatasets: [ wn_topic, email ]\n', `\ndatasets: [ ${Object.keys(dirs).join(', ')} ]\n`)
    .replace('\n  quick:\n    datasets: [ wn_topic ]\n', '\n  quick: {}\n').replaceAll('\n    datasets: [ wn_topic ]\n', '\n');
  assert.notEqual(mine, shipped);
  assert.ok(!/wn_topic/.test(mine.split('\nname: mine\n')[1]!), 'every reference to the shipped dataset replaced');
  writeFileSync(join(root, 'mine.yaml'), mine);

  const out = join(root, 'out');
  const r = spawnSync(process.execPath, [bin, 'bench', 'run', 'freezing', '--suite-file', join(root, 'mine.yaml'), '--preset', 'micro', '--strategy', 'full', '--seeds', '0', '--out', out],
    { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const recs = loadRecords(join(out, 'records'));
  const builtIn = recs.find((x) => x.suite === 'freezing' && x.dataset === 'wn_topic' && x.strategy === 'full')!;
  assert.ok(builtIn, 'the built-in run');
  // What a result is: scores and losses of every phase (not its wall time or throughput).
  const scores = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([k, v]) => typeof v === 'number' && !/time|wall|_s$|seconds|per_s|per_sec|throughput|ms/.test(k)));
  for (const name of Object.keys(dirs)) {
    const rec = recs.find((x) => x.suite === 'mine' && x.dataset === name && x.strategy === 'full');
    assert.ok(rec, `${name}: a record`);
    assert.ok(Object.keys(scores(builtIn.metrics)).length >= 3);
    assert.deepEqual(scores(rec!.metrics), scores(builtIn.metrics), `${name}: metrics`);
    assert.deepEqual(rec!.params, builtIn.params);
    assert.equal(rec!.seed, builtIn.seed);
    assert.deepEqual(rec!.datasetFiles!.labels, [...WN_TOPIC_LABELS], `${name}: label set (inferred in order without a card)`);
    assert.deepEqual(rec!.datasetFiles!.files.map((f) => f.file).filter((f) => f.startsWith('dataset')), name.endsWith('_card') ? ['dataset.json'] : []);
  }
  rmSync(root, { recursive: true, force: true });
});
