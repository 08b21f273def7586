// Suite files (suite_file.ts) and dataset directories in sweeps: two built-in suites re-expressed
// as YAML and JSON files plan exactly the same runs; a suite file over dataset directories (JSONL
// and CSV, with and without dataset.json) plans the same configs as the shipped dataset and, with
// the fake trainer, writes records carrying every file's sha256; bad suite files give one clear
// `file:line: key: problem` message each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Ajv } from 'ajv';
import { loadDataset, WN_TOPIC_LABELS } from '@tunebench/datasets';
import {
  planSweep, PRESETS, SUITES, loadSuiteFile, suiteToFile, SUITE_FILE_SCHEMA, runSweep, loadRecords, aggregate, readRecord, recordPath, benchClaims, writeReports,
  type SweepPlan,
} from '../src/index.js';

const fake = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'tb-suitefile-'));
const write = (name: string, text: string) => {
  const p = join(root, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};
// What a run is: its key and its resolved phases (the runner adds nothing else to the configs).
const runsOf = (p: SweepPlan) => p.runs.map((r) => ({ runId: r.runId, suite: r.suite, dataset: r.dataset, strategy: r.strategy, params: r.params, seed: r.seed, phases: r.phases }));
const quick = { ...PRESETS.quick, base: PRESETS.quick.fallbackBase! };

test('freezing and domain, re-expressed as suite files (YAML and JSON), plan exactly the same runs', () => {
  for (const name of ['freezing', 'domain']) {
    const data = suiteToFile(SUITES[name]!);
    // The file form is valid under the printed schema, and reads back in both syntaxes.
    assert.ok(new Ajv({ strict: true, allowUnionTypes: true }).compile(SUITE_FILE_SCHEMA)(data), name);
    for (const file of [write(`${name}.yaml`, stringify(data)), write(`${name}.json`, JSON.stringify(data, null, 2))]) {
      const suite = loadSuiteFile(file);
      for (const preset of [PRESETS.micro, quick, { ...PRESETS.full, base: PRESETS.quick.fallbackBase! }]) {
        const builtIn = planSweep(preset, { suites: [name] });
        const fromFile = planSweep(preset, { suiteDefs: [suite] });
        assert.ok(builtIn.runs.length > 0);
        assert.deepEqual(runsOf(fromFile), runsOf(builtIn), `${name} ${preset.name} ${file}`);
        assert.deepEqual(fromFile.basePhase, builtIn.basePhase);
        assert.deepEqual(fromFile.skipped, builtIn.skipped);
        for (const r of fromFile.runs) assert.equal(r.suiteFile?.baseline, SUITES[name]!.baseline);
      }
    }
  }
});

// The first rows of wn_topic as dataset directories: JSONL and CSV, with and without a card.
const rows = { train: loadDataset('wn_topic', 'train').slice(0, 60), dev: loadDataset('wn_topic', 'dev').slice(0, 30), test: loadDataset('wn_topic', 'test').slice(0, 30) };
const labelled = new Set(rows.train.map((r) => r.label));
const keep = (rs: typeof rows.train) => rs.filter((r) => labelled.has(r.label));
const jsonl = (rs: object[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const cell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const csv = (rs: typeof rows.train) => ['id,text,label', ...rs.map((r) => `${r.id},${cell(r.text)},${r.label}`)].join('\n') + '\n';
const card = (name: string) => JSON.stringify({ name, kind: 'seq_cls', labels: [...WN_TOPIC_LABELS] });
for (const s of ['train', 'dev', 'test'] as const) {
  write(`data/wn_jsonl/${s}.jsonl`, jsonl(rows[s]));
  write(`data/wn_csv/${s}.csv`, csv(rows[s]));
  write(`data/plain_jsonl/${s}.jsonl`, jsonl(keep(rows[s])));
  write(`data/plain_csv/${s}.csv`, csv(keep(rows[s])));
}
write('data/wn_jsonl/dataset.json', card('wn_jsonl'));
write('data/wn_csv/dataset.yaml', `name: wn_csv\nkind: seq_cls\nlabels: [${WN_TOPIC_LABELS.join(', ')}]\n`);

const MY_SUITE = `# My question, on my data.
name: mine
question: Head-only or full fine-tuning on my data?
datasets: [data/wn_jsonl, data/wn_csv, data/plain_jsonl, data/plain_csv]
baseline: full
mainMetric: macro_f1
strategies:
  head_only:
    params: { strategy: head_only, lr: 1.0e-3 }
    finetune: { strategy.name: head_only, optimizer.lr: 1.0e-3 }
  full:
    params: { strategy: full, lr: 3.0e-4 }
    finetune: { strategy.name: full, optimizer.lr: 3.0e-4 }
presets:
  micro:
    sizes:
      finetune: { maxSteps: 2 }
`;

test('a suite file over dataset directories plans the shipped configs; records carry the files\' sha256', async () => {
  const file = write('mine.yaml', MY_SUITE);
  const suite = loadSuiteFile(file);
  assert.deepEqual(suite.datasets, ['wn_jsonl', 'wn_csv', 'plain_jsonl', 'plain_csv']);
  const plan = planSweep(PRESETS.micro, { suiteDefs: [suite] });
  assert.equal(plan.runs.length, 4 * 2 * 2);
  // The same fine-tune config as the built-in freezing suite's on wn_topic, but for the data source,
  // the suite's own step count and (without a card) the label set inferred from train.
  const builtIn = planSweep(PRESETS.micro, { suites: ['freezing'], strategies: ['head_only'] }).runs.find((r) => r.runId === 'freezing/wn_topic/head_only/seed1')!;
  for (const ds of suite.datasets) {
    const run = plan.runs.find((r) => r.runId === `mine/${ds}/head_only/seed1`)!;
    const cfg = structuredClone(run.phases[0]!.config) as { data: { dataset: string }; task: { labels: string[] }; training: { maxSteps: number } };
    assert.equal(cfg.data.dataset, join(root, 'data', ds));
    assert.equal(cfg.training.maxSteps, 2);
    assert.deepEqual(cfg.task.labels, ds.startsWith('wn_') ? [...WN_TOPIC_LABELS] : [...labelled].sort());
    const want = structuredClone(builtIn.phases[0]!.config) as typeof cfg;
    want.data.dataset = cfg.data.dataset;
    want.training.maxSteps = 2;
    want.task.labels = cfg.task.labels;
    assert.deepEqual(cfg, want, ds);
    assert.equal(run.datasetDir, join(root, 'data', ds));
  }

  const out = join(root, 'out');
  const s = await runSweep(plan, { outDir: out, backend: 'cpu', childCommand: [process.execPath, fake], log: () => {} });
  assert.equal(s.failed.length, 0);
  assert.equal(s.done, 16);
  const rec = readRecord(recordPath(out, 'mine/wn_csv/full/seed0'));
  assert.equal(rec.mainMetric, 'macro_f1');
  assert.equal(rec.metrics.main_score, rec.metrics.macro_f1);
  assert.deepEqual(rec.suiteFile, { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), baseline: 'full' });
  assert.deepEqual(rec.datasetFiles!.files.map((f) => f.file), ['dataset.yaml', 'train.csv', 'dev.csv', 'test.csv']);
  assert.deepEqual([rec.datasetFiles!.kind, rec.datasetFiles!.labels, rec.datasetFiles!.devCarved], ['seq_cls', [...WN_TOPIC_LABELS], null]);
  for (const f of rec.datasetFiles!.files) assert.equal(f.sha256, createHash('sha256').update(readFileSync(join(root, 'data/wn_csv', f.file))).digest('hex'));
  // Different files, different hashes: two leaderboards on "the same" data can be told apart.
  const hashes = new Set(suite.datasets.map((d) => readRecord(recordPath(out, `mine/${d}/full/seed0`)).manifestHash));
  assert.equal(hashes.size, 4);
  // The leaderboard pairs every strategy with the file's baseline.
  const rowsOut = aggregate(loadRecords(join(out, 'records')));
  const headOnly = rowsOut.find((r) => r.dataset === 'wn_csv' && r.strategy === 'head_only')!;
  assert.ok(headOnly.vsBaseline, 'paired with the baseline');
  assert.ok(rowsOut.find((r) => r.dataset === 'wn_csv' && r.strategy === 'full')!.isBaseline);
});

test('a suite file\'s claims (an id of claims.yaml, retargeted; a claim written in the file) are checked by bench claims and the report', async () => {
  const text = MY_SUITE.replace('[data/wn_jsonl, data/wn_csv, data/plain_jsonl, data/plain_csv]', '[data/wn_jsonl]').replace('name: mine', 'name: mine_claims') + `claims:
  - q130_head_only_below_full
  - id: full_within_a_point_of_head_only
    text: On my data full fine-tuning is within one point of head-only.
    tests:
      - { compare: difference, a: full, b: head_only, claim: within, threshold: 0.01, metric: accuracy }
`;
  const file = write('mine_claims.yaml', text);
  const suite = loadSuiteFile(file);
  assert.deepEqual(suite.claims!.map((c) => [c.id, c.suite, c.question]), [
    ['q130_head_only_below_full', 'mine_claims', 'Q130'],
    ['full_within_a_point_of_head_only', 'mine_claims', 'mine_claims'],
  ]);
  assert.deepEqual(suite.claims![1]!.tests[0], { compare: 'difference', a: 'full', b: 'head_only', claim: 'within', threshold: 0.01, metric: 'accuracy' });
  const out = join(root, 'out_claims');
  const s = await runSweep(planSweep(PRESETS.micro, { suiteDefs: [suite] }), { outDir: out, backend: 'cpu', childCommand: [process.execPath, fake], log: () => {} });
  assert.equal(s.failed.length, 0);
  const ours = (r: { results: { suite: string; id: string; dataset: string | null; verdict: string; tests: { n: number }[] }[] }) => r.results.filter((c) => c.suite === 'mine_claims');
  const fromCli = JSON.parse(readFileSync(benchClaims(out).json, 'utf8')) as Parameters<typeof ours>[0] & { suiteFiles: { file: string; claims: string[] }[] };
  const report = writeReports(out).claims;
  for (const r of [fromCli, report]) {
    assert.deepEqual(ours(r).map((c) => [c.id, c.dataset]), [['q130_head_only_below_full', 'wn_jsonl'], ['full_within_a_point_of_head_only', 'wn_jsonl']]);
    // Evaluated on the records (both micro seeds), not "no data".
    for (const c of ours(r)) {
      assert.notEqual(c.verdict, 'no data');
      assert.equal(c.tests[0]!.n, PRESETS.micro.seeds.length);
    }
    // The shipped claim still stands for the built-in suite (no data here), beside its retargeted copy.
    assert.equal(r.results.find((c) => c.suite === 'freezing' && c.id === 'q130_head_only_below_full')!.verdict, 'no data');
  }
  assert.deepEqual(fromCli.suiteFiles.map((f) => [f.file, f.claims]), [[file, ['q130_head_only_below_full', 'full_within_a_point_of_head_only']]]);
  // An edited file no longer speaks for the runs made from it: its claims are skipped, with a note.
  writeFileSync(file, text.replace('within one point', 'within 1 point'));
  const after = writeReports(out).claims;
  assert.equal(ours(after).length, 0);
  assert.match(after.notes!.join('\n'), /claims of suite file .*mine_claims\.yaml not checked: the file changed since its runs/);
});

test('bench run --dataset <dir> adds a directory to a built-in suite', () => {
  const plan = planSweep(PRESETS.micro, { suites: ['freezing'], datasets: [join(root, 'data/wn_jsonl')] });
  assert.deepEqual([...new Set(plan.runs.map((r) => r.dataset))], ['wn_jsonl']);
  const both = planSweep(PRESETS.micro, { suites: ['freezing'], datasets: ['wn_topic', join(root, 'data/wn_csv')] });
  assert.deepEqual([...new Set(both.runs.map((r) => r.dataset))], ['wn_topic', 'wn_csv']);
  assert.throws(() => planSweep(PRESETS.micro, { suites: ['freezing'], datasets: [join(root, 'nope')] }), /unknown dataset '.*nope' \(known: .*or a dataset directory/);
});

test('a suite file strategy may augment its fine-tune with EDA (data.augment, the trainer\'s key)', () => {
  const text = MY_SUITE.replace('datasets: [data/wn_jsonl, data/wn_csv, data/plain_jsonl, data/plain_csv]', 'datasets: [data/wn_jsonl]')
    .replace('    finetune: { strategy.name: full, optimizer.lr: 3.0e-4 }', '    finetune: { strategy.name: full, optimizer.lr: 3.0e-4, data.augment.copies: 2 }');
  const suite = loadSuiteFile(write('eda.yaml', text));
  const plan = planSweep(PRESETS.micro, { suiteDefs: [suite] });
  const ft = plan.runs.find((r) => r.strategy === 'full')!.phases.find((p) => p.name === 'finetune')!;
  assert.equal((ft.config as { data: { augment: { copies: number } } }).data.augment.copies, 2);
});

test('bad suite files: one clear message each, naming file, line and key', () => {
  const base = MY_SUITE.replace('datasets: [data/wn_jsonl, data/wn_csv, data/plain_jsonl, data/plain_csv]', 'datasets: [data/wn_jsonl]');
  write('data/no_test/train.jsonl', jsonl(rows.train));
  const cases: [string, string, RegExp][] = [
    ['YAML syntax error', base.replace('baseline: full', 'baseline: [full'), /bad\.yaml:\d+: YAML syntax error: /],
    ['unknown strategy key', base.replace('    finetune: { strategy.name: full', '    finetun: { strategy.name: full'), /bad\.yaml:13: strategies\.full\.finetun: unknown strategy key "finetun" \(known: params, pretrain, mlmEval, finetune, decide, probe, fewshot, edge\)/],
    ['mlmEval beside a pretrain phase', base.replace('    params: { strategy: full, lr: 3.0e-4 }\n', '    params: { strategy: full, lr: 3.0e-4 }\n    pretrain: { from: base, dataset: pretrain_en }\n    mlmEval: { dataset: pretrain_en }\n'),
      /bad\.yaml:\d+: strategies\.full\.mlmEval: a strategy with a pretrain phase measures its held-out MLM scores there; mlmEval is for a strategy without one/],
    ['mlmEval with an unknown config key', base.replace('    params: { strategy: head_only, lr: 1.0e-3 }\n', '    params: { strategy: head_only, lr: 1.0e-3 }\n    mlmEval: { dataset: pretrain_en, set: { data.maxLenght: 8 } }\n'),
      /bad\.yaml:\d+: strategies\.head_only\.mlmEval\.set\.data\.maxLenght: unknown key 'data\.maxLenght'/],
    ['mlmEval without a dataset', base.replace('    params: { strategy: head_only, lr: 1.0e-3 }\n', '    params: { strategy: head_only, lr: 1.0e-3 }\n    mlmEval: { set: {} }\n'), /bad\.yaml:\d+: strategies\.head_only\.mlmEval: missing key "dataset"/],
    ['unknown config key', base.replace('optimizer.lr: 3.0e-4 }', 'optimizer.lrr: 3.0e-4 }'), /bad\.yaml:13: strategies\.full\.finetune\.optimizer\.lrr: unknown key 'optimizer\.lrr' \(allowed here: lr, /],
    ['bad config value', base.replace('strategy.name: full', 'strategy.name: fulll'), /bad\.yaml:13: strategies\.full\.finetune\.strategy\.name: 'strategy\.name' must be one of "full", /],
    ['unknown top-level key', base.replace('baseline: full', 'baseline: full\nbasline: full'), /bad\.yaml:6: basline: unknown key "basline" \(known: name, /],
    ['baseline not a strategy', base.replace('baseline: full', 'baseline: fool'), /bad\.yaml:5: baseline: 'fool' is not one of the strategies \(head_only, full\)/],
    ['missing key', base.replace('question: Head-only or full fine-tuning on my data?\n', ''), /bad\.yaml:2: missing key "question"/],
    ['unknown dataset', base.replace('[data/wn_jsonl]', '[data/wn_jsonl, wn_topik]'), /bad\.yaml:4: datasets\[1\]: 'wn_topik' is neither a shipped dataset .* nor a directory/],
    ['dataset dir without test split', base.replace('[data/wn_jsonl]', '[data/no_test]'), /bad\.yaml:4: datasets\[0\]: dataset directory data\/no_test: .*missing split test/],
    ['unknown preset strategy', base.replace('  micro:\n', '  micro:\n    strategies: [head_only, lora]\n'), /bad\.yaml:16: presets\.micro\.strategies\[1\]: 'lora' is not one of the strategies/],
    ['bad size key', base.replace('maxSteps: 2', 'maxStep: 2'), /bad\.yaml:\d+: presets\.micro\.sizes\.finetune\.maxStep: unknown key "maxStep" \(known: maxSteps, /],
    ['claim id not in the claims file', base + 'claims: [q130_nope]\n', /bad\.yaml:18: claims\[0\]: no claim 'q130_nope' in packages\/bench\/claims\.yaml \(ids: q130_top2_90pct_of_full, /],
    ['shipped claim naming a strategy the suite lacks', base + 'claims: [q130_top2_90pct_of_full]\n', /bad\.yaml:18: claims\[0\]: claim 'q130_top2_90pct_of_full' of the claims file: 'top_2' is not a strategy of suite 'mine' \(known: head_only, full\)/],
    ['inline claim with an unknown strategy', base + 'claims:\n  - id: full_wins\n    text: Full beats head-only.\n    tests: [{ compare: difference, a: full, b: lora, claim: ">", threshold: 0 }]\n',
      /bad\.yaml:21: claims\[0\]\.tests\[0\]\.b: 'lora' is not a strategy of suite 'mine'/],
    ['inline claim with an unknown key', base + 'claims:\n  - id: full_wins\n    txt: Full beats head-only.\n    tests: [{ compare: difference, a: full, b: head_only, claim: ">", threshold: 0 }]\n',
      /bad\.yaml:20: claims\[0\]\.txt: unknown key "txt" \(known: id, question, text, /],
    ['inline claim about another suite', base + 'claims:\n  - id: full_wins\n    suite: freezing\n    text: Full beats head-only.\n    tests: [{ compare: difference, a: full, b: head_only, claim: ">", threshold: 0 }]\n',
      /bad\.yaml:20: claims\[0\]\.suite: a claim in a suite file is about that suite \('mine'\); leave suite out/],
    ['fewshot strategy with finetune overrides', base.replace('    finetune: { strategy.name: head_only', '    fewshot: { method: setfit, shots: 8, encoder: base }\n    finetune: { strategy.name: head_only'),
      /bad\.yaml:11: strategies\.head_only\.finetune: a fewshot strategy is one few-shot phase; it takes no finetune/],
    ['cost matrix of the wrong size', base.replace('baseline: full', 'baseline: full\ncostMatrix: { labels: [a, b], costlyClass: a, matrix: [[0, 1]] }'), /bad\.yaml:6: costMatrix\.matrix: must be 2 × 2/],
    ['JSON syntax error', '{ "name": "x",\n  "question": "q"\n  "datasets": [] }', /bad\.json:\d+: JSON\/YAML syntax error/],
    ['bad data.augment rate', base.replace('optimizer.lr: 3.0e-4 }', 'optimizer.lr: 3.0e-4, data.augment.alphaSr: 2 }'), /bad\.yaml:13: strategies\.full\.finetune\.data\.augment\.alphaSr: 'data\.augment\.alphaSr' must be <= 1/],
  ];
  for (const [what, text, re] of cases) {
    const file = write(what === 'JSON syntax error' ? 'bad.json' : 'bad.yaml', text);
    assert.throws(() => loadSuiteFile(file), (e: Error) => {
      assert.match(e.message, re, what);
      assert.equal(e.message.split('\n').length, 1, `${what}: one line: ${e.message}`);
      return true;
    }, what);
  }
});
