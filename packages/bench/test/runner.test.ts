// The sweep runner with a fake trainer (fixtures/fake-trainer.mjs) as the child command: crashes
// are recorded with their stderr and retried once without ending the sweep, runs with a record
// are skipped on the next invocation, shards partition the runs and merge joins them into the
// same records as one unsharded sweep. (The real trainer runs in e2e.micro.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { planSweep, validatePhases, PRESETS, SUITES, INIT_BASE, INIT_PRETRAINED, INIT_TRAINED, repoRoot, runSweep, shardRuns, parseShard, mergeRecords, loadRecords, recordPath, failurePath, writeReports, shardDir, recordResults, applyOverrides, resolvePhaseConfig, PHASE_PLAN_FILE, type SweepPlan } from '../src/index.js';
import { EDGE_SIZES } from '../src/edge/plan_phase.js';
import { FEWSHOT_FINETUNE_STEPS } from '../src/fewshot/plan_phase.js';
import { EDGE_VARIANTS } from '../src/edge/config.js';

const fake = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'tunebench-runner-'));

function plan(): SweepPlan {
  // micro preset, freezing suite, 3 strategies × 2 seeds on wn_topic: 6 runs + a base phase.
  return planSweep(PRESETS.micro, { suites: ['freezing'] });
}

async function sweep(p: SweepPlan, outDir: string, env: Record<string, string> = {}, shard?: string) {
  const lines: string[] = [];
  const s = await runSweep(p, {
    outDir, backend: 'cpu', childCommand: [process.execPath, fake], env, log: (l) => lines.push(l), shard: shard ? parseShard(shard) : null,
  });
  return { s, lines };
}

const calls = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

test('a crash is recorded with its stderr, retried once, and never ends the sweep', async () => {
  const out = tmp();
  const callsFile = join(out, 'calls.txt');
  const p = plan();
  assert.equal(p.runs.length, 6);
  const { s, lines } = await sweep(p, out, {
    FAKE_CALLS: callsFile,
    FAKE_CRASH_ONCE: 'head_only/seed0',
    FAKE_CRASH_ALWAYS: 'lora_r4/seed1',
  });
  assert.equal(s.done, 5);
  assert.deepEqual(s.failed.map((f) => f.runId), ['freezing/wn_topic/lora_r4/seed1']);
  // head_only/seed0 crashed once and succeeded on the retry: a record, no failure file.
  assert.ok(existsSync(recordPath(out, 'freezing/wn_topic/head_only/seed0')));
  assert.ok(!existsSync(failurePath(out, 'freezing/wn_topic/head_only/seed0')));
  const f = JSON.parse(readFileSync(failurePath(out, 'freezing/wn_topic/lora_r4/seed1'), 'utf8'));
  assert.equal(f.attempt, 2);
  assert.equal(f.exitCode, 134);
  assert.match(f.stderrTail, /simulated native abort \(always\)/);
  assert.match(f.error, /exit code 134: fake trainer: simulated native abort/);
  assert.ok(lines.some((l) => /FAILED \(attempt 1 of 2\)/.test(l)));
  // 1 base + 6 runs + 1 retry (head_only) + 2 attempts of lora_r4/seed1 - 1 counted already = 9 calls
  assert.equal(calls(callsFile).length, 1 + 6 + 1 + 1);

  // Resume: the 5 finished runs are skipped; only the failed one is attempted again (twice).
  const again = await sweep(p, out, { FAKE_CALLS: callsFile, FAKE_CRASH_ALWAYS: 'lora_r4/seed1' });
  assert.equal(again.s.skipped, 5);
  assert.equal(again.s.failed.length, 1);
  assert.equal(calls(callsFile).length, 9 + 2, 'the base model is reused (its metrics.json exists) and finished runs are not rerun');
  // Now it works: the last run completes and every run has a record.
  const last = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.equal(last.s.done, 1);
  assert.equal(loadRecords(join(out, 'records')).length, 6);
  rmSync(out, { recursive: true, force: true });
});

test('a phase killed half-way (no metrics.json) is started again; a finished phase is reused', async () => {
  const out = tmp();
  const callsFile = join(out, 'calls.txt');
  const p = planSweep(PRESETS.micro, { suites: ['domain'], strategies: ['b_continued'], seeds: [0] });
  // b_continued + the baseline a_base_finetune, 1 seed each.
  assert.deepEqual(p.runs.map((r) => r.strategy).sort(), ['a_base_finetune', 'b_continued']);
  await sweep(p, out, { FAKE_CALLS: callsFile });
  const id = 'domain/email/b_continued/seed0';
  const rec = JSON.parse(readFileSync(recordPath(out, id), 'utf8'));
  assert.deepEqual(rec.phases.map((x: { name: string }) => x.name), ['pretrain', 'finetune', 'probe']);
  // compute = pretrain + finetune tokens (the probe is a measurement)
  assert.equal(rec.tokens, rec.phases[0].tokens + rec.phases[1].tokens);
  assert.equal(typeof rec.metrics.probe_wn_topic, 'number');
  // finetune started from the pretrained checkpoint
  assert.equal(rec.phases[1].config.model.init, join(out, 'runs', id, 'pretrain', 'checkpoint'));
  // Simulate a kill during the finetune phase: record and finetune metrics gone, pretrain intact
  // (a killed phase is never published to the phase cache either).
  rmSync(recordPath(out, id));
  rmSync(join(out, 'runs', id, 'finetune', 'metrics.json'));
  rmSync(join(out, 'cache', 'phases', rec.phases[1].cacheKey), { recursive: true });
  const before = calls(callsFile).length;
  await sweep(p, out, { FAKE_CALLS: callsFile });
  const newCalls = calls(callsFile).slice(before);
  assert.deepEqual(newCalls.map((l) => l.split(' ')[0]), ['finetune'], 'only the killed finetune phase runs again; probe was already done');
  assert.ok(existsSync(recordPath(out, id)));
  rmSync(out, { recursive: true, force: true });
});

test('shards partition the runs (property) and merged shards equal one sweep', async () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 7 }), (n, count) => {
    const runs = Array.from({ length: n }, (_, i) => i);
    const parts = Array.from({ length: count }, (_, i) => shardRuns(runs, { index: i + 1, count }));
    assert.deepEqual(parts.flat().sort((a, b) => a - b), runs);
    assert.ok(parts.every((p) => p.length <= Math.ceil(n / count)));
  }));
  assert.throws(() => parseShard('3/2'), /1 ≤ i ≤ n/);
  assert.throws(() => parseShard('1-2'), /expected i\/n/);

  const p = plan();
  const a = tmp(), b = tmp(), whole = tmp(), merged = tmp();
  await sweep(p, a, {}, '1/2');
  await sweep(p, b, {}, '2/2');
  await sweep(p, whole);
  // A shard writes its records into its own staging folder, never into records/.
  assert.ok(!existsSync(join(a, 'records')) && !existsSync(join(b, 'records')));
  const aRecs = join(shardDir(a, parseShard('1/2')), 'records'), bRecs = join(shardDir(b, parseShard('2/2')), 'records');
  assert.equal(loadRecords(aRecs).length + loadRecords(bRecs).length, 6);
  const m = mergeRecords(merged, [a, b]);
  assert.equal(m.copied, 6);
  const strip = (dir: string) => loadRecords(join(dir, 'records')).map((r) => ({ id: r.runId, metrics: r.metrics, tokens: r.tokens })).sort((x, y) => x.id.localeCompare(y.id));
  assert.deepEqual(strip(merged), strip(whole));
  // Merging again is a no-op; a conflicting record is an error naming the run and both files.
  assert.equal(mergeRecords(merged, [a]).identical, loadRecords(aRecs).length);
  const r0 = loadRecords(aRecs)[0]!;
  const path = recordPath(whole, r0.runId);
  const changed = JSON.parse(readFileSync(path, 'utf8'));
  changed.metrics.main_score += 0.1;
  writeFileSync(path, JSON.stringify(changed));
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  assert.throws(() => mergeRecords(merged, [whole]), new RegExp(`${esc(r0.runId)} was produced twice with different results: ${esc(recordPath(merged, r0.runId))} and ${esc(path)}`));
  // The merged directory reports like any other.
  const rep = writeReports(merged, { resamples: 200 });
  assert.equal(rep.rows.length, 3);
  for (const d of [a, b, whole, merged]) rmSync(d, { recursive: true, force: true });
});

test('shards on one shared folder: each writes only its staging folder; merge joins them and refuses a run two shards produced differently', async () => {
  const p = plan();
  const shared = tmp(), whole = tmp();
  const callsFile = join(shared, 'calls.txt');
  // Three shards at once on one folder (as a job array on a shared disk), then the merge job.
  const results = await Promise.all(['1/3', '2/3', '3/3'].map((s) => sweep(p, shared, { FAKE_CALLS: callsFile }, s)));
  assert.equal(results.reduce((n, r) => n + r.s.done, 0), p.runs.length);
  for (const [i, r] of results.entries()) assert.equal(r.s.stageDir, shardDir(shared, { index: i + 1, count: 3 }));
  // The base model was pretrained once, by one shard, and taken from the phase cache by the others.
  assert.equal(calls(callsFile).filter((l) => l.includes('base')).length, 1, calls(callsFile).join('\n'));
  assert.ok(!existsSync(join(shared, 'records')) && !existsSync(join(shared, 'sweep.json')));
  for (const s of ['1of3', '2of3', '3of3']) assert.ok(existsSync(join(shared, 'shards', s, 'sweep.json')));
  const leftovers = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? leftovers(join(dir, e.name)) : /\.tmp-/.test(e.name) ? [join(dir, e.name)] : []));
  assert.deepEqual(leftovers(shared), [], 'no temp file left');
  assert.deepEqual(mergeRecords(shared, [shared]), { copied: p.runs.length, identical: 0 });
  await sweep(p, whole);
  const strip = (dir: string) => loadRecords(join(dir, 'records')).map((r) => recordResults(r)).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  assert.deepEqual(strip(shared), strip(whole));
  // A run that two shards both produced, with different results: refused, naming both staging files.
  const id = p.runs[0]!.runId;
  const first = recordPath(shardDir(shared, { index: 1, count: 3 }), id);
  const dup = recordPath(shardDir(shared, { index: 2, count: 3 }), id);
  const rec = JSON.parse(readFileSync(first, 'utf8'));
  rec.metrics.main_score = rec.metrics.main_score / 2 + 0.25;
  mkdirSync(dirname(dup), { recursive: true });
  writeFileSync(dup, JSON.stringify(rec));
  const before = readFileSync(recordPath(shared, id), 'utf8');
  assert.throws(() => mergeRecords(shared, [shared]), (e: Error) => e.message.includes(`${id} was produced twice with different results: ${first} and ${dup}`));
  assert.equal(readFileSync(recordPath(shared, id), 'utf8'), before, 'a refused merge writes nothing');
  // The same record again (only where and when differ) is no conflict.
  const same = JSON.parse(readFileSync(first, 'utf8'));
  same.createdAt = '2030-01-01T00:00:00.000Z';
  same.wallTimeS += 7;
  writeFileSync(dup, JSON.stringify(same));
  assert.equal(mergeRecords(shared, [shared]).copied, 0);
  for (const d of [shared, whole]) rmSync(d, { recursive: true, force: true });
});

test('bad selections are clear errors before anything runs', () => {
  assert.throws(() => planSweep(PRESETS.micro, { suites: ['nope'] }), /unknown suite 'nope' \(known: freezing, domain, masking, sensitivity, ner, zh_vocab, fewshot, costly, base_check, edge\)/);
  assert.throws(() => planSweep(PRESETS.micro, { suites: ['freezing'], strategies: ['top_99'] }), /unknown strategy 'top_99'/);
  assert.throws(() => planSweep(PRESETS.micro, { suites: ['freezing'], datasets: ['imdb'] }), /unknown dataset 'imdb'/);
  assert.throws(() => planSweep(PRESETS.quick, { suites: ['freezing'] }), /no base model directory was given/);
  assert.throws(() => planSweep(PRESETS.micro, { suites: ['freezing'], seeds: [-1] }), /non-negative/);
});

test('every preset plans every suite: valid trainer configs, the preset\'s sizes and seeds, the baselines kept', () => {
  // The shipped base model is only read for its vocabulary size: a stand-in directory will do.
  const baseDir = tmp();
  writeFileSync(join(baseDir, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  const plans = Object.fromEntries(Object.values(PRESETS).map((preset) => [preset.name, planSweep(preset, { baseDir })])) as Record<keyof typeof PRESETS, SweepPlan>;
  assert.deepEqual(Object.keys(plans).sort(), ['full', 'micro', 'quick']);
  for (const [name, p] of Object.entries(plans)) {
    const preset = PRESETS[name as keyof typeof PRESETS];
    assert.deepEqual([...new Set(p.runs.map((r) => r.suite))].sort(), ['base_check', 'costly', 'domain', 'edge', 'fewshot', 'freezing', 'masking', 'ner', 'sensitivity', 'zh_vocab'], name);
    // Left-out variants say why (e.g. a masking unit the trainer's config cannot express yet).
    // (or, for one dataset only, what its own base excludes: fewshot's *_st on zh_poetry)
    for (const s of p.skipped) assert.match(s.reason, s.dataset ? /^not run on zh_poetry: / : /phase: /);
    assert.equal(new Set(p.runs.map((r) => r.runId)).size, p.runs.length, `${name}: run ids are unique`);
    // Every (suite, dataset, strategy) runs once per seed of the preset.
    const seedsOf = new Map<string, number[]>();
    for (const r of p.runs) seedsOf.set(`${r.suite}/${r.dataset}/${r.strategy}`, [...(seedsOf.get(`${r.suite}/${r.dataset}/${r.strategy}`) ?? []), r.seed]);
    // (a suite may set its own seeds for a preset: fewshot's few-shot variance wants more)
    for (const [k, seeds] of seedsOf) assert.deepEqual(seeds.sort(), [...(SUITES[k.split('/')[0]!]!.presets?.[preset.name]?.seeds ?? preset.seeds)].sort(), `${name} ${k}`);
    for (const suite of Object.values(SUITES)) {
      const planned = new Set(p.runs.filter((r) => r.suite === suite.name).map((r) => r.strategy));
      assert.ok(planned.has(suite.baseline), `${name}: ${suite.name} keeps its baseline ${suite.baseline}`);
      const chosen = suite.presets?.[preset.name]?.variants ?? suite.variants.map((v) => v.name);
      // (left out everywhere; a variant left out on one dataset only still runs on the others)
      const left = p.skipped.filter((s) => s.suite === suite.name && !s.dataset).map((s) => s.strategy);
      assert.deepEqual([...planned, ...left].sort(), [...chosen].sort(), `${name} ${suite.name}: each chosen variant is planned or left out with a reason`);
    }
    // The base model: pretrained by the sweep (micro) or the shipped one.
    assert.equal(p.basePhase === null, preset.base === 'shipped', name);
    if (p.basePhase && preset.base !== 'shipped') {
      assert.equal(validatePhases([p.basePhase]), null);
      assert.equal((p.basePhase.config.training as { maxSteps: number }).maxSteps, preset.base.sizes.maxSteps);
    }
    for (const r of p.runs) {
      assert.equal(validatePhases(r.phases), null, r.runId);
      const variant = SUITES[r.suite]!.variants.find((v) => v.name === r.strategy)!;
      if (variant.fewshot) {
        // One few-shot phase: the labelled sample of the run's seed, the preset's fine-tuning sizes.
        assert.deepEqual(r.phases.map((ph) => [ph.name, ph.command]), [['finetune', 'fewshot']], r.runId);
        const c = r.phases[0]!.config as { data: Record<string, unknown>; batchSize: number; model: { init: unknown }; trainer: { training: Record<string, unknown> } | null };
        assert.equal(c.data.seed, r.seed, r.runId);
        assert.equal(c.data.shots, variant.fewshot.shots, r.runId);
        assert.equal(c.data.maxLength, preset.finetune.maxLength, r.runId);
        assert.equal(c.data.maxEvalRows, preset.finetune.maxEvalRows, r.runId);
        assert.equal(c.batchSize, preset.finetune.batchSize, r.runId);
        if (variant.fewshot.encoder === 'base') assert.equal(c.model.init, r.datasetBase ?? INIT_BASE, r.runId);
        // few-shot fine-tunes: a fixed step budget where the preset sets one (fewshot/plan_phase.ts)
        if (c.trainer) assert.equal(c.trainer.training.maxSteps, FEWSHOT_FINETUNE_STEPS[preset.name] ?? preset.finetune.maxSteps, r.runId);
        continue;
      }
      if (variant.edge) {
        // One edge phase from the base (student and, for distillation, the teacher's vocabulary),
        // the run's seed, the preset's edge sizes; every deployment variant scored; the row's variant recorded.
        assert.deepEqual(r.phases.map((ph) => [ph.name, ph.command]), [['finetune', 'edge']], r.runId);
        const c = r.phases[0]!.config as { mode: string; model: { init: unknown; fromScratch: boolean }; data: { seed: number }; training: { steps: number }; variants: string[]; distill: { teacher: { model: { init: unknown; shape: unknown } } } | null };
        assert.equal(c.mode, variant.edge.mode, r.runId);
        assert.equal(c.model.init, INIT_BASE, r.runId);
        assert.equal(c.model.fromScratch, variant.edge.student === 'small', r.runId);
        assert.equal(c.data.seed, r.seed, r.runId);
        assert.equal(c.training.steps, EDGE_SIZES[preset.name].steps, r.runId);
        assert.deepEqual(c.variants, [...EDGE_VARIANTS], r.runId);
        assert.equal(r.deploy, variant.edge.deploy, r.runId);
        assert.equal(c.distill !== null, variant.edge.mode === 'distill', r.runId);
        if (c.distill) {
          assert.equal(c.distill.teacher.model.init, INIT_BASE, r.runId);
          assert.deepEqual(c.distill.teacher.model.shape, EDGE_SIZES[preset.name].teacher.shape, r.runId);
        }
        continue;
      }
      // A variant with scoring settings (decide) trains in `train` and scores it in `finetune` (`score`).
      assert.deepEqual(r.phases.map((ph) => [ph.name, ph.command]), [...(variant.pretrain ? [['pretrain', 'pretrain']] : variant.mlmEval ? [['mlm_eval', 'mlm_eval']] : []),
        ...(variant.decide ? [['train', 'finetune'], ['finetune', 'score']] : [['finetune', 'finetune']]), ...(variant.probe ? [['probe', 'finetune']] : [])], r.runId);
      for (const ph of r.phases) {
        const c = ph.config as { seeds: unknown; training: Record<string, unknown>; data: Record<string, unknown>; model: { init: unknown } };
        assert.deepEqual(c.seeds, { init: r.seed, data: r.seed, dropout: r.seed }, `${r.runId} ${ph.name}`);
        // Sizes come from the preset unless the suite's preset entry (the costly suite's eval
        // rows) or the variant (the sensitivity sweeps) sets them.
        // An mlm_eval phase is sized as the pretraining it stands for.
        const kind = (ph.name === 'mlm_eval' ? 'pretrain' : ph.name === 'train' ? 'finetune' : ph.name) as 'pretrain' | 'finetune' | 'probe';
        const suiteSizes = SUITES[r.suite]!.presets?.[preset.name]?.sizes?.[kind];
        const sizes = { ...preset[kind], ...suiteSizes };
        const set: Record<string, unknown> = (ph.name === 'pretrain' ? variant.pretrain?.set : ph.name === 'mlm_eval' ? variant.mlmEval?.set : ph.command === 'score' ? { ...variant.finetune, ...variant.decide } : variant.finetune) ?? {};
        for (const [key, value] of [['training.maxSteps', sizes.maxSteps], ['training.epochs', sizes.epochs], ['training.batchSize', sizes.batchSize],
          ['data.maxLength', sizes.maxLength], ['data.maxTrainRows', sizes.maxTrainRows], ['data.maxEvalRows', sizes.maxEvalRows]] as const) {
          const [group, field] = key.split('.') as ['training' | 'data', string];
          assert.equal(c[group][field], key in set ? set[key] : value, `${r.runId} ${ph.name} ${key}`);
        }
        if (ph.command === 'score') assert.equal(c.model.init, INIT_TRAINED, `${r.runId} scores its train phase's model`);
        else if (ph.name !== 'pretrain') assert.equal(c.model.init, variant.pretrain ? INIT_PRETRAINED : r.datasetBase ?? INIT_BASE, `${r.runId} ${ph.name} starts from ${c.model.init}`);
      }
    }
  }
  // Between presets: micro is the smallest, quick a subset of full's variants with fewer seeds.
  assert.ok(PRESETS.micro.finetune.maxSteps > 0 && PRESETS.micro.finetune.maxSteps < PRESETS.quick.finetune.maxSteps);
  assert.ok(PRESETS.quick.seeds.every((s) => PRESETS.full.seeds.includes(s)) && PRESETS.quick.seeds.length < PRESETS.full.seeds.length);
  const strategies = (p: SweepPlan) => new Set(p.runs.map((r) => `${r.suite}/${r.strategy}`));
  for (const s of strategies(plans.quick)) assert.ok(strategies(plans.full).has(s), `quick's ${s} is in full`);
  assert.ok(plans.quick.runs.length < plans.full.runs.length);
  rmSync(baseDir, { recursive: true, force: true });
});

test('the costly suite: cost matrix and decision rule in every phase config and record params; suite sizes override the preset', () => {
  const p = planSweep(PRESETS.micro, { suites: ['costly'] });
  assert.deepEqual(p.runs.map((r) => r.strategy), ['ce', 'ce', 'ce.threshold', 'ce.threshold', 'smote_embed.min_cost', 'smote_embed.min_cost']);
  for (const r of p.runs) {
    // The scored phase is the last one: a decision variant's `score` of its `train` phase, which
    // trains exactly what the variant without the decision suffix trains (argmax).
    const task = (r.phases.at(-1)!.config as { task: Record<string, unknown> }).task;
    assert.equal(task.costlyClass, 'high');
    assert.deepEqual(task.costMatrix, [[0, 10, 10], [1, 0, 1], [1, 1, 0]]); // labels high, low, medium
    assert.equal(task.decision, r.params.decision);
    if (r.params.decision !== 'argmax') {
      assert.deepEqual(r.phases.map((ph) => [ph.name, ph.command]), [['train', 'finetune'], ['finetune', 'score']]);
      const base = p.runs.find((b) => b.strategy === r.params.training && b.seed === r.seed)?.phases[0]?.config
        ?? planSweep(PRESETS.micro, { suites: ['costly'], strategies: [String(r.params.training)], seeds: [r.seed] }).runs.find((b) => b.strategy === r.params.training)!.phases[0]!.config;
      assert.deepEqual(r.phases[0]!.config, base, `${r.runId}: its train phase is ${r.params.training}'s fine-tune`);
    }
    assert.equal(r.params.miss_cost, 10);
    assert.equal(r.params.false_alarm_cost, 1);
    const data = (r.phases[0]!.config as { data: Record<string, unknown> }).data;
    assert.equal(data.maxEvalRows, 160, 'the suite asks for more eval rows than the micro preset (a rare class)');
    assert.equal(data.maxTrainRows, 230);
  }
  const o = p.runs.find((r) => r.strategy === 'smote_embed.min_cost')!;
  assert.equal((o.phases[0]!.config as { data: { embedResample: string } }).data.embedResample, 'smote');
  // Every variant of the full suite is a valid trainer config.
  const base = mkdtempSync(join(tmpdir(), 'tunebench-base-'));
  writeFileSync(join(base, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  const full = planSweep(PRESETS.full, { suites: ['costly'], baseDir: base, seeds: [0] });
  assert.deepEqual(full.skipped, []);
  assert.equal(full.runs.length, 32); // 8 trainings × 4 decision rules
  const focal = full.runs.find((r) => r.strategy === 'focal')!;
  assert.deepEqual((focal.phases[0]!.config as { task: { focalAlpha: number[] } }).task.focalAlpha, [0.75, 0.25, 0.25]);
  const quick = planSweep(PRESETS.quick, { suites: ['costly'], baseDir: base });
  assert.equal(quick.runs.length, 10);
  assert.equal((quick.runs[0]!.phases[0]!.config as { data: { maxEvalRows: number } }).data.maxEvalRows, 0, 'whole dev / test splits');
});

test('variants the trainer cannot express are left out with the reason, never faked', () => {
  const base = mkdtempSync(join(tmpdir(), 'tunebench-base-'));
  writeFileSync(join(base, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  const p = planSweep(PRESETS.full, { baseDir: base });
  const skipped = new Map(p.skipped.filter((s) => !s.dataset).map((s) => [s.strategy, s.reason]));
  // Every variant of today's suites is expressible (masking units go through the trainer's
  // masking section; b_lora through the adapter merge on init): nothing is left out ...
  // (what a dataset's own base excludes is another matter: fewshot's English *_st on zh_poetry)
  assert.deepEqual(p.skipped.filter((s) => !s.dataset), []);
  assert.deepEqual(p.skipped.map((s) => `${s.dataset}/${s.strategy}`).sort(), SUITES.fewshot!.datasetBases!.zh_poetry!.exclude!.variants.map((v) => `zh_poetry/${v}`).sort());
  // ... and a phase the trainer's config loader rejects is reported with the phase and the key.
  const bad = validatePhases([{ name: 'finetune', command: 'finetune', dataset: 'email', config: { data: { dataset: 'email' }, task: { maskStrategy: 'span' } } }]);
  assert.match(bad ?? '', /^finetune phase: [\s\S]*unknown key 'task\.maskStrategy'/);
  // LoRA-only continued pretraining is planned (the trainer merges the adapter on init): a LoRA
  // pretrain phase, then a full fine-tune initialised from it.
  assert.ok(!skipped.has('b_lora'), skipped.get('b_lora'));
  const bl = p.runs.filter((r) => r.strategy === 'b_lora');
  assert.equal(bl.length, 3);
  for (const r of bl) {
    const pre = r.phases.find((ph) => ph.name === 'pretrain');
    assert.equal((pre?.config.strategy as { name?: string } | undefined)?.name, 'lora');
    assert.ok(r.phases.some((ph) => ph.name === 'finetune'));
  }
  for (const r of p.runs) assert.ok(!skipped.has(r.strategy));
  // full: 3 seeds of everything else; fewshot sets 5 for its preset (few-shot variance is large)
  assert.ok(p.runs.filter((r) => r.suite !== 'fewshot').every((r) => [0, 1, 2].includes(r.seed)));
  assert.deepEqual([...new Set(p.runs.filter((r) => r.suite === 'fewshot').map((r) => r.seed))].sort(), [0, 1, 2, 3, 4]);
  assert.equal(p.runs.filter((r) => r.suite === 'freezing').length, 9 * 2 * 3);
  // ner: 4 strategies on ner_en, token classification with the full tag set; the CRF variants set task.crf
  const ner = p.runs.filter((r) => r.suite === 'ner');
  assert.equal(ner.length, 4 * 3);
  for (const r of ner) {
    const task = r.phases.find((ph) => ph.name === 'finetune')!.config.task as { kind: string; crf: boolean; labelAllTokens: boolean; labels: string[] };
    assert.equal(task.kind, 'token_cls');
    assert.equal(task.crf, r.strategy.startsWith('crf_'));
    assert.equal(task.labelAllTokens, r.strategy.endsWith('_all') || r.strategy === 'all_subtokens');
    assert.equal(task.labels.length, 7);
  }
  rmSync(base, { recursive: true, force: true });
});

test('an output directory refuses records from another base model', async () => {
  const out = tmp();
  const base = join(out, 'fake-base');
  mkdirSync(base);
  writeFileSync(join(base, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  writeFileSync(join(base, 'vocab.txt'), '[PAD]\n');
  writeFileSync(join(base, 'model.safetensors'), 'weights v1');
  const p = planSweep(PRESETS.quick, { suites: ['freezing'], strategies: ['head_only'], baseDir: base });
  const go = () => runSweep(p, { outDir: join(out, 'sweep'), backend: 'cpu', baseDir: base, childCommand: [process.execPath, fake], log: () => {} });
  const s = await go();
  assert.equal(s.done, 2);
  const rec = loadRecords(join(out, 'sweep', 'records'))[0]!;
  assert.equal(rec.baseModel!.source, base);
  assert.match(rec.baseModel!.sha256!, /^[0-9a-f]{64}$/);
  writeFileSync(join(base, 'model.safetensors'), 'weights v2');
  await assert.rejects(go(), /holds records made from another base model/);
  rmSync(out, { recursive: true, force: true });
});

test('a phase that hangs is killed after the timeout and recorded as a failure', async () => {
  // 10 s, not less: every phase of the sweep (the fake base pretraining too) runs under this limit, and a loaded 2-core machine takes seconds just to start node.
  const out = tmp();
  const p = planSweep(PRESETS.micro, { suites: ['freezing'], strategies: ['head_only'], seeds: [0] });
  const lines: string[] = [];
  const s = await runSweep(p, {
    outDir: out, backend: 'cpu', childCommand: [process.execPath, fake], env: { FAKE_HANG: 'head_only/seed0' }, log: (l) => lines.push(l), retries: 0, phaseTimeoutS: 10,
  });
  assert.deepEqual(s.failed.map((f) => f.runId), ['freezing/wn_topic/head_only/seed0']);
  assert.match(s.failed[0]!.error, /timed out after 10 s \(killed\)/);
  assert.equal(s.done, 1, 'the baseline still ran');
  rmSync(out, { recursive: true, force: true });
});

test('base_check: the pretrained row starts from the base, random_init from its shape and vocabulary only; ner_en fine-tunes a tagger', () => {
  const baseDir = tmp();
  writeFileSync(join(baseDir, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  const p = planSweep(PRESETS.quick, { baseDir, suites: ['base_check'] });
  assert.deepEqual([...new Set(p.runs.map((r) => `${r.dataset}/${r.strategy}`))].sort(),
    ['email/pretrained', 'email/random_init', 'ner_en/pretrained', 'ner_en/random_init', 'wn_topic/pretrained', 'wn_topic/random_init', 'zh_poetry/pretrained', 'zh_poetry/random_init']);
  for (const r of p.runs) {
    const ft = r.phases.find((ph) => ph.name === 'finetune')!.config as { model: { init: string; reinit?: boolean }; task: { kind: string; labels: string[] } };
    // zh_poetry starts from the Chinese-capable base (suite.datasetBases), the rest from the sweep's.
    assert.equal(ft.model.init, r.dataset === 'zh_poetry' ? resolve(repoRoot, 'models/tiny-zh-base') : INIT_BASE, r.runId);
    assert.equal(ft.model.reinit === true, r.strategy === 'random_init', r.runId);
    assert.equal(ft.task.kind, r.dataset === 'ner_en' ? 'token_cls' : 'seq_cls', r.runId);
    if (r.dataset === 'ner_en') assert.deepEqual(ft.task.labels, ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG']);
  }
});

test('a finished phase directory is reused only when it was made from the same config; a changed plan runs the phase again', async () => {
  const out = tmp();
  const callsFile = join(out, 'calls.txt');
  const p = plan();
  const id = 'freezing/wn_topic/head_only/seed0';
  const first = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.equal(first.s.done, 6);
  const phaseDir = join(out, 'runs', id, 'finetune');
  assert.ok(existsSync(join(phaseDir, PHASE_PLAN_FILE)), 'the config is kept beside the phase');
  const n0 = calls(callsFile).length;

  // The record is lost but the phase finished from the same config: resumed, no child process.
  rmSync(recordPath(out, id));
  const same = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.equal(same.s.done, 1);
  assert.equal(same.s.phases.resumed, 1);
  assert.equal(calls(callsFile).length, n0);

  // The plan changes (another step budget for that run): the old phase must not stand in for it.
  rmSync(recordPath(out, id));
  const changed: SweepPlan = { ...p, runs: p.runs.map((r) => (r.runId !== id ? r : { ...r, phases: r.phases.map((ph) => ({ ...ph, config: applyOverrides(ph.config, { 'training.maxSteps': 7 }) })) })) };
  const again = await sweep(changed, out, { FAKE_CALLS: callsFile });
  assert.equal(again.s.done, 1);
  assert.equal(again.s.phases.resumed, 0);
  assert.equal(calls(callsFile).length, n0 + 1);
  assert.ok(again.lines.some((l) => l.includes('made from another config')), again.lines.join('\n'));
  const kept = JSON.parse(readFileSync(join(phaseDir, PHASE_PLAN_FILE), 'utf8')) as { training: { maxSteps: number } };
  assert.equal(kept.training.maxSteps, 7);

  // A phase directory from before configs were kept (no phase_plan.json) is run again too (a
  // config the phase cache has not seen, so the run's own directory is the only candidate).
  rmSync(recordPath(out, id));
  rmSync(join(phaseDir, PHASE_PLAN_FILE));
  const changed9: SweepPlan = { ...p, runs: p.runs.map((r) => (r.runId !== id ? r : { ...r, phases: r.phases.map((ph) => ({ ...ph, config: applyOverrides(ph.config, { 'training.maxSteps': 9 }) })) })) };
  const old = await sweep(changed9, out, { FAKE_CALLS: callsFile });
  assert.equal(old.s.phases.resumed, 0);
  assert.equal(calls(callsFile).length, n0 + 2);
  rmSync(out, { recursive: true, force: true });
});

test('a kept record made from another plan is said on resume (the setting, both values), kept and not rerun', async () => {
  const out = tmp();
  const callsFile = join(out, 'calls.txt');
  const p = plan();
  await sweep(p, out, { FAKE_CALLS: callsFile });
  const n = calls(callsFile).length;
  const quiet = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.ok(!quiet.lines.some((l) => /another plan/.test(l)), quiet.lines.join('\n'));
  const id = p.runs[0]!.runId;
  const rec = JSON.parse(readFileSync(recordPath(out, id), 'utf8'));
  const planned = p.runs[0]!.phases.at(-1)!;
  const lr = resolvePhaseConfig(planned).optimizer as { lr: number };
  rec.phases.at(-1).config = { optimizer: { lr: lr.lr * 10 } };
  writeFileSync(recordPath(out, id), JSON.stringify(rec));
  const again = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.equal(again.s.skipped, 6);
  assert.equal(calls(callsFile).length, n, 'nothing rerun');
  assert.ok(again.lines.some((l) => /warning: 1 of the 6 kept records were made from another plan/.test(l)), again.lines.join('\n'));
  assert.ok(again.lines.some((l) => l.includes(`${id}: ${planned.name} optimizer.lr ${lr.lr * 10} → ${lr.lr}`)), again.lines.join('\n'));
  rmSync(out, { recursive: true, force: true });
});

test('a decision variant trains nothing of its own: its train phase is its base variant\'s fine-tune (phase cache), its scored phase is `score` of that checkpoint', async () => {
  const out = tmp();
  const callsFile = join(out, 'calls.txt');
  const p = planSweep(PRESETS.micro, { suites: ['costly'] });
  const { s } = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.equal(s.done, 6);
  const c = calls(callsFile).map((l) => l.split(' ')[0]);
  // base + ce × 2 seeds + ce.threshold: 2 scores (train from ce's entry) + smote_embed.min_cost: 2 fine-tunes + 2 scores
  assert.deepEqual(c.filter((x) => x === 'finetune').length, 4);
  assert.deepEqual(c.filter((x) => x === 'score').length, 4);
  assert.equal(c.length, 1 + 8);
  const recs = loadRecords(join(out, 'records'));
  for (const seed of [0, 1]) {
    const ce = recs.find((r) => r.strategy === 'ce' && r.seed === seed)!;
    const th = recs.find((r) => r.strategy === 'ce.threshold' && r.seed === seed)!;
    assert.deepEqual(th.phases.map((ph) => [ph.name, ph.command]), [['train', 'finetune'], ['finetune', 'score']]);
    assert.equal(th.phases[0]!.cacheKey, ce.phases[0]!.cacheKey);
    assert.equal(th.phases[0]!.cachedFrom?.runId, ce.runId);
    assert.equal(th.tokens, ce.tokens + th.phases[1]!.tokens, 'the method\'s compute is the training it scores');
    // the score phase started from the train phase's checkpoint (the cache entry's copy)
    const init = (th.phases[1]!.config as { model: { init: string } }).model.init;
    assert.match(init, /cache\/phases\/[0-9a-f]{64}\/checkpoint$/);
  }
  rmSync(out, { recursive: true, force: true });
});
